"""Aggregate per-series forecast paths into required capacity per workload and period.

Demand of a series is in accelerators of its own SKU; multiplied by that SKU's perf
factor for the series' workload it becomes *reference units* (H100-equivalents). Quantiles
do not add across series, so the requirement is computed path by path: sum the series of a
workload on each path and day, reduce each period to one number per path (its mean or its
peak), and only then take the quantile at the service level.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from capforecast.core.errors import InputError, ParameterError, Problem
from capforecast.core.statistics import DEFAULT_STATISTIC, quantile_of, reduce
from capforecast.requirement.reduction import forward_selection

#: How a period is reduced on each path: ``mean``, ``max`` or a percentile such as ``p95``
#: (:mod:`capforecast.core.statistics`); one for every workload, a map by workload, or
#: ``None``: each workload's ``statistic`` column of the history (``mean`` without one).
PeriodStat = str | Mapping[str, str] | None

#: The share of capacity usable in practice when none is given, the same everywhere
#: (:func:`requirement`, ``capforecast.workflow``, a scenario's ``forecast:``): 85%, which
#: leaves room for scheduling gaps, maintenance and bursts. The requirement is divided by
#: it. Pass 1.0 to plan for capacity used to the last unit.
DEFAULT_UTILIZATION_TARGET = 0.85


def regions_of(table: pd.DataFrame) -> list[str]:
    """The regions named in the ``region`` column of ``table``, sorted; empty when it has
    no such column or only missing or blank cells.

    Works on a history (or its attributes) and on ``PlanningInputs.sites`` alike.

    Examples
    --------
    >>> regions_of(pd.DataFrame({"region": ["us", None, "eu", " ", "us"]}))
    ['eu', 'us']
    >>> regions_of(pd.DataFrame({"site": ["texas"]}))
    []
    """
    if "region" not in table.columns:
        return []
    values = {str(v).strip() for v in table["region"].dropna()}
    return sorted(values - {""})


def _missing_region(value: object) -> bool:
    return bool(pd.isna(value)) or not str(value).strip()


def _series_groups(
    uids: list[str], attributes: pd.DataFrame, perf: pd.DataFrame, by_region: bool
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The groups (``workload`` and, by region, ``region``) in first-appearance order,
    and per series its group index and perf factor."""
    series = attributes.drop_duplicates("unique_id").set_index("unique_id")
    needed = {"workload": "needed to convert demand to reference units"}
    needed["sku"] = needed["workload"]
    if by_region:
        needed["region"] = "needed for demand by region"
    missing_columns = [c for c in needed if c not in series.columns]
    if missing_columns:
        raise InputError([Problem("history", None, c, needed[c]) for c in missing_columns])
    factors = perf.set_index(["sku", "workload"])["factor"]
    problems = []
    keys: dict[tuple[str, ...], int] = {}
    group_index = np.zeros(len(uids), dtype=np.int64)
    factor = np.zeros(len(uids))
    for i, uid in enumerate(uids):
        if uid not in series.index:
            problems.append(Problem("paths", None, "unique_id", f"no attributes for '{uid}'"))
            continue
        workload, sku = series.at[uid, "workload"], series.at[uid, "sku"]
        value = None if pd.isna(workload) or pd.isna(sku) else factors.get((sku, workload))
        if value is None:
            problems.append(
                Problem(
                    "perf.csv",
                    None,
                    "factor",
                    f"series '{uid}' runs workload '{workload}' on SKU '{sku}', but perf.csv "
                    "has no factor for that pair",
                )
            )
            continue
        key: tuple[str, ...] = (str(workload),)
        if by_region:
            region = series.at[uid, "region"]
            if _missing_region(region):
                problems.append(
                    Problem(
                        "history",
                        None,
                        "region",
                        f"series '{uid}' has no region, but demand is wanted by region",
                    )
                )
                continue
            key = (str(workload), str(region).strip())
        group_index[i] = keys.setdefault(key, len(keys))
        factor[i] = float(value)
    if problems:
        raise InputError(problems)
    columns = ["workload", "region"] if by_region else ["workload"]
    return pd.DataFrame(list(keys), columns=columns), group_index, factor


