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

The objective mixes cash with valuations (the penalty of unmet demand, the terminal value),
so each shadow price is split into the part that moves cash and the rest, exactly for the
LP it comes from: at the optimal basis ``B`` the duals are ``y = c_B B⁻¹``, and the cash
part is ``c_cash,B B⁻¹`` (one solve with the basis factors HiGHS already has). Under
``risk: cvar`` the objective is not a sum of the cost components: no split.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from capforecast.plan.data import ModelData
from capforecast.plan.highs import arrays
from capforecast.plan.highs_process import HighsError, HighsProblem
from capforecast.plan.model import LABEL_COLUMNS, PlanModel, row_labels
from capforecast.plan.program import Program
from capforecast.plan.result import Plan, cost_kind
from capforecast.plan.solvers import quiet_stdout

logger = logging.getLogger(__name__)

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

#: The kinds of cost that are not cash (:data:`~capforecast.plan.result.COST_KINDS`), as
#: ``valuation_of`` names them.
NOT_CASH = {"penalty": "penalty", "valuation": "terminal value", "rules": "rule costs"}

#: A part of a shadow price smaller than this share of the sum of its parts' magnitudes
#: goes unnamed ("all of it cash").
NEGLIGIBLE = 0.01

_COLUMNS = [
    "family",
    *LABEL_COLUMNS,
    "unit",
    "slack",
    "shadow_price",
    "cash",
    "valuation",
    "valuation_of",
    "basis",
]


def shadow_prices(model: PlanModel, values: np.ndarray) -> pd.DataFrame:
    """Shadow prices of the constraints with a non-zero dual, at the solution ``values``
    of ``model``, from the two LPs described above (HiGHS).

    Columns: ``family, sku, site, workload, period, scenario`` (empty where the family has
    no such axis), ``unit``, ``slack``, ``shadow_price`` (USD, discounted and expected,
    per unit of the right-hand side), its parts ``cash`` and ``valuation`` (their sum;
    NaN under ``risk: cvar``), ``valuation_of`` (the kinds of cost of weight in the
    valuation part: "penalty", "terminal value", "rule costs", joined by "and"; empty when
    there are none) and ``basis`` (which LP).
    """
    families = FAMILIES | {name: (rule.unit, RELAXED) for name, rule in model.rules.items()}
    relaxed = any(
        basis == RELAXED and family in model.rows for family, (_, basis) in families.items()
    )
    # Under CVaR the objective is not the sum of the cost components: no split.
    costs = kind_costs(model) if model.data.cvar_weight == 0 else {}
    frames = [
        _priced(model, program, basis, families, costs)
        for basis, program in lps(model, values, relaxed=relaxed).items()
    ]
    table = pd.concat([f for f in frames if not f.empty] or frames, ignore_index=True)
    order = table["family"].map(list(families).index)
    return (
        table.assign(_order=order, _size=-table["shadow_price"].abs())
        .sort_values(["_order", "_size"], kind="stable")
        .drop(columns=["_order", "_size"])
        .reset_index(drop=True)
    )


def lps(model: PlanModel, values: np.ndarray, *, relaxed: bool) -> dict[str, Program]:
    """The LPs that price the rows, by ``basis``: ``FIXED``, ``FLOOR`` and, if
    ``relaxed``, ``RELAXED`` (module docstring), at the solution ``values`` of ``model``."""
    fixed = model.program.copy()
    integer = fixed.integer
    fixed.lower[integer] = fixed.upper[integer] = np.rint(values[integer])
    fixed.integer = np.zeros_like(integer)
    floor = fixed.copy()
    buy = model.buy.columns
    floor.upper[buy] = np.inf  # the plan's orders stay as a floor
    programs = {FIXED: fixed, FLOOR: floor}
    if relaxed:  # orders free again, fractional
        programs[RELAXED] = free = fixed.copy()
        free.lower[buy], free.upper[buy] = model.program.lower[buy], model.program.upper[buy]
    return programs


def kind_costs(model: PlanModel) -> dict[str, np.ndarray]:
    """The objective's coefficients of each kind of cost (``cash``, ``valuation``,
    ``penalty``, ``rules``), second-stage ones weighted by probability: without CVaR they
    sum to the objective's coefficients."""
    data, size = model.data, model.program.num_columns
    costs: dict[str, np.ndarray] = {}
    for name, cost in model.costs.items():
        terms = cost.terms
        coef = terms.coef * data.probability[terms.keys["o"]] if cost.second else terms.coef
        part = np.bincount(terms.columns, weights=coef, minlength=size).astype(float)
        kind = cost_kind(name)
        costs[kind] = costs[kind] + part if kind in costs else part
    return costs


