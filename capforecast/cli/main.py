"""The ``capforecast`` command line: a thin shell over the library.

Exit codes: 0 a result was produced; 2 invalid input, parameter or usage, an input that
asks for more than the limits or the memory allow (one readable message, no traceback);
3 the solve ended without a plan (infeasible, no solution, solver error); 1 an internal
error (a bug: one line, the traceback with ``CAPFORECAST_DEBUG=1``).

Every command that takes ``--out`` checks it before any work (``check_output``): a run
never ends in a path it cannot write. Paths and names are printed as text, never as
rich markup (``out[v2]`` is a folder name, not a style).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape

from capforecast.core.errors import CapforecastError, ParameterError, PlanningWarning
from capforecast.core.history import read_history
from capforecast.core.io import check_output, write_table
from capforecast.core.limits import clipped
from capforecast.forecast.engine import forecast as run_forecast
from capforecast.forecast.engine import sample_paths
from capforecast.forecast.models import MODELS

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3


def _usage_errors() -> tuple[type[Exception], ...]:
    """Usage errors of the CLI framework (typer vendors click in recent releases)."""
    found: list[type[Exception]] = [typer.TyperException]
    try:
        import click

        found.append(click.ClickException)
    except ImportError:
        pass
    return tuple(found)


_USAGE_ERRORS = _usage_errors()

app = typer.Typer(
    name="capforecast",
    help="Capacity planning for ML accelerator fleets: history -> forecast -> plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


HistoryArg = Annotated[Path, typer.Argument(help="History CSV or Parquet: unique_id, ds, y.")]
FreqOption = Annotated[str | None, typer.Option(help="Frequency of ds, e.g. D; inferred.")]
SeasonOption = Annotated[
    int | None, typer.Option(help="Season length; default by frequency (7 for daily).")
]
ModelOption = Annotated[
    list[str] | None,
    typer.Option(help=f"Model, repeatable: {', '.join(MODELS)}."),
]
LevelOption = Annotated[
    list[int] | None, typer.Option("--level", "--levels", help="Interval level, repeatable.")
]
GapsOption = Annotated[
    str, typer.Option(help="Missing steps in a series: error, zero or interpolate.")
]
JobsOption = Annotated[
    int | None, typer.Option(help="Local processes; default every core for large panels.")
]


def _beside(out: Path, part: str) -> Path:
    """A file written next to ``out``: ``f.csv`` -> ``f.<part>.csv``."""
    return out.with_name(f"{out.stem}.{part}{out.suffix}")


@app.command()
def forecast(
    history: HistoryArg,
    horizon: Annotated[int, typer.Option(help="Steps ahead, in the history's frequency.")],
    out: Annotated[Path, typer.Option(help="Output file; .csv or .parquet by suffix.")],
    freq: FreqOption = None,
    season_length: SeasonOption = None,
    model: ModelOption = None,
    level: LevelOption = None,
    paths: Annotated[
        int,
        typer.Option(
            help="Also write N sample paths per series (of the first model) "
            "to OUT with '.paths' before the suffix."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(help="Random seed of the paths.")] = 0,
    gaps: GapsOption = "error",
    jobs: JobsOption = None,
) -> None:
    """Forecast every series of HISTORY and write the forecast table."""
    for target in (out, _beside(out, "paths")) if paths else (out,):
        check_output(target, "table")
    table = read_history(history, freq=freq, gaps=gaps)  # type: ignore[arg-type]
    models = model or ["ets"]
    result = run_forecast(
        table,
        horizon,
        models=models,
        levels=level or [80, 95],
        season_length=season_length,
        n_jobs=jobs,
    )
    write_table(result, out)
    series = result["unique_id"].nunique()
    console.print(f"Wrote {len(result):,} rows ({series} series) to {out}", markup=False)
    if paths:
        simulated = sample_paths(
            table,
            horizon,
            model=models[0],
            n_paths=paths,
            seed=seed,
            season_length=season_length,
            n_jobs=jobs,
        )
        target = _beside(out, "paths")
        write_table(simulated.assign(unique_id=simulated["unique_id"].astype(str)), target)
        console.print(f"Wrote {paths} paths per series to {target}", markup=False)


@app.command()
def backtest(
    history: HistoryArg,
    out: Annotated[Path, typer.Option(help="Metric table; .csv or .parquet by suffix.")],
    horizon: Annotated[
        int | None, typer.Option(help="Steps forecast from each cutoff (not with --requirement).")
    ] = None,
    windows: Annotated[int, typer.Option(help="Number of rolling origins.")] = 3,
    step: Annotated[int | None, typer.Option(help="Steps between origins; default H.")] = None,
    freq: FreqOption = None,
    season_length: SeasonOption = None,
    model: ModelOption = None,
    level: LevelOption = None,
    metric: Annotated[str, typer.Option(help="Metric that selects the model.")] = "mase",
    gaps: GapsOption = "error",
    jobs: JobsOption = None,
    requirement: Annotated[
        bool,
        typer.Option(
            "--requirement",
            help="Backtest the P-level requirement per workload and period at the lead "
            "times instead (needs --planning).",
        ),
    ] = False,
    planning: Annotated[
        Path | None,
        typer.Option(help="Planning-input folder: perf, catalog (lead times, prices), sites."),
    ] = None,
    lead: Annotated[
        list[int] | None,
        typer.Option(help="Periods ahead to score, repeatable; default the catalog's lead times."),
    ] = None,
    service_level: Annotated[
        float, typer.Option(help="Quantile of the requirement, e.g. 0.9 for P90.")
    ] = 0.9,
    paths: Annotated[int, typer.Option(help="Sample paths per series.", min=1)] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the paths.")] = 0,
) -> None:
    """Backtest models on HISTORY; write metrics per series and model, and the choice.

    With --requirement: from the end of each past period, forecast, derive the
    requirement at the service level as the plan does, and score it against the
    requirement that came, at the lead times (coverage, pinball, over- and
    under-provisioning in reference unit-periods and USD)."""
    from capforecast.forecast.backtest import (
        LOWER_IS_BETTER,
        cross_validation,
        evaluate,
        select_models,
    )

    check_output(out, "table")
    if requirement:
        if horizon is not None:
            raise ParameterError(
                "--horizon does not apply with --requirement: the leads (--lead, or the "
                "catalog's lead times) set how far ahead the requirement is scored."
            )
        table = read_history(history, freq=freq, gaps=gaps)  # type: ignore[arg-type]
        _requirement_backtest(table, out, planning, model, lead, service_level, paths, seed)
        return
    if horizon is None:
        raise ParameterError("Give --horizon (steps forecast from each cutoff), or --requirement.")
    if metric not in LOWER_IS_BETTER:  # checked before the (long) backtest runs
        raise ParameterError(f"Cannot select by '{metric}'; choose one of {list(LOWER_IS_BETTER)}.")
    table = read_history(history, freq=freq, gaps=gaps)  # type: ignore[arg-type]
    names = model or ["naive", "seasonal_naive", "theta", "auto_ets", "ensemble"]
    folds = cross_validation(
        table,
        horizon,
        models=names,
        n_windows=windows,
        step=step,
        levels=level or [80, 95],
        season_length=season_length,
        n_jobs=jobs,
    )
    for uid in folds.attrs["skipped"]:
        errors.print(
            f"note: '{clipped(str(uid))}' is too short for {windows} windows of {horizon} "
            "steps; left out",
            markup=False,
            highlight=False,
        )
    scores = evaluate(folds, table)
    chosen = select_models(scores, metric=metric)
    scores["selected"] = scores["model"] == scores["unique_id"].map(chosen)
    write_table(scores, out)
    summary = scores[scores["selected"]]["model"].value_counts()
    console.print(f"Wrote {len(scores):,} rows to {out}; models chosen by {metric}:", markup=False)
    for name, count in summary.items():
        console.print(f"  {escape(str(name))}: {count} series")
    calibration = [c for c in scores.columns if c.startswith(("coverage-", "msis-"))]
    console.print(
        "Intervals, mean over series (coverage against its level; MSIS: lower is better):"
    )
    for name, means in scores.groupby("model", sort=True)[calibration].mean().iterrows():
        shown = ", ".join(
            f"{c} {v:.1%}" if c.startswith("coverage") else f"{c} {v:.2f}" for c, v in means.items()
        )
        console.print(f"  {escape(str(name))}: {shown}", markup=False)


def _requirement_backtest(
    history: pd.DataFrame,
    out: Path,
    planning: Path | None,
    models: list[str] | None,
    leads: list[int] | None,
    service_level: float,
    n_paths: int,
    seed: int,
) -> None:
    """``backtest --requirement``: write the scored windows, print the summary and the
    model whose provisioning errors cost least."""
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.requirement.backtest import requirement_backtest
    from capforecast.workflow import demand_by_region

    if planning is None:
        raise ParameterError(
            "--requirement needs --planning, the folder whose perf.csv converts demand to "
            "reference units and whose catalog.csv gives lead times and prices."
        )
    inputs = read_planning_inputs(planning)
    result = requirement_backtest(
        history,
        inputs.perf,
        models=models or ["ets", "auto"],
        leads=leads,
        catalog=inputs.catalog,
        period_freq=inputs.options.period_freq,
        service_level=service_level,
        by_region=demand_by_region(history, inputs.sites),
        n_paths=n_paths,
        seed=seed,
        say=lambda message: errors.print(f"- {message}", markup=False, highlight=False),
    )
    write_table(result.windows, out)
    level = f"P{round(service_level * 100)}"
    console.print(
        f"Wrote {len(result.windows):,} scored workload-periods to {out}. Requirement at "
        f"{level}, per model and lead (periods after the origin); over and under are "
        "reference unit-periods, USD at the catalog's ownership cost per unit-period "
        "(a valuation, not cash):",
        markup=False,
    )
    for row in result.summary.itertuples():
        console.print(
            f"  {escape(str(row.model))}, lead {row.lead}: covered {row.coverage:.0%} of "
            f"{row.windows} (target {service_level:.0%}), pinball {row.pinball:,.1f}, over "
            f"{row.over:,.0f} (${row.over_usd / 1e6:,.2f}M), under {row.under:,.0f} "
            f"(${row.under_usd / 1e6:,.2f}M)",
            markup=False,
        )
    console.print(f"Least costly provisioning errors: {escape(result.best())}", markup=False)


@app.command()
def plan(
    input_dir: Annotated[Path, typer.Argument(help="Folder of planning-input CSV files.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for plan.json and the CSVs.")],
) -> None:
    """Solve the purchase plan for INPUT_DIR (model: docs/model.md); write it to OUT."""
    from capforecast.cli.render import print_plan
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.plan.solve import solve

    check_output(out, "folder")
    inputs = read_planning_inputs(input_dir)
    result = solve(inputs)
    result.write(out)
    print_plan(console, result, inputs)
    console.print(f"Wrote the plan to {out}/", markup=False)
    if not result.has_solution:
        raise typer.Exit(EXIT_NO_PLAN)


@app.command()
def ingest(
    config: Annotated[Path, typer.Argument(help="telemetry.yaml: the job log and its columns.")],
    out: Annotated[Path, typer.Option(help="History file; .csv or .parquet by suffix.")],
) -> None:
    """Turn the job log of CONFIG into demand history: the accelerators each job asked
    for from its submission (or the config's ``measure``), per group and day or hour.
    Also writes OUT's details ('.demand') and every bad row with its file, row and
    reason ('.problems') next to OUT."""
    from capforecast.telemetry import demand, read_config

    details, problems = _beside(out, "demand"), _beside(out, "problems")
    for target in (out, details, problems):
        check_output(target, "table")
    result = demand(read_config(config))
    write_table(result.history(), out, exact=True)  # data that forecast and plans read
    write_table(result.table, details)
    write_table(result.problems, problems)
    start, end = result.window
    console.print(f"Read {result.rows:,} job rows; demand from {start} to {end}.")
    for row in result.summary().itertuples(index=False):
        rows = f"{row.rows:,} bad row{'' if row.rows == 1 else 's'}"
        action = "excluded" if row.excluded else "kept"
        text = f"  {rows}, {row.reason} ({action}); for example {row.examples}"
        console.print(escape(text), highlight=False)
    series = result.table.groupby(["org", "team", "workload", "sku", "region"]).ngroups
    console.print(
        f"Wrote {series} series to {out}, details to {details}, bad rows to {problems}",
        markup=False,
    )


@app.command()
def utilization(
    config: Annotated[Path, typer.Argument(help="telemetry.yaml: job log, inventory, samples.")],
    out: Annotated[Path, typer.Option(help="Folder for the tables and findings.md.")],
    top: Annotated[int, typer.Option(help="Findings listed in findings.md.", min=1)] = 20,
) -> None:
    """Utilization insights from the telemetry of CONFIG: allocation, busy utilization,
    queue waits, profiles, peaks, fragmentation and changes as CSV tables in OUT, and
    the findings, ranked by what they are worth, in OUT/findings.md."""
    from capforecast.core.io import write_bytes_atomic
    from capforecast.telemetry import read_config
    from capforecast.telemetry.findings import findings, report
    from capforecast.telemetry.utilization import utilization as insights

    check_output(out, "folder")
    settings = read_config(config)
    result = insights(settings)
    ranked = findings(result, settings)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        write_table(table, out / f"{name}.csv")
    write_table(result.demand.problems, out / "job_problems.csv")
    write_table(ranked, out / "findings.csv")
    write_bytes_atomic(out / "findings.md", report(result, ranked, top=top).encode())
    start, end = result.demand.window
    console.print(f"Read {result.demand.rows:,} job rows; {start} to {end}. Top findings:")
    for row in ranked.head(5).itertuples(index=False):
        console.print(escape(f"  {row.rank}. {row.text}"), highlight=False)
    console.print(
        f"Wrote {len(ranked)} findings and the tables to {out}/ (findings.md)", markup=False
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
    paths: Annotated[int, typer.Option(help="Sample paths per series.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the paths.")] = 0,
    scenarios: Annotated[
        int | None,
        typer.Option(
            help="Plan on this many weighted demand scenarios reduced from the paths "
            "(a stochastic plan) instead of their P90.",
            min=1,
        ),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Backtest the requirement at the catalog's lead times first and scale each "
            "period's P90 by the factor that would have covered 90% of what came.",
        ),
    ] = False,
) -> None:
    """Run the quarterly plan on the bundled sample data (history -> plan)."""
    from capforecast.cli.render import print_plan
    from capforecast.examples import sample_history_path, sample_planning_dir
    from capforecast.workflow import quarterly_plan

    check_output(out, "folder")
    console.rule("capforecast demo: the quarterly plan on the sample data")
    history = read_history(sample_history_path())
    console.print(
        f"History: {history['unique_id'].nunique()} series, "
        f"{history['ds'].min().date()} .. {history['ds'].max().date()} ({history.attrs['freq']})"
    )
    result = quarterly_plan(
        history,
        sample_planning_dir(),
        out,
        n_paths=paths,
        seed=seed,
        n_scenarios=scenarios,
        calibrate=calibrate,
        progress=lambda message: console.print(f"[dim]- {escape(message)}[/dim]"),
    )
    print_plan(console, result.plan, result.inputs)
    console.print(
        f"Wrote the plan to {out}/ and its planning inputs to {result.inputs_dir}/", markup=False
    )
    if not result.plan.has_solution:
        raise typer.Exit(EXIT_NO_PLAN)


def _register_commands() -> None:
    from capforecast.cli import scenarios

    app.command("run")(scenarios.run_command)
    app.command("compare")(scenarios.compare_command)
    app.command("sweep")(scenarios.sweep_command)
    app.command("report")(scenarios.report_command)

    from capforecast.cli.serve import serve_command

    app.command("serve")(serve_command)


_register_commands()


def run(argv: list[str] | None = None) -> int:
    """Entry point: run the app, mapping library errors to exit code 2."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                code = app(args=argv, standalone_mode=False)
            finally:
                for warning in caught:
                    if issubclass(warning.category, PlanningWarning):
                        continue  # the plan lists them (plan.warnings), once
                    errors.print(f"note: {warning.message}", markup=False, highlight=False)
    except CapforecastError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        return EXIT_INPUT
    except typer.Exit as exc:
        return int(exc.exit_code)
    except MemoryError:  # a size no limit caught: the input's fault, not a bug
        words = argv if argv is not None else sys.argv[1:]
        command = " ".join(["capforecast", *[w for w in words if not w.startswith("-")][:1]])
        errors.print(
            f"error: ran out of memory while running '{command}'; the input asks for more "
            "than this machine has (a smaller horizon, fewer series, paths or scenarios)",
            markup=False,
            highlight=False,
        )
        return EXIT_INPUT
    except typer.Abort:
        errors.print("error: aborted", markup=False, highlight=False)
        return EXIT_INPUT
    except _USAGE_ERRORS as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        errors.print(f"error: {message}", markup=False, highlight=False)
        return EXIT_INPUT
    except OSError as exc:
        # Unreadable inputs or unwritable outputs: one readable line.
        errors.print(f"error: {exc}", markup=False, highlight=False)
        return EXIT_INPUT
    except Exception as exc:  # a bug: say so in one line, keep the traceback on request
        if os.environ.get("CAPFORECAST_DEBUG"):
            raise
        errors.print(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set CAPFORECAST_DEBUG=1 to see the traceback, and please report it)",
            markup=False,
            highlight=False,
        )
        return EXIT_INTERNAL
    return code if isinstance(code, int) else EXIT_OK
