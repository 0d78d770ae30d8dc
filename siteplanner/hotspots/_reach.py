"""Compiled inner loop of the network kernel (:func:`siteplanner.hotspots.streets.lixel_densities`).

One Dijkstra per source lixel, started from both its ends and stopped at the widest bandwidth
(plus a lixel), that settles only the vertices within reach and adds the source's kernel to
the lixels around them, for every fit at once (the street forecast's inner validation fits
eight network kernels on the same streets). scipy's ``csgraph.dijkstra`` returns a dense
``sources x vertices`` matrix, almost all of it infinite when the limit is a few hundred metres
in a large town; this touches only what lies within reach, and holds no pairs.
numba ``@njit(cache=True)``: the first call compiles (a few seconds) and caches the machine code.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit(cache=True)
def kernel_sums(indptr, indices, weights, vx_ptr, vx_lixels, half, fv, tv, src, w, h):
    """The network kernel of each source lixel, summed on every lixel, for several fits at once.

    ``indptr``, ``indices``, ``weights``: the undirected graph of the lixel ends as CSR;
    ``vx_ptr``, ``vx_lixels``: the lixels at each vertex (CSR); ``half``: half of each lixel's
    length; ``fv``, ``tv``: each lixel's end vertices; ``src``: the source lixels, ascending;
    ``w``: ``(fits, sources)`` their weights; ``h``: each fit's bandwidth. A target lixel's
    distance from a source is the shortest over both ends, middle to middle (0 on the source
    itself); it adds ``w * 15 / (16 h) * (1 - (d / h)**2)**2`` where ``d < h``, sources in
    ascending order (the order of :func:`numpy.bincount` over sorted pairs).
    """
    n_v = len(indptr) - 1
    n_l = len(half)
    n_f = len(h)
    out = np.zeros((n_f, n_l))
    dist = np.full(n_v, np.inf)
    done = np.zeros(n_v, dtype=np.bool_)
    touched = np.empty(n_v, dtype=np.int64)
    best = np.full(n_l, np.inf)
    hit = np.empty(n_l, dtype=np.int64)
    limit = h.max() + 2 * half.max() + 1e-9
    for i in range(len(src)):
        s = src[i]
        n_t = 0
        n_h = 0
        heap = [(0.0, fv[s])]
        heapq.heappush(heap, (0.0, tv[s]))
        for v0 in (fv[s], tv[s]):
            if dist[v0] == np.inf:
                touched[n_t] = v0
                n_t += 1
            dist[v0] = 0.0
        while len(heap) > 0:
            d, v = heapq.heappop(heap)
            if done[v] or d > dist[v]:
                continue
            done[v] = True
            for k in range(vx_ptr[v], vx_ptr[v + 1]):
                lx = vx_lixels[k]
                c = 0.0 if lx == s else half[s] + d + half[lx]
                if best[lx] == np.inf:
                    hit[n_h] = lx
                    n_h += 1
                if c < best[lx]:
                    best[lx] = c
            for k in range(indptr[v], indptr[v + 1]):
                u = indices[k]
                nd = d + weights[k]
                if nd <= limit and nd < dist[u]:
                    if dist[u] == np.inf:
                        touched[n_t] = u
                        n_t += 1
                    dist[u] = nd
                    heapq.heappush(heap, (nd, u))
        for j in range(n_h):
            lx = hit[j]
            c = best[lx]
            for f in range(n_f):
                if w[f, i] != 0.0 and c < h[f]:
                    kern = 15.0 / (16.0 * h[f]) * (1.0 - (c / h[f]) ** 2) ** 2
                    out[f, lx] += w[f, i] * kern
            best[lx] = np.inf
        for k in range(n_t):  # reset only what this source touched
            dist[touched[k]] = np.inf
            done[touched[k]] = False
    return out
