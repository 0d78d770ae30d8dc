"""Benchmark: the optimiser on Beasley's OR-Library instances, against their published optima.

Two families, in ``$SITEPLANNER_SHARED/data/benchmarks`` (each folder's README gives the source):

- ``orlib_scp``: set covering scp41-410, scp51-510, scp61-65, scpa-e (50 instances, all with
  proven optima in ``optima.csv``), solved by :func:`siteplanner.optimise.setcover.set_cover`
  (costs = the instance's column costs) with ``method="exact"`` and ``"fast"``.
- ``orlib_pmed``: uncapacitated p-median pmed1-40 (``optima.csv``), solved by
  :func:`siteplanner.optimise.pmedian.solve` (Lagrangian bound by subgradient, fast
  interchange, reduction tests, branch and bound on the sites) within
  ``--pmed-time-limit`` seconds (60) per instance, reading included; beside it the fast mode of
  :func:`siteplanner.optimise.setcover.p_median` (greedy add then 1-swaps). Distances: shortest
  paths on the graph, the LAST cost given for a repeated edge (the OR-Library rule, see the
  README).

Set covering, per instance: the exact and fast values and times against the published optimum;
ratio = value / optimum (≥ 1 for these minimisation problems), then
``RESULT family=scp instances= matched_optimum= worst_ratio= median_exact_s=``:
``matched_optimum`` counts exact results equal to the published optimum; ``worst_ratio`` is
the exact mode's worst ratio. An instance the exact mode does not finish within
``--time-limit`` is listed with its proven gap.

p-median, per instance: ``RESULT family=pmed instance= cost= optimum= lower_bound=
proven_gap= matched_optimum= proven_optimal= seconds=``, with proven gap = (cost - lower bound)
/ cost, the bound proven by the run itself (never the published optimum), and
``matched_optimum`` = the cost equals the published optimum; then
``RESULT family=pmed instances= matched_optimum= proven_optimal= proven_gap_mean=
proven_gap_max= within_60s=`` (``within_60s``: instances whose read and solve took at most the
limit). The tables go to ``benchmarks/results/orlib.md``.

Run: ``python benchmarks/orlib.py`` (all 90 instances: 13 min on a quiet machine, at most 50),
``--family pmed`` or ``--family scp`` for one family, ``--quick`` for a subset.
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

from siteplanner.optimise import pmedian, setcover

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
    # HiGHS may overrun its limit by a fraction of a second: keep one second for that
    sol = pmedian.solve(D, p, max(time_limit - (time.perf_counter() - t0) - 1.0, 1.0))
    seconds = time.perf_counter() - t0
    fast, fast_s = _timed(lambda: setcover.p_median(D, p, method="fast"))
    return {
        "family": "pmed",
        "instance": name,
        "size": f"n={D.shape[0]} p={p}",
        "optimum": optimum,
        "cost": sol.cost,
        "lower_bound": sol.lower_bound,
        "gap": sol.gap,
        "proven_optimal": sol.proven_optimal,
        "matched": sol.cost == optimum,
        "how": sol.how,
        "seconds": seconds,
        "within": seconds <= time_limit,
        "fast": fast.cost,
        "fast_s": fast_s,
    }


def _pmed_line(r: dict) -> str:
    return (
        f"RESULT family=pmed instance={r['instance']} cost={r['cost']:.0f} "
        f"optimum={r['optimum']:.0f} lower_bound={r['lower_bound']:.0f} "
        f"proven_gap={r['gap']:.2e} matched_optimum={str(r['matched']).lower()} "
        f"proven_optimal={str(r['proven_optimal']).lower()} seconds={r['seconds']:.1f}"
    )


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
        "--time-limit", type=float, default=10.0, help="set covering exact mode, per instance, s"
    )
    parser.add_argument(
        "--pmed-time-limit", type=float, default=60.0, help="p-median, per instance, seconds"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scp, pmed = [], []
    if args.family in ("scp", "both"):
        opt = _optima("orlib_scp")
        names = [n for n in opt if not n.startswith("scpnr")]
        names = [n for n in names if n in QUICK_SCP] if args.quick else names
        head = (
            f"{'instance':<9}{'size':>14}{'optimum':>9}{'exact':>9}{'ratio':>9}{'exact s':>9}  "
            f"{'status':<9}{'gap':>9}{'fast':>9}{'ratio':>9}{'fast s':>8}"
        )
        print(head)
        for name in sorted(names, key=_natural):
            r = run_scp(name, opt[name], args.time_limit)
            scp.append(r)
            print(
                f"{name:<9}{r['size']:>14}{r['optimum']:>9.0f}{r['exact']:>9.0f}"
                f"{r['exact'] / r['optimum']:>9.4f}{r['exact_s']:>9.2f}  {r['exact_status']:<9}"
                f"{r['exact_gap']:>9.2e}{r['fast']:>9.0f}"
                f"{r['fast'] / r['optimum']:>9.4f}{r['fast_s']:>8.2f}",
                flush=True,
            )
    if args.family in ("pmed", "both"):
        opt = _optima("orlib_pmed")
        names = [n for n in opt if n in QUICK_PMED] if args.quick else list(opt)
        for name in sorted(names, key=_natural):
            r = run_pmed(name, opt[name], args.pmed_time_limit)
            pmed.append(r)
            print(_pmed_line(r), flush=True)
    report(scp, pmed, args)


def _natural(name: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _scp_report(rows: list[dict], args: argparse.Namespace) -> tuple[list[str], list[str], str]:
    finished = [r for r in rows if r["exact_status"] == "optimal"]
    matched = [r for r in rows if abs(r["exact"] - r["optimum"]) < 1e-6]
    wrong = [r for r in finished if abs(r["exact"] - r["optimum"]) >= 1e-6]
    worst = max((r["exact"] / r["optimum"] for r in rows), default=float("nan"))
    median_s = statistics.median(r["exact_s"] for r in rows) if rows else float("nan")
    unfinished = [r for r in rows if r["exact_status"] != "optimal"]
    lines = [
        (
            "| instance | size | published optimum | exact | exact / opt | exact s | "
            "status | proven gap | fast | fast / opt | fast s |"
        ),
        "|" + "---|" * 11,
    ]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['size']} | {r['optimum']:.0f} | "
            f"{r['exact']:.0f} | {r['exact'] / r['optimum']:.4f} | {r['exact_s']:.2f} | "
            f"{r['exact_status']} | {r['exact_gap']:.2e} | {r['fast']:.0f} | "
            f"{r['fast'] / r['optimum']:.4f} | {r['fast_s']:.2f} |"
        )
    fast_worst = max((r["fast"] / r["optimum"] for r in rows), default=float("nan"))
    result = (
        f"RESULT family=scp instances={len(rows)} matched_optimum={len(matched)} "
        f"worst_ratio={worst:.4f} median_exact_s={median_s:.2f}"
    )
    notes = [
        f"Set covering, exact mode: HiGHS with a {args.time_limit:g} s limit per instance "
        f"(`setcover.set_cover`). {len(finished)} of {len(rows)} proven optimal; "
        f"{len(wrong)} proven-optimal results differ from the published optimum. "
        f"Fast mode (greedy): worst ratio {fast_worst:.4f}."
    ]
    if unfinished:
        notes.append(
            "Not finished within the limit (best cover found, proven gap): "
            + ", ".join(
                f"{r['instance']} {r['exact']:.0f} (gap {r['exact_gap']:.2%})" for r in unfinished
            )
            + "."
        )
    return notes, lines, result


def _pmed_report(rows: list[dict], args: argparse.Namespace) -> tuple[list[str], list[str], str]:
    gaps = [r["gap"] for r in rows]
    result = (
        f"RESULT family=pmed instances={len(rows)} "
        f"matched_optimum={sum(r['matched'] for r in rows)} "
        f"proven_optimal={sum(r['proven_optimal'] for r in rows)} "
        f"proven_gap_mean={statistics.fmean(gaps) if gaps else float('nan'):.2e} "
        f"proven_gap_max={max(gaps, default=float('nan')):.2e} "
        f"within_{args.pmed_time_limit:g}s={sum(r['within'] for r in rows)}"
    )
    lines = [
        (
            "| instance | size | published optimum | cost | cost / opt | proven lower bound | "
            "proven gap | proven optimal | proof | s | fast | fast / opt |"
        ),
        "|" + "---|" * 12,
    ]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['size']} | {r['optimum']:.0f} | {r['cost']:.0f} | "
            f"{r['cost'] / r['optimum']:.4f} | {r['lower_bound']:.0f} | {r['gap']:.2e} | "
            f"{'yes' if r['proven_optimal'] else 'no'} | {r['how']} | {r['seconds']:.1f} | "
            f"{r['fast']:.0f} | {r['fast'] / r['optimum']:.4f} |"
        )
    open_ = [r for r in rows if not r["proven_optimal"]]
    notes = [
        f"p-median: `pmedian.solve` with {args.pmed_time_limit:g} s per instance, reading the "
        "file and all-pairs shortest paths included. The lower bound is proven by the run "
        "(Lagrangian relaxation with reduction tests, then branch and bound on the sites), never "
        "taken from the published optimum; proven gap = (cost - bound) / cost. "
        "Fast: `setcover.p_median(method='fast')`, greedy add then 1-swaps."
    ]
    if open_:
        notes.append(
            "Not proven optimal within the limit (cost, proven bound, gap): "
            + ", ".join(
                f"{r['instance']} {r['cost']:.0f} ≥ {r['lower_bound']:.0f} ({r['gap']:.2%})"
                for r in open_
            )
            + "."
        )
    return notes, lines, result


def report(scp: list[dict], pmed: list[dict], args: argparse.Namespace) -> None:
    body: list[str] = []
    for rows, part, title in (
        (scp, _scp_report, "## Set covering"),
        (pmed, _pmed_report, "## p-median"),
    ):
        if not rows:
            continue
        notes, lines, result = part(rows, args)
        for n in notes:
            print(n)
        print(result)
        per_instance = [_pmed_line(r) for r in rows] if rows is pmed else []
        body += [title, "", *notes, "", *lines, "", "```", *per_instance, result, "```", ""]
    suffix = "" if args.family == "both" else "_" + args.family
    write_results(
        "orlib" + suffix + ("_quick" if args.quick else ""),
        "OR-Library set covering and p-median",
        "\n".join(body),
        command="python benchmarks/orlib.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
