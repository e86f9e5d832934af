"""Generate a month of sample telemetry consistent with the sample history (seeded).

Run from the project root::

    python data_samples/generate_telemetry.py                  # the committed sample
    python data_samples/generate_telemetry.py --out /tmp/t --sample-minutes 5   # larger

It writes, for November 2026, a scheduler job log (one CSV file per week), GPU utilization
samples per node (Parquet) and the inventory of nodes (CSV), with ``telemetry.yaml``.

How it is made: every series of ``history.csv`` is a stream of jobs. A discrete-time
simulation (10-minute ticks, starting three days early so the month opens on a busy
cluster) submits jobs for a series whenever its jobs alive (queued or running) hold fewer
GPUs than the history's demand for that day, so the demand the job log gives back is the
history's. A scheduler per pool (SKU and region) places jobs on nodes first come, first
served with backfill: up to 8 GPUs on one node (best fit), larger jobs on whole free nodes.
Pools smaller than their demand queue jobs, so part of the demand is pending. Each job has
a busy level (its team's habit, with noise), and each node's hourly utilization sample is
the busy GPUs on it over its GPUs. A few bad rows are written on purpose (see ``BAD_ROWS``).
README.md describes every number.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20261202
START, END = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01")
WARM_UP = pd.Timedelta(days=3)
TICK = pd.Timedelta(minutes=10)
NODE_GPUS = 8

# (sku, region) -> [(site, nodes, in service from)]. Owned sites hold the fleet of
# planning/fleet.csv that is in service today; the planning fleet has no B200 before 2027Q2
# and MI300X only in texas, so the rest runs on reserved cloud capacity.
POOLS = {
    ("H100", "us"): [("virginia", 560, None)],
    ("H200", "us"): [("virginia", 200, None)],
    ("MI300X", "us"): [("texas", 100, None), ("cloud-us", 100, None)],
    ("B200", "us"): [("cloud-us", 80, None), ("cloud-us", 20, "2026-11-16")],
    ("H100", "eu"): [("amsterdam", 375, None)],
    ("H200", "eu"): [("cloud-eu", 76, None)],
    ("MI300X", "eu"): [("cloud-eu", 38, None)],
    ("B200", "eu"): [("cloud-eu", 44, None)],
}
SITE_REGION = {"virginia": "us", "texas": "us", "cloud-us": "us", "amsterdam": "eu"}
SITE_REGION["cloud-eu"] = "eu"

# Job shapes: GPU counts and their probabilities, median hours and lognormal sigma.
TRAINING_SIZES = ([1, 2, 4, 8, 16, 32, 64], [0.06, 0.06, 0.08, 0.3, 0.22, 0.16, 0.12])
INFERENCE_SIZES = ([1, 2, 4, 8], [0.3, 0.3, 0.25, 0.15])
FRACTIONAL_SIZES = ([0.25, 0.5, 1, 2], [0.35, 0.35, 0.2, 0.1])
DURATION = {"training": (20.0, 1.0, 0.25, 240.0), "inference": (72.0, 0.8, 2.0, 480.0)}
# Busy level of a job: a Beta mean per workload, and the teams that use less.
BUSY = {"training": 0.82, "inference": 0.5}
LOW_BUSY_TEAMS = {"multimodal": 0.25, "eval": 0.3}
FRACTIONAL_TEAMS = {"embeddings"}  # inference served from shares of a GPU
# Inference follows the day: demand within a day is scaled by 1 + A sin(...), mean 1.
DIURNAL_AMPLITUDE = 0.25
UNIT_PRICE = {"H100": 27_000, "H200": 32_000, "B200": 38_000, "MI300X": 15_000}
#: Bad rows written on purpose, per reason, so that the report has something to show.
BAD_ROWS = {"duplicate_job_id": 3, "end_before_start": 2, "unparsable_time": 2, "unknown_sku": 2}


@dataclass
class Job:
    number: int
    series: int
    gpus: float
    submit: float  # seconds from the simulation start
    run: float  # seconds of running
    busy: float
    start: float = np.nan
    end: float = np.nan
    nodes: list[int] = field(default_factory=list)
    alive: bool = True


def _finish(job: Job, pool: Pool, living: list[list[Job]], alive: np.ndarray) -> None:
    """End ``job`` (at ``job.end``): free its GPUs, or take it off the queue."""
    job.alive = False
    if job.nodes:
        pool.release(job)
    living[job.series].remove(job)
    alive[job.series] -= job.gpus


STARVATION_S = 6 * 3600


class Pool:
    """The nodes of one (SKU, region) and the queue of jobs waiting for them."""

    def __init__(self, nodes: list[tuple[int, float]]) -> None:
        self.ids = np.array([n for n, _ in nodes])
        self.opens = np.array([t for _, t in nodes])
        self.free = np.full(len(nodes), float(NODE_GPUS))
        self.queue: list[Job] = []

    def place(self, job: Job, now: float) -> bool:
        usable = self.opens <= now
        if job.gpus <= NODE_GPUS:
            fits = np.flatnonzero(usable & (self.free >= job.gpus - 1e-9))
            if not len(fits):
                return False
            chosen = fits[np.argmin(self.free[fits])][None]  # best fit
        else:
            whole = np.flatnonzero(usable & (self.free >= NODE_GPUS - 1e-9))
            need = int(np.ceil(job.gpus / NODE_GPUS))
            if len(whole) < need:
                return False
            chosen = whole[:need]
        self.free[chosen] -= job.gpus / len(chosen)
        job.nodes = [int(i) for i in chosen]
        return True

    def release(self, job: Job) -> None:
        self.free[job.nodes] += job.gpus / len(job.nodes)


def _targets(history: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The series (attributes) and their demand per tick: the history's daily value,
    shaped over the day for inference."""
    first = START - WARM_UP
    days = history[(history["ds"] >= first) & (history["ds"] < END)]
    wide = days.pivot(index="ds", columns="unique_id", values="y").sort_index()
    series = (
        history.drop_duplicates("unique_id").set_index("unique_id").loc[wide.columns]
    ).reset_index()
    ticks = pd.date_range(first, END, freq=TICK, inclusive="left")
    daily = wide.reindex(ticks.floor("D")).to_numpy()
    hours = ticks.hour.to_numpy() + ticks.minute.to_numpy() / 60
    shape = 1 + DIURNAL_AMPLITUDE * np.sin(2 * np.pi * (hours - 9) / 24)
    inference = (series["workload"] == "inference").to_numpy()
    daily[:, inference] *= shape[:, None]
    return series, daily


