"""map.png: hotspot classes, one marker per phase, labels apart, legend outside the map."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from affine import Affine
from matplotlib.colors import to_hex

from siteplanner.hotspots.grids import DensityGrid, grid_mask
from siteplanner.outputs import plot
from siteplanner.steps.figures import densest_window, map_frame


@pytest.fixture(scope="module")
def drawn(default_run):
    res, _, _ = default_run
    fig = plot.plan_map(res)
    fig.canvas.draw()
    axes = {ax.get_label(): ax for ax in fig.axes}
    return res, fig, axes


def test_map_png_written(default_run):
    from PIL import Image

    _, out, _ = default_run
    with Image.open(out / "map.png") as im:
        assert im.width >= 1800 and im.height >= 1200


@pytest.mark.parametrize("dpi", [150, 100])  # map.png, and the default screen resolution
def test_no_two_site_labels_overlap(drawn, dpi):
    res, fig, axes = drawn
    fig.set_dpi(dpi)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    for name in ("map", "zoom"):
        labels = [t for t in axes[name].texts if t.get_gid() == "site-label"]
        boxes = [t.get_bbox_patch().get_window_extent(r) for t in labels]
        if name == "map":  # every proposed site has its rank label on the town map
            assert sorted(int(t.get_text()) for t in labels) == sorted(
                int(k) for k in res.sites.loc[res.sites["status"] == "proposed", "rank"]
            )
        for (ta, a), (tb, b) in itertools.combinations(zip(labels, boxes), 2):
            assert not a.overlaps(b), (name, ta.get_text(), tb.get_text())
        frame = axes[name].get_window_extent(r)
        for t, b in zip(labels, boxes):  # inside the frame
            assert (
                frame.x0 - 1 <= b.x0
                and b.x1 <= frame.x1 + 1
                and frame.y0 - 1 <= b.y0
                and b.y1 <= frame.y1 + 1
            )


def test_legend_and_zoom_outside_the_map_frame(drawn):
    _, fig, axes = drawn
    r = fig.canvas.get_renderer()
    frame = axes["map"].get_window_extent(r)
    legend = axes["legend"].get_legend().get_window_extent(r)
    assert not frame.overlaps(legend)
    assert not frame.overlaps(axes["zoom"].get_window_extent(r))
    assert axes["map"].get_legend() is None


def test_hotspot_streets_by_class_on_the_default_map(drawn):
    """#23: the default map shows the forecast's hotspot streets, not grid cells."""
    res, _, axes = drawn
    assert not [i for i in axes["map"].images if i.get_gid() == "hotspot-classes"]
    seg = res.demand_.forecast.segments
    total = seg.loc[seg["inside"], "length"].sum()
    for c, share in ((1, 0.01), (2, 0.04), (3, 0.05)):
        (col,) = [x for x in axes["map"].collections if x.get_gid() == f"hotspot-streets-{c}"]
        drawn_m = sum(np.hypot(*np.diff(p, axis=0).T).sum() for p in col.get_segments())
        assert drawn_m == pytest.approx(share * total, abs=50.0)  # a segment is <= 50 m
        assert to_hex(col.get_edgecolor()[0]) == plot.street_map.STREET_CLASSES[c][0]
    zoom = [x for x in axes["zoom"].collections if str(x.get_gid()).startswith("hotspot-streets")]
    assert zoom  # the zoom panel shows them too
    legend_text = [t.get_text() for t in axes["legend"].get_legend().get_texts()]
    assert "top 1 % of the street length" in legend_text
    assert any(t.startswith(f"hotspot streets ({res.demand_.forecast.method}") for t in legend_text)


def test_hotspot_classes_each_hold_a_share_of_cells(default_run):
    res, _, _ = default_run
    fig = plot.plan_map(res, layer="grid")  # the grid surface, an option
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert not [x for x in axes["map"].collections if str(x.get_gid()).startswith("hotspot-st")]
    im = next(i for i in axes["map"].images if i.get_gid() == "hotspot-classes")
    cls = np.ma.compressed(im.get_array())
    k = int(cls.max()) + 1
    assert k == 5
    shares = np.bincount(cls.astype(int), minlength=k) / len(cls)
    assert (shares >= 0.1).all(), shares  # quantiles: about a fifth each, not 99 % in one colour
    hc = plot.hotspot_classes(res.grid, grid_mask(res.grid, res.town.area))
    legend_text = [t.get_text() for t in axes["legend"].get_legend().get_texts()]
    for label in hc.labels():  # class limits are in the legend
        assert label in legend_text


