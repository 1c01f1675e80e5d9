"""The names the build pipeline used from the former generation module, now in `indexer.index`."""

from __future__ import annotations

from indexer.index.postings import CHAR_BITS, SATURATED, Postings, build_postings, concatenate_postings, passage_postings
from indexer.index.segment import State, TextCut, apply, empty_state, from_documents

__all__ = ["CHAR_BITS", "SATURATED", "Postings", "State", "TextCut", "apply", "build_postings",
           "concatenate_postings", "empty_state", "from_documents", "passage_postings"]
