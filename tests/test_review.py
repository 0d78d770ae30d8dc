"""review.csv: parsing, checks, init without overwriting, and the end-to-end round trip."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from siteplanner import review
from siteplanner._errors import InputError

from .conftest import SCENARIO, copy_scenario

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
