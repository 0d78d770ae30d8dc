"""Exports for planners: ``plan.gpkg`` (with QGIS styles) and the prefecture table.

``plan.gpkg`` holds, in the town's projected CRS, the layers ``study_area``,
``existing_cameras``, ``proposed_sites``, ``viewsheds``, ``privacy_masks``,
``hotspot_segments``, ``patrols``, ``patrol_stops`` and ``sensitive_sites`` (plus ``qpv``
when the scenario has QPV polygons). Each layer gets a QGIS style (QML) stored in the
GeoPackage's ``layer_styles`` table, as QGIS itself does, so that the layers open styled.

``prefecture.csv`` is the table attached to the request for the arrêté préfectoral
d'autorisation (the prefect's authorisation, after the commission départementale de
vidéoprotection): one row per camera, led by its address as the référent sûreté names it (the
crossing "angle A / B", "12 avenue X" or the street) and the nearest landmark ("près du collège
Bellevue"), then the camera's reference (its OpenStreetMap id), position, type, heading, field
of view and whether a privacy mask is declared (L251-3 of the Code de la sécurité intérieure:
cameras must not view the inside of dwellings nor their entrances).

Shared layers carry aggregates only: ``hotspot_segments`` counts the window's incidents
per street segment and blanks segments with fewer than ``min_count_shared`` of them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siteplanner import files
from siteplanner.outputs.tables import patrols_frame, sites_frame, viewsheds_frame
from siteplanner.vocab import SENSITIVE_KINDS

if TYPE_CHECKING:
    from siteplanner.result import Result

log = logging.getLogger(__name__)

__all__ = [
    "GEOMETRY_TYPES",
    "LAYERS",
    "PREFECTURE_COLUMNS",
    "layer_style_qml",
    "plan_layers",
    "write_exports",
    "hotspot_breaks",
    "prefecture_table",
    "write_gpkg",
]

#: The layers of ``plan.gpkg``, in order.
LAYERS: tuple[str, ...] = (
    "study_area",
    "existing_cameras",
    "proposed_sites",
    "viewsheds",
    "privacy_masks",
    "hotspot_segments",
    "patrols",
    "patrol_stops",
    "sensitive_sites",
    "qpv",
)
#: Columns of ``prefecture.csv``.
PREFECTURE_COLUMNS: tuple[str, ...] = (
    "address",
    "near",
    "commune",
    "camera_id",
    "status",
    "phase",
    "lon",
    "lat",
    "type",
    "camera_model",
    "mount",
    "heading_deg",
    "heading",
    "fov_deg",
    "range_m",
    "privacy_mask",
    "residential_facade_m",
    "entrances_seen",
    "note",
)

_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _compass(h: float) -> str:
    if h is None or not np.isfinite(h):
        return "360°"
    return _COMPASS[int(((h % 360) + 22.5) // 45) % 8]


def prefecture_table(res: Result) -> pd.DataFrame:
    """The prefecture table: one row per existing or proposed camera.

    See :data:`PREFECTURE_COLUMNS`.

    Parameters
    ----------
    res
        A pipeline result.
    """
    privacy = res.figures.privacy
    shown = res.sites.loc[privacy.index]
    ll = shown.geometry.to_crs("EPSG:4326")
    names = res.figures.addresses.reindex(shown.index)
    model = res.scenario.camera.chosen()
    kinds = np.where(shown["status"] == "existing", "existing", model.kind)
    mask = privacy.loc[shown.index]
    df = pd.DataFrame(
        {
            "camera_id": shown["site_id"].astype(str).to_numpy(),
            "status": shown["status"].to_numpy(),
            "phase": shown["phase"].fillna("").to_numpy(),
            "address": names["address"].fillna("voie sans nom").to_numpy(),
            "near": names["near"].fillna("").to_numpy(),
            "commune": res.town.name,
            "lon": np.round(ll.x.to_numpy(), 6),
            "lat": np.round(ll.y.to_numpy(), 6),
            "type": kinds,
            "camera_model": np.where(shown["status"] == "existing", "", model.name),
            "mount": shown["mount"].fillna("").to_numpy(),
            "heading_deg": shown["heading_deg"].to_numpy(float),
            "heading": [_compass(h) for h in shown["heading_deg"].to_numpy(float)],
            "fov_deg": np.round(shown["fov_deg"].to_numpy(float), 1),
            "range_m": shown["range_m"].to_numpy(float),
            "privacy_mask": np.where(~mask.geometry.is_empty.to_numpy(), "oui", "non"),
            "residential_facade_m": mask["facade_m"].to_numpy(float),
            "entrances_seen": mask["n_entrances"].to_numpy(int),
            "note": "",
        }
    )
    ent = res.entrances
    if ent is not None and len(ent):
        # town entrances: context cameras the commune proposes to the State (never LAPI of its own)
        ell = ent.geometry.to_crs("EPSG:4326")
        rows = pd.DataFrame(
            {
                "camera_id": ent["entrance_id"].astype(str).to_numpy(),
                "status": ent["status"].to_numpy(),
                "phase": "",
                "address": ent["road"].astype(str).to_numpy(),
                "near": "",
                "commune": res.town.name,
                "lon": np.round(ell.x.to_numpy(), 6),
                "lat": np.round(ell.y.to_numpy(), 6),
                "type": "entrée de ville",
                "camera_model": "",
                "mount": "",
                "heading_deg": np.nan,
                "heading": "",
                "fov_deg": np.nan,
                "range_m": np.nan,
                "privacy_mask": "",
                "residential_facade_m": np.nan,
                "entrances_seen": 0,
                "note": ent["note"].to_numpy(),
            }
        )
        df = pd.concat([df, rows], ignore_index=True)
    return df[list(PREFECTURE_COLUMNS)].reset_index(drop=True)


def hotspot_breaks(segments: gpd.GeoDataFrame) -> list[float]:
    """Class breaks of ``per_100m`` (quartiles and 9th decile of the shared segments), rising."""
    v = segments["per_100m"].dropna().to_numpy(float)
    if not len(v):
        return [0.0, 1.0]
    q = np.unique(np.round(np.quantile(v, [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]), 2))
    return [float(x) for x in q] if len(q) >= 2 else [float(q[0]), float(q[0]) + 1.0]


def plan_layers(
    res: Result, review_decisions: Mapping[str, str] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of ``plan.gpkg`` as a GeoDataFrame in the town's CRS (empty layers omitted).

    Parameters
    ----------
    res
        A pipeline result.
    review_decisions
        Site id → the référent sûreté's decision, shown on ``proposed_sites``.
    """
    crs = res.town.crs
    privacy = res.figures.privacy
    layers: dict[str, gpd.GeoDataFrame] = {}
    layers["study_area"] = gpd.GeoDataFrame(
        {
            "name": [res.town.name],
            "source": [res.town.source],
            "area_km2": [round(res.town.area.area / 1e6, 3)],
        },
        geometry=[res.town.area],
        crs=crs,
    )
    sf = sites_frame(res)
    priv = privacy.set_index("site_id")
    sf["privacy_facade_m"] = sf["site_id"].map(priv["facade_m"]).astype(float)
    sf["privacy_entrances"] = sf["site_id"].map(priv["n_entrances"]).astype("Int64")
    sf["privacy_mask"] = sf["site_id"].map(~priv.geometry.is_empty).astype(bool)
    decisions = dict(review_decisions or {})
    sf["review"] = [decisions.get(str(x), "pending") for x in sf["site_id"]]
    layers["existing_cameras"] = sf[sf["status"] == "existing"].drop(
        columns=["rank", "marginal_gain", "review", "funded_eur"]
    )
    layers["proposed_sites"] = sf[sf["status"] == "proposed"]
    layers["viewsheds"] = viewsheds_frame(res)
    pm = privacy[~privacy.geometry.is_empty]
    layers["privacy_masks"] = gpd.GeoDataFrame(
        {
            "site_id": pm["site_id"].to_numpy(),
            "facade_m": pm["facade_m"].to_numpy(),
            "entrances": pm["n_entrances"].to_numpy(),
            "action": pm["action"].to_numpy(),
        },
        geometry=shapely.force_2d(pm.geometry.values),
        crs=crs,
    )
    layers["hotspot_segments"] = res.figures.hotspot_segments
    pf = patrols_frame(res)
    layers["patrols"] = pf[pf["feature"] == "circuit"].drop(
        columns=["feature", "order", "eta_min", "dwell_min"]
    )
    layers["patrol_stops"] = pf[pf["feature"] == "stop"].drop(
        columns=["feature", "length_m", "duration_min", "stops"]
    )
    pois = res.town.pois
    sens = pois[
        pois["kind"].isin(SENSITIVE_KINDS)
        & pois.intersects(res.town.area.buffer(res.town.margin_m))
    ]
    layers["sensitive_sites"] = (
        gpd.GeoDataFrame(
            {
                "kind": sens["kind"].to_numpy(),
                "name": sens["name"].astype(object).to_numpy(),
                "osm_id": sens["osm_id"].astype(str).to_numpy(),
                "inside_area": shapely.covers(res.town.area, sens.geometry.values),
            },
            geometry=sens.geometry.values,
            crs=crs,
        )
        .sort_values(["kind", "osm_id"])
        .reset_index(drop=True)
    )
    if res.qpv is not None and len(res.qpv):
        layers["qpv"] = res.qpv[["name", "geometry"]].copy()
    out = {}
    for name in LAYERS:
        if name in layers:
            g = layers[name].reset_index(drop=True)
            g = g.set_geometry(shapely.force_2d(g.geometry.values), crs=crs) if len(g) else g
            out[name] = g
    return out


