"""One settings class, read from the environment (prefix-free names listed in the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: 10x faster


def load_yaml(text: str) -> Any:
    """Parse YAML safely (no object construction) for the data files and manifests; yaml.YAMLError if bad."""
    return yaml.load(text, Loader=_SAFE_LOADER)


class Settings(BaseSettings):
    """Where things live and the limits the service enforces."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    plans_home: Path = Field(
        default=Path("var"), description="Folder holding the catalog database and the index."
    )
    database_url: str | None = Field(
        default=None,
        description="Any SQLAlchemy URL for the catalog; default: sqlite:///$PLANS_HOME/catalog.sqlite3. An SQLite write waits 30 s for another writer; ?timeout=SECONDS in the URL changes that.",
    )
    plans_search_backend: Literal["embedded", "postgres"] = Field(
        default="embedded",
        description="Where searches run: `embedded` (index files under PLANS_HOME) or `postgres` (search tables in DATABASE_URL's PostgreSQL).",
    )
    plans_read_database_url: str | None = Field(
        default=None,
        description="With the postgres backend, where servers read from (a streaming replica); default: DATABASE_URL.",
    )
    plans_corpus: Path = Field(
        default=DATA_DIR / "corpus", description="Files `plans index` reads when given no path."
    )
    plans_themes: Path = Field(
        default=DATA_DIR / "themes.yaml", description="The theme dictionary used by comparisons."
    )
    plans_admin_token: str | None = Field(
        default=None, description="Token for upload and delete; with none set, those endpoints are off."
    )
    plans_max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest file `plans index` or an upload accepts."
    )
    plans_reload_interval: float = Field(
        default=1.0, description="Seconds between the server's checks for a newer index."
    )
    plans_workers: int = Field(
        default=0, description="Worker processes for indexing (segmentation, Whoosh segments, postings); 0 means one per core."
    )
    plans_batch_plans: int = Field(
        default=200, ge=1, description="Plans written to the index per commit (each commit is all or nothing)."
    )
    plans_admin_wait: float = Field(
        default=30.0, ge=0, description="Seconds an upload or delete waits for a running indexer before answering 503."
    )
    plans_heavy_requests: int = Field(
        default=2, ge=1,
        description="Comparisons, matrices and exports the server builds at once; the next one gets 503 with Retry-After.",
    )
    plans_max_answer_passages: int = Field(
        default=20_000, ge=1,
        description="Most passages one comparison (ten times as many cells one matrix) may hold; a larger one is a 400 saying how to narrow it.",
    )
    plans_file_timeout: float = Field(
        default=15.0, ge=0,
        description="Seconds one file may take to be read, cleaned and split (an upload then answers within about 20 s); past it that file fails alone and is not read again "
        "(the same bytes are refused until this setting changes). 0: no budget.",
    )
    plans_indexer_idle: float = Field(
        default=300.0, ge=0,
        description="Seconds the server's indexer child may sit idle before it is stopped (the next upload or delete starts another); only with PLANS_INDEXER_WARM off.",
    )
    plans_indexer_warm: bool = Field(
        default=True,
        description="With uploads on, start the indexer child with the server and keep it loaded (its imports and jieba, about 170 MB): "
        "an upload then skips the child's start (~1 s, more on a busy machine). Off: the child starts at the first upload or delete and stops when idle.",
    )

    @property
    def search_read_url(self) -> str:
        """Where the postgres backend's servers read the search tables."""
        return self.plans_read_database_url or self.catalog_url

    @property
    def index_dir(self) -> Path:
        return self.plans_home / "index"

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept, one folder per content hash (the plan's source)."""
        return self.plans_home / "uploads"

    @property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.plans_home / 'catalog.sqlite3').resolve()}"


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides winning (tests pass a tmp home)."""
    return Settings(**overrides)  # type: ignore[arg-type]
