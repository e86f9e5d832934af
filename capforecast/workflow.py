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

from capforecast.core.history import resample_history
from capforecast.core.io import write_bytes_atomic, write_table
from capforecast.core.limits import LIMITS, check
from capforecast.core.schemas import HISTORY_ATTRIBUTES
from capforecast.forecast.engine import sample_paths
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs
from capforecast.plan.options import FILE as OPTIONS_FILE
from capforecast.plan.result import Plan
from capforecast.plan.solve import solve
from capforecast.requirement.aggregate import PeriodStat, requirement, requirement_scenarios

Progress = Callable[[str], None]


@dataclass(frozen=True)
class QuarterlyPlan:
    """What :func:`quarterly_plan` produced."""

    demand: pd.DataFrame
    inputs: PlanningInputs
    plan: Plan
    inputs_dir: Path


def steps_until(last: pd.Timestamp, period: pd.Period, freq: str) -> int:
    """Steps of ``freq`` after ``last`` needed to reach the end of ``period``.

    Examples
    --------
    >>> steps_until(pd.Timestamp("2026-11-29"), pd.Period("2026Q4", "Q"), "D")
    32
    """
    end = period.end_time.normalize()
    return max(0, len(pd.date_range(last, end, freq=freq)) - 1)


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
    period_stat: PeriodStat = "mean",
    utilization_target: float = 0.85,
    n_scenarios: int | None = None,
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
    Inputs are copied to ``out_dir/inputs``; the plan is written to ``out_dir``.
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
    period_stat: PeriodStat = "mean",
    utilization_target: float = 0.85,
    n_scenarios: int | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``demand.csv`` table (and, with ``n_scenarios``, ``scenarios.csv``) for the
    periods of ``template``, from sample paths of ``history`` (see :func:`quarterly_plan`)."""
    say = progress or (lambda message: None)
    if n_scenarios is not None:
        check("demand scenarios", n_scenarios, LIMITS.demand_scenarios)
    periods = template.periods
    if forecast_freq is not None and forecast_freq != history.attrs.get("freq"):
        history = resample_history(history, forecast_freq)
    freq = history.attrs["freq"]
    last = pd.Timestamp(history["ds"].max())
    horizon = steps_until(last, periods[-1], freq)
    series = history["unique_id"].nunique()
    say(f"Simulating {n_paths} paths of {series} series, {horizon} steps ahead ({model})")
    paths = sample_paths(history, horizon, model=model, n_paths=n_paths, seed=seed, freq=freq)
    attributes = history[["unique_id", *[c for c in HISTORY_ATTRIBUTES if c in history]]]
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
        )
    demand = demand.assign(period=demand["period"].astype(str), demand=demand["demand"].round(3))
    return demand, scenarios


def _copy_inputs(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        keep = path.suffix == ".csv" or path.name == OPTIONS_FILE
        if keep and path.name not in ("demand.csv", "scenarios.csv"):
            write_bytes_atomic(target / path.name, path.read_bytes())
