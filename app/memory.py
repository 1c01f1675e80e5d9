"""Handing freed memory back to the operating system (glibc), after large answers and reloads.

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
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def trim() -> bool:
    """Return free heap memory to the system; whether anything was released."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
