"""Benchmarks of capforecast against its anchor libraries, in the same run.

Run ``make bench`` (or ``python benchmarks/run.py``); results are printed and written to
``docs/benchmarks.md``. These machines are shared and noisy, so every figure is reported
as a ratio against an anchor measured in the same process, best of ``REPEATS`` runs.

1. **Model build**: capforecast's vectorised ``build_model`` (arrays), and the same
   followed by its export to a PuLP problem, against the same model written the idiomatic
   PuLP way (dicts of variables, ``lpSum`` over generator expressions, one ``prob +=`` per
   constraint). Both are solved to check they agree.
2. **Solve**: HiGHS (the default back end) against CBC (bundled with PuLP) on the same
   built model.
3. **Forecast engine**: ``capforecast.forecast`` with ETS over the 48 sample series
   against a plain loop of the same fits and forecasts with statsforecast's ETS kernel
   (which capforecast's ETS uses): the cost of the engine around the model.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pulp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.instances import write_scaled_instance  # noqa: E402
from benchmarks.report import DOC, markdown_table, write_section  # noqa: E402
from capforecast.examples import sample_history  # noqa: E402
from capforecast.forecast import forecast  # noqa: E402
from capforecast.plan.data import ModelData  # noqa: E402
from capforecast.plan.inputs import read_planning_inputs  # noqa: E402
from capforecast.plan.model import build_model  # noqa: E402
from capforecast.plan.solvers import get_solver  # noqa: E402

REPEATS = 3
T = TypeVar("T")


def best_of(function: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def idiomatic_pulp(data: ModelData) -> pulp.LpProblem:
    """The docs/model.md model as a PuLP user would write it: dicts, lpSum, one += each
    (the core model: one region, no clusters, as the instances here have)."""
    assert not data.regional and not len(data.clusters), "the core model only"
    S, K, W, T, N = (
        range(len(data.skus)),
        range(len(data.sites)),
        range(len(data.workloads)),
        range(data.horizon),
        range(len(data.scenarios)),
    )
    prob = pulp.LpProblem("idiomatic", pulp.LpMinimize)
    n = {
        (s, k, t): prob.add_variable(f"n_{s}_{k}_{t}", 0, None, pulp.LpInteger)
        for s in S
        for k in K
        for t in T
        if t + data.lead_time[s] <= data.horizon - 1
    }

    def new_units(s: int, k: int, t: int) -> pulp.LpAffineExpression:
        lead, life = data.lead_time[s], data.lifetime[s]
        return pulp.lpSum(
            data.lot_size[s] * n[s, k, tau]
            for tau in T
            if (s, k, tau) in n and tau + lead <= t < tau + lead + life
        )

    new = {(s, k, t): new_units(s, k, t) for s in S for k in K for t in T}
    x = {
        (s, k, w, t, o): prob.add_variable(f"x_{s}_{k}_{w}_{t}_{o}", 0)
        for s in S
        for k in K
        for w in W
        for t in T
        for o in N
        if data.factor[s, w] > 0
    }
    r = {
        (w, t, o): prob.add_variable(f"r_{w}_{t}_{o}", 0, float(data.rent_cap[w, 0, t]))
        for w in W
        for t in T
        for o in N
    }
    u = {(w, t, o): prob.add_variable(f"u_{w}_{t}_{o}", 0) for w in W for t in T for o in N}
    for s in S:
        for k in K:
            for t in T:
                for o in N:
                    prob += (
                        pulp.lpSum(x[s, k, w, t, o] for w in W if (s, k, w, t, o) in x)
                        <= data.fleet[s, k, t] + new[s, k, t]
                    )
    for w in W:
        for t in T:
            for o in N:
                prob += (
                    pulp.lpSum(
                        data.factor[s, w] * x[s, k, w, t, o]
                        for s in S
                        for k in K
                        if (s, k, w, t, o) in x
                    )
                    + r[w, t, o]
                    + u[w, t, o]
                    >= data.demand[w, 0, t, o]
                )
    kw = data.facility_kw
    for k in K:
        for t in T:
            prob += (
                pulp.lpSum(kw[s, k] * (data.fleet[s, k, t] + new[s, k, t]) for s in S)
                <= data.power_cap[k, t]
            )
            if np.isfinite(data.slots[k]):
                prob += pulp.lpSum(data.fleet[s, k, t] + new[s, k, t] for s in S) <= data.slots[k]
    for t in T:
        prob += (
            pulp.lpSum(
                data.price[s, t] * data.lot_size[s] * n[s, k, t]
                for s in S
                for k in K
                if (s, k, t) in n
            )
            <= data.budget[t]
        )
        for s in S:
            if np.isfinite(data.supply[s, t]):
                prob += (
                    pulp.lpSum(data.lot_size[s] * n[s, k, t] for k in K if (s, k, t) in n)
                    <= data.supply[s, t]
                )
    energy = data.energy_per_unit
    prob += (
        pulp.lpSum(
            data.discount[t] * data.price[s, t] * data.lot_size[s] * n[s, k, t] for (s, k, t) in n
        )
        + pulp.lpSum(
            data.discount[t] * energy[s, k] * (data.fleet[s, k, t] + new[s, k, t])
            for s in S
            for k in K
            for t in T
        )
        + pulp.lpSum(
            data.discount[t]
            * data.probability[o]
            * (data.rent_price[w, 0, t] * r[w, t, o] + data.penalty[w] * u[w, t, o])
            for w in W
            for t in T
            for o in N
        )
    )
    return prob


def bench_build(sizes: list[tuple[int, int, int, int, int]]) -> list[dict[str, object]]:
    rows = []
    for skus, sites, workloads, periods, scenarios in sizes:
        with tempfile.TemporaryDirectory() as folder:
            write_scaled_instance(Path(folder), skus, sites, workloads, periods, scenarios, seed=1)
            # The idiomatic anchor writes the first-version model: no terminal value.
            inputs = read_planning_inputs(folder).with_options(
                mip_gap=1e-4, time_limit_s=120, terminal_value="none"
            )
        data = ModelData.from_inputs(inputs)
        ours_s, model = best_of(lambda data=data: build_model(data))
        export_s, _ = best_of(lambda data=data: build_model(data).program.to_pulp())
        anchor_s, problem = best_of(lambda data=data: idiomatic_pulp(data))
        solve_ours = get_solver("highs").solve(model.program, mip_gap=1e-4, time_limit_s=120)
        problem.solve(pulp.HiGHS(msg=False, gapRel=1e-4, timeLimit=120, threads=1))
        # Both include the fleet's energy (each problem's objective constant).
        ours_obj = solve_ours.objective or 0.0
        anchor_obj = pulp.value(problem.objective) or 0.0
        rows.append(
            {
                "instance (S x K x W x T x scenarios)": "x".join(
                    map(str, (skus, sites, workloads, periods, scenarios))
                ),
                "variables": model.program.num_columns,
                "constraints": model.program.num_rows,
                "capforecast build s": round(ours_s, 4),
                "capforecast build + PuLP export s": round(export_s, 3),
                "idiomatic PuLP build s": round(anchor_s, 3),
                "speed-up (build)": round(anchor_s / ours_s, 1),
                "speed-up (build + export)": round(anchor_s / export_s, 1),
                "objectives agree (rel. 1e-3)": bool(
                    abs(ours_obj - anchor_obj) <= 1e-3 * max(1.0, abs(anchor_obj))
                ),
            }
        )
    return rows


def bench_solvers(size: tuple[int, int, int, int, int]) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as folder:
        write_scaled_instance(Path(folder), *size, seed=2)
        inputs = read_planning_inputs(folder)
    data = ModelData.from_inputs(inputs)
    rows = []
    times = {}
    for name in ("highs", "cbc"):
        backend = get_solver(name)
        model = build_model(data)
        started = time.perf_counter()
        outcome = backend.solve(model.program, mip_gap=1e-3, time_limit_s=120)
        times[name] = time.perf_counter() - started
        rows.append(
            {
                "solver": name,
                "status": str(outcome.status),
                "objective": round(outcome.objective or 0, 0),
                "solve s": round(times[name], 3),
            }
        )
    for row in rows:
        row["time vs HiGHS"] = round(float(row["solve s"]) / max(times["highs"], 1e-9), 2)
    return rows


def bench_forecast() -> list[dict[str, object]]:
    from statsforecast.ets import ets_f, forecast_ets

    history = sample_history()
    horizon = 90

    def plain_loop() -> int:
        count = 0
        for _, group in history.groupby("unique_id", sort=True):
            fit = ets_f(group["y"].to_numpy(dtype=float), 7, model="AAA", damped=True)
            forecast_ets(fit, horizon, level=[80, 95])
            count += 1
        return count

    ours, _ = best_of(lambda: forecast(history, horizon, models=["ets"], levels=[80, 95]), 1)
    anchor, _ = best_of(plain_loop, 1)
    return [
        {
            "task": f"ETS, {history['unique_id'].nunique()} daily series, horizon {horizon}",
            "capforecast s": round(ours, 2),
            "plain statsforecast kernel loop s": round(anchor, 2),
            "overhead ratio": round(ours / anchor, 2),
        }
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller instances")
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    sizes = [(4, 2, 2, 8, 1), (6, 3, 2, 12, 3), (10, 4, 3, 16, 5)]
    if args.quick:
        sizes = sizes[:2]
    sections = [
        ("Model build: capforecast vs idiomatic PuLP", bench_build(sizes)),
        ("Solve: HiGHS vs CBC on the same model", bench_solvers((6, 3, 2, 12, 3))),
        ("Forecast engine: capforecast vs a plain loop of its ETS kernel", bench_forecast()),
    ]
    stamp = time.strftime("%Y-%m-%d")
    text = [
        "## Planning and forecast engine (`benchmarks/run.py`)",
        "",
        f"Latest run: {stamp}, Python {platform.python_version()}, {platform.machine()}, "
        f"PuLP {pulp.__version__}. Reproduce with `make bench`. Builds: best of {REPEATS} "
        "runs; other timings: one run. The capforecast build makes the program's arrays "
        "(what HiGHS takes); build + PuLP export also makes them a PuLP problem (what CBC "
        "gets, or an LP file), to compare like with like.",
        "",
    ]
    for title, rows in sections:
        text += [f"### {title}", "", markdown_table(rows), ""]
        print(f"\n{title}\n{markdown_table(rows)}")
    write_section("engine", "\n".join(text), args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
