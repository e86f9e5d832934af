"""Run one task per series: in this process, on local cores, or on a Dask cluster.

Every task is a pure function of its series and parameters (random streams are derived
from the series' position), so all three ways give identical results in the same order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Below this many series, process start-up costs more than parallelism saves.
MIN_PARALLEL = 32


def _run_batch(task: Callable[[Item], Result], batch: Sequence[Item]) -> list[Result]:
    return [task(item) for item in batch]


def _batches(items: Sequence[Item], count: int) -> list[list[Item]]:
    size = max(1, -(-len(items) // count))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def workers(n_jobs: int | None) -> int:
    """How many local processes ``n_jobs`` means (``None`` or -1: every core)."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs < 0:
        return cores
    return max(1, min(n_jobs, cores))


def map_series(
    task: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    n_jobs: int | None = None,
    client: Any = None,
) -> list[Result]:
    """``[task(item) for item in items]``, in parallel when that pays off.

    Parameters
    ----------
    task
        A picklable function (module level, or a ``functools.partial`` of one).
    items
        One item per series.
    n_jobs
        Local processes: ``None`` (default) uses every core when there are at least
        ``MIN_PARALLEL`` items, ``1`` runs in this process.
    client
        A ``dask.distributed.Client``: the items are sent to its workers in batches.
    """
    if client is not None:
        count = max(1, 4 * len(client.scheduler_info().get("workers", {})))
        # Scatter the data first: inside the task graph, a large panel would be sent
        # through the scheduler (and dask warns about the graph's size).
        batches = client.scatter(_batches(items, count))
        futures = client.map(partial(_run_batch, task), batches, pure=False)
        return [result for batch in client.gather(futures) for result in batch]
    processes = workers(n_jobs)
    if processes == 1 or (n_jobs is None and len(items) < MIN_PARALLEL):
        return [task(item) for item in items]
    from joblib import Parallel, delayed

    batches = _batches(items, 4 * processes)
    results = Parallel(n_jobs=processes, backend="loky")(
        delayed(_run_batch)(task, batch) for batch in batches
    )
    return [result for batch in results for result in batch]
