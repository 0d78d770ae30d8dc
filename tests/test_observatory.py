"""Tests of the observatory (OLS): hand-built streets with known answers, then the real command."""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import geopandas as gpd
import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

matplotlib.use("Agg")

from siteplanner._errors import InputError  # noqa: E402
from siteplanner.incidents import read as incidents
from siteplanner.incidents.windows import TimeWindow  # noqa: E402
from siteplanner.modes import observatory  # noqa: E402
from siteplanner.observatory import (
    analysis,  # noqa: E402
    stats,  # noqa: E402
)
from siteplanner.town.load import Town  # noqa: E402

from .conftest import ROOT, copy_scenario  # noqa: E402

OBSERVATOIRE = ROOT / "scenarios" / "beausoleil_observatoire.toml"

CRS = "EPSG:32632"
X0, Y0 = 380_000.0, 4_845_000.0  # somewhere in UTM 32N; the street runs east from here


def street_town(*, pois: list[tuple[str, str, float]] = ()) -> Town:
    """One straight 1,000 m street (nodes every 100 m) inside a 1,100 m x 100 m commune."""
    g = nx.MultiDiGraph(crs=CRS)
    for i in range(11):
        g.add_node(i, x=X0 + 100.0 * i, y=Y0)
    for i in range(10):
        line = shapely.LineString([(X0 + 100.0 * i, Y0), (X0 + 100.0 * (i + 1), Y0)])
        g.add_edge(i, i + 1, 0, length=100.0, geometry=line, name="rue Principale")
        g.add_edge(i + 1, i, 0, length=100.0, geometry=line.reverse(), name="rue Principale")
    area = shapely.box(X0 - 50, Y0 - 50, X0 + 1050, Y0 + 50)
    p = gpd.GeoDataFrame(
        {
            "kind": [k for k, _, _ in pois],
            "name": [n for _, n, _ in pois],
            "osm_id": [f"node/{i + 1}" for i in range(len(pois))],
        },
        geometry=[shapely.Point(X0 + x, Y0) for _, _, x in pois],
        crs=CRS,
    )
    b = gpd.GeoDataFrame(
        {"building": [], "name": [], "height_m": [], "residential": []}, geometry=[], crs=CRS
    )
    return Town(
        name="Rueville", crs=CRS, area=area, graph=g, buildings=b, pois=p, source="hand-built"
    )


def incident_frame(
    rows: list[tuple[float, str, str]],
    *,
    category: str = "degradation_tag",
    source: str = "police_municipale",
    file: str = "a_synthetic.csv",
    prefix: str = "A",
) -> gpd.GeoDataFrame:
    """Incidents at ``(x along the street, local time, category)``."""
    times = pd.to_datetime(pd.Series([t for _, t, _ in rows], dtype=object)).dt.tz_localize(
        "Europe/Paris"
    )
    return gpd.GeoDataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(len(rows))],
            "datetime": times,
            "category": [c or category for _, _, c in rows],
            "source": source,
            "synthetic": True,
            "file": file,
        },
        geometry=[shapely.Point(X0 + x, Y0) for x, _, _ in rows],
        crs=CRS,
    )


NOW = "2023-03-15 10:00"  # in 2023-S1
PREV = "2022-10-12 10:00"  # in 2022-S2, the previous semester
ALL = (TimeWindow("toutes heures"),)


# --------------------------------------------------------------------------- small pieces
def test_count_table_source_by_category():
    a = incident_frame(
        [(10, NOW, "cambriolage"), (20, NOW, "cambriolage"), (30, NOW, "rodeo_urbain")]
    )
    b = incident_frame([(40, NOW, "cambriolage")], source="police_nationale", prefix="B")
    t = stats.count_table(pd.concat([a, b], ignore_index=True))
    assert t.loc["police_municipale", "cambriolage"] == 2
    assert t.loc["police_municipale", "rodeo_urbain"] == 1
    assert t.loc["police_nationale", "cambriolage"] == 1
    assert t.loc["police_nationale", "rodeo_urbain"] == 0
    assert t.loc["total", "total"] == 4
    assert list(t.index) == ["police_municipale", "police_nationale", "total"]


