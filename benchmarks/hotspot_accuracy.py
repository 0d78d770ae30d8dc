"""How well each hotspot method predicts held-out incidents (PAI, PEI at 1, 5, 10 % of the area).

Run: ``python benchmarks/hotspot_accuracy.py``

Data sets (all real except the last):

- Vancouver police 2020 (``/work/shared/data/incidents``), train Jan–Sep, test Oct–Dec (EPSG:32610).
- Chicago aggravated assaults, train 2010–2018, test 2019 (WGS84 → EPSG:32616).
- Paris BAAC road-injury accidents 2019, one point per accident, seeded 50/50 split by ``Num_Acc``
  (EPSG:2154).
- libpysal geodanet crimes (Arizona State Plane feet → EPSG:26949 metres), seeded 50/50 split;
  also scored on its street network (``streets.shp``) with lixels.
- Synthetic Beausoleil ``data/incidents/beausoleil_synthetic_2021-2023.csv``: train 2021–2022,
  test 2023 (WGS84 → EPSG:32632); skipped with a message if the file is absent.

Study area (planar): the 100 m cells whose centre lies inside the convex hull of all the data
set's incidents (training and test), the same cells for every method and baseline. PAI at share
*s* flags the best-scoring cells covering *s* of that area (ties at the threshold taken in part,
the expected value of a random tie-break); PEI = PAI / the PAI of the best possible cells.
Network: lixels of 25 m on the street network, area = street length.

Baselines: uniform (PAI 1), the naive 100 m count grid, planar quartic KDE with Scott's rule
bandwidth and with a fixed 150 m radius. The default method (``siteplanner.hotspots.default_grid``)
sees only the training incidents.
"""

from __future__ import annotations

import gzip
import logging
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siteplanner import hotspots as H  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "incidents"
CELL_M = 100.0
SHARES = (0.01, 0.05, 0.10)
SEED = 0
BASELINES = ("uniform", "count_grid", "kde_rule", "kde_150m")


# --------------------------------------------------------------------------- loaders
def _project(lon, lat, epsg):
    tf = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = tf.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])


def load_vancouver():
    v = pd.read_csv(SHARED / "vancouver_vpd_crimes_2020.csv.gz")
    v = v[(v.X > 0) & (v.Y > 0)].reset_index(drop=True)  # violent offences are unlocated (X=0)
    t = pd.to_datetime(dict(year=v.YEAR, month=v.MONTH, day=v.DAY, hour=v.HOUR, minute=v.MINUTE))
    t = t.dt.tz_localize("America/Vancouver", ambiguous="NaT", nonexistent="shift_forward")
    train = (v.MONTH <= 9).to_numpy()
    return v[["X", "Y"]].to_numpy(float), t, train, "train 2020-01..09, test 2020-10..12"


def load_chicago():
    c = pd.read_csv(SHARED / "chicago_aggravated_assaults_2010-2019.csv.gz").dropna(subset=["longitude", "latitude"]).reset_index(drop=True)
    xy = _project(c.longitude, c.latitude, 32616)
    t = pd.to_datetime(c.date).dt.tz_localize("America/Chicago", ambiguous="NaT", nonexistent="shift_forward")
    return xy, t, (pd.to_datetime(c.date).dt.year <= 2018).to_numpy(), "train 2010-2018, test 2019"


