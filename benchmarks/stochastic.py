"""VSS and EVPI of the quarterly plan on the bundled sample data.

Run ``python benchmarks/stochastic.py``. The sample history is forecast into 200 demand
paths (ETS, weekly, seed 0, as ``make demo`` does). For K = 10, 20, 40 and 80 the paths are
reduced to K weighted scenarios by fast forward selection, and ``value_of_information``
solves RP, EV, EEV and WS on them.

The reduced scenarios are a model of the 200 paths, so every set of orders is also
evaluated out of sample: fixed, on all 200 paths as equally likely scenarios (allocation,
rent and shortfall re-optimised per path). Compared there are the stochastic orders (RP),
the mean-value orders (EV) and the orders of the default deterministic plan on the P90
requirement. The result replaces the ``stochastic`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from capforecast import read_history  # noqa: E402
from capforecast.examples import sample_history_path, sample_planning_dir  # noqa: E402
from capforecast.plan.information import value_of_information  # noqa: E402
from capforecast.plan.inputs import PlanningInputs  # noqa: E402
from capforecast.plan.model import fix_orders  # noqa: E402
from capforecast.plan.result import Plan  # noqa: E402
from capforecast.plan.solve import solve  # noqa: E402
from capforecast.workflow import quarterly_plan  # noqa: E402

N_PATHS = 200


def millions(value: float) -> str:
    return f"{value / 1e6:,.2f}"


def evaluate(orders: Plan, paths: PlanningInputs) -> float:
    """Expected cost of ``orders``' purchases over every path."""
    plan = solve(paths, extra_constraints=fix_orders(orders.purchases)).raise_for_status()
    assert plan.objective is not None
    return plan.objective


def main() -> int:
    history = read_history(sample_history_path())
    with tempfile.TemporaryDirectory() as tmp:
        run = lambda name, **kw: quarterly_plan(  # noqa: E731
            history, sample_planning_dir(), Path(tmp) / name, n_paths=N_PATHS, **kw
        )
        every_path = run("all", n_scenarios=N_PATHS).inputs
        deterministic = run("p90").plan
        p90_cost = evaluate(deterministic, every_path)
        rows = []
        for k in (10, 20, 40, 80):
            started = time.perf_counter()
            value = value_of_information(run(f"k{k}", n_scenarios=k).inputs)
            seconds = time.perf_counter() - started
            rp_out = evaluate(value.recourse, every_path)
            ev_out = evaluate(value.mean_value, every_path)
            rows.append(
                {
                    "scenarios K": k,
                    "RP $M": millions(value.rp),
                    "EEV $M": millions(value.eev),
                    "WS $M": millions(value.ws),
                    "VSS $M (% of RP)": f"{millions(value.vss)} ({value.vss / value.rp:.1%})",
                    "EVPI $M (% of RP)": f"{millions(value.evpi)} ({value.evpi / value.rp:.1%})",
                    "max MIP gap": f"{value.max_gap:.3%}",
                    f"on all {N_PATHS} paths: RP orders $M": millions(rp_out),
                    "EV orders $M": millions(ev_out),
                    "P90 plan's orders $M": millions(p90_cost),
                    "seconds": round(seconds, 1),
                }
            )
            print(rows[-1], flush=True)
    table = markdown_table(rows)
    write_section(
        "stochastic",
        "\n".join(
            [
                "## Value of the stochastic solution and of perfect information "
                "(`benchmarks/stochastic.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. Bundled sample data: 48 series "
                f"forecast into {N_PATHS} paths (ETS, weekly, seed 0), reduced to K scenarios "
                "by fast forward selection; 12 quarters, 6 SKUs, 3 sites, 2 workloads. Costs "
                "are discounted and expected, in USD millions. RP: the stochastic plan; EEV: "
                "the mean-demand plan's orders evaluated on the K scenarios; WS: each scenario "
                "planned knowing its demand. VSS = EEV - RP, EVPI = RP - WS. The last three "
                f"cost columns fix each plan's orders and evaluate them on all {N_PATHS} "
                "paths, which none of the plans saw as scenarios (the P90 plan is the "
                "default deterministic `make demo` plan).",
                "",
                table,
            ]
        ),
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
