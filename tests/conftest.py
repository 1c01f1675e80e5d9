"""Shared fixtures: the real sample corpus built through the real pipeline into temp folders."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.main import create_app
from app.pg_search import PgSnapshot, read_engine
from app.snapshot import Snapshot
from indexer.catalog import Passage, Plan, create_catalog_engine
from indexer.pipeline import Pipeline
from indexer.settings import DATA_DIR, Settings, get_settings
from tests.postgres import Cluster, cluster_root

SAMPLES = DATA_DIR / "corpus"


def build_home(home: Path, corpus: Path | None = None) -> Settings:
    """Index `corpus` (default: the samples) into a fresh PLANS_HOME and return its settings."""
    settings = get_settings(plans_home=home, plans_reload_interval=-1)
    report = Pipeline(settings).index([corpus or SAMPLES])
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def embedded_sample_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The five sample plans, indexed once for the whole session (read-only for tests)."""
    return build_home(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="session")
def sample_home(embedded_sample_home: Settings) -> Settings:
    return embedded_sample_home


def writable_home(sample_home: Settings, tmp_path: Path, **overrides: Any) -> Settings:
    """A copy of the indexed samples that a test may change (uploads, removals, re-indexing)."""
    shutil.copytree(sample_home.plans_home, tmp_path / "home")
    return get_settings(plans_home=tmp_path / "home", plans_reload_interval=-1, **overrides)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session (tests create their own databases in it)."""
    root = cluster_root()
    cluster = Cluster(root, "primary").init().start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def pg_home(cluster: Cluster, home: Path, database: str, corpus: Path | None = None, **overrides: Any) -> Settings:
    """Index `corpus` (default: the samples) with the postgres backend into a new database."""
    settings = get_settings(plans_home=home, plans_reload_interval=-1, plans_search_backend="postgres",
                            database_url=cluster.create_database(database), **overrides)
    report = Pipeline(settings).index([corpus or SAMPLES])
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def postgres_sample_home(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The five sample plans indexed once with the postgres backend (read-only for tests)."""
    return pg_home(pg_cluster, tmp_path_factory.mktemp("pg-samples"), "samples")


@pytest.fixture(scope="session")
def postgres_client(postgres_sample_home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(postgres_sample_home)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def postgres_snapshot(postgres_sample_home: Settings) -> Iterator[PgSnapshot]:
    engine = read_engine(postgres_sample_home.search_read_url)
    yield PgSnapshot(engine)
    engine.dispose()


BACKENDS = ("embedded", "postgres")  # modules that run against both override sample_home, client, sample_snapshot


@pytest.fixture(scope="session")
def embedded_snapshot(embedded_sample_home: Settings) -> Snapshot:
    return Snapshot(embedded_sample_home.index_dir)


@pytest.fixture(scope="session")
def sample_snapshot(embedded_snapshot: Snapshot) -> Snapshot:
    return embedded_snapshot


@pytest.fixture(scope="session")
def embedded_client(embedded_sample_home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(embedded_sample_home)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def client(embedded_client: TestClient) -> TestClient:
    return embedded_client


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample files, for tests that change, add or remove plans."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLES, target)
    return target


def catalog_passages(settings: Settings) -> list[tuple[Plan, Passage]]:
    """Every (plan, passage) straight from the catalog: the ground truth for brute-force checks."""
    engine = create_catalog_engine(settings.catalog_url)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = session.execute(select(Plan, Passage).join(Passage).order_by(Plan.id, Passage.ordinal)).all()
        session.expunge_all()
    engine.dispose()
    return [(plan, passage) for plan, passage in rows]


def countable_passages(settings: Settings) -> list[tuple[Plan, Passage]]:
    """catalog_passages without the heading-only passages whose section goes on after them
    (README, "What counts as a hit"): written from the catalog, apart from app.mentions."""
    import re

    from indexer.cleaning import normalize

    rows = catalog_passages(settings)
    letters = lambda text: re.sub(r"[\W_]+", "", normalize(text))  # noqa: E731
    out = []
    for k, (plan, passage) in enumerate(rows):
        section = list(passage.section or [])
        if passage.heading_rank is not None and section and letters(passage.text) == letters(section[-1]):
            following = rows[k + 1] if k + 1 < len(rows) else None
            if following is not None and following[0].id == plan.id and list(following[1].section[: len(section)]) == section:
                continue
        out.append((plan, passage))
    return out


def is_countable(snapshot: Snapshot, i: int) -> bool:
    """countable_passages' rule on one passage of a snapshot (heading rank read as heading_lengths > 0)."""
    import re

    from indexer.cleaning import normalize

    section = snapshot.sections[i]
    if not snapshot.heading_lengths[i] or not section:
        return True
    letters = lambda text: re.sub(r"[\W_]+", "", normalize(text))  # noqa: E731
    if letters(snapshot.texts[i]) != letters(section[-1]):
        return True
    after = i + 1
    return not (after < snapshot.size and snapshot.passage_plan[after] == snapshot.passage_plan[i]
                and tuple(snapshot.sections[after][: len(section)]) == tuple(section))
