"""Tests of siteplanner.coverage.viewshed: hand-built scenes whose visible area is known exactly."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import shapely
from affine import Affine
from shapely.geometry import MultiPolygon, Point, Polygon, box

from siteplanner._errors import InputError
from siteplanner.coverage.privacy import Privacy, privacy_action, privacy_figures
from siteplanner.coverage.sightlines import build_obstacles
from siteplanner.coverage.terrain import terrain_clip, terrain_clips
from siteplanner.coverage.viewshed import (
    DORI_PPM,
    best_heading,
    best_headings,
    dori_range_m,
    dori_ranges_m,
    horizontal_fov_deg,
    isovist,
    isovists,
)

# A 2 m square whose near face is 4 m east of the camera at (0, 0), range 10 m.
# Hidden: the sector of half-angle atan(1/4) beyond the near face (sector minus the
# triangle camera-(4,-1)-(4,1)); the square itself lies inside that shadow.
SQUARE = box(4, -1, 6, 1)
SHADOW = 0.5 * 10**2 * 2 * math.atan(0.25) - 0.5 * 2 * 4
VISIBLE_360 = math.pi * 10**2 - SHADOW


def _disc_polygon_area(radius: float, step_deg: float) -> float:
    """Area of the regular polygon with chords of step_deg inscribed in the circle."""
    n = round(360.0 / step_deg)
    return 0.5 * n * radius**2 * math.sin(2 * math.pi / n)


def _random_scene(seed: int, n: int = 40, extent: float = 100.0) -> list[Polygon]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(0, extent, 2)
        w, h = rng.uniform(2, 12, 2)
        angle = rng.uniform(0, 180)
        out.append(shapely.affinity.rotate(box(x, y, x + w, y + h), angle, origin="centroid"))
    return out


def _oracle_isovist(
    buildings: list[Polygon], origin: tuple[float, float], radius: float
) -> Polygon:
    """Brute force: disc minus the union of every edge's shadow and of the buildings."""
    o = np.asarray(origin)
    disc = Point(origin).buffer(radius, quad_segs=2048)
    shadows = []
    for b in buildings:
        coords = np.asarray(b.exterior.coords)
        for p, q in zip(coords[:-1], coords[1:]):
            far_p = o + (p - o) * (4 * radius / max(np.linalg.norm(p - o), 1e-9))
            far_q = o + (q - o) * (4 * radius / max(np.linalg.norm(q - o), 1e-9))
            quad = Polygon([p, q, far_q, far_p])
            if quad.is_valid and quad.area > 0:
                shadows.append(quad)
    return disc.difference(shapely.union_all(shadows + buildings))


# ----------------------------------------------------------------------------- DORI


def test_dori_worked_example_1080p():
    # 1080p (1920 px wide), 5.4 mm-wide sensor, 4 mm lens.
    assert dori_range_m(4.0, 5.4, 1920, DORI_PPM["identification"]) == pytest.approx(
        5.689, abs=1e-3
    )
    assert dori_range_m(4.0, 5.4, 1920, DORI_PPM["detection"]) == pytest.approx(56.89, abs=1e-2)
    ranges = dori_ranges_m(4.0, 5.4, 1920)
    assert list(ranges) == ["detection", "observation", "recognition", "identification"]
    assert ranges["observation"] == pytest.approx(4 * 1920 / (5.4 * 62))
    assert horizontal_fov_deg(4.0, 5.4) == pytest.approx(2 * math.degrees(math.atan(0.675)))
    assert horizontal_fov_deg(4.0, 5.4) == pytest.approx(68.0, abs=0.1)


def test_dori_rejects_bad_optics():
    with pytest.raises(InputError, match="focal_mm"):
        dori_range_m(0.0, 5.4, 1920, 25)
    with pytest.raises(InputError, match="sensor_width_mm"):
        horizontal_fov_deg(4.0, -1.0)


# ----------------------------------------------------------------------------- obstacles


