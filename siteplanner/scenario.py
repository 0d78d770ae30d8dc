"""The scenario file: one TOML file per town and plan, checked by frozen pydantic models.

Every table rejects unknown keys (a misspelt key is an error, never silently ignored).
Relative paths are resolved against the scenario file's folder. See
``scenarios/beausoleil.toml`` for a commented example.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Literal

import tomllib
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from siteplanner._errors import ScenarioError, unknown_key, validation_message
from siteplanner.incidents import windows
from siteplanner.incidents.read import STANDARD_COLUMNS, TIMEZONE, IncidentSpec
from siteplanner.patrol.network import STOP_SPACING_M
from siteplanner.vocab import CATEGORIES, SENSITIVE_KINDS, SOURCES

log = logging.getLogger(__name__)

Positive = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_Model):
    """Study area: an OSM admin boundary (relation id or name) or a polygon file.

    Without an OSM extract (``osm`` left out), ``polygon`` or ``bounds`` only clip the
    incidents: ``siteplanner incidents`` and ``validate`` run, a camera plan does not.
    """

    osm: Path | None = Field(
        None,
        description="OpenStreetMap extract (.osm, .osm.gz, .osm.bz2 or .osm.pbf); without it "
        "the area only clips the incidents (`siteplanner incidents`)",
    )
    boundary: int | str | None = Field(None, description="OSM admin relation id or boundary name")
    polygon: Path | None = Field(None, description="polygon file instead of a boundary")
    bounds: tuple[float, float, float, float] | None = Field(
        None,
        description="[west, south, east, north] in WGS84 degrees: a box that clips the "
        "incidents when there is no OSM extract (rows outside go to quarantine.csv)",
    )
    margin_m: NonNeg = Field(150.0, description="streets and buildings kept beyond the area (m)")
    dem: Path | None = Field(None, description="elevation raster (e.g. SRTM .hgt), for terrain")
    qpv: Path | None = Field(None, description="QPV polygons (GeoJSON/GeoPackage)")
    existing_cameras: Literal["osm", "none"] | Path = Field(
        "osm",
        description='"osm" (OSM man_made=surveillance, filtered by camera_exclude), "none", or a '
        "file of the town's cameras (CSV with lon/lat or x/y, or GeoJSON points; optional "
        "heading_deg, fov_deg)",
    )
    existing_cameras_crs: str | None = Field(
        None, description="CRS of the cameras CSV's x/y columns"
    )
    camera_exclude: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"surveillance": ("indoor",)},
        description="OSM tag -> values that leave an OSM camera out; {} keeps them all",
    )

    @model_validator(mode="after")
    def _one_area(self) -> Area:
        if self.osm is None:
            if self.boundary is not None:
                raise ValueError(
                    "`boundary` is read from an OSM extract: give `osm`, or clip the incidents "
                    "with `polygon` (a file) or `bounds` ([west, south, east, north])"
                )
            if (self.polygon is None) == (self.bounds is None):
                raise ValueError(
                    "without `osm`, give exactly one of `polygon` (a file) or `bounds` "
                    "([west, south, east, north] in degrees)"
                )
        elif self.bounds is not None:
            raise ValueError(
                "`bounds` clips incidents when there is no OSM extract; with `osm` give "
                "`boundary` or `polygon`"
            )
        elif (self.boundary is None) == (self.polygon is None):
            raise ValueError(
                "give exactly one of `boundary` (OSM relation id or name) or `polygon` (a file)"
            )
        return self

    @field_validator("bounds")
    @classmethod
    def _box(cls, v: tuple[float, float, float, float] | None):
        if v is not None:
            w, s, e, n = v
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                raise ValueError(
                    "bounds must be [west, south, east, north] in WGS84 degrees with "
                    "west < east and south < north, e.g. [7.40, 43.73, 7.44, 43.76]"
                )
        return v

    @property
    def has_streets(self) -> bool:
        """The area comes with an OSM extract (streets, buildings): a camera plan can run."""
        return self.osm is not None

    @field_validator("osm")
    @classmethod
    def _osm_kind(cls, v: Path | None) -> Path | None:
        from siteplanner.town.osm import SUFFIXES

        if v is not None and not v.name.lower().endswith(SUFFIXES):
            raise ValueError(
                f"{v.name!r} is not named like an OpenStreetMap extract; accepted: "
                ".osm, .osm.gz, .osm.bz2, .osm.pbf"
            )
        return v

    @property
    def cameras_file(self) -> Path | None:
        """The town's cameras file, when ``existing_cameras`` names one."""
        return None if self.existing_cameras in ("osm", "none") else Path(self.existing_cameras)