# ---------------------------------------------------------------------------------------------
# QGIS styles
# ---------------------------------------------------------------------------------------------

#: Style of each layer: (symbol type, fill/line colour RGBA, outline colour RGBA, width mm,
#: marker, label field).
_STYLE: dict[str, tuple[str, str, str, float, str, str | None]] = {
    "study_area": ("fill", "0,0,0,0", "0,0,0,255", 0.6, "", None),
    "existing_cameras": ("marker", "31,119,180,255", "0,0,0,255", 3.0, "square", "site_id"),
    "proposed_sites": ("marker", "214,39,40,255", "0,0,0,255", 3.6, "circle", "rank"),
    "viewsheds": ("fill", "214,39,40,90", "214,39,40,200", 0.3, "", None),
    "privacy_masks": ("fill", "40,40,40,200", "0,0,0,255", 0.2, "", None),
    "hotspot_segments": ("line", "253,141,60,255", "", 0.5, "", None),
    "patrols": ("line", "44,160,44,255", "", 1.2, "", "circuit"),
    "patrol_stops": ("marker", "44,160,44,255", "0,0,0,255", 4.0, "star", "order"),
    "sensitive_sites": ("marker", "148,103,189,255", "0,0,0,255", 3.0, "triangle", "name"),
    "qpv": ("fill", "148,103,189,40", "148,103,189,255", 0.5, "", "name"),
}


