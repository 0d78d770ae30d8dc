"""Writing files atomically: a run's outputs are staged, then moved into place.

:func:`staged_folder` stages every output of a run in a hidden folder and moves each into the
output folder only when all are written (a run killed half-way leaves the previous outputs as
they were; other files there, such as the référent sûreté's review file, are never touched).
:func:`write_text`, :func:`write_json`, :func:`write_geojson` (RFC 7946) and
:func:`write_with` write one file atomically.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; move it onto ``dest`` only on success."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=".tmp" + "".join(dest.suffixes), dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        if tmp_path.exists():
            tmp_path.unlink()  # some drivers refuse to write over an existing file
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def staged_folder(out_dir: str | Path) -> Iterator[tuple[Path, list[Path]]]:
    """Stage a run's outputs in a hidden folder of ``out_dir``; move them into place on success.

    Yields ``(stage, written)``: write every file into ``stage``; when the block ends without
    error the stage is marked complete, then each file is moved onto ``out_dir`` with
    :func:`os.replace` and listed in ``written``. Other files of ``out_dir`` (e.g. a review
    file) are never touched.

    A staging folder left by a killed run is dealt with first: without the mark (killed
    while writing) it is removed and the previous outputs stay as they were; with it (killed
    while moving, which could leave old and new files side by side) its remaining files are
    moved into place, so the folder holds that run's outputs whole.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = [d for d in out_dir.glob(".staging-*") if d.is_dir()]
    for d in sorted(stale, key=lambda d: ((d / _COMPLETE).is_file(), _read_mark(d), d.name)):
        if (d / _COMPLETE).is_file():
            log.warning("completing the outputs of an interrupted run from %s", d)
            for f in sorted(d.iterdir()):
                if f.name != _COMPLETE:
                    os.replace(f, out_dir / f.name)
        else:  # killed while writing (SIGKILL, power cut)
            log.warning("removing %s, left by an interrupted run", d)
        shutil.rmtree(d, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    written: list[Path] = []
    try:
        yield stage, written
        write_text(stage / _COMPLETE, f"{time.time_ns()}\n")
        for f in sorted(stage.iterdir()):
            if f.name == _COMPLETE:
                continue
            os.replace(f, out_dir / f.name)
            written.append(out_dir / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


_COMPLETE = ".complete"  # the mark of a staging folder whose run ended without error


def _read_mark(stage: Path) -> int:
    try:
        return int((stage / _COMPLETE).read_text().strip())
    except (OSError, ValueError):
        return 0


def hash_value(h: Any, name: str, value: object) -> None:
    """Add one named value to the hash ``h`` (a ``hashlib`` object), for cache keys.

    Arrays by dtype, shape and bytes; geometries as WKB; mappings key by key; data frames
    column by column (geometry columns as WKB, the others with
    :func:`pandas.util.hash_pandas_object`), with their index; scalars and strings by their
    ``repr``.
    """
    h.update(f"<{name}:".encode())
    if isinstance(value, Mapping):
        for k in sorted(value, key=str):
            hash_value(h, f"{name}.{k}", value[k])
    elif isinstance(value, pd.DataFrame):
        hash_value(h, f"{name}.index", pd.util.hash_pandas_object(value.index).to_numpy())
        for col in value.columns:
            hash_value(h, f"{name}.{col}", value[col])
        if isinstance(value, gpd.GeoDataFrame) and value.crs is not None:
            h.update(value.crs.to_wkt().encode())
    elif isinstance(value, pd.Series):
        h.update(f"{value.dtype}".encode())
        if isinstance(value.dtype, gpd.array.GeometryDtype):
            hash_value(h, name, np.asarray(value, dtype=object))
        else:
            try:
                h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
            except TypeError:  # unhashable cells (lists, dicts): their text
                h.update(repr(value.tolist()).encode())
    elif isinstance(value, np.ndarray) and value.dtype == object:
        wkb = [b or b"" for b in shapely.to_wkb(value)]  # a missing geometry: empty
        h.update(np.array([len(b) for b in wkb], dtype=np.int64).tobytes())
        h.update(b"".join(wkb))
    elif isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, bytes):
        h.update(len(value).to_bytes(8, "little") + value)
    elif isinstance(value, shapely.Geometry):
        h.update(shapely.to_wkb(value))
    elif isinstance(value, (tuple, list)) and not all(isinstance(v, (int, float)) for v in value):
        for i, v in enumerate(value):
            hash_value(h, f"{name}[{i}]", v)
    else:
        h.update(repr(value).encode())
    h.update(b">")


class _GeometryPickler(pickle.Pickler):
    """Pickles each shapely geometry as its place in a list, kept to be written at once."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.geoms: list[Any] = []

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, shapely.Geometry):
            self.geoms.append(obj)
            return _geometry_at, (len(self.geoms) - 1,)
        return NotImplemented


_LOADING = threading.local()
_GEOMETRY_PICKLE = "siteplanner geometry pickle 1"


def _geometry_at(i: int) -> Any:
    return _LOADING.geoms[i]


def dump_pickle(obj: Any, file: Any) -> None:
    """Pickle ``obj`` into the open binary ``file``, its shapely geometries all turned into WKB
    at once (a street graph holds one line per edge: pickled one by one, they take most of the
    time); read it back with :func:`load_pickle`."""
    body = io.BytesIO()
    pickler = _GeometryPickler(body)
    pickler.dump(obj)
    geoms = np.asarray(pickler.geoms, dtype=object).reshape(-1)
    wkb = shapely.to_wkb(geoms).tolist() if len(geoms) else []
    pickle.dump((_GEOMETRY_PICKLE, wkb), file, protocol=pickle.HIGHEST_PROTOCOL)
    file.write(body.getbuffer())


def load_pickle(file: Any) -> Any:
    """The object :func:`dump_pickle` wrote into the open binary ``file`` (``ValueError`` when
    it is not such a file)."""
    head = pickle.load(file)
    if not (isinstance(head, tuple) and len(head) == 2 and head[0] == _GEOMETRY_PICKLE):
        raise ValueError("not a siteplanner geometry pickle")
    geoms = shapely.from_wkb(np.asarray(head[1], dtype=object)) if head[1] else []
    before = getattr(_LOADING, "geoms", None)
    _LOADING.geoms = geoms
    try:
        return pickle.load(file)
    finally:
        _LOADING.geoms = before


def write_text(dest: str | Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(dest: str | Path, obj: Any) -> None:
    """Write JSON (sorted keys, 2-space indent) atomically."""
    write_text(
        dest,
        json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n",
    )


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_geojson(dest: str | Path, gdf: gpd.GeoDataFrame, *, precision: int = 7) -> None:
    """Write RFC 7946 GeoJSON (WGS84, lon/lat order) atomically and deterministically.

    Polygon rings follow RFC 7946 §3.1.6: exteriors counter-clockwise, holes clockwise.
    """
    if gdf.crs is None:
        raise ValueError("cannot export a GeoDataFrame without CRS")
    g = gdf.to_crs("EPSG:4326")
    rounded = shapely.set_precision(g.geometry.values, 10**-precision)
    g = g.set_geometry(shapely.orient_polygons(rounded, exterior_cw=False))
    text = g.to_json(na="null", show_bbox=False, drop_id=True, to_wgs84=True, separators=(",", ":"))
    obj = json.loads(text)
    write_json(dest, obj)


def write_geotiff(
    dest: str | Path, values: np.ndarray, transform: Any, crs: str, tags: dict[str, str]
) -> None:
    """Write one float32 band as a deflated GeoTIFF with its CRS and ``tags``, atomically."""
    import rasterio

    def write(path: Path) -> None:
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            height=values.shape[0],
            width=values.shape[1],
            count=1,
            dtype="float32",
            crs=crs,
            transform=transform,
            compress="deflate",
            nodata=None,
        ) as dst:
            dst.write(values.astype("float32"), 1)
            dst.update_tags(**tags)

    write_with(dest, write)


def write_with(dest: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` then move the file into place atomically."""
    with atomic_path(dest) as tmp:
        writer(tmp)
