"""Purchase planning: the mixed-integer program of docs/model.md."""

from capforecast.plan.inputs import PlanningInputs, planning_inputs, read_planning_inputs
from capforecast.plan.options import PlanOptions
from capforecast.plan.result import Plan
from capforecast.plan.solve import solve
from capforecast.plan.status import PlanStatus

__all__ = [
    "Plan",
    "PlanOptions",
    "PlanStatus",
    "PlanningInputs",
    "planning_inputs",
    "read_planning_inputs",
    "solve",
]
