"""Issue #25: the spacing rule held by both solvers, and what existing cameras already see.

Optima are checked against an independent solver: PuLP's bundled CBC, which runs in its own
process (so HiGHS's thread scheduler in this process is left alone, see
``tests/test_optimise_certificate.py``), on hand-built instances whose conflicts are known.
"""

from __future__ import annotations

import itertools
import json
import warnings

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import numpy as np
import pulp
import pytest
import scipy.sparse as sp
import shapely

from siteplanner._errors import InputError
from siteplanner.optimise import phases as optimise
from siteplanner.optimise.phases import Phase
from siteplanner.town import cameras

SPACING = 20.0


def _matrix(rows: list[list[int]], n_demand: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_demand))
    for j, row in enumerate(rows):
        dense[j, row] = 1
    return sp.csr_matrix(dense)


def _too_close(xy, a: int, b: int, existing=(), reuse=()) -> bool:
    """Whether sites a and b break the spacing rule (an existing camera and a reused support
    may stand together)."""
    if (a in existing and b in reuse) or (a in reuse and b in existing):
        return False
    return bool(np.hypot(*(xy[a] - xy[b])) < SPACING)


def _cbc_optimum(
    A, w, xy, *, k=None, budget=None, cost=None, fixed=(), existing=(), reuse=(), beta=0.0
):
    """The maximal covering optimum under the spacing rule, by PuLP + CBC (independent)."""
    n_s, n_d = A.shape
    fixed = set(int(j) for j in fixed)
    m = pulp.LpProblem("mclp_spacing", pulp.LpMaximize)
    x = {j: m.add_variable(f"x{j}", 0, 1, cat="Integer") for j in range(n_s) if j not in fixed}
    on = {j: (1 if j in fixed else x[j]) for j in range(n_s)}
    y = [m.add_variable(f"y{i}", 0, 1) for i in range(n_d)]
    z = [m.add_variable(f"z{i}", 0, 1) for i in range(n_d)]
    Ac = sp.csc_matrix(A)
    for i in range(n_d):
        seen = pulp.lpSum(on[j] for j in Ac.indices[Ac.indptr[i] : Ac.indptr[i + 1]])
        m += y[i] + z[i] <= seen
        m += z[i] <= y[i]
    m += pulp.lpSum(float(w[i]) * (y[i] + beta * z[i]) for i in range(n_d))
    if k is not None:
        m += pulp.lpSum(x.values()) <= k
    if budget is not None:
        m += pulp.lpSum(float(cost[j]) * x[j] for j in x) <= budget
    for a, b in itertools.combinations(range(n_s), 2):
        if a in fixed and b in fixed or not _too_close(xy, a, b, existing, reuse):
            continue
        m += on[a] + on[b] <= 1
    with warnings.catch_warnings():  # PuLP 3.3 announces COIN_CMD; the bundled CBC is this one
        warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
        status = m.solve(pulp.PULP_CBC_CMD(msg=False))
    assert pulp.LpStatus[status] == "Optimal"
    return float(pulp.value(m.objective)), sorted(j for j in x if x[j].value() > 0.5)


def _spaced(plan, xy, existing=(), reuse=()) -> bool:
    """No two sites of the plan (fixed ones included, two existing cameras aside) too close."""
    return not any(
        _too_close(xy, a, b, existing, reuse)
        for a, b in itertools.combinations(plan.sites, 2)
        if not (a in existing and b in existing)
    )


# ------------------------------------------------------------------ two masts 15 m apart