def test_duplicates_across_sources_are_dropped_and_reported():
    first = incident_frame(
        [
            (100, "2023-03-15 10:00", "cambriolage"),
            (500, "2023-03-15 10:00", "cambriolage"),
            (800, "2023-03-15 10:00", "cambriolage"),
        ],
        source="police_nationale",
        file="pn.csv",
        prefix="PN",
    )
    second = incident_frame(
        [
            (104, "2023-03-15 10:20", "cambriolage"),  # 4 m, 20 min, same category: a duplicate
            (500, "2023-03-15 10:05", "rodeo_urbain"),  # same place and time, other category: kept
            (830, "2023-03-15 10:00", "cambriolage"),  # 30 m away: kept
        ],
        source="police_municipale",
        file="pm.csv",
        prefix="PM",
    )
    twin = incident_frame(
        [(900, "2023-03-15 10:00", "cambriolage"), (902, "2023-03-15 10:01", "cambriolage")],
        file="pm2.csv",
        prefix="T",
    )  # close pair within one file: not a cross-source duplicate...
    merged, n = incidents.merge_sources([first, second])
    assert n == 1
    assert "PM0" not in set(merged["id"]) and "PN0" in set(
        merged["id"]
    )  # the first file's row is kept
    report = stats.merge_report([first, second], merged)
    assert report["duplicates_dropped"] == 1
    assert report["files"]["pm.csv"] == {
        "rows": 3,
        "duplicates_dropped": 1,
        "sources": ["police_municipale"],
    }
    assert report["files"]["pn.csv"]["duplicates_dropped"] == 0
    merged2, n2 = incidents.merge_sources([twin])
    assert (
        n2 == 0 and len(merged2) == 2
    )  # ...and a single file is never de-duplicated against itself


def test_segment_classes_follow_gi_star_thresholds():
    z = np.array([3.0, 2.58, 2.0, 1.96, 1.7, 1.65, 1.6, -2.5, np.nan])
    assert list(stats.segment_class(z)) == [
        "très chaud",
        "très chaud",
        "chaud",
        "chaud",
        "tiède",
        "tiède",
        "froid",
        "froid",
        "froid",
    ]


def test_change_test_exact_binomial():
    expected, p, trend = stats.change_test(
        np.array([10, 0, 5, 1, 0]), np.array([0, 10, 5, 1, 0]), 0.5, min_count=3
    )
    assert list(trend) == ["hausse", "baisse", "stable", "masqué", "masqué"]
    assert p[0] == pytest.approx(2 * 0.5**10)  # two-sided: P(X=10) + P(X=0)
    assert p[2] == pytest.approx(1.0)
    assert np.isnan(p[3]) and np.isnan(p[4])
    assert expected[0] == pytest.approx(5.0)
    # unequal periods: 6 of 6 incidents in a period holding 3/4 of the time is no significant rise
    _, p2, t2 = stats.change_test(np.array([6]), np.array([0]), 0.75)
    pmf = [math.comb(6, k) * 0.75**k * 0.25 ** (6 - k) for k in range(7)]
    assert p2[0] == pytest.approx(
        sum(q for q in pmf if q <= pmf[6] * (1 + 1e-7))
    )  # 0.347: outcomes 0-3 and 6
    assert t2[0] == "stable"
    with pytest.raises(InputError, match="share"):
        stats.change_test(np.array([1]), np.array([1]), 1.0)


def test_exposure_days_count_admitted_days():
    assert stats.exposure_days(TimeWindow("all"), "2023-S1") == 181
    assert stats.exposure_days(TimeWindow("all"), "2022-S2") == 184
    assert stats.exposure_days(TimeWindow("soirée", hours=(18, 24)), "2023-S1") == 181
    d, weekend = dt.date(2023, 1, 1), 0
    while d < dt.date(2023, 7, 1):
        weekend += d.weekday() >= 5
        d += dt.timedelta(days=1)
    assert stats.exposure_days(TimeWindow("we", days="weekend"), "2023-S1") == weekend == 51


