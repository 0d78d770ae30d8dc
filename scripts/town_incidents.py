"""Write the SYNTHETIC incident files of the town scenarios, scaled to each town's streets.

    python scripts/town_incidents.py scenarios/redon.toml [more scenarios ...] [--dry-run]
    python scripts/town_incidents.py scenarios/schaan.toml --population 5900

No open incident file exists for these towns. Each gets ``siteplanner simulate-incidents``
(seed 0, 2021-2023) with ``--per-year`` = ``PER_STREET_KM`` incidents per km of walkable
street inside the study area (at least ``MIN_PER_YEAR``). 50 per km is the rate of the
default town: Beausoleil's 1,500 a year over its 31.5 km of streets. Where the whole
town's population is known and the study area is the whole town, ``--population`` caps it
at ``PER_1000_INHABITANTS`` per 1,000 inhabitants (Beausoleil: 1,500 for 13,500), for towns
whose streets include many rural tracks (Schaan). The file is written
where the scenario's first ``[[incidents]] path`` points. See data/incidents/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PER_STREET_KM = 50.0
MIN_PER_YEAR = 200
PER_1000_INHABITANTS = 110.0


def street_km(scenario: Path) -> float:
    """Length (km) of the walkable streets of the scenario's study area."""
    from siteplanner.scenario import load_scenario
    from siteplanner.town import load as io
    from siteplanner.town.jurisdiction import area_subgraph

    sc = load_scenario(scenario, check_files=False)
    town = io.load_town(
        sc.resolve(sc.area.osm),
        boundary=sc.area.boundary,
        area_path=sc.resolve(sc.area.polygon),
        margin_m=sc.area.margin_m,
        cache_dir=sc.resolve(sc.cache_dir),
    )
    sub = area_subgraph(town.graph, town.area).to_undirected()
    return sum(d.get("length", 0.0) for _, _, d in sub.edges(data=True)) / 1000.0


def main(argv: list[str]) -> None:
    dry = "--dry-run" in argv
    population = None
    if "--population" in argv:
        i = argv.index("--population")
        population = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    for arg in (a for a in argv if a != "--dry-run"):
        scenario = Path(arg)
        from siteplanner.scenario import load_scenario

        sc = load_scenario(scenario, check_files=False)
        out = sc.resolve(sc.incidents[0].path)
        km = street_km(scenario)
        per_year = max(MIN_PER_YEAR, round(PER_STREET_KM * km))
        if population is not None:
            per_year = min(
                per_year, max(MIN_PER_YEAR, round(PER_1000_INHABITANTS * population / 1000))
            )
        cmd = [
            sys.executable,
            "-m",
            "siteplanner.cli",
            "simulate-incidents",
            str(scenario),
            "--seed",
            "0",
            "--per-year",
            str(per_year),
            "--out",
            str(out),
        ]
        print(f"{scenario}: {km:.1f} km of streets -> --per-year {per_year}", flush=True)
        if not dry:
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