def test_build_obstacles_merges_overlaps_and_repairs():
    bowtie = Polygon([(20, 0), (22, 2), (22, 0), (20, 2)])  # invalid: self-intersecting
    parts = [
        box(0, 0, 2, 2),
        box(1, 1, 3, 3),
        MultiPolygon([box(10, 0, 11, 1), box(12, 0, 13, 1)]),
        bowtie,
    ]
    obs = build_obstacles(parts + [shapely.LineString([(0, 0), (1, 1)]), None])
    assert (
        len(obs.footprints) == 1 + 2 + 2
    )  # the overlapping pair merged; the bowtie in two triangles
    assert sum(p.area for p in obs.footprints) == pytest.approx(7 + 2 + 2)
    # every edge has its building on the left
    seg = obs.segments
    mid = 0.5 * (seg[:, :2] + seg[:, 2:])
    normal_left = np.column_stack([-(seg[:, 3] - seg[:, 1]), seg[:, 2] - seg[:, 0]])
    probe = mid + 1e-3 * normal_left / np.linalg.norm(normal_left, axis=1)[:, None]
    union = shapely.union_all(obs.footprints)
    assert shapely.contains_xy(union, probe[:, 0], probe[:, 1]).all()


def test_build_obstacles_rejects_non_geometries():
    with pytest.raises(InputError, match="row 1"):
        build_obstacles([box(0, 0, 1, 1), "not a polygon"])


# ----------------------------------------------------------------------------- isovist


def test_isovist_one_square_is_exact():
    obs = build_obstacles([SQUARE])
    fine = isovist(obs, (0, 0), 10.0, arc_step_deg=0.01)
    assert fine.is_valid
    assert fine.area == pytest.approx(VISIBLE_360, rel=1e-7)
    # default 1° chords: only the circle is approximated
    coarse = isovist(obs, (0, 0), 10.0)
    chord_loss = math.pi * 100 - _disc_polygon_area(10.0, 1.0)
    assert VISIBLE_360 - chord_loss - 1e-9 <= coarse.area <= VISIBLE_360
    # the shadow edges are exact: the corners of the near face are vertices
    coords = shapely.get_coordinates(coarse)
    for corner in [(4, -1), (4, 1)]:
        assert np.min(np.hypot(coords[:, 0] - corner[0], coords[:, 1] - corner[1])) < 1e-9
    assert not coarse.intersects(box(4.001, -0.999, 10, 0.999))


def test_isovist_wedge_and_heading_convention():
    obs = build_obstacles([SQUARE])
    east = isovist(obs, (0, 0), 10.0, heading_deg=90.0, fov_deg=90.0, arc_step_deg=0.01)
    assert east.is_valid
    assert east.area == pytest.approx(math.pi * 100 / 4 - SHADOW, rel=1e-7)
    north = isovist(obs, (0, 0), 10.0, heading_deg=0.0, fov_deg=90.0, arc_step_deg=0.01)
    assert north.area == pytest.approx(math.pi * 100 / 4, rel=1e-7)
    assert north.contains(Point(0, 9)) and not north.contains(Point(9, 0))
    # a 270° wedge looking west sees everything except the eastern quarter
    west = isovist(obs, (0, 0), 10.0, heading_deg=270.0, fov_deg=270.0, arc_step_deg=0.01)
    assert west.is_valid
    assert west.area == pytest.approx(math.pi * 100 * 3 / 4, rel=1e-7)


def test_isovist_courtyard_is_exactly_the_hole():
    building = Polygon(box(-10, -10, 10, 10).exterior.coords, [box(-3, -2, 3, 2).exterior.coords])
    obs = build_obstacles([building])
    view = isovist(obs, (0.5, 0.0), 100.0)
    assert view.area == pytest.approx(24.0, rel=1e-12)
    assert view.symmetric_difference(box(-3, -2, 3, 2)).area < 1e-9


def test_isovist_inside_or_on_a_building_is_empty():
    obs = build_obstacles([SQUARE])
    assert isovist(obs, (5, 0), 10.0).is_empty
    assert isovist(obs, (4, 0), 10.0).is_empty
    assert isinstance(isovist(obs, (5, 0), 10.0), Polygon)


