"""Time windows: which incidents count for a hotspot map.

A :class:`TimeWindow` selects incidents by hour of day (``soirée`` 18–24 h, ``nuit`` 0–6 h,
or a range that wraps midnight such as 22–6 h), by day type (weekday / weekend), by French
school holidays (*vacances scolaires*, zone A, B or C; the Nice académie, hence Beausoleil,
is in zone B) and public holidays (*jours fériés*), and by period (a year ``"2023"``, a
semester ``"2023-S1"`` as the OLS — observatoire local de la sécurité — publishes them, a
quarter ``"2023-Q2"`` or a month ``"2023-05"``). Every hotspot product carries the name of
the window it was computed on.

School-holiday dates come from the package ``vacances-scolaires-france`` (the Ministry's
calendar published on data.gouv.fr, 1990–2028); public holidays from ``holidays``
(``holidays.France``). All tests on hours and dates use the local wall-clock time of the
series given (convert it with ``Series.dt.tz_convert("Europe/Paris")`` first when needed).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from siteplanner._errors import InputError, report_problems

logger = logging.getLogger(__name__)

__all__ = [
    "TimeWindow",
    "STANDARD_WINDOWS",
    "in_window",
    "parse_period",
    "previous_period",
    "school_holiday_dates",
    "public_holiday_dates",
]

_PERIOD_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<s>S[12])|(?P<q>Q[1-4])|(?P<m>0[1-9]|1[0-2])))?$"
)
_DAYS = ("all", "weekday", "weekend")
_ZONES = ("A", "B", "C")


@dataclass(frozen=True)
class TimeWindow:
    """A named selection of incident times.

    Parameters
    ----------
    name
        Label written on every product computed on this window (e.g. ``"soirée"``).
    hours
        ``(start, end)`` in whole hours, start included, end excluded, ``0 <= start, end <= 24``.
        ``(18, 24)`` is 18:00–23:59; ``(22, 6)`` wraps midnight (22:00–05:59). ``None``: all day.
    days
        ``"all"``, ``"weekday"`` (Monday–Friday) or ``"weekend"`` (Saturday, Sunday).
    school_holidays
        ``True``: only days of French school holidays (for the zone given to :func:`in_window`);
        ``False``: only days outside them; ``None``: both.
    public_holidays
        Same for French public holidays (jours fériés).
    period
        ``"2023"``, ``"2023-S1"``, ``"2023-Q2"``, ``"2023-05"`` or ``None`` (any date).
    """

    name: str
    hours: tuple[int, int] | None = None
    days: Literal["all", "weekday", "weekend"] = "all"
    school_holidays: bool | None = None
    public_holidays: bool | None = None
    period: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(f"name={self.name!r}: a non-empty string is required")
        if self.hours is not None:
            ok = (
                isinstance(self.hours, tuple)
                and len(self.hours) == 2
                and all(
                    isinstance(h, (int, np.integer)) and not isinstance(h, bool) for h in self.hours
                )
            )
            if not ok:
                problems.append(
                    f"hours={self.hours!r}: expected a tuple of two whole hours (start, end)"
                )
            else:
                start, end = self.hours
                if not (0 <= start <= 24 and 0 <= end <= 24):
                    problems.append(f"hours={self.hours!r}: hours must lie in 0..24")
                elif start % 24 == end % 24:
                    problems.append(
                        f"hours={self.hours!r}: start and end are the same hour; "
                        "use hours=None for all day"
                    )
        if self.days not in _DAYS:
            problems.append(f"days={self.days!r}: accepted values are {', '.join(_DAYS)}")
        for field in ("school_holidays", "public_holidays"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, bool):
                problems.append(f"{field}={value!r}: accepted values are True, False or None")
        if self.period is not None:
            try:
                parse_period(self.period)
            except InputError as exc:
                problems.append(str(exc))
        report_problems(problems, source=f"TimeWindow {self.name!r}")

    def describe(self) -> str:
        """One human-readable line describing the window (for map titles and logs)."""
        parts = []
        if self.hours is not None:
            parts.append(f"{self.hours[0]:02d}h–{self.hours[1]:02d}h")
        if self.days != "all":
            parts.append({"weekday": "lundi–vendredi", "weekend": "week-end"}[self.days])
        if self.school_holidays is not None:
            parts.append(
                "vacances scolaires" if self.school_holidays else "hors vacances scolaires"
            )
        if self.public_holidays is not None:
            parts.append("jours fériés" if self.public_holidays else "hors jours fériés")
        if self.period is not None:
            parts.append(self.period)
        return f"{self.name} ({', '.join(parts) if parts else 'toutes heures'})"


#: Windows users ask for most often; keys are the window names.
STANDARD_WINDOWS: dict[str, TimeWindow] = {
    w.name: w
    for w in (
        TimeWindow("all"),
        TimeWindow("journée", hours=(6, 18)),
        TimeWindow("soirée", hours=(18, 24)),
        TimeWindow("nuit", hours=(0, 6)),
        TimeWindow("semaine", days="weekday"),
        TimeWindow("week-end", days="weekend"),
        TimeWindow("vacances scolaires", school_holidays=True),
        TimeWindow("jours fériés", public_holidays=True),
    )
}


def parse_period(s: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Turn a period label into its first instant and the first instant after it.

    Parameters
    ----------
    s
        ``"YYYY"`` (a year), ``"YYYY-S1"`` / ``"YYYY-S2"`` (semester), ``"YYYY-Q1"``..``"YYYY-Q4"``
        (quarter) or ``"YYYY-MM"`` (month).

    Returns
    -------
    tuple of pandas.Timestamp
        ``(start, end)``, naive (wall-clock) timestamps, start included, end excluded.

    Raises
    ------
    InputError
        If ``s`` is not one of the accepted forms.
    """
    m = _PERIOD_RE.match(s) if isinstance(s, str) else None
    if m is None:
        raise InputError(
            f"period={s!r}: not a period label; accepted forms are '2023' (year), '2023-S1' or "
            "'2023-S2' (semester), '2023-Q1'..'2023-Q4' (quarter), '2023-05' (month)"
        )
    year = int(m["year"])
    if m["s"]:
        first, n_months = 1 + 6 * (int(m["s"][1]) - 1), 6
    elif m["q"]:
        first, n_months = 1 + 3 * (int(m["q"][1]) - 1), 3
    elif m["m"]:
        first, n_months = int(m["m"]), 1
    else:
        first, n_months = 1, 12
    start = pd.Timestamp(year=year, month=first, day=1)
    return start, start + pd.DateOffset(months=n_months)


