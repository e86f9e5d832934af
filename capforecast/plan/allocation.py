"""The stable allocation: one documented choice among the allocations that cost the same.

A plan's orders (and retirements, cluster placements, service-level binaries) usually
leave many allocations of the installed units at the same cost: which idle H100 serves
which workload, or which of two workloads with the same penalty is left short. A solver
returns any one of them, and a change elsewhere (a budget that does not alter the orders)
may return another. So after the solve, with every integer decision fixed, one LP
minimises the plan's cost plus two small tie-breaking terms (docs/model.md §6.14):

- ``SHARE_WEIGHT`` USD per unit of ``z_{t,ω}``, the largest share of demand left unmet in
  period ``t`` and scenario ``ω`` (``u_{w,g,t,ω} <= z_{t,ω} D_{w,g,t,ω}``): among equally cheap
  allocations, shortfall is spread in proportion to demand;
- ``UNIT_WEIGHT`` USD per unit allocated, ``Σ x``: no unit is reported serving demand
  that is already met.

The weights are far below any cost a plan trades (a share is at most 1, so the cost can
rise by at most ``SHARE_WEIGHT`` per period and scenario plus ``UNIT_WEIGHT`` per unit
allocated, a fraction of a cent) and above HiGHS's optimality tolerance (1e-7), so they
choose only among allocations that cost the same. The LP depends only on the fixed
decisions and the second-stage data, and HiGHS is deterministic: a change that does not
alter those decisions reports the same allocation and shortfall.
"""

from __future__ import annotations

import numpy as np

from capforecast.plan.model import PlanModel
from capforecast.plan.program import Rows
from capforecast.plan.solvers import get_solver
from capforecast.plan.status import PlanStatus

#: USD per unit of the largest shortfall share of a period and scenario.
SHARE_WEIGHT = 1e-3

#: USD per accelerator allocated.
UNIT_WEIGHT = 1e-5


def stable_allocation(
    model: PlanModel, values: np.ndarray, time_limit_s: float
) -> tuple[np.ndarray, str | None]:
    """``values`` (a solution of ``model``) with the allocation, rent and shortfall of the
    LP above (solved by HiGHS, whatever the plan's solver), and ``None``; or ``values``
    unchanged and why, when the LP does not solve to optimality within ``time_limit_s``."""
    program = model.program.copy()
    integer = program.integer
    program.lower[integer] = program.upper[integer] = np.rint(values[integer])
    program.integer = np.zeros_like(integer)
    cost = program.cost.copy()
    unmet = model.unmet
    demand = model.data.demand[tuple(unmet.index[axis] for axis in "wgto")]
    short = demand > 0
    # z_{t,ω} >= u_{w,g,t,ω} / D_{w,g,t,ω} for every cell with demand.
    t, o = unmet.index["t"][short], unmet.index["o"][short]
    cells, cell = np.unique(np.stack([t, o], axis=1), axis=0, return_inverse=True)
    share = program.add_columns("stable_share", "to", cells.reshape(-1, 2))
    size = int(short.sum())
    rows = Rows(
        np.zeros((size, 0), dtype=np.int64),
        np.full(size, 2),
        np.stack([unmet.columns[short], share[cell.ravel()]], axis=1).ravel(),
        np.stack([np.ones(size), -demand[short]], axis=1).ravel(),
    )
    program.add_rows("stable_share", "", rows, lower=np.full(size, -np.inf), upper=np.zeros(size))
    serve = model.serve.columns
    program.set_objective(
        np.r_[np.arange(len(cost)), share, serve],
        np.r_[cost, np.full(len(share), SHARE_WEIGHT), np.full(len(serve), UNIT_WEIGHT)],
        program.offset,
    )
    outcome = get_solver("highs").solve(program, mip_gap=0.0, time_limit_s=time_limit_s)
    if outcome.values is None or outcome.status is not PlanStatus.OPTIMAL:
        return values, (
            f"[stable_allocation] the tie-breaking LP ended '{outcome.status}': the "
            "allocation is the solver's own, one of several that cost the same"
        )
    return outcome.values[: len(values)], None
