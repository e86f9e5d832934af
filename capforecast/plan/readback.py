"""From a solution of the model to a new :class:`Plan`: one small function per table.

Every function reads the solution of the program (integer decisions rounded) through the
model's families and ``ModelData``; nothing of the model is kept in the plan. The cost
components are the model's own cost terms (:func:`~capforecast.plan.model.define_costs`)
evaluated at the solution, and the objective is the program's, so what a plan reports
is what was minimised (docs/model.md §8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capforecast.plan.data import PENALTY_MULTIPLIER, ModelData
from capforecast.plan.finance import (
    CAPEX_BY_VENDOR_COLUMNS,
    DEPRECIATION_COLUMNS,
    FISCAL_YEAR_COLUMNS,
    TCO_COLUMNS,
    finance_tables,
)
from capforecast.plan.model import PlanModel
from capforecast.plan.result import (
    CASH_COLUMNS,
    CLUSTER_COLUMNS,
    OFFER_COLUMNS,
    PENALTY_COLUMNS,
    RETIREMENT_COLUMNS,
    RULE_COLUMNS,
    VENDOR_COLUMNS,
    Plan,
    cash_column,
    cost_kind,
    empty_table,
)
from capforecast.plan.status import SolverOutcome, relative_gap

#: Continuous values below this are solver noise and read back as 0.
ZERO = 1e-7

#: Columns of the other tables, as written without a solution.
PURCHASE_COLUMNS = ("sku", "site", "order_period", "arrival_period", "lots", "units", "capex")
CAPACITY_COLUMNS = ("sku", "site", "period", "existing_units", "new_units", "units")
ALLOCATION_COLUMNS = (
    "sku", "site", "workload", "period", "scenario", "units", "reference_units",
)  # fmt: skip
RENT_COLUMNS = ("workload", "period", "scenario", "units", "cost")
SHORTFALL_COLUMNS = (
    "workload", "period", "scenario", "probability", "demand", "served", "reserved", "rented",
    "unmet",
)  # fmt: skip
SPEND_COLUMNS = ("period", "capex", "budget", "cumulative_capex", "cumulative_budget")
POWER_COLUMNS = ("site", "period", "draw_kw", "cap_kw", "units", "slots", "energy_cost")
SCENARIO_COST_COLUMNS = ("scenario", "probability", "cost")


def read_back(
    model: PlanModel,
    outcome: SolverOutcome,
    *,
    solver: str,
    build_seconds: float,
    solve_seconds: float,
    warnings: tuple[str, ...] = (),
) -> Plan:
    """Turn the solver's values into a new :class:`Plan`."""
    status: dict[str, Any] = {
        "status": outcome.status,
        "build_seconds": build_seconds,
        "solve_seconds": solve_seconds,
        "solver": solver,
        "message": outcome.message,
        "warnings": warnings,
    }
    if not outcome.status.has_solution or outcome.values is None:
        return empty_plan(**status)
    x = outcome.values.copy()
    integer = model.program.integer
    x[integer] = np.rint(x[integer])
    installed = Installed.of(model, x)
    covered = _per_demand(model, x)
    costs, scenario_costs = _costs(model, x)
    objective = model.program.value(x)
    purchases, cash = _purchases(model, x), _cash(model, x)
    return Plan(
        **status,
        objective=objective,
        bound=outcome.bound,  # the solver's objective includes the fleet's energy
        gap=relative_gap(objective, outcome.bound),
        purchases=purchases,
        capacity=_capacity(model.data, installed),
        allocation=_allocation(model, x),
        rent=_rent(model.data, covered),
        shortfall=_shortfall(model.data, covered),
        spend=_spend(model, x),
        power=_power(model.data, installed),
        costs=costs,
        cash=cash,
        penalties=_penalties(model.data),
        **finance_tables(model.data, purchases, cash),
        scenario_costs=scenario_costs,
        retirements=_retirements(model, x),
        clusters=_clusters(model, x),
        offers=_offers(model, x),
        vendors=_vendors(model, x),
        rules=_rules(model, x),
    )