class IncidentFile(_Model):
    """One incident file and how to read it, as its publisher wrote it.

    Every key but ``path`` is optional. See ``docs/incidents.md`` for the mapping of
    real exports (DansMaRue, BAAC, Vancouver, Chicago).
    """

    path: Path
    source: str | None = Field(
        None,
        description="source of every row, if the file has no `source` column "
        f"(e.g. {', '.join(SOURCES)})",
    )
    crs: str | None = Field(None, description="CRS of x, y columns (e.g. EPSG:2154)")
    columns: dict[str, str] | None = Field(
        None, description="standard name → the file's column name"
    )
    datetime: str | tuple[str, ...] | None = Field(
        None,
        description="the time column, or columns joined by a space (date + time, or year, month, "
        "day, hour, "
        "minute); default: the `datetime` column",
    )
    datetime_format: str | None = Field(
        None, description='strptime format of that text, e.g. "%d/%m/%Y %Hh%M"'
    )
    time: str | None = Field(
        None,
        description="the column holding the hour or time of day when `datetime` gives the date "
        "only: 13 (hour), 1345 or 845 (HHMM), 13:45, 13:45:00, 13h45, 1:45 PM; an empty cell "
        "leaves the row dated without hour",
    )
    timezone: str | None = Field(
        None, description="zone of times written without an offset (default: the town's)"
    )
    undated: bool = Field(
        False, description="the file has no date: rows count for whole-period windows only"
    )
    categories: dict[str, str] = Field(
        default_factory=dict,
        description="publisher's label, glob or re: pattern → the town's category",
    )
    default_category: str | None = Field(
        None, description="category of every label nobody mapped (counted)"
    )
    coordinate_scale: Positive = Field(
        1.0, description="multiplies the coordinates (1e-5 for BAAC integers)"
    )
    on_bad_rows: Literal["fail", "skip"] = Field(
        "fail", description="skip: bad rows go to quarantine.csv"
    )
    max_bad_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.01, description="above this share of bad rows, stop"
    )

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, v: str | None) -> str | None:
        if v is not None:
            import pyproj

            try:
                pyproj.CRS.from_user_input(v)
            except pyproj.exceptions.CRSError:
                raise ValueError(
                    f'unknown CRS {v!r}; accepted: an EPSG code like "EPSG:2154" or a WKT/PROJ '
                    "string"
                ) from None
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        return _check_zone(v)

    @field_validator("datetime_format")
    @classmethod
    def _strptime_format(cls, v: str | None) -> str | None:
        from siteplanner.incidents.fields import check_format

        if v is not None:
            check_format(v)  # a ValueError naming the directive
        return v

    @field_validator("columns")
    @classmethod
    def _known_targets(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        allowed = set(STANDARD_COLUMNS)
        if v and (bad := sorted(set(v) - allowed)):
            raise ValueError(f"unknown standard column(s) {bad}; accepted: {sorted(allowed)}")
        return v

    @field_validator("categories")
    @classmethod
    def _patterns(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        for k in v:
            if k.startswith("re:"):
                try:
                    re.compile(k[3:])
                except re.error as exc:
                    raise ValueError(
                        f"pattern {k!r} is not a valid regular expression ({exc})"
                    ) from None
        return v

    @model_validator(mode="after")
    def _one_time_source(self) -> IncidentFile:
        if self.datetime is not None and self.columns and "datetime" in self.columns:
            raise ValueError(
                "give the time column(s) once: `datetime = ...` or `columns = { datetime = ... }`"
            )
        if self.undated and (
            self.datetime is not None or self.datetime_format is not None or self.time
        ):
            raise ValueError(
                "`undated = true` means the file has no date; drop `datetime` / "
                "`datetime_format` / `time`"
            )
        return self

    def targets(self) -> set[str]:
        """The town categories this file maps labels to."""
        return set(self.categories.values()) | (
            {self.default_category} if self.default_category else set()
        )

    def spec(self, path: Path) -> IncidentSpec:
        """The reading options for :mod:`siteplanner.incidents.read` (``path`` resolved by the
        scenario)."""
        dt = self.datetime if isinstance(self.datetime, (str, type(None))) else tuple(self.datetime)
        return IncidentSpec(
            path,
            self.source,
            self.crs,
            self.columns,
            datetime=dt,
            datetime_format=self.datetime_format,
            time=self.time,
            timezone=self.timezone,
            undated=self.undated,
            categories=self.categories or None,
            default_category=self.default_category,
            coordinate_scale=self.coordinate_scale,
            on_bad_rows=self.on_bad_rows,
            max_bad_share=self.max_bad_share,
        )


def _check_zone(v: str | None) -> str | None:
    if v is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'unknown time zone {v!r}; accepted: an IANA name like "Europe/Paris" or '
                '"America/Vancouver"'
            ) from None
    return v


class Window(_Model):
    """A time window: hours (start, end; may wrap midnight), days, holidays, period."""

    name: str = "toute la période"
    hours: tuple[int, int] | None = None
    days: Literal["all", "weekday", "weekend"] = "all"
    school_holidays: bool | None = None
    public_holidays: bool | None = None
    period: str | None = Field(None, description='"2023", "2023-S1", "2023-Q2" or "2023-05"')

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not (0 <= v[0] <= 24 and 0 <= v[1] <= 24 and v[0] != v[1]):
            raise ValueError(
                "hours must be two different integers in 0..24, e.g. [18, 24] or [22, 6]"
            )
        return v

    def time_window(self) -> windows.TimeWindow:
        """The analysis time window (:class:`siteplanner.incidents.windows.TimeWindow`) of this
        window."""
        return windows.TimeWindow(
            name=self.name,
            hours=self.hours,
            days=self.days,
            school_holidays=self.school_holidays,
            public_holidays=self.public_holidays,
            period=self.period,
        )


class Hotspots(_Model):
    method: Literal[
        "default", "kde", "count_grid", "near_repeat", "segment_counts", "network_kde"
    ] = Field(
        "default",
        description="default: the grid or street-segment method an inner temporal split of "
        "the incidents picks (recorded in summary.json); a grid method (kde, count_grid, "
        "near_repeat) or a street method (segment_counts, network_kde) imposes one",
    )
    cell_m: Positive | None = Field(
        None, description="grid cell (m); default: from the area and the incident count"
    )
    bandwidth_m: Positive | None = Field(
        None, description="kernel bandwidth; default: the method's rule"
    )
    street_spacing_m: Annotated[float, Field(gt=0, le=10)] = 5.0
    window: Window = Window()
    min_count_shared: Annotated[int, Field(ge=1)] = 3
    underground_demand: bool = Field(
        False,
        description="weigh demand on underground or indoor ways too (tunnels, negative levels, "
        "indoor corridors); by default left out: a street camera does not see the metro",
    )
    segment_m: Annotated[float, Field(gt=0, le=50)] = Field(
        50.0, description="longest street segment of the forecast on the streets (m)"
    )


#: A key of ``[weights.sensitive]``: a sensitive place kind, or ``qpv``.
SensitiveKey = Literal[(*SENSITIVE_KINDS, "qpv")]  # type: ignore[valid-type]


class Weights(_Model):
    """Demand weights: by incident category, the lieux de fréquentation's share, and
    multipliers near sensitive sites and along main streets."""

    categories: dict[str, NonNeg] = Field(default_factory=dict)
    sensitive: dict[SensitiveKey, NonNeg] = Field(
        default_factory=lambda: {k: 1.5 for k in (*SENSITIVE_KINDS, "qpv")}
    )
    sensitive_radius_m: Positive = 100.0
    footfall_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.5,
        description="share of the demand weight from the lieux de fréquentation (shops, cafés, "
        "bars, bus stops, gares, schools, public buildings) beside the incident forecast; 0: "
        "incidents only",
    )
    main_streets: NonNeg = Field(
        1.5, description="multiplier of demand along main, pedestrian and square streets"
    )


