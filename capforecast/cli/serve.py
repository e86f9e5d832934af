"""``capforecast serve``: the REST API on uvicorn (a thin shell over capforecast.service)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from capforecast.core.errors import ParameterError

KEYS_VARIABLE = "CAPFORECAST_API_KEYS"


def api_keys(keys_file: Path | None) -> tuple[str, ...]:
    """The API keys: comma-separated in $CAPFORECAST_API_KEYS, and one per line in the
    keys file (blank lines and lines starting with # are skipped). Each is at least 16
    characters of printable ASCII: an HTTP header carries nothing else, so another key
    could never match."""
    keys = [k.strip() for k in os.environ.get(KEYS_VARIABLE, "").split(",")]
    if keys_file is not None:
        keys += [line.strip() for line in keys_file.read_text().splitlines()]
    found = tuple(dict.fromkeys(k for k in keys if k and not k.startswith("#")))
    short = [k for k in found if len(k) < 16]
    if short:
        raise ParameterError(f"{len(short)} API key(s) are shorter than 16 characters")
    unusable = [k for k in found if not (k.isascii() and k.isprintable())]
    if unusable:
        raise ParameterError(
            f"{len(unusable)} API key(s) have characters other than printable ASCII, which "
            "an HTTP header cannot carry"
        )
    if not found:
        raise ParameterError(
            f"no API key: set {KEYS_VARIABLE} (comma-separated) or give --keys-file; "
            "without one the API would refuse every request but /healthz and /readyz"
        )
    return found


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    db: Annotated[Path, typer.Option(help="SQLite file for inputs, jobs and results.")] = Path(
        "capforecast.db"
    ),
    workers: Annotated[int, typer.Option(help="Jobs run at once (processes).", min=1)] = 2,
    keys_file: Annotated[Path | None, typer.Option(help="File of API keys, one per line.")] = None,
    max_jobs_per_key: Annotated[
        int, typer.Option(help="Jobs one key may have queued or running at once.", min=1)
    ] = 8,
    job_time_limit: Annotated[
        float,
        typer.Option(help="Seconds a job may run (wall clock) before it is stopped.", min=1),
    ] = 900.0,
    job_memory_mb: Annotated[
        int, typer.Option(help="Address space of a job's process, MB.", min=256)
    ] = 4096,
    quota_mb: Annotated[
        float, typer.Option(help="Storage per key (inputs and results), MB.", min=0.01)
    ] = 1024.0,
    max_result_mb: Annotated[float, typer.Option(help="Results of one job, MB.", min=0.01)] = 200.0,
    retention_days: Annotated[
        float, typer.Option(help="Days finished jobs and unused inputs are kept.", min=1e-5)
    ] = 30.0,
    max_forecast_values: Annotated[
        int,
        typer.Option(
            help="Values of one forecast: series x horizon x models x (1 + 2 x levels).", min=1
        ),
    ] = 2_000_000,
) -> None:
    """Serve the REST API (OpenAPI schema at /openapi.json; versioned paths /v1/...)."""
    import uvicorn

    from capforecast.service.app import create_app
    from capforecast.service.settings import DAY_S, MIB, Settings

    settings = Settings(
        db=db,
        keys=api_keys(keys_file),
        workers=workers,
        max_active_jobs_per_key=max_jobs_per_key,
        job_time_limit_s=job_time_limit,
        job_memory_bytes=job_memory_mb * MIB,
        quota_bytes=int(quota_mb * MIB),
        max_result_bytes=int(max_result_mb * MIB),
        retention_s=retention_days * DAY_S,
        max_forecast_values=max_forecast_values,
    )
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="warning", server_header=False
    )
