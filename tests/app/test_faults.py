"""Faults during an upload: a full disk, a read-only catalog. Each answers 503 with a short
message (no SQL, parameters, paths or plan text), leaves nothing half-written under uploads/,
and search keeps serving what was there. The disk is a real small tmpfs (needs root)."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.settings import DATA_DIR, Settings, get_settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = sorted((DATA_DIR / "corpus").glob("*.txt"))[2]
LEAKS = ("/", "\\", "select", "insert", "update", "sqlite", "sqlalchemy", "[parameters", "traceback", ".py")


def _mount(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")


def _unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    _mount(where, "96m")
    try:
        yield where
    finally:
        _unmount(where)


def _fill(disk: Path, leave: int) -> Path:
    """Write a filler file until the disk is full, then give back `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    size = filler.stat().st_size
    with filler.open("r+b") as handle:
        handle.truncate(max(0, size - leave))
    return filler


def _plan(marker: str) -> bytes:
    return (SAMPLE.read_text(encoding="utf-8") + f"\n七、附则\n本计划含{marker}。\n").encode()


def _assert_short_and_clean(response: Any) -> str:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "unavailable"
    message = body["message"]
    assert len(message) < 160 and not any(leak in message.lower() for leak in LEAKS), message
    assert SAMPLE.read_text(encoding="utf-8")[:20] not in message
    return str(message)


def _leftovers(settings: Settings) -> list[Path]:
    incoming = settings.uploads_dir / ".incoming"
    return list(incoming.iterdir()) if incoming.is_dir() else []


def _copy_home(sample_home: Settings, target: Path, **overrides: Any) -> Settings:
    shutil.copytree(sample_home.plans_home, target)
    return get_settings(plans_home=target, plans_reload_interval=-1, plans_admin_token=TOKEN, plans_workers=1, **overrides)


def test_a_full_disk_while_saving_an_upload_is_a_503_and_nothing_is_left(sample_home: Settings, small_disk: Path) -> None:
    settings = _copy_home(sample_home, small_disk / "home")
    with TestClient(create_app(settings)) as client:
        before = client.get("/api/search", params={"q": "教育"}).json()["total"]
        filler = _fill(small_disk, leave=0)
        response = client.post("/api/documents", files={"file": ("full.txt", _plan("磁盘已满标记"))}, headers=AUTH)
        message = _assert_short_and_clean(response)
        assert "disk is full" in message
        assert _leftovers(settings) == []
        assert client.get("/api/search", params={"q": "教育"}).json()["total"] == before
        filler.unlink()
        again = client.post("/api/documents", files={"file": ("full.txt", _plan("磁盘已满标记"))}, headers=AUTH)
        assert again.status_code == 201, again.text
        found = client.get("/api/search", params={"q": "磁盘已满标记"}).json()
        assert [g["document_id"] for g in found["groups"]] == [again.json()["id"]]


def test_a_full_disk_while_indexing_an_upload_is_a_503_and_the_next_upload_works(
    sample_home: Settings, small_disk: Path
) -> None:
    settings = _copy_home(sample_home, small_disk / "home")
    with TestClient(create_app(settings)) as client:
        before = client.get("/api/search", params={"q": "教育"}).json()["total"]
        filler = _fill(small_disk, leave=256 * 1024)  # room for the file, not for the catalog and the index
        response = client.post("/api/documents", files={"file": ("late.txt", _plan("索引时满标记"))}, headers=AUTH)
        _assert_short_and_clean(response)
        assert _leftovers(settings) == []
        assert client.get("/api/search", params={"q": "教育"}).json()["total"] == before
        assert client.get("/api/search", params={"q": "索引时满标记"}).json()["total"] == 0
        filler.unlink()
        again = client.post("/api/documents", files={"file": ("late.txt", _plan("索引时满标记"))}, headers=AUTH)
        assert again.status_code in (200, 201), again.text
        found = client.get("/api/search", params={"q": "索引时满标记"}).json()
        assert [g["document_id"] for g in found["groups"]] == [again.json()["id"]]
        assert client.get("/api/search", params={"q": "教育"}).json()["total"] > before


def test_a_read_only_catalog_is_a_503_with_a_short_message(sample_home: Settings, tmp_path: Path) -> None:
    catalog_disk = tmp_path / "catalog-disk"
    _mount(catalog_disk, "64m")
    try:
        shutil.copy2(sample_home.plans_home / "catalog.sqlite3", catalog_disk / "catalog.sqlite3")
        subprocess.run(["mount", "-o", "remount,ro", str(catalog_disk)], check=True)
        settings = _copy_home(sample_home, tmp_path / "home",
                              database_url=f"sqlite:///{catalog_disk / 'catalog.sqlite3'}")
        with TestClient(create_app(settings)) as client:
            before = client.get("/api/search", params={"q": "教育"}).json()["total"]
            response = client.post("/api/documents", files={"file": ("ro.txt", _plan("只读标记"))}, headers=AUTH)
            _assert_short_and_clean(response)
            assert _leftovers(settings) == []
            assert client.get("/api/search", params={"q": "教育"}).json()["total"] == before
            deleted = client.delete("/api/documents/1", headers=AUTH)
            _assert_short_and_clean(deleted)
            assert client.get("/api/documents/1").status_code == 200  # nothing lost
    finally:
        _unmount(catalog_disk)


def test_a_locked_catalog_is_a_503_with_a_short_message_and_nothing_is_lost(sample_home: Settings, tmp_path: Path) -> None:
    """Another writer holds the catalog (an exclusive SQLite transaction) past the write's wait:
    the upload and the delete are 503s naming the lock, search and reads keep serving, and once
    the lock is let go the same upload works."""
    home = tmp_path / "home"
    settings = _copy_home(sample_home, home, database_url=f"sqlite:///{home / 'catalog.sqlite3'}?timeout=0.5")
    with TestClient(create_app(settings)) as client:
        before = client.get("/api/search", params={"q": "教育"}).json()["total"]
        holder = sqlite3.connect(home / "catalog.sqlite3", isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            holder.execute("UPDATE plans SET title = title")
            response = client.post("/api/documents", files={"file": ("locked.txt", _plan("锁定标记"))}, headers=AUTH)
            assert "locked" in _assert_short_and_clean(response)
            assert _leftovers(settings) == []
            deleted = client.delete("/api/documents/1", headers=AUTH)
            assert "locked" in _assert_short_and_clean(deleted)
            assert client.get("/api/search", params={"q": "教育"}).json()["total"] == before
            assert client.get("/api/documents/1").status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        again = client.post("/api/documents", files={"file": ("locked.txt", _plan("锁定标记"))}, headers=AUTH)
        assert again.status_code == 201, again.text
        found = client.get("/api/search", params={"q": "锁定标记"}).json()
        assert [g["document_id"] for g in found["groups"]] == [again.json()["id"]]
        assert client.get("/api/documents/1").status_code == 200
