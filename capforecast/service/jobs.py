"""Running jobs: each in its own process (so that a job can be cancelled by stopping it,
and the request threads never do the work), at most ``workers`` at a time.

A job reads its request and inputs from the store, runs the same library calls as the
CLI, and writes its files back to the store. The runner is a thread in the server that
starts queued jobs, watches them end, and stops them when cancelled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from capforecast.core.io import csv_bytes
from capforecast.service.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Store,
    write_files,
)

#: How often the runner looks for work and for ended processes, seconds.
POLL_S = 0.05
LOG = logging.getLogger("capforecast.service")


def _table_files(store: Store, job_id: str, tables: dict[str, Any]) -> None:
    for name, table in tables.items():
        store.put_result(job_id, f"{name}.csv", "text/csv", csv_bytes(table))


def _forecast(store: Store, job_id: str, owner: str, request: dict[str, Any], folder: Path) -> None:
    from capforecast.core.history import read_history
    from capforecast.forecast.engine import forecast

    source = store.get_input(owner, request["history"])
    assert source is not None
    path = write_files(source["files"], folder) / next(iter(source["files"]))
    store.progress(job_id, "reading the history")
    history = read_history(path)
    store.progress(job_id, f"forecasting {history['unique_id'].nunique()} series")
    table = forecast(
        history, request["horizon"], models=request["models"], levels=request["levels"], n_jobs=1
    )
    _table_files(store, job_id, {"forecast": table.assign(ds=table["ds"].astype(str))})


def _plan(store: Store, job_id: str, owner: str, request: dict[str, Any], folder: Path) -> None:
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.plan.solve import solve

    source = store.get_input(owner, request["planning"])
    assert source is not None
    inputs = read_planning_inputs(write_files(source["files"], folder))
    if request.get("options"):
        inputs = inputs.with_options(**request["options"])
    store.progress(job_id, f"solving with {inputs.options.solver}")
    plan = solve(inputs)
    for name, data in plan.files().items():
        media = "application/json" if name.endswith(".json") else "text/csv"
        store.put_result(job_id, name, media, data)


def _comparison(
    store: Store, job_id: str, owner: str, request: dict[str, Any], folder: Path
) -> None:
    from capforecast.report.html import comparison_report
    from capforecast.report.workbook import comparison_sheets, workbook
    from capforecast.scenario.compare import compare
    from capforecast.scenario.run import run_scenario
    from capforecast.scenario.spec import Scenario

    source = store.get_input(owner, request["planning"])
    assert source is not None
    planning = write_files(source["files"], folder)
    scenarios = [
        Scenario.model_validate({**s, "inputs": {"planning": str(planning)}})  # s: Changes
        for s in request["scenarios"]
    ]
    runs = []
    for number, scenario in enumerate(scenarios, start=1):
        store.progress(job_id, f"planning scenario {number} of {len(scenarios)}: {scenario.name}")
        runs.append(run_scenario(scenario))
    comparison = compare({r.name: r.plan for r in runs}, baseline=request.get("baseline"))
    _table_files(store, job_id, {n: t.reset_index() for n, t in comparison.tables().items()})
    summary = {"baseline": comparison.baseline, "summary": comparison.summary}
    store.put_result(job_id, "summary.json", "application/json", json.dumps(summary).encode())
    report = comparison_report(runs, comparison).encode()
    store.put_result(job_id, "report.html", "text/html", report)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    store.put_result(job_id, "report.xlsx", media, workbook(comparison_sheets(runs, comparison)))


TASKS = {"forecasts": _forecast, "plans": _plan, "comparisons": _comparison}


def _stop_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that temporary folders are cleaned up


def execute(db: str, job_id: str) -> None:
    """Run one job (in a child process, the leader of its own process group, so that a
    cancel stops the solver processes it started too): its files, then ``succeeded``;
    or ``failed`` with the error in one line (the traceback goes to the server's log)."""
    os.setsid()
    signal.signal(signal.SIGTERM, _stop_on_term)
    store = Store(db)
    job = store.job(job_id)
    if job is None or not store.transition(job_id, RUNNING, allowed=(QUEUED,)):
        return
    try:
        with tempfile.TemporaryDirectory(prefix="capforecast-job-") as folder:
            TASKS[job.kind](store, job_id, job.owner, job.request, Path(folder))
    except Exception as error:  # every failure is the job's, reported in one line
        LOG.exception("job %s failed", job_id)
        message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        store.transition(job_id, FAILED, allowed=(RUNNING,), error=message[:2000])
        return
    store.transition(job_id, SUCCEEDED, allowed=(RUNNING,), progress="done")


def _stop(process: BaseProcess) -> None:
    """Stop a job's process and everything it started."""
    if process.pid is None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:  # not yet the leader of its group: stop it alone
        process.terminate()
    process.join(timeout=10)
    if process.is_alive() and process.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.join(timeout=5)


class Runner:
    """Starts queued jobs in processes, at most ``workers`` at once, and stops cancelled
    ones. One per server, in a daemon thread that outlives any error of one round."""

    def __init__(self, store: Store, workers: int) -> None:
        self.store, self.workers = store, max(1, workers)
        self.running: dict[str, BaseProcess] = {}
        self.lock = threading.Lock()
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="capforecast-runner", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        with self.lock:
            processes = list(self.running.values())
            self.running.clear()
        for process in processes:
            _stop(process)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (a running one is stopped)."""
        if self.store.transition(
            job_id, CANCELLED, allowed=(QUEUED, RUNNING), progress="cancelled"
        ):
            with self.lock:
                process = self.running.pop(job_id, None)
            if process is not None:
                _stop(process)
            return True
        return False

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._round()
            except Exception:  # one bad round (a locked database, say) must not end the runner
                LOG.exception("job runner round failed")
            time.sleep(POLL_S)

    def _round(self) -> None:
        with self.lock:
            ended = [(j, p) for j, p in self.running.items() if not p.is_alive()]
            for job_id, _ in ended:
                del self.running[job_id]
            busy = set(self.running)
        for job_id, process in ended:
            process.join()
            self.store.transition(
                job_id, FAILED, allowed=(QUEUED, RUNNING),
                error=f"the job's process ended with code {process.exitcode}",
            )  # fmt: skip
        free = self.workers - len(busy)
        if free <= 0:
            return
        waiting = [j for j in self.store.jobs(QUEUED) if j.id not in busy]
        for job in waiting[:free]:
            process = self.context.Process(target=execute, args=(str(self.store.path), job.id))
            process.start()
            with self.lock:
                self.running[job.id] = process
