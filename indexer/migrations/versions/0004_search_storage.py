"""The gram arrays stored out of line: a passage's row in the heap keeps its ids and normalised
text, so the bitmap heap scan behind a common character or bigram visits a third of the pages
(the arrays are read only by the GIN index). Rows written before this revision keep their
storage until their plan is indexed again (`plans reindex` rewrites them all)."""

from __future__ import annotations

from alembic import op

revision = "0004_search_storage"
down_revision = "0003_catalog_metadata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE search_passages SET (toast_tuple_target = 128)")
    op.execute("ALTER TABLE search_passages ALTER COLUMN grams SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE search_passages ALTER COLUMN grams SET STORAGE EXTENDED")
    op.execute("ALTER TABLE search_passages RESET (toast_tuple_target)")
