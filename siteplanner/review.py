"""The référent sûreté's review of a plan: ``review.csv``.

The référent sûreté (a police or gendarmerie officer trained to advise towns on security)
gives an opinion on every proposed camera site. ``siteplanner review init SCENARIO`` writes
one row per proposed site; the référent fills in a decision for each:

``accept``
    the site is kept: the next run counts it as fixed (already decided);
``reject``
    the site is excluded: the next run picks another one in its place;
``move``
    the camera goes to ``moved_lon, moved_lat`` (WGS84) instead: the next run evaluates it
    there (as site ``"<site_id>-M"``, with its own field of view, trench and reach); a point
    inside a building, on an underground or indoor way only, or outside the commune is refused
    with the nearest valid point (:func:`siteplanner.steps.sites.check_moves`);
``pending``
    no decision yet (a blank decision means pending).

The file lives next to the scenario, outside the outputs, and a run never writes it.
Columns: ``site_id, decision, moved_lon, moved_lat, comment, reviewer, date``. Both ``,``
and ``;`` separators are read (a French spreadsheet saves with ``;``), with or without a
byte-order mark.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from siteplanner import files
from siteplanner._errors import InputError, report_problems

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "DECISIONS",
    "Review",
    "ReviewRow",
    "init_review",
    "parse_review",
    "proposed_site_ids",
    "read_review",
    "review_rows",
    "review_text",
]

#: The columns of ``review.csv``, in order.
COLUMNS: tuple[str, ...] = (
    "site_id",
    "decision",
    "moved_lon",
    "moved_lat",
    "comment",
    "reviewer",
    "date",
)
#: Accepted decisions.
DECISIONS: tuple[str, ...] = ("accept", "reject", "move", "pending")


@dataclass(frozen=True)
class ReviewRow:
    """One row of ``review.csv``.

    Attributes
    ----------
    site_id
        The proposed site reviewed.
    decision
        ``accept``, ``reject``, ``move`` or ``pending``.
    moved_lon, moved_lat
        New position (WGS84 degrees) of a moved site, else None.
    comment, reviewer, date
        Free text, the reviewer's name and the decision's date (ISO ``YYYY-MM-DD``), as written.
    line
        Line number in the file (the header is line 1).
    """

    site_id: str
    decision: str
    moved_lon: float | None = None
    moved_lat: float | None = None
    comment: str = ""
    reviewer: str = ""
    date: str = ""
    line: int = 0

    def as_record(self) -> dict[str, str]:
        """The row as written in the CSV file."""
        return {
            "site_id": self.site_id,
            "decision": self.decision,
            "moved_lon": "" if self.moved_lon is None else f"{self.moved_lon:.7f}",
            "moved_lat": "" if self.moved_lat is None else f"{self.moved_lat:.7f}",
            "comment": self.comment,
            "reviewer": self.reviewer,
            "date": self.date,
        }


@dataclass(frozen=True)
class Review:
    """The decisions of a review file.

    Attributes
    ----------
    accepted
        Site ids accepted (to be fixed in the next run).
    rejected
        Site ids rejected (to be excluded and replaced).
    moved
        Site id → ``(lon, lat)`` of its new position (WGS84).
    rows
        Every row of the file, in file order (for the report).
    unknown
        Site ids of the file that are not among the known sites (ignored, logged).
    source
        Where the review was read from (for messages and the report).
    """

    accepted: frozenset[str] = frozenset()
    rejected: frozenset[str] = frozenset()
    moved: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))
    rows: tuple[ReviewRow, ...] = ()
    unknown: tuple[str, ...] = ()
    source: str = ""

    def decision(self, site_id: str) -> str:
        """The decision on ``site_id`` (``pending`` when it has no row)."""
        for r in self.rows:
            if r.site_id == site_id:
                return r.decision
        return "pending"

    def row(self, site_id: str) -> ReviewRow | None:
        """The row of ``site_id``, if any."""
        return next((r for r in self.rows if r.site_id == site_id), None)

    @property
    def n_decided(self) -> int:
        """Number of rows with a decision other than pending."""
        return sum(r.decision != "pending" for r in self.rows)


def _number(
    text: str, name: str, lo: float, hi: float, where: str, problems: list[str]
) -> float | None:
    if text == "":
        return None
    try:
        v = (
            float(text.replace(",", "."))
            if text.count(",") == 1 and "." not in text
            else float(text)
        )
    except ValueError:
        problems.append(
            f"{where}: {name}={text!r} is not a number; give decimal degrees (WGS84), e.g. 7.4234"
        )
        return None
    if not (math.isfinite(v) and lo <= v <= hi):
        problems.append(
            f"{where}: {name}={text!r} is out of range; accepted: {lo:g} to {hi:g} degrees (WGS84)"
        )
        return None
    return v


def _date(text: str, where: str, problems: list[str]) -> str:
    if text == "":
        return ""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            pass
    problems.append(f"{where}: date={text!r} is not a date; accepted: YYYY-MM-DD (or DD/MM/YYYY)")
    return text


def _reader(text: str, source: str) -> csv.DictReader:
    """A CSV reader on ``text`` (``;`` or ``,``, byte-order mark dropped); checks the header."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(_io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {missing}; a review file has the columns "
            f"{', '.join(COLUMNS)} (write one with `siteplanner review init SCENARIO`)"
        )
    return reader


