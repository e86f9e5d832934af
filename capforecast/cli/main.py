"""The ``capforecast`` command line: a thin shell over the library.

Exit codes: 0 a result was produced; 2 invalid input, parameter or usage (one readable
message, no traceback); 3 the solve ended without a plan (infeasible, no solution, solver
error); 1 an internal error (a bug: one line, the traceback with ``CAPFORECAST_DEBUG=1``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from capforecast.core.errors import CapforecastError
from capforecast.core.history import read_history
from capforecast.core.io import write_table
from capforecast.forecast.engine import forecast as run_forecast
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


@app.command()
def forecast(
    history: Annotated[Path, typer.Argument(help="History CSV or Parquet: unique_id, ds, y.")],
    horizon: Annotated[int, typer.Option(help="Steps ahead, in the history's frequency.")],
    out: Annotated[Path, typer.Option(help="Output file; .csv or .parquet by suffix.")],
    freq: Annotated[str | None, typer.Option(help="Frequency of ds, e.g. D; inferred.")] = None,
    season_length: Annotated[
        int | None, typer.Option(help="Season length; default by frequency (7 for daily).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(help=f"Model, repeatable: {', '.join(MODELS)}. Default ets."),
    ] = None,
    level: Annotated[
        list[int] | None, typer.Option(help="Interval level in percent, repeatable.")
    ] = None,
) -> None:
    """Forecast every series of HISTORY and write the forecast table."""
    table = read_history(history, freq=freq)
    result = run_forecast(
        table,
        horizon,
        models=model or ["ets"],
        levels=level or [80, 95],
        season_length=season_length,
    )
    write_table(result, out)
    for fallback in result.attrs["fallbacks"]:
        errors.print(
            f"note: {fallback.model} failed on '{fallback.unique_id}' ({fallback.reason}); "
            "used the seasonal naive forecast"
        )
    series = result["unique_id"].nunique()
    console.print(f"Wrote {len(result):,} rows ({series} series) to {out}")


@app.command()
def plan(
    input_dir: Annotated[Path, typer.Argument(help="Folder of planning-input CSV files.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for plan.json and the CSVs.")],
) -> None:
    """Solve the purchase plan for INPUT_DIR (model: docs/model.md); write it to OUT."""
    from capforecast.cli.render import print_plan
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.plan.solve import solve

    inputs = read_planning_inputs(input_dir)
    result = solve(inputs)
    result.write(out)
    print_plan(console, result, inputs)
    console.print(f"Wrote the plan to {out}/")
    if not result.has_solution:
        raise typer.Exit(EXIT_NO_PLAN)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
    paths: Annotated[int, typer.Option(help="Sample paths per series.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the paths.")] = 0,
) -> None:
    """Run the quarterly plan on the bundled sample data (history -> plan)."""
    from capforecast.cli.render import print_plan
    from capforecast.examples import sample_history_path, sample_planning_dir
    from capforecast.workflow import quarterly_plan

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
        progress=lambda message: console.print(f"[dim]- {message}[/dim]"),
    )
    print_plan(console, result.plan, result.inputs)
    console.print(f"Wrote the plan to {out}/ and its planning inputs to {result.inputs_dir}/")
    if not result.plan.has_solution:
        raise typer.Exit(EXIT_NO_PLAN)


def run(argv: list[str] | None = None) -> int:
    """Entry point: run the app, mapping library errors to exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False)
    except CapforecastError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        return EXIT_INPUT
    except typer.Exit as exc:
        return int(exc.exit_code)
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
