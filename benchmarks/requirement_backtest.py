"""The requirement backtest: did the P90 a lead time ahead cover the requirement that came?

Run ``python benchmarks/requirement_backtest.py``. Two histories, several models each
(the default ``ets``, ``auto``, and the naive forecast as the benchmark), 200 paths:

- the bundled sample (48 daily series, two years, averaged to weeks as the quarterly plan
  does), quarterly periods, leads of two and four quarters, by workload and region, the
  sample's perf factors and catalog prices (USD);
- Helios Venus (25 virtual clusters, daily, April to September 2020): six months hold no
  lead of two quarters, so the periods are months and the leads one and two months; each
  virtual cluster is its own workload (its quota of GPUs, one GPU one reference unit,
  utilization target 1), kept at its own frequency (daily). No prices: no USD.

The result replaces the ``requirement`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from capforecast import read_history  # noqa: E402
from capforecast.examples import helios_history_path, sample_history, sample_planning_dir  # noqa: E402
from capforecast.plan.inputs import read_planning_inputs  # noqa: E402
from capforecast.requirement.backtest import RequirementBacktest, requirement_backtest  # noqa: E402

MODELS = ["ets", "auto", "naive"]


def rows(data: str, found: RequirementBacktest, seconds: float) -> list[dict[str, object]]:
    table = []
    for row in found.summary.itertuples():
        entry: dict[str, object] = {
            "data": data,
            "model": row.model,
            "lead": row.lead,
            "workload-periods": row.windows,
            "P90 coverage": f"{row.coverage:.0%}",
            "pinball": round(row.pinball, 1),
            "over (ref. unit-periods)": round(row.over),
            "under (ref. unit-periods)": round(row.under),
        }
        entry["over + under, USD M (valuation)"] = (
            f"{row.over_usd / 1e6:.2f} + {row.under_usd / 1e6:.2f}"
            if "cost_usd" in found.summary
            else "no prices"
        )
        entry["seconds (all leads)"] = round(seconds, 1)
        table.append(entry)
    return table


def main() -> int:
    inputs = read_planning_inputs(sample_planning_dir())
    started = time.perf_counter()
    found: list[dict[str, object]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short early origins fall back; counted in the scores
        for model in MODELS:
            started = time.perf_counter()
            sample = requirement_backtest(
                sample_history(),
                inputs.perf,
                models=[model],
                leads=[2, 4],
                catalog=inputs.catalog,
                by_region=True,
            )
            found += rows("sample (quarters)", sample, time.perf_counter() - started)
        venus = read_history(helios_history_path())
        venus = venus.assign(workload=venus["team"], sku="GPU")
        perf = pd.DataFrame({"sku": "GPU", "workload": venus["workload"].unique(), "factor": 1.0})
        for model in MODELS:
            started = time.perf_counter()
            helios = requirement_backtest(
                venus,
                perf,
                models=[model],
                leads=[1, 2],
                period_freq="M",
                forecast_freq=None,
                utilization_target=1.0,
            )
            found += rows("Helios Venus (months)", helios, time.perf_counter() - started)
    table = markdown_table(found)
    print(table)
    write_section(
        "requirement",
        "\n".join(
            [
                "## The requirement at the lead time (`benchmarks/requirement_backtest.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}. From the end of every complete "
                "period, each model forecasts 200 paths with the history until then; the P90 "
                "requirement per workload (and region) `lead` periods later is scored against "
                "the requirement that came (the same reduction of the actual history). "
                "Coverage should be 90%. Over and under are summed reference unit-periods; "
                "USD values them at the cheapest ownership cost of a reference unit for one "
                "period (capex over the service life, plus opex): a valuation, not cash. "
                "Helios Venus spans six months, so its periods are months, and each virtual "
                "cluster is a workload.",
                "",
                table,
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