def _size(rng: np.random.Generator, row: pd.Series, level: float) -> float:
    if row["team"] in FRACTIONAL_TEAMS:
        sizes, weights = FRACTIONAL_SIZES
    elif row["workload"] == "training":
        sizes, weights = TRAINING_SIZES
    else:
        sizes, weights = INFERENCE_SIZES
    allowed = [(s, w) for s, w in zip(sizes, weights, strict=True) if s <= max(8.0, level / 4)]
    values, probabilities = zip(*allowed, strict=True)
    p = np.array(probabilities) / sum(probabilities)
    return float(values[rng.choice(len(values), p=p)])


@dataclass
class Simulation:
    series: pd.DataFrame  # attributes of each series
    jobs: list[Job]
    pools: list[Pool]  # the pool of each series
    inventory: pd.DataFrame


def simulate(rng: np.random.Generator, history: pd.DataFrame) -> Simulation:
    """Run the cluster from three days before November to its end."""
    series, targets = _targets(history)
    inventory, pools = [], {}
    for (sku, region), sites in POOLS.items():
        nodes = []
        for site, count, opens in sites:
            opened = (
                0.0 if opens is None else (pd.Timestamp(opens) - START + WARM_UP).total_seconds()
            )
            for _ in range(count):
                number = len(inventory)
                inventory.append(
                    (
                        f"{site[:3]}-{sku.lower()}-{number:04d}",
                        sku,
                        NODE_GPUS,
                        site,
                        region,
                        opens or "",
                    )
                )
                nodes.append((number, opened))
        pools[(sku, region)] = Pool(nodes)
    pool_of = [pools[(r["sku"], r["region"])] for _, r in series.iterrows()]
    alive = np.zeros(len(series))
    living: list[list[Job]] = [[] for _ in range(len(series))]  # alive jobs, oldest first
    jobs: list[Job] = []
    ending: list[tuple[float, int]] = []  # (end, job number)
    tick = TICK.total_seconds()
    rows = list(series.itertuples(index=False))
    for step in range(targets.shape[0]):
        now = step * tick
        while ending and ending[0][0] <= now:
            _, number = heapq.heappop(ending)
            job = jobs[number]
            if job.alive and job.end <= now:
                _finish(job, pool_of[job.series], living, alive)
        for index, row in enumerate(rows):
            level = targets[step, index]
            if row.workload == "inference":  # replicas scale in when demand falls
                while living[index] and alive[index] - living[index][-1].gpus >= level:
                    job = living[index][-1]
                    began = job.submit if np.isnan(job.start) else job.start
                    job.end = max(now, began) + rng.uniform(0, 60)
                    _finish(job, pool_of[index], living, alive)
            while True:  # submit while a job brings the alive GPUs closer to the level
                gpus = _size(rng, series.iloc[index], level)
                if alive[index] + gpus / 2 > level:
                    break
                median, sigma, low, high = DURATION[row.workload]
                hours = float(np.clip(median * np.exp(sigma * rng.standard_normal()), low, high))
                mean = LOW_BUSY_TEAMS.get(row.team, BUSY[row.workload])
                busy = float(rng.beta(8 * mean, 8 * (1 - mean)))
                job = Job(len(jobs), index, gpus, now + rng.uniform(0, tick), hours * 3600, busy)
                jobs.append(job)
                pool_of[index].queue.append(job)
                living[index].append(job)
                alive[index] += gpus
        for pool in pools.values():
            waiting, blocked = [], False
            for job in pool.queue:
                if not job.alive:
                    continue
                if not blocked and pool.place(job, now):
                    job.start = max(now, job.submit) + rng.uniform(5, 60)
                    job.end = job.start + job.run
                    heapq.heappush(ending, (job.end, job.number))
                else:
                    # A job waiting for over STARVATION_S holds back the jobs behind it.
                    blocked = blocked or now - job.submit > STARVATION_S
                    waiting.append(job)
            pool.queue = waiting
    columns = ["node", "sku", "gpus", "site", "region", "in_service_from"]
    return Simulation(series, jobs, pool_of, pd.DataFrame(inventory, columns=columns))


