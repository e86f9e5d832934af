"""Running jobs: each in its own process (so that a job can be cancelled by stopping it,
and the request threads never do the work), at most ``workers`` at a time.

A job reads its request and inputs from the store, runs the same library calls as the
CLI, and writes its files back to the store. The runner is a thread in the server that
starts queued jobs, watches them end, and stops them when cancelled or over their time.

Every job is bounded: its wall-clock time (the runner stops it), its memory (an address
space limit in its process), and the bytes of its results (the store refuses more). A
job's processes never outlive the server: each dies with it, the solver processes it
started too, and a server started again stops any that an earlier one left (its store
records each running job's process).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from capforecast.core.io import csv_bytes
from capforecast.service.problems import one_line
from capforecast.service.settings import MIB, Settings
from capforecast.service.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    Store,
    write_files,
)

#: How often the runner looks for work and for ended processes, seconds.
POLL_S = 0.05
#: How long a job stopped with SIGTERM may take to clean up before it is killed.
GRACE_S = 10.0
#: The exit code of a job's process that ran out of memory (it reports nothing itself:
#: it may have no memory left to do so).
MEMORY_EXIT = 99
#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1
LOG = logging.getLogger("capforecast.service")


def _table_files(store: Store, job_id: str, tables: dict[str, Any]) -> None:
    for name, table in tables.items():
        store.put_result(job_id, f"{name}.csv", "text/csv", csv_bytes(table))


def _forecast(store: Store, job_id: str, owner: str, request: dict[str, Any], folder: Path) -> None:
    from capforecast.core.history import read_history
    from capforecast.forecast.engine import forecast

    source = store.get_input(owner, request["history"])
    assert source is not None
    path = write_files(source.files, folder) / next(iter(source.files))
    store.progress(job_id, "reading the history")
    history = read_history(path)
    store.progress(job_id, f"forecasting {history['unique_id'].nunique()} series")
    table = forecast(
        history, request["horizon"], models=request["models"], levels=request["levels"],
        n_jobs=1, progress=False,
    )  # fmt: skip
    _table_files(store, job_id, {"forecast": table.assign(ds=table["ds"].astype(str))})


def _plan(store: Store, job_id: str, owner: str, request: dict[str, Any], folder: Path) -> None:
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.plan.solve import solve

    source = store.get_input(owner, request["planning"])
    assert source is not None
    inputs = read_planning_inputs(write_files(source.files, folder))
    if request.get("options"):
        inputs = inputs.with_options(**request["options"])
    store.progress(job_id, f"solving with {inputs.options.solver}")
    plan = solve(inputs, progress=False)  # the job's progress is its store entry
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
    planning = write_files(source.files, folder)
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


def start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (``None``: no such
    process): with the pid, it names one process, not a later one given the same pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the name may hold spaces


def _on_parent_death(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent dies (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)


#: The sentinel of a job's process group: a small process in the group that, when the
#: job's process dies for any reason, kills what is left of the group (the solver
#: processes it started). It ignores SIGTERM, so that a cancel sent to the whole group
#: lets the job clean up first.
SENTINEL = """
import ctypes, os, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGUSR1, lambda *_: os.killpg(0, signal.SIGKILL))
ctypes.CDLL(None).prctl(1, int(signal.SIGUSR1))
if os.getppid() != int(sys.argv[1]):
    os.killpg(0, signal.SIGKILL)
while True:
    signal.pause()
"""


def _stop_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that temporary folders are cleaned up


def execute(settings: Settings, job_id: str, parent: int) -> None:
    """Run one job in a child process of the server (pid ``parent``): its files, then
    ``succeeded``; or ``failed`` with the error in one line (the traceback goes to the
    server's log).

    The process leads its own process group (a cancel stops the solver processes it
    started too), dies with the server, and may use ``settings.job_memory_bytes`` of
    address space; out of memory, it exits with :data:`MEMORY_EXIT` for the runner to
    report.
    """
    os.setsid()
    # The kernel sends the signal when the *thread* that started this process ends, not
    # the process: the runner thread starts every job and lives as long as the server
    # (it stops the jobs itself before it ends).
    _on_parent_death(signal.SIGKILL)
    if os.getppid() != parent:  # the server died before the line above
        return
    if sys.platform == "linux":
        os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", "-c", SENTINEL,
                                        str(os.getpid())], os.environ)  # fmt: skip
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    memory = settings.job_memory_bytes if hard < 0 else min(settings.job_memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard))
    signal.signal(signal.SIGTERM, _stop_on_term)
    store = Store(settings.db, quota_bytes=settings.quota_bytes,
                  result_bytes=settings.max_result_bytes)  # fmt: skip
    job = store.job(job_id)
    pid = os.getpid()
    if job is None or not store.transition(
        job_id, RUNNING, allowed=(QUEUED,), pid=pid, pid_start=start_time(pid)
    ):
        return
    try:
        with tempfile.TemporaryDirectory(prefix="capforecast-job-") as folder:
            TASKS[job.kind](store, job_id, job.owner, job.request, Path(folder))
    except MemoryError:
        os._exit(MEMORY_EXIT)
    except Exception as error:  # every failure is the job's, reported in one line
        LOG.exception("job %s failed", job_id)
        store.transition(job_id, FAILED, allowed=(RUNNING,), error=one_line(error))
        return
    store.transition(job_id, SUCCEEDED, allowed=(RUNNING,), progress="done")


def _signal(pid: int, signum: int) -> None:
    """Send ``signum`` to a job's process group (to the process alone if it has not made
    its group yet)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def pick(queued: Sequence[Job], running: Counter[str], free: int) -> list[Job]:
    """The queued jobs to start in ``free`` workers, sharing them between keys: each
    time the oldest queued job of the key with the fewest jobs running (a tie: the
    oldest job). ``queued`` is oldest first; ``running`` counts jobs by owner."""
    counts, waiting, chosen = Counter(running), list(queued), list[Job]()
    while waiting and len(chosen) < free:
        job = min(waiting, key=lambda j: counts[j.owner])  # the first of the fewest: oldest
        waiting.remove(job)
        counts[job.owner] += 1
        chosen.append(job)
    return chosen