def previous_period(s: str) -> str:
    """The period of the same kind just before ``s`` (``"2023-S1"`` → ``"2022-S2"``).

    Parameters
    ----------
    s
        A period label accepted by :func:`parse_period`.

    Returns
    -------
    str
        The label of the previous period.
    """
    parse_period(s)  # validates
    m = _PERIOD_RE.match(s)
    year = int(m["year"])
    if m["s"]:
        k = int(m["s"][1])
        return f"{year - 1}-S2" if k == 1 else f"{year}-S1"
    if m["q"]:
        k = int(m["q"][1])
        return f"{year - 1}-Q4" if k == 1 else f"{year}-Q{k - 1}"
    if m["m"]:
        k = int(m["m"])
        return f"{year - 1}-12" if k == 1 else f"{year}-{k - 1:02d}"
    return f"{year - 1}"


@lru_cache(maxsize=8)
def _school_holiday_table(zone: str) -> tuple[frozenset[dt.date], int, int]:
    from vacances_scolaires_france import SchoolHolidayDates

    cal = SchoolHolidayDates()
    key = cal.zone_key(zone)
    days = frozenset(d for d, row in cal.data.items() if row[key])
    return days, cal.min_year, cal.max_year


def school_holiday_dates(zone: str = "B") -> frozenset[dt.date]:
    """All days of French school holidays for ``zone`` known to ``vacances-scolaires-france``.

    Parameters
    ----------
    zone
        ``"A"``, ``"B"`` or ``"C"`` (Beausoleil, académie de Nice: ``"B"``).

    Returns
    -------
    frozenset of datetime.date
    """
    if zone not in _ZONES:
        raise InputError(
            f"school_zone={zone!r}: accepted values are 'A', 'B', 'C' (Nice, Beausoleil: 'B')"
        )
    return _school_holiday_table(zone)[0]