def _clock(seconds: float) -> str:
    """A time of the simulation (seconds from its start) as text."""
    return f"{START - WARM_UP + pd.Timedelta(seconds=round(seconds)):%Y-%m-%d %H:%M:%S}"


def _status(started: bool, ended: bool, ran_out: bool) -> str:
    if not ended:
        return "running" if started else "queued"
    if not started:
        return "cancelled"
    return "completed" if ran_out else "scaled_in"


def job_log(run: Simulation) -> pd.DataFrame:
    """The job log as the scheduler would show it at 2026-12-01 00:00: jobs that ended
    before November are gone, running jobs have no end, queued ones no start."""
    cut = (END - START + WARM_UP).total_seconds()
    first = WARM_UP.total_seconds()
    names = run.inventory["node"].to_numpy()
    records = []
    for job in run.jobs:
        if job.submit >= cut or job.end < first:
            continue
        started = job.start < cut
        ended = job.end < cut  # NaN (never placed, never cancelled) is not
        row = run.series.iloc[job.series]
        ids = run.pools[job.series].ids
        records.append(
            (
                f"job-{job.number:06d}",
                row["org"],
                row["team"],
                row["workload"],
                row["sku"],
                job.gpus,
                _clock(job.submit),
                _clock(job.start) if started else "",
                _clock(job.end) if ended else "",
                _status(started, ended, job.end - job.start >= job.run - 1),
                row["region"],
                ",".join(names[ids[i]] for i in job.nodes) if started else "",
            )
        )
    columns = ["job_id", "org", "team", "workload", "sku", "gpus", "submit_time"]
    columns += ["start_time", "end_time", "status", "region", "node"]
    return pd.DataFrame.from_records(records, columns=columns)