def _parse_row(
    rec: dict[str, str], n: int, seen: dict[str, int], problems: list[str]
) -> ReviewRow | None:
    """One row of the review file (line ``n``), or None when it is blank or wrong.

    Problems are appended to ``problems``; ``seen`` maps each site id read to its line.
    """
    sid = rec.get("site_id", "")
    where = f"line {n}" + (f" (site {sid})" if sid else "")
    if not sid:
        if any(rec.get(c) for c in COLUMNS):
            problems.append(f"{where}: site_id is empty; give the id of a proposed site")
        return None
    if sid in seen:
        problems.append(
            f"{where}: site {sid} is already reviewed on line {seen[sid]}; keep one row per site"
        )
        return None
    seen[sid] = n
    decision = rec.get("decision", "").lower() or "pending"
    if decision not in DECISIONS:
        problems.append(
            f"{where}: decision={rec.get('decision')!r} is not accepted; give one of "
            f"{', '.join(DECISIONS)}"
        )
        return None
    lon = _number(rec.get("moved_lon", ""), "moved_lon", -180.0, 180.0, where, problems)
    lat = _number(rec.get("moved_lat", ""), "moved_lat", -90.0, 90.0, where, problems)
    if decision == "move" and (rec.get("moved_lon", "") == "" or rec.get("moved_lat", "") == ""):
        problems.append(
            f"{where}: decision 'move' needs both moved_lon and moved_lat (WGS84 degrees)"
        )
    elif decision != "move" and (rec.get("moved_lon") or rec.get("moved_lat")):
        problems.append(
            f"{where}: moved_lon/moved_lat are given but decision is {decision!r}; "
            "set decision to 'move' or clear the coordinates"
        )
    date = _date(rec.get("date", ""), where, problems)
    return ReviewRow(
        sid,
        decision,
        lon if decision == "move" else None,
        lat if decision == "move" else None,
        rec.get("comment", ""),
        rec.get("reviewer", ""),
        date,
        n,
    )


def parse_review(
    text: str, site_ids: Iterable[str] | None = None, *, source: str = "review.csv"
) -> Review:
    """Parse the text of a review file.

    Parameters
    ----------
    text
        The CSV text (``,`` or ``;`` separated, header row first).
    site_ids
        The sites that can be reviewed; rows naming another site are ignored with a
        warning in the log. None accepts every site id.
    source
        Name of the file, for messages.

    Returns
    -------
    Review

    Raises
    ------
    InputError
        One error listing every bad row: missing columns, unknown decision, a move without
        both coordinates or with coordinates out of range, a duplicated site, a bad date.
    """
    reader = _reader(text, source)
    known = None if site_ids is None else {str(s) for s in site_ids}
    problems: list[str] = []
    rows: list[ReviewRow] = []
    seen: dict[str, int] = {}
    unknown: list[str] = []
    for n, raw in enumerate(reader, start=2):
        rec = {
            (k or "").strip(): (v or "").strip() if isinstance(v, str) else ""
            for k, v in raw.items()
        }
        row = _parse_row(rec, n, seen, problems)
        if row is None:
            continue
        if known is not None and row.site_id not in known:
            unknown.append(row.site_id)
            continue
        rows.append(row)
    report_problems(problems, source=source)
    if unknown:
        log.warning(
            "%s: %d row(s) name site(s) not in the plan, ignored: %s",
            source,
            len(unknown),
            ", ".join(unknown),
        )
    moved = {
        r.site_id: (float(r.moved_lon), float(r.moved_lat))
        for r in rows  # type: ignore[arg-type]
        if r.decision == "move" and r.moved_lon is not None and r.moved_lat is not None
    }
    review = Review(
        accepted=frozenset(r.site_id for r in rows if r.decision == "accept"),
        rejected=frozenset(r.site_id for r in rows if r.decision == "reject"),
        moved=MappingProxyType(moved),
        rows=tuple(rows),
        unknown=tuple(unknown),
        source=source,
    )
    log.info(
        "read_review %s: %d accepted, %d rejected, %d moved, %d pending",
        source,
        len(review.accepted),
        len(review.rejected),
        len(review.moved),
        sum(r.decision == "pending" for r in rows),
    )
    return review


