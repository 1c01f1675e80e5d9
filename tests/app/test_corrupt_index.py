"""A corrupt index file: the server starts, serves the last good generation and says so in
/healthz; no search answers 500; the indexer refuses to build on it with the reindex message."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from whoosh.filedb.filestore import FileStorage

from app.main import create_app
from indexer.errors import PlansError
from indexer.index import files, reader
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings
from tests.conftest import catalog_passages

EXTRA = "附加小学2025年工作计划\n一、工作目标\n落实劳动教育，开展读书节活动。\n二、主要措施\n每周一次劳动实践课。\n"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size: only the checksum tells
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x80\x04garbage" * 8)


def _newest_segment(index_dir: Path) -> str:
    storage = FileStorage(str(index_dir))
    newest, previous, *_ = reader.generations(index_dir)
    before = {s.segid for s in reader.read_toc(storage, previous).segments}
    (segid,) = {s.segid for s in reader.read_toc(storage, newest).segments} - before
    return segid


def _sidecar(name: str) -> Callable[[Path], Path]:
    return lambda index_dir: files.folder(index_dir, _newest_segment(index_dir)) / name


def _whoosh_segment(index_dir: Path) -> Path:
    (path,) = files.whoosh_files(index_dir, reader.INDEX_NAME, _newest_segment(index_dir))
    return path


def _toc(index_dir: Path) -> Path:
    return index_dir / f"_{reader.INDEX_NAME}_{reader.generations(index_dir)[0]}.toc"


CASES = {
    "truncated postings": (_sidecar("bigrams.passages.npy"), _truncate),
    "flipped postings": (_sidecar("chars.passages.npy"), _flip),
    "flipped text": (_sidecar("text.utf16"), _flip),
    "truncated state.pickle": (_sidecar("state.pickle"), _truncate),
    "garbage manifest": (_sidecar("manifest.json"), _garbage),
    "garbage TOC": (_toc, _garbage),
    "truncated Whoosh segment": (_whoosh_segment, _truncate),
}


@pytest.fixture(scope="module")
def grown(sample_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """The samples, then one more plan in a commit of its own (a new segment, a new TOC)."""
    base = tmp_path_factory.mktemp("grown")
    shutil.copytree(sample_home.plans_home, base / "home")
    extra = base / "extra"
    extra.mkdir()
    (extra / "extra.txt").write_text(EXTRA, encoding="utf-8")
    settings = get_settings(plans_home=base / "home", plans_reload_interval=-1)
    assert Pipeline(settings).index([extra]).count("added") == 1
    return settings, extra


@pytest.mark.parametrize("case", list(CASES))
def test_a_corrupt_file_serves_the_last_good_generation_and_degrades_healthz(
    case: str, grown: tuple[Settings, Path], sample_home: Settings, client: TestClient, tmp_path: Path
) -> None:
    settings, extra = grown
    shutil.copytree(settings.plans_home, tmp_path / "home")
    home = get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1)
    where, damage = CASES[case]
    with TestClient(create_app(home)) as fresh:
        assert fresh.get("/healthz").json()["documents"] == 6  # the grown index, before the damage
    damage(where(home.index_dir))
    with TestClient(create_app(home)) as served:
        health = served.get("/healthz").json()
        assert health["status"] == "degraded" and health["reason"], health
        documents = served.get("/api/documents").json()["documents"]
        assert len(documents) == 5  # the samples: the generation before the extra plan
        for q in ("劳动教育", "德", "读书节", "课后服务 质量"):
            response = served.get("/api/search", params={"q": q, "per_group": 0, "size": 100})
            assert response.status_code == 200
            assert response.json() == client.get("/api/search", params={"q": q, "per_group": 0, "size": 100}).json()
    assert client.get("/healthz").json()["status"] == "ok" and client.get("/healthz").json()["reason"] is None
    (extra / "more.txt").write_text(EXTRA.replace("附加", "又一"), encoding="utf-8")
    with pytest.raises(PlansError, match="plans reindex"):
        Pipeline(home).index([extra])
    # what `plans reindex` repairs: the index rebuilt from the catalog (with the plan the refused
    # run catalogued, when it got that far)
    catalogued = len({plan.id for plan, _ in catalog_passages(home)})
    assert catalogued in (6, 7)
    assert Pipeline(home).reindex().count("replaced") == catalogued
    with TestClient(create_app(home)) as repaired:
        assert repaired.get("/healthz").json()["status"] == "ok"
        assert len(repaired.get("/api/documents").json()["documents"]) == catalogued


def test_a_corrupt_commit_landing_while_serving_is_refused_by_the_reopen_thread(
    grown: tuple[Settings, Path], tmp_path: Path
) -> None:
    """The background reopen finds the new commit corrupt: the served snapshot stays, health degrades."""
    import time

    from app.holder import SnapshotHolder

    settings, extra = grown
    shutil.copytree(settings.plans_home, tmp_path / "home")
    home = get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1)
    holder = SnapshotHolder(home.index_dir, reload_interval=0.05)
    try:
        served = holder.current()
        assert holder.health() == ("ok", None) and len(served.plans) == 6
        (extra / "late.txt").write_text(EXTRA.replace("附加", "迟到"), encoding="utf-8")
        # the commit lands with a damaged sidecar: write it elsewhere, damage, then move it in
        staging = tmp_path / "staging"
        shutil.copytree(settings.plans_home, staging)
        later = get_settings(plans_home=staging, plans_reload_interval=-1)
        assert Pipeline(later).index([extra]).count("added") >= 1
        _flip(_sidecar("chars.passages.npy")(later.index_dir))
        newest = reader.generations(later.index_dir)[0]
        for path in later.index_dir.iterdir():  # sidecars first, the TOC last: as a commit does
            if path.is_dir() and path.name.startswith(files.PREFIX) and not (home.index_dir / path.name).exists():
                shutil.copytree(path, home.index_dir / path.name)
            elif path.is_file() and path.name.startswith(f"{reader.INDEX_NAME}_") and path.suffix == ".seg":
                shutil.copy(path, home.index_dir / path.name)
        shutil.copy(later.index_dir / f"_{reader.INDEX_NAME}_{newest}.toc", home.index_dir)
        deadline = time.monotonic() + 20
        while holder.health()[0] == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        status, reason = holder.health()
        assert status == "degraded" and reason and "checksum" in reason
        assert len(holder.current().plans) == 6  # still the last good generation
    finally:
        holder.close()