_RAMP = ["254,217,118,255", "254,178,76,255", "253,141,60,255", "240,59,32,255", "189,0,38,255"]


def _opt(**kv: object) -> str:
    opts = "".join(
        f'<Option name={quoteattr(k)} type="QString" value={quoteattr(str(v))}/>'
        for k, v in kv.items()
    )
    props = "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in kv.items())
    return f'<Option type="Map">{opts}</Option>{props}'


def _symbol(kind: str, fill: str, outline: str, width: float, marker: str, name: str = "0") -> str:
    if kind == "fill":
        cls = "SimpleFill"
        body = _opt(
            color=fill,
            style="solid" if not fill.endswith(",0") else "no",
            outline_color=outline,
            outline_style="solid",
            outline_width=width,
            outline_width_unit="MM",
        )
    elif kind == "line":
        cls = "SimpleLine"
        body = _opt(
            line_color=fill,
            line_style="solid",
            line_width=width,
            line_width_unit="MM",
            capstyle="round",
            joinstyle="round",
        )
    else:
        cls = "SimpleMarker"
        body = _opt(
            name=marker,
            color=fill,
            outline_color=outline,
            outline_style="solid",
            outline_width=0.3,
            outline_width_unit="MM",
            size=width,
            size_unit="MM",
            angle=0,
        )
    return (
        f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0">{body}</layer></symbol>'
    )


def layer_style_qml(layer: str, *, breaks: list[float] | None = None) -> str:
    """The QGIS style (QML document) of a ``plan.gpkg`` layer.

    Single-symbol renderers (a graduated one for ``hotspot_segments``, by incidents
    counted) and simple labels (rank of proposed sites, order of patrol stops...).
    """
    if layer not in _STYLE:
        raise KeyError(f"layer {layer!r}: no style; styled layers: {', '.join(_STYLE)}")
    kind, fill, outline, width, marker, label = _STYLE[layer]
    if layer == "hotspot_segments":
        b = breaks or [0.0, 1.0, 2.0, 5.0, 10.0, 1e6]
        cols = _RAMP[-(len(b) - 1) :] if len(b) - 1 <= len(_RAMP) else _RAMP
        classes = [
            (b[k], b[k + 1], cols[min(k, len(cols) - 1)], 0.5 + 0.4 * k) for k in range(len(b) - 1)
        ]
        ranges = "".join(
            f'<range lower="{lo:g}" upper="{hi:g}" symbol="{i}" label="{lo:g}–{hi:g} per 100 m" '
            'render="true"/>'
            for i, (lo, hi, _, _) in enumerate(classes)
        )
        symbols = "".join(
            _symbol("line", c, "", w, "", str(i)) for i, (_, _, c, w) in enumerate(classes)
        )
        renderer = (
            '<renderer-v2 type="graduatedSymbol" attr="per_100m" graduatedMethod="GraduatedColor" '
            f'symbollevels="0" enableorderby="0" forceraster="0"><ranges>{ranges}</ranges>'
            f"<symbols>{symbols}</symbols></renderer-v2>"
        )
    else:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_symbol(kind, fill, outline, width, marker)}</symbols></renderer-v2>"
        )
    labeling = ""
    if label:
        labeling = (
            '<labeling type="simple"><settings calloutType="simple"><text-style '
            f"fieldName={quoteattr(label)} "
            'fontSize="8" fontWeight="75" textColor="0,0,0,255" isExpression="0">'
            '<text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="255,255,255,255"/>'
            '</text-style><placement placement="0" dist="1"/><rendering obstacle="1"/></settings>'
            "</labeling>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0-Firenze" styleCategories="Symbology|Labeling">{renderer}{labeling}'
        f"<layerGeometryType>{ {'marker': 0, 'line': 1, 'fill': 2}[kind] }</layerGeometryType>"
        "</qgis>\n"
    )


