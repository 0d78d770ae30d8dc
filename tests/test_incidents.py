"""Incident validation: every problem at once, with line numbers; unambiguous repairs."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from siteplanner._errors import InputError
from siteplanner.incidents.read import IncidentSpec, merge_sources, read_incidents

CRS = "EPSG:32632"
# a 2 km square around Beausoleil, in UTM 32N
AREA = box(372000, 4843500, 374500, 4846000)
HEADER = "id,datetime,category,source,lon,lat\n"
GOOD = "A1,2023-05-14T22:30:00+02:00,cambriolage,police_nationale,7.4235,43.7425\n"


def _write(tmp_path, text, name="inc.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_good_file_is_read_and_projected(tmp_path):
    p = _write(
        tmp_path,
        HEADER + GOOD + "A2,2023-05-15T08:00:00,depot_sauvage,services_techniques,7.4240,43.7430\n",
    )
    gdf = read_incidents(IncidentSpec(p), area=AREA, crs=CRS)
    assert list(gdf["id"]) == ["A1", "A2"]
    assert gdf.crs == CRS
    assert str(gdf["datetime"].dt.tz) == "Europe/Paris"
    assert gdf["datetime"].iloc[0].hour == 22
    assert not gdf["synthetic"].any()


def test_every_problem_reported_once_with_line_numbers(tmp_path):
    text = (
        HEADER
        + GOOD
        + (
            # line 3: bad date; 4: unknown category; 5: duplicate of line 2; 6: swapped;
            # 7: missing lon
            "A2,14 mai 2023,cambriolage,police_nationale,7.4235,43.7425\n"
            "A3,2023-05-14T10:00:00,graffiti,police_nationale,7.4235,43.7425\n"
            "A1,2023-05-14T10:00:00,cambriolage,police_nationale,7.4235,43.7425\n"
            "A5,2023-05-14T10:00:00,cambriolage,police_nationale,43.7425,7.4235\n"
            "A6,2023-05-14T10:00:00,cambriolage,police_nationale,,43.74\n"
        )
    )
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_incidents(IncidentSpec(p), area=AREA, crs=CRS)
    msg = str(err.value)
    assert str(p) in msg
    assert "line 3: bad datetime '14 mai 2023'" in msg
    assert "line 4: unknown category 'graffiti'" in msg and "cambriolage" in msg
    assert "lines 2, 5: duplicate id 'A1'" in msg
    assert "line 6: lon 43.7425 and lat 7.4235 look swapped" in msg
    assert "line 7: missing or non-numeric coordinates" in msg


def test_french_exports_are_repaired(tmp_path):
    """Latin-1, ';' separators, decimal commas and dd/mm/yyyy dates are read (and logged)."""
    text = (
        "id;datetime;category;source;lon;lat\n"
        "B1;14/05/2023 22:30;dégradation;police_municipale;7,4235;43,7425\n"
    )
    text = text.replace("dégradation", "degradation_tag")
    p = _write(tmp_path, text, encoding="latin-1")
    gdf = read_incidents(IncidentSpec(p), area=AREA, crs=CRS)
    assert len(gdf) == 1
    t = gdf["datetime"].iloc[0]
    assert (t.year, t.month, t.day, t.hour, t.minute) == (2023, 5, 14, 22, 30)
    p2 = _write(tmp_path, "\ufeff" + HEADER + GOOD, name="bom.csv")
    assert len(read_incidents(IncidentSpec(p2), area=AREA, crs=CRS)) == 1


def test_empty_and_headerless_files(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_incidents(IncidentSpec(_write(tmp_path, "")), area=AREA, crs=CRS)
    with pytest.raises(InputError, match="no incident rows"):
        read_incidents(IncidentSpec(_write(tmp_path, HEADER, name="h.csv")), area=AREA, crs=CRS)
    with pytest.raises(InputError, match="missing column"):
        read_incidents(
            IncidentSpec(_write(tmp_path, "id,date\n1,2\n", name="m.csv")), area=AREA, crs=CRS
        )


def test_points_outside_area_are_dropped_and_counted(tmp_path, caplog):
    far = "A9,2023-05-14T22:30:00,cambriolage,police_nationale,7.30,43.70\n"
    p = _write(tmp_path, HEADER + GOOD + far)
    with caplog.at_level("INFO"):
        gdf = read_incidents(IncidentSpec(p), area=AREA, crs=CRS)
    assert list(gdf["id"]) == ["A1"]
    assert "dropped 1 of 2 incidents outside the study area" in caplog.text


def test_xy_with_declared_crs_and_column_mapping(tmp_path):
    # Lambert-93 coordinates of the Beausoleil town hall area
    pt = shapely.Point(7.4235, 43.7425)
    import geopandas as gpd

    l93 = gpd.GeoSeries([pt], crs="EPSG:4326").to_crs("EPSG:2154").iloc[0]
    text = (
        "num,date_faits,cat,X,Y\n"
        f"P1,2022-01-03T21:00:00,incendie_vehicule,{l93.x:.2f},{l93.y:.2f}\n"
    )
    p = _write(tmp_path, text)
    spec = IncidentSpec(
        p,
        source="police_municipale",
        crs="EPSG:2154",
        columns={"id": "num", "datetime": "date_faits", "category": "cat", "x": "X", "y": "Y"},
    )
    gdf = read_incidents(spec, area=AREA, crs=CRS)
    assert gdf["source"].iloc[0] == "police_municipale"
    back = gdf.to_crs("EPSG:4326").geometry.iloc[0]
    assert back.distance(pt) < 1e-6
    with pytest.raises(InputError, match="declared crs"):
        read_incidents(
            IncidentSpec(
                p,
                source="police_municipale",
                columns={
                    "id": "num",
                    "datetime": "date_faits",
                    "category": "cat",
                    "x": "X",
                    "y": "Y",
                },
            ),
            area=AREA,
            crs=CRS,
        )


def test_merge_drops_cross_source_duplicates(tmp_path):
    a = _write(tmp_path, HEADER + GOOD, name="pn.csv")
    # same burglary reported by the police municipale 10 minutes later, 3 m away;
    # and another one 1 km away
    b = _write(
        tmp_path,
        HEADER + "M1,2023-05-14T22:40:00+02:00,cambriolage,police_municipale,7.42353,43.74252\n"
        "M2,2023-05-14T22:40:00+02:00,cambriolage,police_municipale,7.4335,43.7425\n",
        name="pm.csv",
    )
    fa = read_incidents(IncidentSpec(a), area=AREA, crs=CRS)
    fb = read_incidents(IncidentSpec(b), area=AREA, crs=CRS)
    merged, dropped = merge_sources([fa, fb])
    assert dropped == 1
    assert sorted(merged["id"]) == ["A1", "M2"]
    assert isinstance(merged, pd.DataFrame)
