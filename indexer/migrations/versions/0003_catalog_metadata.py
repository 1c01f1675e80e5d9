"""The catalog's metadata columns (unit, year_end, school_aliases, sources, metadata_version) and
its bookkeeping tables (plan_edits, id_marks, timed_out): created where missing, in place."""

from __future__ import annotations

from alembic import op

from indexer.catalog import IdMark, PlanEdit, TimedOut, add_missing_columns

revision = "0003_catalog_metadata"
down_revision = "0002_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for model in (PlanEdit, IdMark, TimedOut):
        model.__table__.create(bind, checkfirst=True)
    add_missing_columns(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for model in (TimedOut, IdMark, PlanEdit):
        model.__table__.drop(bind, checkfirst=True)