def empty_plan(**status: Any) -> Plan:
    """A plan without a solution: every table with its columns and no rows."""

    return Plan(
        **status,
        objective=None,
        bound=None,
        gap=None,
        purchases=empty_table(PURCHASE_COLUMNS),
        capacity=empty_table(CAPACITY_COLUMNS),
        allocation=empty_table(ALLOCATION_COLUMNS),
        rent=empty_table(RENT_COLUMNS),
        shortfall=empty_table(SHORTFALL_COLUMNS),
        spend=empty_table(SPEND_COLUMNS),
        power=empty_table(POWER_COLUMNS),
        costs={},
        cash=empty_table(CASH_COLUMNS),
        penalties=empty_table(PENALTY_COLUMNS),
        depreciation=empty_table(DEPRECIATION_COLUMNS),
        fiscal_years=empty_table(FISCAL_YEAR_COLUMNS),
        capex_by_vendor=empty_table(CAPEX_BY_VENDOR_COLUMNS),
        tco=empty_table(TCO_COLUMNS),
        scenario_costs=empty_table(SCENARIO_COST_COLUMNS),
        retirements=empty_table(RETIREMENT_COLUMNS),
        clusters=empty_table(CLUSTER_COLUMNS),
        offers=empty_table(OFFER_COLUMNS),
        vendors=empty_table(VENDOR_COLUMNS),
        rules=empty_table(RULE_COLUMNS),
    )


def _labels(names: list[str], index: np.ndarray) -> np.ndarray:
    return np.asarray(names, dtype=object)[index]


def _region(data: ModelData, g: np.ndarray) -> dict[str, np.ndarray]:
    """The ``region`` column of a table (none when demand has no regions)."""
    return {"region": _labels(data.regions, g)} if data.regional else {}


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(values > ZERO, values, 0.0)