@dataclass
class _Running:
    process: BaseProcess
    owner: str
    started: float  # time.monotonic()
    stopping: float | None = None  # when it was sent SIGTERM


class Runner:
    """Starts queued jobs in processes, at most ``settings.workers`` at once, shared
    fairly between keys; stops cancelled ones and ones over the wall-clock limit; and
    sweeps what is past retention. One per server, in a thread that outlives any error
    of one round."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.running: dict[str, _Running] = {}
        self.lock = threading.Lock()
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="capforecast-runner", daemon=True)
        self.next_sweep = 0.0

    def recover(self) -> int:
        """At start-up, before any job runs: stop what an earlier server left running
        (a job's process still there, known by its start time, and its group), then mark
        the jobs it left queued or running interrupted; how many."""
        for job in self.store.jobs(RUNNING):
            # Ended (its group with it, by its sentinel), or its pid is now another's:
            if job.pid is None or job.pid_start is None or start_time(job.pid) != job.pid_start:
                continue
            LOG.warning("stopping job %s, left running by an earlier server", job.id)
            _signal(job.pid, signal.SIGKILL)
        return self.store.interrupt_unfinished()

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        """Stop the runner and the jobs it runs (they are interrupted)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=GRACE_S + 10)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (a running one is stopped, without waiting)."""
        if not self.store.transition(
            job_id, CANCELLED, allowed=(QUEUED, RUNNING), progress="cancelled"
        ):
            return False
        with self.lock:
            entry = self.running.get(job_id)
            if entry is not None:
                self._terminate(entry)
        return True

    def _terminate(self, entry: _Running) -> None:
        if entry.stopping is None and entry.process.pid is not None:
            _signal(entry.process.pid, signal.SIGTERM)
            entry.stopping = time.monotonic()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._round()
            except Exception:  # one bad round (a locked database, say) must not end the runner
                LOG.exception("job runner round failed")
            time.sleep(POLL_S)
        self._stop_all()  # in this thread, before it ends (see execute)

    def _stop_all(self) -> None:
        with self.lock:
            entries = list(self.running.values())
            for entry in entries:
                self._terminate(entry)
        deadline = time.monotonic() + GRACE_S
        for entry in entries:
            entry.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if entry.process.is_alive() and entry.process.pid is not None:
                _signal(entry.process.pid, signal.SIGKILL)
                entry.process.join(timeout=5)

    def _ended(self, code: int | None) -> str:
        memory = f"its memory limit of {self.settings.job_memory_bytes / MIB:.0f} MB"
        if code == MEMORY_EXIT:
            return f"MemoryError: the job needed more memory than {memory}"
        crashed = code is not None and -code in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS)
        return f"the job's process ended with code {code}" + (
            f" (it may have gone over {memory})" if crashed else ""
        )

    def _round(self) -> None:
        now, limit = time.monotonic(), self.settings.job_time_limit_s
        with self.lock:
            entries = list(self.running.items())
        for job_id, entry in entries:
            if not entry.process.is_alive():
                entry.process.join()
                with self.lock:
                    del self.running[job_id]
                error = self._ended(entry.process.exitcode)
                self.store.transition(job_id, FAILED, allowed=(QUEUED, RUNNING), error=error)
            elif entry.stopping is None and now - entry.started > limit:
                error = f"stopped after {limit:g} s: the job wall-clock limit"
                self.store.transition(job_id, FAILED, allowed=(QUEUED, RUNNING), error=error)
                with self.lock:
                    self._terminate(entry)
            elif entry.stopping is not None and now - entry.stopping > GRACE_S:
                assert entry.process.pid is not None  # started
                _signal(entry.process.pid, signal.SIGKILL)
        if now >= self.next_sweep:
            self.next_sweep = now + self.settings.sweep_every_s
            jobs, inputs = self.store.sweep(time.time() - self.settings.retention_s)
            if jobs or inputs:
                LOG.info("retention: removed %d jobs and %d inputs", jobs, inputs)
        with self.lock:
            free = self.settings.workers - len(self.running)
            running = Counter(entry.owner for entry in self.running.values())
            busy = set(self.running)
        if free <= 0:
            return
        queued = [j for j in self.store.jobs(QUEUED) if j.id not in busy]
        for job in pick(queued, running, free):
            process = self.context.Process(
                target=execute, args=(self.settings, job.id, os.getpid())
            )
            process.start()
            with self.lock:
                self.running[job.id] = _Running(process, job.owner, time.monotonic())