def test_phases_patrols_and_watermark_are_told_apart(drawn):
    res, fig, axes = drawn
    phases = list(dict.fromkeys(res.sites.loc[res.sites["status"] == "proposed", "phase"]))
    assert len(phases) == 2  # phase 3 and phase 4 of the default scenario
    title = " ".join(t.get_text() for t in fig.texts)
    legend = axes["legend"].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    for ph in phases:
        assert ph in title
        assert any(t.startswith(f"proposed, {ph} ") for t in texts)
    handles = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
    markers = [handles[t].get_marker() for t in texts if t.startswith("proposed, ")]
    assert len(set(markers)) == len(markers)
    patrol_cols = [to_hex(handles[t].get_color()) for t in texts if t.startswith("patrol ")]
    assert len(patrol_cols) == len(res.circuits) and len(set(patrol_cols)) == len(patrol_cols)
    mark = [p for p in axes["map"].patches if p.get_gid() == "synthetic-mark"]
    assert len(mark) == 1 and res.synthetic
    data_colours = (
        {to_hex(c) for _, c in plot.PHASE_STYLES}
        | set(plot.PATROL_COLOURS)
        | {to_hex(plot._ylorrd(t)) for t in np.linspace(0, 1, 50)}
    )
    assert to_hex(mark[0].get_edgecolor()) not in data_colours
    assert mark[0].get_facecolor()[3] == 0  # hollow


def _grid(values: np.ndarray) -> DensityGrid:
    return DensityGrid(
        values=values,
        transform=Affine(10, 0, 0, 0, -10, 10 * values.shape[0]),
        cell_m=10,
        bandwidth_m=0,
        method="kde",
        window="all",
    )


def test_quantile_bins_are_mapclassify_quantiles():
    import mapclassify

    rng = np.random.default_rng(0)
    v = rng.lognormal(2, 2, 2000)
    for k in (3, 5, 7):
        assert np.allclose(plot.quantile_bins(v, k), mapclassify.Quantiles(v, k=k).bins)


def test_hotspot_classes_on_a_known_grid():
    import shapely

    vals = np.zeros((10, 10))
    vals[:, :5] = np.arange(1, 51).reshape(10, 5)  # 50 cells with density 1..50, 50 empty
    area = shapely.box(0, 0, 100, 100)
    hc = plot.hotspot_classes(_grid(vals), grid_mask(_grid(vals), area), k=5)
    assert list(hc.bins) == pytest.approx([10.8, 20.6, 30.4, 40.2, 50])
    assert (hc.classes[:, 5:] == -1).all()  # no density: no class
    assert np.bincount(hc.classes[hc.classes >= 0]).tolist() == [10, 10, 10, 10, 10]
    assert hc.labels()[0] == "≤ 11" and hc.labels()[-1] == "40 – 50"
    jenks = plot.hotspot_classes(
        _grid(vals), grid_mask(_grid(vals), area), k=5, scheme="fisher_jenks"
    )
    assert len(jenks.bins) == 5 and jenks.bins[-1] == 50
    with pytest.raises(ValueError, match="accepted"):
        plot.hotspot_classes(_grid(vals), grid_mask(_grid(vals), area), scheme="linear")


def test_densest_window():
    xy = np.array([[0, 0], [1000, 1000], [1010, 1000], [1000, 1020], [5000, 0]])
    x0, y0, x1, y1 = densest_window(xy, 100)
    assert x1 - x0 == pytest.approx(100) and x0 < 1000 and x1 > 1010 and y0 < 1000 and y1 > 1020
    assert densest_window(np.zeros((0, 2)), 100) is None


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_zoom_left_out_when_the_area_is_smaller_than_its_window():
    area = shapely.box(0, 0, 600, 300)  # 300 m high: a 350 m window would show all of it
    xy = np.array([[100.0, 100.0], [120.0, 110.0]])
    frame = map_frame(area, xy, side_m=350.0)
    assert frame.zoom is None and frame.zoom_sites == 0
    assert map_frame(shapely.box(0, 0, 2000, 2000), np.zeros((0, 2)), side_m=350).zoom is None
    # a small town centre (Redon: 966 m × 676 m): a 557 m window would magnify nothing
    assert map_frame(shapely.box(0, 0, 966, 676), xy, side_m=557.0).zoom is None
    assert map_frame(shapely.box(0, 0, 2500, 2800), xy, side_m=557.0).zoom is not None