def test_isovist_without_buildings_is_the_disc():
    obs = build_obstacles([])
    view = isovist(obs, (100, 200), 50.0)
    assert view.area == pytest.approx(_disc_polygon_area(50.0, 1.0), rel=1e-9)


def test_isovist_matches_brute_force_on_random_scene():
    buildings = _random_scene(seed=7)
    obs = build_obstacles(buildings)
    merged = list(obs.footprints)
    rng = np.random.default_rng(11)
    checked = 0
    for origin in rng.uniform(0, 100, (40, 2)):
        view = isovist(obs, tuple(origin), 30.0, arc_step_deg=0.05)
        if view.is_empty:
            assert shapely.union_all(merged).intersects(Point(origin))
            continue
        oracle = _oracle_isovist(merged, tuple(origin), 30.0)
        assert view.is_valid
        assert view.symmetric_difference(oracle).area < 2e-3 * oracle.area
        checked += 1
    assert checked >= 20


def test_isovists_batch_equals_single():
    obs = build_obstacles(_random_scene(seed=3))
    rng = np.random.default_rng(5)
    origins = rng.uniform(0, 100, (70, 2))  # more than one batch
    headings = rng.uniform(0, 360, 70)
    batch = isovists(obs, origins, 25.0)
    wedges = isovists(obs, origins, 25.0, fov_deg=70.0, headings_deg=headings)
    for i, origin in enumerate(origins):
        single = isovist(obs, tuple(origin), 25.0)
        assert batch[i].equals_exact(single, tolerance=1e-9)
        wedge = isovist(obs, tuple(origin), 25.0, heading_deg=headings[i], fov_deg=70.0)
        assert wedges[i].equals_exact(wedge, tolerance=1e-9)
        assert wedges[i].area <= batch[i].area + 1e-6
    assert all(p.is_valid for p in batch + wedges)


def test_isovist_input_errors():
    obs = build_obstacles([SQUARE])
    with pytest.raises(InputError, match="radius_m"):
        isovist(obs, (0, 0), -1.0)
    with pytest.raises(InputError, match="heading_deg"):
        isovist(obs, (0, 0), 10.0, fov_deg=90.0)
    with pytest.raises(InputError, match="headings_deg"):
        isovists(obs, np.zeros((2, 2)), 10.0, fov_deg=90.0)
    with pytest.raises(InputError, match="row 1"):
        isovists(obs, np.array([[0.0, 0.0], [np.nan, 1.0]]), 10.0)


# ----------------------------------------------------------------------------- headings


def test_best_heading_by_area_and_by_targets():
    obs = build_obstacles([SQUARE])
    # by area: east (90) is the only heading that loses the shadow; ties go to 0
    heading, view = best_heading(obs, (0, 0), 10.0, 90.0, n_headings=4)
    assert heading == 0.0
    assert view.area == pytest.approx(_disc_polygon_area(10.0, 1.0) / 4, rel=1e-3)
    # targets to the south-west
    targets = np.array([[-3.0, -3.0], [-5.0, -4.0], [0.0, 5.0]])
    heading, view = best_heading(obs, (0, 0), 10.0, 90.0, n_headings=8, target_xy=targets)
    assert heading == 225.0
    assert view.contains(Point(-3, -3))
    # weights can change the choice; a target hidden behind the square scores nothing
    weights = np.array([1.0, 1.0, 5.0])
    assert best_heading(obs, (0, 0), 10.0, 90.0, target_xy=targets, target_weight=weights)[0] == 0.0
    hidden = np.array([[8.0, 0.0]])
    assert best_heading(obs, (0, 0), 10.0, 90.0, n_headings=4, target_xy=hidden)[0] == 0.0
    headings, views = best_headings(
        obs, np.array([[0.0, 0.0], [5.0, 0.0]]), 10.0, 90.0, target_xy=targets
    )
    assert headings.tolist() == [225.0, 0.0]
    assert views[1].is_empty


# ----------------------------------------------------------------------------- terrain


