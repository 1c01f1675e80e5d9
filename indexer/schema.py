"""The Whoosh schema and its version. Bump SCHEMA_VERSION whenever indexed output changes."""

from __future__ import annotations

from whoosh import fields

from indexer.analysis import WordTokenizer

SCHEMA_VERSION = 3
PASSAGE, PLAN = "passage", "plan"


class PlansSchema(fields.Schema):  # type: ignore[misc]
    """A Whoosh schema that carries its version into the pickled index."""

    version: int | None = None  # set on the instance, so an index without it never passes


def build_schema() -> PlansSchema:
    """Passage documents (jieba words indexed, the rest stored) and one plan document per plan.

    The index is self-contained for serving: a reader sees one committed generation, so the
    server never mixes two states of the catalog. The character and bigram postings the
    server matches with are not Whoosh fields: `indexer.generation` writes them as arrays
    with every commit (version 3; version 2 had a `grams` field Whoosh wrote 20x slower).
    """
    schema = PlansSchema(
        kind=fields.ID(stored=True),
        plan=fields.ID(stored=True),
        pid=fields.STORED(),
        ordinal=fields.STORED(),
        start=fields.STORED(),
        end=fields.STORED(),
        rank=fields.STORED(),
        section=fields.STORED(),
        text=fields.STORED(),
        tokens=fields.STORED(),
        meta=fields.STORED(),
        words=fields.TEXT(analyzer=WordTokenizer(), phrase=False),
    )
    schema.version = SCHEMA_VERSION
    return schema
