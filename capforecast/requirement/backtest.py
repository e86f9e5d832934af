"""The requirement backtest: how well the P-level requirement, forecast a lead time ahead,
covered the requirement that came.

A one-step forecast score says little about a purchase: the plan orders at a lead time of
quarters, on the P90 of a requirement summed over series and reduced per period. So, from
past origins (the end of each complete period of the history), this forecasts the series
with the data until then, derives the requirement per workload (and region) and period at
the service level, as the plan would, and compares it, ``lead`` periods after the origin,
with the requirement the history then showed (the same reduction applied to what
happened: one path, the actual one).

Scores per model and lead: coverage of the P-level (the share of workload-periods whose
realised requirement was at most the forecast; P90 should cover 90%), pinball loss at the
service level, and the reference unit-periods over- and under-provisioned, also in USD at
the catalog's prices (:func:`unit_period_prices`: a valuation, not cash).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from capforecast.core.errors import ParameterError
from capforecast.core.history import resample_history
from capforecast.core.limits import clipped
from capforecast.core.periods import steps_until
from capforecast.core.progress import bar
from capforecast.core.schemas import HISTORY_ATTRIBUTES
from capforecast.forecast.base import Forecaster
from capforecast.forecast.engine import Fallback, ForecastWarning, sample_paths
from capforecast.requirement.aggregate import (
    DEFAULT_UTILIZATION_TARGET,
    PeriodStat,
    requirement_paths,
)

#: The scores of :attr:`RequirementBacktest.summary`, and whether lower is better.
SCORES = ("coverage", "pinball", "over", "under", "over_usd", "under_usd", "cost_usd")


@dataclass(frozen=True)
class RequirementBacktest:
    """What :func:`requirement_backtest` found.

    ``windows`` has one row per model, origin, lead and workload (and region):
    ``model, origin, lead, period, workload[, region], forecast, realised, covered,
    pinball, over, under`` in reference units (H100-equivalents) and, with prices,
    ``over_usd, under_usd``. ``summary`` has one row per model and lead: ``windows``
    (workload-periods scored), ``coverage``, mean ``pinball``, summed ``over`` and
    ``under`` (reference unit-periods) and, with prices, ``over_usd``, ``under_usd`` and
    ``cost_usd`` (their sum).
    """

    windows: pd.DataFrame
    summary: pd.DataFrame
    service_level: float

    def best(self) -> str:
        """The model with the lowest cost of provisioning errors over every lead (USD
        when priced, else the mean pinball loss); ties go to the first model."""
        metric = "cost_usd" if "cost_usd" in self.summary else "pinball"
        how = "sum" if metric == "cost_usd" else "mean"
        totals = self.summary.groupby("model", sort=False)[metric].agg(how)
        return str(totals.idxmin())

    def factors(self, model: str | None = None) -> dict[int, float]:
        """Per lead, the factor by which ``model``'s forecast requirement (default: the
        :meth:`best` model's) had to be multiplied to cover the service level of what
        came: the split-conformal quantile, the ``ceil((n + 1) * service_level)``-th
        smallest ratio realised / forecast over the ``n`` workload-periods of that lead.
        Above 1 the P-level was too low at that lead, below 1 too high. A lead with too
        few windows for the level (fewer than 9 for P90) is left out.

        Examples
        --------
        >>> windows = pd.DataFrame({"model": "ets", "lead": 2, "forecast": 100.0,
        ...                         "realised": np.arange(80.0, 180.0, 10.0)})
        >>> RequirementBacktest(windows, pd.DataFrame(), 0.9).factors("ets")
        {2: 1.7}
        """
        chosen = self.best() if model is None else model
        rows = self.windows[(self.windows["model"] == chosen) & (self.windows["forecast"] > 0)]
        found = {}
        for lead, group in rows.groupby("lead", sort=True):
            ratios = np.sort((group["realised"] / group["forecast"]).to_numpy())
            rank = int(np.ceil((len(ratios) + 1) * self.service_level))
            if rank <= len(ratios):
                found[int(lead)] = float(ratios[rank - 1])
        return found


def scale_by_lead(
    demand: pd.DataFrame, factors: Mapping[int, float], last: pd.Period
) -> pd.DataFrame:
    """``demand`` (a ``period`` and a ``demand`` column) with each period's demand
    multiplied by the factor of its lead after ``last``, the period of the history's last
    observation; a lead shorter or longer than any in ``factors`` takes the nearest.

    Examples
    --------
    >>> demand = pd.DataFrame({"period": ["2027Q1", "2027Q2", "2028Q4"], "demand": 100.0})
    >>> scale_by_lead(demand, {2: 1.5, 3: 2.0}, pd.Period("2026Q4", "Q"))["demand"].tolist()
    [150.0, 150.0, 200.0]
    """
    if not factors:
        return demand
    leads = np.array(sorted(factors))
    ahead = np.array([(pd.Period(p, last.freq) - last).n for p in demand["period"]])
    nearest = leads[np.abs(ahead[:, None] - leads[None, :]).argmin(axis=1)]
    return demand.assign(demand=demand["demand"] * np.array([factors[k] for k in nearest]))


def unit_period_prices(catalog: pd.DataFrame, perf: pd.DataFrame) -> dict[str, float]:
    """USD per reference unit-period of each workload: the cheapest ownership of one
    reference unit for one period among the orderable SKUs that serve it,
    ``(unit_price / lifetime + opex) / factor`` (capex straight-line over the service
    life, plus opex; energy left out). A valuation, not cash.

    Examples
    --------
    >>> catalog = pd.DataFrame({"sku": ["A", "B"], "unit_price": [40_000.0, 60_000.0],
    ...                         "lifetime": [20.0, 20.0], "opex": [0.0, 500.0]})
    >>> perf = pd.DataFrame({"sku": ["A", "B"], "workload": ["training"] * 2,
    ...                      "factor": [1.0, 2.0]})
    >>> unit_period_prices(catalog, perf)
    {'training': 1750.0}
    """
    rows = perf.merge(catalog, on="sku")
    rows = rows[rows["unit_price"].notna() & rows["lifetime"].gt(0) & rows["factor"].gt(0)]
    opex = rows["opex"].fillna(0.0) if "opex" in rows else 0.0
    per_unit = (rows["unit_price"] / rows["lifetime"] + opex) / rows["factor"]
    return {str(w): float(v) for w, v in per_unit.groupby(rows["workload"]).min().items()}


def actual_history(history: pd.DataFrame, period_freq: str) -> tuple[pd.DataFrame, pd.PeriodIndex]:
    """What happened, as one path (``unique_id, ds, path, value``) on the history's whole
    span, and the periods of ``period_freq`` that span covers from start to end.

    A series counts 0 before its first observation and after its last: a workload that
    had not started (or had ended) needed nothing. Steps are labelled by their start.

    Examples
    --------
    >>> history = pd.DataFrame({"unique_id": ["a", "a", "b"], "y": [1.0, 2.0, 5.0],
    ...                         "ds": pd.to_datetime(["2026-03-31", "2026-04-01", "2026-04-01"])})
    >>> history.attrs["freq"] = "D"
    >>> actual, periods = actual_history(history, "D")
    >>> actual["value"].tolist(), periods.astype(str).tolist()
    ([1.0, 2.0, 0.0, 5.0], ['2026-03-31', '2026-04-01'])
    """
    freq = history.attrs["freq"]
    steps = pd.date_range(history["ds"].min(), history["ds"].max(), freq=freq)
    uids = sorted(history["unique_id"].unique())
    grid = pd.MultiIndex.from_product([uids, steps], names=["unique_id", "ds"])
    values = history.set_index(["unique_id", "ds"])["y"].reindex(grid, fill_value=0.0)
    actual = values.rename("value").reset_index().assign(path=0)
    actual.attrs["freq"] = freq
    first, last = steps[0], steps[-1] + pd.tseries.frequencies.to_offset(freq)
    periods = pd.period_range(first, last, freq=period_freq)
    keep = (periods.start_time >= first) & (periods.end_time < last)
    return actual[["unique_id", "ds", "path", "value"]], periods[keep]


def requirement_backtest(
    history: pd.DataFrame,
    perf: pd.DataFrame,
    *,
    models: Sequence[str | Forecaster] = ("auto",),
    leads: Sequence[int] | None = None,
    catalog: pd.DataFrame | None = None,
    period_freq: str = "Q",
    service_level: float = 0.9,
    period_stat: PeriodStat = None,
    utilization_target: float | Mapping[str, float] = DEFAULT_UTILIZATION_TARGET,
    by_region: bool = False,
    forecast_freq: str | None = "W-MON",
    n_paths: int = 200,
    seed: int = 0,
    n_origins: int | None = None,
    progress: bool | None = None,
    say: Callable[[str], None] | None = None,
) -> RequirementBacktest:
    """Backtest the requirement the plan would be given, at the lead times it buys at.

    Parameters
    ----------
    history
        The history (``read_history``), with ``workload`` and ``sku`` (and ``region``
        with ``by_region``) for every series.
    perf
        ``sku, workload, factor`` (``perf.csv``).
    models
        Registry names or forecasters; each is backtested in turn.
    leads
        Periods between the origin and the period scored (2: the requirement of the
        second period after the last one observed). Default: the lead times of the
        orderable SKUs of ``catalog``.
    catalog
        ``catalog.csv``: lead times (the default ``leads``) and prices (the USD columns,
        :func:`unit_period_prices`); without it, ``leads`` is needed and no USD is shown.
    period_freq
        The planning period (``Q``, the ``period_freq`` of ``options.yaml``).
    service_level, period_stat, utilization_target, by_region
        As in :func:`~capforecast.requirement.requirement`.
    forecast_freq
        The history is averaged to this frequency first, as the quarterly plan does
        (weekly by default; ``None`` keeps its own).
    n_paths, seed
        Sample paths per series and their seed (:func:`~capforecast.forecast.sample_paths`).
    n_origins
        Keep only the latest origins (default: every complete period with a scorable
        lead after it).
    progress
        A bar of origins done (``None``: on a terminal or in Jupyter).
    say
        Called with a line of news before each model.

    Raises
    ------
    ParameterError
        No leads, a lead below 1, or a history too short for any origin and lead.
    """
    if not 0 < service_level < 1:
        raise ParameterError(f"'service_level' must be in (0, 1); got {service_level}.")
    leads = _leads(leads, catalog)
    prices = unit_period_prices(catalog, perf) if catalog is not None else None
    if forecast_freq is not None and forecast_freq != history.attrs.get("freq"):
        history = resample_history(history, forecast_freq)
    freq = history.attrs["freq"]
    actual, periods = actual_history(history, period_freq)
    plans = [
        (origin, [p for p in (origin + lead for lead in leads) if p in periods])
        for origin in periods
    ]
    plans = [(origin, targets) for origin, targets in plans if targets]
    if n_origins is not None:
        plans = plans[-n_origins:]
    if not plans:
        raise ParameterError(
            f"The history covers {len(periods)} complete periods of {period_freq}; a lead of "
            f"{min(leads)} needs at least {min(leads) + 1} (one to learn from, one to score)."
        )
    carried = [c for c in (*HISTORY_ATTRIBUTES, "statistic") if c in history]
    attributes = history[["unique_id", *carried]]
    reduced = partial(
        requirement_paths,
        attributes=attributes,
        perf=perf,
        period_stat=period_stat,
        utilization_target=utilization_target,
        by_region=by_region,
    )
    groups, realised = reduced(actual, periods=periods)  # [group, the one path, period]
    keys = list(groups.itertuples(index=False, name=None))
    found = []
    for model in models:
        name = model if isinstance(model, str) else model.name
        if say is not None:
            say(f"Backtesting the requirement of {name} from {len(plans)} origins")
        fallbacks: list[tuple[str, Fallback]] = []
        with bar(len(plans), f"requirement backtest ({name})", progress) as shown:
            for origin, targets in plans:
                target = pd.PeriodIndex(targets)
                past = history[
                    history["ds"] + pd.tseries.frequencies.to_offset(freq)
                    <= origin.end_time + pd.Timedelta(1, "ns")
                ]
                horizon = steps_until(past["ds"].max(), target[-1], freq)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ForecastWarning)  # summed up below
                    paths = sample_paths(
                        past,
                        horizon,
                        model=model,
                        n_paths=n_paths,
                        seed=seed,
                        freq=freq,
                        progress=False,
                    )
                fallbacks += [(str(origin), f) for f in paths.attrs["fallbacks"]]
                forecast_groups, predicted = reduced(paths, periods=target)
                # A workload none of whose series had started by the origin: nothing
                # forecast.
                forecast = np.zeros((len(groups), len(target)))
                rows = [keys.index(k) for k in forecast_groups.itertuples(index=False, name=None)]
                forecast[rows] = np.quantile(predicted, service_level, axis=1)
                found.append(
                    _scored(
                        groups,
                        target,
                        origin,
                        forecast,
                        realised[:, 0, periods.get_indexer(target)],
                        service_level,
                        prices,
                    ).assign(model=name)
                )
                shown.update(1)
        _report(name, fallbacks)
    windows = pd.concat(found, ignore_index=True)
    first = ["model", "origin", "lead", "period", *groups.columns]
    windows = windows[first + [c for c in windows.columns if c not in first]]
    return RequirementBacktest(windows, _summary(windows), service_level)


def _report(model: str, fallbacks: list[tuple[str, Fallback]]) -> None:
    """One warning per model for the fits that fell back, over every origin."""
    if not fallbacks:
        return
    origin, first = fallbacks[0]
    at = sorted({o for o, _ in fallbacks})
    warnings.warn(
        f"{model}: {len(fallbacks)} fits, at the origins {', '.join(at)}, failed and used "
        f"the seasonal naive fallback (at {origin}, '{clipped(first.unique_id)}': "
        f"{clipped(first.reason, 200)})",
        ForecastWarning,
        stacklevel=3,
    )


def _leads(leads: Sequence[int] | None, catalog: pd.DataFrame | None) -> list[int]:
    if leads is None:
        if catalog is None:
            raise ParameterError(
                "Give the leads to score, or a catalog whose lead times imply them."
            )
        leads = sorted({int(v) for v in catalog["lead_time"].dropna()})
    leads = sorted(set(int(v) for v in leads))
    if not leads or leads[0] < 1:
        raise ParameterError(f"Leads are periods after the origin, at least 1; got {leads}.")
    return leads


def _scored(
    groups: pd.DataFrame,
    periods: pd.PeriodIndex,
    origin: pd.Period,
    forecast: np.ndarray,
    realised: np.ndarray,
    service_level: float,
    prices: dict[str, float] | None,
) -> pd.DataFrame:
    """One row per group and period: ``[group, period]`` forecast and realised scored."""
    table = groups.loc[groups.index.repeat(len(periods))].reset_index(drop=True)
    f, r = forecast.ravel(), realised.ravel()
    over, under = np.clip(f - r, 0, None), np.clip(r - f, 0, None)
    table = table.assign(
        origin=str(origin),
        period=np.tile(periods.astype(str), len(groups)),
        lead=np.tile([(p - origin).n for p in periods], len(groups)),
        forecast=f,
        realised=r,
        # Covered up to rounding: sums of the same numbers in another order must not
        # count as a miss.
        covered=r <= f + 1e-9 * np.maximum(1.0, np.abs(f)),
        pinball=service_level * under + (1 - service_level) * over,
        over=over,
        under=under,
    )
    if prices is not None:
        price = table["workload"].map(prices).to_numpy(dtype=float)
        table = table.assign(over_usd=over * price, under_usd=under * price)
    return table


def _summary(windows: pd.DataFrame) -> pd.DataFrame:
    aggregations = {
        "windows": ("covered", "size"),
        "coverage": ("covered", "mean"),
        "pinball": ("pinball", "mean"),
        "over": ("over", "sum"),
        "under": ("under", "sum"),
    }
    if "over_usd" in windows:
        aggregations |= {"over_usd": ("over_usd", "sum"), "under_usd": ("under_usd", "sum")}
    summary = windows.groupby(["model", "lead"], sort=False).agg(**aggregations).reset_index()
    if "over_usd" in summary:
        summary["cost_usd"] = summary["over_usd"] + summary["under_usd"]
    return summary
