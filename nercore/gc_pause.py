"""Pausing Python's cyclic garbage collector while many small objects are built at once.

Building an ``Entity`` per entity of a large call allocates hundreds of thousands of objects.
Every 700 allocations the collector runs, and every few of its runs it walks all objects of the
process (about 400,000 after torch and transformers are imported), although new records form no
reference cycles. On 50,000 synthetic notes (112,000 entities) this made ``TaggedTexts.results``
take 1.1 s instead of 0.5-0.6 s (Intel Xeon, Python 3.11).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable automatic garbage collection inside the block, if it was enabled on entry (also a
    decorator: ``@paused_gc()``).

    Reference counting still frees every object as usual; only cycles wait for the next
    collection. The collector's state is process-wide: if another thread paused it first, this
    block leaves it to that thread (which re-enables it when its own block ends), and one that
    was disabled on entry stays disabled.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