class CameraModel(_Model):
    """A camera type of the catalogue (EN 62676-4 DORI ranges from its optics)."""

    name: str
    kind: Literal["fixed", "ptz", "multisensor"] = "fixed"
    width_px: Annotated[int, Field(gt=0)] = 1920
    sensor_width_mm: Positive = 5.4
    focal_mm: Positive | None = 4.0
    range_m: Positive | None = Field(None, description="override the range instead of computing it")
    fov_deg: Annotated[float, Field(gt=0, le=360)] | None = Field(
        None, description="override the field of view"
    )
    mount_height_m: Positive = 6.0
    price_eur: NonNeg = 6000.0
    maintenance_share: Annotated[float, Field(ge=0, le=1)] = 0.08
    ir_range_m: NonNeg = Field(0.0, description="infrared range at night (m); 0 = no infrared")
    min_lux: NonNeg = Field(
        0.5, description="minimum illumination (lux) the camera needs without infrared"
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _no_lapi(cls, v: object) -> object:
        from siteplanner.vocab import LAPI_KINDS, LAPI_NOTE

        if isinstance(v, str) and v.strip().lower() in LAPI_KINDS:
            raise ValueError(
                f"camera kind {v!r}: number-plate readers (LAPI) cannot be municipal cameras. "
                f"{LAPI_NOTE} "
                "Accepted kinds: fixed, ptz, multisensor; town entrances are listed as "
                "'proposition au partenaire État' by the scenario's `entrances` section"
            )
        return v


class Camera(_Model):
    """Which catalogue model the next phase installs and which DORI level counts as covered."""

    model: str = "bullet_4mp_6mm"
    covered_at: Literal["detection", "observation", "recognition", "identification"] = "observation"
    n_headings: Annotated[int, Field(ge=1, le=72)] = 8
    coverage: Literal["sight", "network"] = Field(
        "sight",
        description="sight: the field of view; network: streets within the range along the "
        "walking network",
    )
    target_height_m: NonNeg = 1.6
    catalogue: tuple[CameraModel, ...] = (
        CameraModel(
            name="bullet_4mm",
            kind="fixed",
            focal_mm=4.0,
            price_eur=4500,
            ir_range_m=30,
            min_lux=0.1,
        ),
        CameraModel(
            name="bullet_4mp_6mm",
            kind="fixed",
            width_px=2688,
            sensor_width_mm=5.6,
            focal_mm=6.0,
            price_eur=6000,
            ir_range_m=30,
            min_lux=0.05,
        ),
        CameraModel(
            name="dome_ptz",
            kind="ptz",
            focal_mm=10.0,
            fov_deg=360,
            price_eur=9000,
            ir_range_m=100,
            min_lux=0.05,
        ),
        CameraModel(
            name="multisensor_360",
            kind="multisensor",
            width_px=2688,
            sensor_width_mm=5.6,
            focal_mm=2.8,
            fov_deg=360,
            price_eur=11000,
            ir_range_m=15,
            min_lux=0.1,
        ),
    )

    @model_validator(mode="after")
    def _model_known(self) -> Camera:
        names = [m.name for m in self.catalogue]
        if self.model not in names:
            raise ValueError(
                f"camera model {self.model!r} not in the catalogue ({', '.join(names)})"
            )
        return self

    def chosen(self) -> CameraModel:
        return next(m for m in self.catalogue if m.name == self.model)


class Candidates(_Model):
    min_street_count: Annotated[int, Field(ge=1)] = 3
    street_lamps: bool = True
    public_facades: bool = True
    exclusion: Path | None = Field(None, description="polygons where no camera may be mounted")
    mast_eur: NonNeg = 3500.0
    facade_mount_eur: NonNeg = 800.0
    trench_eur_per_m: NonNeg = 60.0
    privacy_policy: Literal["mask", "exclude"] = "mask"
    merge_m: NonNeg = Field(
        8.0,
        description="intersections this close (m) are one point d'implantation: the "
        "best-connected stands for the others (footway and crossing junctions of one corner); 0: "
        "no merging",
    )
    existing_support_eur: NonNeg | None = Field(
        None,
        description="bracket of a new camera head on an existing camera's mast or façade "
        "(mount existing_support, no mast, no trench); default: facade_mount_eur",
    )
    csu: tuple[float, float] | None = Field(
        None,
        description="[lon, lat] where the camera fibre ends (the CSU); default: the police "
        "stations and town "
        "halls inside the study area",
    )


class PhaseSpec(_Model):
    name: str
    year: int
    k: Annotated[int, Field(ge=1)] | None = None
    budget_eur: Positive | None = None

    @model_validator(mode="after")
    def _one(self) -> PhaseSpec:
        if (self.k is None) == (self.budget_eur is None):
            raise ValueError(f"phase {self.name!r}: give exactly one of `k` or `budget_eur`")
        return self


class Plan(_Model):
    k: Annotated[int, Field(ge=1)] | None = 10
    budget_eur: Positive | None = None
    method: Literal["auto", "exact", "fast"] = "auto"
    time_limit_s: Positive = 60.0
    min_spacing_m: NonNeg = Field(
        20.0,
        description="no two new sites (mâts, façades) closer than this (m), nor a new site this "
        "close to an existing camera or an earlier phase's site, unless it reuses an existing "
        "camera's support; the référent sûreté refuses two masts under 20 m apart; 0: no rule",
    )
    existing_spacing_m: NonNeg = Field(
        15.0,
        description="no new site within this distance (m) of an existing camera, except one "
        "that reuses its support (mount existing_support); 0: no such rule",
    )
    funded_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    backup_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, description="extra share of weight counted when two cameras see a point"
    )
    phase_name: str = "phase suivante"
    phase_year: int | None = Field(None, description="year of the next phase")
    phases: tuple[PhaseSpec, ...] = ()

    @model_validator(mode="after")
    def _k_or_budget(self) -> Plan:
        if self.budget_eur is not None and self.k is not None and "k" in self.model_fields_set:
            raise ValueError("give either `k` or `budget_eur` for the next phase, not both")
        return self


