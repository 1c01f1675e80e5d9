"""glibc's allocator, tuned for a long-running server: arenas capped, freed memory handed back.

A comparison over 2,000 plans builds tens of megabytes of dictionaries; once answered, glibc
keeps the freed heap for reuse, so the server's resident size stays at its high-water mark
and the next reload (which holds two generations for a moment) adds to it. `trim()` calls
`malloc_trim(0)`: a few milliseconds, a no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    """The C library, or None where it cannot be loaded (callers check for glibc's functions)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def limit_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the server starts its threads.

    With one arena per worker thread, memory freed after a large response stays in that
    thread's arena: the soak test saw the server grow 22% and level off; with two arenas it
    stayed within 1%. Same as MALLOC_ARENA_MAX=2; a no-op where glibc is absent.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def trim() -> bool:
    """Return free heap memory to the system; whether anything was released."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None and hasattr(libc, "malloc_trim") else False
