"""``capforecast run``, ``compare`` and ``sweep``: scenario files in, plans and comparisons
out. A thin shell over ``capforecast.scenario``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from capforecast.core.errors import ParameterError
from capforecast.core.io import write_bytes_atomic, write_table
from capforecast.scenario.compare import Comparison, compare, frontier
from capforecast.scenario.run import (
    ScenarioRun,
    budget_sweep,
    run_scenario,
    run_scenarios,
    sweep_values,
)
from capforecast.scenario.spec import _fraction, read_scenario

console = Console()
EXIT_NO_PLAN = 3

OutOption = Annotated[Path, typer.Option("--out", help="Output folder.")]
JobsOption = Annotated[
    int, typer.Option(help="Scenarios solved at once (local processes); 1 = in this process.")
]


def _say(message: str) -> None:
    console.print(f"[dim]- {escape(message)}[/dim]")


def _write(runs: list[ScenarioRun], comparison: Comparison, out: Path) -> None:
    for run in runs:
        run.write(out / "scenarios" / run.name)
    for name, table in comparison.tables().items():
        write_table(table.reset_index(), out / f"{name}.csv")
    lines = [f"# Scenarios against {comparison.baseline}", ""]
    lines += [f"- **{run.name}**: {run.scenario.description or '(no description)'}" for run in runs]
    lines += ["", "## What changed", ""]
    lines += [f"- {line}" for line in comparison.summary] or ["- Only the baseline was run."]
    write_bytes_atomic(out / "summary.md", ("\n".join(lines) + "\n").encode())


def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: OutOption,
) -> None:
    """Plan one SCENARIO file: its inputs, with its changes; write the plan and the
    changed inputs (OUT/inputs) to OUT."""
    from capforecast.cli.render import print_plan

    spec = read_scenario(scenario)
    _say(f"Planning {spec.name} ({spec.changes()} changes to its inputs)")
    result = run_scenario(spec)
    result.write(out)
    print_plan(console, result.plan, result.inputs)
    console.print(
        f"Wrote the plan of {escape(spec.name)} to {out}/ and its inputs to {out}/inputs/"
    )
    if not result.plan.has_solution:
        raise typer.Exit(EXIT_NO_PLAN)


ScenariosArg = Annotated[
    list[Path], typer.Argument(help="Scenario YAML files; the first is the baseline.")
]
BaselineOption = Annotated[str | None, typer.Option(help="Name of the baseline scenario.")]


def _compare(
    scenarios: list[Path], out: Path, baseline: str | None, jobs: int
) -> tuple[list[ScenarioRun], Comparison]:
    specs = [read_scenario(path) for path in scenarios]
    names = [spec.name for spec in specs]
    if baseline is not None and baseline not in names:  # before hours of solving
        raise ParameterError(f"--baseline {baseline!r} is not one of the scenarios {names}")
    runs = run_scenarios(specs, n_jobs=jobs, progress=_say)
    comparison = compare({run.name: run.plan for run in runs}, baseline=baseline)
    _write(runs, comparison, out)
    for line in comparison.summary:
        console.print(escape(f"- {line}"), highlight=False)
    return runs, comparison


def compare_command(
    scenarios: ScenariosArg, out: OutOption, baseline: BaselineOption = None, jobs: JobsOption = 1
) -> None:
    """Plan every scenario and compare them against the baseline: KPI tables (CSV) and
    summary.md in OUT, each plan in OUT/scenarios/<name>/."""
    runs, _ = _compare(scenarios, out, baseline, jobs)
    console.print(f"Wrote the comparison of {len(runs)} scenarios to {out}/ (summary.md)")
    if not all(run.plan.has_solution for run in runs):
        raise typer.Exit(EXIT_NO_PLAN)


def report_command(
    scenarios: ScenariosArg, out: OutOption, baseline: BaselineOption = None, jobs: JobsOption = 1
) -> None:
    """Plan and compare the scenarios (as ``compare``) and write the report:
    OUT/report.html (self-contained, plots embedded) and OUT/report.xlsx (one sheet per
    table, units in the headers)."""
    from capforecast.report.html import comparison_report
    from capforecast.report.workbook import comparison_sheets, write_workbook

    runs, comparison = _compare(scenarios, out, baseline, jobs)
    write_bytes_atomic(out / "report.html", comparison_report(runs, comparison).encode())
    write_workbook(comparison_sheets(runs, comparison), out / "report.xlsx")
    console.print(f"Wrote the report of {len(runs)} scenarios to {out}/report.html and report.xlsx")
    if not all(run.plan.has_solution for run in runs):
        raise typer.Exit(EXIT_NO_PLAN)


def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file to sweep.")],
    out: OutOption,
    budget_from: Annotated[str, typer.Option(help="Lowest budget change, e.g. -40%.")] = "-40%",
    budget_to: Annotated[str, typer.Option(help="Highest budget change, e.g. +40%.")] = "+40%",
    steps: Annotated[int, typer.Option(help="Budgets from low to high.", min=2)] = 9,
    jobs: JobsOption = 1,
) -> None:
    """Plan SCENARIO at budgets from BUDGET_FROM to BUDGET_TO: capital spend against
    expected shortfall (frontier.csv) and the comparison, against the unchanged budget
    when it is among the steps."""
    try:
        low, high = (float(_fraction(v)) for v in (budget_from, budget_to))  # type: ignore[arg-type]
    except ValueError as error:
        raise ParameterError(f"--budget-from/--budget-to: {error}") from None
    if high <= low or low < -1:
        raise ParameterError(
            f"the budget sweep needs -100% <= from < to; got {budget_from}, {budget_to}"
        )
    values = sweep_values(low, high, steps)
    specs = budget_sweep(read_scenario(scenario), values)
    runs = run_scenarios(specs, n_jobs=jobs, progress=_say)
    plans = {run.name: run.plan for run in runs}
    unchanged = specs[values.index(0.0)].name if 0.0 in values else None
    comparison = compare(plans, baseline=unchanged)
    _write(runs, comparison, out)
    points = frontier(comparison)
    write_table(points.reset_index(), out / "frontier.csv")
    for name, point in points.iterrows():
        mark = "efficient" if point["efficient"] else "dominated"
        console.print(
            escape(
                f"  {name}: capex ${point['capex'] / 1e6:,.1f}M, expected shortfall "
                f"{point['expected_shortfall']:,.0f} unit-periods ({mark})"
            ),
            highlight=False,
        )
    console.print(f"Wrote the frontier of {len(runs)} budgets to {out}/frontier.csv")
