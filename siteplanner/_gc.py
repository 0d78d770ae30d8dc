"""The garbage collector's thresholds during a run.

A run builds millions of objects that live to its end (the parsed ways, the street graph's
dicts, the demand tables) and frees few. With CPython's thresholds (700, 10, 10), a full
collection, which walks every one of them, starts each time the objects created since the last
one reach a quarter of those it walked: on the dense Malta centre (``benchmarks/scale.py --areas
malta-dense``) 25 full collections took 7.9 s of a 29.7 s cold run, timed with
``gc.callbacks``. While :func:`relaxed_gc` is entered the thresholds are at least
:data:`RUN_THRESHOLDS`: young cycles are still collected, every 200,000 allocations, and full
collections are rare. The cost is memory: the dense centre's cold peak is 1.02 GiB instead of
0.91 GiB.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RUN_THRESHOLDS", "relaxed_gc"]

#: the thresholds (generation 0, 1, 2) while a run is under way; CPython's are (700, 10, 10)
RUN_THRESHOLDS = (200_000, 30, 30)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds to at least :data:`RUN_THRESHOLDS` inside the block.

    Nested and concurrent blocks (threads) share one change: the first to enter saves the
    thresholds, the last to leave puts them back. Usable as a decorator: ``@relaxed_gc()``.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(a, b) for a, b in zip(_saved, RUN_THRESHOLDS)))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
