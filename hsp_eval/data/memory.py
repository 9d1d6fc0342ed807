"""Giving memory that was freed back to the system, between the large steps of a run."""

from __future__ import annotations


def release_free_memory() -> None:
    """Give freed memory back to the system.

    Arrow's allocator keeps the blocks of freed columns for reuse, and the C heap keeps freed
    blocks of up to 32 MB (glibc's largest threshold for giving an allocation its own pages),
    which a column of a few million rows is. The loader calls this once the tables are
    loaded (national data: 7.95 -> 6.84 GB resident, docs/performance.md) and the indicator
    engine after each topic, so that the next one's peak does not stand on the last one's.
    Without glibc (no ``malloc_trim``) only Arrow's blocks are given back.

    Examples
    --------
    >>> release_free_memory()
    """
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:  # the C library the interpreter runs on (no lookup: that would start a subprocess)
        trim = ctypes.CDLL(None).malloc_trim  # glibc; other C libraries lack it
    except (AttributeError, OSError):
        return
    trim(0)