#: The geometry type each layer is declared with when it is empty (GDAL infers it from the
#: features otherwise): an empty layer declared ``GEOMETRY`` opens in QGIS as a table.
GEOMETRY_TYPES: dict[str, str] = {
    "study_area": "MultiPolygon",
    "existing_cameras": "Point",
    "proposed_sites": "Point",
    "viewsheds": "Polygon",
    "privacy_masks": "MultiPolygon",
    "hotspot_segments": "LineString",
    "patrols": "LineString",
    "patrol_stops": "Point",
    "sensitive_sites": "Point",
    "qpv": "MultiPolygon",
}
#: GeoPackage 1.3: the R-tree triggers of GDAL < 3.7 and QGIS 3.22 (1.4 replaced update1 and
#: update3 by update6 and update7, which GDAL 3.6's ``validate_gpkg.py`` rejects).
_GPKG_VERSION = "1.3"
#: ``layer_styles.update_time``: fixed (same inputs, same file), in the GeoPackage DATETIME
#: form ``YYYY-MM-DDTHH:MM:SS.SSSZ`` (GDAL warns "Non-conformant content" otherwise).
_STYLE_TIME = "2000-01-01T00:00:00.000Z"

_LAYER_STYLES_SQL = (
    "CREATE TABLE IF NOT EXISTS layer_styles (\n"
    " id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256), "
    "f_table_name TEXT(256),\n"
    " f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault "
    "BOOLEAN,\n"
    " description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"
)


def write_gpkg(
    layers: Mapping[str, gpd.GeoDataFrame], path: str | Path, *, styles: bool = True
) -> None:
    """Write layers into one GeoPackage, with their QGIS styles in its ``layer_styles`` table.

    Parameters
    ----------
    layers
        Layer name → GeoDataFrame (each with its CRS).
    path
        The ``.gpkg`` file (overwritten; write to a staging path for atomicity).
    styles
        Store :func:`layer_style_qml` of each layer as its default QGIS style.
    """
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        pyogrio.write_dataframe(
            gdf,
            path,
            layer=name,
            driver="GPKG",
            append=path.exists(),
            dataset_options=None if path.exists() else {"VERSION": _GPKG_VERSION},
            geometry_type=None if len(gdf) else GEOMETRY_TYPES.get(name, "Unknown"),
        )
    if not styles:
        return
    con = sqlite3.connect(path)
    try:
        con.execute(_LAYER_STYLES_SQL)
        for name, gdf in layers.items():
            if name in _STYLE:
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                    "owner, ui, update_time) VALUES ('', '', ?, 'geom', ?, ?, '', 1, 'siteplanner "
                    "default style', '', '', ?)",
                    (
                        name,
                        name,
                        layer_style_qml(
                            name, breaks=hotspot_breaks(gdf) if name == "hotspot_segments" else None
                        ),
                        _STYLE_TIME,
                    ),
                )
        if con.execute("SELECT count(*) FROM sqlite_master WHERE name='gpkg_contents'").fetchone()[
            0
        ]:
            con.execute(
                "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, "
                "description) VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer "
                "styles')"
            )
        con.commit()
    finally:
        con.close()
    log.info("write_gpkg: %d layer(s) with QGIS styles", len(layers))


def write_exports(res: Result, out_dir: str | Path) -> list[Path]:
    """Write ``plan.gpkg`` (styled) and ``prefecture.csv`` into ``out_dir``.

    Returns the files written.
    """
    out_dir = Path(out_dir)
    rv = res.review
    decisions = {r.site_id: r.decision for r in rv.rows} if rv is not None else {}
    layers = plan_layers(res, decisions)
    files.write_with(out_dir / "plan.gpkg", lambda p: write_gpkg(layers, p))
    table = prefecture_table(res)
    files.write_text(out_dir / "prefecture.csv", table.to_csv(index=False, lineterminator="\n"))
    return [out_dir / "plan.gpkg", out_dir / "prefecture.csv"]
