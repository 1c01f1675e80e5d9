"""The project's own exceptions: third-party errors are translated into these."""

from __future__ import annotations


class PlansError(Exception):
    """Base class for every error this project raises on purpose."""


class ReadError(PlansError):
    """A file could not be read as a plan (unknown format, broken file, no text)."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(PlansError):
    """There is no index yet where the settings point."""


class SchemaVersionError(PlansError):
    """The index on disk was built with another schema version."""


class IndexLockedError(PlansError):
    """Another indexer holds the write lock."""


class CorruptIndexError(PlansError):
    """A file of the index does not match its manifest (size, checksum) or cannot be read."""
