"""Utilization insights and findings: figures worked out by hand, invariants on random
clusters, the sample telemetry against the sample history, and the openb trace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capforecast.examples import sample_history, sample_telemetry_config
from capforecast.telemetry import read_config
from capforecast.telemetry.findings import findings, report
from capforecast.telemetry.utilization import ALL, GROUP, utilization
from tests.conftest import CliResult
from tests.reference_utilization import reference_use

# Two 8-GPU H100 nodes at two sites, a 10-hour window. Job a fills n1; on n2, job b holds
# 4 GPUs from 02:00 to 06:00 (queued 2 h) and job c half a GPU throughout; job d asks for 8
# GPUs at 04:00 and never starts.
INVENTORY = """node,sku,gpus,site,region
n1,H100,8,a,us
n2,H100,8,b,us
"""
JOBS = """job_id,team,workload,sku,gpus,submit_time,start_time,end_time,node
a,vision,training,H100,8,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 10:00,n1
b,nlp,inference,H100,4,2024-01-01 00:00,2024-01-01 02:00,2024-01-01 06:00,n2
c,nlp,inference,H100,0.5,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 10:00,n2
d,nlp,inference,H100,8,2024-01-01 04:00,,,
"""


def _hand_cluster(folder: Path) -> Path:
    (folder / "inventory.csv").write_text(INVENTORY)
    (folder / "jobs.csv").write_text(JOBS)
    hours = pd.date_range("2024-01-01", periods=10, freq="h")
    samples = pd.DataFrame(
        {
            "time": list(hours + pd.Timedelta(minutes=30)) * 2,
            "node": ["n1"] * 10 + ["n2"] * 10,
            "sku": "H100",
            "gpu_util": [50.0] * 10 + [25.0] * 10,
        }
    )
    samples.to_csv(folder / "util.csv", index=False)
    config = {
        "jobs": {"paths": ["jobs.csv"]},
        "inventory": {"paths": ["inventory.csv"]},
        "utilization": {"paths": ["util.csv"]},
        "start": "2024-01-01 00:00",
        "end": "2024-01-01 10:00",
        "unit_price": {"H100": 20_000},
    }
    path = folder / "telemetry.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_insights_equal_the_hand_worked_figures(tmp_path: Path) -> None:
    config = read_config(_hand_cluster(tmp_path))
    result = utilization(config)
    allocation = result.allocation.set_index(["sku", "site"])
    # Site a: 80 of 80 GPU-hours allocated; site b: 16 (job b) + 5 (job c) = 21 of 80.
    assert allocation.loc[("H100", "a"), "allocation_rate"] == 1.0
    assert allocation.loc[("H100", "b"), "allocation_rate"] == pytest.approx(21 / 80)
    assert allocation.loc[("H100", ALL), "allocated"] == pytest.approx(101 / 10)
    # Queued: job b 4 GPUs for 2 h, job d 8 GPUs for 6 h.
    assert allocation.loc[("H100", ALL), "pending"] == pytest.approx((8 + 48) / 10)
    teams = result.teams.set_index("team")
    # n1 at 50%: vision busy 40 of 80 GPU-hours. n2 at 25% = 2 busy GPUs: all of job c's
    # half GPU when alone (6 h x 0.5 = 3 GPU-hours), 2 of 4.5 GPUs with job b (4 h: 8).
    assert teams.loc["vision", "busy_utilization"] == 0.5
    assert teams.loc["vision", "idle_gpu_hours"] == 40.0
    assert teams.loc["nlp", "busy_gpu_hours"] == pytest.approx(3 + 8)
    assert teams.loc["nlp", "busy_utilization"] == pytest.approx(11 / 21)
    queue = result.queue.set_index(["workload", "sku"])
    inference = queue.loc[("inference", "H100")]
    assert (inference["started"], inference["still_queued"], inference["still_queued_gpus"]) == (
        2,
        1,
        8.0,
    )
    assert queue.loc[(ALL, ALL), "p90_wait_h"] == pytest.approx(1.6)  # of waits 0, 0, 2
    fragments = result.fragmentation.iloc[0]
    assert (fragments["fractional_gpus"], fragments["packed_gpus"]) == (0.5, 1.0)
    # n2 has 7.5 GPUs free for 6 h and 3.5 for 4 h while partly used: 59 / 10 h.
    stranded = result.stranded.set_index("site")
    assert stranded.loc["b", "stranded_gpus"] == pytest.approx(5.9)
    assert stranded.loc["a", "stranded_gpus"] == 0.0  # n1 is full
    ranked = findings(result, config)
    # Site b: 8 in service, 2.1 allocated: 5.9 free ($118k); nlp's 5.6 pending H100 ($112k);
    # vision right-sized from 50% to 60% frees 8 x (1 - 5/6) = 1.33 H100 ($26.7k).
    kinds = ["unallocated", "hidden_demand", "idle_allocation"]
    assert ranked["kind"].tolist() == kinds
    assert ranked["usd"].tolist() == pytest.approx([118_000, 112_000, 80_000 / 3])
    assert ranked["rank"].tolist() == [1, 2, 3]
    assert "vision/training/H100 holds 8 H100 at 50% busy utilization" in ranked["text"][2]
    # Inference demand, each job's run from its submission: b (4 h) and c to 04:00, 4.5
    # GPUs; then c and d, which never ran and asks for 8 GPUs for the median finished
    # inference run (7 h, of 4 and 10): 8.5. Mean 6.9, peak 8.5: 1.2x, no peak finding.
    peak = result.peaks.set_index(["workload", "sku"]).loc[("inference", "H100")]
    assert (peak["mean"], peak["peak"]) == pytest.approx((6.9, 8.5))
    assert peak["peak_at"] == pd.Timestamp("2024-01-01 04:00")


def test_a_peak_far_above_the_mean_is_a_finding(tmp_path: Path) -> None:
    path = _hand_cluster(tmp_path)
    # Job d asks for 40 GPUs: inference is 40.5 from 04:00 against a mean of 26.1.
    (tmp_path / "jobs.csv").write_text(
        JOBS.replace("d,nlp,inference,H100,8,", "d,nlp,inference,H100,40,")
    )
    config = read_config(path)
    ranked = findings(utilization(config), config)
    (row,) = ranked[ranked["kind"] == "peak"].itertuples(index=False)
    assert row.accelerators == pytest.approx(40.5 - 26.1)
    assert "inference demand peaks at 1.6x its average" in row.text
    assert row.rank == len(ranked)  # no price: ranked last


def test_one_site_partial_hours_and_samples_outside_the_window(tmp_path: Path) -> None:
    path = _hand_cluster(tmp_path)
    (tmp_path / "inventory.csv").write_text(INVENTORY.replace(",b,", ",a,"))  # one site
    with (tmp_path / "util.csv").open("a") as handle:  # outside the window: not counted
        handle.write("2023-12-31 23:30,n2,H100,100\n2024-01-01 11:30,n2,H100,100\n")
    settings = yaml.safe_load(path.read_text())
    settings.update(start="2024-01-01 00:30", end="2024-01-01 09:30")
    path.write_text(yaml.safe_dump(settings))
    config = read_config(path)
    result = utilization(config)
    # Half hours at both ends: n1 is full and 50% busy in every part of an hour.
    assert result.teams.set_index("team").loc["vision", "busy_utilization"] == pytest.approx(0.5)
    stranded = result.stranded.set_index(["sku", "site"])
    # Only n2 is ever partly used: 7.5 free for 5 h, 3.5 for 4 h (of 9 h).
    assert stranded.loc[("H100", "a"), "stranded_gpus"] == pytest.approx((7.5 * 5 + 3.5 * 4) / 9)
    site = result.allocation.set_index(["sku", "site"]).loc[("H100", "a")]
    assert site["fleet_utilization"] == pytest.approx((0.5 * 8 + 0.25 * 8) / 16)
    unallocated = findings(result, config).query("kind == 'unallocated'")
    assert unallocated["subject"].tolist() == ["H100 at a"]  # once, not also as "H100"
    assert unallocated["accelerators"].iloc[0] == pytest.approx(16 - (72 + 16 + 4.5) / 9)


def test_bad_inventory_and_utilization_rows_are_named_and_left_out(tmp_path: Path) -> None:
    path = _hand_cluster(tmp_path)
    with (tmp_path / "inventory.csv").open("a") as handle:
        handle.write("n1,H100,8,a,us\nn3,H100,many,b,us\n")
    with (tmp_path / "util.csv").open("a") as handle:
        handle.write(
            "2024-01-01 05:30,n2,H100,250\nyesterday,n1,H100,10\n2024-01-01 05:30,n9,H100,10\n"
        )
    result = utilization(read_config(path))
    found = {(p.source, p.row, p.reason) for p in result.problems.itertuples()}
    assert found == {
        ("inventory", 4, "duplicate_node"),
        ("inventory", 5, "bad_gpus"),
        ("utilization", 22, "bad_util"),
        ("utilization", 23, "unparsable_time"),
        ("utilization", 24, "unknown_node"),
    }
    # Left out, so the figures are those of the clean cluster.
    assert result.teams.set_index("team").loc["vision", "busy_utilization"] == 0.5
    assert result.allocation.set_index(["sku", "site"]).loc[("H100", "a"), "inventory"] == 8


def _random_cluster(folder: Path, seed: int, nodes: int, jobs: int) -> Path:
    rng = np.random.default_rng(seed)
    names = [f"n{i}" for i in range(nodes)]
    pd.DataFrame(
        {"node": names, "sku": "H100", "gpus": 8, "site": rng.choice(["a", "b"], nodes)}
    ).to_csv(folder / "inventory.csv", index=False)
    origin = pd.Timestamp("2024-03-01")
    submit = origin + pd.to_timedelta(rng.integers(0, 48 * 3600, jobs), unit="s")
    start = submit + pd.to_timedelta(rng.exponential(3600, jobs).round(), unit="s")
    end = start + pd.to_timedelta(rng.exponential(6 * 3600, jobs).round() + 1, unit="s")
    gpus = rng.choice([0.25, 0.5, 1, 2, 4, 8, 16], jobs)
    placed = [",".join(rng.choice(names, min(nodes, 1 + (g > 8)), replace=False)) for g in gpus]
    pd.DataFrame(
        {
            "job_id": [f"j{i}" for i in range(jobs)],
            "team": rng.choice(["x", "y", "z"], jobs),
            "workload": rng.choice(["training", "inference"], jobs),
            "sku": "H100",
            "gpus": gpus,
            "submit_time": submit,
            "start_time": pd.Series(start).where(rng.random(jobs) > 0.1),
            "end_time": end,
            "node": placed,
        }
    ).to_csv(folder / "jobs.csv", index=False)
    hours = pd.date_range(origin, periods=60, freq="h")
    pd.DataFrame(
        {
            "time": np.repeat(hours, nodes),
            "node": names * len(hours),
            "sku": "H100",
            "gpu_util": rng.uniform(0, 100, nodes * len(hours)).round(1),
        }
    ).to_csv(folder / "util.csv", index=False)
    config = {
        "jobs": {"paths": ["jobs.csv"]},
        "inventory": {"paths": ["inventory.csv"]},
        "utilization": {"paths": ["util.csv"]},
        "start": "2024-03-01",
        "end": "2024-03-03 12:00",
        "bad_rows": {"start_before_submit": "keep"},
    }
    path = folder / "telemetry.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**31),
    nodes=st.integers(1, 12),
    jobs=st.integers(1, 120),
)
def test_random_clusters_add_up_and_equal_the_hour_by_hour_reference(
    tmp_path_factory: pytest.TempPathFactory, seed: int, nodes: int, jobs: int
) -> None:
    folder = tmp_path_factory.mktemp("cluster")
    result = utilization(read_config(_random_cluster(folder, seed, nodes, jobs)))
    in_use = result.demand.table["gpu_hours"].sum()
    # Every GPU-hour in use is in the per-group, per-site and per-day tables, once.
    assert result.teams["gpu_hours"].sum() == pytest.approx(in_use, abs=1e-6)
    fleet = result.daily[(result.daily["sku"] == "H100") & (result.daily["site"] == ALL)]
    assert fleet["allocated_gpu_hours"].sum() == pytest.approx(in_use, abs=1e-6)
    busy = result.teams["busy_utilization"].dropna()
    assert ((busy >= 0) & (busy <= 1 + 1e-12)).all()
    assert (result.teams["busy_gpu_hours"] <= result.teams["measured_gpu_hours"] + 1e-9).all()
    waits = result.queue[["p50_wait_h", "p90_wait_h", "p99_wait_h", "max_wait_h"]].dropna()
    assert (np.diff(waits.to_numpy(), axis=1) >= -1e-9).all()
    fragments = result.fragmentation
    assert (fragments["fractional_gpus"] <= fragments["packed_gpus"] + 1e-9).all()
    assert (fragments["fractional_gpus"] <= fragments["unshared_gpus"] + 1e-9).all()
    ranked = findings(result, read_config(folder / "telemetry.yaml"))
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert (ranked["accelerators"] > 0).all()
    # The queries never build a job x node x hour row; the reference builds them all.
    log = pd.read_csv(folder / "jobs.csv", parse_dates=["submit_time", "start_time", "end_time"])
    samples = pd.read_csv(folder / "util.csv", parse_dates=["time"])
    expected = reference_use(
        log.assign(org="", region=""),
        pd.read_csv(folder / "inventory.csv"),
        samples.assign(gpu_util=samples["gpu_util"] / 100),
        *result.demand.window,
    )
    sums = ["allocated_gpu_hours", "measured_gpu_hours", "busy_gpu_hours"]
    teams = result.teams.rename(columns={"gpu_hours": "allocated_gpu_hours"})
    teams = teams[teams["allocated_gpu_hours"] > 0]  # not the groups that only queued
    pd.testing.assert_frame_equal(
        teams.set_index(GROUP).sort_index()[sums],
        expected["teams"].set_index(GROUP).sort_index()[sums],
        rtol=1e-9, atol=1e-9, check_index_type=False,
    )  # fmt: skip
    sites = result.daily[(result.daily["sku"] != ALL) & (result.daily["site"] != ALL)]
    sites = sites[sites[sums].sum(axis=1) > 0].set_index(["ds", "sku", "site"]).sort_index()
    pd.testing.assert_frame_equal(
        sites[sums], expected["daily"].set_index(["ds", "sku", "site"]).sort_index()[sums],
        rtol=1e-9, atol=1e-9, check_index_type=False,
    )  # fmt: skip
    packed = result.fragmentation.set_index("sku")
    reference = expected["fractional"].set_index("sku")
    assert list(packed.index) == list(reference.index)
    for ours, theirs in [("fractional_gpus", "fractional_gpu_hours"),
                         ("packed_gpus", "packed_gpu_hours"),
                         ("unshared_gpus", "unshared_gpu_hours")]:  # fmt: skip
        assert packed[ours].to_numpy() * result.hours == pytest.approx(reference[theirs].to_numpy())
    stranded = result.stranded.set_index(["sku", "site"])["stranded_gpus"] * result.hours
    free = expected["stranded"].set_index(["sku", "site"])["stranded_gpu_hours"]
    assert stranded.to_dict() == pytest.approx(free.to_dict())


@pytest.fixture(scope="module")
def sample() -> tuple[object, pd.DataFrame]:
    config = read_config(sample_telemetry_config())
    result = utilization(config)
    return result, findings(result, config)


def test_sample_telemetry_gives_back_the_sample_history(sample: tuple) -> None:
    result, _ = sample
    history = sample_history()
    november = history[history["ds"] >= "2026-11-01"]
    # Series that share every attribute (two of a team's four, say) are one group here.
    expected = november.groupby([*GROUP, "ds"])["y"].sum().groupby(GROUP).mean()
    daily = result.demand.table.groupby([*GROUP, result.demand.table["ds"].dt.floor("D")])
    # The generator keeps each series' jobs alive (queued or running) at the history's
    # level: in use plus pending gives the history back, each group within 2.5% (the last
    # job of a burst overshoots a falling level a little).
    ours = daily["in_use_plus_pending"].mean().groupby(GROUP).mean()
    ratio = (ours / expected).dropna()
    assert len(ratio) == len(expected) == 41
    assert ratio.between(0.99, 1.025).all(), ratio.describe()
    # Demand counts queued work once, from its submission: below in use plus pending
    # where jobs queue (docs/telemetry.md gives the figures), never above it by more than
    # the runs that end after the window moved back into it.
    asked = daily["demand"].mean().groupby(GROUP).mean()
    assert (asked <= ours * 1.02).all() and asked.sum() < 0.97 * ours.sum()
    # The bad rows written on purpose are found, per reason.
    counts = result.demand.problems.groupby("reason").size().to_dict()
    assert counts == {
        "duplicate_job_id": 3,
        "end_before_start": 2,
        "start_before_submit": 1,  # one of the two end-before-start rows starts early too
        "unknown_sku": 2,
        "unparsable_time": 2,
    }


def test_sample_findings_name_what_the_generator_built_in(sample: tuple) -> None:
    result, ranked = sample
    kinds = set(ranked["kind"])
    assert {"unallocated", "idle_allocation", "hidden_demand", "fragmentation"} <= kinds
    low = result.teams[result.teams["busy_utilization"] < 0.4]
    assert set(low["team"]) == {"multimodal", "eval"}  # generated at 25-30% busy
    idle = set(ranked[ranked["kind"] == "idle_allocation"]["subject"])
    assert {"/".join(row) for row in low[GROUP].to_numpy()} <= idle
    hidden = ranked[ranked["kind"] == "hidden_demand"]
    assert set(hidden["sku"]) <= {"B200", "MI300X", "H200"}  # the pools short of nodes
    usd = ranked["usd"].dropna().to_numpy()
    assert (np.diff(usd) <= 0).all()  # ranked by worth
    markdown = report(result, ranked)
    assert markdown.count("\n1. **") == 1 and "## Allocation by SKU and site" in markdown


def test_openb_insights_cover_every_pod_and_gpu() -> None:
    openb = Path(__file__).parent / "data" / "openb"
    config = read_config(openb / "telemetry.yaml")  # 2023-04-26 .. 2023-05-30
    result = utilization(config)
    overall = result.queue.set_index(["workload", "sku"]).loc[(ALL, ALL)]
    pods = pd.read_csv(openb / "alibaba_openb_pod_list.csv")
    start, end = ((t - pd.Timestamp("2023-01-01")).total_seconds() for t in result.demand.window)
    submitted = pods[(pods["creation_time"] >= start) & (pods["creation_time"] < end)]
    assert overall["jobs"] == len(submitted) == 8038
    assert overall["started"] == (submitted["scheduled_time"] < end).sum()
    fleet = result.allocation.set_index(["sku", "site"]).loc[(ALL, ALL)]
    assert fleet["inventory"] == 6212
    assert set(result.profiles["workload"]) == {"LS", "BE", "Burstable", "Guaranteed", ALL}


def test_cli_utilization_writes_tables_and_findings(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    config = _hand_cluster(tmp_path)
    out = tmp_path / "out"
    result = cli("utilization", config, "--out", out)
    assert result.code == 0, result.stderr
    assert "1. Only 26% of the 8 H100 at b are allocated" in " ".join(result.stdout.split())
    written = sorted(p.name for p in out.iterdir())
    assert "findings.md" in written and "teams.csv" in written and "job_problems.csv" in written
    assert pd.read_csv(out / "findings.csv")["rank"].tolist() == [1, 2, 3]
    (tmp_path / "jobs.csv").unlink()
    failed = cli("utilization", config, "--out", out)
    assert failed.code == 2 and "jobs.csv" in failed.stderr and "Traceback" not in failed.stderr


def test_outputs_are_the_same_bytes_run_after_run(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    # DuckDB sums in parallel; its compensated sums (fsum) keep the written digits stable.
    config = sample_telemetry_config()
    for run in ("a", "b"):
        assert cli("utilization", config, "--out", tmp_path / run).code == 0
    written = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(written) == 13
    for name in written:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