@pytest.fixture
def masts():
    """Sites 0 and 1 stand 15 m apart and see 5 points each; 2 sees 3, 3 sees 2 (far away)."""
    A = _matrix([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12], [13, 14]], 15)
    xy = np.array([[0.0, 0.0], [15.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    return A, np.ones(15), xy


@pytest.mark.parametrize("method", ["exact", "fast"])
@pytest.mark.parametrize("limit", [{"k": 2}, {"budget_eur": 2.0, "cost_eur": np.ones(4)}])
def test_two_masts_15_m_apart_are_not_both_proposed(masts, method, limit):
    A, w, xy = masts
    free = optimise.solve(A, w, method=method, **limit)
    assert set(free.selected) == {0, 1} and free.objective == 10.0  # no rule: side by side
    plan = optimise.solve(A, w, method=method, min_spacing_m=SPACING, site_xy=xy, **limit)
    assert plan.objective == 8.0 and _spaced(plan, xy)
    assert set(plan.selected) in ({0, 2}, {1, 2})  # a tie
    cbc, _ = _cbc_optimum(
        A, w, xy, k=limit.get("k"), budget=limit.get("budget_eur"), cost=np.ones(4)
    )
    assert cbc == pytest.approx(8.0)
    assert plan.upper_bound >= cbc - 1e-9


def test_coverage_curve_keeps_the_spacing(masts):
    A, w, xy = masts
    free = optimise.coverage_curve(A, w, k_max=2)
    spaced = optimise.coverage_curve(A, w, k_max=2, min_spacing_m=SPACING, site_xy=xy)
    assert free.tolist() == pytest.approx([0, 5 / 15, 10 / 15])
    assert spaced.tolist() == pytest.approx([0, 5 / 15, 8 / 15])


def test_zero_spacing_is_no_rule(masts):
    A, w, _ = masts
    assert set(optimise.solve(A, w, k=2, min_spacing_m=0.0).selected) == {0, 1}


# ------------------------------------------------ the greedy trapped by a conflict: bound honest


def test_greedy_trapped_by_a_conflict_keeps_an_honest_bound():
    """Site 0 (6 points) stands 12 m from sites 1 and 2 (5 points each, 24 m apart): the
    greedy takes 0 and then only far site 3 (7); the optimum is {1, 2} (10)."""
    A = _matrix([[0, 1, 2, 3, 4, 5], [0, 1, 2, 6, 7], [3, 4, 5, 8, 9], [10]], 11)
    w = np.ones(11)
    xy = np.array([[0.0, 0.0], [-12.0, 0.0], [12.0, 0.0], [100.0, 0.0]])
    cbc, chosen = _cbc_optimum(A, w, xy, k=2)
    assert cbc == pytest.approx(10.0) and chosen == [1, 2]
    fast = optimise.solve(A, w, k=2, min_spacing_m=SPACING, site_xy=xy, method="fast")
    assert set(fast.selected) == {0, 3} and fast.objective == 7.0
    assert fast.upper_bound >= cbc - 1e-9  # the bound of the relaxation still holds
    assert not fast.optimal and fast.status == "feasible"
    assert "spacing rule left out of the bound" in fast.solver_message
    exact = optimise.solve(A, w, k=2, min_spacing_m=SPACING, site_xy=xy, method="exact")
    assert set(exact.selected) == {1, 2} and exact.objective == pytest.approx(cbc)
    assert exact.optimal and exact.status == "optimal"


# ----------------------------------------------------------- random instances against CBC


def _dense_instance(seed: int):
    """16 sites in an 80 m square (many pairs under 20 m), 60 weighted demand points."""
    rng = np.random.default_rng(seed)
    n_s, n_d = 16, 60
    A = sp.random(n_s, n_d, density=0.15, random_state=seed, format="csr")
    A.data[:] = 1.0
    w = rng.lognormal(0.0, 1.0, n_d)
    xy = rng.uniform(0.0, 80.0, (n_s, 2))
    cost = rng.integers(3, 10, n_s).astype(float)
    return A, w, xy, cost


@pytest.mark.parametrize("seed", range(8))
def test_exact_is_the_cbc_optimum_and_fast_within_its_bound(seed):
    A, w, xy, cost = _dense_instance(seed)
    fixed = [0]  # a site the référent sûreté accepted: the others keep their distance to it
    kw = {"k": 3} if seed % 2 == 0 else {"budget_eur": 16.0, "cost_eur": cost}
    cbc, _ = _cbc_optimum(
        A, w, xy, k=kw.get("k"), budget=kw.get("budget_eur"), cost=cost, fixed=fixed
    )
    free = optimise.solve(A, w, fixed=fixed, method="exact", **kw)
    for method in ("exact", "fast"):
        plan = optimise.solve(
            A, w, fixed=fixed, min_spacing_m=SPACING, site_xy=xy, method=method, **kw
        )
        assert _spaced(plan, xy)
        assert plan.objective <= cbc * (1 + 1e-9) + 1e-9 <= plan.upper_bound * (1 + 1e-9) + 2e-9
        assert plan.objective <= free.objective + 1e-9  # the rule can only cost coverage
        if plan.optimal:
            assert plan.objective == pytest.approx(cbc, rel=1e-9)
        if method == "exact":
            assert plan.optimal and plan.objective == pytest.approx(cbc, rel=1e-9)


def test_later_phases_keep_their_distance_to_earlier_ones():
    A, w, xy, cost = _dense_instance(11)
    for method in ("exact", "fast"):
        plans = optimise.plan_phases(
            A,
            w,
            [Phase("phase 3", 2025, k=2), Phase("phase 4", 2026, k=2)],
            fixed=[0],
            method=method,
            min_spacing_m=SPACING,
            site_xy=xy,
        )
        last = plans[-1].plan
        assert set(plans[0].plan.selected) <= set(last.fixed)
        assert _spaced(last, xy)  # phase 4 against phase 3, the accepted site and itself
        if method == "exact":
            cbc, _ = _cbc_optimum(A, w, xy, k=2, fixed=last.fixed)
            assert last.objective == pytest.approx(cbc, rel=1e-9)


# ------------------------------------------------- existing cameras and their reused supports


@pytest.fixture
def street():
    """Existing camera 0 at x = 0; 1: a head on its support (x = 0); 2: a new mast at 10 m;
    3: another head 5 m from 1; 4: a far mast. Each sees its own points."""
    A = _matrix([[0], [1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12], [13, 14]], 15)
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [5.0, 0.0], [200.0, 0.0]])
    return A, np.ones(15), xy


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_a_head_on_an_existing_support_may_stand_beside_the_camera(street, method):
    A, w, xy = street
    kw = dict(fixed=[0], min_spacing_m=SPACING, site_xy=xy, method=method)
    # no reused support: every site within 20 m of the existing camera is out
    assert optimise.solve(A, w, k=1, existing=[0], **kw).selected == (4,)
    # site 1 reuses the camera's support; 3 too, but 1 and 3 are two new sites 5 m apart
    plan = optimise.solve(A, w, k=2, existing=[0], reuse_support=[1, 3], **kw)
    assert set(plan.selected) == {1, 4} and plan.objective == 7.0
    assert _spaced(plan, xy, existing=[0], reuse=[1, 3])
    cbc, chosen = _cbc_optimum(A, w, xy, k=2, fixed=[0], existing=[0], reuse=[1, 3])
    assert chosen == [1, 4] and cbc == pytest.approx(7.0)
    # site 0 accepted by the référent (a new site, not a camera in place): no exemption
    assert optimise.solve(A, w, k=1, reuse_support=[1, 3], **kw).selected == (4,)


def test_existing_cameras_must_be_fixed_and_not_reused(street):
    A, w, xy = street
    with pytest.raises(InputError, match=r"existing: sites \[0\] are not fixed"):
        optimise.solve(A, w, k=1, existing=[0], min_spacing_m=SPACING, site_xy=xy)
    with pytest.raises(InputError, match=r"both existing and reuse_support"):
        optimise.solve(A, w, k=1, fixed=[0], existing=[0], reuse_support=[0])


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_what_an_existing_camera_sees_adds_nothing_to_a_new_site(method):
    """Existing camera 0 sees points 0-2 (weight 10 each). Site 1 sees them and point 3
    (weight 1): alone it would be the best site (31), beside the camera it adds 1. Site 2
    sees points 4-5 (weight 2 each): it adds 4 and is chosen."""
    A = _matrix([[0, 1, 2], [0, 1, 2, 3], [4, 5]], 6)
    w = np.array([10.0, 10.0, 10.0, 1.0, 2.0, 2.0])
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    assert optimise.solve(A, w, k=1, excluded=[0], method=method).selected == (1,)
    plan = optimise.solve(A, w, k=1, fixed=[0], existing=[0], method=method)
    assert plan.selected == (2,) and plan.marginal_gain == (4.0,)
    assert plan.covered_before == 30.0 and plan.objective == 34.0
    cbc, chosen = _cbc_optimum(A, w, xy, k=1, fixed=[0], existing=[0])
    assert chosen == [2] and cbc == pytest.approx(34.0)
    # with a backup share, a second view of the camera's points counts that share only
    backup = optimise.solve(A, w, k=1, fixed=[0], existing=[0], backup_share=0.5, method=method)
    assert backup.selected == (1,) and backup.marginal_gain == (1.0 + 0.5 * 30.0,)
    cbc, _ = _cbc_optimum(A, w, xy, k=1, fixed=[0], existing=[0], beta=0.5)
    assert backup.objective == pytest.approx(cbc)


# ----------------------------------------------------------------- existing cameras' views


def test_cameras_on_a_wall_look_from_outside_it():
    """A 10 m square and a 40 m square building: a camera on the first's wall, one 2 m inside
    it, one 20 m deep in the second (indoors), one in the street."""
    small = shapely.box(0, 0, 10, 10)
    big = shapely.box(100, 0, 140, 40)
    xy = np.array([[10.0, 5.0], [8.0, 5.0], [120.0, 20.0], [20.0, 5.0]])
    origin, view_from = cameras.view_origins(xy, gpd.GeoSeries([small, big]))
    assert view_from.tolist() == [
        cameras.OFF_WALL,
        cameras.OFF_WALL,
        cameras.INDOORS,
        cameras.AT_POINT,
    ]
    assert origin[0] == pytest.approx([10.5, 5.0], abs=0.01)
    assert origin[1] == pytest.approx([10.5, 5.0], abs=0.01)
    assert origin[2:].tolist() == xy[2:].tolist()
    counts = cameras.view_counts(
        [cameras.ASSUMED, cameras.ALL_ROUND, cameras.FROM_OSM, cameras.ASSUMED], view_from
    )
    assert counts == {
        "cameras": 4,
        "direction_mapped": 1,
        "no_direction": 3,
        "assumed_360": 1,
        "assumed_best_heading": 2,
        "moved_off_wall": 2,
        "inside_building": 1,
    }


def test_osm_domes_without_direction_see_all_round():
    feats = gpd.GeoDataFrame(
        {
            "man_made": ["surveillance"] * 4,
            "camera:type": ["dome", "panning", "fixed", "dome"],
            "camera:direction": [None, None, None, "NE"],
        },
        geometry=gpd.points_from_xy([0, 1, 2, 3], [0, 0, 0, 0]),
        crs="EPSG:32632",
    )
    out = cameras.osm_cameras(feats)
    assert out["heading_source"].tolist() == [
        cameras.ALL_ROUND,
        cameras.ALL_ROUND,
        cameras.ASSUMED,
        cameras.FROM_OSM,
    ]
    assert out["fov_deg"].tolist()[:2] == [360.0, 360.0]
    assert np.isnan(out["fov_deg"].to_numpy()[2:]).all()


# --------------------------------------------------------------------- the default scenario


def test_default_scenario_sites_stand_20_m_apart(default_run):
    res, out, _ = default_run
    assert res.scenario.plan.min_spacing_m == SPACING
    sites = gpd.read_file(out / "sites.geojson").to_crs(res.town.crs)
    prop = sites[sites["status"] == "proposed"]
    assert len(prop) == sum(len(pp.plan.selected) for pp in res.phase_plans) > 10
    xy = np.column_stack([prop.geometry.x, prop.geometry.y])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= SPACING
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["plan"]["min_spacing_m"] == SPACING
    assert summary["existing_cameras"]["cameras"] == res.coverage.existing.cameras == 0
    assert summary["existing_cameras"]["assumption"].startswith("No existing camera")


def test_town_cameras_on_walls_and_indoors_are_counted(tmp_path, town):
    """Beausoleil with a cameras file: one on a building's wall (no heading), one deep inside
    a building, one in the street with its heading. The first looks from outside the wall,
    the second sees nothing, and no new site stands within 20 m of either kind."""
    from siteplanner.scenario import load_scenario
    from siteplanner.steps.coverage import coverage
    from siteplanner.steps.demand import demand
    from siteplanner.steps.load import load
    from siteplanner.steps.phases import optimise_phases
    from siteplanner.steps.review import review
    from siteplanner.steps.sites import candidates
    from tests.conftest import SCENARIO, copy_scenario

    b = town.buildings[town.buildings.within(town.area)]
    deep = b.geometry.buffer(-8.0)
    inner = deep[~deep.is_empty].iloc[0].representative_point()
    wall = shapely.Point(b.geometry.iloc[len(b) // 2].exterior.coords[0])
    nodes = np.array([(d["x"], d["y"]) for _, d in sorted(town.graph.nodes(data=True))])
    street = shapely.Point(nodes[shapely.contains_xy(town.area, nodes[:, 0], nodes[:, 1])][0])
    pts = gpd.GeoSeries([wall, inner, street], crs=town.crs).to_crs(4326)
    rows = [
        f"{n},{p.x:.8f},{p.y:.8f},{h}"
        for n, p, h in zip(("wall", "inside", "street"), pts, ("", "", "90"))
    ]
    cams = tmp_path / "cams.csv"
    cams.write_text("name,lon,lat,heading_deg\n" + "\n".join(rows) + "\n", encoding="utf-8")
    path = copy_scenario(SCENARIO, tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        "[area]\n", f'[area]\nexisting_cameras = "{cams.as_posix()}"\n', 1
    )
    path.write_text(text, encoding="utf-8")
    sc = load_scenario(path)
    inputs = load(sc, town=town)
    assert inputs.existing_cameras["view_from"].tolist() == [
        cameras.OFF_WALL,
        cameras.INDOORS,
        cameras.AT_POINT,
    ]
    dem = demand(inputs)
    cands = candidates(inputs)
    cov = coverage(inputs, dem, cands)
    e = cov.existing
    assert (e.cameras, e.direction_mapped, e.assumed_best_heading, e.moved_off_wall) == (3, 1, 2, 1)
    assert e.inside_building == 1 and e.blind >= 1
    ex = np.flatnonzero(cov.sites["existing"].to_numpy(bool))
    blind = [cov.fov.polygons[i].is_empty for i in ex]
    assert blind[:2] == [False, True]
    plans = optimise_phases(inputs, dem, cands, cov, review(inputs, cands, cov))
    xy = cands.xy
    for pp in plans.plans:
        assert set(ex) <= set(pp.plan.fixed)
        new = np.asarray(pp.plan.selected)
        # a head on an existing camera's support stands at it; every other new site keeps away
        reuse = cands.sites["mount"].to_numpy()[new] == "existing_support"
        new = new[~reuse]
        d = np.hypot(*(xy[new][:, None, :] - xy[ex][None, :, :]).transpose(2, 0, 1))
        assert d.min() >= SPACING
