"""plan.gpkg (layers, CRS, QGIS styles) and prefecture.csv."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from siteplanner.outputs import export


def test_gpkg_layers_read_back(default_run):
    res, out, files = default_run
    path = out / "plan.gpkg"
    assert path in files
    names = [n for n, _ in pyogrio.list_layers(path)]
    for layer in [
        "study_area",
        "existing_cameras",
        "proposed_sites",
        "viewsheds",
        "privacy_masks",
        "hotspot_segments",
        "patrols",
        "sensitive_sites",
    ]:
        assert layer in names
        g = pyogrio.read_dataframe(path, layer=layer)
        assert g.crs is not None and g.crs.to_epsg() == 32632, layer
    n_prop = int((res.sites["status"] == "proposed").sum())
    n_ex = int((res.sites["status"] == "existing").sum())
    counts = {n: len(pyogrio.read_dataframe(path, layer=n)) for n in names if n != "layer_styles"}
    assert counts["proposed_sites"] == n_prop > 0
    assert counts["existing_cameras"] == n_ex  # Beausoleil's OSM extract maps none
    assert counts["viewsheds"] == n_prop + n_ex
    assert (
        counts["privacy_masks"]
        == int(res.sites.loc[res.sites["status"] != "candidate", "privacy_mask"].sum())
        > 0
    )
    assert counts["patrols"] == len(res.circuits)
    for layer in [
        "study_area",
        "proposed_sites",
        "viewsheds",
        "privacy_masks",
        "hotspot_segments",
        "patrols",
        "sensitive_sites",
    ]:
        assert counts[layer] > 0, layer
    ps = pyogrio.read_dataframe(path, layer="proposed_sites")
    assert sorted(ps["site_id"]) == sorted(
        res.sites.loc[res.sites["status"] == "proposed", "site_id"]
    )
    assert set(ps["review"]) <= {"accept", "reject", "move", "pending"}
    # proposed sites lie inside the study area (positions were not garbled by the export)
    area = pyogrio.read_dataframe(path, layer="study_area").geometry.iloc[0]
    assert ps.within(area.buffer(1.0)).all()


def test_gpkg_styles_embedded_like_qgis(default_run):
    _, out, _ = default_run
    con = sqlite3.connect(out / "plan.gpkg")
    try:
        rows = con.execute(
            "SELECT f_table_name, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        contents = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'"
        ).fetchone()
    finally:
        con.close()
    styled = {r[0] for r in rows}
    assert {
        "study_area",
        "proposed_sites",
        "viewsheds",
        "privacy_masks",
        "hotspot_segments",
        "patrols",
    } <= styled
    assert contents == ("attributes",)
    for name, qml, default in rows:
        root = ET.fromstring(qml.split("\n", 1)[1])  # drop the DOCTYPE line
        assert root.tag == "qgis" and root.find("renderer-v2") is not None, name
        assert default == 1
    hot = dict((r[0], r[1]) for r in rows)["hotspot_segments"]
    assert 'type="graduatedSymbol"' in hot and 'attr="per_100m"' in hot


def test_hotspot_segments_hide_small_counts(default_run):
    res, _, _ = default_run
    segs = res.figures.hotspot_segments
    mc = res.scenario.hotspots.min_count_shared
    shown = segs["incidents"].dropna()
    assert len(shown) > 0 and (shown >= mc).all()
    assert segs["incidents"].isna().any()  # some segments are blanked
    # counted incidents never exceed the window's incidents
    assert shown.sum() <= len(res.window_incidents)


def test_prefecture_table(default_run):
    res, out, _ = default_run
    full = pd.read_csv(out / "prefecture.csv", keep_default_na=False)
    assert tuple(full.columns) == export.PREFECTURE_COLUMNS
    # the town entrances are proposals to the State partner, with the LAPI legal note; never cameras
    ent = full[full["type"] == "entrée de ville"]
    assert len(ent) == len(res.entrances) > 0
    assert set(ent["status"]) == {"proposition au partenaire État"}
    assert ent["note"].str.contains("L233-1").all() and ent["note"].str.contains("385091").all()
    assert (
        not full.loc[full["type"] != "entrée de ville", "type"]
        .str.contains("lapi", case=False)
        .any()
    )
    df = pd.read_csv(out / "prefecture.csv")
    df = df[df["type"] != "entrée de ville"].reset_index(drop=True)
    shown = res.sites[res.sites["status"].isin(["existing", "proposed"])]
    assert sorted(df["camera_id"]) == sorted(shown["site_id"])
    assert set(df["privacy_mask"]) <= {"oui", "non"}
    # the mask flag agrees with the pipeline's privacy figures
    flag = dict(zip(shown["site_id"], shown["privacy_mask"]))
    assert all((m == "oui") == bool(flag[c]) for c, m in zip(df["camera_id"], df["privacy_mask"]))
    # positions round-trip to the projected sites within a metre
    back = gpd.GeoSeries.from_xy(df["lon"], df["lat"], crs="EPSG:4326").to_crs(res.town.crs)
    orig = shown.set_index("site_id").geometry.loc[df["camera_id"]]
    assert np.all(back.distance(orig.reset_index(drop=True)) < 1.0)
    assert (df["address"].str.len() > 0).all() and (df["address"] != "voie sans nom").mean() > 0.5
    assert set(df["commune"]) == {res.town.name}
    # the site as the référent names it leads the row; the OSM id stays as the reference
    assert export.PREFECTURE_COLUMNS[:4] == ("address", "near", "commune", "camera_id")
    names = res.figures.addresses.loc[shown.index]
    by_id = dict(zip(shown["site_id"], names["address"]))
    assert df["address"].tolist() == [by_id[c] for c in df["camera_id"]]
    # most proposed sites are street crossings: named by the streets that meet there
    prop = df[df["status"] == "proposed"]
    assert prop["address"].str.startswith(("angle ", "carrefour ")).mean() > 0.5
    assert (prop["near"].fillna("").str.startswith("près d")).any()


def test_unknown_style_layer():
    with pytest.raises(KeyError, match="no style"):
        export.layer_style_qml("nope")
