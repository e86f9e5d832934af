"""Scaling of the planning model: build and solve from 5x2x8x1 to 100x20x40x1.

Run ``python benchmarks/scaling.py``. For each size (SKUs x sites x periods x scenarios,
four workloads, a seeded instance from ``benchmarks/instances.py``) a fresh process
builds the docs/model.md model with capforecast (arrays, vectorised), solves it with HiGHS to a
0.1% gap, and builds the same model with linopy (xarray, vectorised) in the same
process; it reports variables, constraints, build and solve seconds, the gap, the peak
memory of the process, and the ratio of linopy's build time to ours. On the sizes where
both are solved, the two optima are compared. The result replaces the ``scaling`` section
of ``docs/benchmarks.md``.
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
#: Sizes and the time limit of each solve (the largest once more with a longer limit).
SIZES = [
    ((5, 2, 8, 1), 120.0),
    ((10, 4, 12, 1), 120.0),
    ((20, 5, 16, 4), 120.0),
    ((50, 10, 20, 1), 120.0),
    ((50, 10, 20, 10), 120.0),
    ((100, 20, 40, 1), 120.0),
    ((100, 20, 40, 1), 600.0),
]
#: Sizes on which both LP relaxations are solved, to check that both build the same model.
COMPARE_RELAXATIONS = {(5, 2, 8, 1), (10, 4, 12, 1), (20, 5, 16, 4)}
#: Sizes on which HiGHS also solves the whole MIP in one run (no phases), as the anchor.
ONE_RUN = {(5, 2, 8, 1), (10, 4, 12, 1), (20, 5, 16, 4), (50, 10, 20, 1)}


def linopy_model(data: ModelData, integer: bool = True):  # type: ignore[no-untyped-def]
    """The docs/model.md core model written the linopy way (labelled arrays, masks)."""
    import linopy

    warnings.filterwarnings("ignore", category=linopy.LinopySemanticsWarning)  # masked terms

    sizes = {
        "s": len(data.skus),
        "k": len(data.sites),
        "w": len(data.workloads),
        "t": data.horizon,
        "o": len(data.scenarios),
        "tau": data.horizon,
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
    arrives = (tau + lead <= data.horizon - 1).broadcast_like(site)
    m = linopy.Model()
    # Orders that would arrive after the horizon, and allocations to workloads a SKU
    # cannot serve, get an upper bound of 0 (masks change meaning across linopy versions).
    n = m.add_variables(
        lower=0,
        upper=xr.where(arrives, np.inf, 0.0).transpose("s", "k", "tau"),
        coords=[index["s"], index["k"], index["tau"]],
        name="n",
        integer=integer,
    )
    factor = xr.DataArray(data.factor, dims=("s", "w"))
    servable = (factor > 0).broadcast_like(site).broadcast_like(period).broadcast_like(scen)
    x = m.add_variables(
        lower=0,
        upper=xr.where(servable, np.inf, 0.0).transpose("s", "k", "w", "t", "o"),
        coords=[index[d] for d in "skwto"],
        name="x",
    )
    rent_cap = xr.DataArray(data.rent_cap, dims=("w", "t"))
    r = m.add_variables(
        lower=0, upper=rent_cap.broadcast_like(scen), coords=[index[d] for d in "wto"], name="r"
    )
    u = m.add_variables(lower=0, coords=[index[d] for d in "wto"], name="u")
    in_service = (tau + lead <= period) & (period < tau + lead + life)  # [s, tau, t]
    new = (n * (lot * in_service)).sum("tau")  # units of new orders installed, [s, k, t]
    fleet = xr.DataArray(data.fleet, dims=("s", "k", "t"))
    m.add_constraints(x.sum("w") - new <= fleet, name="split")
    demand = xr.DataArray(data.demand, dims=("w", "t", "o"))
    m.add_constraints((factor * x).sum(["s", "k"]) + r + u >= demand, name="demand")
    kw = xr.DataArray(data.facility_kw, dims=("s", "k"))
    cap = xr.DataArray(data.power_cap, dims=("k", "t"))
    m.add_constraints((kw * new).sum("s") <= cap - (kw * fleet).sum("s"), name="power")
    if np.isfinite(data.slots).any():
        finite = xr.DataArray(np.isfinite(data.slots), dims="k")
        slots = xr.DataArray(np.where(np.isfinite(data.slots), data.slots, 0.0), dims="k")
        m.add_constraints(new.sum("s") <= slots - fleet.sum("s"), name="slots", mask=finite)
    price = xr.DataArray(data.price, dims=("s", "tau"))
    budget = xr.DataArray(data.budget, dims="tau")
    m.add_constraints((price * lot * n).sum(["s", "k"]) <= budget, name="budget")
    supply = xr.DataArray(data.supply, dims=("s", "tau"))
    limited = xr.DataArray(np.isfinite(data.supply), dims=("s", "tau"))
    m.add_constraints((lot * n).sum("k") <= supply.where(limited, 0.0), name="supply", mask=limited)
    disc = xr.DataArray(data.discount, dims="t")
    energy = xr.DataArray(data.energy_per_unit, dims=("s", "k"))
    weight = disc * xr.DataArray(data.probability, dims="o")
    rent_price = xr.DataArray(data.rent_price, dims=("w", "t"))
    penalty = xr.DataArray(data.penalty, dims="w")
    m.add_objective(
        (disc.rename(t="tau") * price * lot * n).sum()
        + (disc * energy * new).sum()
        + (weight * rent_price * r).sum()
        + (weight * penalty * u).sum()
    )
    return m


def one(size: tuple[int, int, int, int], time_limit_s: float) -> dict[str, object]:
    """Measure one size in this process."""
    skus, sites, periods, scenarios = size
    with tempfile.TemporaryDirectory() as folder:
        write_scaled_instance(Path(folder), skus, sites, WORKLOADS, periods, scenarios, seed=1)
        # The linopy anchor writes the first-version model: no terminal value.
        inputs = read_planning_inputs(folder).with_options(terminal_value="none")
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
        "variables": model.program.num_columns,
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


def _percent(value: float | None) -> str:
    return "no plan" if value is None else f"{value:.3%}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=4, type=int, help="measure one size and print JSON")
    parser.add_argument("--time-limit", type=float, default=120.0, help="with --one")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(tuple(args.one), args.time_limit)))
        return 0
    rows = []
    for size, limit in SIZES:
        found = subprocess.run(
            [sys.executable, __file__, "--one", *map(str, size), "--time-limit", str(limit)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(found.stdout.strip().splitlines()[-1])
        total = result["build_s"] + result["solve_s"]
        rows.append(
            {
                "S x K x T x scenarios": "x".join(map(str, size)),
                "variables": f"{result['variables']:,}",
                "constraints": f"{result['constraints']:,}",
                "build s": round(result["build_s"], 3),
                "solve s": round(result["solve_s"], 2),
                "build % of total": f"{result['build_s'] / total:.0%}",
                "limit s": round(limit),
                "status": result["status"],
                "gap": "n/a" if result["gap"] is None else f"{result['gap']:.3%}",
                "stopped because": result["message"],
                "HiGHS in one run: s (gap)": "n/a"
                if result["one_run_s"] is None
                else f"{result['one_run_s']:.2f} ({_percent(result['one_run_gap'])})",
                "peak MB": round(result["peak_mb"]),
                "linopy build / ours": round(result["linopy_build_s"] / result["build_s"], 2),
                "LP relaxations agree": "n/a"
                if result["relaxations_agree"] is None
                else result["relaxations_agree"],
            }
        )
        print(rows[-1], flush=True)
    table = markdown_table(rows)
    print(table)
    write_section(
        "scaling",
        "\n".join(
            [
                "## Planning model scaling (`benchmarks/scaling.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. Seeded instances with {WORKLOADS} "
                "workloads; each size in a fresh process (peak MB is that process's maximum "
                "resident memory, linopy included). Build: from the planning data to the "
                "program's arrays (columns, bounds, sparse rows, costs). Solve: "
                "capforecast's HiGHS back end to a 0.1% gap, single thread, including the "
                "hand-over to HiGHS and the read-back of values; "
                "it solves the LP relaxation, re-optimises the LP's orders rounded down, "
                "solves the MIP over the orders the LP places (orders at 0 in the LP stay 0), "
                "and the whole MIP only when the best plan is not within the gap of the LP "
                "bound (docs/model.md §6.8). The anchor is "
                "HiGHS on the whole MIP in one run, same model, gap and time limit. linopy "
                "builds the same model in the same process; on the three smallest sizes the "
                "LP relaxations of both are solved and their optima compared (equal to "
                "1e-7). Solve s is the real time; the whole-MIP phase runs in a child "
                "process that is killed one second after the deadline (docs/model.md §6.8).",
                "",
                table,
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
