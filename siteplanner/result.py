"""The values the pipeline's steps return, and the :class:`Result` that holds them all.

Each step of :mod:`siteplanner.pipeline` returns one frozen value::

    load(scenario)                      -> Inputs      steps/load.py
    demand(inputs)                      -> Demand      steps/demand.py
    candidates(inputs)                  -> Candidates  steps/sites.py
    coverage(inputs, demand, cands)     -> Coverage    steps/coverage.py
    review(inputs, cands, cov)          -> Decisions   steps/review.py
    optimise_phases(...)                -> PhasePlans  steps/phases.py
    patrols(...)                        -> Patrols     steps/patrols.py
    figures(...)                        -> Figures     steps/figures.py

A frozen :class:`Result` holds them, with every figure an output shows: the sites with their
costs and funded shares, the phase table, the privacy figures, the addresses, the hotspot
segments, the itineraries. The outputs (:mod:`~siteplanner.outputs.write`, ``report``, ``webmap``,
``plot``, ``export``) only render it: they compute nothing of their own.

This module holds data only: it imports no analysis module (their types are for annotations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    import pandas as pd
    from scipy.sparse import csr_matrix

    from siteplanner.coverage.matrix import FieldsOfView
    from siteplanner.hotspots.grids import DensityGrid
    from siteplanner.hotspots.segments import StreetForecast
    from siteplanner.incidents.read import IncidentRead
    from siteplanner.incidents.windows import TimeWindow
    from siteplanner.optimise.instance import Plan
    from siteplanner.optimise.phases import PhasePlan
    from siteplanner.patrol.network import Circuit
    from siteplanner.review import Review
    from siteplanner.scenario import CameraModel, Scenario
    from siteplanner.town.jurisdiction import Anchor
    from siteplanner.town.lighting import NightCoverage
    from siteplanner.town.load import Town


@dataclass(frozen=True)
class Paths:
    """Every file a scenario names, resolved once (``None`` when the scenario names none)."""

    osm: Path | None
    qpv: Path | None
    dem: Path | None
    exclusion: Path | None
    review: Path
    lighting: Path | None
    output: Path
    incidents: tuple[Path, ...] = ()
    field_notes: tuple[Path, ...] = ()
    cameras: Path | None = None


@dataclass(frozen=True, eq=False)
class Inputs:
    """What ``load`` read: the town, the incidents (merged, and each file's read), the QPV,
    the existing cameras and the anchors (``None`` when loaded for the observatory)."""

    scenario: Scenario
    paths: Paths
    town: Town
    streets: gpd.GeoDataFrame  # the walk graph's edges as lines (io.edges_gdf), computed once
    incidents: gpd.GeoDataFrame
    reads: list[IncidentRead]
    quarantine_csv: str
    qpv: gpd.GeoDataFrame | None
    existing_cameras: gpd.GeoDataFrame | None
    patrol_start: Anchor | None
    trench_ends: list[Anchor]
    counts: dict[str, Any]

    @property
    def synthetic(self) -> bool:
        """Whether the incidents are the simulator's (the outputs say so)."""
        return bool(len(self.incidents)) and bool(self.incidents["synthetic"].any())


@dataclass(frozen=True, eq=False)
class Demand:
    """The hotspot surface of the window and the demand points on the streets."""

    window: TimeWindow
    window_incidents: gpd.GeoDataFrame
    category_weight: np.ndarray
    bounds: tuple[float, float, float, float]
    grid: DensityGrid
    grid_inside: np.ndarray
    points: gpd.GeoDataFrame
    xy: np.ndarray
    notes: gpd.GeoDataFrame | None
    counts: dict[str, Any]
    forecast: StreetForecast | None = None  # the forecast on street segments (#23)

    @property
    def weight(self) -> np.ndarray:
        return self.points["weight"].to_numpy(float)


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate and existing camera sites with their costs, and the review file read.

    ``screening`` counts the new candidates generated (``raw``), ``kept`` (and by kind) and
    ``dropped`` by reason (outside the area, in a building, in an exclusion zone, underground or
    indoors, private, near an existing camera, merged: ``coverage.candidates.DROP_REASONS``);
    ``dropped`` lists them, each with its reason and the site it gave way to.
    ``graph`` is the walking network the sites' ``node`` refer to: the town's, with a node
    inserted on the street at each position the référent sûreté moved a site to.
    """

    sites: gpd.GeoDataFrame
    model: CameraModel
    review: Review | None
    counts: dict[str, Any]
    graph: nx.MultiDiGraph
    screening: dict[str, Any] = field(default_factory=dict)
    dropped: pd.DataFrame | None = None

    @property
    def xy(self) -> np.ndarray:
        return np.column_stack([self.sites.geometry.x, self.sites.geometry.y])


@dataclass(frozen=True)
class ExistingViews:
    """How the existing cameras' fields of view are modelled (they are fixed sites of the plan).

    ``direction_mapped`` cameras look along their mapped heading (OSM ``camera:direction`` or
    the file's ``heading_deg``). Of the ``no_direction`` others, ``assumed_360`` turn
    (``camera:type`` dome or panning, or a file's ``fov_deg`` 360) and see all round, and
    ``assumed_best_heading`` are given the best of ``n_headings`` headings (the one seeing the
    most demand) with the catalogue camera's ``fov_deg``. All see to the catalogue camera's
    ``range_m``. ``moved_off_wall`` were mapped on or just inside a building's outline and look
    from just outside it; ``inside_building`` stand deeper inside and see nothing; ``blind``
    see nothing at all (those included).
    """

    cameras: int = 0
    direction_mapped: int = 0
    no_direction: int = 0
    assumed_360: int = 0
    assumed_best_heading: int = 0
    moved_off_wall: int = 0
    inside_building: int = 0
    blind: int = 0
    n_headings: int = 8
    fov_deg: float = 360.0
    range_m: float = 0.0
    model: str = ""


@dataclass(frozen=True, eq=False)
class Coverage:
    """Fields of view, what each site sees, and the L251-3 figures of every site.

    ``sites`` is the candidates' table with the view columns (heading, range, privacy);
    ``A`` is the table the plan optimises (the night table when the window is at night) and
    ``A_day`` the daytime one; ``existing`` says how the existing cameras are modelled.
    """

    sites: gpd.GeoDataFrame
    fov: FieldsOfView
    A: csr_matrix
    A_day: csr_matrix
    ranges: dict[str, float]
    privacy_masks: dict[int, Any]
    lit_streets: Any
    counts: dict[str, Any]
    existing: ExistingViews = field(default_factory=ExistingViews)


@dataclass(frozen=True, eq=False)
class Decisions:
    """The référent sûreté's decisions as the optimiser applies them.

    ``per_site`` is each site's decision as its sheet shows it (indexed like the sites:
    ``decision``, ``comment``, ``reviewer``, ``date``, ``moved_from``, ``moved_by_m``; see
    :func:`siteplanner.steps.review.site_decisions`).
    """

    review: Review | None
    accepted: np.ndarray
    rejected: np.ndarray
    fixed: np.ndarray
    excluded: np.ndarray
    radius_m: float
    counts: dict[str, Any]
    per_site: pd.DataFrame


@dataclass(frozen=True, eq=False)
class PhasePlans:
    """The phases planned, the sites annotated with them, and the figures per phase."""

    plans: list[PhasePlan]
    sites: gpd.GeoDataFrame
    table: pd.DataFrame
    curve: np.ndarray
    review_outcomes: pd.DataFrame
    night: NightCoverage | None

    @property
    def first(self) -> Plan:
        return self.plans[0].plan


@dataclass(frozen=True, eq=False)
class Patrols:
    """The patrol circuits of every shift, their prizes and itineraries."""

    circuits: list[Circuit]
    shift_prizes: dict[str, dict[int, float]]
    itineraries: dict[str, list[str]]
    gpx: dict[str, str]
    counts: dict[str, Any]


@dataclass(frozen=True)
class MapFrame:
    """The frame of the plan map: its extent, its scale bar and its zoom panel's window.

    ``extent`` and ``zoom`` are ``(xmin, ymin, xmax, ymax)`` in the town's CRS (``zoom`` is
    None when the panel is left out: no proposed site, or a study area smaller than the
    window); ``scale_bar`` is ``(x, y, length_m)``, its lower left corner and length;
    ``zoom_sites`` counts the proposed sites inside the window. See
    :func:`siteplanner.steps.figures.map_frame`.
    """

    extent: tuple[float, float, float, float]
    scale_bar: tuple[float, float, float]
    zoom: tuple[float, float, float, float] | None
    zoom_sites: int
    zoom_side_m: float


@dataclass(frozen=True, eq=False)
class Figures:
    """What the outputs show beyond the plan, computed once.

    ``privacy`` (indexed like the sites, for the existing and proposed ones: ``facade_m``,
    ``n_entrances``, ``action`` and the mask polygon), ``addresses`` (the name of each shown or
    reviewed site as a référent sûreté says it, indexed like the sites: ``address``, ``near``,
    ``label``; :func:`siteplanner.town.addresses.site_addresses`), ``map_frame`` (the plan
    map's extent, scale bar and zoom window), ``hotspot_segments`` (aggregated counts on the
    streets), ``entrances`` and their table, ``field_notes`` (one outcome per note),
    ``evidence`` (incidents in view by category, with their evidence class),
    ``coverage_arrays`` (the coverage problem as ``coverage.npz`` stores it), and the
    report's ``dashboard`` tables and ``review_effects`` (:mod:`siteplanner.steps.dashboard`).
    The street edges every map draws are :attr:`Inputs.streets`.
    """

    privacy: gpd.GeoDataFrame
    addresses: pd.DataFrame
    map_frame: MapFrame
    hotspot_segments: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame | None
    entrances_table: pd.DataFrame | None
    field_notes: gpd.GeoDataFrame | None
    evidence: pd.DataFrame | None
    coverage_arrays: dict[str, np.ndarray]
    counts: dict[str, Any]
    dashboard: dict[str, pd.DataFrame] = field(default_factory=dict)
    review_effects: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class Result:
    """Everything a run computed: the value every output is written from."""

    inputs: Inputs
    demand_: Demand  # the step's value; ``demand`` is its points table, the name outputs read
    candidates: Candidates
    coverage: Coverage
    decisions: Decisions
    plans: PhasePlans
    patrols: Patrols
    figures: Figures
    timings_s: dict[str, float] = field(default_factory=dict)

    # the names the outputs read -------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.inputs.scenario

    @property
    def town(self) -> Town:
        return self.inputs.town

    @property
    def streets(self) -> gpd.GeoDataFrame:
        """The street edges every map draws."""
        return self.inputs.streets

    @property
    def incidents(self) -> gpd.GeoDataFrame:
        return self.inputs.incidents

    @property
    def qpv(self) -> gpd.GeoDataFrame | None:
        return self.inputs.qpv

    @property
    def quarantine_csv(self) -> str:
        return self.inputs.quarantine_csv

    @property
    def synthetic(self) -> bool:
        return self.inputs.synthetic

    @property
    def window_incidents(self) -> gpd.GeoDataFrame:
        return self.demand_.window_incidents

    @property
    def grid(self) -> DensityGrid:
        return self.demand_.grid

    @property
    def demand(self) -> gpd.GeoDataFrame:
        return self.demand_.points

    @property
    def sites(self) -> gpd.GeoDataFrame:
        return self.plans.sites

    @property
    def fov(self) -> FieldsOfView:
        return self.coverage.fov

    @property
    def A(self) -> csr_matrix:  # noqa: N802 - the coverage matrix's usual name
        return self.coverage.A

    @property
    def privacy_masks(self) -> dict[int, Any]:
        return self.coverage.privacy_masks

    @property
    def review(self) -> Review | None:
        return self.decisions.review

    @property
    def plan(self) -> Plan:
        return self.plans.first

    @property
    def phase_plans(self) -> list[PhasePlan]:
        return self.plans.plans

    @property
    def phases(self) -> pd.DataFrame:
        return self.plans.table

    @property
    def curve(self) -> np.ndarray:
        return self.plans.curve

    @property
    def review_outcomes(self) -> pd.DataFrame:
        return self.plans.review_outcomes

    @property
    def night(self) -> NightCoverage | None:
        return self.plans.night

    @property
    def circuits(self) -> list[Circuit]:
        return self.patrols.circuits

    @property
    def shift_prizes(self) -> dict[str, dict[int, float]]:
        return self.patrols.shift_prizes

    @property
    def entrances(self) -> gpd.GeoDataFrame | None:
        return self.figures.entrances

    @property
    def field_notes(self) -> gpd.GeoDataFrame | None:
        return self.figures.field_notes

    @property
    def counts(self) -> dict[str, Any]:
        """Every step's counts (``summary.json``'s ``inputs``)."""
        out: dict[str, Any] = {}
        for step in (
            self.inputs,
            self.demand_,
            self.candidates,
            self.coverage,
            self.decisions,
            self.patrols,
            self.figures,
        ):
            out.update(step.counts)
        return out

    # the plan's headline figures --------------------------------------------------------------
    @property
    def coverage_before(self) -> float:
        """Share of the demand weight the existing cameras see."""
        total = self.plan.total_weight
        if not total:
            return 0.0
        seen = self.A[np.flatnonzero(self.sites["existing"].to_numpy())]
        covered = np.asarray(seen.sum(axis=0)).ravel() > 0
        return float(self.demand_.weight[covered].sum()) / total

    @property
    def coverage_after(self) -> float:
        return self.plan.coverage_share

    @property
    def proposed(self) -> gpd.GeoDataFrame:
        """The proposed sites of the next phase, in rank order."""
        s = self.sites
        s = s[(s["status"] == "proposed") & (s["phase"] == self.scenario.plan.phase_name)]
        return s.sort_values("rank", kind="stable")
