"""Reading a publisher's incident columns as they come: times, categories, positions.

Pure functions on pandas Series, used by :mod:`siteplanner.incidents.read`:

- :func:`parse_times` reads one column (ISO 8601 with or without a time-zone suffix such as
  ``+02:00``, ``Z`` or ``+00``; ``yyyy/mm/dd``; French ``dd/mm/yyyy``; or an explicit
  ``strptime`` format) or several columns joined by a space (date + time, or
  year/month/day/hour/minute), and converts every time to the town's local time. Rows that
  give a date without an hour are flagged, not rejected.
- :func:`map_categories` maps the publisher's labels to the town's categories: exact labels
  (case-insensitive), glob patterns (``"Break and Enter*"``) or regular expressions
  (``"re:^Vehicle Collision"``), then a declared default category.
- :func:`split_coordinates` reads a position written in one column: ``lat, lon``,
  ``{'lon': 2.33, 'lat': 48.88}`` (DansMaRue), JSON, ``[lon, lat]`` or ``POINT (lon lat)``.
- :func:`guess_crs` names the CRS that projected coordinates given as lon/lat most likely
  are in (Lambert-93, Web Mercator, UTM), for the error message.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Time precision of a row: hour and minute known, date only, or no date at all.
PRECISION_TIME, PRECISION_DATE, PRECISION_NONE = "time", "date", "none"

_WIDTH = {"%Y": 4, "%y": 2, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2, "%I": 2, "%j": 3}
_HOUR_DIRECTIVES = ("%H", "%I", "%X", "%T", "%R", "%c")
_TIME_RE = r"\d{1,2}:\d{2}"
_OFFSET_RE = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"  # an offset after a time


def _pad_to_format(joined: pd.Series, fmt: str) -> pd.Series:
    """Zero-pad numeric parts to their directive's width (publishers drop leading zeros).

    ``"13 6 14 845"`` read with ``"%y %m %d %H%M"`` becomes ``"13 06 14 0845"``: the part
    under ``%H%M`` is padded to 4 digits, so 845 is 08:45 and 5 is 00:05.
    """
    parts_fmt = fmt.split(" ")
    widths = []
    for p in parts_fmt:
        tokens = re.findall(r"%[a-zA-Z]", p)
        rest = re.sub(r"%[a-zA-Z]", "", p)
        ok = tokens and not rest and all(t in _WIDTH for t in tokens)
        widths.append(sum(_WIDTH[t] for t in tokens) if ok else 0)
    split = joined.str.split(" ", expand=True)
    if split.shape[1] != len(widths):
        return joined
    for i, w in enumerate(widths):
        if w:
            col = split[i].fillna("")
            split[i] = col.where(~col.str.fullmatch(r"\d+"), col.str.zfill(w))
    return split.fillna("").agg(" ".join, axis=1)


def join_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """The values of ``columns`` joined by one space (empty if any part is empty)."""
    parts = [
        df[c].astype(str).fillna("").str.strip().replace({"nan": "", "None": "", "<NA>": ""})
        for c in columns
    ]
    empty = np.logical_or.reduce([p.eq("").to_numpy() for p in parts])
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + " " + p
    return joined.where(~empty, "")


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    """Wall-clock times in ``tz``: the hour repeated when clocks go back is read as the first
    (summer time) one, a skipped hour is moved forward."""
    return naive.dt.tz_localize(
        tz, ambiguous=np.ones(len(naive), bool), nonexistent="shift_forward"
    )


def _parse_default(s: pd.Series, tz_naive: str, out_tz: str) -> tuple[pd.Series, pd.Series, int]:
    """ISO 8601 (aware or naive), ``yyyy/mm/dd``, ``dd/mm/yyyy [HH:MM[:SS]]``, numeric parts."""
    out = pd.Series(pd.NaT, index=s.index, dtype=f"datetime64[ns, {out_tz}]")
    # numbers split over columns: "2020 6 19 3 40" → year month day [hour [minute [second]]]
    parts = s.str.fullmatch(r"\d{4}(?: \d{1,2}){2,5}")
    if parts.any():
        nums = s[parts].str.split(" ", expand=True).astype(float)
        names = ["year", "month", "day", "hour", "minute", "second"][: nums.shape[1]]
        nums.columns = names
        t = pd.to_datetime(nums.fillna(0).astype(int), errors="coerce")
        out.loc[parts] = _localize(t, tz_naive).dt.tz_convert(out_tz)
    norm = s.str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", regex=True)
    norm = norm.str.replace(r"(\d:\d\d(?::\d\d(?:\.\d+)?)?\s*[+-]\d\d)$", r"\1:00", regex=True)
    year = pd.to_numeric(
        norm.str.extract(r"^(\d{4,})-", expand=False).fillna(
            norm.str.extract(r"^\d{1,2}/\d{1,2}/(\d{4,})", expand=False)
        ),
        errors="coerce",
    )
    norm = norm.where(year.between(1900, 2100), "")
    has_offset = norm.str.contains(_OFFSET_RE, regex=True)
    aware = has_offset & ~parts
    if aware.any():
        t = pd.to_datetime(norm[aware], format="ISO8601", errors="coerce", utc=True)
        out.loc[aware] = t.dt.tz_convert(out_tz)
    naive = ~has_offset & ~parts & norm.str.match(r"^\d{4}-")
    if naive.any():
        t = pd.to_datetime(norm[naive], format="ISO8601", errors="coerce")
        out.loc[naive] = _localize(t, tz_naive).dt.tz_convert(out_tz)
    fr_mask = out.isna() & norm.str.fullmatch(
        r"\d{1,2}/\d{1,2}/\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    )
    n_fr = 0
    if fr_mask.any():
        fr = pd.to_datetime(norm[fr_mask], format="mixed", dayfirst=True, errors="coerce")
        out.loc[fr_mask] = _localize(fr, tz_naive).dt.tz_convert(out_tz)
        n_fr = int(fr.notna().sum())
    has_time = s.str.contains(_TIME_RE, regex=True) | (parts & s.str.count(" ").ge(3))
    return out, has_time, n_fr


def check_format(fmt: str) -> None:
    """Raise a one-line ``ValueError`` when ``fmt`` is not a usable ``strptime`` format.

    Caught: a directive given twice (``"%H:%M %H"``: Python's ``re`` says "redefinition of
    group name"), an unknown directive (``%Q``) and a stray ``%`` at the end.
    """
    import datetime as _dt

    directives = re.findall(r"%[-#]?[a-zA-Z%]", fmt)
    twice = sorted({d for d in directives if d != "%%" and directives.count(d) > 1})
    if twice:
        raise ValueError(
            f"datetime_format {fmt!r}: the directive {twice[0]} appears twice; give each part of "
            'the time once (an hour in another column: `time = "<column>"`)'
        )
    try:
        _dt.datetime.strptime("", fmt)
    except re.error as exc:
        raise ValueError(f"datetime_format {fmt!r} is not a strptime format ({exc})") from None
    except ValueError as exc:
        if "does not match format" not in str(exc):
            raise ValueError(
                f"datetime_format {fmt!r} is not a strptime format ({exc}); accepted: "
                'directives such as %Y %m %d %H %M %S %I %p %z, e.g. "%d/%m/%Y %H:%M"'
            ) from None


_CLOCK = re.compile(
    r"^(?P<h>\d{1,2})(?:\s*[:hH.]\s*(?P<m>\d{2})?(?::(?P<s>\d{2}(?:\.\d+)?))?)?"
    r"\s*(?P<ampm>[aApP]\.?\s*[mM]\.?)?$"
)


def parse_clock(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Minutes after midnight from a publisher's hour or time-of-day column.

    Accepted, per row: ``13`` (an hour: 1 or 2 digits), ``845`` or ``1345`` (``HHMM``: 3 or 4
    digits), ``13:45``, ``13:45:10``, ``13h45``, ``13h``, ``1:45 PM``, ``12 AM``; ``13.0``
    read from a number column is ``13``.

    Returns
    -------
    minutes : pandas.Series
        Minutes after midnight (NaN where empty or not a time).
    empty : pandas.Series of bool
        The cell is empty (the row keeps its date, without an hour).
    """
    s = raw.astype(str).fillna("").str.strip().replace({"nan": "", "None": "", "<NA>": ""})
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    empty = s.eq("")
    digits = s.str.fullmatch(r"\d{3,4}")
    hhmm = s.where(~digits, s.str.zfill(4).str[:2] + ":" + s.str.zfill(4).str[2:])
    m = hhmm.str.extract(_CLOCK)
    h = pd.to_numeric(m["h"], errors="coerce")
    mi = pd.to_numeric(m["m"], errors="coerce").fillna(0)
    sec = pd.to_numeric(m["s"], errors="coerce").fillna(0)
    ampm = m["ampm"].fillna("").str.lower().str[:1]
    ok = h.notna() & (mi < 60) & (sec < 60)
    ok &= np.where(ampm.ne(""), h.between(1, 12), h.between(0, 23))
    h = h.where(ampm.ne("p") | h.eq(12), h + 12).where(ampm.ne("a") | h.ne(12), 0)
    minutes = (h * 60 + mi + sec / 60).where(ok & ~empty)
    return minutes, empty


def parse_date_and_clock(
    date_text: pd.Series,
    clock_text: pd.Series,
    *,
    fmt: str | None = None,
    tz_naive: str = "Europe/Paris",
    out_tz: str = "Europe/Paris",
) -> tuple[pd.Series, pd.Series, pd.Series, int]:
    """Timestamps from a date column and a separate hour (or time-of-day) column.

    The date is read as :func:`parse_times` reads it (``fmt`` describes the date only) and
    any time it carries is dropped (exports often write ``01/01/2010 12:00:00 AM`` there);
    the clock is read by :func:`parse_clock`. Wall-clock times are in ``tz_naive``.

    Returns
    -------
    times : pandas.Series
        Aware timestamps in ``out_tz`` (``NaT`` where the date is not a date).
    has_time : pandas.Series of bool
        The row gives an hour (its clock cell is a time).
    bad_clock : pandas.Series of bool
        The clock cell is neither empty nor a time.
    n_dayfirst : int
        How many dates were read as ``dd/mm/yyyy``.
    """
    dates, _, n_fr = parse_times(date_text, fmt=fmt, tz_naive="UTC", out_tz="UTC")
    wall = dates.dt.tz_localize(None).dt.normalize()
    minutes, empty = parse_clock(clock_text)
    naive = wall + pd.to_timedelta(minutes.fillna(0.0), unit="m")
    out = pd.Series(pd.NaT, index=date_text.index, dtype=f"datetime64[ns, {out_tz}]")
    ok = naive.notna()
    if ok.any():
        out.loc[ok] = _localize(naive[ok], tz_naive).dt.tz_convert(out_tz)
    return out, minutes.notna(), ~empty & minutes.isna(), n_fr


def parse_times(
    raw: pd.Series,
    *,
    fmt: str | None = None,
    tz_naive: str = "Europe/Paris",
    out_tz: str = "Europe/Paris",
) -> tuple[pd.Series, pd.Series, int]:
    """Timestamps in ``out_tz`` and whether each row gives an hour.

    Parameters
    ----------
    raw
        The date text per row (columns already joined by a space).
    fmt
        A ``strptime`` format (``"%Y-%m-%d %H:%M"``; ``%z`` reads an offset); numeric parts
        are zero-padded to the directive's width first. ``None``: the formats listed in the
        module docstring.
    tz_naive
        The zone of times written without an offset (the publisher's local time).
    out_tz
        The town's zone: every time is converted to it.

    Returns
    -------
    times : pandas.Series
        Aware timestamps (``NaT`` where the text is not a date).
    has_time : pandas.Series of bool
        The row gives an hour (False: a date only, counted for day-level windows only).
    n_dayfirst : int
        How many values were read as ``dd/mm/yyyy``.
    """
    s = raw.astype(str).fillna("").str.strip().replace({"nan": "", "None": "", "NaT": ""})
    if fmt is None:
        return _parse_default(s, tz_naive, out_tz)
    t = pd.to_datetime(_pad_to_format(s, fmt), format=fmt, errors="coerce")
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        t = t.dt.tz_convert(out_tz)
    else:
        try:
            t = _localize(t, tz_naive).dt.tz_convert(out_tz)
        except (TypeError, ValueError):  # mixed offsets: parse each row
            t = pd.to_datetime(
                _pad_to_format(s, fmt), format=fmt, errors="coerce", utc=True
            ).dt.tz_convert(out_tz)
    has_time = pd.Series(any(d in fmt for d in _HOUR_DIRECTIVES), index=s.index)
    return t, has_time, 0


def warn_all_midnight(when: pd.Series, has_time: pd.Series, source_name: str, tz: str) -> None:
    """Every time read as exactly midnight: the hour is most likely in another column."""
    timed = when[has_time.to_numpy(bool) & when.notna().to_numpy(bool)]
    if len(timed) < 10:
        return
    local = timed.dt.tz_convert(tz)
    if (local.dt.hour.eq(0) & local.dt.minute.eq(0) & local.dt.second.eq(0)).all():
        log.warning(
            "%s: every one of the %d times read is 00:00; if the hour is in another column, "
            'name it with `time = "<column>"` in this file\'s [[incidents]] table',
            source_name,
            len(timed),
        )


def to_float(values: pd.Series) -> tuple[pd.Series, int]:
    """Numbers, accepting French decimal commas; returns values and the count repaired."""
    s = values.astype(str).str.strip()
    comma = s.str.fullmatch(r"[-+]?\d+,\d+")
    fixed = s.where(~comma, s.str.replace(",", ".", regex=False))
    return pd.to_numeric(
        fixed.replace({"": None, "nan": None, "None": None}), errors="coerce"
    ), int(comma.sum())


def parse_weights(values: pd.Series | None, index: pd.Index) -> tuple[pd.Series, np.ndarray]:
    """Each row's weight (a count of offences, say) and which rows are bad.

    Accepted: a finite number >= 0 (decimal commas too); no column: 1 for every row.
    Bad rows get weight 0.
    """
    if values is None:
        return pd.Series(1.0, index=index), np.zeros(len(index), bool)
    w, _ = to_float(values)
    bad = w.isna() | ~np.isfinite(w.fillna(0)) | (w < 0)
    return w.where(~bad, 0.0), bad.to_numpy(bool)


# --------------------------------------------------------------------------- categories
def _matcher(key: str):
    if key.startswith("re:"):
        rx = re.compile(key[3:], re.IGNORECASE)
        return lambda label: rx.search(label) is not None
    if any(ch in key for ch in "*?["):
        pat = key.lower()
        return lambda label: fnmatch.fnmatchcase(label.lower(), pat)
    k = key.strip().lower()
    return lambda label: label.lower() == k


def normalise_labels(values: pd.Series) -> pd.Series:
    """Labels as text, stripped; ``2.0`` read from a GeoJSON number becomes ``2``."""
    s = values.astype(str).fillna("").str.strip().replace({"nan": "", "None": "", "<NA>": ""})
    return s.str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)


