"""The postgres backend's search tables: each passage's normalised text (pg_trgm GIN), its
distinct characters and bigrams (GIN over text[]), its words; one generation row bumped by
every change."""

from __future__ import annotations

from alembic import op

revision = "0002_search"
down_revision = "0001_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("""
        CREATE TABLE search_passages (
            passage_id integer PRIMARY KEY REFERENCES passages (id) ON DELETE CASCADE,
            plan_id integer NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
            ordinal integer NOT NULL,
            normalized text NOT NULL,
            grams text[] NOT NULL,
            tokens text NOT NULL
        )""")
    op.execute("CREATE INDEX search_passages_plan ON search_passages (plan_id, ordinal)")
    op.execute("CREATE INDEX search_passages_trgm ON search_passages USING gin (normalized gin_trgm_ops)")
    op.execute("CREATE INDEX search_passages_grams ON search_passages USING gin (grams)")
    op.execute("""
        CREATE TABLE search_state (
            id integer PRIMARY KEY CHECK (id = 1),
            generation bigint NOT NULL,
            committed_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("INSERT INTO search_state (id, generation) VALUES (1, 1)")
    # any change of what is searchable (cascaded deletes included) is a new generation
    op.execute("""
        CREATE FUNCTION search_state_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE search_state SET generation = generation + 1, committed_at = now();
            RETURN NULL;
        END $$""")
    for table in ("search_passages", "plans"):
        op.execute(f"""
            CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION search_state_bump()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS plans_changed ON plans")
    op.execute("DROP TABLE IF EXISTS search_passages")
    op.execute("DROP TABLE IF EXISTS search_state")
    op.execute("DROP FUNCTION IF EXISTS search_state_bump()")
