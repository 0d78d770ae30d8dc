"""Compiled inner loops of the orienteering search (:mod:`siteplanner.patrol.search`).

numba ``@njit(cache=True)`` kernels on plain arrays; the first call compiles them (a few
seconds) and writes the machine code beside this file, so later processes load it.

A route is an ``int64`` array ``r`` with the depot ``0`` at ``r[0]`` and ``r[m + 1]`` and the
``m`` visited tasks in between. ``T`` is the travel matrix (row/column 0 the depot), ``s`` the
service time and ``p`` the prize of each matrix index (``s[0] = p[0] = 0``), ``tw`` the twin of
each index (the other orientation of an oriented task, itself for a plain stop) and ``grp`` its
group (``min(i, tw[i])``): at most one task of a group is visited, ``used[grp]`` says which
groups are. Every move is evaluated exactly, also on asymmetric matrices: reversing a stretch
of the route walks each oriented task the other way (its twin) and sums the reversed arcs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GAIN = 1e-9  # least length gain (minutes) a move must bring
_NOISE = 0.5  # repair: ratio times 1 + _NOISE * U(0, 1)


@njit(cache=True)
def seed_rng(seed: int) -> None:
    """Seed the kernels' random generator (numba's own, one per process)."""
    np.random.seed(seed)


@njit(cache=True)
def route_length(r, m, T, s):
    """Travel plus service time of the route ``r[0..m + 1]``."""
    t = 0.0
    for k in range(m + 1):
        t += T[r[k], r[k + 1]] + s[r[k + 1]]
    return t


@njit(cache=True)
def route_prize(r, m, p):
    """Sum of the visited tasks' prizes."""
    t = 0.0
    for k in range(1, m + 1):
        t += p[r[k]]
    return t


@njit(cache=True)
def two_opt(r, m, T, s, tw):
    """Reverse stretches of the route (oriented tasks flipped) while that shortens it."""
    any_gain = False
    improved = True
    while improved:
        improved = False
        for i in range(1, m + 1):
            a = r[i - 1]
            ri = r[i]
            fwd = 0.0
            rev = 0.0
            sd = 0.0
            for j in range(i, m + 1):
                rj = r[j]
                if j > i:
                    fwd += T[r[j - 1], rj]
                    rev += T[tw[rj], tw[r[j - 1]]]
                sd += s[tw[rj]] - s[rj]
                b = r[j + 1]
                d = T[a, tw[rj]] + rev + T[tw[ri], b] + sd - T[a, ri] - fwd - T[rj, b]
                if d < -_GAIN:
                    lo, hi = i, j
                    while lo < hi:
                        x = r[lo]
                        r[lo] = tw[r[hi]]
                        r[hi] = tw[x]
                        lo += 1
                        hi -= 1
                    if lo == hi:
                        r[lo] = tw[r[lo]]
                    improved = True
                    any_gain = True
                    break
    return any_gain


@njit(cache=True)
def _move_segment(r, i, length, k, buf):
    """Move ``r[i..i + length - 1]`` to just after position ``k`` (outside the segment)."""
    for q in range(length):
        buf[q] = r[i + q]
    if k < i:
        for q in range(i - 1, k, -1):
            r[q + length] = r[q]
        for q in range(length):
            r[k + 1 + q] = buf[q]
    else:
        for q in range(i + length, k + 1):
            r[q - length] = r[q]
        for q in range(length):
            r[k - length + 1 + q] = buf[q]


@njit(cache=True)
def or_opt(r, m, T, buf):
    """Move stretches of 1-3 visits to their best place while that shortens the route."""
    any_gain = False
    improved = True
    while improved:
        improved = False
        for length in range(1, 4):
            if length >= m:
                break
            i = 1
            while i + length - 1 <= m:
                f = r[i]
                last = r[i + length - 1]
                prev = r[i - 1]
                nxt = r[i + length]
                save = T[prev, f] + T[last, nxt] - T[prev, nxt]
                best = -_GAIN
                best_k = -1
                for k in range(m + 1):
                    if i - 1 <= k <= i + length - 1:
                        continue
                    u = r[k]
                    v = r[k + 1]
                    d = T[u, f] + T[last, v] - T[u, v] - save
                    if d < best:
                        best = d
                        best_k = k
                if best_k >= 0:
                    _move_segment(r, i, length, best_k, buf)
                    improved = True
                    any_gain = True
                i += 1
    return any_gain