def _orders(model: PlanModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lots of every order variable, and their capex (USD, undiscounted)."""
    data, buy = model.data, model.buy
    lots = buy.values(x)
    s, t = buy.index["s"], buy.index["t"]
    return lots, lots * data.lot_size[s] * data.price[s, t]


def _purchases(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``purchases.csv``: one row per order ``n_{s,k,t} > 0``."""
    data, buy = model.data, model.buy
    lots, capex = _orders(model, x)
    bought = lots > 0
    s, k, t = (buy.index[axis][bought] for axis in "skt")
    return pd.DataFrame(
        {
            "sku": _labels(data.skus, s),
            "site": _labels(data.sites, k),
            "order_period": data.periods[t],
            "arrival_period": data.periods[t + data.lead_time[s]],
            "lots": lots[bought].astype(int),
            "units": (lots[bought] * data.lot_size[s]).astype(int),
            "capex": capex[bought],
        }
    )


@dataclass(frozen=True)
class Installed:
    """Installed units ``I`` split into the fleet (after early retirements) and new
    orders, as ``[s, k, t]``."""

    existing: np.ndarray
    new: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.existing + self.new

    @classmethod
    def of(cls, model: PlanModel, x: np.ndarray) -> Installed:
        data = model.data
        parts = []
        for terms in (model.installed, model.retired):
            units = np.zeros_like(data.fleet)
            keys = (terms.keys["s"], terms.keys["k"], terms.keys["t"])
            np.add.at(units, keys, terms.coef * x[terms.columns])
            parts.append(units)
        new, retired = parts  # (retired is minus the units retired by t)
        return cls(existing=data.fleet + retired, new=new)


def _capacity(data: ModelData, installed: Installed) -> pd.DataFrame:
    """``capacity.csv``: installed units per SKU, site and period, where any."""
    s, k, t = (g.ravel() for g in np.indices(data.fleet.shape))
    table = pd.DataFrame(
        {
            "sku": _labels(data.skus, s),
            "site": _labels(data.sites, k),
            "period": data.periods[t],
            "existing_units": installed.existing.ravel(),
            "new_units": installed.new.ravel(),
            "units": installed.total.ravel(),
        }
    )
    return table[table["units"] > 0].reset_index(drop=True)


def _power(data: ModelData, installed: Installed) -> pd.DataFrame:
    """``power.csv``: facility kW drawn per site and period against the cap, and units
    against slots."""
    total = installed.total
    draw = np.einsum("skt,sk->kt", total, data.facility_kw)
    k, t = (g.ravel() for g in np.indices(draw.shape))
    slots = data.slots[k]
    return pd.DataFrame(
        {
            "site": _labels(data.sites, k),
            "period": data.periods[t],
            "draw_kw": draw.ravel(),
            "cap_kw": data.power_cap.ravel(),
            "units": total.sum(axis=0).ravel(),
            "slots": np.where(np.isfinite(slots), slots, np.nan),
            "energy_cost": np.einsum("skt,sk->kt", total, data.energy_per_unit).ravel(),
        }
    )


def _retirements(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``retirements.csv``: one row per ``e_{j,t} > 0``, with the fleet row and the salvage
    (``sv_j`` times the units, undiscounted)."""
    data, retire = model.data, model.retire
    rows, units = data.fleet_rows, retire.values(x)
    done = units > 0
    j, t = retire.index["j"][done], retire.index["t"][done]
    return pd.DataFrame(
        {
            "sku": _labels(data.skus, rows.sku[j]),
            "site": _labels(data.sites, rows.site[j]),
            "fleet_row": rows.row[j],
            "period": data.periods[t],
            "units": units[done].astype(int),
            "salvage": units[done] * rows.salvage[j],
        }
    )


def _allocation(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``allocation.csv``: units serving each workload (and region), in accelerators and
    reference units."""
    data, serve = model.data, model.serve
    units = _clean(serve.values(x))
    used = units > 0
    index = {axis: serve.index[axis][used] for axis in serve.index}
    return pd.DataFrame(
        {
            "sku": _labels(data.skus, index["s"]),
            "site": _labels(data.sites, index["k"]),
            "workload": _labels(data.workloads, index["w"]),
            **_region(data, index["g"]),
            "period": data.periods[index["t"]],
            "scenario": _labels(data.scenarios, index["o"]),
            "units": units[used],
            "reference_units": units[used] * data.factor[index["s"], index["w"]],
        }
    )


def _per_demand(model: PlanModel, x: np.ndarray) -> dict[str, np.ndarray]:
    """Served, reserved, rented and unmet reference units as ``[w, g, t, ω]``."""
    data = model.data
    shape = data.demand.shape
    found = {}
    for name, family, weight in (
        ("served", model.serve, data.factor[model.serve.index["s"], model.serve.index["w"]]),
        ("rented", model.rent, 1.0),
        ("unmet", model.unmet, 1.0),
    ):
        total = np.zeros(shape)
        np.add.at(total, tuple(family.index[a] for a in "wgto"), _clean(family.values(x)) * weight)
        found[name] = total
    reserved, offers = np.zeros(shape[:3]), data.offers
    active = _active(model, x)
    np.add.at(reserved, (offers.workload, offers.region), active)
    found["reserved"] = np.repeat(reserved[..., None], shape[3], axis=3)
    return found


def _cells(data: ModelData) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """Every cell ``(w, g, t, ω)`` of a workload-region pair of demand, and its labels."""
    w, g, t, o = (i.ravel() for i in np.indices(data.demand.shape))
    present = data.pairs[w, g]
    w, g, t, o = w[present], g[present], t[present], o[present]
    labels = {
        "workload": _labels(data.workloads, w),
        **_region(data, g),
        "period": data.periods[t],
        "scenario": _labels(data.scenarios, o),
    }
    return (w, g, t, o), labels


def _shortfall(data: ModelData, found: dict[str, np.ndarray]) -> pd.DataFrame:
    """``shortfall.csv``: every cell of demand, how it is covered (``found``, from
    :func:`_per_demand`) and what is unmet."""
    cell, labels = _cells(data)
    return pd.DataFrame(
        {
            **labels,
            "probability": data.probability[cell[3]],
            "demand": data.demand[cell],
            **{name: found[name][cell] for name in ("served", "reserved", "rented", "unmet")},
        }
    )


def _rent(data: ModelData, found: dict[str, np.ndarray]) -> pd.DataFrame:
    """``rent.csv``: on-demand cloud units rented and their cost (USD, undiscounted)."""
    cell, labels = _cells(data)
    rented = found["rented"][cell]
    cost = rented * data.rent_price[cell[:3]]
    table = pd.DataFrame({**labels, "units": rented, "cost": cost})
    return table[table["units"] > 0].reset_index(drop=True)


def _spend(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``spend.csv``: capex (undiscounted, list) by budget period, charged in the order
    period or the arrival (``capex_timing``), against the budget."""
    data, buy = model.data, model.buy
    _, capex = _orders(model, x)
    paid = data.pay_period(buy.index["s"], buy.index["t"])
    by_period = np.bincount(paid, weights=capex, minlength=data.horizon)
    spent = np.bincount(data.budget_of, weights=by_period, minlength=len(data.budget))
    return pd.DataFrame(
        {
            "period": data.budget_periods,
            "capex": spent,
            "budget": data.budget,
            "cumulative_capex": np.cumsum(spent),
            "cumulative_budget": np.cumsum(data.budget),
        }
    )


def _costs(model: PlanModel, x: np.ndarray) -> tuple[dict[str, float], pd.DataFrame]:
    """The cost components (discounted; second-stage ones expected over scenarios) and
    ``scenario_costs.csv``: ``C_ω``, the whole discounted cost if scenario ``ω`` happens."""
    data = model.data
    N = len(data.scenarios)
    costs, per_scenario = {}, np.zeros(N)
    for name, cost in model.costs.items():
        value = cost.terms.coef * x[cost.terms.columns]
        if cost.second:
            by_scenario = np.bincount(cost.terms.keys["o"], weights=value, minlength=N)
            costs[name] = float(data.probability @ by_scenario)
            per_scenario += by_scenario
        else:
            costs[name] = float(value.sum()) + cost.constant
            per_scenario += costs[name]
    scenario_costs = pd.DataFrame(
        {
            "scenario": np.asarray(data.scenarios, dtype=object),
            "probability": data.probability,
            "cost": per_scenario,
        }
    )
    return costs, scenario_costs


def _cash(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``cash.csv``: the cash of every period by component (USD, undiscounted, rent
    expected over scenarios; capex in the period it is paid, salvage negative): the cost
    components of kind ``cash``, each term divided by its discount factor ``δ^t``."""
    data = model.data
    columns: dict[str, np.ndarray] = {}
    for name, cost in model.costs.items():
        if cost_kind(name) != "cash":
            continue
        terms = cost.terms
        value = terms.coef * x[terms.columns]
        if cost.second:
            value = value * data.probability[terms.keys["o"]]
        by_period = np.bincount(terms.keys["t"], weights=value, minlength=data.horizon)
        if cost.fixed is not None:
            by_period = by_period + cost.fixed
        column = cash_column(name)
        columns[column] = columns.get(column, 0.0) + by_period / data.discount
    table = pd.DataFrame({"period": data.periods})
    for column in CASH_COLUMNS[1:-1]:
        table[column] = columns.get(column, np.zeros(data.horizon))
    table["total"] = table[list(CASH_COLUMNS[1:-1])].sum(axis=1)
    return table


def _penalties(data: ModelData) -> pd.DataFrame:
    """``penalties.csv``: the shortfall penalty of each workload (USD per reference
    unit-period and per reference unit-hour) and where it comes from."""
    return pd.DataFrame(
        {
            "workload": np.asarray(data.workloads, dtype=object),
            "penalty_per_period": data.penalty,
            "penalty_per_hour": data.penalty / data.hours,
            "source": [
                "options.yaml"
                if s < 0
                else f"default: {PENALTY_MULTIPLIER:g} x the price per "
                f"reference unit of {data.skus[s]}"
                for s in data.penalty_sku
            ],
        }
    )


def _clusters(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``clusters.csv``: each cluster, where it is placed (SKU, site, the units it takes,
    ``M_{c,s}``) or ``placed`` False with its discounted penalty (USD, a valuation)."""
    data, place = model.data, model.place
    clusters = data.clusters
    C = len(clusters)
    sku, site = np.full(C, "", dtype=object), np.full(C, "", dtype=object)
    units = np.zeros(C)
    chosen = place.values(x) > 0
    c, s, k = (place.index[axis][chosen] for axis in "csk")
    sku[c], site[c], units[c] = _labels(data.skus, s), _labels(data.sites, k), clusters.units[c, s]
    placed = np.zeros(C, dtype=bool)
    placed[c] = True
    return pd.DataFrame(
        {
            "cluster": np.asarray(clusters.names, dtype=object),
            "workload": _labels(data.workloads, clusters.workload),
            "size": clusters.size,
            "start": np.asarray(clusters.start, dtype=object),
            "end": np.asarray(clusters.end, dtype=object),
            "placed": placed,
            "sku": sku,
            "site": site,
            "units": units.astype(int),
            "penalty": np.where(placed, 0.0, data.unplaced_cost),
        }
    )


def _active(model: PlanModel, x: np.ndarray) -> np.ndarray:
    """Reference units of each offer active in each period, ``[q, t]``."""
    reserved = model.reserved
    active = np.zeros((len(model.data.offers), model.data.horizon))
    np.add.at(active, (reserved.keys["q"], reserved.keys["t"]), _clean(x[reserved.columns]))
    return active


def _offers(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``offers.csv``: one row per ``v_{o,τ} > 0``: the reference units signed, the
    periods they are active within the horizon, and ``cost``: the USD paid for them in
    those periods (undiscounted cash, ``q_o`` per unit-period, used or not)."""
    data, sign = model.data, model.sign
    offers, signed = data.offers, _clean(sign.values(x))
    done = signed > 0
    q, t = sign.index["q"][done], sign.index["t"][done]
    first = t + offers.notice[q]
    last = np.minimum(first + offers.term[q] - 1, data.horizon - 1)
    return pd.DataFrame(
        {
            "offer": _labels(offers.names, q),
            "workload": _labels(data.workloads, offers.workload[q]),
            **_region(data, offers.region[q]),
            "signed": data.periods[t],
            "units": signed[done],
            "first_period": data.periods[first],
            "last_period": data.periods[last],
            "cost": signed[done] * offers.price[q] * (last - first + 1),
        }
    )


def _vendors(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``vendors.csv`` (when the catalog names vendors): each vendor's capex (USD,
    undiscounted, at the order price) and share of all capex, beside its limits."""
    data = model.data
    if not any(data.sku_vendor):
        return empty_table(VENDOR_COLUMNS)
    _, capex = _orders(model, x)
    names = list(dict.fromkeys(v for v in data.sku_vendor if v))
    of_order = _labels(data.sku_vendor, model.buy.index["s"])
    spent = np.array([capex[of_order == v].sum() for v in names])
    total = capex.sum()
    limits = dict(
        zip(data.vendors, zip(data.vendor_min, data.vendor_max, strict=True), strict=True)
    )
    return pd.DataFrame(
        {
            "vendor": names,
            "capex": spent,
            "share": spent / total if total > 0 else np.zeros(len(names)),
            "min_share": [limits.get(v, (np.nan, np.nan))[0] for v in names],
            "max_share": [limits.get(v, (np.nan, np.nan))[1] for v in names],
        }
    )


def _rules(model: PlanModel, x: np.ndarray) -> pd.DataFrame:
    """``rules.csv``: each row of the analyst's rules, its two sides at the plan and how
    far it is from binding (``slack`` >= 0 when it holds; 0 when it binds)."""
    frames = []
    for name, rule in model.rules.items():
        constraint = rule.constraint
        periods = constraint.expression.periods
        size = 1 if periods is None else len(periods)
        left = np.broadcast_to(constraint.left.value(x), size)
        right = np.broadcast_to(constraint.right.value(x), size)
        slack = {"<=": right - left, ">=": left - right, "==": -np.abs(left - right)}
        labels = [""] if periods is None else [str(p) for p in model.data.periods[periods]]
        frames.append(
            pd.DataFrame(
                {
                    "rule": name,
                    "period": labels,
                    "left": left,
                    "sense": constraint.sense,
                    "right": right,
                    "slack": slack[constraint.sense],
                    "unit": rule.unit,
                }
            )
        )
    if not frames:
        return empty_table(RULE_COLUMNS)
    return pd.concat(frames, ignore_index=True)
