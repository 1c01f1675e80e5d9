"""A segment's sidecar as written and read back: narrowed arrays and the normalised text's folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from indexer.cleaning import normalize
from indexer.index import files
from indexer.index.segment import from_documents
from tests.indexer.test_generation import _assert_same_state, _documents

_MIXED = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) \
    | st.text(alphabet="好德Ａ，。ａＢ𝐀𠀀 \t\u3000a", max_size=40)


@hypothesis_settings(max_examples=300, deadline=None)
@given(text=_MIXED)
def test_the_normalised_text_is_rebuilt_from_its_folds(text: str) -> None:
    """Full-width forms, astral characters that fold to one code unit (𝐀 → a) and astral ones kept (𠀀)."""
    normalized = normalize(text)
    at, to = files.folds(text, normalized)
    assert len(at) == sum(a != b for a, b in zip(text, normalized))
    assert files.unfold(text, text.encode("utf-16-le", "surrogatepass"), at, to) == normalized


def _state(plans: int, passages: int):  # type: ignore[no-untyped-def]
    texts = ["好德Ａ，𝐀学习", "ab 好好好", "𠀀德育，Ｂ"]
    return from_documents(_documents([(p, [f"{texts[(p + k) % 3]}{p}-{k}" for k in range(passages)])
                                      for p in range(1, plans + 1)]))


@pytest.mark.parametrize("narrow", [np.uint16, np.uint8])
def test_a_saved_sidecar_reads_back_as_the_state_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         narrow: type) -> None:
    """Id arrays narrowed when they fit (uint16 here) and kept int32 when they do not (uint8: 300 passages)."""
    monkeypatch.setattr(files, "NARROW", narrow)
    state = _state(plans=30, passages=10)
    assert state.size == 300
    files.save(tmp_path, "s1", state, [])
    where = files.folder(tmp_path, "s1")
    expected = np.dtype(np.uint16) if narrow is np.uint16 else np.dtype(np.int32)
    for name in ("chars.passages.npy", "bigrams.passages.npy"):
        assert np.load(where / name).dtype == expected, name
    assert np.load(where / "word_ids.npy").dtype == (np.dtype(narrow) if len(state.vocabulary) <= np.iinfo(narrow).max
                                                     else np.dtype(np.int32))
    assert np.load(where / "chars.counts.npy").dtype == np.uint8
    assert not (where / "normalized.utf16").exists() and len(np.load(where / "folded.at.npy")) > 0
    loaded = files.load(tmp_path, "s1")
    _assert_same_state(loaded, state)
    assert np.array_equal(loaded.word_ids, state.word_ids)


def test_a_text_that_normalises_to_itself_is_shared(tmp_path: Path) -> None:
    state = from_documents(_documents([(1, ["好德学习", "abc"])]))
    files.save(tmp_path, "s1", state, [])
    loaded = files.load(tmp_path, "s1")
    assert loaded.normalized is loaded.text