@njit(cache=True)
def _best_edge(r, m, T, s, x):
    """Cheapest place for task ``x``: (added time, position after which it goes)."""
    best = np.inf
    best_k = 0
    for k in range(m + 1):
        u = r[k]
        v = r[k + 1]
        d = T[u, x] + s[x] + T[x, v] - T[u, v]
        if d < best:
            best = d
            best_k = k
    return best, best_k


@njit(cache=True)
def insert_greedy(r, m, T, s, p, grp, used, blocked, cand, budget, power, noise):
    """Insert free tasks by ``prize ** power / added time`` (times ``1 + noise * U``) until
    nothing more fits; returns the new ``m``. ``blocked`` groups are left out this time."""
    nc = cand.shape[0]
    best_d = np.full(nc, np.inf)
    best_u = np.zeros(nc, dtype=np.int64)  # the task after which the candidate goes (0: depot)
    pos = np.zeros(T.shape[0], dtype=np.int64)
    for k in range(1, m + 1):
        pos[r[k]] = k
    for c in range(nc):
        x = cand[c]
        if used[grp[x]] or blocked[grp[x]]:
            continue
        d, k = _best_edge(r, m, T, s, x)
        best_d[c] = d
        best_u[c] = r[k]
    length = route_length(r, m, T, s)
    while True:
        pick = -1
        pick_score = -np.inf
        for c in range(nc):
            d = best_d[c]
            if d == np.inf or length + d > budget:
                continue
            score = p[cand[c]] ** power / max(d, 1e-12)
            if noise > 0.0:
                score *= 1.0 + noise * np.random.random()
            if score > pick_score:
                pick_score = score
                pick = c
        if pick < 0:
            return m
        x = cand[pick]
        u = best_u[pick]
        k = pos[u] if u != 0 else 0
        for q in range(m + 1, k, -1):
            r[q + 1] = r[q]
        r[k + 1] = x
        m += 1
        for q in range(k + 1, m + 1):
            pos[r[q]] = q
        v = r[k + 2]
        used[grp[x]] = True
        length = route_length(r, m, T, s)
        for c in range(nc):
            if best_d[c] == np.inf:
                continue
            y = cand[c]
            if used[grp[y]]:
                best_d[c] = np.inf
                continue
            if best_u[c] == u:
                d, kk = _best_edge(r, m, T, s, y)
                best_d[c] = d
                best_u[c] = r[kk]
                continue
            d1 = T[u, y] + s[y] + T[y, x] - T[u, x]
            if d1 < best_d[c]:
                best_d[c] = d1
                best_u[c] = u
            d2 = T[x, y] + s[y] + T[y, v] - T[x, v]
            if d2 < best_d[c]:
                best_d[c] = d2
                best_u[c] = x


