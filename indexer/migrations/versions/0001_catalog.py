"""The catalog: plans and their passages (tables a database made before migrations already has are kept)."""

from __future__ import annotations

from alembic import op

from indexer.catalog import Passage, Plan

revision = "0001_catalog"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # the tables as the models declare them at this revision; `init_catalog` made the same ones
    Plan.__table__.create(bind, checkfirst=True)
    Passage.__table__.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    Passage.__table__.drop(bind, checkfirst=True)
    Plan.__table__.drop(bind, checkfirst=True)
