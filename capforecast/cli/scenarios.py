"""``capforecast run``, ``compare``, ``sweep`` and ``report``: scenario files in, plans and
comparisons out. A thin shell over ``capforecast.scenario``.

Each command checks ``--out`` before it plans anything, renders every file before it
writes one, and writes each plan in ``OUT/scenarios/<folder>``, where the folder is the
scenario's name made safe (``capforecast.core.io.safe_name``), checked to be inside OUT.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from capforecast.core.errors import ParameterError
from capforecast.core.io import (
    check_output,
    csv_bytes,
    inside,
    safe_names,
    write_bytes_atomic,
)
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


def _print_warnings(runs: list[ScenarioRun]) -> None:
    """Each distinct warning of the plans once, with the scenarios it is about when not
    all of them (``run`` prints its one plan's with the plan)."""
    seen: dict[str, list[str]] = {}
    for run in runs:
        for warning in run.plan.warnings:
            seen.setdefault(warning, []).append(run.name)
    for warning, names in seen.items():
        where = "" if len(names) == len(runs) else f" ({', '.join(names)})"
        console.print(
            f"[yellow]warning{escape(where)}:[/yellow] {escape(warning)}", highlight=False
        )


_MARKDOWN = re.compile(r"([\\`$\[\]<>])")


def _markdown(text: str) -> str:
    r"""``text`` as literal Markdown: a name makes no link, image, code, math or HTML.

    >>> _markdown("![x](http://evil.example/t.png) <img src=x> a_b")
    '!\\[x\\](http://evil.example/t.png) \\<img src=x\\> a_b'
    """
    return _MARKDOWN.sub(r"\\\1", text)


def _files(
    runs: list[ScenarioRun], comparison: Comparison, folders: dict[str, str]
) -> dict[str, bytes]:
    """The comparison's files in OUT by name: its tables and ``summary.md`` (which says
    where a plan whose name is not its folder's went)."""
    files = {
        f"{name}.csv": csv_bytes(table.reset_index()) for name, table in comparison.tables().items()
    }
    lines = [f"# Scenarios against {_markdown(comparison.baseline)}", ""]
    for run in runs:
        moved = "" if folders[run.name] == run.name else f" (in `scenarios/{folders[run.name]}/`)"
        description = run.scenario.description or "(no description)"
        lines.append(f"- **{_markdown(run.name)}**{moved}: {_markdown(description)}")
    lines += ["", "## What changed", ""]
    lines += [f"- {_markdown(line)}" for line in comparison.summary] or [
        "- Only the baseline was run."
    ]
    return files | {"summary.md": ("\n".join(lines) + "\n").encode()}


def _write(
    runs: list[ScenarioRun], comparison: Comparison, out: Path, extra: dict[str, bytes]
) -> None:
    """Each plan in ``OUT/scenarios/<safe name>``, and the comparison's files and
    ``extra`` in OUT, every path checked to be inside OUT first (all made before any is
    written)."""
    folders = safe_names([run.name for run in runs])
    files = _files(runs, comparison, folders) | extra
    targets = [inside(out, out / "scenarios" / folders[run.name]) for run in runs]
    paths = {inside(out, out / name): data for name, data in files.items()}
    for run, target in zip(runs, targets, strict=True):
        run.write(target)
    for path, data in paths.items():
        write_bytes_atomic(path, data)


def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: OutOption,
) -> None:
    """Plan one SCENARIO file: its inputs, with its changes; write the plan and the
    changed inputs (OUT/inputs) to OUT."""
    from capforecast.cli.render import print_plan

    check_output(out, "folder")
    spec = read_scenario(scenario)
    _say(f"Planning {spec.name} ({spec.changes()} changes to its inputs)")
    result = run_scenario(spec)
    result.write(out)
    print_plan(console, result.plan, result.inputs)
    console.print(
        f"Wrote the plan of {spec.name} to {out}/ and its inputs to {out}/inputs/", markup=False
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
    """Plan and compare the scenarios (nothing written yet)."""
    check_output(out, "folder")
    specs = [read_scenario(path) for path in scenarios]
    names = [spec.name for spec in specs]
    if baseline is not None and baseline not in names:  # before hours of solving
        raise ParameterError(f"--baseline {baseline!r} is not one of the scenarios {names}")
    runs = run_scenarios(specs, n_jobs=jobs, progress=_say)
    _print_warnings(runs)
    comparison = compare({run.name: run.plan for run in runs}, baseline=baseline)
    for line in comparison.summary:
        console.print(escape(f"- {line}"), highlight=False)
    return runs, comparison


def compare_command(
    scenarios: ScenariosArg, out: OutOption, baseline: BaselineOption = None, jobs: JobsOption = 1
) -> None:
    """Plan every scenario and compare them against the baseline: KPI tables (CSV) and
    summary.md in OUT, each plan in OUT/scenarios/<name>/ (a name that is not a safe
    folder name becomes one, followed by a short hash: summary.md says where)."""
    runs, comparison = _compare(scenarios, out, baseline, jobs)
    _write(runs, comparison, out, {})
    console.print(
        f"Wrote the comparison of {len(runs)} scenarios to {out}/ (summary.md)", markup=False
    )
    if not all(run.plan.has_solution for run in runs):
        raise typer.Exit(EXIT_NO_PLAN)


def report_command(
    scenarios: ScenariosArg, out: OutOption, baseline: BaselineOption = None, jobs: JobsOption = 1
) -> None:
    """Plan and compare the scenarios (as ``compare``) and write the report:
    OUT/report.html (self-contained, plots embedded) and OUT/report.xlsx (one sheet per
    table, units in the headers)."""
    from capforecast.report.html import comparison_report
    from capforecast.report.workbook import comparison_sheets, workbook

    runs, comparison = _compare(scenarios, out, baseline, jobs)
    report = {
        "report.html": comparison_report(runs, comparison).encode(),
        "report.xlsx": workbook(comparison_sheets(runs, comparison)),
    }
    _write(runs, comparison, out, report)
    console.print(
        f"Wrote the report of {len(runs)} scenarios to {out}/report.html and report.xlsx",
        markup=False,
    )
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
    check_output(out, "folder")
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
    _print_warnings(runs)
    plans = {run.name: run.plan for run in runs}
    unchanged = specs[values.index(0.0)].name if 0.0 in values else None
    comparison = compare(plans, baseline=unchanged)
    points = frontier(comparison)
    _write(runs, comparison, out, {"frontier.csv": csv_bytes(points.reset_index())})
    for name, point in points.iterrows():
        mark = "efficient" if point["efficient"] else "dominated"
        console.print(
            escape(
                f"  {name}: capex ${point['capex'] / 1e6:,.1f}M, expected shortfall "
                f"{point['expected_shortfall']:,.0f} unit-periods ({mark})"
            ),
            highlight=False,
        )
    console.print(f"Wrote the frontier of {len(runs)} budgets to {out}/frontier.csv", markup=False)
