"""Compile the package's numba kernels once, into their on-disk cache (``cache=True``).

``python -m tests._warm_numba DONE_FILE``: :mod:`tests.conftest` runs it in the background when
pytest-xdist starts its workers, so that on a fresh clone the kernels are compiled once, not
by each worker and each process a test starts. Calls each kernel on a tiny problem with the
argument types the pipeline passes (``int64`` indices, ``float64`` values).
"""

from __future__ import annotations

import numpy as np


def warm() -> None:
    from siteplanner.hotspots._reach import bounded_reach
    from siteplanner.patrol.search import solve_orienteering

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10, size=(7, 2))
    T = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    solve_orienteering(T, np.ones(6), rng.uniform(0, 1, 6), budget_min=25.0)
    twins = [0, 2, 1, 3, 4, 5, 6]  # tasks 1 and 2: the two orientations of one segment
    solve_orienteering(T, np.ones(6), rng.uniform(0, 1, 6), budget_min=25.0, twins=twins)
    # a path graph 0-1-2-3 in CSR form
    indptr = np.array([0, 1, 3, 5, 6], dtype=np.int64)
    indices = np.array([1, 0, 2, 1, 3, 2], dtype=np.int64)
    weights = np.ones(6, dtype=np.float64)
    bounded_reach(indptr, indices, weights, np.array([0], np.int64), np.array([1], np.int64), 2.5)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    try:
        warm()
    finally:  # the workers wait for this file (or give up after a while): written even on failure
        if len(sys.argv) > 1:
            Path(sys.argv[1]).touch()
