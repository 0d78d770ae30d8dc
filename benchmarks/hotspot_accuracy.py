"""How well the hotspot forecast predicts held-out incidents, on grids and on streets (#23).

Run: ``python benchmarks/hotspot_accuracy.py [--dataset NAME ...]`` (all data sets by default;
one at a time on a busy machine). It prints one line per data set, level and kind::

    RESULT dataset=… level=5 kind=grid pai_default=… pai_best_baseline=… best_baseline=…

and merges each data set's lines into ``benchmarks/results/hotspot_accuracy.json`` and the table
``benchmarks/results/hotspot_accuracy.md`` (a data set run again replaces its old lines).

Every incident file is read through the scenario reader, as ``siteplanner run`` reads it: the
example scenarios ``scenarios/examples/*.toml`` (their mapping lines only) and
``scenarios/beausoleil.toml``; positions are projected to the UTM zone of the data.

Data sets (all real except the last):

- Vancouver police 2020 (``../shared/data/incidents``), train Jan–Sep, test Oct–Dec.
- Chicago aggravated assaults, train 2010–2018, test 2019.
- DansMaRue Paris reports (dates without hour), train to 2024-05, test 2024-06 to 2024-09.
- Paris BAAC road-injury accidents 2019 (no date), one point per accident (the rows of the
  persons of one accident share its position), seeded 50/50 split.
- libpysal geodanet crimes (Arizona State Plane feet → EPSG:26949 metres), seeded 50/50 split,
  with its street network (``streets.shp``).
- Synthetic Beausoleil ``data/incidents/beausoleil_synthetic_2021-2023.csv`` on the town's OSM
  streets: train 2021–2022, test 2023; skipped with a message if the file is absent.

**kind=grid** (every data set): the 100 m cells whose centre lies inside the convex hull of all
the data set's incidents; PAI at share *s* flags the best-scoring cells covering *s* of that area
(ties taken in part). The default is the pipeline's planar surface
(:func:`siteplanner.steps.demand.hotspot_grid`: the training times, category weights all 1);
baselines: uniform, the naive 100 m count grid, planar quartic KDE with Scott's rule bandwidth
and with a fixed 150 m radius (near repeat is shown, not a baseline).

**kind=street** (the data sets with a street network: geodanet, Beausoleil; the other cities have
no OSM extract here, so their street lines say ``skipped``): the walk network cut into segments of
≤ 50 m (:func:`siteplanner.hotspots.segments.street_segments`); PAI_net at share *s* of the street
length = (share of test incidents within 25 m of the flagged segments) / (share of street length
flagged). The default is the pipeline's choice (:func:`siteplanner.hotspots.segments.
choose_forecast` with :func:`siteplanner.steps.demand.forecast_grids`: grid and segment methods,
picked by an inner temporal split of the training incidents only); the baselines are the grid
methods above projected onto the segments (the mean of the cells along each segment). Uniform
scores the share of test incidents within 25 m of a street (below 1 where incidents are geocoded
to parcels away from the street centre lines, as in geodanet).
"""

from __future__ import annotations

import logging
import os
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
from siteplanner.scenario import load_scenario  # noqa: E402
from siteplanner.steps.demand import hotspot_grid  # noqa: E402
from siteplanner.steps.load import merge_reads  # noqa: E402

#: The shared incident exports (not in a clone): $SITEPLANNER_SHARED, else shared/ beside the
#: repository.
SHARED = Path(os.environ.get("SITEPLANNER_SHARED") or ROOT.parent / "shared") / "data"
from siteplanner.hotspots.grids import count_grid, grid_mask
from siteplanner.hotspots.metrics import pai, pei
from siteplanner.hotspots.segments import (
    NEAR_M,  # noqa: E402
    choose_forecast,  # noqa: E402
    grid_on_segments,  # noqa: E402
    net_test,  # noqa: E402
    pai_net,  # noqa: E402
    street_segments,  # noqa: E402
)
from siteplanner.steps.demand import forecast_grids  # noqa: E402

try:
    from _results import write as write_md  # noqa: E402
except ImportError:
    from benchmarks._results import write as write_md  # noqa: E402

RESULTS_JSON = ROOT / "benchmarks" / "results" / "hotspot_accuracy.json"

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


def _geodanet_streets(xy_all):
    _, streets = _geodanet()
    area = shapely.convex_hull(shapely.multipoints(xy_all)).buffer(NEAR_M)
    return streets, area


