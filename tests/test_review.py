"""review.csv: parsing, checks, init without overwriting, and the end-to-end round trip."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import pytest

from siteplanner import review
from siteplanner._errors import InputError

from .conftest import REVIEW_HEADER, SCENARIO, copy_scenario, point_in_building

HEADER = "site_id,decision,moved_lon,moved_lat,comment,reviewer,date\n"


def test_parse_decisions():
    text = (
        HEADER + "A,accept,,,ok,Lt Martin,2024-03-01\nB,reject,,,trop près d'une école,,\n"
        "C,move,7.4251,43.7432,,,01/03/2024\nD,,,,,,\n"
    )
    r = review.parse_review(text, ["A", "B", "C", "D"])
    assert r.accepted == {"A"} and r.rejected == {"B"}
    assert dict(r.moved) == {"C": (7.4251, 43.7432)}
    assert [x.decision for x in r.rows] == ["accept", "reject", "move", "pending"]
    assert r.row("C").date == "2024-03-01"  # French date normalised
    assert r.decision("D") == "pending" and r.decision("zzz") == "pending"
    assert r.n_decided == 3


def test_semicolon_and_bom_accepted():
    text = "\ufeff" + HEADER.replace(",", ";") + "A;ACCEPT;;;;;\nB;move;7,42;43,74;;;\n"
    r = review.parse_review(text, ["A", "B"])
    assert r.accepted == {"A"}
    assert dict(r.moved) == {"B": (7.42, 43.74)}


def test_every_bad_row_in_one_error():
    text = (
        HEADER + "A,maybe,,,,,\nB,move,,,,,\nC,reject,7,43,,,\nD,accept,,,,,yesterday\n"
        "A,accept,,,,,\nE,move,200,43,,,\n"
    )
    with pytest.raises(InputError) as exc:
        review.parse_review(text, list("ABCDE"), source="x.csv")
    msg = str(exc.value)
    assert msg.startswith("x.csv: 6 problem(s)")
    for needle in [
        "line 2 (site A): decision='maybe'",
        "accept, reject, move, pending",
        "line 3 (site B): decision 'move' needs",
        "line 4 (site C): moved_lon/moved_lat are given",
        "line 5 (site D): date='yesterday'",
        "line 6 (site A): site A is already reviewed on line 2",
        "line 7 (site E): moved_lon='200' is out of range",
    ]:
        assert needle in msg


def test_missing_column():
    with pytest.raises(InputError, match=r"missing column\(s\) \['decision'"):
        review.parse_review("site_id,comment\nA,x\n")


def test_unknown_site_is_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="siteplanner.review"):
        r = review.parse_review(HEADER + "A,accept,,,,,\nGHOST,reject,,,,,\n", ["A"])
    assert r.accepted == {"A"} and r.rejected == frozenset()
    assert r.unknown == ("GHOST",)
    assert "GHOST" in caplog.text


def test_read_missing_file(tmp_path):
    with pytest.raises(InputError, match="review init"):
        review.read_review(tmp_path / "none.csv")


def test_init_refuses_to_overwrite_and_force_keeps_decisions(tmp_path):
    p = tmp_path / "review.csv"
    review.init_review(["S1", "S2", "S3"], p)
    assert p.read_text() == HEADER + "S1,pending,,,,,\nS2,pending,,,,,\nS3,pending,,,,,\n"
    p.write_text(
        HEADER + "S1,reject,,,non,Cne X,2024-01-02\nS2,pending,,,,,\nS3,move,7.1,43.7,,,\n"
    )
    before = p.read_bytes()
    with pytest.raises(InputError, match="never overwritten"):
        review.init_review(["S2", "S4"], p)
    assert p.read_bytes() == before
    review.init_review(["S2", "S3", "S4"], p, force=True)
    rows = review.read_review(p).rows
    # current sites in order (S3 keeps its move), then the decided rows of sites no longer
    # proposed (S1)
    assert [(r.site_id, r.decision) for r in rows] == [
        ("S2", "pending"),
        ("S3", "move"),
        ("S4", "pending"),
        ("S1", "reject"),
    ]
    assert rows[3].comment == "non" and rows[3].reviewer == "Cne X"


def test_rows_kept_for_the_proposed_sites_and_a_moved_site_by_its_move():
    """review_rows (review init --force, map.html's download): a moved site S2-M is decided by
    the row of S2's move, a pending row keeps its comment, a rejected site's row follows."""
    old = review.parse_review(
        HEADER
        + "S3,reject,,,non,Cne X,2024-01-02\nS1,pending,,,à voir de nuit,,\n"
        + "S2,move,7.1000000,43.7000000,en face,Cne X,2024-01-02\nS9,pending,,,,,\n"
    ).rows
    rows = review.review_rows(["S1", "S2-M", "S4"], old)
    assert [(r.site_id, r.decision, r.comment) for r in rows] == [
        ("S1", "pending", "à voir de nuit"),
        ("S2", "move", "en face"),
        ("S4", "pending", ""),
        ("S3", "reject", "non"),
    ]
    # an id ending in -M whose original is proposed too is its own site
    assert [r.site_id for r in review.review_rows(["S2", "S2-M"], old)] == ["S2", "S2-M", "S3"]


def test_init_from_result_lists_proposed_in_rank_order(default_run, tmp_path):
    res, _, _ = default_run
    p = review.init_review(res, tmp_path / "r.csv")
    ids = [r.site_id for r in review.read_review(p).rows]
    prop = res.sites[res.sites["status"] == "proposed"].sort_values("rank")
    assert ids == prop["site_id"].tolist()


def _scenario_copy(tmp_path: Path) -> Path:
    return copy_scenario(SCENARIO, tmp_path)


def test_round_trip_reject_top_site(default_run, tmp_path):
    """Reject the top site, run again: it is gone, another takes its place, review.csv untouched."""
    from siteplanner import pipeline
    from siteplanner.scenario import load_scenario

    res0, _, _ = default_run
    sc = load_scenario(_scenario_copy(tmp_path))
    path = sc.review_path
    review.init_review(res0, path)
    top = res0.proposed.sort_values("rank")["site_id"].iloc[0]
    text = path.read_text().replace(
        f"{top},pending,,,,,", f"{top},reject,,,vue sur une cour d'école,Lt Dupont,2024-05-02"
    )
    assert f"{top},reject" in text
    path.write_text(text)
    before = path.read_bytes()
    res1, files = pipeline.run(sc, out_dir=tmp_path / "out")
    assert path.read_bytes() == before  # never overwritten
    assert res1.review is not None and top in res1.review.rejected
    s1 = res1.sites.set_index("site_id")
    assert s1.at[top, "status"] != "proposed"
    new = set(res1.proposed["site_id"]) - set(res0.proposed["site_id"])
    assert (
        len(res1.proposed) == len(res0.proposed) and len(new) >= 1
    )  # another site takes its place
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f'id="site-{top}"' not in html and "id='site-" + top not in html
    assert "vue sur une cour d&#x27;école" in html and "excluded from the plan" in html


# moves: checked, evaluated where the référent put them, shown as decided -----------------------


def _inputs(tmp_path, town, rows: str):
    from siteplanner.scenario import load_scenario
    from siteplanner.steps.load import load

    sc = load_scenario(copy_scenario(SCENARIO, tmp_path))
    sc.review_path.write_text(REVIEW_HEADER + rows, encoding="utf-8")
    return sc, load(sc, town=town)


def _projected(res, lon: float, lat: float):
    import geopandas as gpd

    return gpd.GeoSeries.from_xy([lon], [lat], crs="EPSG:4326").to_crs(res.town.crs).iloc[0]


def test_move_into_a_building_refused_in_one_line_with_a_valid_point(default_run, town, tmp_path):
    from siteplanner.steps.sites import candidates

    res0, _, _ = default_run
    mov = res0.proposed.sort_values("rank")["site_id"].iloc[2]
    lon, lat = point_in_building(res0, mov)
    sc, inputs = _inputs(tmp_path, town, f"{mov},move,{lon:.7f},{lat:.7f},,,\n")
    with pytest.raises(InputError) as exc:
        candidates(inputs)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(
        f"{sc.review_path}: line 2 (site {mov}): the moved point {lon:.7f}, {lat:.7f} is inside "
        "a building (way/"
    )
    m = re.search(
        r"; nearest valid point: moved_lon=(\S+), moved_lat=(\S+) \((.+), (\d+) m away", msg
    )
    assert m, msg
    # the point suggested is valid: on a street, outside every building, inside the commune
    q = _projected(res0, float(m[1]), float(m[2]))
    assert not res0.town.buildings.contains(q).any()
    assert res0.town.area.contains(q)
    assert res0.streets.distance(q).min() < 0.05
    assert float(m[4]) == pytest.approx(q.distance(_projected(res0, lon, lat)), abs=1)
    # the référent writes it as given: the move is accepted
    sc.review_path.write_text(REVIEW_HEADER + f"{mov},move,{m[1]},{m[2]},,,\n", encoding="utf-8")
    sites = candidates(inputs).sites
    assert f"{mov}-M" in set(sites["site_id"])


def test_moves_underground_or_outside_the_commune_listed_by_row(default_run, town, tmp_path):
    from siteplanner.steps.sites import candidates

    res0, _, _ = default_run
    g = res0.town.graph
    tunnel = next(  # the middle of a tunnel of the commune (tagged tunnel=yes in OSM)
        d["geometry"].interpolate(0.5, normalized=True)
        for _, _, d in g.edges(data=True)
        if d.get("tunnel") == "yes"
        and res0.town.area.contains(d["geometry"].interpolate(0.5, normalized=True))
    )
    t_ll = gpd.GeoSeries([tunnel], crs=res0.town.crs).to_crs(4326).iloc[0]
    a, b = res0.proposed.sort_values("rank")["site_id"].iloc[:2]
    rows = f"{a},move,{t_ll.x:.7f},{t_ll.y:.7f},,,\n{b},move,7.4200000,43.7300000,,,\n"
    sc, inputs = _inputs(tmp_path, town, rows)
    with pytest.raises(InputError) as exc:
        candidates(inputs)
    msg = str(exc.value)
    assert msg.startswith(f"{sc.review_path}: 2 problem(s) found:")
    lines = msg.splitlines()[1:]
    assert lines[0].startswith(f"  - line 2 (site {a}): the moved point")
    assert "is on an underground or indoor way only" in lines[0]
    assert lines[1].startswith(f"  - line 3 (site {b}): the moved point 7.4200000, 43.7300000")
    assert "is outside the study area (Beausoleil)" in lines[1]
    assert all("nearest valid point: moved_lon=" in x for x in lines)


def test_cli_refuses_a_bad_move_and_keeps_the_outputs(default_run, tmp_path):
    from typer.testing import CliRunner

    from siteplanner.cli import app

    res0, _, _ = default_run
    sc_path = copy_scenario(SCENARIO, tmp_path / "sc")
    mov = res0.proposed.sort_values("rank")["site_id"].iloc[0]
    lon, lat = point_in_building(res0, mov)
    rv = sc_path.with_suffix(".review.csv")
    rv.write_text(REVIEW_HEADER + f"{mov},move,{lon:.7f},{lat:.7f},,,\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("the last run's report", encoding="utf-8")
    before = rv.read_bytes()
    r = CliRunner().invoke(app, ["run", str(sc_path), "--out", str(out)])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    errors = [x for x in r.output.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and f"line 2 (site {mov})" in errors[0]
    assert "inside a building" in errors[0] and "nearest valid point" in errors[0]
    assert (out / "report.html").read_text(encoding="utf-8") == "the last run's report"
    assert rv.read_bytes() == before


def test_moved_site_has_its_own_view_trench_and_reach(reviewed_run):
    res, _, _, (_, _, mov) = reviewed_run
    s = res.sites.set_index("site_id")
    i0, i1 = (res.sites.index[res.sites["site_id"] == x][0] for x in (mov, f"{mov}-M"))
    view0, view1 = res.fov.polygons[i0], res.fov.polygons[i1]
    assert not view1.is_empty and view1.area > 0
    # the field of view starts where the référent put the camera
    assert view1.distance(s.geometry[f"{mov}-M"]) < 1.0
    assert not view1.equals(view0)
    assert s.at[f"{mov}-M", "node"] != s.at[mov, "node"]
    assert s.at[f"{mov}-M", "trench_m"] != s.at[mov, "trench_m"]
    assert s.at[f"{mov}-M", "reach_m"] != s.at[mov, "reach_m"]
    assert s.at[f"{mov}-M", "cost_eur"] == pytest.approx(
        s.at[f"{mov}-M", "camera_eur"]
        + s.at[f"{mov}-M", "mount_eur"]
        + s.at[f"{mov}-M", "trench_eur"],
        abs=1,
    )


class _Text(HTMLParser):
    """The text a reader sees (no style, no script) of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _seen(doc: str) -> str:
    t = _Text()
    t.feed(doc)
    return " ".join(t.parts)


NAN = re.compile(r"\b(nan|NaN|None|NaT)\b|<NA>|None%|nan%")


def test_report_and_map_after_a_review_show_no_nan(reviewed_run):
    import json

    res, out, _, (acc, rej, mov) = reviewed_run
    report = (out / "report.html").read_text(encoding="utf-8")
    seen = _seen(report)
    assert not NAN.search(seen), NAN.search(seen).group()
    doc = (out / "map.html").read_text(encoding="utf-8")
    data = re.search(r'id="sites-data">(.*?)</script>', doc, re.S).group(1)
    popups = json.loads(data.replace("<\\/", "</"))
    for sid, rows in popups.items():
        for k, v in rows.items():
            assert not NAN.search(f"{k} {v}"), (sid, k, v)
    assert not NAN.search(_seen(doc))
    # the decided sites carry their decision, never "pending"
    assert popups[acc]["review"].startswith("accept")
    assert popups[f"{mov}-M"]["review"].startswith("move")
    assert popups[f"{mov}-M"]["moved"].startswith(f"from {mov} by ")


def test_sheets_name_the_site_and_say_where_it_was_moved_from(reviewed_run):
    import html as _html

    res, out, _, (acc, rej, mov) = reviewed_run
    report = (out / "report.html").read_text(encoding="utf-8")
    names = res.figures.addresses
    s = res.sites
    i0, i1 = (s.index[s["site_id"] == x][0] for x in (mov, f"{mov}-M"))
    sheet_html = report[report.index(f"id='site-{mov}-M'") :]
    sheet_html = sheet_html[: sheet_html.index("</section>")]
    assert '<th>review decision</th><td><span class="badge move">move</span>' in sheet_html
    sheet = _seen(sheet_html)
    dist = s.geometry[i1].distance(s.geometry[i0])
    assert f"moved from {names.at[i0, 'label']} ({mov}) by {dist:.0f} m" in _html.unescape(sheet)
    assert "pending" not in sheet and "de l'autre côté — Lt Dupont 2026-11-30" in sheet
    acc_sheet = report[report.index(f"id='site-{acc}'") :]
    acc_sheet = _seen(acc_sheet[: acc_sheet.index("</section>")])
    assert "pending" not in acc_sheet and "bon emplacement" in acc_sheet
    # the site table and each sheet lead with the name, the OSM id stays as the reference
    prop = s[s["status"] == "proposed"]
    assert names.loc[prop.index, "label"].str.contains(",").any()  # some with a landmark
    for i in prop.index:
        sid, label = s.at[i, "site_id"], _html.escape(names.at[i, "label"])
        assert f"<a href='#site-{sid}'>{label}</a></td><td>{sid}</td>" in report
        assert f"<h3>{label} — rank {int(s.at[i, 'rank'])}," in report