def requirement(
    paths: pd.DataFrame,
    attributes: pd.DataFrame,
    perf: pd.DataFrame,
    periods: pd.PeriodIndex,
    *,
    service_level: float = 0.9,
    period_stat: PeriodStat = None,
    utilization_target: float | Mapping[str, float] = DEFAULT_UTILIZATION_TARGET,
    by_region: bool = False,
) -> pd.DataFrame:
    """Required capacity per workload (and region) and period, in reference units, at a
    service level.

    Parameters
    ----------
    paths
        Sample paths ``unique_id, ds, path, value`` (e.g. from ``sample_paths``), in each
        series' own SKU units; every period must be fully covered by the paths.
    attributes
        ``unique_id, workload, sku`` (and ``region`` with ``by_region``) of every series
        (the history table works).
    perf
        ``sku, workload, factor`` (``perf.csv``).
    periods
        The planning periods to report, e.g. ``inputs.periods``.
    service_level
        Quantile of the per-path requirement, in (0, 1); 0.9 is P90.
    period_stat
        How a period is reduced on each path: its time-weighted ``mean`` (a weekly step
        that straddles two quarters counts in each for its days), its ``max`` (the
        busiest step that touches it), or a percentile such as ``p95`` of the steps that
        touch it; one for all workloads, or a map by workload. By default each workload's
        ``statistic`` in ``attributes`` (a history from telemetry has it: ``p95`` for
        inference, which is served at its busy hours and days), else ``mean``.
    utilization_target
        Fraction of capacity that can be used in practice (one number or one per
        workload; a workload a mapping leaves out gets the default); the requirement is
        divided by it. Default :data:`DEFAULT_UTILIZATION_TARGET` (0.85).
    by_region
        Whether to keep the requirement of each region apart: the series of a workload
        are then summed per ``region`` of ``attributes`` (every series needs one) and the
        quantile is taken per workload and region. Off by default, so a history that
        carries regions still gives one requirement per workload, summed over regions.

    Returns
    -------
    pandas.DataFrame
        ``workload, period, demand`` (``workload, region, period, demand`` by region),
        sorted by workload (and region): the ``demand.csv`` of the planning inputs.

    Raises
    ------
    InputError
        A series without attributes, without a perf factor for its (SKU, workload) pair,
        or, by region, without a region; paths with missing or negative values.

    Examples
    --------
    >>> ds = pd.date_range("2027-01-01", "2027-06-30", freq="D")
    >>> paths = pd.DataFrame({"unique_id": "a", "ds": np.tile(ds, 2),
    ...                       "path": np.repeat([0, 1], len(ds)),
    ...                       "value": np.repeat([10.0, 20.0], len(ds))})
    >>> attributes = pd.DataFrame({"unique_id": ["a"], "workload": ["training"], "sku": ["B200"]})
    >>> perf = pd.DataFrame({"sku": ["B200"], "workload": ["training"], "factor": [2.0]})
    >>> requirement(paths, attributes, perf, pd.period_range("2027Q1", periods=2, freq="Q"),
    ...             service_level=0.5, utilization_target=1.0)
       workload  period  demand
    0  training  2027Q1    30.0
    1  training  2027Q2    30.0

    By region, a second series in another region is kept apart:

    >>> both = pd.concat([paths, paths.assign(unique_id="b", value=paths["value"] * 2)])
    >>> regional = pd.concat([attributes.assign(region="us"),
    ...                       attributes.assign(unique_id="b", region="eu")])
    >>> requirement(both, regional, perf, pd.period_range("2027Q1", periods=1, freq="Q"),
    ...             service_level=0.5, utilization_target=1.0, by_region=True)
       workload region  period  demand
    0  training     eu  2027Q1    60.0
    1  training     us  2027Q1    30.0
    """
    if not 0 < service_level < 1:
        raise ParameterError(
            f"The 'service_level' parameter must be in (0, 1). Got {service_level} instead."
        )
    groups, per_path = requirement_paths(
        paths,
        attributes,
        perf,
        periods,
        period_stat=period_stat,
        utilization_target=utilization_target,
        by_region=by_region,
    )
    quantile = np.quantile(per_path, service_level, axis=1)  # [group, period]
    table = groups.loc[groups.index.repeat(len(periods))].reset_index(drop=True)
    return table.assign(
        period=np.tile(periods, len(groups)),
        demand=quantile.ravel(),
    )


