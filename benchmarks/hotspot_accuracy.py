"""How well each hotspot method predicts held-out incidents (PAI, PEI at 1, 5, 10 % of the area).

Run: ``python benchmarks/hotspot_accuracy.py``

Every incident file is read through the scenario reader, as ``siteplanner run`` reads it:
the example scenarios ``scenarios/examples/*.toml`` (their mapping lines only) and
``scenarios/beausoleil.toml``; positions are projected to the UTM zone of the data. The default
method is the pipeline's own call (:func:`siteplanner.steps.demand.hotspot_grid`: the training
incidents' times, so it trains on the earlier part and validates on the later one, and category
weights, here all 1 because PAI counts incidents), on 100 m cells like the baselines.

Data sets (all real except the last):

- Vancouver police 2020 (``../shared/data/incidents``), train Jan–Sep, test Oct–Dec.
- Chicago aggravated assaults, train 2010–2018, test 2019.
- DansMaRue Paris reports (dates without hour), train to 2024-05, test 2024-06 to 2024-09.
- Paris BAAC road-injury accidents 2019 (no date), one point per accident (the rows of the
  persons of one accident share its position), seeded 50/50 split.
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

import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siteplanner.hotspots import forecast as H  # noqa: E402
from siteplanner.modes import incidents as incident_maps
from siteplanner.steps.demand import hotspot_grid  # noqa: E402
from siteplanner.steps.load import merge_reads  # noqa: E402
from siteplanner.scenario import load_scenario  # noqa: E402

SHARED = next(
    (
        p
        for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data"))
        if (p / "incidents").is_dir()
    ),
    ROOT.parent / "shared" / "data",
)
from siteplanner.hotspots.grids import count_grid
from siteplanner.hotspots.grids import grid_mask
from siteplanner.hotspots.grids import kde_grid
from siteplanner.hotspots.grids import sample_grid
from siteplanner.hotspots.metrics import pai
from siteplanner.hotspots.metrics import pei
from siteplanner.hotspots.streets import gi_star
from siteplanner.hotspots.streets import lixelize
from siteplanner.hotspots.streets import network_kde

CELL_M = 100.0
SHARES = (0.01, 0.05, 0.10)
SEED = 0
BASELINES = ("uniform", "count_grid", "kde_rule", "kde_150m")


# --------------------------------------------------------------------------- loaders
def scenario(path: Path):
    """A scenario as shipped; its shared-data paths pointed at where the shared folder is here."""
    text = path.read_text(encoding="utf-8")
    if '"../../../shared/data/' not in text:
        return load_scenario(path)
    tmp = Path(tempfile.mkdtemp()) / path.name
    tmp.write_text(
        text.replace('"../../../shared/data/', f'"{SHARED.as_posix()}/'), encoding="utf-8"
    )
    return load_scenario(tmp)


def read_through_scenario(path: Path):
    """Positions (m), times and the frame of a scenario's incidents.

    Read as `siteplanner run` reads them.
    """
    sc = scenario(path)
    _, crs, reads = incident_maps.read_without_area(sc)
    inc, _ = merge_reads(sc, reads, crs)
    inc = inc.sort_values("line", kind="stable").reset_index(drop=True)
    return sc, inc


def _loaded(sc, inc, train):
    xy = np.column_stack([inc.geometry.x, inc.geometry.y])
    return xy, inc, np.asarray(train, bool), sc


def load_vancouver():
    sc, inc = read_through_scenario(ROOT / "scenarios" / "examples" / "vancouver_2020.toml")
    return _loaded(sc, inc, inc["datetime"].dt.month <= 9) + (
        "train 2020-01..09, test 2020-10..12",
    )


def load_chicago():
    sc, inc = read_through_scenario(ROOT / "scenarios" / "examples" / "chicago_assaults.toml")
    return _loaded(sc, inc, inc["datetime"].dt.year <= 2018) + ("train 2010-2018, test 2019",)


def load_dansmarue():
    sc, inc = read_through_scenario(ROOT / "scenarios" / "examples" / "dansmarue_paris.toml")
    cut = pd.Timestamp("2024-06-01", tz="Europe/Paris")
    return _loaded(sc, inc, inc["datetime"] < cut) + (
        "train 2023-08..2024-05, test 2024-06..09 (dates only)",
    )


def load_paris():
    sc, inc = read_through_scenario(ROOT / "scenarios" / "examples" / "paris_baac_2019.toml")
    acc = inc.assign(_x=inc.geometry.x.round(3), _y=inc.geometry.y.round(3)).drop_duplicates(
        ["_x", "_y"]
    )
    acc = acc.drop(columns=["_x", "_y"]).reset_index(drop=True)  # one point per accident
    rng = np.random.default_rng(SEED)
    train = np.zeros(len(acc), bool)
    train[rng.permutation(len(acc))[: len(acc) // 2]] = True
    return _loaded(sc, acc, train) + ("one point per accident, seeded 50/50 split (no date)",)


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
    xy = shapely.get_coordinates(crimes.geometry.to_numpy())
    inc = gpd.GeoDataFrame(
        {"datetime": pd.Series(pd.NaT, index=crimes.index, dtype="datetime64[ns, UTC]")},
        geometry=crimes.geometry.to_numpy(),
        crs=crimes.crs,
    )
    sc = load_scenario_text('name = "geodanet"\n')
    return xy, inc, train, sc, "seeded 50/50 split (libpysal file, not a scenario file)"


def load_scenario_text(text: str):
    p = Path(tempfile.mkdtemp()) / "s.toml"
    p.write_text(text, encoding="utf-8")
    return load_scenario(p)


def load_beausoleil():
    path = ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
    if not path.exists():
        return None
    sc, inc = read_through_scenario(ROOT / "scenarios" / "beausoleil.toml")
    y = inc["datetime"].dt.year
    inc = inc[(y >= 2021) & (y <= 2023)].reset_index(drop=True)
    return _loaded(sc, inc, inc["datetime"].dt.year <= 2022) + (
        "train 2021-2022, test 2023 (synthetic)",
    )


# --------------------------------------------------------------------------- evaluation
def study_grid(xy_all: np.ndarray, cell_m: float):
    hull = shapely.convex_hull(shapely.multipoints(xy_all))
    x0, y0, x1, y1 = hull.bounds
    bounds = (
        np.floor(x0 / cell_m) * cell_m,
        np.floor(y0 / cell_m) * cell_m,
        np.ceil(x1 / cell_m) * cell_m,
        np.ceil(y1 / cell_m) * cell_m,
    )
    mask = grid_mask(count_grid(xy_all[:1], bounds=bounds, cell_m=cell_m), hull)
    return hull, bounds, mask


def score_row(scores, area, test, name):
    row = {"method": name}
    for s in SHARES:
        row[f"PAI@{s:.0%}"] = pai(scores, area, test, s)
        row[f"PEI@{s:.0%}"] = pei(scores, area, test, s)
    return row


def evaluate_planar(xy, inc, train, sc, *, cell_m=CELL_M):
    hull, bounds, mask = study_grid(xy, cell_m)
    tr_xy, te_xy = xy[train], xy[~train]
    tr_inc = inc[train].reset_index(drop=True)
    dated = tr_inc["datetime"].notna().any()
    tr_t = tr_inc["datetime"] if dated else None
    test = count_grid(te_xy, bounds=bounds, cell_m=cell_m).values[mask] * cell_m * cell_m / 1e6
    area = cell_m * cell_m
    surfaces = {
        "uniform": np.zeros(int(mask.sum())),
        "count_grid": H.predict("count_grid", tr_xy, bounds=bounds, cell_m=cell_m).values[mask],
    }
    kr = H.predict("kde", tr_xy, bounds=bounds, cell_m=cell_m)
    surfaces[f"kde_rule ({kr.bandwidth_m:.0f} m)"] = kr.values[mask]
    surfaces["kde_150m"] = H.predict(
        "kde", tr_xy, bounds=bounds, cell_m=cell_m, bandwidth_m=150.0
    ).values[mask]
    if tr_t is not None:
        surfaces["near_repeat (BJP 2004)"] = H.predict(
            "near_repeat", tr_xy, train_time=tr_t, bounds=bounds, cell_m=cell_m
        ).values[mask]
    # the pipeline's own call: the scenario's method with the training times
    # (and weights, all 1 here)
    sc_cell = sc.model_copy(update={"hotspots": sc.hotspots.model_copy(update={"cell_m": cell_m})})
    d = hotspot_grid(
        sc_cell, tr_inc, np.ones(len(tr_inc)), bounds=bounds, area=hull, window="train"
    )
    surfaces["default"] = d.values[mask]
    rows = [score_row(s, area, test, name) for name, s in surfaces.items()]
    info = {
        "cells": int(mask.sum()),
        "area_km2": mask.sum() * area / 1e6,
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "default": d.params,
    }
    return rows, info


def evaluate_network(lixel_m=25.0):
    crimes, streets = _geodanet()
    _, _, train, _, _ = load_geodanet()
    xy = shapely.get_coordinates(crimes.geometry.to_numpy())
    lix = lixelize(streets, lixel_m=lixel_m)
    tree = shapely.STRtree(np.asarray(lix.geometry))
    snap = tree.nearest(shapely.points(xy[~train]))
    test = np.bincount(snap, minlength=len(lix)).astype(float)
    area = lix["length"].to_numpy()
    centres = shapely.get_coordinates(
        shapely.line_interpolate_point(np.asarray(lix.geometry), 0.5, normalized=True)
    )
    tr = xy[train]
    hull, bounds, _ = study_grid(np.vstack([xy, centres]), 10.0)
    surfaces = {"uniform": np.zeros(len(lix))}
    nk = network_kde(streets, tr, lixel_m=lixel_m, bandwidth_m=100.0)
    surfaces["count per lixel"] = nk["count"].to_numpy() / area
    surfaces["planar kde_150m at lixel"] = sample_grid(
        kde_grid(tr, bounds=bounds, cell_m=10.0, bandwidth_m=150.0), centres
    )
    for bw in (100.0, 200.0, 400.0):
        surfaces[f"network_kde {bw:.0f} m"] = network_kde(
            streets, tr, lixel_m=lixel_m, bandwidth_m=bw
        )["intensity"].to_numpy()
    surfaces["gi_star z (count, 200 m band)"] = (
        gi_star(nk, value_col="count", distance_m=200.0).fillna(0).to_numpy()
    )
    return [score_row(s, area, test, name) for name, s in surfaces.items()], {
        "lixels": len(lix),
        "km": area.sum() / 1000,
        "n_test": int(test.sum()),
    }


def print_table(title, rows):
    print(f"\n## {title}")
    cols = ["method"] + [f"PAI@{s:.0%}" for s in SHARES] + [f"PEI@{s:.0%}" for s in SHARES]
    print(f"{cols[0]:<32}" + "".join(f"{c:>9}" for c in cols[1:]))
    for r in rows:
        print(f"{r['method']:<32}" + "".join(f"{r[c]:>9.2f}" for c in cols[1:]))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", FutureWarning)
    datasets = [
        ("vancouver_2020", load_vancouver),
        ("chicago_assaults", load_chicago),
        ("dansmarue_paris", load_dansmarue),
        ("paris_baac_2019", load_paris),
        ("geodanet_crimes", load_geodanet),
        ("beausoleil_synthetic", load_beausoleil),
    ]
    results = []
    for name, loader in datasets:
        t0 = time.perf_counter()
        loaded = loader()
        if loaded is None:
            print(
                f"\n## {name}: skipped "
                "(data/incidents/beausoleil_synthetic_2021-2023.csv is absent)"
            )
            continue
        xy, inc, train, sc, split = loaded
        rows, info = evaluate_planar(xy, inc, train, sc)
        print_table(
            f"{name}: {split}; {info['n_train']} train / {info['n_test']} test incidents; "
            f"study area {info['cells']} cells of {CELL_M:.0f} m "
            f"({info['area_km2']:.1f} km², convex hull of all incidents)",
            rows,
        )
        p = info["default"]
        hl = p["half_life_days"]
        print(
            f"default chose alpha={p['alpha']}, bandwidth={p['bandwidth_m']:.0f} m, half-life="
            f"{'none' if hl is None else format(hl, '.0f') + ' d'} "
            f"(inner PAI@5% {p['inner_pai5']}); {time.perf_counter() - t0:.1f} s"
        )
        pai5 = {r["method"]: r["PAI@5%"] for r in rows}
        best_base = max(v for k, v in pai5.items() if k.split(" ")[0] in BASELINES)
        results.append(
            (name, pai5["default"], best_base, pai5["count_grid"], inc["datetime"].notna().any())
        )
    rows, info = evaluate_network()
    print_table(
        f"geodanet_crimes on its streets: {info['lixels']} lixels of <= 25 m, {info['km']:.1f} km, "
        f"{info['n_test']} test crimes (area = street length)",
        rows,
    )
    print()
    for name, d, b, naive, timed in results:
        print(
            f"RESULT pai5_default={d:.2f} pai5_best_baseline={b:.2f} dataset={name}"
            + ("" if timed else " (no timestamps)")
        )
        if d < naive - 1e-9:
            print(
                f"WARNING {name}: the default ({d:.2f}) is below the naive count grid ({naive:.2f})"
            )


if __name__ == "__main__":
    main()
