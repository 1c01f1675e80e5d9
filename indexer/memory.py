"""glibc's allocator: freed heap handed back to the system (`malloc_trim`), for long-lived processes.

glibc keeps freed heap for reuse, so a process's resident size stays at its high-water mark:
the server's after a large comparison or a reload, the indexer worker's after merging a
generation (two states held for a moment). `trim()` takes a few milliseconds and is a
no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def libc() -> Any:
    """The C library, or None where it cannot be loaded (callers check for glibc's functions)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def trim() -> bool:
    """Return free heap memory to the system; whether anything was released."""
    c = libc()
    return bool(c.malloc_trim(0)) if c is not None and hasattr(c, "malloc_trim") else False