def test_zoom_frames_proposed_sites_inside_the_map_off_the_scale_bar():
    area = shapely.box(0, 0, 3000, 2000)
    corner = np.array([[30.0, 20.0], [60.0, 40.0], [80.0, 90.0], [2500.0, 1500.0]])
    frame = map_frame(area, corner, side_m=400.0)
    x0, y0, x1, y1 = frame.extent
    assert (x0, y0, x1, y1) == pytest.approx((-60, -60, 3060, 2060))
    zx0, zy0, zx1, zy1 = frame.zoom
    assert zx1 - zx0 == pytest.approx(400) and zy1 - zy0 == pytest.approx(400)
    assert x0 <= zx0 and zx1 <= x1 and y0 <= zy0 and zy1 <= y1  # inside the map
    bx, by, length = frame.scale_bar
    bar = (bx, by, bx + length, by + 0.06 * (y1 - y0))  # the bar and its label
    assert not _overlap(frame.zoom, bar)
    assert frame.zoom_sites == 3  # the cluster in the corner, not the lone site
    # a cluster in the middle: the window is centred on it, the bar stays lower left
    mid = map_frame(area, np.array([[1500.0, 1000.0], [1520.0, 1010.0]]), side_m=400.0)
    assert mid.zoom == pytest.approx((1310, 805, 1710, 1205))
    assert mid.scale_bar[:2] == pytest.approx((x0 + 0.04 * 3120, y0 + 0.04 * 2120))


def test_zoom_frames_the_cluster_around_its_sites():
    area = shapely.box(0, 0, 3000, 2000)
    xy = np.array([[1500.0, 1000.0], [1550.0, 1070.0], [1530.0, 1020.0], [2500.0, 300.0]])
    f = map_frame(area, xy, side_m=557.0, pad_m=46.5, min_side_m=200.0)
    # the three sites within 50 m × 70 m: 70 m + a range on each side is below the floor
    assert f.zoom == pytest.approx((1425, 935, 1625, 1135)) and f.zoom_side_m == 200
    assert f.zoom_sites == 3
    wide = xy + [[0, 0], [200, 0], [0, 200], [0, 0]]  # 250 m × 220 m
    g = map_frame(area, wide, side_m=557.0, pad_m=46.5, min_side_m=200.0)
    assert g.zoom_side_m == pytest.approx(250 + 93) and g.zoom_sites == 3
    # a lone site is no cluster: no zoom (its sheet has its close-up)
    assert map_frame(area, xy[3:], side_m=557.0, pad_m=46.5, min_side_m=200.0).zoom is None


def test_zoom_frame_drawn_inside_the_map_off_the_scale_bar(drawn):
    res, fig, axes = drawn
    r = fig.canvas.get_renderer()
    ax = axes["map"]
    frame = ax.get_window_extent(r)
    zoom = next(p for p in ax.patches if p.get_gid() == "zoom-frame").get_window_extent(r)
    bar = next(c for c in ax.patches + ax.collections if c.get_gid() == "scale-bar")
    bar = bar.get_window_extent(r)
    label = next(
        t for t in ax.texts if t.get_text().endswith(("m", "km")) and "zoom" not in t.get_text()
    )
    assert frame.x0 - 1 <= zoom.x0 and zoom.x1 <= frame.x1 + 1
    assert frame.y0 - 1 <= zoom.y0 and zoom.y1 <= frame.y1 + 1
    assert not zoom.overlaps(bar) and not zoom.overlaps(label.get_window_extent(r))
    # the window frames proposed sites (the figures step's, drawn as computed)
    win = res.figures.map_frame.zoom
    prop = res.sites[res.sites["status"] == "proposed"]
    inside = prop.geometry.within(shapely.box(*win))
    assert inside.sum() == res.figures.map_frame.zoom_sites >= 2
