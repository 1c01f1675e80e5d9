"""The catalog upgrades in place: columns a newer version declares are added to an existing database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect, select

from indexer.catalog import Plan, create_catalog_engine, session_scope
from indexer.pipeline import Pipeline
from tests.conftest import build_home

NEW_COLUMNS = ("unit", "year_end", "school_aliases", "sources", "metadata_version")


def test_an_older_catalog_gains_the_new_columns_and_its_plans_are_read_again(tmp_path: Path, corpus_copy: Path) -> None:
    settings = build_home(tmp_path / "home", corpus_copy)
    database = settings.plans_home / "catalog.sqlite3"
    with sqlite3.connect(database) as connection:  # the catalog as the previous version left it
        for column in NEW_COLUMNS:
            connection.execute(f"ALTER TABLE plans DROP COLUMN {column}")
        connection.execute("DROP TABLE plan_edits")
        kept = connection.execute("SELECT id, source, school FROM plans ORDER BY id").fetchall()
    report = Pipeline(settings).index([corpus_copy])
    assert sorted(o.status for o in report.outcomes) == ["replaced"] * 5  # same files, metadata read again
    engine = create_catalog_engine(settings.catalog_url)
    columns = {c["name"] for c in inspect(engine).get_columns("plans")}
    assert set(NEW_COLUMNS) <= columns and "plan_edits" in inspect(engine).get_table_names()
    with session_scope(engine) as session:
        plans = list(session.scalars(select(Plan).order_by(Plan.id)))
        assert [(p.id, p.source, p.school) for p in plans] == kept  # same ids, nothing lost
        assert all(p.year_end is not None and p.sources["year"]["source"] for p in plans)
    engine.dispose()
    again = Pipeline(settings).index([corpus_copy])
    assert sorted(o.status for o in again.outcomes) == ["unchanged"] * 5
