"""capforecast: capacity planning for ML accelerator fleets.

History -> forecast -> requirement -> plan, each a plain function over validated tables::

    import capforecast as cf

    history = cf.resample_history(cf.read_history("history.csv"), "W-MON")
    inputs = cf.read_planning_inputs("planning/")
    paths = cf.sample_paths(history, horizon=162, n_paths=200, seed=0)
    demand = cf.requirement(paths, history, inputs.perf, inputs.periods)
    plan = cf.solve(inputs.with_demand(demand)).raise_for_status()

``capforecast.workflow.quarterly_plan`` chains the same calls and writes the outputs.
"""

from capforecast.core.errors import (
    CapforecastError,
    FitError,
    InputError,
    NotFittedError,
    Problem,
    SolverError,
)
from capforecast.core.history import read_history, resample_history
from capforecast.forecast import ETS, SeasonalNaive, forecast, sample_paths
from capforecast.plan import (
    Plan,
    PlanningInputs,
    PlanOptions,
    PlanStatus,
    planning_inputs,
    read_planning_inputs,
    solve,
)
from capforecast.requirement import requirement, requirement_scenarios

__version__ = "0.1.0"

__all__ = [
    "ETS",
    "CapforecastError",
    "FitError",
    "InputError",
    "NotFittedError",
    "Plan",
    "PlanOptions",
    "PlanStatus",
    "PlanningInputs",
    "Problem",
    "SeasonalNaive",
    "SolverError",
    "forecast",
    "planning_inputs",
    "read_history",
    "read_planning_inputs",
    "requirement",
    "requirement_scenarios",
    "resample_history",
    "sample_paths",
    "solve",
]
