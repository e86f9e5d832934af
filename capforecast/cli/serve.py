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
    keys file (blank lines and lines starting with # are skipped)."""
    keys = [k.strip() for k in os.environ.get(KEYS_VARIABLE, "").split(",")]
    if keys_file is not None:
        keys += [line.strip() for line in keys_file.read_text().splitlines()]
    found = tuple(dict.fromkeys(k for k in keys if k and not k.startswith("#")))
    short = [k for k in found if len(k) < 16]
    if short:
        raise ParameterError(f"{len(short)} API key(s) are shorter than 16 characters")
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
) -> None:
    """Serve the REST API (OpenAPI at /docs and /openapi.json; versioned paths /v1/...)."""
    import uvicorn

    from capforecast.service.app import Settings, create_app

    settings = Settings(
        db=db, keys=api_keys(keys_file), workers=workers, max_active_jobs_per_key=max_jobs_per_key
    )
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="warning", server_header=False
    )
