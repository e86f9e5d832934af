"""What knowing more about demand is worth: VSS and EVPI of a stochastic plan.

Three numbers, all expected discounted costs under the inputs' scenarios (Birge, "The
value of the stochastic solution in stochastic linear programs with fixed recourse",
Math. Program. 24, 1982; Birge & Louveaux, *Introduction to Stochastic Programming*,
§4.1):

- ``RP``, the recourse problem: the stochastic plan, orders shared by all scenarios.
- ``EEV``, the expected result of the mean-value plan: orders chosen for the
  probability-weighted mean demand, then each scenario served as well as those orders
  allow (allocation, rent and shortfall re-optimised per scenario).
- ``WS``, wait-and-see: each scenario planned as if it were known for certain, weighted
  by its probability.

``VSS = EEV - RP`` is what planning on scenarios saves over planning on the mean;
``EVPI = RP - WS`` is the most a perfect forecast could save. Both are >= 0 up to the
solver's gap; the MIP gaps are reported with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from capforecast.core.errors import SolverError
from capforecast.plan.data import ModelData
from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.model import fix_orders
from capforecast.plan.result import Plan
from capforecast.plan.solve import solve_data


@dataclass(frozen=True)
class InformationValue:
    """RP, EEV and WS (USD, discounted, expected) and the plans behind them."""

    recourse: Plan
    mean_value: Plan  # planned on the mean demand (one scenario)
    mean_value_evaluated: Plan  # its orders, evaluated on every scenario
    wait_and_see: tuple[Plan, ...]  # one per scenario, each planned knowing its demand
    probability: np.ndarray

    @property
    def rp(self) -> float:
        """Expected cost of the stochastic plan."""
        return _objective(self.recourse)

    @property
    def eev(self) -> float:
        """Expected cost of the mean-value plan's orders."""
        return _objective(self.mean_value_evaluated)

    @property
    def ws(self) -> float:
        """Expected cost with demand known in advance."""
        return float(self.probability @ [_objective(p) for p in self.wait_and_see])

    @property
    def vss(self) -> float:
        """Value of the stochastic solution, ``EEV - RP``."""
        return self.eev - self.rp

    @property
    def evpi(self) -> float:
        """Expected value of perfect information, ``RP - WS``."""
        return self.rp - self.ws

    @property
    def max_gap(self) -> float:
        """The largest relative MIP gap among the solves behind these numbers."""
        plans = [self.recourse, self.mean_value_evaluated, *self.wait_and_see]
        return max(p.gap or 0.0 for p in plans)

    def summary(self) -> dict[str, float]:
        """The five numbers and the largest gap, for reports."""
        return {
            "rp": self.rp,
            "eev": self.eev,
            "ws": self.ws,
            "vss": self.vss,
            "evpi": self.evpi,
            "max_gap": self.max_gap,
        }


def value_of_information(
    inputs: PlanningInputs, progress: Callable[[str], None] | None = None
) -> InformationValue:
    """Solve RP, the mean-value plan, EEV and WS for ``inputs`` (2 + 1 + one per
    scenario solves). Raises :class:`SolverError` when a solve finds no plan.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_inputs
    >>> value = value_of_information(sample_planning_inputs())
    >>> round(value.vss, 6), round(value.evpi, 6)  # one scenario: nothing to learn
    (0.0, 0.0)
    """
    say = progress or (lambda message: None)
    options = inputs.options
    data = ModelData.from_inputs(inputs)
    say(f"Solving the stochastic plan over {len(data.scenarios)} scenarios")
    recourse = solve_data(data, options).raise_for_status()
    mean = _certain(data, "mean", data.demand @ data.probability)
    say("Solving the plan for the mean demand")
    mean_value = solve_data(mean, options).raise_for_status()
    say("Evaluating the mean-demand orders on every scenario")
    # Every first-stage decision of the mean-value plan is kept: orders, retirements and
    # where clusters are placed.
    first_stage = fix_orders(mean_value.purchases, mean_value.retirements, mean_value.clusters)
    evaluated = solve_data(data, options, extra_constraints=first_stage)
    if not evaluated.has_solution:
        raise SolverError(
            "the orders planned for the mean demand violate a constraint in some scenario "
            f"({evaluated.status}): EEV is undefined"
        )
    wait_and_see = []
    for number, name in enumerate(data.scenarios):
        say(f"Solving scenario {name} with its demand known ({number + 1}/{len(data.scenarios)})")
        known = _certain(data, name, data.demand[..., number])
        wait_and_see.append(solve_data(known, options).raise_for_status())
    return InformationValue(recourse, mean_value, evaluated, tuple(wait_and_see), data.probability)


def _certain(data: ModelData, name: str, demand: np.ndarray) -> ModelData:
    """``data`` with one scenario, ``name``, of probability 1 and ``demand`` ``[w, g, t]``."""
    return replace(data, scenarios=[name], probability=np.ones(1), demand=demand[..., None])


def _objective(plan: Plan) -> float:
    assert plan.objective is not None
    return plan.objective
