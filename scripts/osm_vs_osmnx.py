"""Cold parse of the shared extracts: siteplanner.town.osm (pyosmium) against osmnx.graph_from_xml.

For each extract prints the pyosmium parse time and its walking graph, and for the XML ones
osmnx's ``graph_from_xml`` time (simplify=True, retain_all=True: what io.py used before) and
osmnx's graph of the same walkable ways (unsimplified graph filtered to the ways
:func:`siteplanner.town.osm.is_walkable` accepts, then ``osmnx.simplify_graph``).

    PYTHONPATH=$PWD python scripts/osm_vs_osmnx.py [EXTRACT ...]
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import osmium

from siteplanner.town import osm

SHARED = (
    Path(os.environ.get("SITEPLANNER_SHARED") or Path(__file__).resolve().parents[2] / "shared")
    / "data"
    / "osm"
)
DEFAULT = [
    "monaco-beausoleil-2016.osm.bz2",
    "monaco-2021.osm.bz2",
    "helsinki-2019.osm.bz2",
    "redon-centre-2019.osm.bz2",
    "monaco-2026.osm.pbf",
    "liechtenstein-2015.osm.pbf",
    "malta-2018.osm.pbf",
]


def walkable_way_ids(path: Path) -> set[int]:
    fp = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter("highway")
    )
    return {w.id for w in fp if osm.is_walkable(dict(w.tags))}


def main(paths: list[Path]) -> None:
    import osmnx as ox

    for path in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        layers = osm.parse(path)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        g = layers["graph"]
        line = (
            f"RESULT extract={path.name} pyosmium_s={wall:.1f} pyosmium_cpu_s={cpu:.1f} "
            f"nodes={g.number_of_nodes()} edges={g.number_of_edges()} "
            f"features={len(layers['features'])}"
        )
        if path.suffix == ".bz2":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0, c0 = time.perf_counter(), time.process_time()
                    ox.graph_from_xml(path, simplify=True, retain_all=True)
                    owall, ocpu = time.perf_counter() - t0, time.process_time() - c0
                    # walking: both directions of every way, as osmnx's "walk" network type
                    raw = ox.graph_from_xml(
                        path, bidirectional=True, simplify=False, retain_all=True
                    )
            except ValueError as exc:
                print(line + f" osmnx_failed={str(exc)[:60]!r}", flush=True)
                continue
            ids = walkable_way_ids(path)
            raw.remove_edges_from(
                [
                    (u, v, k)
                    for u, v, k, d in raw.edges(keys=True, data=True)
                    if d["osmid"] not in ids
                ]
            )
            raw.remove_nodes_from([n for n in list(raw.nodes) if raw.degree(n) == 0])
            walk = ox.simplify_graph(raw)
            line += (
                f" osmnx_graph_from_xml_s={owall:.1f} osmnx_cpu_s={ocpu:.1f}"
                f" osmnx_walk_nodes={walk.number_of_nodes()}"
                f" osmnx_walk_edges={walk.number_of_edges()}"
            )
        print(line, flush=True)


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [SHARED / n for n in DEFAULT]
    main(args)
