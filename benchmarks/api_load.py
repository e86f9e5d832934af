"""A bounded load on the REST API over loopback: concurrent clients, half of the requests
plan jobs, the rest reads (job status, inputs, health). Every job must end succeeded,
none lost, and no request may fail.

Run ``python benchmarks/api_load.py`` (200 requests from 20 clients; ``--requests`` and
``--clients`` to change). The server is ``capforecast serve`` in its own process with two
job workers. Latencies are compared in the same run with ``/healthz``, which does no work:
ratios, not seconds, since these machines are shared. The result replaces the ``api-load``
section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from tests.service_server import KEY, Server, planning_files  # noqa: E402


def load(url: str, requests: int, clients: int) -> dict[str, object]:
    """Send ``requests`` requests from ``clients`` threads; half create plan jobs."""
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
        planning = client.post("/v1/inputs", json={"kind": "planning", "files": planning_files()})
        planning.raise_for_status()
        key = planning.json()["hash"]
    body = {"planning": key, "options": {"explain": False}}
    latencies: dict[str, list[float]] = {"create plan": [], "read": [], "healthz": []}
    errors: list[str] = []
    jobs: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(number: int) -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                kind = (
                    "create plan" if index % 2 == 0 else ("read" if index % 4 == 1 else "healthz")
                )
                started = time.perf_counter()
                if kind == "create plan":
                    headers = {"Idempotency-Key": f"load-{index}"}
                    response = client.post("/v1/plans", json=body, headers=headers)
                elif kind == "read":
                    with lock:
                        some = jobs[-1] if jobs else None
                    path = f"/v1/plans/{some}" if some else f"/v1/inputs/{key}"
                    response = client.get(path)
                else:
                    response = client.get("/healthz")
                elapsed = time.perf_counter() - started
                with lock:
                    latencies[kind].append(elapsed)
                    if response.status_code >= 400:
                        errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
                    elif kind == "create plan":
                        jobs.append(response.json()["id"])

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requests_seconds = time.perf_counter() - started
    states: dict[str, str] = {}
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            states = {j: client.get(f"/v1/plans/{j}").json()["state"] for j in jobs}
            if all(
                s in ("succeeded", "failed", "cancelled", "interrupted") for s in states.values()
            ):
                break
            time.sleep(1)
    jobs_seconds = time.perf_counter() - started
    return {
        "latencies": latencies,
        "errors": errors,
        "jobs": len(jobs),
        "succeeded": sum(s == "succeeded" for s in states.values()),
        "requests_seconds": requests_seconds,
        "jobs_seconds": jobs_seconds,
    }


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def _cpu() -> float:
    """CPU seconds of this process's ended children and theirs: the server and its job
    processes, once the server has stopped."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    before = _cpu()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "service.db", "--max-jobs-per-key", str(args.requests))
        server.start()
        try:
            result = load(server.url, args.requests, args.clients)
        finally:
            server.stop()
    cpu = _cpu() - before
    latencies = result["latencies"]
    anchor = statistics.median(latencies["healthz"])  # type: ignore[index]
    rows = []
    for kind, values in latencies.items():  # type: ignore[union-attr]
        p50, p95, p99 = _percentiles(values)
        rows.append({
            "request": kind, "count": len(values), "p50 ms": f"{p50 * 1e3:.1f}",
            "p95 ms": f"{p95 * 1e3:.1f}", "p99 ms": f"{p99 * 1e3:.1f}",
            "p50 / healthz p50": f"{p50 / anchor:.1f}",
        })  # fmt: skip
    throughput = args.requests / result["requests_seconds"]  # type: ignore[operator]
    lines = [
        "## REST API under load (`benchmarks/api_load.py`)",
        "",
        f"Latest run: {time.strftime('%Y-%m-%d')}. {args.requests} requests from {args.clients} "
        "concurrent clients on loopback to `capforecast serve` (two job workers): half create "
        "plan jobs on the sample planning inputs, a quarter read job status or inputs, a "
        "quarter `/healthz` (the anchor: no work).",
        "",
        markdown_table(rows),
        "",
        f"Requests: {throughput:.1f} per second ({result['requests_seconds']:.1f} s); errors: "
        f"{len(result['errors'])}. Jobs: {result['jobs']} created, {result['succeeded']} "
        f"succeeded, {result['jobs'] - result['succeeded']} lost or failed; all done "
        f"{result['jobs_seconds']:.1f} s after the first request "
        f"({result['jobs'] / result['jobs_seconds']:.2f} plans per second with two workers). "
        f"CPU: {cpu:.0f} s for the server and its job processes, "
        f"{cpu / max(result['jobs'], 1):.2f} s per plan job (which, unlike the rates, does "
        "not depend on what else the machine runs).",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("api-load", text)
    return 0 if not result["errors"] and result["succeeded"] == result["jobs"] else 1


if __name__ == "__main__":
    sys.exit(main())