def _ridge_dem() -> tuple[np.ndarray, Affine]:
    """1 m DEM, flat at 0 m, with a 20 m high north-south ridge for 20 m <= x < 30 m."""
    transform = Affine(1.0, 0.0, -100.0, 0.0, -1.0, 100.0)
    dem = np.zeros((200, 200))
    cols_x = -100 + np.arange(200) + 0.5
    dem[:, (cols_x >= 20) & (cols_x < 30)] = 20.0
    return dem, transform


def test_terrain_clip_hides_the_far_side_of_a_ridge():
    dem, transform = _ridge_dem()
    fov = isovist(build_obstacles([]), (0, 0), 50.0)
    cut = terrain_clip(
        fov,
        (0, 0),
        dem=dem,
        transform=transform,
        camera_height_m=5.0,
        target_height_m=0.0,
        step_m=1.0,
    )
    assert cut.contains(Point(-40, 0)) and cut.contains(Point(10, 0)) and cut.contains(Point(0, 45))
    assert not cut.intersects(Point(40, 0)) and not cut.intersects(Point(35, 20))
    # The camera (5 m) is below the crest (20 m): the ridge top beyond its near edge is
    # hidden as well. The near edge is a 1 m bilinear ramp (x = 19.5 → 20.5), the first
    # sample on the top is x = 21 m: hidden is the disc beyond x ≈ 21 m,
    # r² acos(d/r) - d sqrt(r² - d²).
    assert not cut.intersects(Point(25, 0))
    d = 21.0
    hidden = 50**2 * math.acos(d / 50) - d * math.sqrt(50**2 - d**2)
    assert fov.area - cut.area == pytest.approx(hidden, rel=0.03)
    # a camera on a 25 m mast sees the whole ridge top, not the ground behind it (the line
    # grazing the far edge (30 m, 20 m) reaches the ground at x = 150 m)
    high = terrain_clip(
        fov, (0, 0), dem=dem, transform=transform, camera_height_m=25.0, target_height_m=0.0
    )
    assert high.contains(Point(25, 0)) and not high.intersects(Point(45, 0))


def test_terrain_clip_flat_ground_changes_nothing():
    dem = np.full((50, 50), 120.0)
    transform = Affine(5.0, 0.0, -125.0, 0.0, -5.0, 125.0)
    fov = isovist(build_obstacles([SQUARE]), (0, 0), 40.0)
    cut = terrain_clip(
        fov, (0, 0), dem=dem, transform=transform, camera_height_m=6.0, target_height_m=1.7
    )
    assert cut.equals(fov)


# ----------------------------------------------------------------------- roofs below the eye

# A 4 m square block 10 m east of a camera 6 m high, on a ground that falls eastwards by
# ``slope`` metres per metre (a plane: the bilinear DEM is exact on it).
BLOCK = box(10, -2, 14, 2)


def _plane(slope: float) -> dict:
    transform = Affine(1.0, 0.0, -100.0, 0.0, -1.0, 100.0)
    cols = np.arange(200) + 0.5 - 100.0  # x of the cell centres
    dem = np.tile(-slope * cols, (200, 1))
    return {"dem": dem, "transform": transform, "camera_height_m": 6.0, "target_height_m": 1.7}


def _roof_shadow_area(k: float) -> float:
    """Area hidden by BLOCK when a target beyond it is hidden up to k times the exit distance.

    Along the ray at angle t the block spans [10 / cos t, exit], the exit being the back face
    (x = 14) or a side (|y| = 2); the hidden run is [10 / cos t, k · exit].
    """
    from scipy.integrate import quad

    def run(t: float) -> float:
        exit_ = 14 / math.cos(t) if abs(math.tan(t)) <= 2 / 14 else 2 / abs(math.sin(t))
        return 0.5 * ((k * exit_) ** 2 - (10 / math.cos(t)) ** 2)

    edge = math.atan(2 / 14)
    return quad(run, -math.atan(0.2), math.atan(0.2), points=[-edge, edge])[0]