@njit(cache=True)
def exchange(r, m, T, s, p, grp, used, cand, budget, tol):
    """Apply the best swap of one visit for one free task at its cheapest place: a higher
    prize, or the same prize in less time, within the budget. Returns whether one was found."""
    if m == 0:
        return False
    nc = cand.shape[0]
    # the three cheapest places of each free task: enough to skip the two next to a visit
    top_d = np.full((nc, 3), np.inf)
    top_k = np.full((nc, 3), -1, dtype=np.int64)
    for c in range(nc):
        x = cand[c]
        if used[grp[x]]:
            continue
        for k in range(m + 1):
            d = T[r[k], x] + s[x] + T[x, r[k + 1]] - T[r[k], r[k + 1]]
            if d < top_d[c, 2]:
                q = 2
                while q > 0 and d < top_d[c, q - 1]:
                    top_d[c, q] = top_d[c, q - 1]
                    top_k[c, q] = top_k[c, q - 1]
                    q -= 1
                top_d[c, q] = d
                top_k[c, q] = k
    length = route_length(r, m, T, s)
    best_gain = 0.0
    best_len = length - _GAIN
    best_i = -1
    best_c = -1
    best_k = -1
    for i in range(1, m + 1):
        v = r[i]
        a = r[i - 1]
        b = r[i + 1]
        rest = length - (T[a, v] + s[v] + T[v, b] - T[a, b])
        for c in range(nc):
            x = cand[c]
            if grp[x] != grp[v] and used[grp[x]]:
                continue
            gain = p[x] - p[v]
            if gain < best_gain - tol:
                continue
            d = T[a, x] + s[x] + T[x, b] - T[a, b]
            k = i - 1
            for q in range(3):
                kk = top_k[c, q]
                if kk >= 0 and kk != i - 1 and kk != i:
                    if top_d[c, q] < d:
                        d = top_d[c, q]
                        k = kk
                    break
            new_len = rest + d
            if new_len > budget:
                continue
            if gain > best_gain + tol or new_len < best_len:
                best_gain = max(gain, best_gain)
                best_len = new_len
                best_i = i
                best_c = x
                best_k = k
    if best_i < 0:
        return False
    v = r[best_i]
    used[grp[v]] = False
    used[grp[best_c]] = True
    if best_k == best_i - 1:  # in the place of the visit
        r[best_i] = best_c
        return True
    # remove position best_i, then insert after the task that was at position best_k
    u = r[best_k]
    for q in range(best_i, m + 1):
        r[q] = r[q + 1]
    k = 0
    if u != 0:
        for q in range(1, m):
            if r[q] == u:
                k = q
                break
    for q in range(m, k, -1):
        r[q + 1] = r[q]
    r[k + 1] = best_c
    return True


@njit(cache=True)
def improve(r, m, T, s, p, tw, grp, used, blocked, cand, budget, power, buf, tol):
    """Shorten (2-opt, or-opt), fill (greedy insertion) and swap (:func:`exchange`) until
    none changes the route. The route is taken as filled already."""
    while True:
        shorter = two_opt(r, m, T, s, tw)
        shorter = or_opt(r, m, T, buf) or shorter
        if shorter:
            m2 = insert_greedy(r, m, T, s, p, grp, used, blocked, cand, budget, power, 0.0)
            if m2 != m:
                m = m2
                continue
        if not exchange(r, m, T, s, p, grp, used, cand, budget, tol):
            return m
        m = insert_greedy(r, m, T, s, p, grp, used, blocked, cand, budget, power, 0.0)


@njit(cache=True)
def _remove_marked(r, m, mark, grp, used):
    """Drop the visits at marked positions (1..m); returns the new ``m``."""
    w = 1
    for k in range(1, m + 1):
        if mark[k]:
            used[grp[r[k]]] = False
        else:
            r[w] = r[k]
            w += 1
    r[w] = 0
    return w - 1


