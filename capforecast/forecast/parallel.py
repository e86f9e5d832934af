"""Run one task per series: in this process, on local cores, or on a Dask cluster.

Every task is a pure function of its series and parameters (random streams are derived
from the series' position), so all three ways give identical results in the same order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from capforecast.core.progress import bar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Below this many series, process start-up costs more than parallelism saves.
MIN_PARALLEL = 32

#: Batches per worker: enough for a progress bar to move and for uneven series to even
#: out, few enough that sending each one costs little.
BATCHES_PER_PROCESS = 8


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
    progress: bool | None = False,
    what: str = "series",
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
    progress, what
        A progress bar headed ``what`` (:mod:`capforecast.core.progress`: ``None``
        shows it on a terminal or in Jupyter), moved as batches finish.
    """
    with bar(len(items), what, progress) as shown:
        if client is not None:
            return _on_dask(task, items, client, shown)
        processes = workers(n_jobs)
        if processes == 1 or (n_jobs is None and len(items) < MIN_PARALLEL):
            done = []
            for item in items:
                done.append(task(item))
                shown.update(1)
            return done
        from joblib import Parallel, delayed

        # Batches small enough for the bar to move, large enough to keep overhead low.
        batches = _batches(items, BATCHES_PER_PROCESS * processes)
        finished = Parallel(n_jobs=processes, backend="loky", return_as="generator")(
            delayed(_run_batch)(task, batch) for batch in batches
        )
        results: list[Result] = []
        for batch in finished:  # in order
            results.extend(batch)
            shown.update(len(batch))
        return results


def _on_dask(
    task: Callable[[Item], Result], items: Sequence[Item], client: Any, shown: Any
) -> list[Result]:
    """``map_series`` on a Dask cluster, in batches; ``shown`` moves as each one ends."""
    from distributed import as_completed

    count = max(1, BATCHES_PER_PROCESS * len(client.scheduler_info().get("workers", {})))
    # Scatter the data first: inside the task graph, a large panel would be sent through
    # the scheduler (and dask warns about the graph's size).
    parts = _batches(items, count)
    futures = client.map(partial(_run_batch, task), client.scatter(parts), pure=False)
    sizes = {future.key: len(part) for future, part in zip(futures, parts, strict=True)}
    for future in as_completed(futures):
        shown.update(sizes[future.key])
    return [result for batch in client.gather(futures) for result in batch]
