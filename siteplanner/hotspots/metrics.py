"""Measuring hotspot prediction: PAI (Chainey, Tompson & Uhlig 2008) and PEI (Hunt 2016).

The flagged cells are the highest-scoring ones covering a given share of the study area;
cells tied at the threshold are taken in part, area-proportionally.
"""

from __future__ import annotations

import math

import numpy as np

from siteplanner._errors import report_problems

__all__ = ["flag_shares_equal", "pai", "pei"]


# --------------------------------------------------------------------------- metrics
def _flag_share(scores: np.ndarray, area: np.ndarray, target: np.ndarray, share: float) -> float:
    """Share of ``target`` inside the top ``share`` of area ranked by ``scores``.

    Cells tied at the threshold are taken in part (area-proportionally), which is the
    expected result of breaking ties at random: deterministic and fair to coarse scores.
    """
    budget = share * area.sum()
    total = float(target.sum())
    n = len(scores)
    k = math.ceil(share * n) + 1
    if n > 20_000 and k < n and area.min() == area.max():
        # equal cells: only the best k cells and those tied with the k-th can be flagged, so
        # rank those alone (exactly the same result, in O(n) instead of O(n log n))
        thr = np.partition(scores, n - k)[n - k]
        sel = scores >= thr
        if sel.sum() <= 4 * k:
            scores, area, target = scores[sel], area[sel], target[sel]
    order = np.lexsort((np.arange(len(scores)), -scores))
    s, a, t = scores[order], area[order], target[order]
    # group tied scores
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    g_area = np.add.reduceat(a, starts)
    g_target = np.add.reduceat(t, starts)
    cum = np.cumsum(g_area)
    full = cum <= budget * (1 + 1e-12)
    got = g_target[full].sum()
    k = int(full.sum())
    if k < len(g_area):
        left = budget - (cum[k - 1] if k else 0.0)
        got += g_target[k] * max(0.0, left) / g_area[k]
    return float(got / total) if total else float("nan")


def flag_shares_equal(
    scores: np.ndarray, target: np.ndarray, shares: tuple[float, ...]
) -> list[float]:
    """PAI at each share for equal cells.

    :func:`_flag_share` on the few cells that can be flagged.
    """
    n = len(scores)
    k = min(n, math.ceil(max(shares) * n) + 1)
    s, t = scores, target
    if n > 20_000 and k < n:
        thr = np.partition(scores, n - k)[n - k]
        sel = scores >= thr
        if sel.sum() <= 4 * k:
            s, t = scores[sel], target[sel]
    total = float(target.sum())
    order = np.lexsort((np.arange(len(s)), -s))
    s, t = s[order], t[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    g_area = np.diff(np.r_[starts, len(s)]).astype(float)
    g_target = np.add.reduceat(t, starts)
    cum = np.cumsum(g_area)
    out = []
    for share in shares:
        budget = share * n
        full = cum <= budget * (1 + 1e-12)
        got = g_target[full].sum()
        j = int(full.sum())
        if j < len(g_area):
            got += g_target[j] * max(0.0, budget - (cum[j - 1] if j else 0.0)) / g_area[j]
        out.append(float(got / total) / share)
    return out


def _metric_inputs(scores, cell_area, test_counts, share):
    s = np.asarray(scores, dtype=float).ravel()
    t = np.asarray(test_counts, dtype=float).ravel()
    a = np.broadcast_to(np.asarray(cell_area, dtype=float), np.asarray(scores).shape).ravel()
    problems = []
    if s.shape != t.shape:
        problems.append(f"scores has {s.size} cells but test_counts has {t.size}")
    if not np.isfinite(s).all():
        problems.append(
            "scores contain NaN or infinite values: pass only the cells of the study area"
        )
    if (a <= 0).any() or not np.isfinite(a).all():
        problems.append("cell_area must be finite and > 0")
    if not 0 < share <= 1:
        problems.append(f"share={share!r}: a fraction in (0, 1] is required (0.05 for 5 %)")
    if t.sum() <= 0:
        problems.append("test_counts sum to 0: no test incident in the study area")
    report_problems(problems, source="pai")
    return s, a, t


def pai(
    scores: np.ndarray, cell_area: float | np.ndarray, test_counts: np.ndarray, share: float
) -> float:
    """Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008).

    PAI = (share of test incidents in the flagged cells) / (share of the area flagged), the
    flagged cells being the highest-scoring ones covering ``share`` of the study area.

    Parameters
    ----------
    scores
        Score per study cell (any shape; cells outside the study area must not be passed).
    cell_area
        Area of each cell (scalar or same shape as ``scores``).
    test_counts
        Held-out incidents per cell.
    share
        Fraction of the study area flagged (0.05 for 5 %).

    Returns
    -------
    float
        PAI; 1 is a uniform guess.
    """
    s, a, t = _metric_inputs(scores, cell_area, test_counts, share)
    return _flag_share(s, a, t, share) / share


def pei(
    scores: np.ndarray, cell_area: float | np.ndarray, test_counts: np.ndarray, share: float
) -> float:
    """Predictive Efficiency Index (Hunt 2016): PAI / the best PAI possible for that area.

    The best possible flags the cells with the most test incidents per unit area.

    Parameters
    ----------
    scores, cell_area, test_counts, share
        As for :func:`pai`.

    Returns
    -------
    float
        In [0, 1].
    """
    s, a, t = _metric_inputs(scores, cell_area, test_counts, share)
    best = _flag_share(t / a, a, t, share)
    return _flag_share(s, a, t, share) / best if best > 0 else float("nan")
