"""Why the plan is what it is: shadow prices of the binding constraints, in words.

A MILP has no duals. As is standard, and labelled as such wherever it is shown, the
integer decisions of the solved plan (orders, and service-level binaries) are fixed at
their values and the remaining LP is re-solved. Its duals are the marginal values of the
constraints that hold continuous decisions *given those orders*: one more unit of demand
(``demand``), one more installed accelerator (``split``). Early retirements are told
first, with what they save and free.

Constraints on orders alone (``power``, ``slots``, ``budget``, ``supply``) have a zero
dual once every order is fixed, which says nothing. For them a second LP keeps the plan's
orders as a floor and lets orders grow continuously above it: its duals are what one more
kW, dollar, slot or vendor unit would save if the plan could order a fraction of a lot
more. A limit that shapes the mix of orders (a vendor's share, the analyst's own rules)
can only be valued if orders may also shrink: a third LP frees the orders (continuous,
from 0) with the other integer decisions fixed. All are first-order values, not
re-optimised plans.

A shadow price is ``d(objective) / d(right-hand side)``: negative for a binding limit
(more of it lowers the cost), positive for demand. The objective is the expected
discounted cost, or under ``risk: cvar`` the risk-adjusted cost ``(1 − w) E[C] + w CVaR``,
and the sentences say which.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from capforecast.plan.data import ModelData
from capforecast.plan.model import LABEL_COLUMNS, PlanModel, row_labels
from capforecast.plan.program import Program
from capforecast.plan.result import Plan
from capforecast.plan.solvers import get_solver

#: How each family's shadow prices were obtained, as shown next to them.
FIXED = "LP re-solved with integer decisions fixed"
FLOOR = "LP re-solved with the plan's orders as a floor, extra orders fractional"
RELAXED = "LP re-solved with orders continuous, other integer decisions fixed"

#: Families explained: the unit of their right-hand side and the LP that prices them.
FAMILIES = {
    "power": ("kW", FLOOR),
    "budget": ("USD", FLOOR),
    "slots": ("accelerators", FLOOR),
    "supply": ("accelerators", FLOOR),
    "supply_min": ("accelerators", FLOOR),
    "vendor_max": ("USD", RELAXED),
    "vendor_min": ("USD", RELAXED),
    "offer_limit": ("reference units", FIXED),
    "split": ("accelerators", FIXED),
    "demand": ("reference units", FIXED),
}

#: A unit of a row's right-hand side, in the singular.
ONE = {"accelerators": "accelerator", "lots": "lot", "USD": "dollar", "units": "unit"}

#: Shadow prices smaller than this (USD per unit) are treated as zero.
TOLERANCE = 1e-6

#: Sentences per family, for the largest shadow prices.
PER_FAMILY = 3

_COLUMNS = ["family", *LABEL_COLUMNS, "unit", "slack", "shadow_price", "basis"]


def shadow_prices(model: PlanModel, values: np.ndarray) -> pd.DataFrame:
    """Shadow prices of the constraints with a non-zero dual, at the solution ``values``
    of ``model``, from the two LPs described above (HiGHS).

    Columns: ``family, sku, site, workload, period, scenario`` (empty where the family has
    no such axis), ``unit``, ``slack``, ``shadow_price`` (USD, discounted and expected,
    per unit of the right-hand side) and ``basis`` (which LP).
    """
    families = FAMILIES | {name: (rule.unit, RELAXED) for name, rule in model.rules.items()}
    program = model.program.copy()
    integer = program.integer
    program.lower[integer] = program.upper[integer] = np.rint(values[integer])
    program.integer = np.zeros_like(integer)
    frames = [_priced(model, program, FIXED, families)]
    program.upper[model.buy.columns] = np.inf  # the plan's orders stay as a floor
    frames.append(_priced(model, program, FLOOR, families))
    if any(basis == RELAXED and family in model.rows for family, (_, basis) in families.items()):
        buy = model.buy.columns  # orders free again, fractional
        program.lower[buy], program.upper[buy] = model.program.lower[buy], model.program.upper[buy]
        frames.append(_priced(model, program, RELAXED, families))
    table = pd.concat([f for f in frames if not f.empty] or frames, ignore_index=True)
    order = table["family"].map(list(families).index)
    return (
        table.assign(_order=order, _size=-table["shadow_price"].abs())
        .sort_values(["_order", "_size"], kind="stable")
        .drop(columns=["_order", "_size"])
        .reset_index(drop=True)
    )


def _priced(
    model: PlanModel, program: Program, basis: str, families: dict[str, tuple[str, str]]
) -> pd.DataFrame:
    """Solve the continuous ``program``; the rows of the families priced by ``basis``."""
    outcome = get_solver("highs").solve(program, mip_gap=0.0, time_limit_s=60.0)
    frames = []
    if outcome.duals is not None and outcome.activity is not None:
        for family, (unit, priced_by) in families.items():
            block = model.rows.get(family)
            if priced_by != basis or block is None:
                continue
            rows = block.positions
            price = outcome.duals[rows]
            # How far each row is from its limit (a row is either <= or >=).
            upper = program.row_upper[rows]
            activity = outcome.activity[rows]
            slack = np.where(
                np.isfinite(upper), upper - activity, activity - program.row_lower[rows]
            )
            table = row_labels(model, family).assign(
                family=family, unit=unit, slack=slack, shadow_price=price, basis=basis
            )
            frames.append(table[np.abs(price) > TOLERANCE])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
    return pd.concat(frames, ignore_index=True)[_COLUMNS]


def binding_summary(binding: pd.DataFrame) -> pd.DataFrame:
    """Binding constraints per family and period: how many, and the largest and summed
    magnitude of their shadow prices (per unit of each family's right-hand side)."""
    magnitude = binding.assign(magnitude=binding["shadow_price"].abs())
    return (
        magnitude.groupby(["family", "period"], sort=False)["magnitude"]
        .agg(binding="size", largest="max", total="sum")
        .reset_index()
    )


def explain(model: PlanModel, plan: Plan, values: np.ndarray) -> Plan:
    """``plan`` (solution ``values`` of ``model``) with its shadow prices (``binding``)
    and their ``explanations``; the budget's value is told as the shortfall of the
    workload with the most expected unmet demand."""
    started = time.perf_counter()
    binding = shadow_prices(model, values)
    short = plan.shortfall
    unmet = (short["unmet"] * short["probability"]).groupby(short["workload"]).sum()
    most = str(unmet.idxmax()) if not unmet.empty and unmet.max() > TOLERANCE else None
    penalty = dict(zip(model.data.workloads, model.data.penalty.tolist(), strict=True))
    said = (
        cluster_sentences(plan, model.data)
        + retirement_sentences(plan.retirements, model.data)
        + sentences(binding, penalty, most, cost=objective_name(model.data))
    )
    return replace(
        plan,
        binding=binding,
        explanations=tuple(said),
        explain_seconds=time.perf_counter() - started,
    )


def cluster_sentences(plan: Plan, data: ModelData) -> list[str]:
    """Where each training cluster is placed; for one that is not, the pool that came
    closest (the fewest units short: those it needs less the available units the plan
    installs there and the units the site's free power could take, in its busiest period),
    and, where the site has fleet of another SKU, how many of those units retiring would
    make room."""
    said = []
    clusters = data.clusters
    free = (
        (plan.power["cap_kw"] - plan.power["draw_kw"])
        .groupby([plan.power["site"], plan.power["period"].astype(str)])
        .sum()
    )
    installed = plan.capacity.groupby(
        [plan.capacity["sku"], plan.capacity["site"], plan.capacity["period"].astype(str)]
    )["units"].sum()
    for c, row in enumerate(plan.clusters.itertuples(index=False)):
        what = (
            f"Cluster {row.cluster} ({float(row.size):,.0f} reference units of "
            f"{row.workload}, {row.start}..{row.end})"
        )
        if bool(row.placed):
            said.append(f"{what} is placed whole on {int(row.units):,} {row.sku} at {row.site}.")
            continue
        pools = np.argwhere(clusters.pools[c])
        if len(pools) == 0:
            said.append(f"{what} was not placed: no pool may hold it (see the warnings).")
            continue
        periods = [str(p) for p in data.periods[clusters.active[c]]]
        best: tuple[float, int, int, str, float, float] | None = None
        for s, k in pools:
            sku, site, kw = data.skus[s], data.sites[k], float(data.facility_kw[s, k])
            # The pool's busiest period: where it is shortest of units (the first such).
            units = [
                data.availability[s] * float(installed.get((sku, site, when), 0.0))
                for when in periods
            ]
            # A SKU drawing no power is limited by slots and money only: no power shortage.
            lacking = [
                clusters.units[c, s] - have - max(float(free.get((site, when), 0.0)), 0.0) / kw
                if kw > 0
                else 0.0
                for have, when in zip(units, periods, strict=True)
            ]
            i = int(np.argmax(lacking))
            if best is None or lacking[i] < best[0]:
                best = (float(lacking[i]), int(s), int(k), periods[i], units[i], kw)
        assert best is not None
        short, s, k, when, have, kw = best
        sku, site, need = data.skus[s], data.sites[k], int(clusters.units[c, s])
        if short <= 0:
            said.append(
                f"{what} was not placed: {need:,} {sku} at {site} would fit in power, so "
                "slots, budget, supply or lead times kept it out, or placing it costs more "
                f"than its penalty of ${float(row.penalty):,.0f} (discounted, a valuation); "
                "the binding constraints below say which."
            )
            continue
        text = (
            f"{what} was not placed: no single pool it may use has room for it whole; the "
            f"closest, {site} with {have:,.0f} {sku} available in {when}, needs {need:,}: "
            f"{short:,.0f} more, {short * kw / 1000:,.2f} MW beyond what the plan leaves free"
        )
        fleet = plan.capacity[
            (plan.capacity["site"] == site)
            & (plan.capacity["period"].astype(str) == when)
            & (plan.capacity["existing_units"] > 0)
            & (plan.capacity["sku"] != sku)
        ]
        if not fleet.empty:
            old = fleet.sort_values("existing_units", ascending=False, kind="stable").iloc[0]
            old_kw = float(data.facility_kw[data.skus.index(str(old["sku"])), k])
            retire = int(np.ceil(short * kw / old_kw - 1e-9)) if old_kw > 0 else 0
            if 0 < retire <= float(old["existing_units"]):
                text += (
                    f"; retiring {retire:,} {old['sku']} at {site} by {when} would make room"
                    + ("" if data.early_retirement else " (early_retirement: true lets the plan)")
                )
        said.append(text + ".")
    return said


def retirement_sentences(retirements: pd.DataFrame, data: ModelData) -> list[str]:
    """What the largest early retirements (``PER_FAMILY`` of them, by units) save and
    free: energy and opex per period, and facility kW at their site."""
    said = []
    largest = retirements.sort_values("units", ascending=False, kind="stable")
    for row in largest.head(PER_FAMILY).itertuples(index=False):
        s, k = data.skus.index(str(row.sku)), data.sites.index(str(row.site))
        units = int(row.units)
        running = units * float(data.running_cost[s, k])
        freed = units * float(data.facility_kw[s, k])
        said.append(
            f"Retiring {units:,} {row.sku} at {row.site} in {row.period} (fleet.csv row "
            f"{row.fleet_row}) saves ${running:,.0f} of energy and opex per period, frees "
            f"{freed:,.0f} kW, and returns ${float(row.salvage):,.0f} of salvage."
        )
    return said


def objective_name(data: ModelData) -> str:
    """What the shadow prices are derivatives of: 'expected cost', or under ``risk: cvar``
    the 'risk-adjusted cost' that the plan minimises."""
    return "risk-adjusted cost" if data.cvar_weight > 0 else "expected cost"


def sentences(
    binding: pd.DataFrame,
    penalty: dict[str, float],
    short: str | None,
    *,
    cost: str = "expected cost",
) -> list[str]:
    """Plain-language statements of the largest shadow prices, ``PER_FAMILY`` per family.

    ``penalty`` is the shortfall penalty per workload and ``short`` the workload with the
    most expected unmet demand (``None`` when none is unmet): budget values are also told
    as the shortfall they would avoid. ``cost`` names the objective (:func:`objective_name`).
    """
    said = []
    for family, rows in binding.groupby("family", sort=False):
        for row in rows.head(PER_FAMILY).itertuples(index=False):
            said.append(_sentence(str(family), row, penalty, short, cost))
    return said


def _sentence(
    family: str, row: object, penalty: dict[str, float], short: str | None, cost: str
) -> str:
    price = float(row.shadow_price)  # type: ignore[attr-defined]
    saves = f"${-price:,.0f}"
    sku, site, period = row.sku, row.site, row.period  # type: ignore[attr-defined]
    workload, scenario, basis = row.workload, row.scenario, row.basis  # type: ignore[attr-defined]
    vendor, offer = row.vendor, row.offer  # type: ignore[attr-defined]
    if family == "power":
        return (
            f"One more MW at {site} in {period} would lower the {cost} by "
            f"${-price * 1000:,.0f} ({basis})."
        )
    if family == "budget":
        text = (
            f"The budget in {period} is binding: each extra $1M would lower the {cost} by "
            f"${-price * 1e6:,.0f}"
        )
        if short is not None and penalty.get(short, 0) > 0:
            avoided = -price * 1e6 / penalty[short]
            text += f", the penalty of {avoided:,.1f} reference unit-periods of {short} shortfall"
        return f"{text} ({basis})."
    if family == "slots":
        return (
            f"One more accelerator slot at {site} in {period} would lower the {cost} "
            f"by {saves} ({basis})."
        )
    if family == "supply":
        return (
            f"One more {sku} from the vendor in {period} would lower the {cost} by "
            f"{saves} ({basis})."
        )
    if family == "supply_min":
        return (
            f"The committed volume of {sku} in {period} binds: each unit committed costs "
            f"the {cost} ${price:,.0f} more than the plan would otherwise pay ({basis})."
        )
    if family in ("vendor_max", "vendor_min"):
        limit = "cap" if family == "vendor_max" else "floor"
        return (
            f"The share {limit} of vendor {vendor} binds: each $1M of room in it would "
            f"lower the {cost} by ${abs(price) * 1e6:,.0f} ({basis})."
        )
    if family == "offer_limit":
        return (
            f"Cloud offer {offer} is at its limit in {period}: one more reference unit "
            f"of it would lower the {cost} by {saves} ({basis})."
        )
    if family not in FAMILIES:  # the analyst's own rule
        when = f" in {period}" if period else ""
        unit = ONE.get(row.unit, row.unit)  # type: ignore[attr-defined]
        if unit == "dollar":  # told per $1M, as budgets are
            unit, price = "$1M", price * 1e6
        amount = f"${abs(price):,.0f}" if abs(price) >= 100 else f"${abs(price):,.2f}"
        if price < 0:
            return (
                f"Rule {family}{when}: each {unit} more of room in it would lower the {cost} "
                f"by {amount} ({basis})."
            )
        return (
            f"Rule {family}{when}: each {unit} more that it asks for adds {amount} to the "
            f"{cost} ({basis})."
        )
    if family == "split":
        return (
            f"One more {sku} installed at {site} in {period} would lower the {cost} "
            f"by {saves} in scenario {scenario} ({basis})."
        )
    region = f" in region {row.region}" if row.region else ""  # type: ignore[attr-defined]
    return (
        f"One more reference unit of {workload} demand{region} in {period} (scenario "
        f"{scenario}) would add ${price:,.0f} to the {cost} ({basis})."
    )