def _beausoleil_streets(sc, crs):
    from siteplanner.town import load as town_io

    town = town_io.scenario_town(sc)
    edges = town_io.edges_gdf(town.graph, town.crs)
    area = town.area
    if str(town.crs) != str(crs):
        edges = edges.to_crs(crs)
        area = gpd.GeoSeries([area], crs=town.crs).to_crs(crs).iloc[0]
    return edges, area


def evaluate_street(xy, inc, train, sc, edges, area, *, cell_m=CELL_M):
    """PAI_net of the pipeline's street forecast and of the grid baselines projected."""
    seg = street_segments(edges, area=area)
    inside = seg["inside"].to_numpy()
    study = seg[inside].reset_index(drop=True)
    test = net_test(study, xy[~train])
    tr_inc = inc[train].reset_index(drop=True)
    _, bounds, _ = study_grid(np.vstack([xy, seg[["x", "y"]].to_numpy()]), cell_m)
    sc_cell = sc.model_copy(update={"hotspots": sc.hotspots.model_copy(update={"cell_m": cell_m})})
    ones = np.ones(len(tr_inc))
    grids = forecast_grids(sc_cell, tr_inc, ones, bounds=bounds, area=area, window="train")
    dated = tr_inc["datetime"].notna().any()
    times = tr_inc["datetime"] if dated else None
    f = choose_forecast(seg, xy[train], times, ones, grids=grids, area_m2=area.area)
    every = np.ones(len(tr_inc), bool)
    surfaces = {"uniform": np.zeros(len(study))}
    for name, key in (("count_grid", "count_grid"), ("kde_rule", "kde"), ("kde_150m", "kde_150m")):
        surfaces[name] = grid_on_segments(grids[key](every), seg)[inside]
    for method, params in (
        ("segment_counts", {}),
        ("network_kde", {"bandwidth_m": 100.0}),
    ):
        fixed = choose_forecast(
            seg, xy[train], times, ones, grids={}, area_m2=area.area, method=method, params=params
        )
        surfaces[f"{method} (fixed)"] = fixed.segments["score"].to_numpy()[inside]
    surfaces["default"] = f.segments["score"].to_numpy()[inside]
    rows = []
    for name, sc_ in surfaces.items():
        p = pai_net(sc_, test, SHARES)
        rows.append({"method": name, **{f"PAI@{s:.0%}": v for s, v in zip(SHARES, p)}})
    info = {
        "segments": int(inside.sum()),
        "km": float(study["length"].sum() / 1000),
        "n_test": int((~train).sum()),
        "near_street": float(np.isin(np.arange((~train).sum()), test.incident).mean()),
        "default": f.summary(),
    }
    return rows, info


def print_table(title, rows, *, pei_cols=True):
    print(f"\n## {title}")
    cols = ["method"] + [f"PAI@{s:.0%}" for s in SHARES]
    cols += [f"PEI@{s:.0%}" for s in SHARES] if pei_cols else []
    print(f"{cols[0]:<32}" + "".join(f"{c:>9}" for c in cols[1:]))
    for r in rows:
        print(f"{r['method']:<32}" + "".join(f"{r[c]:>9.2f}" for c in cols[1:]))


def result_lines(name: str, kind: str, rows: list[dict] | None) -> list[dict]:
    """One record per level: the default and the best baseline (PAI at that level)."""
    out = []
    for share in SHARES:
        level = int(round(share * 100))
        if rows is None:
            out.append({"dataset": name, "level": level, "kind": kind, "skipped": True})
            continue
        key = f"PAI@{share:.0%}"
        d = next(r[key] for r in rows if r["method"] == "default")
        base = [r for r in rows if r["method"].split(" ")[0] in BASELINES]
        best = max(base, key=lambda r: r[key])
        out.append(
            {
                "dataset": name,
                "level": level,
                "kind": kind,
                "pai_default": round(d, 2),
                "pai_best_baseline": round(best[key], 2),
                "best_baseline": best["method"].split(" ")[0],
            }
        )
    return out


def line_text(r: dict) -> str:
    head = f"RESULT dataset={r['dataset']} level={r['level']} kind={r['kind']}"
    if r.get("skipped"):
        return (
            head + " pai_default=nan pai_best_baseline=nan best_baseline=none (no street network)"
        )
    return (
        head + f" pai_default={r['pai_default']:.2f} pai_best_baseline={r['pai_best_baseline']:.2f}"
        f" best_baseline={r['best_baseline']}"
    )


DATASETS = {
    "vancouver_2020": (load_vancouver, None),
    "chicago_assaults": (load_chicago, None),
    "dansmarue_paris": (load_dansmarue, None),
    "paris_baac_2019": (load_paris, None),
    "geodanet_crimes": (load_geodanet, "geodanet"),
    "beausoleil_synthetic": (load_beausoleil, "beausoleil"),
}


