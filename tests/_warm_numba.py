"""Compile the package's numba kernels once, into their on-disk cache (``cache=True``).

``python -m tests._warm_numba DONE_FILE``: :mod:`tests.conftest` runs it in the background when
pytest-xdist starts its workers, so that on a fresh clone the kernels are compiled once, not
by each worker and each process a test starts. Calls each kernel on a tiny problem with the
argument types the pipeline passes (``int64`` indices, ``float64`` values).
"""

from __future__ import annotations

import numpy as np


def warm() -> None:
    import geopandas as gpd
    import shapely

    from siteplanner.hotspots.streets import lixel_density, lixelize
    from siteplanner.patrol.search import solve_orienteering

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10, size=(7, 2))
    T = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    solve_orienteering(T, np.ones(6), rng.uniform(0, 1, 6), budget_min=25.0)
    twins = [0, 2, 1, 3, 4, 5, 6]  # tasks 1 and 2: the two orientations of one segment
    solve_orienteering(T, np.ones(6), rng.uniform(0, 1, 6), budget_min=25.0, twins=twins)
    # the network kernel (hotspots._reach.kernel_sums) on a street of three lixels
    line = gpd.GeoSeries([shapely.LineString([(0, 0), (120, 0)])], crs="EPSG:32632")
    lix = lixelize(gpd.GeoDataFrame(geometry=line), lixel_m=50.0)
    lixel_density(lix, np.ones(len(lix)), bandwidth_m=100.0)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    try:
        warm()
    finally:  # the workers wait for this file (or give up after a while): written even on failure
        if len(sys.argv) > 1:
            Path(sys.argv[1]).touch()
