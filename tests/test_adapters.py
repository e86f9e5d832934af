"""The scheduler adapters (``format: slurm_sacct``, ``kubernetes_pods``,
``dcgm_prometheus``): the samples' figures against pandas reading the raw files, and every
bad row of hand-made files reported with its file, row and reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capforecast.core.errors import InputError
from capforecast.telemetry.config import read_config
from capforecast.telemetry.demand import demand
from capforecast.telemetry.store import TelemetryStore
from capforecast.telemetry.utilization import utilization
from tests.conftest import found_problems
from tests.reference_demand import GROUP, reference_demand

SAMPLES = Path(__file__).parent.parent / "data_samples" / "telemetry" / "schedulers"
START, END = pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-05")
ALIASES = {"h100": "H100", "a100": "A100", "NVIDIA-H100-80GB-HBM3": "H100",
           "NVIDIA-A100-SXM4-80GB": "A100"}  # fmt: skip
SACCT_HEADER = (
    "JobID|JobName|User|Account|Partition|State|Submit|Start|End|Elapsed|Timelimit|"
    "AllocTRES|ReqTRES|NodeList|Cluster"
)
PODS_HEADER = (
    "namespace,name,uid,creationTimestamp,startTime,finishedAt,phase,nodeName,requests,labels,"
    "gpu_product"
)


def _checked(jobs: pd.DataFrame) -> pd.DataFrame:
    """The clean rows of a job table in pandas, by the rules of docs/telemetry.md."""
    bad = (
        jobs["submit"].isna()
        | (jobs["end"] < jobs["start"].fillna(jobs["submit"]))
        | (jobs["start"] < jobs["submit"])
        | jobs["gpus"].isna()
        | (jobs["gpus"] < 0)
        | (jobs["gpus"] > 4096)
        | ~jobs["sku"].isin(["H100", "A100", "cpu"])
        | jobs["job_id"].duplicated()
    )
    return jobs[~bad]


def _gpu_hours(jobs: pd.DataFrame) -> float:
    """GPU-hours in use in the window."""
    t0 = jobs["start"].clip(lower=START)
    t1 = jobs["end"].fillna(END).clip(upper=END)
    hours = ((t1 - t0) / pd.Timedelta(hours=1)).clip(lower=0).fillna(0)
    return float((jobs["gpus"] * hours).sum())


def _time(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column.str.rstrip("Z"), errors="coerce", format="%Y-%m-%dT%H:%M:%S")


def test_slurm_sample_gives_the_gpu_hours_of_its_raw_file() -> None:
    raw = pd.read_csv(SAMPLES / "sacct.txt", sep="|", dtype=str, keep_default_na=False)
    tres = raw["AllocTRES"].where(raw["AllocTRES"].str.contains("gres/gpu"), raw["ReqTRES"])
    typed = tres.str.extract(r"gres/gpu:([^=,]+)=([^,]*)")
    jobs = pd.DataFrame(
        {
            "job_id": raw["JobID"],
            "team": raw["Account"],
            "sku": typed[0].map(ALIASES).fillna(typed[0]).fillna("cpu"),
            "gpus": pd.to_numeric(typed[1], errors="coerce").fillna(0),
            "submit": _time(raw["Submit"]),
            "start": _time(raw["Start"]),
            "end": _time(raw["End"]),
        }
    )
    jobs.loc[~tres.str.contains("gres/gpu"), "gpus"] = 0
    jobs.loc[tres.str.contains("gres/gpu:h100=-1"), "gpus"] = -1
    clean = _checked(jobs)
    result = demand(read_config(SAMPLES / "slurm.yaml"))
    assert result.rows == len(raw) == 424
    assert len(result.problems) == len(jobs) - len(clean) == 7
    assert result.table["gpu_hours"].sum() == pytest.approx(_gpu_hours(clean), rel=1e-9)
    by_team = result.table.groupby("team")["gpu_hours"].sum()
    for team, part in clean.groupby("team"):
        assert by_team.get(team, 0.0) == pytest.approx(_gpu_hours(part), rel=1e-9, abs=1e-9)


def test_kubernetes_sample_gives_the_gpu_hours_of_its_raw_file() -> None:
    raw = pd.read_csv(SAMPLES / "pods.csv", dtype=str, keep_default_na=False)
    gpus = [json.loads(r).get("nvidia.com/gpu", "0") for r in raw["requests"]]
    product = raw["gpu_product"].map(ALIASES).fillna(raw["gpu_product"])
    jobs = pd.DataFrame(
        {
            "job_id": raw["uid"],
            "team": raw["namespace"],
            "sku": product.where(np.array(gpus) != "0", "cpu"),
            "gpus": pd.to_numeric(pd.Series(gpus), errors="coerce"),
            "submit": _time(raw["creationTimestamp"]),
            "start": _time(raw["startTime"]),
            "end": _time(raw["finishedAt"]),
        }
    )
    clean = _checked(jobs)
    result = demand(read_config(SAMPLES / "kubernetes.yaml"))
    assert result.rows == len(raw)
    assert len(result.problems) == len(jobs) - len(clean) == 7
    assert result.table["gpu_hours"].sum() == pytest.approx(_gpu_hours(clean), rel=1e-9)
    # The same simulated jobs: Slurm's and Kubernetes' logs hold the same GPU-hours.
    slurm = demand(read_config(SAMPLES / "slurm.yaml")).table["gpu_hours"].sum()
    assert result.table["gpu_hours"].sum() == pytest.approx(slurm, rel=1e-9)


def test_dcgm_sample_gives_each_gpus_busy_hours() -> None:
    """A node's busy GPU-hours in an hour are the sum over its GPUs of each GPU's mean
    utilization, not one node-level figure."""
    raw = pd.read_csv(SAMPLES / "dcgm.csv", dtype=str, keep_default_na=False)
    inventory = pd.read_csv(SAMPLES / "inventory.csv")
    raw = raw[raw["__name__"] == "DCGM_FI_DEV_GPU_UTIL"]
    samples = pd.DataFrame(
        {
            "time": pd.to_datetime(pd.to_numeric(raw["timestamp"], errors="coerce"), unit="s"),
            "node": raw["Hostname"],
            "gpu": raw["gpu"],
            "util": pd.to_numeric(raw["value"], errors="coerce"),
        }
    )
    samples = samples[
        samples["time"].notna()
        & samples["util"].between(0, 100)
        & samples["node"].isin(inventory["node"])
        & (samples["time"] >= START)
        & (samples["time"] < END)
    ]
    samples["hour"] = samples["time"].dt.floor("h")
    per_gpu = samples.groupby(["node", "hour", "gpu"])["util"].mean() / 100
    busy = per_gpu.groupby(["node", "hour"]).sum()  # busy GPUs, GPU by GPU
    config = read_config(SAMPLES / "slurm.yaml")
    store = TelemetryStore(config)
    result = utilization(config, store=store)
    assert set(result.problems["reason"]) == {"unparsable_time", "bad_util", "unknown_node"}
    node_util = store.con.execute("SELECT node, hour, util FROM node_util").df()
    ours = node_util.set_index(["node", "hour"])["util"] * 8  # 8 GPUs a node
    assert len(ours) == len(busy) == 12 * 72
    assert np.allclose(ours.sort_index().to_numpy(), busy.sort_index().to_numpy())
    fleet = result.allocation.set_index(["sku", "site"]).loc[("(all)", "(all)")]
    assert fleet["fleet_busy_gpu_hours"] == pytest.approx(busy.sum(), rel=1e-9)
    # Samples of other metrics are left out, not reported: they are not utilization.
    assert len(store.con.execute("SELECT * FROM utilization").fetchall()) == len(raw)


def _sacct(tmp_path: Path, lines: list[str], **config: object) -> Path:
    (tmp_path / "sacct.txt").write_text("\n".join([SACCT_HEADER, *lines]) + "\n")
    settings = {"grain": "hour", "skus": ["H100", "A100", "gpu", "cpu"], "sku_aliases": ALIASES,
                **config}  # fmt: skip
    yaml = "jobs: {paths: [sacct.txt], format: slurm_sacct}\n" + "".join(
        f"{key}: {json.dumps(value)}\n" for key, value in settings.items()
    )
    (tmp_path / "telemetry.yaml").write_text(yaml)
    return tmp_path / "telemetry.yaml"


def _job(job_id: str = "1", *, state: str = "COMPLETED", submit: str = "2026-11-03T00:00:00",
         start: str = "2026-11-03T01:00:00", end: str = "2026-11-03T03:00:00",
         limit: str = "12:00:00", alloc: str = "cpu=8,gres/gpu:h100=8,gres/gpu=8",
         req: str = "cpu=8,gres/gpu:h100=8,gres/gpu=8", nodes: str = "gpu-01") -> str:  # fmt: skip
    return "|".join([job_id, "name", "user", "vision", "training", state, submit, start, end,
                     "02:00:00", limit, alloc, req, nodes, "alpha"])  # fmt: skip


def test_every_bad_slurm_row_is_reported_with_file_row_and_reason(tmp_path: Path) -> None:
    lines = [
        _job("1"),  # row 2: fine
        _job("1.batch", alloc="cpu=8", req="cpu=8"),  # a step: left out
        _job("2", submit="Unknown"),  # row 4
        _job("3", submit="2026-11-31T25:00:00"),  # row 5
        _job("4", end="2026-11-03T00:30:00"),  # row 6
        _job("5", start="2026-11-02T23:00:00", end="2026-11-03T01:00:00"),  # row 7
        _job("6", alloc="cpu=8,gres/gpu=x"),  # row 8
        _job("7", alloc="cpu=8,gres/gpu:h100=99999"),  # row 9
        _job("8", alloc="cpu=8,gres/gpu:v100=4"),  # row 10
        _job("1"),  # row 11
        _job("9", start="2026-11-03T25:00:00"),  # row 12
        _job("10", end="soon"),  # row 13
        _job("11", alloc="cpu=8,gres/gpu:h100=-2"),  # row 14
    ]
    result = demand(read_config(_sacct(tmp_path, lines)))
    found = found_problems(result.problems, values=True)
    assert found == {
        ("sacct.txt", 4, "submit_time", "unparsable_time", "(empty)"),
        ("sacct.txt", 5, "submit_time", "unparsable_time", "2026-11-31T25:00:00"),
        ("sacct.txt", 6, "end_time", "end_before_start", "2026-11-03T00:30:00"),
        ("sacct.txt", 7, "start_time", "start_before_submit", "2026-11-02T23:00:00"),
        ("sacct.txt", 8, "gpus", "bad_gpus", "x"),
        ("sacct.txt", 9, "gpus", "absurd_gpus", "99999"),
        ("sacct.txt", 10, "sku", "unknown_sku", "v100"),
        ("sacct.txt", 11, "job_id", "duplicate_job_id", "1"),
        ("sacct.txt", 12, "start_time", "unparsable_time", "2026-11-03T25:00:00"),
        ("sacct.txt", 13, "end_time", "unparsable_time", "soon"),
        ("sacct.txt", 14, "gpus", "bad_gpus", "-2"),
    }
    assert result.rows == len(lines) - 1  # the step is not a job


def test_slurm_fields_map_to_jobs(tmp_path: Path) -> None:
    lines = [
        _job("10", alloc="cpu=8,gres/gpu:h100=16,gres/gpu=16", nodes="gpu-[01-02]"),
        _job("11_7", alloc="cpu=8,gres/gpu=2", nodes="gpu-[08-10,12],cpu-[1-2],login1"),
        _job(
            "12_[1-3]",
            state="PENDING",
            start="Unknown",
            end="Unknown",
            alloc="",
            req="cpu=4,gres/gpu:a100=4",
            nodes="None assigned",
        ),
        _job(
            "13",
            state="CANCELLED by 1042",
            start="None",
            end="2026-11-03T02:00:00",
            alloc="",
            req="cpu=4,mem=1G",
            nodes="None assigned",
        ),
        _job("14", state="RUNNING", end="Unknown", nodes="gpu-[099-101]"),
    ]
    store = TelemetryStore(read_config(_sacct(tmp_path, lines)))
    jobs = store.con.execute("SELECT * FROM jobs ORDER BY row").df().set_index("job_id")
    assert jobs["sku"].tolist() == ["H100", "gpu", "A100", "cpu", "H100"]
    assert jobs["gpus"].tolist() == [16, 2, 4, 0, 8]
    assert jobs["status"].tolist() == ["COMPLETED", "COMPLETED", "PENDING", "CANCELLED", "RUNNING"]
    assert jobs["node"].tolist() == [
        "gpu-01,gpu-02",
        "gpu-08,gpu-09,gpu-10,gpu-12,cpu-1,cpu-2,login1",
        "",
        "",
        "gpu-099,gpu-100,gpu-101",
    ]
    assert jobs.loc["12_[1-3]", ["start_time", "end_time"]].isna().all()
    assert jobs.loc["13", "start_time_text"] is None  # None: never started, not a bad time
    assert (jobs["team"] == "vision").all() and (jobs["org"] == "alpha").all()
    assert (jobs["workload"] == "training").all()


@pytest.mark.parametrize(
    ("limit", "seconds"),
    [
        ("1-00:00:00", 86400),
        ("12:00:00", 43200),
        ("30:00", 1800),  # minutes:seconds
        ("45", 2700),  # minutes
        ("2-12", 2 * 86400 + 12 * 3600),  # days-hours
        ("2-12:30", 2 * 86400 + 12 * 3600 + 1800),
        ("10-01:02:03", 10 * 86400 + 3723),
        ("UNLIMITED", None),
        ("Partition_Limit", None),
        ("", None),
    ],
)
def test_slurm_timelimit_is_seconds(tmp_path: Path, limit: str, seconds: int | None) -> None:
    store = TelemetryStore(read_config(_sacct(tmp_path, [_job(limit=limit)])))
    value = store.con.execute("SELECT time_limit FROM jobs").fetchone()
    assert value is not None
    assert value[0] == seconds


def test_a_slurm_job_that_never_ran_asks_for_its_time_limit(tmp_path: Path) -> None:
    lines = [
        _job(
            "1",
            submit="2026-11-03T00:00:00",
            start="2026-11-03T00:00:00",
            end="2026-11-03T02:00:00",
        ),  # a 2-hour run: the median
        _job(
            "2",
            state="PENDING",
            submit="2026-11-03T04:00:00",
            start="Unknown",
            end="Unknown",
            limit="05:00:00",
            alloc="",
        ),
        _job(
            "3",
            state="PENDING",
            submit="2026-11-03T04:00:00",
            start="Unknown",
            end="Unknown",
            limit="UNLIMITED",
            alloc="",
        ),
    ]
    config = _sacct(tmp_path, lines, start="2026-11-03", end="2026-11-04")
    table = demand(read_config(config)).table
    # 8 GPUs for 2 hours, 8 for the 5 hours asked, 8 for the median 2 hours (no limit).
    assert table["demand_gpu_hours"].sum() == pytest.approx(8 * 2 + 8 * 5 + 8 * 2)
    hourly = table.set_index("ds")["demand"]
    assert hourly[pd.Timestamp("2026-11-03 08:00")] == 8  # only job 2, in its 5th hour
    assert hourly[pd.Timestamp("2026-11-03 09:00")] == 0


def test_a_sacct_file_with_quotes_and_commas_is_read_by_its_pipes(tmp_path: Path) -> None:
    line = _job("1").replace("|name|", '|"odd, name|')
    store = TelemetryStore(read_config(_sacct(tmp_path, [line])))
    assert store.con.execute("SELECT gpus, node FROM jobs").fetchall() == [(8.0, "gpu-01")]


def _pods(tmp_path: Path, rows: list[list[str]]) -> Path:
    table = pd.DataFrame(rows, columns=PODS_HEADER.split(","))
    table.to_csv(tmp_path / "pods.csv", index=False)
    (tmp_path / "telemetry.yaml").write_text(
        "jobs: {paths: [pods.csv], format: kubernetes_pods}\n"
        f"skus: [H100, cpu]\nsku_aliases: {json.dumps(ALIASES)}\n"
    )
    return tmp_path / "telemetry.yaml"


def _pod(uid: str, *, created: str = "2026-11-03T00:00:00Z", started: str = "2026-11-03T01:00:00Z",
         finished: str = "2026-11-03T03:00:00Z", requests: str = '{"nvidia.com/gpu":"4"}',
         labels: str = '{"app.kubernetes.io/component":"inference"}',
         product: str = "NVIDIA-H100-80GB-HBM3") -> list[str]:  # fmt: skip
    return ["vision", f"pod-{uid}", uid, created, started, finished, "Succeeded", "gpu-01",
            requests, labels, product]  # fmt: skip


def test_every_bad_pod_is_reported_with_file_row_and_reason(tmp_path: Path) -> None:
    rows = [
        _pod("a"),  # row 2: fine
        _pod("b", created="yesterday"),  # row 3
        _pod("c", finished="2026-11-03T00:30:00Z"),  # row 4
        _pod("d", started="2026-11-02T23:00:00Z", finished="2026-11-03T00:30:00Z"),  # row 5
        _pod("e", requests='{"nvidia.com/gpu":"four"}'),  # row 6
        _pod("f", requests='{"nvidia.com/gpu":"5000"}'),  # row 7
        _pod("g", product="Tesla-V100-SXM2-16GB"),  # row 8
        _pod("a"),  # row 9
        _pod("h", requests="{nvidia.com/gpu: 4"),  # row 10: not JSON
        _pod("i", started="2026-11-03T01:00:00+0x"),  # row 11
    ]
    result = demand(read_config(_pods(tmp_path, rows)))
    found = found_problems(result.problems)
    assert found == {
        ("pods.csv", 3, "submit_time", "unparsable_time"),
        ("pods.csv", 4, "end_time", "end_before_start"),
        ("pods.csv", 5, "start_time", "start_before_submit"),
        ("pods.csv", 6, "gpus", "bad_gpus"),
        ("pods.csv", 7, "gpus", "absurd_gpus"),
        ("pods.csv", 8, "sku", "unknown_sku"),
        ("pods.csv", 9, "job_id", "duplicate_job_id"),
        ("pods.csv", 10, "gpus", "bad_gpus"),
        ("pods.csv", 11, "start_time", "unparsable_time"),
    }
    values = result.problems.set_index("row")["value"]
    assert values[6] == "four"
    assert values[10] == "requests not a JSON object: {nvidia.com/gpu: 4"


def test_pod_fields_map_to_jobs(tmp_path: Path) -> None:
    rows = [
        _pod("a"),
        _pod("b", requests='{"cpu":"2","amd.com/gpu":"2"}', product="", labels=""),
        _pod("c", requests='{"gpu.intel.com/i915":"1"}', product=""),
        _pod("d", requests='{"cpu":"500m","memory":"1Gi"}', started="", finished=""),
        _pod("e", requests=""),
    ]
    store = TelemetryStore(read_config(_pods(tmp_path, rows)))
    jobs = store.con.execute("SELECT * FROM jobs ORDER BY row").df()
    assert jobs["job_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert jobs["sku"].tolist() == ["H100", "amd.com/gpu", "gpu.intel.com/i915", "cpu", "cpu"]
    assert jobs["gpus"].tolist() == [4, 2, 1, 0, 0]
    assert jobs["workload"].tolist() == ["inference", "", "inference", "inference", "inference"]
    assert (jobs["team"] == "vision").all() and (jobs["node"] == "gpu-01").all()
    assert jobs["start_time"].iloc[0] == pd.Timestamp("2026-11-03 01:00")
    assert jobs["start_time"].isna().tolist() == [False, False, False, True, False]


def test_every_bad_dcgm_sample_is_reported(tmp_path: Path) -> None:
    lines = [
        "__name__,timestamp,value,Hostname,gpu,modelName",
        "DCGM_FI_DEV_GPU_UTIL,1793577600,50,gpu-01,0,NVIDIA H100 80GB HBM3",  # row 2: fine
        "DCGM_FI_DEV_GPU_UTIL,17935776OO,50,gpu-01,1,NVIDIA H100 80GB HBM3",  # row 3
        "DCGM_FI_DEV_GPU_UTIL,1793577600,,gpu-01,2,NVIDIA H100 80GB HBM3",  # row 4
        "DCGM_FI_DEV_GPU_UTIL,1793577600,101,gpu-01,3,NVIDIA H100 80GB HBM3",  # row 5
        "DCGM_FI_DEV_GPU_UTIL,1793577600,50,gpu-77,0,NVIDIA H100 80GB HBM3",  # row 6
        "DCGM_FI_DEV_MEM_COPY_UTIL,1793577600,500,gpu-01,0,NVIDIA H100 80GB HBM3",  # left out
        "DCGM_FI_DEV_GPU_UTIL,1793577600.25,NaN,gpu-01,4,NVIDIA H100 80GB HBM3",  # row 8
    ]
    (tmp_path / "dcgm.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "inventory.csv").write_text("node,sku,gpus\ngpu-01,H100,8\n")
    (tmp_path / "jobs.csv").write_text(
        "job_id,sku,gpus,submit_time,start_time,end_time,node\n"
        "1,H100,8,2026-11-02 00:00,2026-11-02 00:00,2026-11-02 02:00,gpu-01\n"
    )
    (tmp_path / "telemetry.yaml").write_text(
        "jobs: {paths: [jobs.csv]}\ninventory: {paths: [inventory.csv]}\n"
        "utilization: {paths: [dcgm.csv], format: dcgm_prometheus}\n"
    )
    problems = utilization(read_config(tmp_path / "telemetry.yaml")).problems
    found = found_problems(problems, values=True)
    assert found == {
        ("dcgm.csv", 3, "time", "unparsable_time", "17935776OO"),
        ("dcgm.csv", 4, "gpu_util", "bad_util", "(empty)"),
        ("dcgm.csv", 5, "gpu_util", "bad_util", "101"),
        ("dcgm.csv", 6, "node", "unknown_node", "gpu-77"),
        ("dcgm.csv", 8, "gpu_util", "bad_util", "NaN"),
    }
    store = TelemetryStore(read_config(tmp_path / "telemetry.yaml"))
    time = store.con.execute("SELECT time FROM utilization WHERE row = 2").fetchone()
    assert time == (pd.Timestamp("2026-11-02").to_pydatetime(),)


def test_formats_check_their_columns_and_times(tmp_path: Path) -> None:
    (tmp_path / "sacct.txt").write_text("JobID|State\n1|COMPLETED\n")
    (tmp_path / "telemetry.yaml").write_text("jobs: {paths: [sacct.txt], format: slurm_sacct}\n")
    with pytest.raises(InputError) as error:
        TelemetryStore(read_config(tmp_path / "telemetry.yaml"))
    assert re.search(r"sacct.txt, column 'AllocTRES': missing", str(error.value))
    (tmp_path / "telemetry.yaml").write_text(
        "jobs: {paths: [sacct.txt], format: slurm_sacct, time_unit: s, epoch: 2026-01-01}\n"
    )
    with pytest.raises(InputError, match="reads its times itself"):
        read_config(tmp_path / "telemetry.yaml")
    (tmp_path / "telemetry.yaml").write_text(
        "utilization: {paths: [sacct.txt], format: kubernetes_pods}\n"
    )
    with pytest.raises(InputError, match="kubernetes_pods files are jobs"):
        read_config(tmp_path / "telemetry.yaml")


def test_time_limits_in_demand_agree_with_the_pandas_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 300
    submit = START + pd.to_timedelta(rng.uniform(0, 60, n), unit="h")
    wait = pd.to_timedelta(rng.uniform(0, 10, n), unit="h")
    ran = pd.to_timedelta(rng.uniform(0.5, 20, n), unit="h")
    started = rng.random(n) < 0.6
    jobs = pd.DataFrame(
        {
            "job_id": [str(i) for i in range(n)],
            "org": "",
            "team": rng.choice(["a", "b"], n),
            "workload": rng.choice(["training", "inference"], n),
            "sku": rng.choice(["H100", "A100"], n),
            "region": "",
            "gpus": rng.choice([1.0, 2.0, 8.0], n),
            "submit_time": submit,
            "start_time": pd.Series(submit + wait).where(started),
            "end_time": pd.Series(submit + wait + ran).where(started & (rng.random(n) < 0.8)),
            "time_limit": pd.Series(rng.uniform(600, 90000, n)).where(rng.random(n) < 0.5),
        }
    )
    jobs.to_parquet(tmp_path / "jobs.parquet", index=False)
    (tmp_path / "telemetry.yaml").write_text(
        "jobs: {paths: [jobs.parquet]}\ngrain: hour\nstart: 2026-11-02\nend: 2026-11-05\n"
    )
    ours = demand(read_config(tmp_path / "telemetry.yaml")).table
    ours = ours.sort_values([*GROUP, "ds"]).reset_index(drop=True)
    reference = reference_demand(jobs, START, END, "1h")
    assert len(ours) == len(reference)
    for column in ("gpu_hours", "pending_gpu_hours", "demand_gpu_hours", "demand"):
        np.testing.assert_allclose(ours[column], reference[column], rtol=1e-9, atol=1e-9)
    without = reference_demand(jobs.drop(columns="time_limit"), START, END, "1h")
    assert without["demand_gpu_hours"].sum() != pytest.approx(ours["demand_gpu_hours"].sum())
