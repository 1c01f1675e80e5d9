"""SQLAlchemy models of the catalog: the source of truth the index is derived from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine, event, func, inspect, make_url,
    select, text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateColumn
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

PENDING, INDEXED, DELETING = "pending", "indexed", "deleting"  # DELETING: the next run finishes the delete


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Plan(Base):
    """One plan file: where it came from, its metadata and its cleaned text."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(1024), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(512))
    school: Mapped[str | None] = mapped_column(String(256), index=True)
    unit: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="school")
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(192))
    level: Mapped[str | None] = mapped_column(String(32))
    period: Mapped[str | None] = mapped_column(String(64))
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    year_end: Mapped[int | None] = mapped_column(Integer)
    term: Mapped[str | None] = mapped_column(String(16))
    issuer: Mapped[str | None] = mapped_column(String(256))
    published: Mapped[str | None] = mapped_column(String(10))
    school_aliases: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    sources: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # field -> {"source", "confidence"}
    metadata_version: Mapped[str | None] = mapped_column(String(32))  # metadata read again when it differs
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    chars: Mapped[int] = mapped_column(Integer)
    index_state: Mapped[str] = mapped_column(String(16), default=PENDING)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    passages: Mapped[list[Passage]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Passage.ordinal"
    )

    METADATA_FIELDS = (
        "title", "school", "unit", "kind", "province", "city", "district", "region", "level",
        "period", "year", "year_end", "term", "issuer", "published", "school_aliases", "sources",
    )

    def metadata_dict(self) -> dict[str, Any]:
        """The fields users see and filter on, with the id and size."""
        out: dict[str, Any] = {"id": self.id, "source": self.source, "format": self.format}
        out.update({name: getattr(self, name) for name in self.METADATA_FIELDS})
        out["school_aliases"] = list(self.school_aliases or [])
        out["sources"] = dict(self.sources or {})
        out.update(chars=self.chars, warnings=list(self.warnings or []))
        return out


class Passage(Base):
    """A passage: `plan.text[start:end] == text`; `section` lists headings outermost first."""

    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    heading_rank: Mapped[int | None] = mapped_column(Integer)
    section: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="passages")


class TimedOut(Base):
    """A file (by content hash) that overran the per-file time budget of `seconds`: not read again with that budget."""

    __tablename__ = "timed_out"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class IdMark(Base):
    """The highest id ever given, per table: ids are never reused, though SQLite (without
    AUTOINCREMENT) would give a deleted largest id again. A catalog from before this table
    starts from its current largest ids."""

    __tablename__ = "id_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    high: Mapped[int] = mapped_column(Integer)


def reserve_ids(session: Session, table: type[Plan] | type[Passage], count: int) -> range:
    """`count` new ids for `table`, above every id it ever held (in the caller's transaction)."""
    name = table.__tablename__
    mark = session.get(IdMark, name)
    largest = session.scalar(select(func.max(table.id))) or 0
    start = max(largest, mark.high if mark is not None else 0) + 1
    if mark is None:
        session.add(IdMark(name=name, high=start + count - 1))
    else:
        mark.high = start + count - 1
    return range(start, start + count)


class PlanEdit(Base):
    """A correction of one metadata field of the plan at `source`: it outlives re-indexing and
    replacement of the file at that path."""

    __tablename__ = "plan_edits"
    __table_args__ = (UniqueConstraint("source", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(1024), index=True)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)
    edited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


BUSY_SECONDS = 30.0  # how long an SQLite write waits for another writer before "database is locked"


def create_catalog_engine(url: str) -> Engine:
    """An engine with SQLite set up for one writer beside readers (WAL, foreign keys); a write
    waits BUSY_SECONDS for another writer, or the URL's own `?timeout=SECONDS`."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS} if sqlite and "timeout" not in parsed.query else {})
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def init_catalog(engine: Engine) -> None:
    """Create missing tables, and add columns a newer version declares to existing ones (in place)."""
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        add_missing_columns(connection)


def add_missing_columns(connection: Connection) -> None:
    """ALTER TABLE … ADD COLUMN for every declared column an existing table lacks; new columns are
    nullable, so old rows read as NULL (and plans with an old `metadata_version` are read again)."""
    inspector = inspect(connection)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                if not column.nullable:
                    raise RuntimeError(f"{table.name}.{column.name}: only nullable columns are added in place")
                ddl = CreateColumn(column).compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