def map_categories(
    labels: pd.Series,
    *,
    mapping: Mapping[str, str] | None,
    default: str | None,
    categories: Sequence[str],
) -> tuple[pd.Series, pd.Series]:
    """The town category of each label, and how it was found.

    Exact labels (case-insensitive) are tried first, then patterns in the order written,
    then a label that already is a town category; the rest get ``default`` (or NaN when
    there is none: the caller reports them).

    Returns
    -------
    category : pandas.Series
        Town category per row (NaN where unmapped and no default).
    how : pandas.Series
        ``"mapped"``, ``"native"`` (already a town category), ``"defaulted"`` or ``"unmapped"``.
    """
    mapping = dict(mapping or {})
    exact = {
        k.strip().lower(): v
        for k, v in mapping.items()
        if not k.startswith("re:") and not any(ch in k for ch in "*?[")
    }
    patterns = [(_matcher(k), v) for k, v in mapping.items() if k.strip().lower() not in exact]
    cats = {c.lower(): c for c in categories}
    uniq = pd.unique(labels)
    found: dict[str, tuple[str | None, str]] = {}
    for lab in uniq:
        low = lab.lower()
        if low in exact:
            found[lab] = (exact[low], "mapped")
            continue
        hit = next((v for m, v in patterns if m(lab)), None)
        if hit is not None:
            found[lab] = (hit, "mapped")
        elif low in cats:
            found[lab] = (cats[low], "native")
        elif default is not None:
            found[lab] = (default, "defaulted")
        else:
            found[lab] = (None, "unmapped")
    cat = labels.map(lambda v: found[v][0])
    how = labels.map(lambda v: found[v][1])
    return cat, how


