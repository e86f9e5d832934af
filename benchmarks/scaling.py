"""Scaling of the planning model: build and solve from 5x2x8x1 to 100x20x40x1.

Run ``python benchmarks/scaling.py``. For each size (SKUs x sites x periods x scenarios,
four workloads, a seeded instance from ``benchmarks/instances.py`` with the
second-version families on: three regions with eligibility across them, training
clusters, a legacy SKU, opex and availability, early retirement with salvage, the
terminal value, and the commercial terms: vendors with share limits, minimum orders,
committed volumes, budgets by year charged at delivery and reserved cloud contracts) a
fresh process builds the docs/model.md model with capforecast (arrays,
vectorised), solves it with HiGHS to a 0.1% gap, and builds the same model with linopy
(xarray, vectorised) in the same process; it reports variables, constraints, build and
solve seconds, the gap, the peak memory of the process, and the ratio of linopy's build
time to ours. On the small sizes both LP relaxations are solved and compared. One more
instance family, ``knapsack`` (one accelerator dominates, budgets bind: a wide integer
knapsack), is measured at 50x10x20x1. Last, ``capforecast.plan.solve.solve`` with default
options (0.1% gap, 60 s) is timed phase by phase on the standard and the knapsack
50x10x20x1 instances. The result replaces the ``scaling`` section of
``docs/benchmarks.md``; ``--rows`` runs a subset (and writes nothing).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instances import write_scaled_instance  # noqa: E402
from benchmarks.report import markdown_table, write_section  # noqa: E402
from capforecast.plan.data import ModelData  # noqa: E402
from capforecast.plan.highs import arrays  # noqa: E402
from capforecast.plan.highs_process import HighsProblem  # noqa: E402
from capforecast.plan.inputs import read_planning_inputs  # noqa: E402
from capforecast.plan.model import build_model  # noqa: E402
from capforecast.plan.solvers import get_solver  # noqa: E402
from capforecast.plan.status import relative_gap  # noqa: E402

WORKLOADS = 4
#: Sizes, the time limit of each solve and the instance family (the largest size once
#: more with a longer limit).
SIZES = [
    ((5, 2, 8, 1), 120.0, "standard"),
    ((10, 4, 12, 1), 120.0, "standard"),
    ((20, 5, 16, 4), 120.0, "standard"),
    ((50, 10, 20, 1), 120.0, "standard"),
    ((50, 10, 20, 1), 120.0, "knapsack"),
    ((50, 10, 20, 10), 120.0, "standard"),
    ((100, 20, 40, 1), 120.0, "standard"),
    ((100, 20, 40, 1), 600.0, "standard"),
]
#: Sizes on which both LP relaxations are solved, to check that both build the same model.
COMPARE_RELAXATIONS = {(5, 2, 8, 1), (10, 4, 12, 1), (20, 5, 16, 4)}
#: Sizes on which HiGHS also solves the whole MIP in one run (no phases), as the anchor.
ONE_RUN = {(5, 2, 8, 1), (10, 4, 12, 1), (20, 5, 16, 4), (50, 10, 20, 1)}
#: The instances on which ``solve(inputs)`` with default options is timed by phase.
DEFAULTS = [((50, 10, 20, 1), "standard"), ((50, 10, 20, 1), "knapsack")]


#: The library refuses inputs over ``LIMITS.allocation`` (500,000) SKU x site x
#: workload-region x period x scenario cells; with three regions, 50x10x20x10 and
#: 100x20x40x1 are over it (though eligibility leaves a third of those cells), so this
#: benchmark raises the limit in its own processes, as docs of the limit invite.
ALLOCATION_LIMIT = 5_000_000


def read_instance(folder: str):  # type: ignore[no-untyped-def]
    """``read_planning_inputs(folder)`` with the allocation limit raised."""
    from dataclasses import replace

    from capforecast.plan import inputs as module

    saved = module.LIMITS
    module.LIMITS = replace(saved, allocation=ALLOCATION_LIMIT)  # type: ignore[misc]
    try:
        return read_planning_inputs(folder)
    finally:
        module.LIMITS = saved  # type: ignore[misc]


def write_instance(folder: str, size: tuple[int, int, int, int], kind: str) -> None:
    """The seeded instance of ``size`` with every family and the commercial terms on
    (``kind``: ``standard`` or ``knapsack``)."""
    skus, sites, periods, scenarios = size
    write_scaled_instance(
        Path(folder),
        skus,
        sites,
        WORKLOADS,
        periods,
        scenarios,
        seed=1,
        families=True,
        knapsack=kind == "knapsack",
        commercial=True,
    )


def linopy_model(data: ModelData, integer: bool = True):  # type: ignore[no-untyped-def]
    """The docs/model.md model written the linopy way (labelled arrays, masks).

    Like-for-like with :func:`capforecast.plan.model.build_model` on these instances:
    regions and eligibility (``x`` over ``s, k, w, g, t, ω``), training clusters (``y``,
    ``ȳ``), legacy SKUs (no orders: their lead time is ``T``), opex and availability,
    early retirement with salvage (``e``), the terminal value, and the commercial terms:
    minimum orders (``z``), committed volumes, vendor shares, budgets by budget period
    charged at order or delivery, and reserved cloud contracts (``v``). Retirements are
    indexed by ``(s, k, τ)``, which assumes one fleet row per SKU and site, as in
    ``benchmarks/instances.py``.
    """
    import linopy

    warnings.filterwarnings("ignore", category=linopy.LinopySemanticsWarning)  # masked terms

    sizes = {
        "s": len(data.skus),
        "k": len(data.sites),
        "w": len(data.workloads),
        "g": len(data.regions),
        "t": data.horizon,
        "o": len(data.scenarios),
        "tau": data.horizon,
        "c": len(data.clusters),
        "q": len(data.offers),
        "v": len(data.vendors),
    }
    index = {d: pd.RangeIndex(n, name=d) for d, n in sizes.items()}
    axis = {
        d: xr.DataArray(np.arange(n), coords={d: np.arange(n)}, dims=d) for d, n in sizes.items()
    }
    site, period, scen = axis["k"], axis["t"], axis["o"]
    tau = axis["tau"]
    lead = xr.DataArray(data.lead_time, dims="s")
    life = xr.DataArray(data.lifetime, dims="s")
    lot = xr.DataArray(data.lot_size, dims="s")
    avail = xr.DataArray(data.availability, dims="s")
    arrives = (tau + lead <= data.horizon - 1).broadcast_like(site)
    m = linopy.Model()
    # Orders that would arrive after the horizon (and every order of a legacy SKU, whose
    # lead time is T), allocations to workloads a SKU cannot serve or sites not eligible
    # for the demand's region get an upper bound of 0 (masks change meaning across
    # linopy versions).
    n = m.add_variables(
        lower=0,
        upper=xr.where(arrives, np.inf, 0.0).transpose("s", "k", "tau"),
        coords=[index["s"], index["k"], index["tau"]],
        name="n",
        integer=integer,
    )
    factor = xr.DataArray(data.factor, dims=("s", "w"))
    eligible = xr.DataArray(data.eligible & data.pairs[:, :, None], dims=("w", "g", "k"))
    servable = (factor > 0) & eligible
    servable = servable.broadcast_like(period).broadcast_like(scen)
    x = m.add_variables(
        lower=0,
        upper=xr.where(servable, np.inf, 0.0).transpose("s", "k", "w", "g", "t", "o"),
        coords=[index[d] for d in "skwgto"],
        name="x",
    )
    # Minimum orders: z[s, k, τ] where m_s > 1; U the most lots the power cap could take.
    with np.errstate(divide="ignore", invalid="ignore"):
        arrival = np.minimum(tau.values[None, :] + data.lead_time[:, None], data.horizon - 1)
        most = np.floor(
            data.power_cap[:, arrival].transpose(1, 0, 2)
            / (data.facility_kw * data.lot_size[:, None])[:, :, None]
            + 1e-9
        )  # [s, k, τ]
    sized = xr.DataArray(
        (data.min_lots > 1)[:, None, None] & (most >= data.min_lots[:, None, None]),
        dims=("s", "k", "tau"),
    )
    need_lots = xr.DataArray(data.min_lots, dims="s")
    bound = xr.DataArray(np.where(np.isfinite(most), most, 0.0), dims=("s", "k", "tau"))
    z = m.add_variables(
        lower=0,
        upper=xr.where(sized & arrives, 1.0, 0.0).transpose("s", "k", "tau"),
        coords=[index["s"], index["k"], index["tau"]],
        name="z",
        integer=integer,
    )
    m.add_constraints(n - need_lots * z >= 0, name="min_lots", mask=sized)
    m.add_constraints(n - bound * z <= 0, name="order_size", mask=sized)
    too_small = xr.DataArray(
        (data.min_lots > 1)[:, None, None] & (most < data.min_lots[:, None, None]),
        dims=("s", "k", "tau"),
    )
    m.add_constraints(n <= 0, name="too_small", mask=too_small)
    # Reserved cloud contracts: v[q, τ] signed in τ, active in act(q, τ).
    offers = data.offers
    notice, term = xr.DataArray(offers.notice, dims="q"), xr.DataArray(offers.term, dims="q")
    v = m.add_variables(
        lower=0,
        upper=xr.where(tau + notice <= data.horizon - 1, np.inf, 0.0).transpose("q", "tau"),
        coords=[index["q"], index["tau"]],
        name="v",
    )
    live = (tau + notice <= period) & (period <= tau + notice + term - 1)  # [q, τ, t]
    held_offer = (v * live).sum("tau")  # [q, t]
    of_pair = np.zeros((sizes["q"], sizes["w"], sizes["g"]))
    of_pair[np.arange(sizes["q"]), offers.workload, offers.region] = 1.0
    reserved = (held_offer * xr.DataArray(of_pair, dims=("q", "w", "g"))).sum("q")
    capped = xr.DataArray(np.isfinite(offers.max_units), dims="q")
    limit = xr.DataArray(np.where(np.isfinite(offers.max_units), offers.max_units, 0.0), dims="q")
    m.add_constraints(held_offer <= limit, name="offer_limit", mask=capped.broadcast_like(period))
    pairs = xr.DataArray(data.pairs, dims=("w", "g"))
    rent_cap = xr.DataArray(data.rent_cap, dims=("w", "g", "t"))
    r = m.add_variables(
        lower=0,
        upper=rent_cap.broadcast_like(scen).transpose("w", "g", "t", "o"),
        coords=[index[d] for d in "wgto"],
        name="r",
    )
    u = m.add_variables(
        lower=0,
        upper=xr.where(pairs, np.inf, 0.0).broadcast_like(period).broadcast_like(scen),
        coords=[index[d] for d in "wgto"],
        name="u",
    )
    in_service = (tau + lead <= period) & (period < tau + lead + life)  # [s, tau, t]
    new = (n * (lot * in_service)).sum("tau")  # units of new orders installed, [s, k, t]
    fleet = xr.DataArray(data.fleet, dims=("s", "k", "t"))
    # Early retirement: e[s, k, τ] units of the fleet row of (s, k) retired at τ.
    rows = data.fleet_rows
    sk = rows.sku * len(data.sites) + rows.site
    if len(np.unique(sk)) != len(sk):
        raise ValueError("linopy_model assumes one fleet row per SKU and site")
    units, salvage = np.zeros((sizes["s"], sizes["k"])), np.zeros((sizes["s"], sizes["k"]))
    begin, end = np.zeros_like(units, dtype=int), np.zeros_like(units, dtype=int)
    units[rows.sku, rows.site], salvage[rows.sku, rows.site] = rows.units, rows.salvage
    begin[rows.sku, rows.site], end[rows.sku, rows.site] = rows.start, rows.end
    U = xr.DataArray(units, dims=("s", "k"))
    begin_, end_ = xr.DataArray(begin, dims=("s", "k")), xr.DataArray(end, dims=("s", "k"))
    retirable = (begin_ <= tau) & (tau < end_) & (U > 0) & data.early_retirement
    e = m.add_variables(
        lower=0,
        upper=xr.where(retirable, U, 0.0).transpose("s", "k", "tau"),
        coords=[index["s"], index["k"], index["tau"]],
        name="e",
        integer=integer,
    )
    retired = (e * ((tau <= period) & (period < end_))).sum("tau")  # [s, k, t]
    change = new - retired  # installed units beyond F, [s, k, t]
    # Clusters: y[c, s, k] on the pools allowed to hold c, ȳ[c] when not placed.
    clusters = data.clusters
    pools = xr.DataArray(clusters.pools, dims=("c", "s", "k"))
    need = xr.DataArray(clusters.units, dims=("c", "s"))
    active = xr.DataArray(clusters.active, dims=("c", "t"))
    y = m.add_variables(
        lower=0,
        upper=xr.where(pools, 1.0, 0.0),
        coords=[index["c"], index["s"], index["k"]],
        name="y",
        integer=integer,
    )
    y_bar = m.add_variables(
        lower=0,
        upper=0.0 if data.forbid_shortfall else 1.0,
        coords=[index["c"]],
        name="y_bar",
        integer=integer,
    )
    held = (y * (need * active)).sum("c")  # [s, k, t]
    m.add_constraints(x.sum(["w", "g"]) + held - avail * change <= avail * fleet, name="split")
    m.add_constraints(y.sum(["s", "k"]) + y_bar == 1, name="cluster")
    m.add_constraints(e.sum("tau") <= U, name="retire", mask=U > 0)
    demand = xr.DataArray(data.demand, dims=("w", "g", "t", "o"))
    m.add_constraints(
        (factor * x).sum(["s", "k"]) + reserved + r + u >= demand,
        name="demand",
        mask=pairs.broadcast_like(period).broadcast_like(scen),
    )
    kw = xr.DataArray(data.facility_kw, dims=("s", "k"))
    cap = xr.DataArray(data.power_cap, dims=("k", "t"))
    m.add_constraints((kw * change).sum("s") <= cap - (kw * fleet).sum("s"), name="power")
    if np.isfinite(data.slots).any():
        finite = xr.DataArray(np.isfinite(data.slots), dims="k")
        slots = xr.DataArray(np.where(np.isfinite(data.slots), data.slots, 0.0), dims="k")
        m.add_constraints(change.sum("s") <= slots - fleet.sum("s"), name="slots", mask=finite)
    price = xr.DataArray(data.price, dims=("s", "tau"))
    budget = xr.DataArray(data.budget, dims="b")
    capex = price * lot * n
    # The budget period of the period each order is paid in (its order or arrival period);
    # with carryover an order counts in its own budget period and every later one.
    s_grid, t_grid = np.indices((len(data.skus), data.horizon))
    paid = np.minimum(data.pay_period(s_grid, t_grid), data.horizon - 1)
    b = np.arange(len(data.budget))
    counted = data.budget_of[paid][:, :, None]
    counted = (counted <= b) if data.carryover else (counted == b)
    counts = xr.DataArray(counted, dims=("s", "tau", "b"))
    limit_b = budget.cumsum("b") if data.carryover else budget
    m.add_constraints((capex * counts).sum(["s", "k", "tau"]) <= limit_b, name="budget")
    floor = xr.DataArray(data.supply_min, dims=("s", "tau"))
    m.add_constraints((lot * n).sum("k") >= floor, name="supply_min", mask=floor > 0)
    # Vendor shares of the list capex C_s of all orders.
    spent = capex.sum(["k", "tau"])  # [s]
    own = xr.DataArray(
        np.asarray(data.sku_vendor, dtype=object)[None, :]
        == np.asarray(data.vendors, dtype=object)[:, None],
        dims=("v", "s"),
    ).astype(float)
    high, low = xr.DataArray(data.vendor_max, dims="v"), xr.DataArray(data.vendor_min, dims="v")
    m.add_constraints((spent * (own - high)).sum("s") <= 0, name="vendor_max")
    m.add_constraints((spent * (own - low)).sum("s") >= 0, name="vendor_min", mask=low > 0)
    supply = xr.DataArray(data.supply, dims=("s", "tau"))
    limited = xr.DataArray(np.isfinite(data.supply), dims=("s", "tau"))
    m.add_constraints((lot * n).sum("k") <= supply.where(limited, 0.0), name="supply", mask=limited)
    disc = xr.DataArray(data.discount, dims="t")
    running = xr.DataArray(data.running_cost, dims=("s", "k"))
    weight = disc * xr.DataArray(data.probability, dims="o")
    rent_price = xr.DataArray(data.rent_price, dims=("w", "g", "t"))
    penalty = xr.DataArray(data.penalty, dims="w")
    credit = xr.DataArray(
        data.terminal_credit if data.terminal_value else np.zeros_like(data.price),
        dims=("s", "tau"),
    )
    paid_disc = xr.DataArray(data.discount[paid], dims=("s", "tau"))
    offer_price = xr.DataArray(offers.price, dims="q")
    m.add_objective(
        ((paid_disc - credit) * capex).sum()
        + (disc * offer_price * held_offer).sum()
        + (disc * running * change).sum()
        - (disc.rename(t="tau") * xr.DataArray(salvage, dims=("s", "k")) * e).sum()
        + (xr.DataArray(data.unplaced_cost, dims="c") * y_bar).sum()
        + (weight * rent_price * r).sum()
        + (weight * penalty * u).sum()
    )
    return m


def one(size: tuple[int, int, int, int], time_limit_s: float, kind: str) -> dict[str, object]:
    """Measure one size in this process."""
    with tempfile.TemporaryDirectory() as folder:
        write_instance(folder, size, kind)
        inputs = read_instance(folder)
    data = ModelData.from_inputs(inputs)
    started = time.perf_counter()
    model = build_model(data)
    build_s = time.perf_counter() - started
    outcome = get_solver("highs").solve(model.program, mip_gap=0.001, time_limit_s=time_limit_s)
    solve_s = time.perf_counter() - started - build_s
    one_run_s = one_run_gap = None
    if size in ONE_RUN:
        started = time.perf_counter()
        plain = HighsProblem(arrays(build_model(data).program))
        whole = plain.run(relax=False, mip_gap=0.001, time_limit_s=time_limit_s)
        one_run_s = time.perf_counter() - started
        one_run_gap = relative_gap(whole.objective, whole.bound)
    gap = relative_gap(outcome.objective, outcome.bound)  # both include the fleet's energy
    started = time.perf_counter()
    linopy_model(data)
    linopy_s = time.perf_counter() - started
    agree = None
    if size in COMPARE_RELAXATIONS:
        # Same model, same LP relaxation: both optima must agree to solver precision.
        relaxed = linopy_model(data, integer=False)
        relaxed.solve("highs", output_flag=False)
        continuous = model.program.copy()
        continuous.integer[:] = False
        lp = get_solver("highs").solve(continuous, mip_gap=0.0, time_limit_s=time_limit_s)
        ours = lp.objective or 0.0
        theirs = float(relaxed.objective.value) + model.objective_constant
        agree = abs(ours - theirs) <= 1e-7 * abs(ours)
    return {
        "size": size,
        "kind": kind,
        "variables": model.program.num_columns,
        "integers": int(model.program.integer.sum()),
        "constraints": model.program.num_rows,
        "build_s": build_s,
        "solve_s": solve_s,
        "status": str(outcome.status),
        "message": outcome.message,
        "gap": gap,
        "one_run_s": one_run_s,
        "one_run_gap": one_run_gap,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "linopy_build_s": linopy_s,
        "relaxations_agree": agree,
    }


def defaults(size: tuple[int, int, int, int], kind: str) -> dict[str, object]:
    """``solve(inputs)`` with default options, timing each phase of
    ``capforecast/plan/highs.py`` (by wrapping its calls in this process)."""
    from capforecast.plan import highs
    from capforecast.plan.solve import solve

    phases: list[dict[str, object]] = []

    def timed(name, call):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            result = call(*args, **kwargs)
            label = name(kwargs) if callable(name) else name
            phases.append(
                {
                    "phase": label,
                    "at": started - begun,
                    "s": time.perf_counter() - started,
                    "objective": result.objective,
                    "bound": result.bound,
                }
            )
            return result

        return wrapper

    HighsProblem.run = timed(  # type: ignore[method-assign]
        lambda kw: "LP relaxation" if kw.get("relax") else "MIP in process", HighsProblem.run
    )
    HighsProblem.fixed_at = timed(  # type: ignore[method-assign]
        lambda kw: (
            "clusters fixed (dive)" if kw.get("columns") is not None else "orders rounded down"
        ),
        HighsProblem.fixed_at,
    )
    highs._in_child = timed(  # type: ignore[attr-defined]
        lambda kw: "neighbourhood" if kw.get("target") is not None else "whole MIP",
        highs._in_child,
    )
    with tempfile.TemporaryDirectory() as folder:
        write_instance(folder, size, kind)
        inputs = read_instance(folder)
    begun = started = time.perf_counter()
    plan = solve(inputs)
    spend = plan.spend
    binding = int(((spend["budget"] - spend["capex"]) <= 0.02 * spend["budget"]).sum())
    purchases = plan.purchases
    top = purchases.groupby("sku")["lots"].sum().sort_values(ascending=False)
    return {
        "size": size,
        "kind": kind,
        "status": str(plan.status),
        "gap": plan.gap,
        "build_s": plan.build_seconds,
        "solve_s": plan.solve_seconds,
        "total_s": time.perf_counter() - started,
        "phases": phases,
        "budget_binding": binding,
        "periods": len(spend),
        "lots": int(purchases["lots"].sum()),
        "top_sku": str(top.index[0]) if len(top) else "",
        "top_lots": int(top.iloc[0]) if len(top) else 0,
    }


def _percent(value: float | None) -> str:
    return "no plan" if value is None else f"{value:.3%}"


def _child(*arguments: str) -> dict[str, object]:
    """Run this script with ``arguments`` in a fresh process; its last line of JSON."""
    found = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True)
    if found.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)}: {found.stderr.strip()[-2000:]}")
    return json.loads(found.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _size_row(result: dict[str, object], limit: float) -> dict[str, object]:
    r = result
    total = r["build_s"] + r["solve_s"]  # type: ignore[operator]
    return {
        "S x K x T x scenarios": "x".join(map(str, r["size"])),  # type: ignore[call-overload]
        "instance": r["kind"],
        "variables (integer)": f"{r['variables']:,} ({r['integers']:,})",
        "constraints": f"{r['constraints']:,}",
        "build s": round(r["build_s"], 3),  # type: ignore[call-overload]
        "solve s": round(r["solve_s"], 2),  # type: ignore[call-overload]
        "build % of total": f"{r['build_s'] / total:.0%}",  # type: ignore[operator]
        "limit s": round(limit),
        "status": r["status"],
        "gap": "n/a" if r["gap"] is None else f"{r['gap']:.3%}",
        "stopped because": r["message"],
        "HiGHS in one run: s (gap)": "n/a"
        if r["one_run_s"] is None
        else f"{r['one_run_s']:.2f} ({_percent(r['one_run_gap'])})",  # type: ignore[arg-type]
        "peak MB": round(r["peak_mb"]),  # type: ignore[call-overload]
        "linopy build / ours": round(r["linopy_build_s"] / r["build_s"], 2),  # type: ignore[operator]
        "LP relaxations agree": "n/a" if r["relaxations_agree"] is None else r["relaxations_agree"],
    }


def _defaults_row(r: dict[str, object]) -> dict[str, object]:
    end = r["build_s"] + r["solve_s"]  # type: ignore[operator]
    parts, searched = [], False
    for phase in r["phases"]:  # type: ignore[attr-defined]
        if phase["at"] >= end:
            continue  # the explanations' LPs, after the solve
        name = phase["phase"]
        if name == "LP relaxation" and searched:
            name = "allocation LP (read-back)"  # capforecast/plan/allocation.py
        searched = searched or name != "LP relaxation"
        found = "no plan" if phase["objective"] is None else f"{phase['objective']:.6g}"
        parts.append(f"{name} {phase['s']:.1f} s ({found})")
    return {
        "instance": f"{'x'.join(map(str, r['size']))} {r['kind']}",  # type: ignore[call-overload]
        "status": r["status"],
        "gap": _percent(r["gap"]),  # type: ignore[arg-type]
        "build s": round(r["build_s"], 2),  # type: ignore[call-overload]
        "solve s": round(r["solve_s"], 1),  # type: ignore[call-overload]
        "within 30 s": r["build_s"] + r["solve_s"] <= 30,  # type: ignore[operator]
        "phases, s (objective)": "; ".join(parts),
        "budget binding (periods)": f"{r['budget_binding']} of {r['periods']}",
        "lots ordered (most of one SKU)": f"{r['lots']:,} ({r['top_lots']:,} of {r['top_sku']})",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=4, type=int, help="measure one size and print JSON")
    parser.add_argument("--time-limit", type=float, default=120.0, help="with --one")
    parser.add_argument("--kind", default="standard", choices=["standard", "knapsack"])
    parser.add_argument("--defaults", action="store_true", help="with --one: default solve")
    parser.add_argument(
        "--rows", type=int, nargs="*", help="only these rows of SIZES (and DEFAULTS after them)"
    )
    parser.add_argument(
        "--cache", type=Path, help="JSON lines of results: reused, and each new one added"
    )
    args = parser.parse_args()
    if args.one:
        size = tuple(args.one)
        if args.defaults:
            print(json.dumps(defaults(size, args.kind), default=float))  # type: ignore[arg-type]
        else:
            print(json.dumps(one(size, args.time_limit, args.kind)))  # type: ignore[arg-type]
        return 0
    chosen = range(len(SIZES) + len(DEFAULTS)) if args.rows is None else args.rows
    rows, default_rows = [], []
    cached: dict[str, dict[str, object]] = {}
    if args.cache is not None and args.cache.exists():
        for line in args.cache.read_text().splitlines():
            entry = json.loads(line)
            cached[entry["key"]] = entry["result"]
    for number in chosen:
        if number < len(SIZES):
            size, limit, kind = SIZES[number]
            arguments = ["--one", *map(str, size), "--time-limit", str(limit), "--kind", kind]
        else:
            size, kind = DEFAULTS[number - len(SIZES)]
            arguments = ["--one", *map(str, size), "--kind", kind, "--defaults"]
        key = " ".join(arguments)
        if key not in cached:
            cached[key] = _child(*arguments)
            if args.cache is not None:
                with args.cache.open("a") as cache:
                    cache.write(json.dumps({"key": key, "result": cached[key]}) + "\n")
        result = cached[key]
        if number < len(SIZES):
            rows.append(_size_row(result, limit))
            print(rows[-1], flush=True)
        else:
            default_rows.append(_defaults_row(result))
            print(default_rows[-1], flush=True)
    if args.rows is not None:
        return 0
    table, default_table = markdown_table(rows), markdown_table(default_rows)
    print(table)
    print(default_table)
    write_section(
        "scaling",
        "\n".join(
            [
                "## Planning model scaling (`benchmarks/scaling.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. These machines are shared and "
                "noisy (2 cores, other jobs running): compare ratios (linopy / ours, "
                "phases / HiGHS in one run), not absolute seconds, which move by 2x "
                "between runs of the same instance.",
                "",
                f"Seeded instances (`benchmarks/instances.py`) with {WORKLOADS} workloads "
                "and every family of the second model version on: three regions (site k "
                "in region k mod 3, demand per workload and region, rent per region, "
                "`eligibility.csv` letting each region of even workloads use one site of "
                "the next region), one to three training clusters sized so only some "
                "pools can hold one (80% of the 80th percentile of pool sizes), a legacy "
                "SKU (owned, not orderable, past the horizon) in the fleet, opex and "
                "availability, `early_retirement: true` with salvage values, the "
                "terminal value (default), and the commercial terms (docs/model.md "
                "§6.15-6.19): SKU i sold by vendor v(i mod 3), no vendor above 60% of "
                "capex and one at least 10%, every third orderable SKU ordered at least "
                "2-4 lots at a time, committed volumes of the two cheapest SKUs per "
                "reference unit, budgets by year charged at delivery, and a one-year "
                "reserved cloud contract per workload and region at 40% below rent after "
                "one quarter's notice. The *knapsack* instance has the same families, "
                "a fleet dominated by one accelerator (1,500-3,000 per site, the best "
                "price per reference unit, lots of 8, lead time 1) and budgets that buy "
                "40-80% of what 8% demand growth would need, so they bind in every "
                "period and shortfall is most of its cost: the plan orders tens of "
                "thousands of lots, most of them of one lead-time-0 SKU, a wide integer "
                "knapsack in every period.",
                "",
                "Each size in a fresh process (peak MB is that process's maximum "
                "resident memory, linopy included). Build: from the planning data to the "
                "program's arrays. Solve: capforecast's HiGHS back end to a 0.1% gap, "
                "single thread, in phases (docs/model.md §6.8: LP relaxation, orders "
                "rounded down, the MIP over the orders the LP places, and the whole MIP "
                "only when the best plan is not within the gap of the LP bound). The "
                "anchor is HiGHS on the whole MIP in one run, same model, gap and time "
                "limit. linopy builds the same model (regions and eligibility, clusters, "
                "retirements, legacy SKUs, opex, availability, salvage, terminal value, "
                "minimum orders, commitments, vendor shares, budgets by year, reserved "
                "contracts) "
                "in the same process; on the three smallest sizes the LP relaxations of "
                "both are solved and their optima compared (equal to 1e-7).",
                "",
                table,
                "",
                "Default settings: `capforecast.plan.solve.solve(inputs)` with default "
                "options (0.1% gap, 60 s limit, explanations on; their LPs are not in "
                "solve s), each phase of `capforecast/plan/highs.py` timed. The target is "
                "the default gap within 30 s on both instances.",
                "",
                default_table,
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