class Shift(_Model):
    name: str = "soirée"
    budget_min: Positive = 90.0
    mode: Literal["foot", "bike"] = "foot"
    speed_kmh: Positive | None = None
    dwell_min: Annotated[float, Field(ge=0, le=60)] = 12.0
    teams: Annotated[int, Field(ge=1, le=10)] = 1
    window: Window | None = None
    variants: Annotated[int, Field(ge=0, le=10)] = Field(
        0, description="seeded alternative circuits, so that patrols are not predictable"
    )
    variants_within: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9, description="each variant keeps at least this share of the best prize"
    )
    min_stop_spacing_m: NonNeg | None = Field(
        None,
        description="two stops of one circuit stand at least this far apart (m), so that the "
        "team never stops twice at the same place; default 100 on foot, 200 by bike (VTT)",
    )

    def speed(self) -> float:
        return self.speed_kmh or (4.5 if self.mode == "foot" else 12.0)

    def stop_spacing(self) -> float:
        """The shift's ``min_stop_spacing_m``, or the default of its mode."""
        if self.min_stop_spacing_m is not None:
            return self.min_stop_spacing_m
        return STOP_SPACING_M[self.mode]


class Patrol(_Model):
    start: tuple[float, float] | None = Field(
        None,
        description="[lon, lat] the patrols start from, inside the study area; default: the OSM "
        "amenity=police "
        "inside it, else its amenity=townhall",
    )
    n_candidates: Annotated[int, Field(ge=1, le=500)] = 60
    shifts: tuple[Shift, ...] = (Shift(),)