# --------------------------------------------------------------------------- coordinates
_NUM = r"[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
_DICT_LON = re.compile(
    r"['\"]?(?:lon|lng|long|longitude|x)['\"]?\s*[:=]\s*(" + _NUM + ")", re.IGNORECASE
)
_DICT_LAT = re.compile(r"['\"]?(?:lat|latitude|y)['\"]?\s*[:=]\s*(" + _NUM + ")", re.IGNORECASE)
_WKT = re.compile(r"POINT\s*\(\s*(" + _NUM + r")\s+(" + _NUM + r")\s*\)", re.IGNORECASE)
_BRACKET = re.compile(r"^\[\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*\]$")
_PAIR = re.compile(r"^\(?\s*(" + _NUM + r")\s*[,; ]\s*(" + _NUM + r")\s*\)?$")


def split_coordinates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Longitude and latitude (or x, y) as text from a one-column position.

    Accepted, per row: ``{'lon': 2.33, 'lat': 48.88}`` (any quotes, ``lng``/``longitude``
    too), ``POINT (lon lat)``, ``[lon, lat]`` (GeoJSON order) and a plain pair ``lat, lon``
    (the order of "Location" columns, e.g. ``(41.79, -87.62)``). Other text gives empty values.
    """
    s = values.astype(str).fillna("").str.strip()
    lon = s.str.extract(_DICT_LON, expand=False)
    lat = s.str.extract(_DICT_LAT, expand=False)
    for rx, first_is_lon in ((_WKT, True), (_BRACKET, True), (_PAIR, False)):
        m = s.str.extract(rx)
        todo = lon.isna() & lat.isna() & m[0].notna()
        a, b = (m[0], m[1]) if first_is_lon else (m[1], m[0])
        lon = lon.where(~todo, a)
        lat = lat.where(~todo, b)
    return lon.fillna(""), lat.fillna("")


# --------------------------------------------------------------------------- CRS guess
_CANDIDATES = (("EPSG:2154", "Lambert-93"), ("EPSG:3857", "Web Mercator"))


def _utm_of(lon: float, lat: float) -> str:
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def guess_crs(x: np.ndarray, y: np.ndarray, *, near_wgs84=None) -> tuple[str, str] | None:
    """The CRS that metre coordinates most likely are in: ``(epsg, name)`` or ``None``.

    With ``near_wgs84`` (the study area in WGS84), each candidate (Lambert-93, Web Mercator,
    the area's UTM zone) is tried and the one that puts the median point nearest the area
    wins (within 50 km). Without it, the ranges of the values decide: Lambert-93 for
    x 0.1–1.3 M and y 6.0–7.2 M, UTM for x 0.16–0.84 M, Web Mercator otherwise.
    """
    import pyproj
    import shapely

    big = (np.abs(x) > 180) | (np.abs(y) > 90)
    ok = (
        np.isfinite(x) & np.isfinite(y) & big & (np.abs(x) < 1e8) & (np.abs(y) < 1e8)
    )  # metres on Earth
    if not ok.any():
        return None
    mx, my = float(np.median(x[ok])), float(np.median(y[ok]))
    if near_wgs84 is not None and not near_wgs84.is_empty:
        c = near_wgs84.centroid
        cands = list(_CANDIDATES) + [(_utm_of(c.x, c.y), f"UTM zone {int((c.x + 180) // 6) + 1}")]
        best = None
        for epsg, name in cands:
            lon, lat = pyproj.Transformer.from_crs(epsg, "EPSG:4326", always_xy=True).transform(
                mx, my
            )
            if not (np.isfinite(lon) and np.isfinite(lat)):
                continue
            d = shapely.distance(near_wgs84, shapely.Point(lon, lat))
            if d < 0.5 and (best is None or d < best[0]):
                best = (d, epsg, name)
        if best is not None:
            return best[1], best[2]
    if 1e5 <= mx <= 1.3e6 and 6.0e6 <= my <= 7.2e6:
        return "EPSG:2154", "Lambert-93"
    if 1.6e5 <= mx <= 8.4e5 and 0 <= abs(my) <= 9.4e6:
        return (
            "EPSG:326xx",
            "UTM (the zone of the town, e.g. EPSG:32631 for Paris, EPSG:32610 for Vancouver)",
        )
    if abs(mx) <= 2.0038e7 and abs(my) <= 2.0049e7:
        return "EPSG:3857", "Web Mercator"
    return None


# --------------------------------------------------------------------------- extent
def warn_far_rows(
    lon: np.ndarray, lat: np.ndarray, name: str, *, core: float = 0.96, ratio: float = 25.0
) -> int:
    """Warn when a file's extent is far larger than its dense core (mis-geocoded rows).

    The core is the box holding the central ``core`` share of the rows in each direction
    (2 % to 98 %); the warning is logged when the box of all rows is more than ``ratio`` times
    its area. Returns the number of rows farther from the core than its own size (0 when no
    warning), the rows a clip (``[area] bounds`` or ``polygon``) would set aside.
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if len(lon) < 50:
        return 0
    q = (1 - core) / 2
    (x0, x1), (y0, y1) = np.quantile(lon, [q, 1 - q]), np.quantile(lat, [q, 1 - q])
    kx, ky = 111.32 * np.cos(np.radians(np.median(lat))), 110.57  # km per degree
    core_w, core_h = max((x1 - x0) * kx, 0.1), max((y1 - y0) * ky, 0.1)
    full_w, full_h = max(np.ptp(lon) * kx, 0.1), max(np.ptp(lat) * ky, 0.1)
    if full_w * full_h <= ratio * core_w * core_h:
        return 0
    pad = max(core_w, core_h)
    far = (
        ((lon - x1) * kx > pad)
        | ((x0 - lon) * kx > pad)
        | ((lat - y1) * ky > pad)
        | ((y0 - lat) * ky > pad)
    )
    box = [round(v, 3) for v in (x0 - 0.1 * (x1 - x0), y0 - 0.1 * (y1 - y0))] + [
        round(v, 3) for v in (x1 + 0.1 * (x1 - x0), y1 + 0.1 * (y1 - y0))
    ]
    log.warning(
        "%s: the rows span %.0f × %.0f km but %.0f %% of them lie within %.1f × %.1f km; "
        "%d row(s) lie more than %.1f km beyond that core (mis-geocoded?). They stretch the "
        "study area and the grid: clip with [area] bounds = [%s] (west, south, east, north) "
        "or [area] polygon; the rows outside go to quarantine.csv",
        name,
        full_w,
        full_h,
        100 * core,
        core_w,
        core_h,
        int(far.sum()),
        pad,
        ", ".join(f"{v:g}" for v in box),
    )
    return int(far.sum())
