"""Running scenarios: one, many in parallel (local processes or Dask), and sweeps.

A run reads the scenario's planning inputs, replaces their demand with a forecast of
the history when it names one, applies the scenario's changes and solves the plan.
Runs are independent pure functions of their scenario, so many of them go through the
same parallel map as forecasts (``capforecast.forecast.parallel``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from capforecast.core.errors import ParameterError
from capforecast.core.history import read_history
from capforecast.core.limits import LIMITS, check
from capforecast.forecast.parallel import map_series
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs, write_planning_inputs
from capforecast.plan.result import Plan
from capforecast.plan.solve import solve
from capforecast.scenario.apply import apply
from capforecast.scenario.spec import BudgetChange, ForecastSettings, Scenario
from capforecast.workflow import forecast_requirement


@dataclass(frozen=True)
class ScenarioRun:
    """A scenario, the inputs it planned from, and its plan."""

    scenario: Scenario
    inputs: PlanningInputs
    plan: Plan
    seconds: float

    @property
    def name(self) -> str:
        return self.scenario.name

    def write(self, directory: str | Path) -> None:
        """The plan (``capforecast plan`` layout) and, in ``inputs/``, the changed
        planning inputs it was solved from: ``capforecast plan DIR/inputs`` solves it again."""
        directory = Path(directory)
        self.plan.write(directory)
        write_planning_inputs(self.inputs, directory / "inputs")


def scenario_inputs(scenario: Scenario) -> PlanningInputs:
    """The planning inputs of ``scenario``: its folder, demand from its history's
    forecast when it names one, and its changes."""
    inputs = read_planning_inputs(scenario.inputs.planning)
    if scenario.inputs.history is not None:
        settings = scenario.forecast or ForecastSettings()
        demand, scenarios = forecast_requirement(
            read_history(scenario.inputs.history),
            inputs,
            model=settings.model,
            n_paths=settings.paths,
            seed=settings.seed,
            service_level=settings.service_level,
            utilization_target=settings.utilization_target,
            n_scenarios=settings.scenarios,
        )
        inputs = inputs.with_demand(demand, scenarios)
    return apply(scenario, inputs)


def run_scenario(scenario: Scenario) -> ScenarioRun:
    """Plan ``scenario`` (see the module docstring)."""
    started = time.perf_counter()
    inputs = scenario_inputs(scenario)
    plan = solve(inputs, progress=False)  # scenarios run side by side: one line each instead
    return ScenarioRun(scenario, inputs, plan, time.perf_counter() - started)


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    n_jobs: int | None = 1,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> list[ScenarioRun]:
    """Plan every scenario, in order: in this process (``n_jobs=1``), on local cores
    (``n_jobs`` processes, ``None`` for every core) or on a Dask ``client``."""
    check("scenarios in one run", len(scenarios), LIMITS.scenarios)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ParameterError(
            f"scenario names must differ; repeated: {repeated} (give each file its own name:)"
        )
    say = progress or (lambda message: None)
    where = "on Dask" if client is not None else f"with {n_jobs or 'every'} process(es)"
    say(f"Planning {len(scenarios)} scenarios {where}")
    runs = map_series(run_scenario, list(scenarios), n_jobs=n_jobs, client=client)
    for run in runs:
        say(f"{run.name}: {run.plan.status} in {run.seconds:.1f} s")
    return runs


def budget_sweep(scenario: Scenario, changes: Sequence[float]) -> list[Scenario]:
    """``scenario`` with its whole budget changed by each of ``changes`` (fractions,
    ``-0.4`` = 40% less), named ``<name> budget -40%``.

    Examples
    --------
    >>> base = Scenario.model_validate({"name": "base", "inputs": {"planning": "."}})
    >>> [s.name for s in budget_sweep(base, [-0.2, 0.0, 0.2])]
    ['base budget -20%', 'base budget +0%', 'base budget +20%']
    """
    return [
        scenario.model_copy(
            update={
                "name": f"{scenario.name} budget {change * 100:+g}%",
                "budget": [*scenario.budget, BudgetChange(change=change)],
            }
        )
        for change in changes
    ]


def sweep_values(low: float, high: float, steps: int) -> list[float]:
    """``steps`` evenly spaced values from ``low`` to ``high``, rounded to 1e-9."""
    check("steps of a sweep (scenarios in one run)", steps, LIMITS.scenarios)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ParameterError(f"a sweep runs between finite changes; got {low} to {high}")
    return [round(float(v), 9) for v in np.linspace(low, high, steps)]
