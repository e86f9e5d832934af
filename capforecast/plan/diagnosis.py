"""Why there is no plan: the smallest relaxation of each constraint family, in words.

When the model is infeasible (typically with ``shortfall: forbid``: demand must be met),
each family in turn is made elastic: every row of it gets a variable that lets it be
violated, and the model is re-solved minimising the total violation, with every other
constraint kept hard. The answer per family is either "relaxing it alone cannot help" or
the smallest total relaxation that makes everything else feasible, and where it is
needed. This elastic re-solve (Chinneck, *Feasibility and Infeasibility in Optimization*,
2008, ch. 8) names conflicts in the planner's units (MW, dollars, accelerators) rather
than as an irreducible set of rows, which for a planning model is a list of hundreds of
split and demand rows.
"""

from __future__ import annotations

import pandas as pd

from capforecast.plan.data import ModelData
from capforecast.plan.model import LABEL_COLUMNS, ConstraintHook, build_model, row_labels
from capforecast.plan.options import PlanOptions
from capforecast.plan.rules import RuleFunction
from capforecast.plan.solvers import get_solver
from capforecast.plan.status import PlanStatus

#: Families that may be relaxed, with the unit of their relaxation and how to say it.
RELAXABLE = {
    "demand": ("reference unit-periods", "unmet demand"),
    "budget": ("USD", "more budget"),
    "power": ("kW", "more power"),
    "slots": ("accelerators", "more slots"),
    "supply": ("accelerators", "more vendor supply"),
    "supply_min": ("accelerators", "smaller committed volumes"),
    "vendor_max": ("USD", "looser vendor share caps"),
    "vendor_min": ("USD", "looser vendor share floors"),
    "min_lots": ("lots", "smaller minimum orders"),
    "service_level": ("probability", "a lower service level"),
    "cluster": ("clusters", "training clusters left unplaced"),
}

#: Relaxations below this are solver noise.
NOISE = 1e-6

#: Places listed per family in a sentence.
SHOWN = 3

COLUMNS = ["family", *LABEL_COLUMNS, "unit", "relaxation"]


def diagnose(
    data: ModelData,
    options: PlanOptions,
    extra_constraints: ConstraintHook | None = None,
    rules: RuleFunction | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The smallest relaxation of each family that alone makes ``data`` (with the user's
    ``extra_constraints``, kept hard) feasible.

    Returns a table (``family, sku, site, workload, period, scenario, unit,
    relaxation``: one row per relaxed constraint) and one sentence per family.
    """
    backend = get_solver(options.solver)
    records: list[dict[str, object]] = []
    said = []
    enough = set()  # families whose relaxation alone gives a plan
    # The analyst's rules are families too (their names and units are known once built).
    own = build_model(data, extra_constraints, rules=rules).rules
    families = RELAXABLE | {name: (rule.unit, f"rule {name} relaxed") for name, rule in own.items()}
    for family, (unit, what) in families.items():
        model = build_model(data, extra_constraints, elastic=frozenset({family}), rules=rules)
        widen = model.relaxations.get(family)
        if widen is None or len(widen) == 0:
            continue  # the family has no rows in this model
        outcome = backend.solve(
            model.program, mip_gap=options.mip_gap, time_limit_s=options.time_limit_s
        )
        if not outcome.status.has_solution or outcome.values is None:
            said.append(f"{what.capitalize()} alone cannot make the plan feasible ({family}).")
            continue
        relaxation = outcome.values[widen]
        table = row_labels(model, family).assign(family=family, unit=unit, relaxation=relaxation)
        found = table[relaxation > NOISE][COLUMNS].to_dict("records")
        records.extend(found)
        enough.add(family)
        sentence = _sentence(family, unit, what, found)
        if outcome.status is not PlanStatus.OPTIMAL:
            sentence += " (The solve stopped at its time limit: a smaller one may exist.)"
        said.append(sentence)
    if "demand" in enough and not enough & {"budget", "power", "slots", "supply"}:
        said.append(
            "No single limit explains it: budget, power, slots and supply bind together "
            "(or orders cannot arrive in time), and the unmet demand above is what they "
            "leave uncovered."
        )
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    return table, said


def _sentence(family: str, unit: str, what: str, found: list[dict[str, object]]) -> str:
    if not found:
        return f"With {what} allowed the plan is feasible without using it ({family})."
    amounts = [float(str(row["relaxation"])) for row in found]
    total = sum(amounts)
    largest = sorted(range(len(found)), key=lambda i: -amounts[i])[:SHOWN]
    places = "; ".join(f"{_amount(amounts[i], unit)} {_where(found[i])}" for i in largest)
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return (
        f"It becomes feasible with {what}: {_amount(total, unit)} in all ({family}), "
        f"largest {places}{more}."
    )


def _amount(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value / 1e6:,.2f}M" if value >= 1e6 else f"${value:,.0f}"
    if unit == "kW":
        return f"{value / 1000:,.3f} MW" if value >= 1000 else f"{value:,.1f} kW"
    if unit == "probability":
        return f"{value:.1%}"
    if unit == "clusters":
        return f"{value:,.0f} cluster{'s' if round(value) != 1 else ''}"
    return f"{value:,.1f} {unit}"


def _where(row: dict[str, object]) -> str:
    parts = [
        str(row[c])
        for c in ("cluster", "vendor", "offer", "workload", "region", "sku", "site", "period")
        if row[c]
    ]
    scenario = f" (scenario {row['scenario']})" if row["scenario"] else ""
    return f"at {' '.join(parts)}{scenario}" if parts else scenario.strip()
