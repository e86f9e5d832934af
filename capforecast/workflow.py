"""The quarterly plan end to end: history -> forecast paths -> requirement -> plan.

This chains the stages of docs/concepts.md as plain function calls. It writes the derived
planning inputs next to the plan, so that ``capforecast plan OUT/inputs`` reproduces the
solve from files alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from capforecast.core.errors import InputError, ParameterError, Problem
from capforecast.core.history import resample_history
from capforecast.core.io import write_bytes_atomic, write_table
from capforecast.core.limits import LIMITS, check
from capforecast.core.periods import steps_until
from capforecast.core.schemas import HISTORY_ATTRIBUTES
from capforecast.forecast.engine import sample_paths
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs
from capforecast.plan.options import FILE as OPTIONS_FILE
from capforecast.plan.result import Plan
from capforecast.plan.solve import solve
from capforecast.requirement.aggregate import (
    DEFAULT_UTILIZATION_TARGET,
    PeriodStat,
    regions_of,
    requirement,
    requirement_scenarios,
)
from capforecast.requirement.backtest import requirement_backtest, scale_by_lead

Progress = Callable[[str], None]


@dataclass(frozen=True)
class QuarterlyPlan:
    """What :func:`quarterly_plan` produced."""

    demand: pd.DataFrame
    inputs: PlanningInputs
    plan: Plan
    inputs_dir: Path


def quarterly_plan(
    history: pd.DataFrame,
    planning_dir: str | Path,
    out_dir: str | Path,
    *,
    model: str = "ets",
    forecast_freq: str | None = "W-MON",
    n_paths: int = 200,
    seed: int = 0,
    service_level: float = 0.9,
    period_stat: PeriodStat = None,
    utilization_target: float = DEFAULT_UTILIZATION_TARGET,
    n_scenarios: int | None = None,
    calibrate: bool = False,
    progress: Progress | None = None,
) -> QuarterlyPlan:
    """Forecast ``history``, derive the requirement and solve the plan.

    The history is first averaged to ``forecast_freq`` (weekly by default: the plan needs
    quarterly levels, and weekly series forecast years ahead far faster than daily ones;
    ``None`` keeps the history's own frequency).
    The planning inputs of ``planning_dir`` are used as they are, except ``demand.csv``,
    which is replaced by the requirement at ``service_level`` over the periods of the
    original ``demand.csv``. With ``n_scenarios``, the plan is stochastic instead: the
    paths are reduced to that many weighted demand scenarios (``requirement_scenarios``,
    written as ``demand.csv`` and ``scenarios.csv``) and ``service_level`` is not used.
    The requirement is divided by ``utilization_target``
    (:data:`~capforecast.requirement.DEFAULT_UTILIZATION_TARGET`, 0.85, by default).
    With ``calibrate``, the requirement is first backtested at the catalog's lead times
    and each period's P-level is scaled by the factor that would have covered the
    service level in the past (see :func:`forecast_requirement`).
    Inputs are copied to ``out_dir/inputs``; the plan is written to ``out_dir``.

    When the sites of ``planning_dir`` have regions (``sites.csv`` column ``region``),
    the demand is derived per workload and region (``demand.csv`` gets a ``region``
    column); the history must then give every series a region that some site is in.
    Without site regions, a history's regions are summed over.

    Raises
    ------
    InputError
        The sites have regions but the history has none, or the history has a series
        without a region or a region no site is in; raised before any forecasting.
    """
    planning_dir, out_dir = Path(planning_dir), Path(out_dir)
    template = read_planning_inputs(planning_dir)
    demand, scenarios = forecast_requirement(
        history,
        template,
        model=model,
        forecast_freq=forecast_freq,
        n_paths=n_paths,
        seed=seed,
        service_level=service_level,
        period_stat=period_stat,
        utilization_target=utilization_target,
        n_scenarios=n_scenarios,
        calibrate=calibrate,
        progress=progress,
    )
    inputs_dir = out_dir / "inputs"
    _copy_inputs(planning_dir, inputs_dir)
    if scenarios is not None:
        write_table(scenarios, inputs_dir / "scenarios.csv", exact=True)
    write_table(demand, inputs_dir / "demand.csv", exact=True)
    inputs = read_planning_inputs(inputs_dir)
    say = progress or (lambda message: None)
    say(f"Solving the plan with {inputs.options.solver}")
    plan = solve(inputs)
    plan.write(out_dir)
    return QuarterlyPlan(demand, inputs, plan, inputs_dir)


def forecast_requirement(
    history: pd.DataFrame,
    template: PlanningInputs,
    *,
    model: str = "ets",
    forecast_freq: str | None = "W-MON",
    n_paths: int = 200,
    seed: int = 0,
    service_level: float = 0.9,
    period_stat: PeriodStat = None,
    utilization_target: float = DEFAULT_UTILIZATION_TARGET,
    n_scenarios: int | None = None,
    calibrate: bool = False,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``demand.csv`` table (and, with ``n_scenarios``, ``scenarios.csv``) for the
    periods of ``template``, from sample paths of ``history`` (see :func:`quarterly_plan`).

    The demand is by region (``workload, region, period, demand``) when the history has
    regions and the sites of ``template`` have regions too (see :func:`demand_by_region`,
    which checks the two agree before any forecasting).

    With ``calibrate``, the requirement is calibrated at the lead time: it is backtested
    from the end of every past period at the lead times of the catalog
    (:func:`~capforecast.requirement.backtest.requirement_backtest`, same model, paths and
    seed), and each period's demand is multiplied by the factor that would have covered
    the service level of what came at its lead
    (:meth:`~capforecast.requirement.backtest.RequirementBacktest.factors`; leads beyond
    the catalog's take the nearest). Not with ``n_scenarios``.
    """
    say = progress or (lambda message: None)
    if n_scenarios is not None:
        check("demand scenarios", n_scenarios, LIMITS.demand_scenarios)
        if calibrate:
            raise ParameterError(
                "Calibration at the lead time scales the requirement at a service level; "
                "it does not apply to demand scenarios (n_scenarios)."
            )
    by_region = demand_by_region(history, template.sites)
    periods = template.periods
    last_period = pd.Period(pd.Timestamp(history["ds"].max()), periods.freq)
    if forecast_freq is not None and forecast_freq != history.attrs.get("freq"):
        history = resample_history(history, forecast_freq)
    freq = history.attrs["freq"]
    last = pd.Timestamp(history["ds"].max())
    horizon = steps_until(last, periods[-1], freq)
    series = history["unique_id"].nunique()
    say(f"Simulating {n_paths} paths of {series} series, {horizon} steps ahead ({model})")
    paths = sample_paths(history, horizon, model=model, n_paths=n_paths, seed=seed, freq=freq)
    carried = [c for c in (*HISTORY_ATTRIBUTES, "statistic") if c in history]
    attributes = history[["unique_id", *carried]]
    scenarios = None
    if n_scenarios is None:
        say(f"Deriving the requirement at P{round(service_level * 100)} for {len(periods)} periods")
        demand = requirement(
            paths,
            attributes,
            template.perf,
            periods,
            service_level=service_level,
            period_stat=period_stat,
            utilization_target=utilization_target,
            by_region=by_region,
        )
    else:
        say(f"Reducing {n_paths} paths to {n_scenarios} demand scenarios")
        demand, scenarios = requirement_scenarios(
            paths,
            attributes,
            template.perf,
            periods,
            n_scenarios=n_scenarios,
            period_stat=period_stat,
            utilization_target=utilization_target,
            by_region=by_region,
        )
    if calibrate:
        say(
            f"Backtesting the P{round(service_level * 100)} requirement at the catalog's lead times"
        )
        found = requirement_backtest(
            history,  # already at forecast_freq: not resampled again
            template.perf,
            models=[model],
            catalog=template.catalog,
            period_freq=template.options.period_freq,
            service_level=service_level,
            period_stat=period_stat,
            utilization_target=utilization_target,
            by_region=by_region,
            forecast_freq=forecast_freq,
            n_paths=n_paths,
            seed=seed,
            progress=False,
        )
        factors = found.factors(model)
        shown = ", ".join(f"{lead} ahead x{factor:.2f}" for lead, factor in factors.items())
        say(f"Scaling the requirement by lead: {shown or 'no lead had enough windows'}")
        demand = scale_by_lead(demand, factors, last_period)
    demand = demand.assign(period=demand["period"].astype(str), demand=demand["demand"].round(3))
    return demand, scenarios


def demand_by_region(history: pd.DataFrame, sites: pd.DataFrame) -> bool:
    """Whether the demand of ``history`` is to be planned by region on ``sites``.

    It is when both have regions (a ``region`` column with values). The history's
    regions must then all be regions of some site, and every series needs one. A
    history with regions on sites without any is summed over regions (``False``).

    Raises
    ------
    InputError
        The sites have regions but the history has none; a series has no region; a
        region of the history has no site. Checked on the history alone, so it is cheap
        and can run before forecasting.

    Examples
    --------
    >>> history = pd.DataFrame({"unique_id": ["a", "b"], "region": ["us", "apac"]})
    >>> demand_by_region(history, pd.DataFrame({"site": ["texas"]}))
    False
    >>> demand_by_region(history, pd.DataFrame({"site": ["texas"], "region": ["us"]}))
    Traceback (most recent call last):
    ...
    capforecast.core.errors.InputError: 1 problem in the input:
      history, column 'region': region 'apac' (1 series) has no site; sites.csv has sites
      in region 'us' only...
    """
    site_regions = regions_of(sites)
    if not site_regions:
        return False
    have = ", ".join(f"'{r}'" for r in site_regions)
    if not regions_of(history):
        raise InputError(
            [
                Problem(
                    "history",
                    None,
                    "region",
                    f"sites.csv puts sites in regions {have}, so demand is planned by "
                    "region, but the history has no region; add a 'region' column (one of "
                    "those) to every series, or remove the regions from sites.csv",
                )
            ]
        )
    series = history.drop_duplicates("unique_id")
    region = series["region"].astype("string").str.strip()
    problems = []
    blank = series.loc[region.isna() | (region == ""), "unique_id"].astype(str).tolist()
    if blank:
        shown = ", ".join(f"'{u}'" for u in blank[:5]) + (" ..." if len(blank) > 5 else "")
        problems.append(
            Problem(
                "history",
                None,
                "region",
                f"{len(blank)} series have no region ({shown}), but sites.csv puts sites in "
                f"regions {have}, so every series needs one",
            )
        )
    counts = region[~region.isin(site_regions) & region.notna() & (region != "")].value_counts()
    where = f"sites in region {have} only" if len(site_regions) == 1 else f"sites in regions {have}"
    for name, count in sorted(counts.items()):
        problems.append(
            Problem(
                "history",
                None,
                "region",
                f"region '{name}' ({count} series) has no site; sites.csv has {where}. "
                "Add a site in that region to sites.csv or correct the history's region",
            )
        )
    if problems:
        raise InputError(problems)
    return True


def _copy_inputs(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        keep = path.suffix == ".csv" or path.name == OPTIONS_FILE
        if keep and path.name not in ("demand.csv", "scenarios.csv"):
            write_bytes_atomic(target / path.name, path.read_bytes())
