"""The project's own exceptions: third-party errors are translated into these.

The whole tree; one handler in app/main.py maps it to HTTP by the exception's MRO (the
status in brackets), every answer `{"error": code, "message": ...}`:

    PlansError                    every error raised on purpose
    ├── ReadError                 a file is not a readable plan                     [422]
    │   └── TimeBudgetExceeded    reading and splitting it overran PLANS_FILE_TIMEOUT
    ├── UploadRejected            an upload cannot become a plan (the reader's reason)  [422]
    ├── QueryError                a query, filter or id parameter is wrong (code, position) [400]
    │   └── AnswerTooLarge        the answer would be too large: narrow it          [400]
    ├── NotFound                  no plan with that id                              [404]
    ├── Unavailable               try again later (`retry_after` seconds when known)  [503]
    │   ├── IndexerUnavailable    the indexer child could not do the work
    │   ├── IndexLockedError      another indexer holds the write lock
    │   ├── StorageError          disk full, read-only home, database locked or read-only
    │   └── Busy                  too many heavy requests at once (with Retry-After)
    ├── IndexMissingError         no index yet where the settings point
    ├── SchemaVersionError        the index on disk has another schema version
    ├── CorruptIndexError         a file of the index fails its manifest check: `plans reindex`
    └── ConfigurationError        a data file (the theme dictionary) is broken: start-up stops

Messages are for people and never carry SQL, parameters, paths or plan text: those go to
the log (`describe_fault` turns an OS or database error into such a message).
"""

from __future__ import annotations

import errno
from typing import Any


class PlansError(Exception):
    """Base class for every error this project raises on purpose."""

    code = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class ReadError(PlansError):
    """A file could not be read as a plan (unknown format, broken file, no text)."""

    code = "unreadable_file"

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


    def __reduce__(self) -> tuple[Any, ...]:  # rebuilt whole when sent back from the reading process
        return (type(self), (self.path, self.reason))


class TimeBudgetExceeded(ReadError):
    """Reading, cleaning and splitting one file took longer than its time budget."""


class UploadRejected(PlansError):
    """The uploaded file cannot become a plan (empty, unreadable, no text, failed before); `reason` says why."""

    code = "unreadable_file"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"无法作为计划读取 {name}：{reason}")
        self.name, self.reason = name, reason


class QueryError(PlansError):
    """The query cannot be parsed; `code` is stable, `message` is for people, `position` is 0-based."""

    def __init__(self, code: str, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


class AnswerTooLarge(QueryError):
    """The answer would hold more than the server builds at once; the message says how to narrow it."""

    def __init__(self, message: str) -> None:
        super().__init__("answer_too_large", message)


class NotFound(PlansError):
    """No plan with that id."""

    code = "not_found"


class Unavailable(PlansError):
    """The work cannot be done now; `retry_after` (seconds) when a retry is known to help."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IndexerUnavailable(Unavailable):
    """The indexer child could not do the work (lock held too long, timeout, error)."""

    def __init__(self, message: str, *, settled: bool = True) -> None:
        super().__init__(message)
        self.settled = settled  # False: the child stopped mid-request and may have written part of it


class IndexLockedError(Unavailable):
    """Another indexer holds the write lock."""


class StorageError(Unavailable):
    """The disk or the database refused a write; the message is short, the details are logged."""


class Busy(Unavailable):
    """As many heavy requests as the server runs at once are running; retry after `retry_after` s."""


class IndexMissingError(PlansError):
    """There is no index yet where the settings point."""


class SchemaVersionError(PlansError):
    """The index on disk was built with another schema version."""


class ConfigurationError(PlansError):
    """A data file the service needs is missing or broken (named in the message)."""


_OS_FAULTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the data folder is read-only",
    errno.EACCES: "the data folder is not writable",
    errno.EPERM: "the data folder is not writable",
    errno.EIO: "the disk reported an input/output error",
}


def describe_fault(exc: BaseException) -> str:
    """A short message for an OS or database error: what failed, never SQL, parameters or paths."""
    if isinstance(exc, OSError):
        return _OS_FAULTS.get(exc.errno or 0, "the disk refused a write")
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "locked" in text or "busy" in text:
        return "the catalog database is locked"
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "the catalog database is read-only"
    if "disk" in text and "full" in text:
        return "the disk is full"
    if "unable to open" in text:
        return "the catalog database cannot be opened"
    return "the catalog database failed"


class CorruptIndexError(PlansError):
    """A file of the index does not match its manifest (size, checksum) or cannot be read."""
