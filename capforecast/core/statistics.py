"""Period statistics: how the values of finer steps become one value per period.

A workload is sized by a statistic of its demand within each period: training by its
``mean`` (work that can wait for an hour of the day), inference by a high quantile such as
``p95`` (it must be served at its busy hours), or the ``max``. Telemetry uses it to make a
day of the history from its hours (``statistic:`` in ``telemetry.yaml``), and
:func:`capforecast.requirement.requirement` to make a planning period from the steps of a
forecast path; the history's ``statistic`` column carries it from one to the other.
"""

from __future__ import annotations

import re

import numpy as np

from capforecast.core.errors import ParameterError

#: The statistic of a workload that none is given for.
DEFAULT_STATISTIC = "mean"

#: The statistic of each workload by default: inference is sized at its busy hours.
DEFAULT_STATISTICS = {"inference": "p95"}

_QUANTILE = re.compile(r"p([1-9][0-9]?)")


def quantile_of(statistic: str) -> float | None:
    """The quantile a statistic takes (``p95``: 0.95, ``max``: 1.0), ``None`` for the
    mean; a :class:`ParameterError` for anything else.

    Examples
    --------
    >>> quantile_of("p95"), quantile_of("max"), quantile_of("mean")
    (0.95, 1.0, None)
    """
    if statistic == "mean":
        return None
    if statistic == "max":
        return 1.0
    found = _QUANTILE.fullmatch(statistic)
    if found is None:
        raise ParameterError(
            f"a period statistic is 'mean', 'max' or a percentile 'p1'..'p99' (such as "
            f"'p95'); got {statistic!r}"
        )
    return int(found.group(1)) / 100


def reduce(values: np.ndarray, statistic: str, axis: int = -1) -> np.ndarray:
    """``values`` reduced along ``axis`` by ``statistic`` (a quantile interpolates
    linearly between the ordered values, as numpy's default does).

    Examples
    --------
    >>> hours = np.array([1.0, 2.0, 3.0, 10.0])
    >>> float(reduce(hours, "mean")), float(reduce(hours, "max")), float(reduce(hours, "p50"))
    (4.0, 10.0, 2.5)
    """
    q = quantile_of(statistic)
    return values.mean(axis=axis) if q is None else np.quantile(values, q, axis=axis)
