"""Build, solve, read back: from validated inputs to a new :class:`Plan`."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from capforecast.core.progress import bar, wanted
from capforecast.plan.allocation import stable_allocation
from capforecast.plan.data import ModelData
from capforecast.plan.diagnosis import diagnose
from capforecast.plan.explain import explain
from capforecast.plan.highs import LISTENERS
from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.model import ConstraintHook, build_model
from capforecast.plan.options import PlanOptions
from capforecast.plan.readback import read_back
from capforecast.plan.result import Plan, usd
from capforecast.plan.rules import RuleFunction
from capforecast.plan.solvers import get_solver
from capforecast.plan.status import PlanStatus


def solve(
    inputs: PlanningInputs,
    *,
    rules: RuleFunction | None = None,
    extra_constraints: ConstraintHook | None = None,
    progress: bool | None = None,
) -> Plan:
    """Solve the planning model of docs/model.md for ``inputs``.

    Parameters
    ----------
    inputs
        Validated inputs from :func:`~capforecast.plan.inputs.read_planning_inputs`;
        they are not modified.
    rules
        Optional function that adds the analyst's own rules to a
        :class:`~capforecast.plan.rules.RuleModel` by label (docs/rules.md), after the
        rules of ``inputs.rules``:
        ``lambda m: m.add("b200", m.installed(sku="B200", periods="2028Q4") >= 500)``.
    extra_constraints
        Optional hook called with the built :class:`~capforecast.plan.model.PlanModel`
        to change its arrays (bounds, raw rows) before solving.
    progress
        A status line of the MIP search on standard error while HiGHS solves: the best
        plan's objective, the bound and the gap as they improve. ``None`` shows it on a
        terminal or in Jupyter, never when output goes to a file or pipe.

    Returns
    -------
    Plan
        Always a plan: check ``plan.status`` or call ``plan.raise_for_status()``.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_inputs
    >>> plan = solve(sample_planning_inputs())
    >>> plan.status
    <PlanStatus.OPTIMAL: 'optimal'>
    >>> bool((plan.spend["capex"] <= plan.spend["budget"] + 1e-6).all())
    True
    """
    started = time.perf_counter()
    data = ModelData.from_inputs(inputs)
    return solve_data(
        data,
        inputs.options,
        rules=rules,
        extra_constraints=extra_constraints,
        warnings=tuple(str(f) for f in inputs.findings),
        started=started,
        progress=progress,
    )


def solve_data(
    data: ModelData,
    options: PlanOptions,
    *,
    rules: RuleFunction | None = None,
    extra_constraints: ConstraintHook | None = None,
    warnings: tuple[str, ...] = (),
    started: float | None = None,
    progress: bool | None = False,
) -> Plan:
    """Build and solve the model for ``data`` (e.g. a variant of the inputs' data made with
    :func:`dataclasses.replace`); ``started`` is when building began, for the timings;
    ``progress`` as in :func:`solve`."""
    backend = get_solver(options.solver)
    started = time.perf_counter() if started is None else started
    model = build_model(data, extra_constraints, rules=rules)
    built = time.perf_counter()
    with _reporting(progress):
        outcome = backend.solve(
            model.program, mip_gap=options.mip_gap, time_limit_s=options.time_limit_s
        )
    if outcome.values is not None and outcome.status.has_solution:
        stable, why = stable_allocation(model, outcome.values, options.time_limit_s)
        outcome = replace(outcome, values=stable)
        warnings += (why,) if why else ()
    solved = time.perf_counter()
    plan = read_back(
        model,
        outcome,
        solver=backend.name,
        build_seconds=built - started,
        solve_seconds=solved - built,
        warnings=warnings,
    )
    if plan.status is PlanStatus.INFEASIBLE:
        relaxations, diagnosis = diagnose(data, options, extra_constraints, rules)
        return replace(
            plan,
            relaxations=relaxations,
            diagnosis=tuple(diagnosis),
            explain_seconds=time.perf_counter() - solved,
        )
    if plan.has_solution and options.explain and outcome.values is not None:
        return explain(model, plan, outcome.values)
    return plan


@contextmanager
def _reporting(show: bool | None) -> Iterator[None]:
    """While it lasts, a status line of each improvement of the HiGHS solve (the status
    shows the time elapsed)."""
    if not wanted(show):
        yield
        return
    with bar(None, "solving", True) as line:

        def report(best: float, bound: float | None) -> None:
            found = [f"best plan {usd(best)}" if math.isfinite(best) else "no plan yet"]
            if bound is not None:
                found.append(f"bound {usd(bound)}")
                if math.isfinite(best) and best != 0:
                    found.append(f"gap {(best - bound) / abs(best):.2%}")
            line.set_description_str(
                "HiGHS: " + ", ".join(found) + " (objective: USD, present value)"
            )

        LISTENERS.append(report)
        try:
            yield
        finally:
            LISTENERS.remove(report)