@pytest.mark.parametrize(
    ("slope", "height", "k"),
    [
        # flat ground, 3 m shed: k = (6 - 1.7) / (6 - 3)
        (0.0, 3.0, 4.3 / 3.0),
        # ground falling 1 m per metre: the block's mean ground is -12 m, its 9 m roof at
        # -3 m is below the eye (6 m): k = (6 - (-12 + 1.7)) / (6 - (-3))
        (1.0, 9.0, 16.3 / 9.0),
    ],
)
def test_isovist_sees_over_a_roof_below_the_eye_exactly(slope, height, k):
    disc = isovist(build_obstacles([]), (0, 0), 50.0, arc_step_deg=0.1).area
    fov = isovist(
        build_obstacles([BLOCK], heights_m=[height]),
        (0, 0),
        50.0,
        arc_step_deg=0.1,
        terrain=_plane(slope),
    )
    assert fov.area == pytest.approx(disc - _roof_shadow_area(k), abs=1e-6)
    # seen over the roof: the ground just beyond the shadow; hidden: just before its end
    assert fov.contains(Point(14 * k + 0.05, 0)) and not fov.intersects(Point(14 * k - 0.05, 0))
    assert not fov.intersects(BLOCK.centroid)


@pytest.mark.parametrize(
    "footprint",
    [
        Polygon([(10, -8), (30, -8), (30, -4), (16, -4), (16, 10), (10, 10)]),  # L
        Polygon(
            [(10, -10), (25, -10), (25, 10), (10, 10), (10, 6), (20, 6), (20, -6), (10, -6)]
        ),  # U facing the camera
        shapely.reverse(
            Polygon(
                [(10, -10), (25, -10), (25, 10), (10, 10), (10, 6), (20, 6), (20, -6), (10, -6)]
            )
        ),
        box(12, -8, 28, 8).difference(box(16, -4, 24, 4)),  # a courtyard
    ],
)
def test_roof_shadow_of_non_convex_footprints_matches_the_line_of_sight(footprint):
    # On flat ground a target at p is hidden by a 4 m roof exactly when the segment from
    # p / k to p crosses the footprint (the line of sight is below the roof on that part).
    height, k = 4.0, (6.0 - 1.7) / (6.0 - 4.0)
    fov = isovist(
        build_obstacles([footprint], heights_m=[height]), (0, 0), 50.0, terrain=_plane(0.0)
    )
    pts = np.random.default_rng(0).uniform(-50, 50, (4000, 2))
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) < 49.0]
    hidden = shapely.intersects(shapely.linestrings(np.stack([pts / k, pts], axis=1)), footprint)
    seen = shapely.contains_xy(fov, pts[:, 0], pts[:, 1])
    assert hidden.sum() > 200  # the test means something
    assert np.array_equal(seen, ~hidden)


def test_batches_with_roofs_and_terrain_equal_single_cameras():
    roofs = [
        BLOCK,
        box(-30, 5, -20, 15),
        Polygon([(0, -30), (20, -30), (20, -25), (5, -25), (5, -15), (0, -15)]),
    ]
    obs = build_obstacles(roofs, heights_m=[3.0, 12.0, 4.0])
    terrain = _plane(0.0)
    centres = np.arange(200) + 0.5 - 100.0
    terrain["dem"] = -0.02 * (
        centres[None, :] ** 2 + centres[::-1, None] ** 2
    )  # a dome: its flanks hide ground
    origins = np.array([[0.0, 0.0], [-5.0, 2.0], [3.0, -8.0], [-40.0, -40.0]])
    batch = isovists(obs, origins, 45.0, terrain=terrain)
    clipped = terrain_clips(batch, origins, **terrain)
    for o, fov, cut in zip(origins, batch, clipped):
        assert fov.equals_exact(isovist(obs, tuple(o), 45.0, terrain=terrain), tolerance=1e-9)
        assert cut.equals_exact(terrain_clip(fov, tuple(o), **terrain), tolerance=1e-9)
    assert (
        sum(not c.equals_exact(f, tolerance=1e-9) for f, c in zip(batch, clipped)) >= 1
    )  # the slope hides some ground


