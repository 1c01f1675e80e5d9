"""The postgres backend's writes: schema migrations and the search rows of each committed batch.

`migrate` brings a database to this program's revision with Alembic (a database made before
migrations is upgraded in place; one at a revision this program does not know is refused by
name). `write_batch` runs inside the transaction that marks a batch's plans indexed, so the
catalog and the search tables change together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from indexer.cleaning import normalize
from indexer.schema import PASSAGE

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class UnknownRevision(RuntimeError):
    """The database is at a schema revision this program cannot use (migrated by another version)."""


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this program's migrations end at."""
    script = ScriptDirectory.from_config(_config(None))  # type: ignore[arg-type]
    return script.get_current_head()  # type: ignore[return-value]


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the database to `head()`; UnknownRevision when it is at a revision not known here."""
    with engine.begin() as connection:
        config = _config(connection)
        known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
        found = current_revision(connection)
        if found is not None and found not in known:
            raise UnknownRevision(
                f"the database is at schema revision {found!r}, which this program does not know "
                f"(it knows {', '.join(sorted(known))}): upgrade the program, or use another database"
            )
        if found != head():
            command.upgrade(config, "head")


def grams(normalized: str) -> list[str]:
    """The distinct characters and bigrams of a normalised text: a needle of one or two
    characters occurs in it exactly when the array holds the needle."""
    return sorted(set(normalized) | {normalized[i : i + 2] for i in range(len(normalized) - 1)})


def write_batch(session: Session, plan_ids: Sequence[int], documents: Iterable[dict[str, Any]]) -> None:
    """Replace the search rows of these plans with their passage documents' (see `indexer.store`)."""
    session.execute(text("DELETE FROM search_passages WHERE plan_id = ANY(:ids)"), {"ids": list(plan_ids)})
    rows = []
    for document in documents:
        if document.get("kind") != PASSAGE:
            continue
        folded = document["normalized"] if "normalized" in document else normalize(document["text"])
        rows.append({"passage_id": int(document["pid"]), "plan_id": int(document["plan"]),
                     "ordinal": int(document["ordinal"]), "normalized": folded, "grams": grams(folded),
                     "tokens": document["tokens"]})
    if rows:
        session.execute(
            text("INSERT INTO search_passages (passage_id, plan_id, ordinal, normalized, grams, tokens) "
                 "VALUES (:passage_id, :plan_id, :ordinal, :normalized, :grams, :tokens)"),
            rows,
        )


ANALYZE_PLANS = 50  # plans a run changes past which it refreshes the planner's statistics at its end


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE the search table: the planner then prices `grams @> …` by how common each
    character or bigram is (most-common-element statistics) instead of a default guess, and
    chooses the GIN index for a rare one. Smaller changes are left to autovacuum's analyze."""
    with engine.connect() as connection:
        connection.execute(text("ANALYZE search_passages"))
        connection.commit()


def unsearchable_plan_ids(session: Session) -> set[int]:
    """Plans the catalog has whose passages the search tables lack (indexed before the backend was on)."""
    return set(session.scalars(text(
        "SELECT p.id FROM plans p WHERE EXISTS (SELECT 1 FROM passages a WHERE a.plan_id = p.id) "
        "AND NOT EXISTS (SELECT 1 FROM search_passages s WHERE s.plan_id = p.id)"
    )))