# ----------------------------------------------------------------- build on hand-built streets
def test_indicators_counts_rates_and_change_per_place():
    town = street_town(
        pois=[
            ("school", "École A", 200.0),
            ("station", "Gare", 950.0),
            ("bus_stop", "Arrêt", 500.0),
        ]
    )
    qpv = gpd.GeoDataFrame(
        {"name": ["QPV des Pins"]},
        geometry=[shapely.box(X0 + 600, Y0 - 50, X0 + 800, Y0 + 50)],
        crs=CRS,
    )
    rows = (
        [
            (150, NOW, None),
            (200, NOW, None),
            (250, NOW, None),
            (290, NOW, None),
        ]  # school zone, now: 4
        + [(210, PREV, None), (220, PREV, None)]  # school zone, before: 2
        + [(650, NOW, None)]
        + [(700, PREV, None), (750, PREV, None), (790, PREV, None)]  # QPV 1 vs 3
        + [(50, NOW, None)]
        + [(40, "2021-03-01 10:00", None)]
    )  # elsewhere; 2021: ignored
    res = analysis.build(
        town,
        incident_frame(rows),
        period="2023-S1",
        windows=ALL,
        qpv=qpv,
        sensitive_radius_m=100.0,
        lixel_m=100.0,
        bandwidth_m=200.0,
    )
    assert res.previous_period == "2022-S2"
    ind = res.indicators.set_index("place_kind")
    assert list(res.indicators["place_kind"]) == ["commune", "qpv", "school", "gare"]  # no bus stop
    school, q, gare, commune = (
        ind.loc["school"],
        ind.loc["qpv"],
        ind.loc["gare"],
        ind.loc["commune"],
    )
    assert school["name"] == "École A" and q["name"] == "QPV des Pins" and gare["name"] == "Gare"
    assert school["street_km"] == pytest.approx(0.2)  # 100 m on either side of the school
    assert school["count"] == 4 and school["count_previous"] == 2
    assert school["rate_per_km"] == pytest.approx(20.0) and school[
        "rate_previous_per_km"
    ] == pytest.approx(10.0)
    assert school["change"] == 2 and school["change_pct"] == pytest.approx(100.0)
    assert q["street_km"] == pytest.approx(0.2) and q["count"] == 1 and q["count_previous"] == 3
    assert q["change_pct"] == pytest.approx(-100 * 2 / 3)
    assert gare["street_km"] == pytest.approx(0.15)  # 850..1,000 m: the street ends at 1,000 m
    assert gare["count"] == 0 and np.isnan(gare["change_pct"])  # no incident before: no percentage
    assert commune["street_km"] == pytest.approx(1.0)
    assert (
        commune["count"] == 6 and commune["count_previous"] == 5
    )  # the 2021 incident is in neither period
    assert res.counts.loc["total", "total"] == 6 and res.counts_previous.loc["total", "total"] == 5
    assert set(ind["trend"]) == {"stable"}


def test_windows_select_hours_and_name_every_product():
    town = street_town()
    rows = [
        (50, "2023-03-15 19:00", None),
        (60, "2023-03-16 20:30", None),
        (70, "2023-03-17 10:00", None),
    ]
    wins = (TimeWindow("toutes heures"), TimeWindow("soirée", hours=(18, 24)))
    res = analysis.build(town, incident_frame(rows), period="2023-S1", windows=wins)
    ind = res.indicators[res.indicators["place_kind"] == "commune"].set_index("window")
    assert ind.loc["toutes heures", "count"] == 3 and ind.loc["soirée", "count"] == 2
    assert [g.window for g in res.grids] == ["toutes heures · 2023-S1", "soirée · 2023-S1"]
    assert set(res.segments["window"]) == {"toutes heures", "soirée"} and set(
        res.segments["period"]
    ) == {"2023-S1"}
    assert set(res.comparison["window"]) == {"toutes heures"}


