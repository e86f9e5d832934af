"""Bounds on the work one call may ask for, checked before the work starts.

A small input must never cost minutes of CPU, gigabytes of memory or megabytes of reply:
a request of a few hundred bytes can name a horizon of a million periods or a YAML file
of nested aliases. Each bound below is generous for real planning (a fleet of thousands
of series, ten years of weekly periods) and is named in the error that enforces it, so a
user who truly needs more knows which one to raise. The REST API applies tighter bounds
of its own on top (docs/service.md).

Examples
--------
>>> check("planning periods", 12, LIMITS.periods)
>>> check("planning periods", 3_600_000, LIMITS.periods)
Traceback (most recent call last):
...
capforecast.core.limits.LimitError: planning periods: 3600000 is over the limit of 2000
>>> shown("x" * 100)
"'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
>>> shown([[list(range(10**6))]])
'[[[...]]]'
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from capforecast.core.errors import CapforecastError


class LimitError(CapforecastError, ValueError):
    """A request for more work than the limits allow (exit 2, HTTP 422)."""


@dataclass(frozen=True)
class Limits:
    """The library's bounds (see the module docstring)."""

    #: Rows of one input table (a history, a planning CSV): read no further.
    rows: int = 10_000_000
    #: Bytes of one Parquet input table once unpacked (its footer says, before any read).
    table_bytes: int = 512 * 2**20
    #: Periods of a planning horizon (ten years of weeks is 520).
    periods: int = 2000
    #: Forecast values: series x horizon x models x (1 + 2 x levels), or x paths (each
    #: costs about 400 bytes at its peak: 10M is about 4 GB).
    forecast_values: int = 10_000_000
    #: Steps ahead of one forecast.
    forecast_horizon: int = 10_000
    #: Cells of a plan's allocation: SKUs x sites x workloads x periods x scenarios.
    allocation: int = 500_000
    #: Sample paths of a requirement, and the demand scenarios they are reduced to (the
    #: reduction is quadratic in paths; the stochastic plan grows with scenarios).
    paths: int = 5000
    demand_scenarios: int = 100
    #: Backtest windows of one call.
    backtest_windows: int = 200
    #: Changes in one scenario file (after ``extends``).
    scenario_changes: int = 1000
    #: Scenarios in one run or comparison.
    scenarios: int = 200
    #: Days in a telemetry window.
    telemetry_days: int = 3700
    #: Rows of telemetry demand (groups x buckets), and node-hours in use of utilization.
    telemetry_rows: int = 5_000_000
    node_hours: int = 50_000_000
    #: Nodes (scalars, keys, items) of one YAML document.
    yaml_nodes: int = 20_000
    #: Nesting depth of one YAML document.
    yaml_depth: int = 32
    #: Characters of a value quoted back in an error message.
    echo: int = 40


LIMITS = Limits()


def check(what: str, value: int, limit: int) -> None:
    """Raise :class:`LimitError` naming ``what`` when ``value`` is over ``limit``."""
    if value > limit:
        raise LimitError(f"{what}: {value} is over the limit of {limit}")


def clipped(text: str, limit: int = LIMITS.echo) -> str:
    """``text`` cut to ``limit`` characters (with ``...``), for quoting a cell back.

    >>> clipped("H100"), clipped("x" * 50, 10)
    ('H100', 'xxxxxxx...')
    """
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 4


def shown(value: Any, limit: int = LIMITS.echo) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages: a hostile
    value (a nested container, a long string) must not make a reply of megabytes, and its
    whole repr is never built."""
    try:
        text = repr(value[:limit]) if isinstance(value, str) else _REPR.repr(value)
    except ValueError:  # an int of thousands of digits has no repr
        return "a number of thousands of digits"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
