"""``capforecast serve`` in a child process on a free loopback port, for the tests and
benchmarks of the REST API, with what they look at from outside: its memory (RSS from
``/proc``) and the job processes it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from capforecast.examples import sample_planning_dir

KEY = "test-key-0123456789abcdef"
OTHER = "other-key-0123456789abcdef"


class Server:
    """``capforecast serve`` in a child process, on a free loopback port."""

    def __init__(self, db: Path, *options: str, env: dict[str, str] | None = None) -> None:
        self.db, self.options, self.env = db, options, env or {}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env, "CAPFORECAST_API_KEYS": f"{KEY},{OTHER}"}
        command = [sys.executable, "-m", "capforecast", "serve", "--port", str(self.port),
                   "--db", str(self.db), "--workers", "2", *self.options]  # fmt: skip
        log = self.db.with_suffix(".log")
        with log.open("ab") as output:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)

    def kill(self) -> None:
        """``kill -9``: the server gets no chance to stop its jobs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_mb(self) -> float:
        """The server's resident memory now, MB."""
        return status(self.pid)["VmRSS"]

    def peak_mb(self) -> float:
        """The most resident memory the server has had, MB."""
        return status(self.pid)["VmHWM"]

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()


def status(pid: int) -> dict[str, float]:
    """The memory lines of ``/proc/<pid>/status``, MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = (line.split(":", 1) for line in lines if line.startswith("Vm"))
    return {name: int(value.split()[0]) / 1024 for name, value in fields}


def processes() -> dict[int, tuple[int, int, str]]:
    """Every process now: pid -> (parent, process group, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z":  # a zombie has ended
            found[int(entry.name)] = (int(stat[1]), int(stat[2]), command)
    return found


def job_groups(server: int) -> dict[int, list[int]]:
    """The process groups of the server's jobs (each job's process is a child of the
    server and leads one): group -> its live members (the job, its sentinel, its solver
    processes)."""
    now = processes()
    leaders = [pid for pid, (parent, group, _) in now.items() if parent == server and group == pid]
    return {g: [pid for pid, (_, group, _) in now.items() if group == g] for g in leaders}


def solving(server: int) -> bool:
    """Whether a job of the server has started a HiGHS process (``highs_process.py``)."""
    now = processes()
    members = [pid for group in job_groups(server).values() for pid in group]
    return any("highs_process" in now[pid][2] for pid in members if pid in now)


def client(server: Server, key: str = KEY, **options: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60, **options)


def planning_files() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(sample_planning_dir().iterdir())}


def hard_planning_files() -> dict[str, str]:
    """The sample inputs with half the budget: a plan that runs to its time limit."""
    files = planning_files()
    budget = [line.split(",") for line in files["budget.csv"].splitlines()]
    files["budget.csv"] = "\n".join(
        [",".join(budget[0]), *(f"{p},{float(b) / 2}" for p, b in budget[1:])]
    )
    return files


def wait(client: httpx.Client, path: str, states: tuple[str, ...], limit: float = 120) -> Any:
    """The job at ``path`` once it is in one of ``states``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = client.get(path).json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{path} stayed {job['state']}")


def until(condition: Any, limit: float, every: float = 0.1) -> float:
    """Seconds until ``condition()`` holds (AssertionError after ``limit``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise AssertionError(f"not within {limit} s")
        time.sleep(every)
    return time.monotonic() - started
