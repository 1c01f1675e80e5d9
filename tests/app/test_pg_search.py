"""The postgres backend beyond the oracle tables (which run on both backends in
test_search_api.py): indexes for every needle length, commits noticed by servers, a
database that goes away and comes back, migrations, and reads from a streaming standby."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.derived import WARMERS
from app.main import create_app
from app.pg_search import PgSnapshot, explain_match, read_engine
from indexer import pg_index
from indexer.catalog import create_catalog_engine, init_catalog
from indexer.pipeline import Pipeline
from indexer.settings import Settings, get_settings
from tests.conftest import SAMPLES, pg_home
from tests.postgres import Cluster


def _search(client: TestClient, q: str) -> dict:
    response = client.get("/api/search", params={"q": q, "per_group": 0, "size": 100})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(result: dict) -> set[int]:
    return {p["id"] for g in result["groups"] for p in g["passages"]}


@pytest.mark.parametrize("needle", ["德", "育人", "，", "劳动教育", "，。", "(主责单位", "1+x+t", "%_\\"])
def test_every_needle_length_has_an_index_no_sequential_scan(postgres_sample_home: Settings, needle: str) -> None:
    """The plan the match statement runs with (sequential scans priced out, as served): a needle
    no index serves would still get `Seq Scan`."""
    engine = read_engine(postgres_sample_home.search_read_url)
    with engine.connect() as connection:
        plan = explain_match(connection, needle)
    engine.dispose()
    assert "Seq Scan" not in plan, plan
    assert "search_passages_grams" in plan or "search_passages_trgm" in plan, plan


def test_like_patterns_are_escaped(postgres_client: TestClient) -> None:
    assert _search(postgres_client, '"%"')["total"] == _search(postgres_client, '"%"')["total"]
    assert _search(postgres_client, '"劳_教育"')["total"] == 0  # `_` is not a wildcard
    assert _search(postgres_client, '"劳%育"')["total"] == 0


def test_a_server_notices_commits_and_deletes(postgres_sample_home: Settings, pg_cluster: Cluster,
                                              corpus_copy: Path, tmp_path: Path) -> None:
    settings = pg_home(pg_cluster, tmp_path / "home", "notices", corpus_copy)
    serving = get_settings(plans_home=tmp_path / "elsewhere", plans_reload_interval=0,
                           plans_search_backend="postgres", database_url=settings.database_url)
    with TestClient(create_app(serving)) as client:  # its own PLANS_HOME: nothing shared but the database
        before = _search(client, "劳动")
        victim = before["groups"][0]["document_id"]
        assert Pipeline(settings).remove(victim)
        after = _wait_for(client, "劳动", lambda r: victim not in {g["document_id"] for g in r["groups"]})
        assert after["total"] < before["total"]
        extra = corpus_copy / "added.txt"
        extra.write_text("测试学校2025年工作计划\n一、总体目标\n推进独一无二的星辰课程建设。\n", encoding="utf-8")
        assert not Pipeline(settings).index([corpus_copy]).failed
        found = _wait_for(client, "星辰课程", lambda r: r["total"] == 1)
        assert found["groups"][0]["passages"][0]["highlight"].count("<mark>星辰课程</mark>") == 1
        fresh = client.app.state.holder.current()  # type: ignore[attr-defined]
        assert set(WARMERS) <= set(fresh.derived), "a generation loaded in the background is warmed before it serves"


def _wait_for(client: TestClient, q: str, done, seconds: float = 20.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        result = _search(client, q)
        if done(result) or time.monotonic() > deadline:
            assert done(result), result
            return result
        time.sleep(0.1)


def test_a_stopped_database_answers_503_then_serving_resumes(postgres_client: TestClient, pg_cluster: Cluster) -> None:
    assert _search(postgres_client, "教育")["total"] > 0
    pg_cluster.stop()
    try:
        response = postgres_client.get("/api/search", params={"q": "学校发展"})  # not cached
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "database_unavailable" and "数据库" in body["message"]
    finally:
        pg_cluster.start()
    response = postgres_client.get("/api/search", params={"q": "学校发展"})
    assert response.status_code == 200, response.text


def test_an_existing_catalog_upgrades_in_place_and_becomes_searchable(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.create_database("legacy")
    legacy = get_settings(plans_home=tmp_path / "legacy", plans_reload_interval=-1, database_url=url)
    engine = create_catalog_engine(url)
    init_catalog(engine)  # as the program made catalogs before migrations
    assert not Pipeline(legacy).index([SAMPLES]).failed  # the embedded backend: no search tables
    with engine.connect() as connection:
        plans = connection.execute(text("SELECT count(*) FROM plans")).scalar_one()
        assert connection.execute(text("SELECT to_regclass('search_passages')")).scalar_one() is None
    upgraded = get_settings(plans_home=tmp_path / "legacy", plans_reload_interval=-1, database_url=url,
                            plans_search_backend="postgres")
    assert not Pipeline(upgraded).index([SAMPLES]).failed
    with engine.connect() as connection:
        assert pg_index.current_revision(connection) == pg_index.head()
        assert connection.execute(text("SELECT count(*) FROM plans")).scalar_one() == plans
        assert connection.execute(text("SELECT count(DISTINCT plan_id) FROM search_passages")).scalar_one() == plans
    with TestClient(create_app(upgraded)) as client:
        assert _search(client, "劳动教育")["total"] > 0
    engine.dispose()


def test_a_database_of_an_unknown_revision_is_refused_by_name(pg_cluster: Cluster) -> None:
    engine = create_catalog_engine(pg_cluster.create_database("future"))
    pg_index.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(pg_index.UnknownRevision, match="0099_from_the_future"):
        pg_index.migrate(engine)
    engine.dispose()


def test_a_streaming_standby_serves_what_the_primary_indexed(pg_cluster: Cluster, tmp_path: Path) -> None:
    standby = Cluster(pg_cluster.root, "standby").base_backup_of(pg_cluster).start()
    try:
        settings = pg_home(pg_cluster, tmp_path / "home", "replicated")
        replica_url = standby.url("replicated")
        engine = read_engine(replica_url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
        primary = read_engine(settings.catalog_url)
        with primary.connect() as connection:
            wanted = connection.execute(text("SELECT generation FROM search_state")).scalar_one()
        primary.dispose()
        deadline = time.monotonic() + 30
        while True:  # streaming replication is asynchronous: wait for the standby to replay the commit
            try:
                with engine.connect() as connection:
                    if connection.execute(text("SELECT generation FROM search_state")).scalar_one() == wanted:
                        break
            except Exception:
                if time.monotonic() > deadline:
                    raise
            assert time.monotonic() < deadline
            time.sleep(0.2)
        engine.dispose()
        reading = get_settings(plans_home=tmp_path / "server", plans_reload_interval=-1, plans_search_backend="postgres",
                               database_url=settings.database_url, plans_read_database_url=replica_url)
        with TestClient(create_app(settings)) as on_primary, TestClient(create_app(reading)) as on_standby:
            for q in ("劳动教育", "德", "家校 (共育 OR 协同) -社区", "安全 year:2022-2024"):
                assert _search(on_standby, q) == _search(on_primary, q)
            assert _search(on_standby, "德")["total"] > 0
    finally:
        standby.stop()
        shutil.rmtree(standby.data, ignore_errors=True)


def test_an_upload_is_searchable_on_every_server_and_a_delete_removes_it(pg_cluster: Cluster, tmp_path: Path) -> None:
    from tests.fixtures_docs import docx_bytes, paragraphs

    settings = pg_home(pg_cluster, tmp_path / "home", "uploads", plans_admin_token="t0ken")
    other = get_settings(plans_home=tmp_path / "other", plans_reload_interval=0, plans_search_backend="postgres",
                         database_url=settings.database_url)
    marker = "独一无二的上传标记"
    data = docx_bytes(paragraphs("芙蓉小学2024年工作计划\n一、目标\n推进课程建设。") + [f"二、附则\n本计划含{marker}。"])
    auth = {"Authorization": "Bearer t0ken"}
    with TestClient(create_app(settings)) as uploader, TestClient(create_app(other)) as second:
        response = uploader.post("/api/documents", files={"file": ("芙蓉.docx", data)}, headers=auth)
        assert response.status_code == 201, response.text
        plan_id = response.json()["id"]
        assert [g["document_id"] for g in _search(uploader, marker)["groups"]] == [plan_id]  # at once
        _wait_for(second, marker, lambda r: r["total"] == 1)
        assert uploader.delete(f"/api/documents/{plan_id}", headers=auth).status_code == 204
        assert _search(uploader, marker)["total"] == 0
        _wait_for(second, marker, lambda r: r["total"] == 0)


def test_plans_whose_search_rows_were_lost_are_rewritten_by_the_next_run(pg_cluster: Cluster, tmp_path: Path) -> None:
    """What a kill between the catalog insert and the batch's commit leaves: plans pending, no
    search rows; the next run writes them (in the batch transaction that marks them indexed)."""
    settings = pg_home(pg_cluster, tmp_path / "home", "repair")
    engine = create_catalog_engine(settings.catalog_url)
    with TestClient(create_app(settings)) as client:
        before = _search(client, "劳动")
    with engine.begin() as connection:
        victim = connection.execute(text("SELECT min(plan_id) FROM search_passages")).scalar_one()
        connection.execute(text("DELETE FROM search_passages WHERE plan_id = :p"), {"p": victim})
        connection.execute(text("UPDATE plans SET index_state = 'pending' WHERE id = :p"), {"p": victim})
    assert not Pipeline(settings).index([SAMPLES]).failed
    with engine.connect() as connection:
        assert connection.execute(text("SELECT index_state FROM plans WHERE id = :p"), {"p": victim}).scalar_one() == "indexed"
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        assert _search(client, "劳动") == before


def test_a_server_refuses_a_database_of_another_revision_by_name(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.create_database("elder")
    engine = create_catalog_engine(url)
    pg_index.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001_catalog'"))
    engine.dispose()
    settings = get_settings(plans_home=tmp_path, plans_search_backend="postgres", database_url=url)
    with pytest.raises(pg_index.UnknownRevision, match="'0001_catalog'"):
        with TestClient(create_app(settings)):
            pass


def test_the_cli_searches_the_backend_the_settings_name(postgres_sample_home: Settings, postgres_client: TestClient,
                                                         pg_cluster: Cluster) -> None:
    """`plans search` with PLANS_SEARCH_BACKEND=postgres answers from the database, as the API does,
    and a stopped database is a one-line error, not a traceback."""
    from typer.testing import CliRunner

    from app.cli import cli

    empty = postgres_sample_home.plans_home.parent / "no-index-here"  # nothing on disk: the answer must come from PostgreSQL
    env = {"PLANS_HOME": str(empty), "PLANS_SEARCH_BACKEND": "postgres", "DATABASE_URL": postgres_sample_home.database_url or ""}
    for q in ("劳动教育", "德"):
        result = CliRunner().invoke(cli, ["search", q, "--json", "--size", "100", "--per-group", "0"], env=env)
        assert result.exit_code == 0, result.output
        answer, api = json.loads(result.stdout), _search(postgres_client, q)
        assert (answer["total"], _ids(answer)) == (api["total"], _ids(api)) and api["total"] > 0
    pg_cluster.stop()
    try:
        down = CliRunner().invoke(cli, ["search", "劳动教育"], env=env)
    finally:
        pg_cluster.start()
    assert down.exit_code == 2 and down.stderr.startswith("error: ") and "Traceback" not in down.output


def _analyzed(settings: Settings) -> tuple[bool, bool]:
    """(ANALYZE run by the indexer, most-common-element statistics of `grams` present)."""
    engine = read_engine(settings.search_read_url)
    try:
        with engine.connect() as connection:
            manual = connection.execute(text(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'search_passages'")).scalar()
            elements = connection.execute(text(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'search_passages' AND attname = 'grams' "
                "AND most_common_elems IS NOT NULL")).scalar()
            return bool(manual), bool(elements)
    finally:
        engine.dispose()


def test_a_large_run_leaves_the_planner_statistics_of_every_gram(pg_cluster: Cluster, tmp_path: Path) -> None:
    """Past ANALYZE_PLANS changed plans a run ANALYZEs the search table, so `grams @>` is priced
    by how common each gram is; a small run (an upload) leaves that to autovacuum's analyze."""
    small = pg_home(pg_cluster, tmp_path / "small", "stats_small")
    assert not _analyzed(small)[0]
    corpus = tmp_path / "many"
    corpus.mkdir()
    for k in range(pg_index.ANALYZE_PLANS):
        (corpus / f"plan_{k:03d}.txt").write_text(
            f"第{k}小学2024年工作计划\n一、劳动教育\n劳动教育每周一次，第{k}项。\n二、课后服务\n课后服务覆盖全体学生。\n", encoding="utf-8")
    large = pg_home(pg_cluster, tmp_path / "large", "stats_large", corpus)
    assert _analyzed(large) == (True, True)


