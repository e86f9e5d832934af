"""An independent reference solver for the docs/model.md core planning model, and the families
of docs/model.md §6.9-6.13 (legacy SKUs, opex, availability, early retirement with
salvage, regions with eligibility, training clusters) with the terminal value on by
default (§6.4), and the commercial terms of DESIGN.md §4.6: minimum order lots, supply
minimums (take-or-pay) and maximums, budgets by coarser budget periods with
``capex_timing``, reserved cloud offers and vendor capex shares. ``service_level`` is not
implemented.

An infeasible instance (take-or-pay minimums and minimum vendor shares can make one) is not
an error: :func:`reference_solve` returns ``feasible=False`` with ``objective = inf``.

It reads a planning-input directory (docs/data.md) with pandas and yaml on its own, builds the
MILP as sparse matrices and solves it with :func:`scipy.optimize.milp` to optimality.
Nothing here imports ``capforecast``: it exists to cross-check the library's model. It is
written for clarity, loop by loop, not for speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

DEFAULT_HOURS = 2190.0
DEFAULT_LOAD_FACTOR = 0.7
PENALTY_MULTIPLIER = 10.0
NAME_COLUMNS = {
    "sku": str,
    "site": str,
    "workload": str,
    "scenario": str,
    "region": str,
    "cluster": str,
    "skus": str,
    "sites": str,
    "vendor": str,
    "offer": str,
}


@dataclass(frozen=True)
class ReferenceResult:
    """The optimum of the reference model (objective includes the existing fleet's energy
    and opex). When the model is infeasible, ``feasible`` is False, ``objective`` is inf
    and the decision arrays are all zero."""

    objective: float
    fleet_running: float  # discounted energy and opex of the fleet, none retired
    lots: np.ndarray  # [sku, site, period]
    retired: np.ndarray  # [fleet row, period]: e_{j,t}
    placed: dict[str, tuple[str, str] | None]  # cluster -> (sku, site), None if not placed
    capex: np.ndarray  # undiscounted capex per pay period pay(s, τ) (horizon periods)
    budget: np.ndarray  # B_b per budget period b with a horizon period, in time order
    budget_spend: np.ndarray  # undiscounted capex charged in each of those budget periods
    signed: np.ndarray  # [offer, period]: v_{o,t}, reference units signed
    feasible: bool = True
    fleet_over_power: bool = False  # the existing fleet alone exceeds a site's cap somewhere


def reference_objective(directory: Path) -> float:
    """Optimal docs/model.md objective of the planning inputs in ``directory`` (inf when
    the instance is infeasible)."""
    return reference_solve(directory).objective


def _read(directory: Path, name: str) -> pd.DataFrame | None:
    """A CSV of the directory, or None when the file is absent."""
    path = Path(directory) / name
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=NAME_COLUMNS)


def _blank(value: Any) -> bool:
    """True for an empty CSV cell."""
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


class _Rows:
    """Accumulates sparse constraint rows ``lb <= A x <= ub``."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, cols: np.ndarray, vals: np.ndarray, lb: float, ub: float) -> None:
        """Add one row with coefficients ``vals`` on variables ``cols``."""
        cols = np.asarray(cols, dtype=int).ravel()
        vals = np.broadcast_to(np.asarray(vals, dtype=float), cols.shape).ravel()
        row = len(self.lb)
        self.rows.append(np.full(cols.shape, row))
        self.cols.append(cols)
        self.vals.append(vals)
        self.lb.append(lb)
        self.ub.append(ub)

    def constraint(self, n_vars: int) -> LinearConstraint:
        """All rows as one scipy constraint."""
        matrix = sparse.coo_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(len(self.lb), n_vars),
        ).tocsr()
        return LinearConstraint(matrix, np.asarray(self.lb), np.asarray(self.ub))