def test_small_counts_are_suppressed_in_shared_products():
    town = street_town()
    rows = [(40, NOW, None), (50, NOW, None), (60, NOW, None), (540, NOW, None), (560, NOW, None)]
    res = analysis.build(
        town,
        incident_frame(rows),
        period="2023-S1",
        windows=ALL,
        lixel_m=100.0,
        bandwidth_m=150.0,
        min_count=3,
    )
    seg = res.segments.set_index("segment_id")
    assert seg["count"].sum() == 5
    shared = analysis.shared_segments(res).set_index("segment_id")
    hot = seg.index[seg["count"] == 3]
    two = seg.index[seg["count"] == 2]
    assert len(hot) == 1 and len(two) == 1
    assert (
        shared.loc[hot[0], "count"] == 3
        and shared.loc[hot[0], "intensity"] > 0
        and shared.loc[hot[0], "shown"]
    )
    assert pd.isna(shared.loc[two[0], "count"]) and np.isnan(shared.loc[two[0], "intensity"])
    # the 2 incidents near 550 m are the only ones within 150 m of that segment: no z, no class
    # either
    assert np.isnan(shared.loc[two[0], "gi_star_z"]) and shared.loc[two[0], "class"] == "masqué"
    assert not shared.loc[two[0], "shown"]
    assert shared["count"].dropna().min() >= 3
    # raster: cells near the 3 incidents show a density, cells near the 2 are masked
    g = res.grids[0]
    near3 = g.values[:, int((X0 + 50 - g.transform.c) // g.cell_m)]
    near2 = g.values[:, int((X0 + 550 - g.transform.c) // g.cell_m)]
    assert np.nanmax(near3) > 0 and np.isnan(near2).all()
    # comparison: 5 incidents in the 0-100 m cell group, none before: cells with < 3 are masked
    cells = res.comparison
    assert set(cells.loc[cells["count"] + cells["count_previous"] < 3, "trend"]) <= {"masqué"}
    assert "count" not in analysis.shared_comparison(res).columns


def test_comparison_up_down_stable_per_cell():
    town = street_town()
    rows = (
        [(150, NOW, None)] * 10  # cell 100-200 m: 10 vs 0 -> hausse
        + [(450, PREV, None)] * 10  # cell 400-500 m: 0 vs 10 -> baisse
        + [(750, NOW, None)] * 5
        + [(750, PREV, None)] * 5  # 5 vs 5 -> stable
        + [(950, NOW, None), (950, PREV, None)]
    )  # 1 vs 1 -> masqué
    res = analysis.build(
        town, incident_frame(rows), period="2023-S1", windows=ALL, compare_cell_m=100.0
    )
    c = res.comparison
    c = c[
        c["count"] + c["count_previous"] > 0
    ]  # the street runs on a cell edge: keep the cells that hold it
    xs = c.geometry.centroid.x - X0
    trend_at = {int(x // 100): t for x, t in zip(xs, c["trend"])}
    assert (
        trend_at[1] == "hausse"
        and trend_at[4] == "baisse"
        and trend_at[7] == "stable"
        and trend_at[9] == "masqué"
    )
    share = 181 / (181 + 184)
    row = c[(xs > 100) & (xs < 200)].iloc[0]
    assert row["count"] == 10 and row["count_previous"] == 0
    pmf = [math.comb(10, k) * share**k * (1 - share) ** (10 - k) for k in range(11)]
    assert row["p_value"] == pytest.approx(
        share**10
    )  # P(X=0) = 0.504^10 > P(X=10): only one outcome as extreme
    assert row["p_value"] == pytest.approx(sum(q for q in pmf if q <= pmf[10] * (1 + 1e-7)))
    shared = analysis.shared_comparison(res)
    assert "masqué" not in set(shared["trend"]) and set(shared["trend"]) == {
        "hausse",
        "baisse",
        "stable",
    }


def test_build_rejects_bad_arguments_listing_every_problem():
    town = street_town()
    inc = incident_frame([(50, NOW, None)])
    with pytest.raises(InputError) as e:
        analysis.build(town, inc, period="2023-S3", windows=ALL, min_count=0, lixel_m=-1)
    msg = str(e.value)
    assert "period='2023-S3'" in msg and "min_count=0" in msg and "lixel_m=-1" in msg
    with pytest.raises(InputError, match="own period"):
        analysis.build(town, inc, period="2023-S1", windows=(TimeWindow("x", period="2023"),))
    with pytest.raises(InputError, match="duplicate window name"):
        analysis.build(
            town, inc, period="2023-S1", windows=(TimeWindow("x"), TimeWindow("x", hours=(0, 6)))
        )
    with pytest.raises(InputError, match="CRS"):
        analysis.build(town, inc.to_crs("EPSG:2154"), period="2023-S1", windows=ALL)


def test_write_produces_the_named_files(tmp_path):
    import rasterio

    town = street_town(pois=[("school", "École A", 200.0)])
    rows = [(x, NOW, None) for x in (40, 50, 60, 210, 220, 230)] + [
        (x, PREV, None) for x in (45, 55)
    ]
    res = analysis.build(
        town,
        incident_frame(rows),
        period="2023-S1",
        sensitive_radius_m=100.0,
        windows=(TimeWindow("toutes heures"), TimeWindow("soirée", hours=(18, 24))),
    )
    files = observatory.write(res, tmp_path / "obs", town_source="hand-built")
    names = sorted(f.name for f in files)
    assert names == [
        "comparison.geojson",
        "comparison.png",
        "hotspot_segments.geojson",
        "hotspots.tif",
        "observatory.csv",
        "summary.json",
    ]
    assert not [
        p for p in (tmp_path / "obs").iterdir() if p.name.startswith(".")
    ]  # no staging left
    with rasterio.open(tmp_path / "obs" / "hotspots.tif") as src:
        assert src.crs.to_epsg() == 32632 and src.count == 2
        assert (
            src.tags()["period"] == "2023-S1" and src.tags()["window"] == "toutes heures · 2023-S1"
        )
        assert src.tags(2)["window"] == "soirée" and src.descriptions[1] == "soirée · 2023-S1"
    seg = json.loads((tmp_path / "obs" / "hotspot_segments.geojson").read_text())
    counts = [f["properties"]["count"] for f in seg["features"]]
    assert all(c is None or c >= 3 for c in counts) and any(c is not None for c in counts)
    assert all(
        f["properties"]["intensity"] is None
        for f in seg["features"]
        if f["properties"]["count"] is None
    )
    csv = pd.read_csv(tmp_path / "obs" / "observatory.csv")
    school = csv[(csv["place_kind"] == "school") & (csv["window"] == "toutes heures")].iloc[0]
    assert (
        school["count"] == 3
        and school["period"] == "2023-S1"
        and school["previous_period"] == "2022-S2"
    )
    summ = json.loads((tmp_path / "obs" / "summary.json").read_text())
    assert summ["periods_compared"] == ["2023-S1", "2022-S2"]
    assert summ["counts_by_source_category"]["police_municipale"]["degradation_tag"] == 6
    assert [w["name"] for w in summ["windows"]] == ["toutes heures", "soirée"]
    assert summ["synthetic_incidents"] is True


# --------------------------------------------------------------------------- the real town
def test_observatory_command_on_beausoleil_multi_source(tmp_path):
    from typer.testing import CliRunner

    from siteplanner.cli import app

    out = tmp_path / "obs"
    r = CliRunner().invoke(
        app,
        [
            "-q",
            "observatory",
            str(copy_scenario(OBSERVATOIRE, tmp_path / "sc")),
            "--period",
            "2023-S1",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    summ = json.loads((out / "summary.json").read_text())
    assert (
        summ["duplicates_dropped"] == 20
    )  # the 20 planted police nationale / municipale duplicates
    assert (
        summ["ingest"]["files"]["observatoire_synthetic_police_municipale.csv"][
            "duplicates_dropped"
        ]
        == 20
    )
    assert summ["ingest"]["incidents_read"] == 2311 - 20
    assert summ["previous_period"] == "2022-S2" and summ["synthetic_incidents"] is True
    assert set(summ["counts_by_source_category"]) == {
        "bailleur_social",
        "police_municipale",
        "police_nationale",
        "services_techniques",
        "transporteur",
        "total",
    }
    # the same incidents as the single synthetic file over these semesters (duplicates removed)
    single = incidents.read_table(
        ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
    )
    t = (
        pd.to_datetime(single["datetime"], utc=True)
        .dt.tz_convert("Europe/Paris")
        .dt.tz_localize(None)
    )
    in_s1 = ((t >= "2023-01-01") & (t < "2023-07-01")).sum()
    assert (
        summ["incidents"]["period"] <= in_s1 and summ["incidents"]["period"] >= in_s1 - 5
    )  # a few fall outside
    seg = gpd.read_file(out / "hotspot_segments.geojson")
    assert set(seg["window"]) == {
        "toutes heures",
        "soirée",
        "nuit",
        "week-end",
        "vacances scolaires",
    }
    assert seg["count"].dropna().min() >= 3
    assert seg.loc[seg["count"].isna(), "intensity"].isna().all()
    ind = pd.read_csv(out / "observatory.csv")
    assert (ind["place_kind"] == "school").any() and (ind["place_kind"] == "commune").sum() == 5
    r2 = CliRunner().invoke(
        app,
        [
            "observatory",
            str(copy_scenario(OBSERVATOIRE, tmp_path / "sc")),
            "--period",
            "2023-S7",
            "--out",
            str(tmp_path / "bad"),
        ],
    )
    assert r2.exit_code == 1 and "2023-S7" in r2.output


def test_build_on_the_real_town_has_consistent_totals(town):
    spec = incidents.IncidentSpec(
        ROOT / "data" / "incidents" / "beausoleil_synthetic_2021-2023.csv"
    )
    inc = incidents.read_incidents(spec, area=town.area, crs=town.crs)
    res = analysis.build(
        town,
        inc,
        period="2023",
        windows=(TimeWindow("toutes heures"), TimeWindow("nuit", hours=(0, 6))),
    )
    assert res.previous_period == "2022"
    n23 = int((inc["datetime"].dt.year == 2023).sum())
    assert res.counts.loc["total", "total"] == n23
    seg = res.segments[res.segments["window"] == "toutes heures"]
    assert seg["count"].sum() == n23  # every incident snapped to one segment
    com = res.indicators[(res.indicators["place_kind"] == "commune")].set_index("window")
    assert com.loc["toutes heures", "count"] == n23
    assert com.loc["nuit", "count"] < com.loc["toutes heures", "count"]
    assert (seg["class"] != "froid").any()  # the synthetic file has hotspots


# --------------------------------------------------------------------------- multiple tests
def test_bh_adjust_known_values():
    # Benjamini & Hochberg's rule by hand: m = 5, q_(i) = min_{j>=i} 5 p_(j) / j
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5, 0.02])
    q = stats.bh_adjust(p)
    assert np.isnan(q[3])
    assert q[[0, 5, 2, 1, 4]] == pytest.approx([0.05, 0.05, 0.05, 0.05, 0.5])
    assert stats.bh_adjust(np.array([0.2, 0.9])) == pytest.approx([0.4, 0.9])
    assert np.isnan(stats.bh_adjust(np.array([np.nan]))).all()
    assert stats.bh_adjust(np.array([0.9, 0.95, 0.99])).max() <= 1.0


def test_change_test_corrects_for_many_cells():
    # 40 stable cells (3 vs 3) and one cell 7 vs 0: alone p = 2 * 0.5**7 = 0.0156 < 0.05 (hausse),
    # among 41 cells its q-value is 41 * 0.0156 > 0.05 (stable); a cell 14 vs 0 stays a rise
    a = np.array([3] * 40 + [7])
    b = np.array([3] * 40 + [0])
    _, p_raw, t_raw = stats.change_test(a, b, 0.5, correction="none")
    _, p, t = stats.change_test(a, b, 0.5)
    assert p[-1] == pytest.approx(2 * 0.5**7) and p_raw[-1] == p[-1]  # the raw p-value is kept
    assert t_raw[-1] == "hausse" and t[-1] == "stable"
    _, p2, t2 = stats.change_test(np.r_[a, 14], np.r_[b, 0], 0.5)
    assert t2[-1] == "hausse" and stats.bh_adjust(p2)[-1] < 0.05
    with pytest.raises(InputError, match="correction"):
        stats.change_test(a, b, 0.5, correction="bonferroni")


def test_observatory_csv_holds_nothing_below_min_count():
    from types import SimpleNamespace

    ind = pd.DataFrame(
        {
            "place_kind": ["commune", "school", "gare"],
            "place_id": ["c", "s", "g"],
            "name": ["C", "S", "G"],
            "window": "all",
            "street_km": [10.0, 1.0, 1.0],
            "count": [40, 2, 0],
            "count_previous": [30, 5, 1],
            "change": [10, -3, -1],
            "change_pct": [33.3, -60.0, -100.0],
            "rate_per_km": [4.0, 2.0, 0.0],
            "rate_previous_per_km": [3.0, 5.0, 1.0],
            "p_value": [0.3, 0.4, 1.0],
            "q_value": [0.6, 0.6, 1.0],
            "trend": ["stable"] * 3,
        }
    )
    res = SimpleNamespace(
        indicators=ind, period="2023-S1", previous_period="2022-S2", min_count=3, synthetic=True
    )
    csv = pd.read_csv(io.StringIO(analysis.indicators_csv(res)))
    assert csv["count"].tolist()[0] == 40 and csv["count_previous"].tolist()[0] == 30
    counts = pd.concat([csv["count"], csv["count_previous"]]).dropna()
    assert not ((counts > 0) & (counts < 3)).any()  # 2 and 1 are blank
    school, gare = csv.iloc[1], csv.iloc[2]
    assert (
        pd.isna(school["count"])
        and school["count_previous"] == 5
        and pd.isna(school["rate_per_km"])
    )
    assert (
        pd.isna(school["change"]) and pd.isna(school["change_pct"]) and pd.isna(school["p_value"])
    )
    assert gare["count"] == 0 and pd.isna(gare["count_previous"]) and pd.isna(gare["change"])
    assert csv["shareable"].tolist() == [True, False, False] and (csv["trend"] == "stable").all()