def _priced(
    model: PlanModel,
    program: Program,
    basis: str,
    families: dict[str, tuple[str, str]],
    costs: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Solve the continuous ``program``; the rows of the families priced by ``basis``,
    their shadow prices split by the kinds of cost ``costs`` (:func:`kind_costs`)."""
    solved = solve_lp(program, costs)
    frames = []
    if solved is not None:
        duals, activity, parts = solved
        for family, (unit, priced_by) in families.items():
            block = model.rows.get(family)
            if priced_by != basis or block is None:
                continue
            rows = block.positions
            price = duals[rows]
            # How far each row is from its limit (a row is either <= or >=).
            upper = program.row_upper[rows]
            slack = np.where(
                np.isfinite(upper), upper - activity[rows], activity[rows] - program.row_lower[rows]
            )
            cash = parts["cash"][rows] if parts else np.full(len(rows), np.nan)
            table = row_labels(model, family).assign(
                family=family,
                unit=unit,
                slack=slack,
                shadow_price=price,
                cash=cash,
                valuation=price - cash,
                valuation_of=_valuation_of({k: p[rows] for k, p in parts.items()}, len(rows)),
                basis=basis,
            )
            frames.append(table[np.abs(price) > TOLERANCE])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
    return pd.concat(frames, ignore_index=True)[_COLUMNS]


def solve_lp(
    program: Program, costs: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None:
    """The row duals and activities of the continuous ``program`` at its optimum (HiGHS),
    and each cost vector of ``costs`` priced at the optimal basis ``B``: the duals
    ``c_B B⁻¹`` the LP would have with that objective alone. ``None`` when the LP has no
    optimum; the parts are empty when ``costs`` is, or when they do not add up to HiGHS's
    own duals (then the basis is not the one the duals come from)."""
    import highspy

    try:
        with quiet_stdout():  # HiGHS's banner, printed from C++ when constructed
            problem = HighsProblem(arrays(program))
        phase = problem.run(relax=True, mip_gap=0.0, time_limit_s=60.0)
        if phase.status != highspy.HighsModelStatus.kOptimal:
            return None
        solution = problem.highs.getSolution()
        duals = np.asarray(solution.row_dual, dtype=float)
        parts = _at_basis(problem.highs, costs) if costs and program.num_rows else {}
    except HighsError:
        return None
    if parts:
        total = sum(parts.values())
        scale = max(1.0, float(np.abs(duals).max()))
        if not np.allclose(total, duals, rtol=1e-6, atol=1e-6 * scale):
            logger.warning("the basis does not give HiGHS's duals back: no cash split")
            parts = {}
    return duals, np.asarray(solution.row_value, dtype=float), parts


def _at_basis(highs: Any, costs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``c_B B⁻¹`` for each cost vector ``c`` of ``costs``, at ``highs``'s basis; empty
    when HiGHS refuses."""
    import highspy

    ok = highspy.HighsStatus.kOk
    # (Factors the basis if the run left none.) Position i of B holds column basic[i],
    # or the slack of row -basic[i] - 1, whose cost is 0.
    status, basic = highs.getBasicVariables()
    if status != ok:
        return {}
    basic = np.asarray(basic)
    parts = {}
    for kind, cost in costs.items():
        status, part = highs.getBasisTransposeSolve(
            np.where(basic >= 0, cost[np.maximum(basic, 0)], 0.0)
        )
        if status != ok:
            return {}
        parts[kind] = np.asarray(part, dtype=float)
    return parts


def _valuation_of(parts: dict[str, np.ndarray], size: int) -> list[str]:
    """For each row, the kinds of cost other than cash whose part of its shadow price is
    of weight (:data:`NEGLIGIBLE`), named and joined by "and"."""
    if not parts:
        return [""] * size
    weight = NEGLIGIBLE * sum(np.abs(p) for p in parts.values())
    named = [
        (name, np.abs(parts[kind]) > weight) for kind, name in NOT_CASH.items() if kind in parts
    ]
    return [" and ".join(name for name, big in named if big[i]) for i in range(size)]


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
    """The sentence of ``row``: what one more unit of its right-hand side is worth, which
    kinds of cost that moves (:func:`_split`), and which LP says so."""
    price = float(row.shadow_price)  # type: ignore[attr-defined]
    text, per = _value(family, row, price, cost)
    split = _split(row, per)
    after = ""
    if family == "budget" and short is not None and penalty.get(short, 0) > 0:
        if not split:  # (under CVaR: the whole value told as the shortfall it avoids)
            avoided = -price * 1e6 / penalty[short]
            text += f", the penalty of {avoided:,.1f} reference unit-periods of {short} shortfall"
        elif row.valuation_of == "penalty" and row.valuation < 0:  # type: ignore[attr-defined]
            avoided = -float(row.valuation) * 1e6 / penalty[short]  # type: ignore[attr-defined]
            after = f" That penalty is {avoided:,.1f} reference unit-periods of {short} shortfall."
    return f"{text}{split} ({row.basis}).{after}"  # type: ignore[attr-defined]


def _value(family: str, row: object, price: float, cost: str) -> tuple[str, float]:
    """What more of ``row``'s right-hand side is worth, in words, and how many units of it
    the words are about (-1e6 for a floor's "$1M of room": room in a floor lowers it)."""
    saves = f"${-price:,.0f}"
    sku, site, period = row.sku, row.site, row.period  # type: ignore[attr-defined]
    workload, scenario = row.workload, row.scenario  # type: ignore[attr-defined]
    vendor, offer = row.vendor, row.offer  # type: ignore[attr-defined]
    if family == "power":
        return (
            f"One more MW at {site} in {period} would lower the {cost} by ${-price * 1000:,.0f}",
            1000.0,
        )
    if family == "budget":
        return (
            f"The budget in {period} is binding: each extra $1M would lower the {cost} by "
            f"${-price * 1e6:,.0f}",
            1e6,
        )
    if family == "slots":
        return (
            f"One more accelerator slot at {site} in {period} would lower the {cost} by {saves}",
            1.0,
        )
    if family == "supply":
        return f"One more {sku} from the vendor in {period} would lower the {cost} by {saves}", 1.0
    if family == "supply_min":
        return (
            f"The committed volume of {sku} in {period} binds: each unit committed costs "
            f"the {cost} ${price:,.0f} more than the plan would otherwise pay",
            1.0,
        )
    if family in ("vendor_max", "vendor_min"):
        limit = "cap" if family == "vendor_max" else "floor"
        # Room in a floor is less of it: the value of room is -price for a floor.
        return (
            f"The share {limit} of vendor {vendor} binds: each $1M of room in it would "
            f"lower the {cost} by ${abs(price) * 1e6:,.0f}",
            -np.sign(price) * 1e6,
        )
    if family == "offer_limit":
        return (
            f"Cloud offer {offer} is at its limit in {period}: one more reference unit "
            f"of it would lower the {cost} by {saves}",
            1.0,
        )
    if family not in FAMILIES:  # the analyst's own rule
        when = f" in {period}" if period else ""
        unit = ONE.get(row.unit, row.unit)  # type: ignore[attr-defined]
        per = 1e6 if unit == "dollar" else 1.0  # told per $1M, as budgets are
        unit = "$1M" if unit == "dollar" else unit
        amount = _usd(abs(price) * per)
        if price < 0:
            return (
                f"Rule {family}{when}: each {unit} more of room in it would lower the {cost} "
                f"by {amount}",
                per,
            )
        return (
            f"Rule {family}{when}: each {unit} more that it asks for adds {amount} to the {cost}",
            per,
        )
    if family == "split":
        return (
            f"One more {sku} installed at {site} in {period} would lower the {cost} "
            f"by {saves} in scenario {scenario}",
            1.0,
        )
    region = f" in region {row.region}" if row.region else ""  # type: ignore[attr-defined]
    return (
        f"One more reference unit of {workload} demand{region} in {period} (scenario "
        f"{scenario}) would add ${price:,.0f} to the {cost}",
        1.0,
    )


def _split(row: object, per: float) -> str:
    """Which kinds of cost ``per`` units of ``row``'s right-hand side move: " — all of it
    cash", " — $X of cash and $Y of penalty of unmet demand (a valuation, not cash)", or
    with signed amounts where the two move opposite ways; empty where it is not split."""
    cash = float(getattr(row, "cash", np.nan)) * per
    valuation = float(getattr(row, "valuation", np.nan)) * per
    if not np.isfinite(cash) or not np.isfinite(valuation):
        return ""
    named = str(row.valuation_of)  # type: ignore[attr-defined]
    noun = "penalty of unmet demand" if named == "penalty" else named
    kind = "valuations" if " and " in named else "a valuation"
    note = "not cash" if "rule" in named else f"{kind}, not cash"
    if not named:
        return " — all of it cash"
    if abs(cash) <= NEGLIGIBLE * (abs(cash) + abs(valuation)):
        return f" — all of it {noun}, {note}"
    signed = cash * valuation < 0  # they move opposite ways: say which way each
    moved, valued = _usd(cash, signed=signed), _usd(valuation, signed=signed)
    return f" — {moved} of cash and {valued} of {noun} ({note})"


def _usd(amount: float, *, signed: bool = False) -> str:
    """``|amount|`` as ``$1,234`` (cents below $100), with its sign if ``signed``:
    "+$1,234", "-$0.40"."""
    sign = ("+" if amount >= 0 else "-") if signed else ""
    size = abs(amount)
    return f"{sign}${size:,.0f}" if size >= 100 else f"{sign}${size:,.2f}"
