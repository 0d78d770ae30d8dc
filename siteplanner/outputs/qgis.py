"""The QGIS files of a run: ``hotspots.qml`` and ``plan.qgz``, written without QGIS.

``hotspots.qml`` styles ``hotspots.tif`` (QGIS reads a ``.qml`` next to a raster as its
default style): the hotspot classes of ``map.png``
(:func:`~siteplanner.outputs.plot.hotspot_classes`, the same breaks and colours), transparent
where the surface holds no density, drawn with a *multiply* blend so that the layers beneath
stay visible.

``plan.qgz`` is a QGIS project (a zip holding one ``.qgs`` XML document, read by QGIS 3.22 and
later) over ``plan.gpkg`` and ``hotspots.tif``, by relative paths: the layers open styled
(the QML stored in ``plan.gpkg``'s ``layer_styles`` and ``hotspots.qml``) and are drawn in
this order, first (lowest) to last: hotspots, hotspot segments (unchecked), QPV, fields of
view, privacy masks, patrols, patrol stops, existing cameras, proposed sites, sensitive places,
study area (its outline). QGIS's layer panel lists them the other way round, the last drawn
on top. Its print layout ``Plan`` (A4 landscape) holds the map, the legend, a scale bar and
the sources.

Both are built as text from the :class:`~siteplanner.result.Result` (no QGIS, no time stamp,
no random id: the same run gives the same bytes); ``tests/test_qgis.py`` opens them with QGIS.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

import numpy as np
import pyproj

from siteplanner import __version__, files
from siteplanner.outputs import plot
from siteplanner.outputs.export import GEOMETRY_TYPES, hotspot_breaks, layer_style_qml, plan_layers

if TYPE_CHECKING:
    import geopandas as gpd

    from siteplanner.result import Result

log = logging.getLogger(__name__)

__all__ = ["PROJECT_LAYERS", "hotspot_qml", "layer_id", "project_qgs", "write_qgis"]

#: The layers of ``plan.qgz`` as QGIS's layer panel lists them, top (drawn last) first:
#: (name, title in the legend). ``hotspots`` is ``hotspots.tif``; the others are the layers of
#: ``plan.gpkg``.
PROJECT_LAYERS: tuple[tuple[str, str], ...] = (
    ("study_area", "Study area"),
    ("sensitive_sites", "Sensitive places"),
    ("proposed_sites", "Proposed sites (rank)"),
    ("existing_cameras", "Existing cameras"),
    ("patrol_stops", "Patrol stops"),
    ("patrols", "Patrol circuits"),
    ("privacy_masks", "Privacy masks (L251-3)"),
    ("viewsheds", "Fields of view"),
    ("qpv", "QPV (quartiers prioritaires)"),
    ("hotspot_segments", "Hotspot segments (incidents per 100 m of street)"),
    ("hotspots", "Hotspots"),
)
#: Layers loaded but not drawn when the project opens (tick them in the layer panel).
_UNCHECKED = frozenset({"hotspot_segments"})


def layer_id(name: str) -> str:
    """The id of a layer in ``plan.qgz`` (QGIS replaces ids of 10 characters or fewer)."""
    return f"siteplanner_{name}"


#: ``QgsPainting::BlendMultiply``: the hotspot colours tint the layers beneath.
_MULTIPLY = 6
_PAGE_MM = (297.0, 210.0)  # A4 landscape
_MAP_MM = (10.0, 22.0, 190.0, 170.0)  # x, y, width, height
_FONT = "DejaVu Sans"


# ---------------------------------------------------------------------------------------------
# hotspots.qml
# ---------------------------------------------------------------------------------------------


def _hex(rgba: tuple[float, float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgba[:3])


def _hotspot_items(res: Result) -> list[tuple[str, str, int, str]]:
    """(upper value, colour, alpha, label) of each class of the raster, lowest first."""
    from matplotlib import colormaps

    hc = plot.hotspot_classes(res.grid, res.demand_.grid_inside, scheme=_scheme(res))
    vals = np.asarray(res.grid.values, float)
    top = float(np.nanmax(vals)) if np.isfinite(vals).any() else 0.0
    cmap = colormaps[plot.HOTSPOT_CMAP]
    colours = [cmap(t) for t in np.linspace(0.12, 0.95, max(len(hc.bins), 1))]
    items = [(repr(1e-9 * max(top, 1e-300)), "#ffffff", 0, "no density")]
    for k, label in enumerate(hc.labels()):
        upper = "inf" if k == len(hc.bins) - 1 else repr(float(hc.bins[k]))
        items.append((upper, _hex(colours[k]), 255, label))
    return items


def _scheme(res: Result) -> str:
    return res.scenario.output.map_classes


def _hotspot_pipe(res: Result) -> list[ET.Element]:
    """The raster's ``<pipe>`` and ``<blendMode>``: a discrete colour ramp over band 1."""
    items = _hotspot_items(res)
    pipe = ET.Element("pipe")
    prov = ET.SubElement(pipe, "provider")
    ET.SubElement(
        prov,
        "resampling",
        enabled="false",
        zoomedInResamplingMethod="nearestNeighbour",
        zoomedOutResamplingMethod="nearestNeighbour",
        maxOversampling="2",
    )
    rr = ET.SubElement(
        pipe,
        "rasterrenderer",
        type="singlebandpseudocolor",
        band="1",
        opacity="0.7",  # map.png's
        alphaBand="-1",
        classificationMin="0",
        classificationMax=items[-2][0] if len(items) > 2 else "1",
        nodataColor="",
    )
    mmo = ET.SubElement(rr, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Exact")):
        ET.SubElement(mmo, tag).text = text
    shader = ET.SubElement(ET.SubElement(rr, "rastershader"), "colorrampshader")
    shader.attrib.update(
        colorRampType="DISCRETE",
        classificationMode="3",  # quantile
        clip="0",
        labelPrecision="0",
        minimumValue="0",
        maximumValue=items[-2][0] if len(items) > 2 else "1",
    )
    for value, colour, alpha, label in items:
        ET.SubElement(shader, "item", value=value, color=colour, alpha=str(alpha), label=label)
    ET.SubElement(
        shader,
        "rampLegendSettings",
        useContinuousLegend="0",
        prefix="",
        suffix="",
        minimumLabel="",
        maximumLabel="",
        direction="0",
        orientation="2",
    )
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    blend = ET.Element("blendMode")
    blend.text = str(_MULTIPLY)
    return [pipe, blend]


def hotspot_qml(res: Result) -> str:
    """The QGIS style (QML) of ``hotspots.tif``: the classes of ``map.png``, zero transparent.

    Parameters
    ----------
    res
        A pipeline result.
    """
    root = ET.Element(
        "qgis",
        version="3.22.0-Białowieża",
        styleCategories="Symbology",
        hasScaleBasedVisibilityFlag="0",
    )
    root.extend(_hotspot_pipe(res))
    return _xml(root, doctype=True)


def _hotspot_title(res: Result) -> str:
    g = res.grid
    units = "weighted incidents / km²" if g.method != "near_repeat" else "risk score"
    classes = "quantiles" if _scheme(res) == "quantiles" else "Fisher–Jenks classes"
    return f"Hotspots: {units} ({classes})"


# ---------------------------------------------------------------------------------------------
# plan.qgs
# ---------------------------------------------------------------------------------------------


def _xml(root: ET.Element, *, doctype: bool) -> str:
    ET.indent(root, space=" ")
    head = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" if doctype else ""
    return head + ET.tostring(root, encoding="unicode") + "\n"


def _srs(crs: str) -> ET.Element:
    """``<spatialrefsys>`` from the CRS's WKT (QGIS reads the WKT when no internal id is given)."""
    c = pyproj.CRS(crs)
    srs = ET.Element("spatialrefsys")
    ET.SubElement(srs, "wkt").text = c.to_wkt()
    auth = c.to_authority()
    ET.SubElement(srs, "authid").text = ":".join(auth) if auth else ""
    ET.SubElement(srs, "description").text = c.name
    ET.SubElement(srs, "geographicflag").text = "true" if c.is_geographic else "false"
    return srs


def _wrap(tag: str, child: ET.Element) -> ET.Element:
    e = ET.Element(tag)
    e.append(child)
    return e


_GEOMETRY = {"Point": "Point", "LineString": "Line", "Polygon": "Polygon"}


def _geometry(gdf: gpd.GeoDataFrame, name: str) -> tuple[str, str]:
    """(QGIS geometry kind, WKB type) of a layer as ``plan.gpkg`` declares it."""
    types = sorted(set(gdf.geom_type)) if len(gdf) else [GEOMETRY_TYPES[name]]
    wkb = types[0] if len(types) == 1 else "Multi" + types[0].removeprefix("Multi")
    return _GEOMETRY[wkb.removeprefix("Multi")], wkb


def _vector_layer(name: str, title: str, gdf: gpd.GeoDataFrame, srs: ET.Element) -> ET.Element:
    kind, wkb = _geometry(gdf, name)
    breaks = hotspot_breaks(gdf) if name == "hotspot_segments" else None
    style = ET.fromstring(layer_style_qml(name, breaks=breaks).split("\n", 1)[1])
    ml = ET.Element(
        "maplayer",
        type="vector",
        geometry=kind,
        wkbType=wkb,
        labelsEnabled="1" if style.find("labeling") is not None else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="0",
        maxScale="0",
        styleCategories="AllStyleCategories",
    )
    ET.SubElement(ml, "id").text = layer_id(name)
    ET.SubElement(ml, "datasource").text = f"./plan.gpkg|layername={name}"
    ET.SubElement(ml, "layername").text = title
    ml.append(_wrap("srs", srs))
    ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
    for part in ("renderer-v2", "labeling"):
        if (el := style.find(part)) is not None:
            ml.append(el)
    for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
        ET.SubElement(ml, tag).text = text
    return ml


def _raster_layer(res: Result, title: str, srs: ET.Element) -> ET.Element:
    ml = ET.Element(
        "maplayer",
        type="raster",
        hasScaleBasedVisibilityFlag="0",
        minScale="1e+08",
        maxScale="0",
        styleCategories="AllStyleCategories",
    )
    ET.SubElement(ml, "id").text = layer_id("hotspots")
    ET.SubElement(ml, "datasource").text = "./hotspots.tif"
    ET.SubElement(ml, "layername").text = title
    ml.append(_wrap("srs", srs))
    ET.SubElement(ml, "provider").text = "gdal"
    ET.SubElement(ET.SubElement(ml, "noData"), "noDataList", bandNo="1", useSrcNoData="0")
    ml.extend(_hotspot_pipe(res))
    return ml


def _extent(res: Result) -> tuple[float, float, float, float]:
    """The study area with a margin, widened to the layout map's proportions."""
    xmin, ymin, xmax, ymax = res.town.area.buffer(60.0).bounds
    ratio = _MAP_MM[2] / _MAP_MM[3]
    cx, cy, w, h = (xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin
    w, h = max(w, h * ratio), max(h, w / ratio)
    return (round(cx - w / 2, 2), round(cy - h / 2, 2), round(cx + w / 2, 2), round(cy + h / 2, 2))


def _tree(present: list[tuple[str, str, str]], n_classes: int) -> ET.Element:
    """The layer tree: (id, title, source) top first.

    The legend of ``hotspots`` shows its ``n_classes`` classes only, not the band's name nor
    the transparent "no density" class (QGIS's ``legend/node-order``).
    """
    group = ET.Element("layer-tree-group")
    for lid, title, source in present:
        node = ET.SubElement(
            group,
            "layer-tree-layer",
            id=layer_id(lid),
            name=title,
            source=source,
            providerKey="gdal" if lid == "hotspots" else "ogr",
            checked="Qt::Unchecked" if lid in _UNCHECKED else "Qt::Checked",
            expanded="1" if lid in ("hotspots", "hotspot_segments") else "0",
        )
        if lid == "hotspots":
            order = ",".join(str(i) for i in range(2, 2 + n_classes))
            props = ET.SubElement(ET.SubElement(node, "customproperties"), "Option", type="Map")
            ET.SubElement(props, "Option", name="legend/node-order", type="QString", value=order)
    return group


def _canvas(res: Result, srs: ET.Element, extent: tuple[float, ...]) -> ET.Element:
    canvas = ET.Element("mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    ext = ET.SubElement(canvas, "extent")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), extent):
        ET.SubElement(ext, tag).text = repr(v)
    ET.SubElement(canvas, "rotation").text = "0"
    canvas.append(_wrap("destinationsrs", srs))
    return canvas


def _properties() -> ET.Element:
    props = ET.Element("properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    return props


def project_qgs(res: Result, layers: Mapping[str, gpd.GeoDataFrame]) -> str:
    """The ``.qgs`` document of ``plan.qgz``: layers over ``plan.gpkg`` and the print layout.

    Parameters
    ----------
    res
        A pipeline result.
    layers
        The layers of ``plan.gpkg`` (:func:`~siteplanner.outputs.export.plan_layers`).
    """
    srs = _srs(res.town.crs)
    extent = _extent(res)
    present = [(lid, t) for lid, t in PROJECT_LAYERS if lid == "hotspots" or lid in layers]
    titles = dict(present)
    titles["hotspots"] = _hotspot_title(res)
    titles["study_area"] = f"Study area: {res.town.name}"
    root = ET.Element(
        "qgis", projectname=f"siteplanner: {res.town.name}", version="3.22.0-Białowieża"
    )
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = f"siteplanner: {res.town.name}"
    root.append(_wrap("projectCrs", srs))
    sources = {
        lid: "./hotspots.tif" if lid == "hotspots" else f"./plan.gpkg|layername={lid}"
        for lid, _ in present
    }
    n_classes = len(_hotspot_items(res)) - 1
    rows = [(lid, titles[lid], sources[lid]) for lid, _ in present]
    root.append(_tree(rows, n_classes))
    root.append(_canvas(res, srs, extent))
    pl = ET.SubElement(root, "projectlayers")
    for lid, _ in present:
        if lid == "hotspots":
            pl.append(_raster_layer(res, titles[lid], srs))
        else:
            pl.append(_vector_layer(lid, titles[lid], layers[lid], srs))
    order = ET.SubElement(root, "layerorder")
    for lid, _ in present:
        ET.SubElement(order, "layer", id=layer_id(lid))
    root.append(_properties())
    layouts = ET.SubElement(root, "Layouts")
    # the layout's legend: the layers drawn when the project opens
    legend_tree = _tree([r for r in rows if r[0] not in _UNCHECKED], n_classes)
    layouts.append(_layout(res, extent, legend_tree))
    return _xml(root, doctype=True)


# ---------------------------------------------------------------------------------------------
# the print layout
# ---------------------------------------------------------------------------------------------

_ITEM = {
    "page": 65638,
    "map": 65639,
    "picture": 65640,
    "label": 65641,
    "legend": 65642,
    "scalebar": 65646,
}


def _item(kind: str, uuid: str, box: tuple[float, float, float, float], z: int) -> ET.Element:
    x, y, w, h = box
    it = ET.Element(
        "LayoutItem",
        type=str(_ITEM[kind]),
        uuid=uuid,
        templateUuid=uuid,
        id=uuid.strip("{}"),
        position=f"{x:g},{y:g},mm",
        positionOnPage=f"{x:g},{y:g},mm",
        size=f"{w:g},{h:g},mm",
        referencePoint="0",
        zValue=str(z),
        visibility="1",
        opacity="1",
        frame="false",
        background="false",
        blendMode="0",
        excludeFromExports="0",
        positionLock="false",
        itemRotation="0",
        outlineWidthM="0.3,mm",
    )
    ET.SubElement(it, "FrameColor", red="0", green="0", blue="0", alpha="255")
    ET.SubElement(it, "BackgroundColor", red="255", green="255", blue="255", alpha="255")
    return it


def _font(size: float, *, bold: bool = False) -> str:
    """A ``QFont::toString`` description."""
    return f"{_FONT},{size:g},-1,5,{75 if bold else 50},0,0,0,0,0"


def _label(
    uuid: str, box: tuple[float, ...], text: str, size: float, *, bold: bool = False
) -> ET.Element:
    it = _item("label", uuid, box, 5)
    it.attrib.update(
        labelText=text, htmlState="0", marginX="0", marginY="0", halign="1", valign="32"
    )
    ET.SubElement(it, "LabelFont", description=_font(size, bold=bold), style="")
    ET.SubElement(it, "FontColor", red="0", green="0", blue="0", alpha="255")
    return it


def _nice(length_m: float) -> float:
    """The largest 1, 2 or 5 × 10^n not above ``length_m``."""
    e = 10.0 ** np.floor(np.log10(max(length_m, 1e-9)))
    return float(max(m * e for m in (1, 2, 5) if m * e <= length_m))


def _legend(map_uuid: str, tree: ET.Element) -> ET.Element:
    x = _MAP_MM[0] + _MAP_MM[2] + 6
    it = _item("legend", "{siteplanner-legend}", (x, _MAP_MM[1], _PAGE_MM[0] - x - 8, 150), 3)
    it.attrib.update(
        title="Legend",
        map_uuid=map_uuid,
        resizeToContents="1",
        columnCount="1",
        symbolWidth="6",
        symbolHeight="3.5",
        wrapChar="",
        titleAlignment="1",
        symbolAlignment="1",
        boxSpace="2",
        columnSpace="2",
        lineSpacing="0.6",
        rasterBorder="1",
        background="true",
        fontColor="#000000",
    )
    styles = ET.SubElement(it, "styles")
    for name, size, bold, top in (
        ("title", 11, True, 0),
        ("group", 9, True, 2),
        ("subgroup", 8, True, 1.6),
        ("symbol", 7, False, 1.2),
        ("symbolLabel", 7, False, 1.2),
    ):
        st = ET.SubElement(styles, "style", name=name, marginTop=f"{top:g}", alignment="1")
        if name == "title":
            st.attrib.update(marginBottom="2.5")
        ET.SubElement(st, "styleFont", description=_font(size, bold=bold), style="")
    it.append(tree)
    return it


def _north_arrow() -> ET.Element:
    """QGIS's own north arrow (an SVG of its resources), top right of the map."""
    x, y = _MAP_MM[0] + _MAP_MM[2] - 14, _MAP_MM[1] + 3
    it = _item("picture", "{siteplanner-north}", (x, y, 11, 16), 6)
    it.attrib.update(
        file=":/images/north_arrows/layout_default_north_arrow.svg",
        mode="0",  # SVG
        resizeMode="0",  # zoom
        anchorPoint="0",
        svgFillColor="0,0,0,255",
        svgBorderColor="255,255,255,255",
        svgBorderWidth="0.2",
        northMode="0",
        northOffset="0",
        pictureRotation="0",
        pictureWidth="11",
        pictureHeight="16",
    )
    return it


def _scalebar(map_uuid: str, extent: tuple[float, ...]) -> ET.Element:
    width_m = extent[2] - extent[0]
    per_mm = width_m / _MAP_MM[2]
    seg = _nice(per_mm * 25.0)  # segments of about 25 mm
    x, y = _MAP_MM[0] + 3, _MAP_MM[1] + _MAP_MM[3] - 13
    it = _item("scalebar", "{siteplanner-scalebar}", (x, y, 70, 11), 4)
    it.attrib.update(
        style="Single Box",
        mapUuid=map_uuid,
        unitType="meters",
        unitLabel="m",
        numMapUnitsPerScaleBarUnit="1",
        numSegments="2",
        numSegmentsLeft="0",
        numSubdivisions="1",
        numUnitsPerSegment=f"{seg:g}",
        segmentSizeMode="0",
        segmentMillimeters=f"{seg / per_mm:.3f}",
        minBarWidth="50",
        maxBarWidth="150",
        height="2.5",
        labelBarSpace="1.5",
        boxContentSpace="1.5",
        alignment="0",
        labelVerticalPlacement="0",
        labelHorizontalPlacement="0",
        background="true",
    )
    ET.SubElement(
        it,
        "text-style",
        fontFamily=_FONT,
        fontSize="8",
        fontSizeUnit="Point",
        fontWeight="50",
        textColor="0,0,0,255",
        textOpacity="1",
    )
    return it


def _map_item(map_uuid: str, extent: tuple[float, ...]) -> ET.Element:
    it = _item("map", map_uuid, _MAP_MM, 1)
    it.attrib.update(
        frame="true",
        background="true",
        keepLayerSet="false",
        drawCanvasItems="true",
        mapRotation="0",
        followPreset="false",
        followPresetName="",
        isTemporal="0",
    )
    it.find("BackgroundColor").attrib.update(red="244", green="241", blue="234")  # map.png's
    ET.SubElement(it, "Extent", **dict(zip(("xmin", "ymin", "xmax", "ymax"), map(repr, extent))))
    ET.SubElement(it, "LayerSet")
    return it


def _sources(res: Result) -> str:
    files_ = sorted(set(res.incidents["file"])) if len(res.incidents) else []
    incidents = "SYNTHETIC (seeded simulation)" if res.synthetic else ", ".join(files_) or "none"
    return (
        f"Sources: streets, buildings, sensitive places © OpenStreetMap contributors (ODbL), "
        f"extract {res.town.source}. Incidents: {incidents}; hotspots {res.grid.method}, "
        f"window {res.grid.window}. Projection {res.town.crs}. siteplanner {__version__}."
    )


def _layout(res: Result, extent: tuple[float, ...], legend_tree: ET.Element) -> ET.Element:
    lay = ET.Element("Layout", name="Plan", units="mm", printResolution="200", worldFileMap="")
    pages = ET.SubElement(lay, "PageCollection")
    page = _item("page", "{siteplanner-page}", (0, 0, *_PAGE_MM), 0)
    page.attrib.update(background="true")
    pages.append(page)
    ET.SubElement(pages, "GuideCollection", visible="1")
    map_uuid = "{siteplanner-map}"
    n = int((res.sites["status"] == "proposed").sum())
    title = f"{res.town.name}: video-protection plan, {n} proposed sites, patrols"
    if res.synthetic:
        title += " — SYNTHETIC incidents"
    lay.append(_label("{siteplanner-title}", (10, 7, 277, 10), title, 15, bold=True))
    lay.append(_map_item(map_uuid, extent))
    lay.append(_legend(map_uuid, legend_tree))
    lay.append(_north_arrow())
    lay.append(_scalebar(map_uuid, extent))
    lay.append(_label("{siteplanner-sources}", (10, 195, 277, 10), _sources(res), 7))
    return lay


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def _write_qgz(path: Path, name: str, qgs: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(info, qgs.encode("utf-8"))


def write_qgis(
    res: Result, out_dir: str | Path, layers: Mapping[str, gpd.GeoDataFrame] | None = None
) -> list[Path]:
    """Write ``hotspots.qml`` and ``plan.qgz`` into ``out_dir`` (next to ``plan.gpkg``).

    Parameters
    ----------
    res
        A pipeline result.
    out_dir
        The folder (the run's staging folder).
    layers
        The layers of ``plan.gpkg`` (default: :func:`~siteplanner.outputs.export.plan_layers`).

    Returns
    -------
    list of Path
        The files written.
    """
    out_dir = Path(out_dir)
    layers = plan_layers(res) if layers is None else layers
    files.write_text(out_dir / "hotspots.qml", hotspot_qml(res))
    qgs = project_qgs(res, layers)
    files.write_with(out_dir / "plan.qgz", lambda p: _write_qgz(p, "plan.qgs", qgs))
    log.info("write_qgis: plan.qgz with %d layer(s), layout 'Plan'", qgs.count("<maplayer "))
    return [out_dir / "hotspots.qml", out_dir / "plan.qgz"]
