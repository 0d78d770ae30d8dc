"""Tests of siteplanner.incidents.simulate on a hand-built street grid whose geometry is known
exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point, box
from vacances_scolaires_france import SchoolHolidayDates

from siteplanner._errors import InputError
from siteplanner.incidents.models import CATEGORY_MODELS, CategoryModel
from siteplanner.incidents.simulate import JITTER_M, simulate_incidents, street_pieces
from siteplanner.vocab import CATEGORIES, SOURCES

CRS = "EPSG:32632"
X0, Y0 = 372_000.0, 4_844_000.0  # Beausoleil, UTM 32N
STEP = 100.0
N = 7  # 7 x 7 nodes: a 600 m x 600 m grid of 100 m blocks
COLUMNS = ["id", "datetime", "category", "source", "x", "y", "lon", "lat"]


def _grid_graph() -> nx.MultiDiGraph:
    """Streets walked both ways; one edge has a bent geometry (two 50√2 m legs)."""
    g = nx.MultiDiGraph(crs=CRS)
    for i in range(N):
        for j in range(N):
            g.add_node(i * N + j, x=X0 + i * STEP, y=Y0 + j * STEP)
    for i in range(N):
        for j in range(N):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < N and j + dj < N:
                    u, v = i * N + j, (i + di) * N + (j + dj)
                    pu = (g.nodes[u]["x"], g.nodes[u]["y"])
                    pv = (g.nodes[v]["x"], g.nodes[v]["y"])
                    if (u, v) == (0, 1):  # a bent street from (X0, Y0) to (X0, Y0 + 100)
                        line = LineString([pu, (X0 + 50, Y0 + 50), pv])
                        g.add_edge(u, v, length=line.length, geometry=line)
                        g.add_edge(v, u, length=line.length, geometry=LineString(line.coords[::-1]))
                    else:
                        g.add_edge(u, v, length=STEP)
                        g.add_edge(v, u, length=STEP)
    return g


def _attractors() -> gpd.GeoDataFrame:
    rows = [
        # night venues in the north-east corner
        ("bar", Point(X0 + 550, Y0 + 550)),
        ("bar", Point(X0 + 560, Y0 + 500)),
        ("nightclub", Point(X0 + 500, Y0 + 560)),
        # social housing (a polygon: its centroid is used) and a park in the south-west corner
        ("social_housing", box(X0 + 90, Y0 + 30, X0 + 110, Y0 + 70)),
        ("park", Point(X0 + 40, Y0 + 150)),
        ("parking", Point(X0 + 300, Y0 + 50)),
        ("bus_stop", Point(X0 + 300, Y0 + 300)),
        ("school", Point(X0 + 150, Y0 + 450)),
        ("shop", Point(X0 + 400, Y0 + 300)),
        ("townhall", Point(X0 + 300, Y0 + 310)),  # a kind without weight: ignored
    ]
    return gpd.GeoDataFrame({"kind": [k for k, _ in rows]}, geometry=[g for _, g in rows], crs=CRS)


GRAPH = _grid_graph()
ATTRACTORS = _attractors()
AREA = box(X0 - 30, Y0 - 30, X0 + 630, Y0 + 630)
STREETS = shapely.union_all(
    [
        d.get(
            "geometry",
            LineString(
                [
                    (GRAPH.nodes[u]["x"], GRAPH.nodes[u]["y"]),
                    (GRAPH.nodes[v]["x"], GRAPH.nodes[v]["y"]),
                ]
            ),
        )
        for u, v, d in GRAPH.edges(data=True)
    ]
)


@pytest.fixture(scope="module")
def incidents() -> pd.DataFrame:
    return simulate_incidents(GRAPH, ATTRACTORS, area=AREA, seed=0, per_year=1500)


def _local(df: pd.DataFrame) -> pd.Series:
    """Local wall-clock times (naive) of the ISO 8601 strings."""
    return pd.Series(
        [dt.datetime.fromisoformat(s).replace(tzinfo=None) for s in df["datetime"]], index=df.index
    )


def _flat(model: CategoryModel, **changes) -> CategoryModel:
    """The model with flat weekday and month profiles and no holiday factors, then ``changes``."""
    base = dict(
        weekday=(1.0,) * 7, month=(1.0,) * 12, school_holiday=1.0, public_holiday=1.0, festive=1.0
    )
    base.update(changes)
    return dataclasses.replace(model, **base)


# ---------------------------------------------------------------------------------------
# the frame
# ---------------------------------------------------------------------------------------


def test_columns_types_ids_and_order(incidents):
    df = incidents
    assert list(df.columns) == COLUMNS
    assert df.attrs["synthetic"] is True
    assert df["id"].tolist() == [f"SYN-{i:06d}" for i in range(1, len(df) + 1)]
    assert set(df["category"]) == set(CATEGORIES)
    assert set(df["source"]) <= set(SOURCES)
    for col in ("x", "y", "lon", "lat"):
        assert df[col].dtype == np.float64 and df[col].notna().all()
    # ISO 8601 with the Europe/Paris offset of that date, sorted by instant
    t = pd.to_datetime(df["datetime"], format="ISO8601", utc=True)
    assert t.is_monotonic_increasing
    local = t.dt.tz_convert("Europe/Paris")
    expected = [ts.isoformat() for ts in local]
    assert df["datetime"].tolist() == expected
    assert set(df["datetime"].str[-6:]) == {"+01:00", "+02:00"}
    assert local.min() >= pd.Timestamp("2021-01-01", tz="Europe/Paris")
    assert local.max() < pd.Timestamp("2024-01-01", tz="Europe/Paris")
    # lon/lat are the WGS84 position of x/y, to 6 decimals
    back = gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326").to_crs(CRS)
    assert np.abs(back.x - df["x"]).max() < 0.2 and np.abs(back.y - df["y"]).max() < 0.2
    assert (df["lon"] == df["lon"].round(6)).all() and (df["lat"] == df["lat"].round(6)).all()


def test_expected_count_and_category_shares(incidents):
    df = incidents
    # 3 years x 1500: 4500 expected (Poisson plus near-repeat clusters; offspring after end dropped)
    assert 4500 * 0.93 < len(df) < 4500 * 1.07
    shares = df["category"].value_counts(normalize=True)
    for cat in CATEGORIES:
        assert abs(shares[cat] - CATEGORY_MODELS[cat].share) < 0.025, cat


def test_same_seed_identical_other_seed_differs(incidents):
    again = simulate_incidents(GRAPH, ATTRACTORS, area=AREA, seed=0, per_year=1500)
    pd.testing.assert_frame_equal(incidents, again)
    other = simulate_incidents(GRAPH, ATTRACTORS, area=AREA, seed=1, per_year=1500)
    assert not other[["x", "y"]].head(50).equals(incidents[["x", "y"]].head(50))


def test_one_category_unchanged_when_another_changes(incidents):
    models = dict(CATEGORY_MODELS)
    models["rodeo_urbain"] = dataclasses.replace(models["rodeo_urbain"], decay_m=400.0)
    other = simulate_incidents(GRAPH, ATTRACTORS, area=AREA, seed=0, per_year=1500, models=models)
    a = (
        incidents[incidents["category"] == "depot_sauvage"]
        .drop(columns="id")
        .reset_index(drop=True)
    )
    b = other[other["category"] == "depot_sauvage"].drop(columns="id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------
# where
# ---------------------------------------------------------------------------------------


def test_street_pieces_cover_each_street_once():
    pieces = street_pieces(GRAPH, AREA)
    # 2 x 7 x 6 streets, one of them bent (100√2 m instead of 100 m), each counted once
    assert pieces.total_length_m == pytest.approx(83 * STEP + 100 * np.sqrt(2))
    assert pieces.length_m.max() <= 10.0 + 1e-9
    half = box(X0 - 30, Y0 - 30, X0 + 250, Y0 + 630)  # keeps x <= 250: streets up to 250 m east
    assert street_pieces(GRAPH, half).total_length_m == pytest.approx(
        7 * 250 + 3 * 600 - 100 + 100 * np.sqrt(2)
    )


def test_points_inside_area_and_within_jitter_of_a_street():
    area = box(X0 - 30, Y0 - 30, X0 + 250, Y0 + 630)  # cuts the east-west streets at x = 250
    df = simulate_incidents(GRAPH, ATTRACTORS, area=area, seed=3, per_year=800)
    pts = shapely.points(df["x"].to_numpy(), df["y"].to_numpy())
    assert shapely.contains(area, pts).all()
    d = shapely.distance(STREETS, pts)
    assert d.max() <= JITTER_M + 0.02  # x, y rounded to the cm
    assert (d > 1.0).mean() > 0.5  # the sideways jitter is really applied
    assert df["x"].max() <= X0 + 250
    # the WGS84 positions, rounded to 6 decimals, are inside the area too
    back = gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326").to_crs(CRS)
    assert back.within(area).all()


def test_violence_concentrates_near_bars_and_fly_tipping_does_not(incidents):
    bars = ATTRACTORS[ATTRACTORS["kind"].isin(["bar", "nightclub"])].union_all().buffer(150)
    pieces = street_pieces(GRAPH, AREA)
    near_length = (
        pieces.length_m[shapely.contains_xy(bars, pieces.x, pieces.y)].sum() / pieces.total_length_m
    )

    def share_near(cat):
        sub = incidents[incidents["category"] == cat]
        return shapely.contains_xy(bars, sub["x"].to_numpy(), sub["y"].to_numpy()).mean()

    assert near_length < 0.2
    assert share_near("violence_voie_publique") > 1.8 * near_length
    assert share_near("depot_sauvage") < 1.5 * near_length


def test_uniform_along_streets_without_attractors(caplog):
    empty = ATTRACTORS.iloc[:0]
    models = {"depot_sauvage": _flat(CATEGORY_MODELS["depot_sauvage"], share=1.0)}
    df = simulate_incidents(
        GRAPH, empty, area=AREA, seed=0, per_year=3000, models=models, place_sigma=0.0
    )
    assert "the risk terrain is flat" in caplog.text
    west = (
        df["x"] < X0 + 300
    ).mean()  # the western half holds half the street length (bent street aside)
    assert abs(west - 0.5) < 0.03


def _top_decile_share(df: pd.DataFrame) -> float:
    """Share of the incidents on the 10 % of street edges (of equal length here) that hold most."""
    pieces = street_pieces(GRAPH, AREA)
    _, idx = cKDTree(np.column_stack([pieces.x, pieces.y])).query(df[["x", "y"]].to_numpy())
    counts = np.sort(np.bincount(pieces.edge[idx], minlength=len(pieces.lines)))[::-1]
    return counts[: len(counts) // 10].sum() / counts.sum()


def test_place_effect_concentrates_incidents_on_few_streets():
    empty = ATTRACTORS.iloc[:0]
    models = {"depot_sauvage": _flat(CATEGORY_MODELS["depot_sauvage"], share=1.0)}
    flat = simulate_incidents(
        GRAPH, empty, area=AREA, seed=0, per_year=3000, models=models, place_sigma=0.0
    )
    hot = simulate_incidents(
        GRAPH, empty, area=AREA, seed=0, per_year=3000, models=models, place_sigma=1.2
    )
    # 84 streets, 107 incidents each on average: with no place effect the top 8 hold ≈ 10 %
    assert _top_decile_share(flat) < 0.13
    # lognormal(σ = 1.2): the top 10 % holds 1 − Φ(1.28 − 1.2) ≈ 47 % of the mass
    # of a large sample (37–42 % among 84 streets)
    assert _top_decile_share(hot) > 0.25


# ---------------------------------------------------------------------------------------
# when
# ---------------------------------------------------------------------------------------


def _night_share(df: pd.DataFrame, cat: str) -> float:
    h = _local(df[df["category"] == cat]).dt.hour
    return float(((h >= 22) | (h < 6)).mean())


def test_hour_profiles_night_share(incidents):
    for cat in ("rodeo_urbain", "depot_sauvage", "incendie_vehicule"):
        hour = np.asarray(CATEGORY_MODELS[cat].hour, float)
        expected = hour[[22, 23, 0, 1, 2, 3, 4, 5]].sum() / hour.sum()
        n = (incidents["category"] == cat).sum()
        assert (
            abs(_night_share(incidents, cat) - expected)
            < 4 * np.sqrt(expected * (1 - expected) / n) + 0.01
        ), cat
    assert _night_share(incidents, "depot_sauvage") < 0.03
    assert _night_share(incidents, "rodeo_urbain") > 3 * _night_share(incidents, "depot_sauvage")
    assert _night_share(incidents, "incendie_vehicule") > 0.6


def test_weekday_profile_fly_tipping_rare_on_sunday_violence_on_saturday(incidents):
    wd = _local(incidents).dt.day_of_week
    depot = wd[incidents["category"] == "depot_sauvage"]
    violence = wd[incidents["category"] == "violence_voie_publique"]
    assert (depot == 6).mean() < 0.6 * (depot == 0).mean()  # Sunday vs Monday (0.5 vs 1.3)
    assert (violence == 5).mean() > 1.5 * (violence == 1).mean()  # Saturday vs Tuesday (1.7 vs 0.8)


def test_school_holiday_effect_zone_b():
    model = _flat(CATEGORY_MODELS["rodeo_urbain"], share=1.0, school_holiday=2.0)
    df = simulate_incidents(
        GRAPH,
        ATTRACTORS,
        area=AREA,
        seed=5,
        per_year=3000,
        models={"rodeo_urbain": model},
        school_zone="B",
    )
    days = pd.date_range("2021-01-01", "2023-12-31", freq="D").date
    sh = SchoolHolidayDates()
    holiday = {d for d in days if sh.is_holiday_for_zone(d, "B")}
    day = _local(df).dt.date
    on = day.isin(holiday)
    rate_ratio = (on.sum() / len(holiday)) / ((~on).sum() / (len(days) - len(holiday)))
    assert 1.75 < rate_ratio < 2.25
    # zone A's winter and spring holidays differ from zone B's: the B-only days see more incidents
    b_only = {
        d for d in days if sh.is_holiday_for_zone(d, "B") and not sh.is_holiday_for_zone(d, "A")
    }
    df_a = simulate_incidents(
        GRAPH,
        ATTRACTORS,
        area=AREA,
        seed=5,
        per_year=3000,
        models={"rodeo_urbain": model},
        school_zone="A",
    )
    assert day.isin(b_only).sum() > 1.4 * _local(df_a).dt.date.isin(b_only).sum()


def test_festive_nights_burn_more_cars():
    model = _flat(CATEGORY_MODELS["incendie_vehicule"], share=1.0, festive=6.0, branching_ratio=0.0)
    df = simulate_incidents(
        GRAPH, ATTRACTORS, area=AREA, seed=2, per_year=1000, models={"incendie_vehicule": model}
    )
    local = _local(df)
    festive = local.dt.strftime("%m-%d").isin(["12-31", "01-01", "07-13", "07-14"])
    n_festive_days = 12
    rate_ratio = (festive.sum() / n_festive_days) / ((~festive).sum() / (1095 - n_festive_days))
    assert 4.0 < rate_ratio < 8.5


# ---------------------------------------------------------------------------------------
# near repeats
# ---------------------------------------------------------------------------------------


def _close_pairs(
    x: np.ndarray, y: np.ndarray, t_days: np.ndarray, *, metres: float = 200, days: float = 14
) -> int:
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    dt_ = np.abs(t_days[:, None] - t_days[None, :])
    close = (d <= metres) & (dt_ <= days)
    return int((np.triu(close, 1)).sum())


def _knox_ratio(df: pd.DataFrame, cat: str) -> float:
    """Close pairs observed / mean close pairs under 20 seeded shuffles of the times (Knox test)."""
    sub = df[df["category"] == cat]
    x, y = sub["x"].to_numpy(), sub["y"].to_numpy()
    t = pd.to_datetime(sub["datetime"], format="ISO8601", utc=True)
    t = ((t - pd.Timestamp("2021-01-01", tz="UTC")).dt.total_seconds() / 86400).to_numpy()
    observed = _close_pairs(x, y, t)
    rng = np.random.default_rng(0)
    shuffled = np.mean([_close_pairs(x, y, rng.permutation(t)) for _ in range(20)])
    return observed / shuffled


def test_near_repeat_burglaries_cluster_in_space_and_time():
    base = _flat(CATEGORY_MODELS["cambriolage"], share=1.0)
    # few enough burglaries (≈ 60 a year on 0.36 km²) that chance neighbours do not drown
    # the repeats
    df = simulate_incidents(
        GRAPH, ATTRACTORS, area=AREA, seed=0, per_year=60, models={"cambriolage": base}
    )
    assert _knox_ratio(df, "cambriolage") > 1.3
    # the control: the same model without branching shows no space-time clustering
    control = dataclasses.replace(base, branching_ratio=0.0)
    df0 = simulate_incidents(
        GRAPH, ATTRACTORS, area=AREA, seed=0, per_year=60, models={"cambriolage": control}
    )
    assert 0.75 < _knox_ratio(df0, "cambriolage") < 1.2


def test_vehicle_fires_are_self_exciting_by_default(incidents):
    assert CATEGORY_MODELS["incendie_vehicule"].branching_ratio > 0
    assert CATEGORY_MODELS["cambriolage"].branching_ratio > 0
    fires = _knox_ratio(incidents, "incendie_vehicule")
    assert fires > 1.2
    # rodéos (no branching, similar count) show no space-time interaction
    assert fires > _knox_ratio(incidents, "rodeo_urbain") + 0.2


# ---------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------


def test_source_mix(incidents):
    src = incidents.groupby("category")["source"].value_counts(normalize=True)
    assert src["depot_sauvage"]["services_techniques"] > 0.55
    assert src["cambriolage"]["police_nationale"] > 0.7
    assert "transporteur" not in src["cambriolage"]
    # the bailleur social reports more of the tags near its building than elsewhere
    model = dataclasses.replace(CATEGORY_MODELS["degradation_tag"], share=1.0)
    tags = simulate_incidents(
        GRAPH,
        ATTRACTORS,
        area=AREA,
        seed=0,
        per_year=2000,
        models={"degradation_tag": model},
        place_sigma=0.0,
    )
    near = np.hypot(tags["x"] - (X0 + 100), tags["y"] - (Y0 + 50)) < 40
    assert near.sum() > 40
    bailleur = tags["source"] == "bailleur_social"
    assert bailleur[near].mean() > bailleur[~near].mean() + 0.15


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once():
    bad = ATTRACTORS.rename(columns={"kind": "type"})
    with pytest.raises(InputError) as err:
        simulate_incidents(
            GRAPH, bad, area=AREA, start="2023-12-31", end="2021-01-01", school_zone="Z", per_year=0
        )
    msg = str(err.value)
    for part in ("'kind' column", "end='2021-01-01' is before", "school_zone='Z'", "per_year=0"):
        assert part in msg


def test_geographic_or_mismatched_crs_rejected():
    g = GRAPH.copy()
    g.graph["crs"] = "EPSG:4326"
    with pytest.raises(InputError, match="not projected"):
        simulate_incidents(g, ATTRACTORS.set_crs("EPSG:4326", allow_override=True), area=AREA)
    with pytest.raises(InputError, match="attractors: CRS"):
        simulate_incidents(GRAPH, ATTRACTORS.to_crs("EPSG:2154"), area=AREA)
    g.graph.pop("crs")
    with pytest.raises(InputError, match="no 'crs' attribute"):
        simulate_incidents(g, ATTRACTORS, area=AREA)
    df = simulate_incidents(g, ATTRACTORS, area=AREA, crs=CRS, per_year=50)
    assert len(df) > 0


def test_area_without_streets_rejected():
    far = box(X0 + 10_000, Y0, X0 + 11_000, Y0 + 1000)
    with pytest.raises(InputError, match="no street of the graph lies inside area"):
        simulate_incidents(GRAPH, ATTRACTORS, area=far)


def test_unknown_years_rejected():
    with pytest.raises(InputError, match="school holidays are known for"):
        simulate_incidents(GRAPH, ATTRACTORS, area=AREA, start="2040-01-01", end="2040-12-31")


def test_module_docstring_states_the_parameters_in_use():
    import siteplanner.incidents.simulate as simulate

    doc = simulate.__doc__
    flat = " ".join(doc.split())  # list items wrap at 100 characters
    for cat, m in CATEGORY_MODELS.items():
        assert f"{cat:<22}  {m.share:<5.2f}  {m.decay_m:<5.0f}" in doc, cat
        assert f"``{cat}``: " + ", ".join(f"{k} {v:g}" for k, v in m.attractor_rrv) in flat, cat
    assert abs(sum(m.share for m in CATEGORY_MODELS.values()) - 1.0) < 1e-9