def requirement_paths(
    paths: pd.DataFrame,
    attributes: pd.DataFrame,
    perf: pd.DataFrame,
    periods: pd.PeriodIndex,
    *,
    period_stat: PeriodStat = None,
    utilization_target: float | Mapping[str, float] = DEFAULT_UTILIZATION_TARGET,
    by_region: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The requirement on every path, before any quantile (arguments as in
    :func:`requirement`).

    Returns
    -------
    groups : pandas.DataFrame
        One row per group, sorted: ``workload`` (``workload, region`` by region).
    per_path : numpy.ndarray
        ``[group, path, period]`` reference units: the series of each group summed on
        every path, reduced per period and divided by the utilization target.

    Examples
    --------
    >>> ds = pd.date_range("2027-01-01", "2027-03-31", freq="D")
    >>> paths = pd.DataFrame({"unique_id": np.repeat(["a", "b"], len(ds)),
    ...                       "ds": np.tile(ds, 2), "path": 0, "value": 1.0})
    >>> attributes = pd.DataFrame({"unique_id": ["a", "b"], "workload": "training",
    ...                            "sku": "H100", "region": ["us", "eu"]})
    >>> perf = pd.DataFrame({"sku": ["H100"], "workload": ["training"], "factor": [1.0]})
    >>> quarter = pd.period_range("2027Q1", periods=1, freq="Q")
    >>> groups, per_path = requirement_paths(paths, attributes, perf, quarter, by_region=True)
    >>> groups.to_dict("list"), per_path.shape
    ({'workload': ['training', 'training'], 'region': ['eu', 'us']}, (2, 1, 1))
    >>> requirement_paths(paths, attributes, perf, quarter)[1].ravel().tolist()  # / 0.85
    [2.35294...]
    """
    values = paths["value"].to_numpy(dtype=float)
    if not (np.isfinite(values) & (values >= 0)).all():
        bad = int((~(np.isfinite(values) & (values >= 0))).sum())
        raise InputError(
            [Problem("paths", None, "value", f"{bad} values are missing, infinite or negative")]
        )
    uid_codes, uids = pd.factorize(paths["unique_id"].astype(str), sort=True)
    step_codes, starts = pd.factorize(paths["ds"], sort=True)
    path_codes, path_labels = pd.factorize(paths["path"], sort=True)
    groups, group_index, factor = _series_groups(list(uids), attributes, perf, by_region)
    G, P, D = len(groups), len(path_labels), len(starts)
    starts = pd.DatetimeIndex(starts).as_unit("ns")  # the arithmetic below is in ns
    ends = _step_ends(starts, paths.attrs.get("freq"))
    _check_coverage(uid_codes, list(uids), step_codes, starts, ends, periods)
    # Sum the series of each group on every path and step, in reference units.
    flat = (group_index[uid_codes] * P + path_codes) * D + step_codes
    summed = np.bincount(flat, weights=values * factor[uid_codes], minlength=G * P * D)
    steps = summed.reshape(G, P, D)
    overlap = _overlap(starts, ends, periods)  # [step, period], in seconds
    statistics = _statistics(period_stat, groups["workload"], attributes)
    per_path = np.empty((G, P, len(periods)))  # [group, path, period]
    for name in dict.fromkeys(statistics):
        rows = np.flatnonzero(statistics == name)
        if name == "mean":
            # Time-weighted: a week that straddles two quarters counts in each for its days.
            weights = overlap / overlap.sum(axis=0)
            per_path[rows] = np.tensordot(steps[rows], weights, axes=([2], [0]))
            continue
        for p in range(len(periods)):
            per_path[rows, :, p] = reduce(steps[rows][:, :, overlap[:, p] > 0], name, axis=2)
    targets = np.array(
        [
            utilization_target.get(w, DEFAULT_UTILIZATION_TARGET)
            if isinstance(utilization_target, Mapping)
            else utilization_target
            for w in groups["workload"]
        ],
        dtype=float,
    )
    if not ((targets > 0) & (targets <= 1)).all():
        raise ParameterError(
            f"The 'utilization_target' parameter must be in (0, 1]. Got {utilization_target}."
        )
    order = groups.sort_values(list(groups.columns)).index.to_numpy()  # a RangeIndex
    sorted_groups = groups.iloc[order].reset_index(drop=True)
    return sorted_groups, (per_path / targets[:, None, None])[order]


def _statistics(
    period_stat: PeriodStat, workloads: pd.Series, attributes: pd.DataFrame
) -> np.ndarray:
    """The statistic of each group (by its workload): ``period_stat`` (one, or a map by
    workload), else the workload's ``statistic`` in ``attributes``, else ``mean``; each
    checked."""
    if isinstance(period_stat, str):
        chosen = [period_stat] * len(workloads)
    else:
        given = dict(period_stat or {})
        if period_stat is None and "statistic" in attributes.columns:
            named = attributes.dropna(subset=["statistic"]).drop_duplicates("workload")
            given = named.set_index(named["workload"].astype(str))["statistic"].astype(str)
            given = given.to_dict()
        chosen = [given.get(w, DEFAULT_STATISTIC) for w in workloads]
    for name in set(chosen):
        try:
            quantile_of(name)
        except ParameterError as error:
            raise ParameterError(f"The 'period_stat' parameter: {error}") from None
    return np.asarray(chosen, dtype=object)


def _step_ends(starts: pd.DatetimeIndex, freq: str | None) -> pd.DatetimeIndex:
    """Where each step ends: the next step of ``freq`` (given or inferred from the steps),
    else of the smallest spacing."""
    if freq is None and len(starts) >= 3:
        freq = pd.infer_freq(starts)
    if freq is not None:
        return starts + to_offset(freq)
    spacing = np.diff(starts.asi8)
    step = pd.Timedelta(int(spacing[spacing > 0].min()) if (spacing > 0).any() else 86_400e9)
    return starts + step


def _overlap(
    starts: pd.DatetimeIndex, ends: pd.DatetimeIndex, periods: pd.PeriodIndex
) -> np.ndarray:
    """Seconds of each step inside each period, as ``[step, period]``."""
    period_start = periods.start_time.asi8
    period_end = (periods.end_time + pd.Timedelta(1, "ns")).asi8
    low = np.maximum(starts.asi8[:, None], period_start[None, :])
    high = np.minimum(ends.asi8[:, None], period_end[None, :])
    return np.clip(high - low, 0, None).astype(float) / 1e9


def _check_coverage(
    uid_codes: np.ndarray,
    uids: list[str],
    step_codes: np.ndarray,
    starts: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    periods: pd.PeriodIndex,
) -> None:
    """Every series' paths must cover every requested period from start to end."""
    first = pd.Series(step_codes).groupby(uid_codes).min().to_numpy()
    last = pd.Series(step_codes).groupby(uid_codes).max().to_numpy()
    need_start, need_end = periods[0].start_time, periods[-1].end_time
    until = ends - pd.Timedelta(1, "ns")
    short = [
        f"'{uids[i]}' ({starts[first[i]].date()} .. {until[last[i]].date()})"
        for i in range(len(uids))
        if starts[first[i]] > need_start or ends[last[i]] <= need_end
    ]
    if short:
        shown = ", ".join(short[:5]) + (" ..." if len(short) > 5 else "")
        raise ParameterError(
            f"The paths of {len(short)} series do not cover the periods {periods[0]} .. "
            f"{periods[-1]} ({need_start.date()} .. {need_end.date()}): {shown}; "
            "forecast further ahead."
        )


def requirement_scenarios(
    paths: pd.DataFrame,
    attributes: pd.DataFrame,
    perf: pd.DataFrame,
    periods: pd.PeriodIndex,
    *,
    n_scenarios: int = 10,
    period_stat: PeriodStat = None,
    utilization_target: float | Mapping[str, float] = DEFAULT_UTILIZATION_TARGET,
    by_region: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand scenarios with probabilities: every path's requirement, reduced to
    ``n_scenarios`` by fast forward selection
    (:func:`~capforecast.requirement.reduction.forward_selection`).

    Each path gives one requirement per workload (and region, with ``by_region``) and
    period, as :func:`requirement` does before taking the quantile. A path is reduced as
    one joint draw: its vector holds every workload, region and period, so a scenario
    keeps the demand of all of them from the same path. The kept paths become the
    scenarios, each with the probability of the paths nearest to it. Returns ``demand``
    (``workload, period, scenario, demand``; ``workload, region, period, scenario,
    demand`` by region) and ``scenarios`` (``scenario, probability``), ready for the
    planning inputs; scenarios are named by their path (``path17``). Other arguments are
    as in :func:`requirement`.

    Examples
    --------
    >>> ds = pd.date_range("2027-01-01", "2027-03-31", freq="D")
    >>> paths = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 3 * len(ds)),
    ...                       "ds": np.tile(ds, 6),
    ...                       "path": np.tile(np.repeat([0, 1, 2], len(ds)), 2),
    ...                       "value": np.repeat([1.0, 2.0, 9.0, 8.0, 2.0, 1.0], len(ds))})
    >>> attributes = pd.DataFrame({"unique_id": ["a", "b"], "workload": "training",
    ...                            "sku": "H100", "region": ["us", "eu"]})
    >>> perf = pd.DataFrame({"sku": ["H100"], "workload": ["training"], "factor": [1.0]})
    >>> demand, scenarios = requirement_scenarios(
    ...     paths, attributes, perf, pd.period_range("2027Q1", periods=1, freq="Q"),
    ...     n_scenarios=2, utilization_target=1.0, by_region=True)
    >>> demand  # path 2 is busy in the US and quiet in Europe: the scenario keeps both
       workload region  period scenario  demand
    0  training     eu  2027Q1    path1     2.0
    1  training     us  2027Q1    path1     2.0
    2  training     eu  2027Q1    path2     1.0
    3  training     us  2027Q1    path2     9.0
    >>> scenarios
      scenario  probability
    0    path1     0.666667
    1    path2     0.333333
    """
    groups, per_path = requirement_paths(
        paths,
        attributes,
        perf,
        periods,
        period_stat=period_stat,
        utilization_target=utilization_target,
        by_region=by_region,
    )
    G, P, T = per_path.shape
    points = per_path.transpose(1, 0, 2).reshape(P, G * T)  # one row per path, all groups
    kept, probability = forward_selection(points, n_scenarios)
    order = np.argsort(kept)  # scenarios in path order
    kept, probability = kept[order], probability[order]
    path_labels = np.sort(pd.unique(paths["path"]))  # the path axis of ``per_path``
    scenario = [f"path{path_labels[i]}" for i in kept]
    rows = np.tile(np.repeat(np.arange(G), T), len(kept))  # [scenario, group, period]
    demand = (
        groups.iloc[rows]
        .reset_index(drop=True)
        .assign(
            period=np.tile(periods, G * len(kept)),
            scenario=np.repeat(scenario, G * T),
            demand=points[kept].ravel(),
        )
    )
    scenarios = pd.DataFrame({"scenario": scenario, "probability": probability})
    return demand, scenarios