def test_a_roof_at_or_above_the_eye_is_a_wall():
    two_d = isovist(build_obstacles([BLOCK]), (0, 0), 50.0)
    for height in (6.0, 9.0):
        fov = isovist(
            build_obstacles([BLOCK], heights_m=[height]), (0, 0), 50.0, terrain=_plane(0.0)
        )
        assert fov.equals(two_d)
    # no terrain given: heights are not used, every building is a wall
    assert isovist(build_obstacles([BLOCK], heights_m=[3.0]), (0, 0), 50.0).equals(two_d)


def test_merged_buildings_take_the_tallest_height_and_heights_are_checked():
    shed, tower = box(10, -2, 12, 2), box(12, -2, 14, 2)  # touching: one footprint
    obs = build_obstacles([shed, tower], heights_m=[3.0, 12.0])
    assert len(obs.footprints) == 1 and obs.heights_m.tolist() == [12.0]
    assert set(obs.segment_footprint.tolist()) == {0}
    with pytest.raises(InputError, match="row 1: height -2.0 m is not accepted"):
        build_obstacles([shed, tower], heights_m=[3.0, -2.0])
    with pytest.raises(InputError, match="heights_m has 1 values for 2 buildings"):
        build_obstacles([shed, tower], heights_m=[3.0])


# ----------------------------------------------------------------------------- privacy


def _street() -> dict:
    """A street along y = 0; a dwelling north (façade y = 5, entrance at its middle),
    a second dwelling hidden behind it with a back entrance, a shop south."""
    home = box(0, 5, 20, 15)
    hidden_home = box(0, 20, 20, 30)
    shop = box(0, -15, 20, -5)
    obs = build_obstacles([home, hidden_home, shop])
    entrances = np.array([[10.0, 5.0], [10.0, 15.0], [10.0, 20.0], [10.0, -5.0]])
    return {"obs": obs, "residential": [home, hidden_home], "entrances": entrances}


def test_privacy_figures_on_a_street_with_one_entrance():
    s = _street()
    fov = isovist(s["obs"], (10, 0), 30.0)
    dwelling_entrances = s["entrances"][:3]  # the caller passes the entrances of dwellings
    p = privacy_figures(
        fov,
        (10, 0),
        residential=s["residential"],
        entrances_xy=dwelling_entrances,
        recognition_range_m=10.0,
    )
    assert isinstance(p, Privacy)
    # the façade y = 5 within 10 m of the camera: |x - 10| <= sqrt(100 - 25)
    assert p.facade_m == pytest.approx(2 * math.sqrt(75), rel=1e-3)
    assert p.n_entrances == 1  # the back and the hidden entrances are not seen
    assert p.mask.area > 0
    assert p.mask.contains(Point(10, 4)) and not p.mask.intersects(Point(10, -4))
    assert p.mask.within(fov.buffer(1e-6))
    assert privacy_action(p, policy="exclude") == "exclude"
    assert privacy_action(p, policy="mask") == "mask"
    assert privacy_action(p, max_facade_m=20.0, max_entrances=1) == "ok"


def test_privacy_counts_every_entrance_given():
    s = _street()
    fov = isovist(s["obs"], (10, 0), 30.0)
    # the shop entrance (10, -5) is an entrance in view: entrances_xy is the caller's choice
    p = privacy_figures(
        fov, (10, 0), residential=[], entrances_xy=s["entrances"], recognition_range_m=10.0
    )
    assert p.facade_m == 0.0
    assert p.n_entrances == 2


def test_privacy_out_of_recognition_range_is_ok():
    s = _street()
    fov = isovist(s["obs"], (10, 0), 30.0)
    p = privacy_figures(
        fov,
        (10, 0),
        residential=s["residential"],
        entrances_xy=s["entrances"],
        recognition_range_m=4.0,
    )
    assert p.facade_m == 0.0 and p.n_entrances == 0 and p.mask.is_empty
    assert privacy_action(p, policy="exclude") == "ok"
    with pytest.raises(InputError, match="policy"):
        privacy_action(p, policy="blur")  # type: ignore[arg-type]