@njit(cache=True)
def destroy(r, m, T, s, p, grp, used, blocked, kind, size):
    """Remove ``size`` visits: 0 a stretch, 1 at random, 2 the worst prize per saved time,
    3 the nearest to a random visit. The removed groups are marked in ``blocked``."""
    size = min(size, m)
    mark = np.zeros(m + 2, dtype=np.bool_)
    if size <= 0:
        return m
    if kind == 0:
        start = 1 + np.random.randint(m)
        for q in range(size):
            mark[1 + (start - 1 + q) % m] = True
    elif kind == 1:
        idx = np.random.permutation(m)
        for q in range(size):
            mark[1 + idx[q]] = True
    elif kind == 2:
        key = np.empty(m)
        for k in range(1, m + 1):
            save = T[r[k - 1], r[k]] + s[r[k]] + T[r[k], r[k + 1]] - T[r[k - 1], r[k + 1]]
            key[k - 1] = p[r[k]] / max(save, 1e-12) * (1.0 + 0.3 * np.random.random())
        idx = np.argsort(key)
        for q in range(size):
            mark[1 + idx[q]] = True
    else:
        c = r[1 + np.random.randint(m)]
        key = np.empty(m)
        for k in range(1, m + 1):
            key[k - 1] = T[c, r[k]] + T[r[k], c]
        idx = np.argsort(key)
        for q in range(size):
            mark[1 + idx[q]] = True
    for k in range(1, m + 1):
        if mark[k]:
            blocked[grp[r[k]]] = True
    return _remove_marked(r, m, mark, grp, used)


@njit(cache=True)
def search_chunk(
    T,
    s,
    p,
    tw,
    grp,
    cand,
    budget,
    power,
    tol,
    dev,
    frac,
    slack,
    iters,
    stall,
    reset,
    cur,
    best,
    used,
    st,
    fs,
):
    """Run up to ``iters`` destroy-and-repair iterations from the current route.

    ``st`` = [current m, best m, iterations without a new best], ``fs`` = [current prize,
    current length, best prize, best length]; both and the routes are updated in place.
    Acceptance is record-to-record travel: a better route, or one whose prize plus its time
    left (valued at ``slack`` times the best's prize per minute) is within ``dev`` (a
    fraction) of the best's, becomes the current one; after every ``reset`` iterations without
    a new best the search goes back to the best. Returns the iterations run (fewer when
    ``stall`` is hit).
    """
    n_idx = T.shape[0]
    buf = np.empty(4, dtype=np.int64)
    blocked = np.zeros(n_idx, dtype=np.bool_)
    trial = np.empty_like(cur)
    trial_used = np.empty_like(used)
    for it in range(iters):
        m = st[0]
        if m == 0:
            return it
        trial[:] = cur
        trial_used[:] = used
        blocked[:] = False
        kind = np.random.randint(4)
        hi = max(1, min(m, 2 + int(m * frac)))
        size = 1 + np.random.randint(hi)
        m2 = destroy(trial, m, T, s, p, grp, trial_used, blocked, kind, size)
        two_opt(trial, m2, T, s, tw)
        m2 = insert_greedy(
            trial, m2, T, s, p, grp, trial_used, blocked, cand, budget, power, _NOISE
        )
        blocked[:] = False
        m2 = insert_greedy(trial, m2, T, s, p, grp, trial_used, blocked, cand, budget, power, 0.0)
        m2 = improve(
            trial, m2, T, s, p, tw, grp, trial_used, blocked, cand, budget, power, buf, tol
        )
        prize = route_prize(trial, m2, p)
        length = route_length(trial, m2, T, s)
        better_best = prize > fs[2] + tol or (prize >= fs[2] - tol and length < fs[3] - _GAIN)
        better_cur = prize > fs[0] + tol or (prize >= fs[0] - tol and length < fs[1] - _GAIN)
        # record-to-record on the prize plus the slack left, valued at the best's prize rate
        w = slack * fs[2] / budget
        value = prize + w * (budget - length)
        if better_cur or value >= (fs[2] + w * (budget - fs[3])) * (1.0 - dev) - tol:
            cur[:] = trial
            used[:] = trial_used
            st[0] = m2
            fs[0] = prize
            fs[1] = length
        if better_best:
            best[:] = trial
            st[1] = m2
            fs[2] = prize
            fs[3] = length
            st[2] = 0
        else:
            st[2] += 1
            if st[2] >= stall:
                return it + 1
            if st[2] % reset == 0:
                cur[:] = best
                st[0] = st[1]
                fs[0] = fs[2]
                fs[1] = fs[3]
                used[:] = False
                for k in range(1, st[1] + 1):
                    used[grp[best[k]]] = True
    return iters
