"""What cameras are expected to do: the evidence class of camera effects per incident category.

From the two systematic reviews and meta-analyses of CCTV and crime:

* Welsh & Farrington (2009), 44 evaluations: a modest overall reduction (about 16 %), the
  largest in car parks (about half), concentrated on vehicle crime; no significant effect on
  violent crime.
* Piza, Welsh, Farrington & Thomas (2019), 76 evaluations over 40 years: a modest overall
  reduction (about 13 %), the largest and most consistent in car parks and residential areas;
  significant for vehicle crime, property crime and drug crime; no significant effect on
  violent crime nor on disorder.

So the coverage figure of a plan should be read by category: a share of violence covered
does not mean a share of violence prevented.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from siteplanner.vocab import EVIDENCE_SOURCES

log = logging.getLogger(__name__)

SOURCES = EVIDENCE_SOURCES

#: Evidence classes, strongest first.
CLASSES = {
    "A": "effect found: significant reduction in both meta-analyses",
    "B": "some evidence: significant in the 2019 meta-analysis, fewer studies",
    "C": "no measurable effect in the meta-analyses",
    "D": "not evaluated: no meta-analytic evidence for this kind of incident",
}

#: Incident category → (evidence class, crime type of the meta-analyses).
CATEGORY_EVIDENCE: dict[str, tuple[str, str]] = {
    "vol_roulotte": ("A", "vehicle crime (theft from vehicles)"),
    "incendie_vehicule": ("B", "vehicle crime (arson not studied apart)"),
    "cambriolage": ("B", "property crime"),
    "trafic_stupefiants": ("B", "drug crime"),
    "degradation_tag": ("C", "disorder, vandalism"),
    "incendie_poubelle": ("C", "disorder, vandalism"),
    "violence_voie_publique": ("C", "violent crime"),
    "rodeo_urbain": ("D", "—"),
    "depot_sauvage": ("D", "—"),
}


def evidence_class(category: str) -> tuple[str, str]:
    """The evidence class and crime type of an incident category (``D`` when unknown)."""
    return CATEGORY_EVIDENCE.get(category, ("D", "—"))


def covered_counts(
    categories: np.ndarray, covered: np.ndarray, *, min_count: int = 1
) -> pd.DataFrame:
    """Incidents by category, how many inside the cameras' fields of view, and the evidence class.

    Counts below ``min_count`` read ``"< min_count"`` (the shared-output rule).
    """
    df = pd.DataFrame({"category": categories, "covered": np.asarray(covered, bool)})
    g = df.groupby("category")["covered"].agg(["size", "sum"]).reset_index()
    rows = []
    for cat, n, c in zip(g["category"], g["size"], g["sum"]):
        cls, kind = evidence_class(cat)
        rows.append(
            {
                "category": cat,
                "incidents": _small(int(n), min_count),
                "covered": _small(int(c), min_count),
                "covered share": f"{c / n:.0%}" if n else "–",
                "evidence class": cls,
                "crime type in the reviews": kind,
                "what it means": CLASSES[cls],
            }
        )
    order = {k: i for i, k in enumerate(CLASSES)}
    return (
        pd.DataFrame(rows)
        .sort_values(
            ["evidence class", "category"],
            key=lambda s: s.map(order) if s.name == "evidence class" else s,
            kind="stable",
        )
        .reset_index(drop=True)
    )


def _small(n: int, min_count: int) -> int | str:
    return f"< {min_count}" if 0 < n < min_count else n
