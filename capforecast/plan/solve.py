"""Build, solve, read back: from validated inputs to a new :class:`Plan`."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from capforecast.plan.allocation import stable_allocation
from capforecast.plan.data import ModelData
from capforecast.plan.diagnosis import diagnose
from capforecast.plan.explain import explain
from capforecast.plan.inputs import PlanningInputs
from capforecast.plan.model import ConstraintHook, PlanModel, build_model
from capforecast.plan.options import PlanOptions
from capforecast.plan.result import (
    CLUSTER_COLUMNS,
    OFFER_COLUMNS,
    RETIREMENT_COLUMNS,
    RULE_COLUMNS,
    VENDOR_COLUMNS,
    Plan,
)
from capforecast.plan.rules import RuleFunction
from capforecast.plan.solvers import get_solver
from capforecast.plan.status import PlanStatus, SolverOutcome, relative_gap

#: Continuous values below this are solver noise and read back as 0.
ZERO = 1e-7


def solve(
    inputs: PlanningInputs,
    *,
    rules: RuleFunction | None = None,
    extra_constraints: ConstraintHook | None = None,
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
    )


def solve_data(
    data: ModelData,
    options: PlanOptions,
    *,
    rules: RuleFunction | None = None,
    extra_constraints: ConstraintHook | None = None,
    warnings: tuple[str, ...] = (),
    started: float | None = None,
) -> Plan:
    """Build and solve the model for ``data`` (e.g. a variant of the inputs' data made with
    :func:`dataclasses.replace`); ``started`` is when building began, for the timings."""
    backend = get_solver(options.solver)
    started = time.perf_counter() if started is None else started
    model = build_model(data, extra_constraints, rules=rules)
    built = time.perf_counter()
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


def read_back(
    model: PlanModel,
    outcome: SolverOutcome,
    *,
    solver: str,
    build_seconds: float,
    solve_seconds: float,
    warnings: tuple[str, ...] = (),
) -> Plan:
    """Turn solver values into a new :class:`Plan` (nothing of the model is kept)."""
    data = model.data
    if not outcome.status.has_solution or outcome.values is None:
        return _empty_plan(data, outcome, solver, build_seconds, solve_seconds, warnings)
    periods = data.periods
    solution = outcome.values
    lots = np.rint(model.buy.values(solution))
    buy = model.buy.index
    s, k, t = buy["s"], buy["k"], buy["t"]
    units = lots * data.lot_size[s]
    capex_by_order = units * data.price[s, t]
    bought = lots > 0
    purchases = pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[s[bought]],
            "site": np.asarray(data.sites, dtype=object)[k[bought]],
            "order_period": periods[t[bought]],
            "arrival_period": periods[t[bought] + data.lead_time[s[bought]]],
            "lots": lots[bought].astype(int),
            "units": units[bought].astype(int),
            "capex": capex_by_order[bought],
        }
    )

    installed = model.installed
    new_units = np.zeros_like(data.fleet)
    # Installed terms carry the columns of the orders they came from (columns increase).
    position = np.searchsorted(model.buy.columns, installed.columns)
    np.add.at(
        new_units,
        (installed.keys["s"], installed.keys["k"], installed.keys["t"]),
        installed.coef * lots[position],
    )
    retired_units = np.zeros_like(data.fleet)  # Σ_{τ<=t} e_{j,τ} by (s, k, t)
    retire_lots = np.rint(model.retire.values(solution))
    position = np.searchsorted(model.retire.columns, model.retired.columns)
    retired = model.retired
    np.add.at(
        retired_units,
        (retired.keys["s"], retired.keys["k"], retired.keys["t"]),
        -retired.coef * retire_lots[position],
    )
    existing_units = data.fleet - retired_units
    total_units = existing_units + new_units
    S, K, T = new_units.shape
    si, ki, ti = (g.ravel() for g in np.indices((S, K, T)))
    capacity = pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[si],
            "site": np.asarray(data.sites, dtype=object)[ki],
            "period": periods[ti],
            "existing_units": existing_units.ravel(),
            "new_units": new_units.ravel(),
            "units": total_units.ravel(),
        }
    )
    capacity = capacity[capacity["units"] > 0].reset_index(drop=True)
    retirements = _retirements(data, model.retire.index, retire_lots)

    serve_values = _clean(model.serve.values(solution))
    sv = model.serve.index
    reference = serve_values * data.factor[sv["s"], sv["w"]]
    used = serve_values > 0
    allocation = pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[sv["s"][used]],
            "site": np.asarray(data.sites, dtype=object)[sv["k"][used]],
            "workload": np.asarray(data.workloads, dtype=object)[sv["w"][used]],
            **_region(data, sv["g"][used]),
            "period": periods[sv["t"][used]],
            "scenario": np.asarray(data.scenarios, dtype=object)[sv["o"][used]],
            "units": serve_values[used],
            "reference_units": reference[used],
        }
    )

    shape = data.demand.shape  # [w, g, t, ω]
    rented, unmet, served = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for total, family, values in (
        (rented, model.rent, _clean(model.rent.values(solution))),
        (unmet, model.unmet, _clean(model.unmet.values(solution))),
        (served, model.serve, reference),
    ):
        np.add.at(total, tuple(family.index[axis] for axis in "wgto"), values)
    signed = _clean(model.sign.values(solution))
    offers = data.offers
    active = np.zeros((len(offers), T))  # reference units of each offer active in t
    position = np.searchsorted(model.sign.columns, model.reserved.columns)
    np.add.at(active, (model.reserved.keys["q"], model.reserved.keys["t"]), signed[position])
    reserved = np.zeros(shape[:3])
    np.add.at(reserved, (offers.workload, offers.region), active)
    # One row per workload-region pair of demand, period and scenario.
    wi, gi, ti2, oi = (x.ravel() for x in np.indices(shape))
    present = data.pairs[wi, gi]
    wi, gi, ti2, oi = wi[present], gi[present], ti2[present], oi[present]
    cell = (wi, gi, ti2, oi)
    labels = {
        "workload": np.asarray(data.workloads, dtype=object)[wi],
        **_region(data, gi),
        "period": periods[ti2],
        "scenario": np.asarray(data.scenarios, dtype=object)[oi],
    }
    shortfall = pd.DataFrame(
        {
            **labels,
            "probability": data.probability[oi],
            "demand": data.demand[cell],
            "served": served[cell],
            "reserved": reserved[wi, gi, ti2],
            "rented": rented[cell],
            "unmet": unmet[cell],
        }
    )
    rent_cost = rented * data.rent_price[..., None]
    rent = pd.DataFrame({**labels, "units": rented[cell], "cost": rent_cost[cell]})
    rent = rent[rent["units"] > 0].reset_index(drop=True)
    clusters = _clusters(model, solution)

    # Capex by the period it is paid in (order or arrival: capex_timing), then by budget period.
    capex_by_period = np.bincount(data.pay_period(s, t), weights=capex_by_order, minlength=T)
    capex_by_budget = np.bincount(
        data.budget_of, weights=capex_by_period, minlength=len(data.budget)
    )
    spend = pd.DataFrame(
        {
            "period": data.budget_periods,
            "capex": capex_by_budget,
            "budget": data.budget,
            "cumulative_capex": np.cumsum(capex_by_budget),
            "cumulative_budget": np.cumsum(data.budget),
        }
    )
    draw = np.einsum("skt,sk->kt", total_units, data.facility_kw)
    ks, ts = (g.ravel() for g in np.indices((K, T)))
    power = pd.DataFrame(
        {
            "site": np.asarray(data.sites, dtype=object)[ks],
            "period": periods[ts],
            "draw_kw": draw.ravel(),
            "cap_kw": data.power_cap.ravel(),
            "units": total_units.sum(axis=0).ravel(),
            "slots": np.repeat(data.slots, T),
        }
    )
    power["slots"] = power["slots"].where(np.isfinite(power["slots"]))

    energy = data.energy_per_unit[:, :, None] * data.discount[None, None, :]
    first = {
        "capex": float(capex_by_period @ data.discount),
        "energy_existing": float((existing_units * energy).sum()),
        "energy_new": float((new_units * energy).sum()),
    }
    if data.opex.any():
        opex = data.opex[:, None, None] * data.discount[None, None, :]
        first["opex"] = float((total_units * opex).sum())
    if data.early_retirement:
        j, when = model.retire.index["j"], model.retire.index["t"]
        salvage = retire_lots * data.fleet_rows.salvage[j]
        first["salvage"] = -float(salvage @ data.discount[when])
    if data.terminal_value:
        first["terminal_value"] = -float(capex_by_order @ data.terminal_credit[s, t])
    if len(data.clusters):
        first["unplaced_clusters"] = float(clusters["penalty"].sum())
    contracts = _offers(model, signed)
    if len(offers):
        first["cloud_offers"] = float(offers.price @ active @ data.discount)
    discounted = data.discount[None, None, :, None]
    rent_cost = (rent_cost * discounted).sum(axis=(0, 1, 2))  # [ω]
    unmet_cost = (unmet * data.penalty[:, None, None, None] * discounted).sum(axis=(0, 1, 2))
    scenario_costs = pd.DataFrame(
        {
            "scenario": np.asarray(data.scenarios, dtype=object),
            "probability": data.probability,
            "cost": sum(first.values()) + rent_cost + unmet_cost,
        }
    )
    costs = first | {
        "rent": float(data.probability @ rent_cost),
        "shortfall": float(data.probability @ unmet_cost),
    }
    expected = sum(costs.values())
    objective = expected
    if data.cvar_weight > 0:
        tail = cvar(scenario_costs["cost"].to_numpy(), data.probability, data.cvar_alpha)
        objective = (1 - data.cvar_weight) * expected + data.cvar_weight * tail
    bound = outcome.bound  # the solver's objective includes the fleet's energy
    return Plan(
        status=outcome.status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        solver=solver,
        message=outcome.message,
        purchases=purchases,
        capacity=capacity,
        allocation=allocation,
        rent=rent,
        shortfall=shortfall,
        spend=spend,
        power=power,
        costs=costs,
        scenario_costs=scenario_costs,
        retirements=retirements,
        clusters=clusters,
        offers=contracts,
        vendors=_vendors(data, s, capex_by_order),
        rules=_rules(model, solution),
        warnings=warnings,
    )


def _offers(model: PlanModel, signed: np.ndarray) -> pd.DataFrame:
    """``offers.csv``: one row per ``v_{o,τ} > 0``: the reference units signed, the
    periods they are active within the horizon, and ``cost``: the USD paid for them in
    those periods (undiscounted cash, ``q_o`` per unit-period, used or not)."""
    data = model.data
    offers, sign = data.offers, model.sign
    done = signed > 0
    q, t = sign.index["q"][done], sign.index["t"][done]
    first = t + offers.notice[q]
    last = np.minimum(first + offers.term[q] - 1, data.horizon - 1)
    return pd.DataFrame(
        {
            "offer": np.asarray(offers.names, dtype=object)[q],
            "workload": np.asarray(data.workloads, dtype=object)[offers.workload[q]],
            **_region(data, offers.region[q]),
            "signed": data.periods[t],
            "units": signed[done],
            "first_period": data.periods[first],
            "last_period": data.periods[last],
            "cost": signed[done] * offers.price[q] * (last - first + 1),
        }
    )


def _rules(model: PlanModel, solution: np.ndarray) -> pd.DataFrame:
    """``rules.csv``: each row of the analyst's rules, its two sides at the plan and how
    far it is from binding (``slack`` >= 0 when it holds; 0 when it binds)."""
    frames = []
    for name, rule in model.rules.items():
        constraint = rule.constraint
        periods = constraint.expression.periods
        size = 1 if periods is None else len(periods)
        left = np.broadcast_to(constraint.left.value(solution), size)
        right = np.broadcast_to(constraint.right.value(solution), size)
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
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RULE_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _vendors(data: ModelData, s: np.ndarray, capex_by_order: np.ndarray) -> pd.DataFrame:
    """``vendors.csv`` (when the catalog names vendors): each vendor's capex (USD,
    undiscounted, at the order price) and share of all capex, beside its limits."""
    if not any(data.sku_vendor):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in VENDOR_COLUMNS})
    names = list(dict.fromkeys(v for v in data.sku_vendor if v))
    of_order = np.asarray(data.sku_vendor, dtype=object)[s]
    capex = np.array([capex_by_order[of_order == v].sum() for v in names])
    total = capex_by_order.sum()
    limits = dict(
        zip(data.vendors, zip(data.vendor_min, data.vendor_max, strict=True), strict=True)
    )
    return pd.DataFrame(
        {
            "vendor": names,
            "capex": capex,
            "share": capex / total if total > 0 else np.zeros(len(names)),
            "min_share": [limits.get(v, (np.nan, np.nan))[0] for v in names],
            "max_share": [limits.get(v, (np.nan, np.nan))[1] for v in names],
        }
    )


def _region(data: ModelData, g: np.ndarray) -> dict[str, np.ndarray]:
    """The ``region`` column of a table (none when demand has no regions)."""
    return {"region": np.asarray(data.regions, dtype=object)[g]} if data.regional else {}


def _clusters(model: PlanModel, solution: np.ndarray) -> pd.DataFrame:
    """``clusters.csv``: each cluster, where it is placed (SKU, site, the units it takes,
    ``M_{c,s}``) or ``placed`` False with its discounted penalty (USD, a valuation)."""
    data, place = model.data, model.place
    clusters = data.clusters
    C = len(clusters)
    sku = np.full(C, "", dtype=object)
    site = np.full(C, "", dtype=object)
    units = np.zeros(C)
    chosen = np.rint(place.values(solution)) > 0
    c, s, k = (place.index[axis][chosen] for axis in "csk")
    sku[c], site[c] = (
        np.asarray(data.skus, dtype=object)[s],
        np.asarray(data.sites, dtype=object)[k],
    )
    units[c] = clusters.units[c, s]
    placed = np.zeros(C, dtype=bool)
    placed[c] = True
    return pd.DataFrame(
        {
            "cluster": np.asarray(clusters.names, dtype=object),
            "workload": np.asarray(data.workloads, dtype=object)[clusters.workload],
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


def _retirements(data: ModelData, index: dict[str, np.ndarray], units: np.ndarray) -> pd.DataFrame:
    """``retirements.csv``: one row per ``e_{j,t} > 0``, with the fleet row and the salvage
    (``sv_j`` times the units, undiscounted)."""
    rows = data.fleet_rows
    done = units > 0
    j, t = index["j"][done], index["t"][done]
    return pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[rows.sku[j]],
            "site": np.asarray(data.sites, dtype=object)[rows.site[j]],
            "fleet_row": rows.row[j],
            "period": data.periods[t],
            "units": units[done].astype(int),
            "salvage": units[done] * rows.salvage[j],
        }
    )


def cvar(cost: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """``CVaR_α``: the expected cost in the worst ``1 - α`` of probability,
    ``min_η η + E[(C - η)+] / (1 - α)`` (Rockafellar & Uryasev), whose minimum is at one
    of the costs.

    Examples
    --------
    >>> round(cvar(np.array([0.0, 10.0, 100.0]), np.array([0.5, 0.4, 0.1]), 0.8), 9)
    55.0
    """
    excess = np.clip(cost[None, :] - cost[:, None], 0.0, None) @ probability
    return float(np.min(cost + excess / (1 - alpha)))


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(values > ZERO, values, 0.0)


def _empty_plan(
    data: ModelData,
    outcome: SolverOutcome,
    solver: str,
    build_seconds: float,
    solve_seconds: float,
    warnings: tuple[str, ...],
) -> Plan:
    def empty(*columns: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})

    return Plan(
        status=outcome.status,
        objective=None,
        bound=None,
        gap=None,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        solver=solver,
        message=outcome.message,
        purchases=empty("sku", "site", "order_period", "arrival_period", "lots", "units", "capex"),
        capacity=empty("sku", "site", "period", "existing_units", "new_units", "units"),
        allocation=empty(
            "sku", "site", "workload", "period", "scenario", "units", "reference_units"
        ),
        rent=empty("workload", "period", "scenario", "units", "cost"),
        shortfall=empty(
            "workload",
            "period",
            "scenario",
            "probability",
            "demand",
            "served",
            "reserved",
            "rented",
            "unmet",
        ),
        spend=empty("period", "capex", "budget", "cumulative_capex", "cumulative_budget"),
        power=empty("site", "period", "draw_kw", "cap_kw", "units", "slots"),
        costs={},
        scenario_costs=empty("scenario", "probability", "cost"),
        retirements=empty(*RETIREMENT_COLUMNS),
        clusters=empty(*CLUSTER_COLUMNS),
        offers=empty(*OFFER_COLUMNS),
        vendors=empty(*VENDOR_COLUMNS),
        rules=empty(*RULE_COLUMNS),
        warnings=warnings,
    )
