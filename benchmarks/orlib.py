"""Benchmark: the optimiser on Beasley's OR-Library instances, against their published optima.

Two families, in ``$SITEPLANNER_SHARED/data/benchmarks`` (each folder's README gives the source):

- ``orlib_scp``: set covering scp41-410, scp51-510, scp61-65, scpa-e (50 instances, all with
  proven optima in ``optima.csv``), solved by :func:`siteplanner.optimise.setcover.set_cover`
  (costs = the instance's column costs) with ``method="exact"`` and ``"fast"``.
- ``orlib_pmed``: uncapacitated p-median pmed1-40 (``optima.csv``), solved by
  :func:`siteplanner.optimise.setcover.p_median` (exact: HiGHS on the covering form of the
  p-median, Elloumi 2010, with nested levels; fast: greedy add then 1-swaps). Distances:
  shortest paths on the graph, the LAST cost given for a repeated edge (the OR-Library
  rule, see the README).

Per instance: the exact and fast values and times against the published optimum; ratio =
value / optimum (≥ 1 for these minimisation problems). The last line is
``RESULT instances= matched_optimum= worst_ratio= median_exact_s=`` over the instances run:
``matched_optimum`` counts exact results equal to the published optimum; ``worst_ratio`` is
the exact mode's worst ratio. An instance the exact mode does not finish within
``--time-limit`` is listed with its proven gap. The table goes to
``benchmarks/results/orlib.md``.

Run: ``python benchmarks/orlib.py`` (all 90 instances), ``--quick`` for a subset.
"""

from __future__ import annotations

import argparse
import csv
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from siteplanner.optimise import setcover

try:
    from _results import SHARED_ROOT
    from _results import write as write_results
except ImportError:
    from benchmarks._results import SHARED_ROOT
    from benchmarks._results import write as write_results

DATA = SHARED_ROOT / "data" / "benchmarks"
QUICK_SCP = ["scp41", "scp51", "scp61", "scpa1", "scpb1", "scpc1", "scpd1", "scpe1"]
QUICK_PMED = ["pmed1", "pmed2", "pmed6", "pmed11", "pmed16"]


def read_scp(path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    """OR-Library set covering: ``m n``, n column costs, then per row ``k`` and k columns (1-based).

    Returns the sites (columns) × demand points (rows) matrix and the column costs.
    """
    tok = np.array(path.read_text().split(), dtype=np.int64)
    m, n = int(tok[0]), int(tok[1])
    cost = tok[2 : 2 + n].astype(np.float64)
    pos = 2 + n
    rows, cols = [], []
    for i in range(m):
        k = int(tok[pos])
        rows.append(np.full(k, i))
        cols.append(tok[pos + 1 : pos + 1 + k] - 1)
        pos += 1 + k
    if pos != tok.size:
        raise ValueError(f"{path}: {tok.size - pos} tokens left after {m} rows; expected none")
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size), (c, r)), shape=(n, m)), cost


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    """OR-Library p-median: ``n m p`` then m edges ``i j cost`` (repeated edge: last cost wins)."""
    tok = np.array(path.read_text().split(), dtype=np.int64)
    n, m, p = (int(t) for t in tok[:3])
    edges = tok[3:].reshape(m, 3)
    last: dict[tuple[int, int], int] = {}
    for i, j, c in edges.tolist():
        last[(min(i, j) - 1, max(i, j) - 1)] = c
    ij = np.array(list(last), dtype=np.int64)
    c = np.array(list(last.values()), dtype=np.float64)
    G = sp.csr_matrix(
        (np.r_[c, c], (np.r_[ij[:, 0], ij[:, 1]], np.r_[ij[:, 1], ij[:, 0]])), shape=(n, n)
    )
    return shortest_path(G, method="D", directed=False), p


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_scp(name: str, optimum: float, time_limit: float) -> dict:
    A, cost = read_scp(DATA / "orlib_scp" / f"{name}.txt")
    exact, exact_s = _timed(
        lambda: setcover.set_cover(A, cost_eur=cost, method="exact", time_limit_s=time_limit)
    )
    fast, fast_s = _timed(lambda: setcover.set_cover(A, cost_eur=cost, method="fast"))
    return {
        "family": "scp",
        "instance": name,
        "size": f"{A.shape[1]}×{A.shape[0]}",
        "optimum": optimum,
        "exact": exact.cost,
        "exact_s": exact_s,
        "exact_status": exact.status,
        "exact_gap": exact.gap,
        "exact_bound": exact.lower_bound,
        "fast": fast.cost,
        "fast_s": fast_s,
        "fast_gap": fast.gap,
    }


def run_pmed(name: str, optimum: float, time_limit: float) -> dict:
    t0 = time.perf_counter()
    D, p = read_pmed(DATA / "orlib_pmed" / f"{name}.txt")
    prep_s = time.perf_counter() - t0
    exact, exact_s = _timed(
        lambda: setcover.p_median(D, p, method="exact", time_limit_s=time_limit)
    )
    fast, fast_s = _timed(lambda: setcover.p_median(D, p, method="fast"))
    return {
        "family": "pmed",
        "instance": name,
        "size": f"n={D.shape[0]} p={p}",
        "optimum": optimum,
        "exact": exact.cost,
        "exact_s": exact_s + prep_s,
        "exact_status": exact.status,
        "exact_gap": exact.gap,
        "exact_bound": exact.lower_bound,
        "fast": fast.cost,
        "fast_s": fast_s + prep_s,
        "fast_gap": fast.gap,
    }