class Observatory(_Model):
    """The observatoire local de la sécurité (OLS, `siteplanner observatory`): semester
    indicators and shared maps."""

    period: str | None = Field(
        None, description='default period, e.g. "2023-S1" (the command\'s --period overrides it)'
    )
    windows: tuple[Window, ...] = (
        Window(name="toutes heures"),
        Window(name="soirée", hours=(18, 24)),
        Window(name="nuit", hours=(0, 6)),
        Window(name="week-end", days="weekend"),
    )
    min_count: Annotated[int, Field(ge=1)] = Field(
        3, description="shared maps hide cells/segments with fewer incidents"
    )
    lixel_m: Positive = Field(
        100.0, description="longest street segment of the hotspot segments (m)"
    )
    bandwidth_m: Positive = Field(200.0, description="kernel bandwidth and Gi* distance band (m)")
    cell_m: Positive = Field(25.0, description="cell of hotspots.tif (m)")
    compare_cell_m: Positive = Field(
        100.0, description="cell of the comparison with the previous period (m)"
    )
    sensitive_radius_m: Positive = Field(200.0, description="surroundings of schools and gares (m)")
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05, description="significance level of the change tests"
    )
    school_zone: Literal["A", "B", "C"] = "B"
    duplicate_distance_m: NonNeg = Field(
        10.0, description="cross-source duplicates: same category within this distance"
    )
    duplicate_minutes: NonNeg = Field(30.0, description="... and within this many minutes")

    @model_validator(mode="after")
    def _windows(self) -> Observatory:
        names = [w.name for w in self.windows]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(
                f"duplicate window name(s) {dup}: every product is named after its window"
            )
        if bad := [w.name for w in self.windows if w.period is not None]:
            raise ValueError(
                f"window(s) {bad} have their own period; give the period once "
                "([observatory] period or --period)"
            )
        return self


