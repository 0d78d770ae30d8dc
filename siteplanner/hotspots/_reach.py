"""Compiled inner loop of the network kernel (:func:`siteplanner.hotspots.streets.lixel_density`).

One Dijkstra per source lixel, started from both its ends and stopped at a distance limit, that
returns only the vertices it reached: ``(source row, vertex, distance)`` triples. scipy's
``csgraph.dijkstra`` returns a dense ``sources x vertices`` matrix, almost all of it infinite when
the limit is a few hundred metres in a large town; this touches only what lies within reach.
numba ``@njit(cache=True)``: the first call compiles (a few seconds) and caches the machine code.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit(cache=True)
def bounded_reach(indptr, indices, weights, start_a, start_b, limit):
    """Vertices within ``limit`` of ``{start_a[i], start_b[i]}`` for each source ``i``.

    ``indptr``, ``indices``, ``weights``: the undirected graph as CSR (both directions stored).
    Returns ``(row, vertex, dist)`` arrays, rows in order, each row's vertices in settling order.
    """
    n_v = len(indptr) - 1
    dist = np.full(n_v, np.inf)
    done = np.zeros(n_v, dtype=np.bool_)
    touched = np.empty(n_v, dtype=np.int64)
    cap = 1024
    out_r = np.empty(cap, dtype=np.int64)
    out_v = np.empty(cap, dtype=np.int64)
    out_d = np.empty(cap, dtype=np.float64)
    n_out = 0
    for i in range(len(start_a)):
        n_t = 0
        heap = [(0.0, start_a[i])]
        heapq.heappush(heap, (0.0, start_b[i]))
        for v0 in (start_a[i], start_b[i]):
            if dist[v0] == np.inf:
                touched[n_t] = v0
                n_t += 1
            dist[v0] = 0.0
        while len(heap) > 0:
            d, v = heapq.heappop(heap)
            if done[v] or d > dist[v]:
                continue
            done[v] = True
            if n_out == cap:
                cap *= 2
                out_r = np.concatenate((out_r, np.empty(cap - n_out, dtype=np.int64)))
                out_v = np.concatenate((out_v, np.empty(cap - n_out, dtype=np.int64)))
                out_d = np.concatenate((out_d, np.empty(cap - n_out, dtype=np.float64)))
            out_r[n_out], out_v[n_out], out_d[n_out] = i, v, d
            n_out += 1
            for k in range(indptr[v], indptr[v + 1]):
                w = indices[k]
                nd = d + weights[k]
                if nd <= limit and nd < dist[w]:
                    if dist[w] == np.inf:
                        touched[n_t] = w
                        n_t += 1
                    dist[w] = nd
                    heapq.heappush(heap, (nd, w))
        for k in range(n_t):  # reset only what this source touched
            dist[touched[k]] = np.inf
            done[touched[k]] = False
    return out_r[:n_out], out_v[:n_out], out_d[:n_out]