def _optima(folder: str) -> dict[str, float]:
    with open(DATA / folder / "optima.csv", newline="") as f:
        return {r["instance"].removesuffix(".txt"): float(r["optimum"]) for r in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"only {', '.join(QUICK_SCP + QUICK_PMED)}"
    )
    parser.add_argument("--family", choices=["scp", "pmed", "both"], default="both")
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="exact mode, per instance, seconds"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    jobs = []
    if args.family in ("scp", "both"):
        opt = _optima("orlib_scp")
        names = [n for n in opt if not n.startswith("scpnr")]
        names = [n for n in names if n in QUICK_SCP] if args.quick else names
        jobs += [("scp", n, opt[n]) for n in sorted(names, key=_natural)]
    if args.family in ("pmed", "both"):
        opt = _optima("orlib_pmed")
        names = [n for n in opt if n in QUICK_PMED] if args.quick else list(opt)
        jobs += [("pmed", n, opt[n]) for n in sorted(names, key=_natural)]
    head = (
        f"{'instance':<9}{'size':>14}{'optimum':>9}{'exact':>9}{'ratio':>9}{'exact s':>9}  "
        f"{'status':<9}"
        f"{'gap':>9}{'fast':>9}{'ratio':>9}{'fast s':>8}"
    )
    print(head)
    rows = []
    for family, name, optimum in jobs:
        r = (
            run_scp(name, optimum, args.time_limit)
            if family == "scp"
            else run_pmed(name, optimum, args.time_limit)
        )
        rows.append(r)
        if "skipped" in r:
            print(f"{name:<9}{r['size']:>14}{optimum:>9.0f}  not run: {r['skipped']}")
        else:
            print(
                f"{name:<9}{r['size']:>14}{optimum:>9.0f}{r['exact']:>9.0f}"
                f"{r['exact'] / optimum:>9.4f}{r['exact_s']:>9.2f}  {r['exact_status']:<9}"
                f"{r['exact_gap']:>9.2e}{r['fast']:>9.0f}"
                f"{r['fast'] / optimum:>9.4f}{r['fast_s']:>8.2f}",
                flush=True,
            )
    report(rows, args)


def _natural(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def report(rows: list[dict], args: argparse.Namespace) -> None:
    done = [r for r in rows if "skipped" not in r]
    finished = [r for r in done if r["exact_status"] == "optimal"]
    matched = [r for r in done if abs(r["exact"] - r["optimum"]) < 1e-6]
    wrong = [r for r in finished if abs(r["exact"] - r["optimum"]) >= 1e-6]
    worst = max((r["exact"] / r["optimum"] for r in done), default=float("nan"))
    median_s = statistics.median(r["exact_s"] for r in done) if done else float("nan")
    unfinished = [r for r in done if r["exact_status"] != "optimal"]
    lines = [
        (
            "| family | instance | size | published optimum | exact | exact / opt | exact s | "
            "status | proven gap | fast | fast / opt | fast s |"
        ),
        "|" + "---|" * 12,
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(
                f"| {r['family']} | {r['instance']} | {r['size']} | {r['optimum']:.0f} | not run: "
                f"{r['skipped']} |  |  |  |  |  |  |  |"
            )
            continue
        lines.append(
            f"| {r['family']} | {r['instance']} | {r['size']} | {r['optimum']:.0f} | "
            f"{r['exact']:.0f} | {r['exact'] / r['optimum']:.4f} | {r['exact_s']:.2f} | "
            f"{r['exact_status']} | {r['exact_gap']:.2e} | {r['fast']:.0f} | "
            f"{r['fast'] / r['optimum']:.4f} | {r['fast_s']:.2f} |"
        )
    fast_worst = max((r["fast"] / r["optimum"] for r in done), default=float("nan"))
    result = (
        f"RESULT instances={len(done)} matched_optimum={len(matched)} worst_ratio={worst:.4f} "
        f"median_exact_s={median_s:.2f}"
    )
    notes = [
        (
            f"Exact mode: HiGHS with a {args.time_limit:g} s limit per instance (set covering: "
            "`setcover.set_cover`; p-median: `setcover.p_median`). "
            f"{len(finished)} of {len(done)} proven optimal; "
            f"{len(wrong)} proven-optimal results differ from the published optimum. "
            f"Fast mode (greedy): worst ratio {fast_worst:.4f}."
        )
    ]
    if unfinished:
        notes.append(
            "Not finished within the limit (best plan found, proven gap): "
            + ", ".join(
                f"{r['instance']} {r['exact']:.0f} (gap {r['exact_gap']:.2%})" for r in unfinished
            )
            + "."
        )
    for n in notes:
        print(n)
    print(result)
    write_results(
        "orlib" + ("_quick" if args.quick else ""),
        "OR-Library set covering and p-median",
        "\n".join([*notes, "", *lines, "", "```", result, "```"]),
        command="python benchmarks/orlib.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
