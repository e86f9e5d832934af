"""Shared fixtures: copies of the bundled sample data, an in-process CLI runner and a
local two-worker Dask cluster."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from capforecast.cli.main import run
from capforecast.examples import sample_history_path, sample_planning_dir


@dataclass(frozen=True)
class CliResult:
    """What one CLI invocation returned and printed."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def planning_dir(tmp_path: Path) -> Path:
    """A writable copy of the sample planning inputs."""
    target = tmp_path / "planning"
    shutil.copytree(sample_planning_dir(), target)
    return target


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    """A writable copy of the sample history."""
    target = tmp_path / "history.csv"
    shutil.copyfile(sample_history_path(), target)
    return target


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``capforecast ARGS...`` in process and capture its exit code and output."""

    def invoke(*args: object) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="session")
def client() -> Iterator[Client]:
    """A real Dask cluster on this machine: two worker processes, one thread each (its
    dashboard on a free port: another run of the suite may hold 8787)."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def found_problems(problems: pd.DataFrame, *, values: bool = False) -> set[tuple[object, ...]]:
    """Each problem of a telemetry table as ``(file name, row, column, reason[, value])``."""
    return {
        (Path(p.file).name, p.row, p.column, p.reason, *((p.value,) if values else ()))
        for p in problems.itertuples()
    }
