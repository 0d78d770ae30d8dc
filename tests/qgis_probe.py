"""Open a run's ``plan.qgz`` with QGIS and report what QGIS sees, as JSON on stdout.

Run by ``tests/test_qgis.py`` with Debian's ``/usr/bin/python3`` (PyQGIS lives there, not in
the project's Python) and ``QT_QPA_PLATFORM=offscreen``::

    /usr/bin/python3 tests/qgis_probe.py OUTDIR PNG

It reads the project, every layer (validity, geometry type, feature count, CRS, renderer,
symbol colours, labels), the layers of ``plan.gpkg`` and ``hotspots.tif`` opened on their own
(their default styles), the GDAL warnings raised while reading ``plan.gpkg``, and renders the
print layout ``Plan`` to ``PNG``.
"""

from __future__ import annotations

import json
import os
import sys

from osgeo import gdal, ogr
from qgis.core import (
    QgsApplication,
    QgsLayoutExporter,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemScaleBar,
    QgsProject,
    QgsRasterLayer,
    QgsRenderContext,
    QgsVectorLayer,
    QgsWkbTypes,
)


def _vector(layer: QgsVectorLayer) -> dict:
    renderer = layer.renderer()
    symbols = renderer.symbols(QgsRenderContext()) if renderer else []
    return {
        "geometry": QgsWkbTypes.geometryDisplayString(layer.geometryType()),
        "wkb": QgsWkbTypes.displayString(layer.wkbType()),
        "features": layer.featureCount(),
        "renderer": renderer.type() if renderer else None,
        "colours": [s.color().name(0x1) for s in symbols],  # QColor.HexArgb
        "labels": layer.labelsEnabled(),
        "label_field": layer.labeling().settings().fieldName
        if layer.labelsEnabled() and layer.labeling() and layer.labeling().type() == "simple"
        else None,
    }


def _raster(layer: QgsRasterLayer) -> dict:
    renderer = layer.renderer()
    out = {"renderer": renderer.type(), "opacity": renderer.opacity()}
    if renderer.type() == "singlebandpseudocolor":
        fn = renderer.shader().rasterShaderFunction()
        out["ramp"] = [[i.value, i.color.name(0x1), i.label] for i in fn.colorRampItemList()]
        out["ramp_type"] = int(fn.colorRampType())
    out["blend"] = int(layer.blendMode())
    out["width"], out["height"] = layer.width(), layer.height()
    return out


def _layer(layer) -> dict:
    info = {
        "id": layer.id(),
        "name": layer.name(),
        "source": layer.source(),
        "valid": layer.isValid(),
        "crs": layer.crs().authid(),
        "type": "raster" if isinstance(layer, QgsRasterLayer) else "vector",
    }
    if isinstance(layer, QgsVectorLayer) and layer.isValid():
        info.update(_vector(layer))
    elif isinstance(layer, QgsRasterLayer) and layer.isValid():
        info.update(_raster(layer))
    return info


def _gpkg_warnings(path: str) -> list[str]:
    """GDAL's warnings and errors while reading every table of ``plan.gpkg``."""
    seen: list[str] = []

    def handler(level, _code, msg):
        if level >= gdal.CE_Warning:
            seen.append(msg)

    gdal.PushErrorHandler(handler)
    try:
        ds = ogr.Open(path)
        for i in range(ds.GetLayerCount()):
            lyr = ds.GetLayer(i)
            for feat in lyr:
                feat.items()
        ds = None
    finally:
        gdal.PopErrorHandler()
    return seen


def _alone(out: str) -> dict:
    """Each layer opened on its own, as a user adds it: its default style."""
    res = {}
    gpkg = os.path.join(out, "plan.gpkg")
    ds = ogr.Open(gpkg)
    names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    ds = None
    for name in names:
        if name == "layer_styles":
            continue
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        res[name] = _layer(layer)
    res["hotspots.tif"] = _layer(QgsRasterLayer(os.path.join(out, "hotspots.tif"), "hotspots"))
    return res


def _layout(project: QgsProject, png: str) -> dict:
    layout = project.layoutManager().layoutByName("Plan")
    if layout is None:
        return {"found": False}
    items = layout.items()
    legend = [i for i in items if isinstance(i, QgsLayoutItemLegend)]
    out = {
        "found": True,
        "maps": sum(isinstance(i, QgsLayoutItemMap) for i in items),
        "legends": len(legend),
        "scalebars": [i.units() for i in items if isinstance(i, QgsLayoutItemScaleBar)],
        "labels": [i.text() for i in items if isinstance(i, QgsLayoutItemLabel)],
        "legend_layers": [n.name() for n in legend[0].model().rootGroup().findLayers()]
        if legend
        else [],
        "pages": layout.pageCollection().pageCount(),
    }
    exporter = QgsLayoutExporter(layout)
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = 110
    out["export"] = int(exporter.exportToImage(png, settings))
    return out


def main(out: str, png: str) -> dict:
    project = QgsProject.instance()
    ok = project.read(os.path.join(out, "plan.qgz"))
    root = project.layerTreeRoot()
    return {
        "read": ok,
        "crs": project.crs().authid(),
        "tree": [n.layerId() for n in root.findLayers()],
        "layers": [_layer(n.layer()) for n in root.findLayers()],
        "alone": _alone(out),
        "gpkg_warnings": _gpkg_warnings(os.path.join(out, "plan.gpkg")),
        "layout": _layout(project, png),
    }


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    try:
        report = main(sys.argv[1], sys.argv[2])
    finally:
        app.exitQgis()
    print(json.dumps(report))