def _check_hours(v: tuple[int, int] | None) -> tuple[int, int] | None:
    if v is not None and not (0 <= v[0] <= 24 and 0 <= v[1] <= 24 and v[0] % 24 != v[1] % 24):
        raise ValueError("hours must be two different integers in 0..24, e.g. [1, 5] or [19, 7]")
    return v


class Lighting(_Model):
    """Public lighting (éclairage public) for night coverage; see :mod:`siteplanner.town.lighting`.

    The *extinction de l'éclairage public* is the hours when the commune switches its street
    lights off (often 1 h–5 h); only streets lit ``24/7`` or on presence detection stay lit.
    """

    off: tuple[int, int] | None = Field(
        None, description="hours when the street lights are off, e.g. [1, 5]"
    )
    night: tuple[int, int] = Field(
        (19, 7),
        description="hours of darkness (yearly mean at 43° N: sunset 17–21 h, sunrise 6–8 h)",
    )
    file: Path | None = Field(
        None, description="lighting file: CSV osm_way_id,lit or lines with a `lit` column"
    )
    unknown: Literal["lit", "unlit"] = Field(
        "lit", description="streets without a `lit` tag, when the lights are on"
    )
    lit_lux: Positive = Field(
        10.0, description="illuminance of a lit street (EN 13201 P classes: 2–15 lx)"
    )
    dark_lux: NonNeg = Field(0.0, description="illuminance of an unlit street")
    match_m: Positive = Field(
        10.0, description="lines of the lighting file match streets within this distance (m)"
    )

    _hours = field_validator("off", "night")(classmethod(lambda cls, v: _check_hours(v)))


class FieldNotes(_Model):
    """The notes of a marche exploratoire (residents' walk); see
    :mod:`siteplanner.town.field_notes`."""

    path: Path = Field(description="CSV (lon, lat or wkt) or GeoJSON/GeoPackage of points or lines")
    walk: str | None = Field(None, description="walk name, if the file has no `walk` column")
    crs: str | None = Field(None, description="CRS of a CSV's wkt column (default WGS84)")
    radius_m: Positive = Field(
        50.0, description="demand points within this distance of a note are raised"
    )
    weights: dict[
        Literal["dark_spot", "feeling_unsafe", "broken_lamp", "hidden_corner", "other"], NonNeg
    ] = Field(
        default_factory=lambda: {
            "dark_spot": 1.0,
            "feeling_unsafe": 1.5,
            "broken_lamp": 0.5,
            "hidden_corner": 1.0,
            "other": 0.5,
        },
        description="weight added per category, in units of the mean demand weight",
    )
    patrol_m: Positive = Field(25.0, description="a note this close to a patrol circuit is on it")

    _crs = field_validator("crs")(classmethod(lambda cls, v: IncidentFile._known_crs(v)))


class Entrances(_Model):
    """Town entrances (entrées de ville), listed as a proposal to the State partner (no LAPI)."""

    residential: bool = Field(True, description="also residential roads with through traffic")
    merge_m: Positive = Field(
        100.0, description="crossings of one road closer than this are one entrance"
    )


class Output(_Model):
    """What is written, and where."""

    dir: Path = Path("outputs")
    include_incident_points: bool = False
    pdf: bool = Field(False, description="also write report.pdf (slower: one page per site sheet)")
    map_classes: Literal["quantiles", "fisher_jenks"] = Field(
        "quantiles",
        description="hotspot classes of map.png: quantiles or Fisher-Jenks natural breaks",
    )
    hotspot_layer: Literal["streets", "grid"] = Field(
        "streets",
        description="hotspots on map.png: the forecast's street segments coloured by class "
        "(top 1 %, 1-5 %, 5-10 % of the street length), or the grid surface's cells",
    )
    review: Path | None = Field(
        None, description="review.csv of the référent sûreté (default: next to the scenario)"
    )