def run_dataset(name: str) -> dict | None:
    loader, streets = DATASETS[name]
    t0 = time.perf_counter()
    loaded = loader()
    if loaded is None:
        print(f"\n## {name}: skipped (data/incidents/beausoleil_synthetic_2021-2023.csv is absent)")
        return None
    xy, inc, train, sc, split = loaded
    rows, info = evaluate_planar(xy, inc, train, sc)
    print_table(
        f"{name} (grid): {split}; {info['n_train']} train / {info['n_test']} test incidents; "
        f"{info['cells']} cells of {CELL_M:.0f} m ({info['area_km2']:.1f} km², convex hull)",
        rows,
    )
    p = info["default"]
    hl = p["half_life_days"]
    print(
        f"grid default chose alpha={p['alpha']}, bandwidth={p['bandwidth_m']:.0f} m, half-life="
        f"{'none' if hl is None else format(hl, '.0f') + ' d'} (inner PAI@5% {p['inner_pai5']})"
    )
    srows = sinfo = None
    if streets is not None:
        edges, area = (
            _geodanet_streets(xy) if streets == "geodanet" else _beausoleil_streets(sc, inc.crs)
        )
        srows, sinfo = evaluate_street(xy, inc, train, sc, edges, area)
        print_table(
            f"{name} (street): {sinfo['segments']} segments of <= 50 m, {sinfo['km']:.1f} km; "
            f"{sinfo['n_test']} test incidents, {sinfo['near_street']:.0%} within 25 m of a street",
            srows,
            pei_cols=False,
        )
        d = sinfo["default"]
        print(
            f"street default chose {d['method']} {d['params']} (inner PAI_net "
            f"{d['inner'].get('inner_pai_net')}, fitted on {d['inner'].get('fitted_on')}, "
            f"held out {d['inner'].get('held_out')}); warnings: {d['warnings'] or 'none'}"
        )
    lines = result_lines(name, "grid", rows) + result_lines(name, "street", srows)
    secs = time.perf_counter() - t0
    print(f"{name}: {secs:.1f} s")
    return {
        "dataset": name,
        "split": split,
        "seconds": round(secs, 1),
        "grid": {"rows": rows, "default": _jsonable(info["default"])},
        "street": None if srows is None else {"rows": srows, "info": _jsonable(sinfo)},
        "lines": lines,
    }


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 4)
    if isinstance(v, np.integer):
        return int(v)
    return v


def write_results(done: list[dict]) -> None:
    """Merge this run's data sets into the results JSON and rewrite the Markdown table."""
    import json

    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    for d in done:
        old[d["dataset"]] = d
    merged = {k: old[k] for k in DATASETS if k in old}
    RESULTS_JSON.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")
    table = [
        "| data set | kind | level | default | best baseline | margin |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for d in merged.values():
        for r in d["lines"]:
            if r.get("skipped"):
                table.append(
                    f"| {r['dataset']} | {r['kind']} | {r['level']} % | — | — | no street network |"
                )
                continue
            margin = r["pai_default"] - r["pai_best_baseline"]
            table.append(
                f"| {r['dataset']} | {r['kind']} | {r['level']} % | {r['pai_default']:.2f} | "
                f"{r['pai_best_baseline']:.2f} ({r['best_baseline']}) | {margin:+.2f} |"
            )
    lines = "\n".join(line_text(r) for d in merged.values() for r in d["lines"])
    body = "\n".join(table) + "\n\n```text\n" + lines + "\n```\n"
    write_md(
        "hotspot_accuracy",
        "Hotspot accuracy: PAI on grids and PAI_net on streets",
        body,
        command="python benchmarks/hotspot_accuracy.py --dataset NAME (one data set at a time)",
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", action="append", choices=list(DATASETS), help="repeatable")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", FutureWarning)
    done = [r for name in (args.dataset or list(DATASETS)) if (r := run_dataset(name))]
    print()
    for d in done:
        for r in d["lines"]:
            print(line_text(r))
            if not r.get("skipped") and r["pai_default"] < r["pai_best_baseline"]:
                print(
                    f"WARNING {r['dataset']} {r['kind']} level {r['level']}: the default "
                    f"({r['pai_default']:.2f}) is below {r['best_baseline']} "
                    f"({r['pai_best_baseline']:.2f})"
                )
    write_results(done)


if __name__ == "__main__":
    main()
