"""The Whoosh schema and its version. Bump SCHEMA_VERSION whenever indexed output changes."""

from __future__ import annotations

import copyreg
from collections import Counter
from collections.abc import Iterable
from typing import Any

from whoosh import fields
from whoosh.system import pack_uint

from indexer.analysis import Segmented, WordTokenizer, segment

SCHEMA_VERSION = 6  # 6: narrow sidecar arrays and folds; 5: text and words in sidecars only; 4: a sidecar per Whoosh segment; 3: gen-N folders
PASSAGE, PLAN = "passage", "plan"


class PlansSchema(fields.Schema):  # type: ignore[misc]
    """A Whoosh schema that carries its version into the pickled index."""

    version: int | None = None  # set on the instance, so an index without it never passes


class WordsField(fields.TEXT):  # type: ignore[misc]
    """The jieba words of a passage, with their frequencies (no positions): Whoosh's TEXT field
    with `phrase=False`, indexing a Segmented text's words without a token object per word.

    What TEXT's Frequency format would make of WordTokenizer's tokens, term by term
    (tests/indexer/test_store.py checks the postings against it). It pickles as the plain
    TEXT field it stands for: the schema Whoosh saves in the index stays a plain one, which any
    version of this program unpickles (and then refuses by its version). A writer of an existing index uses that saved
    schema (so TEXT's slower path: one-plan writes); the workers' segments of a batch use
    `build_schema()`, so this field.
    """

    def __reduce_ex__(self, protocol: Any) -> Any:
        return copyreg._reconstructor, (fields.TEXT, object, None), dict(self.__dict__)

    def index(self, value: Any, **kwargs: Any) -> Iterable[tuple[bytes, int, float, bytes]]:
        found = value.words if isinstance(value, Segmented) else segment(value)
        boost = self.format.field_boost
        counts = Counter(word for word, _, _ in found)
        return [(word.encode("utf-8"), count, count * boost, pack_uint(count)) for word, count in counts.items()]


def build_schema() -> PlansSchema:
    """Passage documents (jieba words indexed, their place stored) and one plan document per plan.

    The index is self-contained for serving: a reader sees one committed generation, so the
    server never mixes two states of the catalog. The character and bigram postings the
    server matches with are not Whoosh fields: each segment's sidecar holds them
    (`indexer.index`; version 2 had a `grams` field Whoosh wrote 20x slower), and the
    passages' text and words too. Whoosh stores neither (`WHOOSH_FIELDS`): for serving, a
    passage's text is kept once, in its sidecar, and the catalog holds it for rebuilding.
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
        meta=fields.STORED(),
        words=WordsField(analyzer=WordTokenizer(), phrase=False),
    )
    schema.version = SCHEMA_VERSION
    return schema


WHOOSH_FIELDS = frozenset(build_schema().names())  # what a document gives Whoosh; the rest is the sidecar's
