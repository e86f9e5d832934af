"""Period selectors: a label (``2027Q3``), a year (``"2027"``), a range
(``2027Q1..2028Q2``) or a list of those, as scenario files and rules write them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from capforecast.core.limits import shown

#: What a selector may be: one label, year or range, a list of them, or None for all.
Periods = str | int | list[str | int] | None

_RANGE = re.compile(r"^\s*(\S+)\s*\.\.\s*(\S+)\s*$")


def select_periods(spec: Periods, periods: pd.Series) -> np.ndarray:
    """Which of ``periods`` the selector ``spec`` names: a label selects the periods it
    overlaps (2027Q3 is July-September on a monthly horizon, and "2027" every quarter of
    the year on a quarterly one).

    Examples
    --------
    >>> horizon = pd.Series(pd.period_range("2027Q1", periods=8, freq="Q"))
    >>> select_periods("2027", horizon).sum(), select_periods("2027Q4..2028Q2", horizon).sum()
    (np.int64(4), np.int64(3))
    >>> months = pd.Series(pd.period_range("2027-01", periods=12, freq="M"))
    >>> select_periods("2027Q1..2027Q2", months).sum(), select_periods("2027Q3", months).sum()
    (np.int64(6), np.int64(3))
    """
    if spec is None:
        return np.ones(len(periods), dtype=bool)
    if isinstance(spec, list):
        masks = [select_periods(item, periods) for item in spec]
        return np.logical_or.reduce(masks) if masks else np.zeros(len(periods), dtype=bool)
    text = str(spec).strip()
    try:
        found = _RANGE.match(text)
        first, last = (
            (pd.Period(found.group(1)), pd.Period(found.group(2)))
            if found
            else (pd.Period(text, freq="Y") if re.fullmatch(r"\d{4}", text) else pd.Period(text),)
            * 2
        )
        first_start, last_end = np.datetime64(first.start_time), np.datetime64(last.end_time)
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime: 9999Q4
        raise ValueError(
            f"periods {shown(text)} is not a period label (2027Q3), a year "
            '("2027") or a range (2027Q1..2028Q2)'
        ) from None
    starts = periods.dt.start_time.to_numpy()
    ends = periods.dt.end_time.to_numpy()
    return (ends >= first_start) & (starts <= last_end)


def steps_until(last: pd.Timestamp, period: pd.Period, freq: str) -> int:
    """Steps of ``freq`` after ``last`` needed to reach the end of ``period``.

    Examples
    --------
    >>> steps_until(pd.Timestamp("2026-11-29"), pd.Period("2026Q4", "Q"), "D")
    32
    """
    end = period.end_time.normalize()
    return max(0, len(pd.date_range(last, end, freq=freq)) - 1)
