"""The Whoosh schema and its version. Bump SCHEMA_VERSION whenever indexed output changes."""

from __future__ import annotations

from whoosh import fields, formats

from indexer.analysis import BigramTokenizer, WordTokenizer

SCHEMA_VERSION = 2
PASSAGE, PLAN = "passage", "plan"


class PlansSchema(fields.Schema):  # type: ignore[misc]
    """A Whoosh schema that carries its version into the pickled index."""

    version: int | None = None  # set on the instance, so an index without it never passes


def build_schema() -> PlansSchema:
    """Passage documents (searched) and one plan document per plan (metadata, full text).

    The index is self-contained for serving: a reader sees one committed generation, so the
    server never mixes two states of the catalog.
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
        # scorable: gives the field a length column; without one Whoosh stats a file per posting
        grams=fields.FieldType(formats.Existence(), BigramTokenizer(), scorable=True),
    )
    schema.version = SCHEMA_VERSION
    return schema
