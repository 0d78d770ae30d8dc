"""On-disk cache of the coverage step: fields of view, coverage table and privacy figures.

The fields of view of a dense centre (thousands of sites, each an exact isovist cut to its best
heading) and their privacy figures take most of a run; they change only when what they are
computed from changes. :func:`cache_key` hashes all of it — the building footprints, heights
and residential flags, the terrain (DEM grid, transform, eye and target heights), the sites'
positions, view origins and known headings or fields of view, the camera (range at each DORI
level, field of view, headings tried, coverage mode), the demand points and weights (which
choose the headings and make the table), the entrances, :data:`CACHE_VERSION` and the source of
the modules that compute them — so a changed input or algorithm never reuses an old entry.

An entry is one ``coverage-<key>.npz`` (numpy arrays only, no pickle: the polygons as WKB,
the table as its CSR arrays) in the scenario's ``cache_dir``, written atomically. A missing,
unreadable or mismatched entry is recomputed and rewritten, never trusted; the results are
the same as without the cache (tests: ``tests/test_coverage_cache.py``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from scipy.sparse import csr_matrix

from siteplanner.files import atomic_path, hash_value

log = logging.getLogger(__name__)

#: Bump when an entry's content or meaning changes (the sources are hashed too).
CACHE_VERSION = "1"
#: The modules whose code makes an entry: a change in any of them misses the cache.
_SOURCES = ("matrix", "viewshed", "sightlines", "terrain", "privacy", "cache")


@dataclass(frozen=True)
class CoverageViews:
    """What the coverage step caches: each site's field of view and heading, the coverage
    table (``None`` with network coverage, which is not cached) and the privacy figures."""

    polygons: tuple[Any, ...]
    heading_deg: np.ndarray
    fov_deg: float
    range_m: float
    A: csr_matrix | None
    facade_m: np.ndarray
    n_entrances: np.ndarray
    masks: dict[int, Any]


def _source_digest(extra: tuple[str, ...] = ()) -> str:
    """SHA-256 of the code that computes an entry (this package's modules and ``extra``)."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in [here / f"{name}.py" for name in _SOURCES] + [Path(p) for p in extra]:
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(parts: Mapping[str, object], *, sources: tuple[str, ...] = ()) -> str:
    """Hex SHA-256 of everything an entry depends on.

    Parameters
    ----------
    parts
        Name → value: numpy arrays (geometries as object arrays), numbers, strings, tuples,
        nested mappings (a DEM as ``{"dem": array, "transform": tuple, ...}``) or ``None``.
    sources
        Further source files whose code makes the entry (e.g. the calling step's).
    """
    h = hashlib.sha256()
    h.update(f"coverage cache v{CACHE_VERSION}|{_source_digest(sources)}|".encode())
    hash_value(h, "parts", dict(parts))
    return h.hexdigest()


def entry_path(cache_dir: str | Path, key: str) -> Path:
    """Where the entry of ``key`` lives in ``cache_dir``."""
    return Path(cache_dir) / f"coverage-{key[:32]}.npz"


def _pack(geoms: list[Any] | tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object)) if len(geoms) else []
    ends = np.cumsum([len(b) for b in wkb], dtype=np.int64)
    buf = np.frombuffer(b"".join(wkb), dtype=np.uint8) if len(wkb) else np.zeros(0, np.uint8)
    return buf, ends


def _unpack(buf: np.ndarray, ends: np.ndarray) -> list[Any]:
    raw = buf.tobytes()
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    return list(shapely.from_wkb([raw[s:e] for s, e in zip(starts, ends)]))


def write(path: str | Path, key: str, views: CoverageViews) -> None:
    """Store ``views`` under ``key`` at ``path`` (atomically: a reader sees all or nothing)."""
    poly_buf, poly_ends = _pack(views.polygons)
    mask_ids = np.array(sorted(views.masks), dtype=np.int64)
    mask_buf, mask_ends = _pack([views.masks[i] for i in mask_ids])
    arrays: dict[str, np.ndarray] = {
        "key": np.array(key),
        "poly_buf": poly_buf,
        "poly_ends": poly_ends,
        "heading_deg": np.asarray(views.heading_deg, float),
        "fov_range": np.array([views.fov_deg, views.range_m], dtype=float),
        "facade_m": views.facade_m,
        "n_entrances": views.n_entrances,
        "mask_ids": mask_ids,
        "mask_buf": mask_buf,
        "mask_ends": mask_ends,
    }
    if views.A is not None:
        A = views.A
        arrays.update(
            A_data=A.data,
            A_indices=A.indices,
            A_indptr=A.indptr,
            A_shape=np.array(A.shape, dtype=np.int64),
        )
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    log.info("coverage cache: wrote %s", Path(path).name)


def read(path: str | Path, key: str) -> CoverageViews | None:
    """The entry of ``key`` at ``path``, or ``None`` when missing, unreadable or not for
    ``key`` (then it is recomputed; a corrupt entry is never trusted)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if str(z["key"]) != key:
                log.warning("coverage cache %s is for other inputs; recomputing", path.name)
                return None
            polys = _unpack(z["poly_buf"], z["poly_ends"])
            heading = z["heading_deg"]
            if len(polys) != len(heading):
                raise ValueError(f"{len(polys)} fields of view for {len(heading)} headings")
            A = None
            if "A_data" in z:
                A = csr_matrix(
                    (z["A_data"], z["A_indices"], z["A_indptr"]), shape=tuple(z["A_shape"])
                )
            masks = dict(zip(z["mask_ids"].tolist(), _unpack(z["mask_buf"], z["mask_ends"])))
            fov_deg, range_m = (float(v) for v in z["fov_range"])
            views = CoverageViews(
                polygons=tuple(polys),
                heading_deg=heading,
                fov_deg=fov_deg,
                range_m=range_m,
                A=A,
                facade_m=z["facade_m"],
                n_entrances=z["n_entrances"],
                masks=masks,
            )
    except Exception as exc:  # a corrupt or truncated entry is recomputed, never trusted
        log.warning("coverage cache %s is unreadable (%s); recomputing it", path.name, exc)
        return None
    log.info("coverage cache: read %s (%s fields of view)", path.name, f"{len(polys):,}")
    return views
