"""Tests of siteplanner.incidents.windows on hand-picked dates whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from siteplanner._errors import InputError
from siteplanner.incidents.windows import (
    STANDARD_WINDOWS,
    TimeWindow,
    in_window,
    parse_period,
    previous_period,
)


def _times(*stamps, tz="Europe/Paris"):
    return pd.Series(pd.to_datetime(list(stamps))).dt.tz_localize(tz)


def test_hours_wrapping_midnight():
    t = _times(
        "2023-03-06 23:30",
        "2023-03-06 05:59",
        "2023-03-06 06:00",
        "2023-03-06 21:59",
        "2023-03-06 22:00",
    )
    assert in_window(t, TimeWindow("nuit tardive", hours=(22, 6))).tolist() == [
        True,
        True,
        False,
        False,
        True,
    ]


def test_soiree_and_nuit_hours():
    t = _times("2023-03-06 18:00", "2023-03-06 23:59", "2023-03-07 00:00", "2023-03-06 17:59")
    assert in_window(t, STANDARD_WINDOWS["soirée"]).tolist() == [True, True, False, False]
    assert in_window(t, STANDARD_WINDOWS["nuit"]).tolist() == [False, False, True, False]


def test_weekday_weekend():
    # 2023-03-04 is a Saturday, 2023-03-05 a Sunday, 2023-03-06 a Monday
    t = _times("2023-03-04 12:00", "2023-03-05 12:00", "2023-03-06 12:00")
    assert in_window(t, TimeWindow("we", days="weekend")).tolist() == [True, True, False]
    assert in_window(t, TimeWindow("wd", days="weekday")).tolist() == [False, False, True]


def test_school_holidays_zone_b():
    # zone B winter holidays 2023: 11 Feb - 26 Feb; zone A was 4-19 Feb, zone C 18 Feb - 5 Mar
    t = _times("2023-02-20 10:00", "2023-03-01 10:00", "2023-02-06 10:00")
    assert in_window(t, TimeWindow("vac", school_holidays=True), school_zone="B").tolist() == [
        True,
        False,
        False,
    ]
    assert in_window(
        t, TimeWindow("hors vac", school_holidays=False), school_zone="B"
    ).tolist() == [False, True, True]
    assert in_window(t, TimeWindow("vac", school_holidays=True), school_zone="C").tolist() == [
        True,
        True,
        False,
    ]
    assert in_window(t, TimeWindow("vac", school_holidays=True), school_zone="A").tolist() == [
        False,
        False,
        True,
    ]


def test_public_holidays():
    t = _times("2023-07-14 10:00", "2023-07-13 10:00", "2024-05-01 09:00", "2023-12-25 23:00")
    assert in_window(t, TimeWindow("férié", public_holidays=True)).tolist() == [
        True,
        False,
        True,
        True,
    ]


def test_local_time_of_the_series_is_used():
    # 22:30 UTC on 13 July is 00:30 on 14 July in Paris (summer time, UTC+2)
    t = (
        pd.Series(pd.to_datetime(["2023-07-13 22:30"]))
        .dt.tz_localize("UTC")
        .dt.tz_convert("Europe/Paris")
    )
    assert in_window(t, TimeWindow("férié nuit", hours=(0, 6), public_holidays=True)).tolist() == [
        True
    ]


def test_period_and_combination():
    t = _times("2023-01-01 00:00", "2023-06-30 23:59", "2023-07-01 00:00", "2022-12-31 23:59")
    assert in_window(t, TimeWindow("s1", period="2023-S1")).tolist() == [True, True, False, False]
    w = TimeWindow("s1 soir", hours=(18, 24), period="2023-S1")
    assert in_window(t, w).tolist() == [False, True, False, False]


def test_missing_times_are_outside():
    t = _times("2023-01-01 10:00", None)
    assert in_window(t, TimeWindow("all")).tolist() == [True, False]


def test_naive_times_rejected():
    with pytest.raises(InputError, match="timezone"):
        in_window(pd.Series(pd.to_datetime(["2023-01-01"])), TimeWindow("all"))


def test_school_holidays_outside_calendar_rejected():
    with pytest.raises(InputError, match="covers"):
        in_window(_times("2035-01-01 10:00"), TimeWindow("v", school_holidays=True))


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2023", "2023-01-01", "2024-01-01"),
        ("2023-S1", "2023-01-01", "2023-07-01"),
        ("2023-S2", "2023-07-01", "2024-01-01"),
        ("2023-Q2", "2023-04-01", "2023-07-01"),
        ("2023-05", "2023-05-01", "2023-06-01"),
        ("2023-12", "2023-12-01", "2024-01-01"),
    ],
)
def test_parse_period(label, start, end):
    assert parse_period(label) == (pd.Timestamp(start), pd.Timestamp(end))


@pytest.mark.parametrize("bad", ["2023-S3", "2023-13", "23", "2023-Q5", "2023/05", "", None])
def test_parse_period_rejects(bad):
    with pytest.raises(InputError, match="accepted forms"):
        parse_period(bad)


@pytest.mark.parametrize(
    ("label", "prev"),
    [
        ("2023-S1", "2022-S2"),
        ("2023-S2", "2023-S1"),
        ("2023-Q1", "2022-Q4"),
        ("2023-Q3", "2023-Q2"),
        ("2023-01", "2022-12"),
        ("2023-10", "2023-09"),
        ("2023", "2022"),
    ],
)
def test_previous_period(label, prev):
    assert previous_period(label) == prev


def test_window_validation_lists_every_problem():
    with pytest.raises(InputError) as info:
        TimeWindow("bad", hours=(5, 30), days="sometimes", period="2023-S9")
    msg = str(info.value)
    assert "3 problem(s)" in msg and "hours" in msg and "days" in msg and "period" in msg
    with pytest.raises(InputError, match="same hour"):
        TimeWindow("x", hours=(0, 24))


def test_describe_names_the_window():
    assert (
        TimeWindow("soirée", hours=(18, 24), period="2023-S1").describe()
        == "soirée (18h–24h, 2023-S1)"
    )
    assert np.array_equal(
        in_window(_times("2023-02-20 10:00"), STANDARD_WINDOWS["vacances scolaires"]), [True]
    )