def _blocks(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Consecutive variable numbers for blocks of these shapes."""
    blocks, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        blocks.append(start + np.arange(size).reshape(shape))
        start += size
    return blocks


def reference_solve(directory: Path) -> ReferenceResult:
    """Build and solve the core model of docs/model.md for ``directory`` with scipy/HiGHS."""
    directory = Path(directory)
    options_path = directory / "options.yaml"
    options: dict[str, Any] = {}
    if options_path.is_file():
        options = yaml.safe_load(options_path.read_text()) or {}
    freq = str(options.get("period_freq", "Q"))

    def period(label: Any) -> pd.Period:
        return pd.Period(str(label), freq=freq)

    catalog = _read(directory, "catalog.csv")
    perf = _read(directory, "perf.csv")
    sites = _read(directory, "sites.csv")
    fleet = _read(directory, "fleet.csv")
    budget_table = _read(directory, "budget.csv")
    demand = _read(directory, "demand.csv")
    assert catalog is not None and perf is not None and sites is not None
    assert fleet is not None and budget_table is not None and demand is not None

    # Sets.
    horizon = sorted({period(p) for p in demand["period"]})
    T = len(horizon)
    t_of = {p: i for i, p in enumerate(horizon)}
    skus = list(catalog["sku"])
    site_names = list(sites["site"])
    clusters = _read(directory, "clusters.csv")
    cluster_workloads = [] if clusters is None else list(clusters["workload"])
    workloads = list(dict.fromkeys([*demand["workload"], *cluster_workloads]))
    # Regions: one, "", for everything when demand.csv has none.
    has_regions = "region" in demand.columns and demand["region"].notna().any()
    offer_table = _read(directory, "cloud_offers.csv")
    offer_regions = [] if offer_table is None or not has_regions else list(offer_table["region"])
    if has_regions:
        regions = list(
            dict.fromkeys([*demand["region"], *sites["region"].dropna(), *offer_regions])
        )
        site_region = list(sites["region"])
    else:
        regions, site_region = [""], [""] * len(sites)
    demand_region = demand["region"] if has_regions else pd.Series("", demand.index)
    has_scenarios = "scenario" in demand.columns and demand["scenario"].notna().any()
    if has_scenarios:
        scen_table = _read(directory, "scenarios.csv")
        assert scen_table is not None
        scenarios = list(scen_table["scenario"])
        prob = scen_table["probability"].to_numpy(dtype=float)
    else:
        scenarios = ["base"]
        prob = np.ones(1)
    S, K, W, Z = len(skus), len(site_names), len(workloads), len(scenarios)
    G = len(regions)
    g_of = {g: i for i, g in enumerate(regions)}
    s_of = {s: i for i, s in enumerate(skus)}
    k_of = {k: i for i, k in enumerate(site_names)}
    w_of = {w: i for i, w in enumerate(workloads)}
    o_of = {o: i for i, o in enumerate(scenarios)}

    # Data. A legacy SKU leaves unit_price, lot_size, lead_time and lifetime empty: it is
    # never ordered (its order variables are fixed to 0 below); its other numbers are unused.
    legacy = catalog[["unit_price", "lot_size", "lead_time", "lifetime"]].isna().all(axis=1)
    orderable = ~legacy.to_numpy()
    lot = catalog["lot_size"].fillna(1).to_numpy(dtype=float)
    power = catalog["power_kw"].to_numpy(dtype=float)
    lead = catalog["lead_time"].fillna(0).to_numpy(dtype=int)
    life = catalog["lifetime"].fillna(1).to_numpy(dtype=int)
    catalog_price = catalog["unit_price"].fillna(0.0).to_numpy(dtype=float)
    opex = np.zeros(S)
    if "opex" in catalog.columns:
        opex = catalog["opex"].fillna(0.0).to_numpy(dtype=float)
    min_lots = np.ones(S)
    if "min_lots" in catalog.columns:
        min_lots = catalog["min_lots"].fillna(1).to_numpy(dtype=float)
    vendor: list[str | None] = [None] * S
    if "vendor" in catalog.columns:
        vendor = [None if _blank(v) else str(v) for v in catalog["vendor"]]
    availability = np.ones(S)
    if "availability" in catalog.columns:
        availability = catalog["availability"].fillna(1.0).to_numpy(dtype=float)
    price = np.repeat(catalog_price[:, None], T, axis=1)
    prices = _read(directory, "prices.csv")
    if prices is not None:
        for sku, p, value in prices[["sku", "period", "unit_price"]].itertuples(index=False):
            if period(p) in t_of:
                price[s_of[sku], t_of[period(p)]] = float(value)

    factor = np.zeros((S, W))
    for sku, w, value in perf[["sku", "workload", "factor"]].itertuples(index=False):
        if w in w_of:
            factor[s_of[sku], w_of[w]] = float(value)

    pue = sites["pue"].to_numpy(dtype=float)
    energy_price = sites["energy_price"].to_numpy(dtype=float)
    cap = np.repeat(sites["power_cap_kw"].to_numpy(dtype=float)[:, None], T, axis=1)
    site_power = _read(directory, "site_power.csv")
    if site_power is not None:
        for k, p, value in site_power[["site", "period", "power_cap_kw"]].itertuples(index=False):
            if period(p) in t_of:
                cap[k_of[k], t_of[period(p)]] = float(value)
    slots: list[float | None] = [None] * K
    if "slots" in sites.columns:
        slots = [None if _blank(v) else float(v) for v in sites["slots"]]

    ordinals = np.array([p.ordinal for p in horizon])
    F = np.zeros((S, K, T))
    # Fleet rows j: SKU, site, units, whether in service at each t, salvage per unit.
    rows_j: list[tuple[int, int, float, np.ndarray, float]] = []
    salvage_column = fleet["salvage_value"] if "salvage_value" in fleet.columns else None
    for j, (sku, k, units, start, end) in enumerate(
        fleet[["sku", "site", "units", "available_from", "retire_period"]].itertuples(index=False)
    ):
        live = np.ones(T, dtype=bool)
        if not _blank(start):
            live &= ordinals >= period(start).ordinal
        if not _blank(end):
            live &= ordinals < period(end).ordinal
        F[s_of[sku], k_of[k]] += float(units) * live
        value = None if salvage_column is None else salvage_column.iloc[j]
        salvage = 0.0 if _blank(value) else float(value)
        rows_j.append((s_of[sku], k_of[k], float(units), live, salvage))

    # Budget periods b: a row's label is a horizon period or a coarser one (a year "2027"),
    # parsed at its own frequency; P_b = the horizon periods inside it. A row with no horizon
    # period is ignored; one partly outside keeps its whole amount for its horizon periods.
    budget_rows: list[tuple[pd.Timestamp, list[int], float]] = []
    for p, value in budget_table[["period", "capex_budget"]].itertuples(index=False):
        span = pd.Period(str(p))
        covered = [
            t
            for t, q in enumerate(horizon)
            if q.start_time >= span.start_time and q.end_time <= span.end_time
        ]
        if covered:
            budget_rows.append((span.start_time, covered, float(value)))
    budget_rows.sort(key=lambda row: row[0])
    budget = np.array([amount for _, _, amount in budget_rows])
    # pay(s, τ) = τ + pay_lag[s]: the order period, or the arrival with capex_timing: delivery.
    capex_timing = str(options.get("capex_timing", "order"))
    pay_lag = lead.copy() if capex_timing == "delivery" else np.zeros(S, dtype=int)

    D = np.zeros((W, G, T, Z))
    scenario_column = demand["scenario"] if has_scenarios else pd.Series("base", demand.index)
    for w, g, p, o, value in zip(
        demand["workload"],
        demand_region,
        demand["period"],
        scenario_column,
        demand["demand"],
        strict=True,
    ):
        D[w_of[w], g_of[g], t_of[period(p)], o_of[o]] = float(value)

    # Eligible sites E[w, g, k]: eligibility.csv rows of (w, g) if any, else the sites of
    # region g (every site without regions).
    E = np.array(
        [[[site_region[k] == g for k in range(K)] for g in regions] for _ in range(W)],
        dtype=bool,
    )
    eligibility = _read(directory, "eligibility.csv")
    if has_regions and eligibility is not None:
        listed = eligibility.groupby(["workload", "region"])["site"].agg(set)
        for (w, g), allowed in listed.items():
            E[w_of[w], g_of[g]] = [name in allowed for name in site_names]

    rent_price = np.zeros((W, G, T))
    rent_cap = np.zeros((W, G, T))
    rent = _read(directory, "rent.csv")
    if rent is not None:
        rent_region = rent["region"] if has_regions else pd.Series("", rent.index)
        for w, g, p, value, limit in zip(
            rent["workload"],
            rent_region,
            rent["period"],
            rent["price"],
            rent["max_units"],
            strict=True,
        ):
            if period(p) in t_of:
                rent_price[w_of[w], g_of[g], t_of[period(p)]] = float(value)
                rent_cap[w_of[w], g_of[g], t_of[period(p)]] = float(limit)

    # supply.csv: max_units and/or min_units (either column may be absent; empty = no limit).
    supply = np.full((S, T), np.inf)
    supply_min = np.zeros((S, T))
    supply_table = _read(directory, "supply.csv")
    if supply_table is not None:
        for row in supply_table.to_dict("records"):
            if period(row["period"]) not in t_of:
                continue
            s, t = s_of[row["sku"]], t_of[period(row["period"])]
            if not _blank(row.get("max_units")):
                supply[s, t] = float(row["max_units"])
            if not _blank(row.get("min_units")):
                supply_min[s, t] = float(row["min_units"])

    # Cloud offers o: workload, region, price q_o, notice, term, max_o (inf when empty).
    offers: list[tuple[int, int, float, int, int, float]] = []
    for row in [] if offer_table is None else offer_table.to_dict("records"):
        if row["workload"] not in w_of:
            continue  # no demand row to serve: it could only cost
        g = g_of[row["region"]] if has_regions else 0
        notice = 0 if _blank(row.get("notice")) else int(row["notice"])
        limit = np.inf if _blank(row.get("max_units")) else float(row["max_units"])
        offers.append(
            (w_of[row["workload"]], g, float(row["price"]), notice, int(row["term"]), limit)
        )
    n_offers = len(offers)

    def on_offer(o: int, tau: int) -> range:
        """Horizon periods in which the units of offer o signed in tau are active."""
        _, _, _, notice, term, _ = offers[o]
        return range(tau + notice, min(tau + notice + term, T))

    vendor_table = _read(directory, "vendor_limits.csv")

    # Default penalty: from the orderable SKUs only (a legacy SKU has no price).
    penalty_option = options.get("shortfall_penalty")
    penalty = np.zeros(W)
    for w, name in enumerate(workloads):
        serving = (factor[:, w] > 0) & orderable
        if isinstance(penalty_option, dict) and name in penalty_option:
            penalty[w] = float(penalty_option[name])
        elif penalty_option is not None and not isinstance(penalty_option, dict):
            penalty[w] = float(penalty_option)
        elif serving.any():
            penalty[w] = PENALTY_MULTIPLIER * float(
                np.max(catalog_price[serving] / factor[serving, w])
            )
        else:
            raise ValueError(f"no orderable SKU serves workload {name}: no default penalty")

    delta = 1.0 / (1.0 + float(options.get("discount_rate", 0.0)))
    disc = delta ** np.arange(T)
    hours = float(options.get("hours_per_period", DEFAULT_HOURS))
    load = float(options.get("load_factor", DEFAULT_LOAD_FACTOR))
    carryover = bool(options.get("budget_carryover", False))
    early = bool(options.get("early_retirement", False))
    # Energy and opex per installed unit per period, [sku, site].
    energy = np.outer(power, energy_price * pue) * hours * load
    running = energy + opex[:, None]
    facility_kw = np.outer(power, pue)  # kW per unit incl. PUE, [sku, site]

    # Clusters c: workload, size N_c, periods A_c (in the horizon), units M_{c,s} a pool
    # needs, and the pools (s, k) allowed to hold it. One wholly outside the horizon is ignored.
    cluster_list: list[tuple[str, int, float, np.ndarray, np.ndarray, np.ndarray]] = []
    for row in [] if clusters is None else clusters.to_dict("records"):
        active = (ordinals >= period(row["start"]).ordinal) & (
            ordinals <= period(row["end"]).ordinal
        )
        if not active.any():
            continue
        w = w_of[row["workload"]]
        f = factor[:, w]
        need = np.array([np.ceil(row["size"] / f[s] - 1e-9) if f[s] > 0 else 0.0 for s in range(S)])
        allowed = np.outer(f > 0, np.ones(K, dtype=bool))
        for column, names, axis in (("skus", skus, 0), ("sites", site_names, 1)):
            cell = row.get(column)
            if not _blank(cell):
                chosen = {part.strip() for part in str(cell).split(";")}
                keep = np.array([name in chosen for name in names])
                allowed &= keep[:, None] if axis == 0 else keep[None, :]
        if not _blank(row.get("region")):
            allowed &= np.array([r == row["region"] for r in site_region])[None, :]
        cluster_list.append((str(row["cluster"]), w, float(row["size"]), active, need, allowed))
    C = len(cluster_list)

    # Variables: n (integer lots), x (allocation), r (rent), u (shortfall), e (retirements:
    # one per fleet row and period, fixed to 0 outside the row's service or without the option),
    # y (cluster c on pool s, k: binary), ybar (cluster c not placed: binary).
    # v (offer units signed: continuous), b (an order of a min_lots SKU is placed: binary).
    J = len(rows_j)
    blocks = _blocks(
        (S, K, T),
        (S, K, W, G, T, Z),
        (W, G, T, Z),
        (W, G, T, Z),
        (J, T),
        (C, S, K),
        (C,),
        (n_offers, T),
        (S, K, T),
    )
    n_idx, x_idx, r_idx, u_idx, e_idx, y_idx, ybar_idx, v_idx, b_idx = blocks
    n_vars = sum(block.size for block in blocks)

    lower = np.zeros(n_vars)
    upper = np.full(n_vars, np.inf)
    integrality = np.zeros(n_vars)
    integrality[n_idx.ravel()] = 1
    integrality[e_idx.ravel()] = 1
    integrality[y_idx.ravel()] = 1
    integrality[ybar_idx] = 1
    integrality[b_idx.ravel()] = 1
    upper[b_idx] = 0.0  # opened below for min_lots orders that may be placed
    upper[ybar_idx] = 0.0 if options.get("shortfall") == "forbid" else 1.0
    for c, (_, _, _, _, _, allowed) in enumerate(cluster_list):
        upper[y_idx[c]] = allowed.astype(float)
    # x only for eligible sites (E_{w,g}) and SKUs that serve w.
    upper[x_idx] = np.where(
        (factor[:, None, :, None] > 0) & E.transpose(2, 0, 1)[None, :, :, :],
        np.inf,
        0.0,
    )[:, :, :, :, None, None]
    for s in range(S):
        for t in range(T):
            if t + lead[s] > T - 1 or not orderable[s]:
                upper[n_idx[s, :, t]] = 0.0
    for o in range(n_offers):
        upper[v_idx[o]] = np.where(np.arange(T) + offers[o][3] <= T - 1, np.inf, 0.0)

    # min_lots m_s > 1: n = 0 or m_s <= n <= U with a binary b: m_s b <= n <= U b. U is a
    # valid bound on any feasible n: the order is in service at its arrival a = τ + ℓ_s,
    # where every term of the power row (and of the space row) is >= 0, so
    # L_s n p_s pue_k <= Pcap_{k,a} and L_s n <= slots_k; and L_s n <= max_{s,τ}. Only
    # when none is finite (a 0 kW SKU, no slots, no max) is U an arbitrary 10^6 lots.
    def lot_bound(s: int, k: int, tau: int) -> float:
        a = tau + lead[s]
        bound = np.inf
        if facility_kw[s, k] > 0:
            bound = min(bound, cap[k, a] / (lot[s] * facility_kw[s, k]))
        if slots[k] is not None:
            bound = min(bound, slots[k] / lot[s])
        bound = min(bound, supply[s, tau] / lot[s])
        return float(np.floor(bound + 1e-9)) if np.isfinite(bound) else 1e6

    big_m: dict[tuple[int, int, int], float] = {}
    for s in range(S):
        if min_lots[s] <= 1:
            continue
        for k in range(K):
            for tau in range(T):
                if upper[n_idx[s, k, tau]] == 0:
                    continue
                bound = lot_bound(s, k, tau)
                if bound < min_lots[s]:
                    upper[n_idx[s, k, tau]] = 0.0  # not even m_s lots fit
                else:
                    upper[b_idx[s, k, tau]] = 1.0
                    big_m[(s, k, tau)] = bound
    upper[r_idx] = np.repeat(rent_cap[..., None], Z, axis=3)
    if options.get("shortfall") == "forbid":
        upper[u_idx] = 0.0
    for j, (_, _, units, live, _) in enumerate(rows_j):
        upper[e_idx[j]] = np.where(live & early, units, 0.0)

    # Which order periods tau deliver units in service at t: tau+lead <= t < tau+lead+life.
    def orders_serving(s: int, t: int) -> list[int]:
        return [tau for tau in range(T) if tau + lead[s] <= t < tau + lead[s] + life[s]]

    def installed(s: int, k: int, t: int) -> tuple[list[int], list[float]]:
        """The decision terms of I_{s,k,t} - F_{s,k,t}: +L n for orders in service, and
        -e_{j,tau} for every row j of (s, k) in service at t and tau <= t."""
        cols = [int(n_idx[s, k, tau]) for tau in orders_serving(s, t)]
        vals = [lot[s]] * len(cols)
        for j, (sj, kj, _, live, _) in enumerate(rows_j):
            if (sj, kj) == (s, k) and live[t]:
                cols += [int(e_idx[j, tau]) for tau in range(t + 1)]
                vals += [-1.0] * (t + 1)
        return cols, vals

    cost = np.zeros(n_vars)
    for s in range(S):
        for k in range(K):
            for tau in range(T):
                in_service = [t for t in range(T) if tau + lead[s] <= t < tau + lead[s] + life[s]]
                cost[n_idx[s, k, tau]] = lot[s] * (
                    delta ** (tau + pay_lag[s]) * price[s, tau]
                    + running[s, k] * disc[in_service].sum()
                )
    # A unit retired at tau: its salvage, and no energy or opex from tau while its row serves.
    for j, (sj, kj, _, live, salvage) in enumerate(rows_j):
        for tau in range(T):
            saved = running[sj, kj] * disc[tau:][live[tau:]].sum()
            cost[e_idx[j, tau]] = -disc[tau] * salvage - saved
    if options.get("terminal_value", "straight_line") == "straight_line":  # on by default
        # Straight-line value of the service life left after the horizon, discounted by δ^T.
        for s in range(S):
            for tau in range(T):
                left = min(life[s], max(0, tau + lead[s] + life[s] - T))
                credit = delta**T * price[s, tau] * lot[s] * left / life[s]
                cost[n_idx[s, :, tau]] -= credit
    # An offer signed in τ: q_o per unit in each active period (first stage).
    for o in range(n_offers):
        for tau in range(T):
            cost[v_idx[o, tau]] = offers[o][2] * disc[list(on_offer(o, tau))].sum()
    fleet_running = float(np.einsum("skt,sk,t->", F, running, disc))
    # Second-stage cost of each scenario (not weighted by its probability).
    scenario_cost = np.zeros((Z, n_vars))
    for o in range(Z):
        scenario_cost[o, r_idx[..., o]] = disc[None, None, :] * rent_price
        scenario_cost[o, u_idx[..., o]] = disc[None, None, :] * penalty[:, None, None]
    # A cluster not placed: its whole size at the shortfall penalty in every period it runs.
    for c, (_, w, size, active, _, _) in enumerate(cluster_list):
        cost[ybar_idx[c]] = penalty[w] * size * disc[active].sum()
    first_stage = cost.copy()
    cost = first_stage + prob @ scenario_cost
    cvar_weight = float(options.get("cvar_weight", 0.5)) if options.get("risk") == "cvar" else 0.0
    if cvar_weight > 0:
        # (1 - w) E[C] + w (η + Σ π z / (1 - α)),  z_ω >= C_ω - η,  z >= 0, η free.
        alpha = float(options.get("cvar_alpha", 0.9))
        eta, z_idx = n_vars, n_vars + 1 + np.arange(Z)
        n_vars += 1 + Z
        cost = np.r_[(1 - cvar_weight) * cost, cvar_weight, cvar_weight * prob / (1 - alpha)]
        lower = np.r_[lower, -np.inf, np.zeros(Z)]
        upper = np.r_[upper, np.full(1 + Z, np.inf)]
        integrality = np.r_[integrality, np.zeros(1 + Z)]

    rows = _Rows()
    # split: sum_{w,g} x + sum_{c: t in A_c} M_{c,s} y_{c,s,k} <= a_s I, as
    # sum x + sum M y - a_s (I - F) <= a_s F
    for s in range(S):
        for k in range(K):
            for t in range(T):
                cols, vals = installed(s, k, t)
                held = [c for c in range(C) if cluster_list[c][3][t]]
                for o in range(Z):
                    rows.add(
                        np.concatenate(
                            [x_idx[s, k, :, :, t, o].ravel(), [y_idx[c, s, k] for c in held], cols]
                        ).astype(int),
                        np.concatenate(
                            [
                                np.ones(W * G),
                                [cluster_list[c][4][s] for c in held],
                                -availability[s] * np.array(vals),
                            ]
                        ),
                        -np.inf,
                        availability[s] * F[s, k, t],
                    )
    # cluster: sum_{s,k} y + ybar = 1
    for c in range(C):
        rows.add(np.r_[y_idx[c].ravel(), ybar_idx[c]], 1.0, 1.0, 1.0)
    # demand: sum f x + (offer units active at t) + r + u >= D
    for w in range(W):
        for g in range(G):
            for t in range(T):
                signed = [
                    int(v_idx[q, tau])
                    for q in range(n_offers)
                    if offers[q][:2] == (w, g)
                    for tau in range(T)
                    if t in on_offer(q, tau)
                ]
                for o in range(Z):
                    rows.add(
                        np.concatenate(
                            [
                                x_idx[:, :, w, g, t, o].ravel(),
                                [r_idx[w, g, t, o], u_idx[w, g, t, o]],
                                signed,
                            ]
                        ).astype(int),
                        np.concatenate(
                            [np.repeat(factor[:, w], K), [1.0, 1.0], np.ones(len(signed))]
                        ),
                        D[w, g, t, o],
                        np.inf,
                    )
    # power and slots: on installed units I (fleet less retirements, plus new)
    for k in range(K):
        for t in range(T):
            cols, kw, units = [], [], []
            for s in range(S):
                terms, coefs = installed(s, k, t)
                cols += terms
                kw += [facility_kw[s, k] * c for c in coefs]
                units += coefs
            fleet_kw = float(facility_kw[:, k] @ F[:, k, t])
            if cols:
                rows.add(np.array(cols), np.array(kw), -np.inf, cap[k, t] - fleet_kw)
            if slots[k] is not None and cols:
                rows.add(np.array(cols), np.array(units), -np.inf, slots[k] - F[:, k, t].sum())
    # budget, per budget period b: capex c L n of orders with pay(s, τ) in P_b; with
    # carryover, cumulative over the budget periods in time order.
    for b in range(len(budget_rows)):
        through = range(b + 1) if carryover else [b]
        paid = {t for i in through for t in budget_rows[i][1]}
        spent, vals = [], []
        for s in range(S):
            for tau in range(T):
                if tau + pay_lag[s] in paid:
                    spent += [int(n_idx[s, k, tau]) for k in range(K)]
                    vals += [price[s, tau] * lot[s]] * K
        if spent:
            rows.add(np.array(spent), np.array(vals), -np.inf, budget[list(through)].sum())
    # supply: min_units <= sum_k L n <= max_units
    for s in range(S):
        for t in range(T):
            if np.isfinite(supply[s, t]) or supply_min[s, t] > 0:
                rows.add(n_idx[s, :, t], lot[s], supply_min[s, t], supply[s, t])
    # min_lots: m_s b <= n <= U b
    for (s, k, tau), bound in big_m.items():
        rows.add([n_idx[s, k, tau], b_idx[s, k, tau]], [1.0, -min_lots[s]], 0.0, np.inf)
        rows.add([n_idx[s, k, tau], b_idx[s, k, tau]], [1.0, -bound], -np.inf, 0.0)
    # offer limit: units of offer o active at t <= max_o
    for o in range(n_offers):
        if np.isfinite(offers[o][5]):
            for t in range(T):
                signed = [int(v_idx[o, tau]) for tau in range(T) if t in on_offer(o, tau)]
                if signed:
                    rows.add(np.array(signed), 1.0, -np.inf, offers[o][5])
    # vendor: with C_s = Σ_{k,τ} c L n (undiscounted), min_v Σ_s C_s <= Σ_{s of v} C_s
    # <= max_v Σ_s C_s, as Σ_s (1[vendor_s = v] - share) C_s <= 0 (max) and >= 0 (min).
    for row in [] if vendor_table is None else vendor_table.to_dict("records"):
        mine = np.array([vendor[s] == row["vendor"] for s in range(S)], dtype=float)
        for key, lb_ub in (("max_share", (-np.inf, 0.0)), ("min_share", (0.0, np.inf))):
            if _blank(row.get(key)):
                continue  # min_share defaults to 0: no row needed
            share = float(row[key])
            coef = (mine - share)[:, None, None] * price[:, None, :] * lot[:, None, None]
            coef = np.broadcast_to(coef, (S, K, T))
            rows.add(n_idx.ravel(), coef.ravel(), *lb_ub)

    # retirement: sum_t e_{j,t} <= U_j
    for j, (_, _, units, _, _) in enumerate(rows_j):
        rows.add(e_idx[j], 1.0, -np.inf, units)

    if cvar_weight > 0:
        for o in range(Z):
            c_o = first_stage + scenario_cost[o]
            used = np.flatnonzero(c_o)
            rows.add(
                np.r_[used, eta, z_idx[o]],
                np.r_[-c_o[used], 1.0, 1.0],
                fleet_running,
                np.inf,
            )

    result = milp(
        cost,
        constraints=rows.constraint(n_vars),
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"mip_rel_gap": 0.0, "time_limit": 60.0, "disp": False},
    )
    fleet_over_power = bool((np.einsum("sk,skt->kt", facility_kw, F) > cap + 1e-9).any())
    if result.status == 2:  # infeasible: not an error, a result
        return ReferenceResult(
            objective=np.inf,
            fleet_running=fleet_running,
            lots=np.zeros((S, K, T)),
            retired=np.zeros((J, T)),
            placed=dict.fromkeys([c[0] for c in cluster_list]),
            capex=np.zeros(T),
            budget=budget,
            budget_spend=np.zeros(len(budget_rows)),
            signed=np.zeros((n_offers, T)),
            feasible=False,
            fleet_over_power=fleet_over_power,
        )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"reference MILP did not solve to optimality: {result.message}")
    lots = np.round(result.x[n_idx])
    placed: dict[str, tuple[str, str] | None] = {}
    for c, (name, *_rest) in enumerate(cluster_list):
        where = np.argwhere(np.round(result.x[y_idx[c]]) > 0)
        placed[name] = (skus[where[0][0]], site_names[where[0][1]]) if len(where) else None
    capex = np.zeros(T)
    for s in range(S):
        for tau in range(T):
            if lots[s, :, tau].sum() > 0:
                capex[tau + pay_lag[s]] += lots[s, :, tau].sum() * price[s, tau] * lot[s]
    budget_spend = np.array([capex[covered].sum() for _, covered, _ in budget_rows])
    return ReferenceResult(
        # η absorbs the fleet's running cost in the CVaR part; the expectation part lacks it.
        objective=float(result.fun) + (1 - cvar_weight) * fleet_running,
        fleet_running=fleet_running,
        lots=lots,
        retired=np.round(result.x[e_idx]),
        placed=placed,
        capex=capex,
        budget=budget,
        budget_spend=budget_spend,
        signed=result.x[v_idx],
        fleet_over_power=fleet_over_power,
    )