def read_review(path: str | Path, site_ids: Iterable[str] | None = None) -> Review:
    """Read and check a ``review.csv`` file.

    Parameters
    ----------
    path
        The review file.
    site_ids
        The sites that can be reviewed (unknown ones are logged and ignored); None accepts all.

    Returns
    -------
    Review

    Raises
    ------
    InputError
        The file cannot be read, or one error listing every bad row (see :func:`parse_review`).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"{path}: review file not found; write one with `siteplanner review init SCENARIO`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a UTF-8 CSV file ({exc})") from exc
    return parse_review(text, site_ids, source=str(path))


def proposed_site_ids(res_or_site_ids: Any) -> list[str]:
    """The proposed sites of a result in rank order, or the given ids as strings."""
    sites = getattr(res_or_site_ids, "sites", None)
    if sites is None:
        if isinstance(res_or_site_ids, (str, bytes)):
            raise InputError(
                "site_ids: give a sequence of site ids or a pipeline Result, not a single string"
            )
        return [str(s) for s in res_or_site_ids]
    s = sites[sites["status"] == "proposed"].sort_values(["rank", "site_id"], kind="stable")
    return [str(x) for x in s["site_id"]]


def review_text(rows: Iterable[ReviewRow]) -> str:
    """The CSV text of review rows (``,`` separated, ``\\n`` line ends, header first)."""
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.as_record())
    return buf.getvalue()


def init_review(res_or_site_ids: Any, path: str | Path, *, force: bool = False) -> Path:
    """Write a review file with one pending row per proposed site.

    Parameters
    ----------
    res_or_site_ids
        A pipeline ``Result`` (its proposed sites, in rank order) or a sequence of site ids.
    path
        Where to write ``review.csv``.
    force
        Rewrite an existing file: its decided rows (accept, reject, move) are kept, in the
        current sites' order, followed by the decided rows of sites no longer proposed
        (a rejected site, for instance); pending rows of sites no longer proposed are dropped.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        ``path`` exists and ``force`` is False (a review is never overwritten silently).
    """

    path = Path(path)
    ids = proposed_site_ids(res_or_site_ids)
    old: tuple[ReviewRow, ...] = ()
    if path.exists():
        if not force:
            raise InputError(
                f"{path}: a review file already exists; it is never overwritten: edit it, or "
                "pass --force to rewrite it keeping its decided rows"
            )
        old = read_review(path).rows
    rows = review_rows(ids, old)
    files.write_text(path, review_text(rows))
    kept = sum(r.decision != "pending" for r in rows)
    log.info("init_review wrote %s: %d site(s), %d decision(s) kept", path, len(rows), kept)
    return path


def review_rows(site_ids: Iterable[str], old: Iterable[ReviewRow] = ()) -> list[ReviewRow]:
    """The rows of a review file for the proposed sites, keeping the rows of ``old``.

    One row per proposed site, in the given (rank) order: its row in ``old`` if any (a
    pending row keeps its comment), else a pending row. A moved site ``<site_id>-M`` takes the
    row of the move that made it (``<site_id>,move,lon,lat,...``): that row, not the new id,
    is what the next run reads. The decided rows of sites no longer proposed (a rejected
    site, for instance) follow, in their order in ``old``; pending rows of sites no longer
    proposed are dropped. ``review init --force`` and the review page of ``map.html`` both
    write these rows.
    """
    old = list(old)
    by_id = {r.site_id: r for r in old}
    ids = list(dict.fromkeys(str(s) for s in site_ids))
    rows: list[ReviewRow] = []
    for s in ids:
        r = by_id.get(s)
        if r is None and s.endswith("-M") and s[:-2] not in ids:
            r = by_id.get(s[:-2])
            r = r if r is not None and r.decision == "move" else None
        rows.append(r if r is not None else ReviewRow(s, "pending"))
    used = {r.site_id for r in rows}
    return rows + [r for r in old if r.decision != "pending" and r.site_id not in used]