def utilization_samples(rng: np.random.Generator, run: Simulation, minutes: int) -> pd.DataFrame:
    """GPU and memory utilization (percent) of every node in service, every ``minutes``:
    the busy GPUs on the node over its GPUs, with noise."""
    hours = int((END - START) / pd.Timedelta(hours=1))
    busy = np.zeros((len(run.inventory), hours))
    offset = WARM_UP.total_seconds()
    slots = np.arange(hours)
    for job in run.jobs:
        if np.isnan(job.start):
            continue
        t0 = (job.start - offset) / 3600
        t1 = min((job.end - offset) / 3600, hours)
        if t1 <= 0 or t0 >= hours:
            continue
        first, last = max(int(np.floor(t0)), 0), int(np.ceil(t1))
        span = slots[first:last]
        overlap = np.clip(np.minimum(t1, span + 1) - np.maximum(t0, span), 0, 1)
        ids = run.pools[job.series].ids[job.nodes]
        busy[np.ix_(ids, span)] += job.busy * job.gpus / len(ids) * overlap
    util = busy / NODE_GPUS
    per_hour = 60 // minutes
    times = START + pd.to_timedelta(np.arange(hours * per_hour) * minutes, unit="min")
    opens = pd.to_datetime(run.inventory["in_service_from"].replace("", None))
    samples = np.repeat(util, per_hour, axis=1)
    samples = np.clip(samples + rng.normal(0, 0.02, samples.shape), 0, 1)
    memory = np.clip(0.15 + 0.7 * samples + rng.normal(0, 0.03, samples.shape), 0, 1)
    in_service = ~(times.to_numpy()[None, :] < opens.to_numpy()[:, None])
    node_index, time_index = np.nonzero(in_service)
    return pd.DataFrame(
        {
            "time": times[time_index],
            "node": run.inventory["node"].to_numpy()[node_index],
            "sku": run.inventory["sku"].to_numpy()[node_index],
            "gpu_util": np.round(samples[node_index, time_index] * 100, 1),
            "mem_util": np.round(memory[node_index, time_index] * 100, 1),
        }
    )


def add_bad_rows(rng: np.random.Generator, log: pd.DataFrame) -> pd.DataFrame:
    """``BAD_ROWS`` bad rows, as a real log has them, each a changed copy of a real row."""
    picks = rng.choice(len(log), size=sum(BAD_ROWS.values()), replace=False)
    bad = log.iloc[picks].copy().reset_index(drop=True)
    reasons = [r for r, n in BAD_ROWS.items() for _ in range(n)]
    for index, reason in enumerate(reasons):
        if reason != "duplicate_job_id":
            bad.loc[index, "job_id"] = f"bad-{index:02d}"
        if reason == "end_before_start":
            bad.loc[index, ["start_time", "end_time"]] = [
                "2026-11-20 10:00:00",
                "2026-11-19 10:00:00",
            ]
        elif reason == "unparsable_time":
            bad.loc[index, "submit_time"] = "20/11/2026 25:61"
        elif reason == "unknown_sku":
            bad.loc[index, "sku"] = "A100"
    return pd.concat([log, bad], ignore_index=True)


TELEMETRY_YAML = """\
# Sample telemetry for November 2026, generated by data_samples/generate_telemetry.py.
jobs: {paths: ["jobs/jobs-*.csv.gz"]}
utilization: {paths: ["utilization.parquet"]}
inventory: {paths: ["inventory.csv"]}
grain: day
start: 2026-11-01
end: 2026-12-01
skus: [H100, H200, B200, MI300X]
unit_price: {H100: 27000, H200: 32000, B200: 38000, MI300X: 15000}  # planning/catalog.csv
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "telemetry")
    parser.add_argument("--sample-minutes", type=int, default=60, choices=[1, 5, 10, 15, 30, 60])
    options = parser.parse_args(argv)
    history = pd.read_csv(HERE / "history.csv", parse_dates=["ds"])
    rng = np.random.default_rng(SEED)
    run = simulate(rng, history)
    log = add_bad_rows(rng, job_log(run))
    samples = utilization_samples(rng, run, options.sample_minutes)
    out = options.out
    (out / "jobs").mkdir(parents=True, exist_ok=True)
    for old in (out / "jobs").glob("jobs-*.csv*"):
        old.unlink()
    week = pd.to_datetime(log["submit_time"], errors="coerce").fillna(START).dt.strftime("%G-W%V")
    for name, rows in log.groupby(week, sort=True):
        path = out / "jobs" / f"jobs-{name}.csv.gz"
        gzipped = {"method": "gzip", "mtime": 0}
        rows.to_csv(path, index=False, lineterminator="\n", compression=gzipped)
    run.inventory.to_csv(out / "inventory.csv", index=False, lineterminator="\n")
    samples.to_parquet(out / "utilization.parquet", index=False, compression="zstd")
    (out / "telemetry.yaml").write_text(TELEMETRY_YAML)
    print(
        f"{len(log):,} job rows, {len(samples):,} utilization samples, "
        f"{len(run.inventory):,} nodes -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