def public_holiday_dates(years: list[int] | tuple[int, ...] | range) -> frozenset[dt.date]:
    """French public holidays (jours fériés, metropolitan France) in the given years.

    Parameters
    ----------
    years
        The calendar years wanted.

    Returns
    -------
    frozenset of datetime.date
    """
    import holidays

    return frozenset(
        holidays.country_holidays("FR", years=sorted(set(int(y) for y in years))).keys()
    )


def in_window(times: pd.Series, window: TimeWindow, *, school_zone: str = "B") -> np.ndarray:
    """Which timestamps fall inside ``window``.

    Parameters
    ----------
    times
        Timezone-aware timestamps; hours and dates are read in their own timezone
        (missing values, ``NaT``, are never inside a window).
    window
        The window.
    school_zone
        French school-holiday zone (``"A"``, ``"B"``, ``"C"``) used when
        ``window.school_holidays`` is set.

    Returns
    -------
    numpy.ndarray of bool
        One flag per timestamp, in the order given.

    Raises
    ------
    InputError
        If ``times`` is not timezone-aware, or school holidays are asked for dates outside
        the calendar's years.
    """
    times = pd.Series(times)
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise InputError(
            f"times: dtype {times.dtype} is not timezone-aware; localise it first, e.g. "
            "pd.to_datetime(s).dt.tz_localize('Europe/Paris')"
        )
    valid = times.notna().to_numpy()
    keep = valid.copy()
    local = times.dt.tz_localize(None)  # wall-clock time in the series' own timezone
    if window.hours is not None:
        hour = (local.dt.hour + local.dt.minute / 60.0 + local.dt.second / 3600.0).to_numpy()
        start, end = window.hours
        if start < end:
            inside = (hour >= start) & (hour < end)
        else:  # wraps midnight, e.g. 22–6
            inside = (hour >= start) | (hour < end)
        keep &= np.nan_to_num(inside, nan=False).astype(bool)
    if window.days != "all":
        dow = local.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan)
        weekend = dow >= 5
        keep &= weekend if window.days == "weekend" else (dow < 5)
    dates = local.dt.date
    if window.school_holidays is not None:
        school_holiday_dates(school_zone)  # validates the zone
        days, y0, y1 = _school_holiday_table(school_zone)
        years = local.dt.year[valid]
        if len(years) and (years.min() < y0 or years.max() > y1):
            raise InputError(
                f"times: dates from {years.min()} to {years.max()} but the school-holiday calendar "
                f"(vacances-scolaires-france) covers {y0}–{y1} only; "
                "drop the school_holidays condition"
            )
        flag = np.array([d in days if v else False for d, v in zip(dates, valid)], dtype=bool)
        keep &= flag if window.school_holidays else ~flag
    if window.public_holidays is not None:
        years = local.dt.year[valid].unique()
        days = public_holiday_dates([int(y) for y in years])
        flag = np.array([d in days if v else False for d, v in zip(dates, valid)], dtype=bool)
        keep &= flag if window.public_holidays else ~flag
    if window.period is not None:
        start_p, end_p = parse_period(window.period)
        keep &= ((local >= start_p) & (local < end_p)).fillna(False).to_numpy(dtype=bool)
    keep &= valid
    logger.debug("in_window %s kept %d of %d timestamps", window.name, int(keep.sum()), len(keep))
    return keep