class ReviewRules(_Model):
    """How the référent sûreté's decisions constrain the next run (``[review]``)."""

    reject_radius_m: float | None = Field(
        None,
        gt=0,
        le=500,
        description="no new site within this distance of a rejected site or of a moved site's "
        "original place, unless accepted there (default: the camera's identification "
        "range, else 25 m)",
    )


class Scenario(_Model):
    """A whole scenario: what town, which data, what to plan."""

    name: str
    area: Area | None = Field(
        None, description="the study area; without it only `siteplanner incidents` runs"
    )
    timezone: str = Field(
        TIMEZONE, description="the town's time zone: every incident time is converted to it"
    )
    incidents: tuple[IncidentFile, ...] = ()
    hotspots: Hotspots = Hotspots()
    weights: Weights = Weights()
    camera: Camera = Camera()
    candidates: Candidates = Candidates()
    plan: Plan = Plan()
    patrol: Patrol = Patrol()
    output: Output = Output()
    review: ReviewRules = ReviewRules()
    observatory: Observatory = Observatory()
    lighting: Lighting | None = None
    field_notes: tuple[FieldNotes, ...] = ()
    entrances: Entrances | None = None
    cache_dir: Path = Path(".cache")
    path: Path | None = Field(None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _check_zone(v)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _known_categories(self) -> Scenario:
        allowed = self.categories
        if bad := sorted(set(self.weights.categories) - set(allowed)):
            raise ValueError(
                f"weights.categories: unknown categor(y/ies) {bad}; accepted: {', '.join(allowed)} "
                "(a new category exists once an [incidents.categories] mapping names it)"
            )
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        """The town's categories: the built-in ones and those the incident mappings name."""
        extra = (
            sorted(set().union(*(f.targets() for f in self.incidents)) - set(CATEGORIES))
            if self.incidents
            else []
        )
        return CATEGORIES + tuple(extra)

    def resolve(self, p: Path | None) -> Path | None:
        """A path of the scenario, relative to its file."""
        if p is None:
            return None
        try:
            p = Path(p).expanduser()
        except RuntimeError:  # "~someone" whose home is unknown: keep the path as written
            p = Path(p)
        if p.is_absolute() or self.path is None:
            return p
        return Path(
            os.path.normpath(self.path.parent / p)
        )  # "outputs/x", not "scenarios/../outputs/x"

    @property
    def review_path(self) -> Path:
        if self.output.review is not None:
            return self.resolve(self.output.review)  # type: ignore[return-value]
        base = self.path if self.path is not None else Path(self.name)
        return base.with_name(base.stem + ".review.csv")


def load_scenario(path: str | Path, *, check_files: bool = True) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        The file is missing, not TOML, has unknown keys or wrong values, or names input
        files that do not exist (every problem listed).
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from exc
    if "path" in raw:  # `path` is where the scenario file is, never a key of the file
        raise ScenarioError(
            f"{path}: invalid scenario\n  - path: {unknown_key(Scenario, ('path',))}"
        )
    try:
        sc = Scenario.model_validate({**raw, "path": path})
    except ValidationError as exc:
        raise ScenarioError(validation_message(exc, path, Scenario)) from None
    if check_files:
        missing = []
        a = sc.area
        area_files = (
            []
            if a is None
            else [
                ("area.osm", a.osm),
                ("area.polygon", a.polygon),
                ("area.dem", a.dem),
                ("area.qpv", a.qpv),
                ("area.existing_cameras", a.cameras_file),
            ]
        )
        for label, p in (
            area_files
            + [
                ("candidates.exclusion", sc.candidates.exclusion),
                ("lighting.file", sc.lighting.file if sc.lighting else None),
            ]
            + [(f"incidents[{i}].path", f.path) for i, f in enumerate(sc.incidents)]
            + [(f"field_notes[{i}].path", f.path) for i, f in enumerate(sc.field_notes)]
        ):
            try:
                rp = sc.resolve(p)
                found = rp is None or rp.is_file()
            except (
                OSError,
                ValueError,
                RuntimeError,
            ) as exc:  # name too long, NUL byte, ~unknown-user
                missing.append(
                    f"  - {label}: {str(p)[:200]!r} is not a usable path "
                    f"({exc.__class__.__name__}: {str(exc)[:200]})"
                )
                continue
            if not found:
                missing.append(f"  - {label}: file {rp} not found")
        if missing:
            raise ScenarioError(f"{path}: input file(s) missing\n" + "\n".join(missing))
    return sc