_ARRAYS = ("passage_plan", "passage_ids", "ordinals", "heading_lengths", "lengths", "word_ids", "word_offsets",
           "plan_passage_count", "plan_first", "plan_chars")
_LISTS = ("plans", "texts", "normalized", "sections", "vocabulary")


def _same_snapshot(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.generation == b.generation and a.size == b.size and a.plan_by_id == b.plan_by_id
    for name in _ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in _LISTS:
        assert list(getattr(a, name)) == list(getattr(b, name)), name
    assert a.words(a.size - 1) == b.words(b.size - 1)


def test_a_reload_after_added_plans_extends_and_any_other_commit_reads_whole(
        pg_cluster: Cluster, corpus_copy: Path, tmp_path: Path) -> None:
    settings = pg_home(pg_cluster, tmp_path / "home", "extends", corpus_copy)
    engine = read_engine(settings.search_read_url)
    try:
        served = PgSnapshot(engine)
        (corpus_copy / "added.txt").write_text(
            "测试学校2025年工作计划\n一、总体目标\n推进独一无二的星辰课程建设，落实双减。\n", encoding="utf-8")
        assert not Pipeline(settings).index([corpus_copy]).failed
        extended, whole = PgSnapshot(engine, previous=served), PgSnapshot(engine)
        assert extended.extended and not whole.extended
        assert extended.size > served.size
        _same_snapshot(extended, whole)
        assert len(extended.find("星辰课程").index) == 1
        changed = sorted(p for p in corpus_copy.iterdir() if p.suffix == ".txt")[0]
        changed.write_text(changed.read_text(encoding="utf-8") + "\n补充：开展月光读书会。\n", encoding="utf-8")
        (corpus_copy / "added2.txt").write_text("测试二校2026年工作计划\n一、目标\n推进课程建设。\n", encoding="utf-8")
        assert not Pipeline(settings).index([corpus_copy]).failed  # one plan replaced, one added
        replaced = PgSnapshot(engine, previous=whole)
        assert not replaced.extended
        whole = PgSnapshot(engine)
        _same_snapshot(replaced, whole)
        assert len(replaced.find("月光读书会").index) == 1
        victim = int(whole.plans[0]["id"])  # the oldest plan: its rows go, the newer ones stay
        assert Pipeline(settings).remove(victim)
        after_delete = PgSnapshot(engine, previous=whole)
        assert not after_delete.extended
        _same_snapshot(after_delete, PgSnapshot(engine))
        assert victim not in after_delete.plan_by_id
    finally:
        engine.dispose()


def test_a_server_with_an_empty_home_serves_the_database_and_indexes_nothing(
        postgres_sample_home: Settings, tmp_path: Path) -> None:
    """`plans serve` of the postgres backend is stateless: it builds no local index from the
    sample corpus (which would add the samples to the shared database from every server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PLANS_HOME": str(tmp_path / "empty"), "PLANS_SEARCH_BACKEND": "postgres",
           "DATABASE_URL": str(postgres_sample_home.database_url), "PLANS_CORPUS": str(SAMPLES)}
    env.pop("PLANS_ADMIN_TOKEN", None)
    engine = read_engine(postgres_sample_home.search_read_url)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM plans")).scalar_one()
    server = subprocess.Popen([str(Path(sys.executable).with_name("plans")), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        assert health.json()["documents"] == before
        found = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "劳动"}, timeout=10).json()
        assert found["total"] > 0
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM plans")).scalar_one() == before
    engine.dispose()
    assert "indexing" not in output, output
    assert not (tmp_path / "empty" / "index").exists()


def test_gram_arrays_are_stored_out_of_line(postgres_sample_home: Settings) -> None:
    """The heap pages a bitmap scan visits hold less than the gram arrays alone would fill."""
    engine = read_engine(postgres_sample_home.search_read_url)
    with engine.connect() as connection:
        heap, grams = connection.execute(text(
            "SELECT pg_relation_size('search_passages'), sum(pg_column_size(grams)) FROM search_passages")).one()
    engine.dispose()
    assert heap < grams, (heap, grams)