def load_paris():
    with gzip.open(SHARED / "accidents2019_paris_baac.geojson.gz") as f:
        b = gpd.read_file(f)
    acc = b.drop_duplicates("Num_Acc").sort_values("Num_Acc").reset_index(drop=True)  # one point per accident
    rng = np.random.default_rng(SEED)
    ids = acc.Num_Acc.to_numpy()
    train_ids = set(rng.permutation(ids)[: len(ids) // 2].tolist())
    train = np.array([i in train_ids for i in ids])
    return shapely.get_coordinates(acc.geometry.to_numpy()), None, train, "seeded 50/50 split by Num_Acc"


def _geodanet():
    import libpysal

    crimes = gpd.read_file(libpysal.examples.get_path("crimes.shp")).to_crs(26949)
    streets = gpd.read_file(libpysal.examples.get_path("streets.shp")).to_crs(26949)
    return crimes, streets


def load_geodanet():
    crimes, _ = _geodanet()
    rng = np.random.default_rng(SEED)
    train = np.zeros(len(crimes), bool)
    train[rng.permutation(len(crimes))[: len(crimes) // 2]] = True
    return shapely.get_coordinates(crimes.geometry.to_numpy()), None, train, "seeded 50/50 split"


def load_beausoleil():
    path = ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
    if not path.exists():
        return None
    d = pd.read_csv(path).dropna(subset=["lon", "lat", "datetime"]).reset_index(drop=True)
    t = pd.to_datetime(d.datetime, utc=True).dt.tz_convert("Europe/Paris")
    keep = (t.dt.year >= 2021) & (t.dt.year <= 2023)
    d, t = d[keep].reset_index(drop=True), t[keep].reset_index(drop=True)
    return _project(d.lon, d.lat, 32632), t, (t.dt.year <= 2022).to_numpy(), "train 2021-2022, test 2023 (synthetic)"


# --------------------------------------------------------------------------- evaluation
def study_grid(xy_all: np.ndarray, cell_m: float):
    hull = shapely.convex_hull(shapely.multipoints(xy_all))
    x0, y0, x1, y1 = hull.bounds
    bounds = (np.floor(x0 / cell_m) * cell_m, np.floor(y0 / cell_m) * cell_m, np.ceil(x1 / cell_m) * cell_m, np.ceil(y1 / cell_m) * cell_m)
    mask = H.grid_mask(H.count_grid(xy_all[:1], bounds=bounds, cell_m=cell_m), hull)
    return hull, bounds, mask


def score_row(scores, area, test, name):
    row = {"method": name}
    for s in SHARES:
        row[f"PAI@{s:.0%}"] = H.pai(scores, area, test, s)
        row[f"PEI@{s:.0%}"] = H.pei(scores, area, test, s)
    return row


def evaluate_planar(xy, times, train, *, cell_m=CELL_M):
    hull, bounds, mask = study_grid(xy, cell_m)
    tr_xy, te_xy = xy[train], xy[~train]
    tr_t = None if times is None else times[train].reset_index(drop=True)
    test = H.count_grid(te_xy, bounds=bounds, cell_m=cell_m).values[mask] * cell_m * cell_m / 1e6
    area = cell_m * cell_m
    surfaces = {
        "uniform": np.zeros(int(mask.sum())),
        "count_grid": H.predict("count_grid", tr_xy, bounds=bounds, cell_m=cell_m).values[mask],
    }
    kr = H.predict("kde", tr_xy, bounds=bounds, cell_m=cell_m)
    surfaces[f"kde_rule ({kr.bandwidth_m:.0f} m)"] = kr.values[mask]
    surfaces["kde_150m"] = H.predict("kde", tr_xy, bounds=bounds, cell_m=cell_m, bandwidth_m=150.0).values[mask]
    if tr_t is not None:
        surfaces["near_repeat (BJP 2004)"] = H.predict("near_repeat", tr_xy, train_time=tr_t, bounds=bounds, cell_m=cell_m).values[mask]
    d = H.predict("default", tr_xy, train_time=tr_t, bounds=bounds, cell_m=cell_m, area=hull)
    surfaces["default"] = d.values[mask]
    rows = [score_row(s, area, test, name) for name, s in surfaces.items()]
    info = {"cells": int(mask.sum()), "area_km2": mask.sum() * area / 1e6, "n_train": int(train.sum()), "n_test": int(test.sum()), "default": d.params}
    return rows, info


def evaluate_network(lixel_m=25.0):
    crimes, streets = _geodanet()
    _, _, train, _ = load_geodanet()
    xy = shapely.get_coordinates(crimes.geometry.to_numpy())
    lix = H.lixelize(streets, lixel_m=lixel_m)
    tree = shapely.STRtree(np.asarray(lix.geometry))
    snap = tree.nearest(shapely.points(xy[~train]))
    test = np.bincount(snap, minlength=len(lix)).astype(float)
    area = lix["length"].to_numpy()
    centres = shapely.get_coordinates(shapely.line_interpolate_point(np.asarray(lix.geometry), 0.5, normalized=True))
    tr = xy[train]
    hull, bounds, _ = study_grid(np.vstack([xy, centres]), 10.0)
    surfaces = {"uniform": np.zeros(len(lix))}
    nk = H.network_kde(streets, tr, lixel_m=lixel_m, bandwidth_m=100.0)
    surfaces["count per lixel"] = nk["count"].to_numpy() / area
    surfaces["planar kde_150m at lixel"] = H.sample_grid(H.kde_grid(tr, bounds=bounds, cell_m=10.0, bandwidth_m=150.0), centres)
    for bw in (100.0, 200.0, 400.0):
        surfaces[f"network_kde {bw:.0f} m"] = H.network_kde(streets, tr, lixel_m=lixel_m, bandwidth_m=bw)["intensity"].to_numpy()
    surfaces["gi_star z (count, 200 m band)"] = H.gi_star(nk, value_col="count", distance_m=200.0).fillna(0).to_numpy()
    return [score_row(s, area, test, name) for name, s in surfaces.items()], {"lixels": len(lix), "km": area.sum() / 1000, "n_test": int(test.sum())}


def print_table(title, rows):
    print(f"\n## {title}")
    cols = ["method"] + [f"PAI@{s:.0%}" for s in SHARES] + [f"PEI@{s:.0%}" for s in SHARES]
    print(f"{cols[0]:<32}" + "".join(f"{c:>9}" for c in cols[1:]))
    for r in rows:
        print(f"{r['method']:<32}" + "".join(f"{r[c]:>9.2f}" for c in cols[1:]))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", FutureWarning)
    datasets = [("vancouver_2020", load_vancouver), ("chicago_assaults", load_chicago), ("paris_baac_2019", load_paris),
                ("geodanet_crimes", load_geodanet), ("beausoleil_synthetic", load_beausoleil)]
    results = []
    for name, loader in datasets:
        t0 = time.perf_counter()
        loaded = loader()
        if loaded is None:
            print(f"\n## {name}: skipped (data/incidents/beausoleil_synthetic_2021-2023.csv is absent)")
            continue
        xy, times, train, split = loaded
        rows, info = evaluate_planar(xy, times, train)
        print_table(f"{name}: {split}; {info['n_train']} train / {info['n_test']} test incidents; study area "
                    f"{info['cells']} cells of {CELL_M:.0f} m ({info['area_km2']:.1f} km², convex hull of all incidents)", rows)
        p = info["default"]
        print(f"default chose alpha={p['alpha']}, bandwidth={p['bandwidth_m']:.0f} m, half-life="
              f"{'none' if p['half_life_days'] is None else format(p['half_life_days'], '.0f') + ' d'} "
              f"(inner PAI@5% {p['inner_pai5']}); {time.perf_counter() - t0:.1f} s")
        pai5 = {r["method"]: r["PAI@5%"] for r in rows}
        best_base = max(v for k, v in pai5.items() if k.split(" ")[0] in BASELINES)
        results.append((name, pai5["default"], best_base))
    rows, info = evaluate_network()
    print_table(f"geodanet_crimes on its streets: {info['lixels']} lixels of <= 25 m, {info['km']:.1f} km, "
                f"{info['n_test']} test crimes (area = street length)", rows)
    print()
    for name, d, b in results:
        print(f"RESULT pai5_default={d:.2f} pai5_best_baseline={b:.2f} dataset={name}")


if __name__ == "__main__":
    main()
