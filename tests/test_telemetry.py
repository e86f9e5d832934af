"""Demand history from job logs: figures worked out by hand, every bad row accounted for,
and DuckDB against an independent pandas reference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capforecast.core.errors import InputError
from capforecast.core.history import read_history
from capforecast.requirement import requirement
from capforecast.telemetry import TelemetryStore, demand, read_config
from capforecast.workflow import demand_by_region
from tests.conftest import CliResult, found_problems
from tests.reference_demand import GROUP, reference_demand

HAND_LOG = """job_id,team,workload,sku,gpus,submit_time,start_time,end_time,status
a,vision,training,H100,8,2024-01-01 00:00:00,2024-01-01 06:00:00,2024-01-02 06:00:00,done
b,vision,training,H100,0.5,2024-01-01 12:00:00,2024-01-01 12:00:00,2024-01-01 18:00:00,done
c,nlp,inference,A100,4,2024-01-01 00:00:00,,,queued
d,nlp,inference,A100,-2,2024-01-01 00:00:00,2024-01-01 01:00:00,2024-01-01 02:00:00,done
e,nlp,inference,A100,1,2024-01-01 00:00:00,2024-01-01 03:00:00,2024-01-01 02:00:00,done
a,vision,training,H100,8,2024-01-01 00:00:00,2024-01-01 06:00:00,2024-01-02 06:00:00,done
f,nlp,inference,XPU,1,not a time,2024-01-01 03:00:00,2024-01-01 04:00:00,done
g,nlp,inference,A100,99999,2024-01-01 00:00:00,2024-01-01 00:00:00,2024-01-01 01:00:00,done
"""


def _config(folder: Path, **settings: object) -> Path:
    document = {
        "jobs": {"paths": ["jobs.csv"]},
        "grain": "day",
        "start": "2024-01-01",
        "end": "2024-01-03",
        "skus": ["H100", "A100"],
        **settings,
    }
    path = folder / "telemetry.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def hand_log(tmp_path: Path) -> Path:
    (tmp_path / "jobs.csv").write_text(HAND_LOG)
    return tmp_path


def _row(table: pd.DataFrame, team: str, day: str) -> pd.Series:
    found = table[(table["team"] == team) & (table["ds"] == pd.Timestamp(day))]
    assert len(found) == 1
    return found.iloc[0]


def test_demand_pending_and_gpu_hours_equal_the_hand_worked_figures(hand_log: Path) -> None:
    result = demand(read_config(_config(hand_log)))
    table = result.table
    # Job a: 8 H100 queued 00:00-06:00 on day 1, running until 06:00 on day 2. Job b: half
    # an H100 for 6 hours on day 1. Day 1: 18 h x 8 + 6 h x 0.5 = 147 GPU-hours in use
    # (6.125 on average over 24 h) and 6 h x 8 = 48 pending (2.0).
    day1 = _row(table, "vision", "2024-01-01")
    assert (day1["gpu_hours"], day1["pending_gpu_hours"]) == (147.0, 48.0)
    assert (day1["in_use"], day1["pending"], day1["demand"]) == (6.125, 2.0, 8.125)
    day2 = _row(table, "vision", "2024-01-02")
    assert (day2["gpu_hours"], day2["in_use"], day2["pending"]) == (48.0, 2.0, 0.0)
    # Job c: 4 A100 queued and never started: pending to the window's end, 4 per day.
    for day in ("2024-01-01", "2024-01-02"):
        nlp = _row(table, "nlp", day)
        assert (nlp["in_use"], nlp["pending"], nlp["pending_gpu_hours"]) == (0.0, 4.0, 96.0)
    history = result.history()
    assert list(history.columns[:3]) == ["unique_id", "ds", "y"]
    assert set(history["unique_id"]) == {"vision/training/H100", "nlp/inference/A100"}
    # Training's day is the mean of its hours; inference's their 95th percentile: job c
    # never ran and asks, from 00:00, for the median finished run (of a and b: 15 h), so
    # 4 GPUs for 15 hours of day 1 (a mean of 2.5) and none on day 2.
    training = history["statistic"] == "mean"
    np.testing.assert_array_equal(history["y"][training], table["demand"][training])
    inference = history[~training].set_index("ds")
    assert set(inference["statistic"]) == {"p95"}
    assert inference["y"].tolist() == [4.0, 0.0]
    assert table[table["team"] == "nlp"]["demand"].tolist() == [2.5, 0.0]


#: The worked example of docs/telemetry.md: two 8-GPU, 10-hour jobs submitted together,
#: the second waiting 10 hours; and a 2-GPU job of another team that never ran (cancelled
#: after 5 hours in the queue), which asks for the median run of its workload and SKU.
QUEUED_LOG = """job_id,team,workload,sku,gpus,submit_time,start_time,end_time
first,vision,training,H100,8,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 10:00
second,vision,training,H100,8,2024-01-01 00:00,2024-01-01 10:00,2024-01-01 20:00
never,nlp,training,H100,2,2024-01-01 02:00,,2024-01-01 07:00
"""


@pytest.mark.parametrize("grain", ["hour", "day"])
def test_queued_work_is_counted_once_as_it_was_asked_for(tmp_path: Path, grain: str) -> None:
    (tmp_path / "jobs.csv").write_text(QUEUED_LOG)
    config = _config(tmp_path, grain=grain, end="2024-01-02")
    table = demand(read_config(config)).table
    vision = table[table["team"] == "vision"].set_index("ds")
    if grain == "day":
        day = vision.iloc[0]
        # 160 GPU-hours of work in the day: the work rate is 6.67; in use + pending counts
        # the second job's wait as well: 10.0.
        assert day["in_use"] == pytest.approx(160 / 24)
        assert day["demand"] == pytest.approx(160 / 24)
        assert day["in_use_plus_pending"] == pytest.approx(240 / 24)
        assert day["pending"] == pytest.approx(80 / 24)
        # The history's y is the configured measure, demand by default.
        for measure in ("demand", "in_use_plus_pending"):
            settings = read_config(
                _config(tmp_path, grain=grain, end="2024-01-02", measure=measure)
            )
            history = demand(settings).history().set_index("unique_id")
            assert history.loc["vision/training/H100", "y"] == day[measure]
    else:
        # What was asked for without waiting: 16 GPUs for ten hours, then nothing.
        assert vision["demand"].tolist() == [16.0] * 10 + [0.0] * 14
        assert vision["in_use"].tolist() == [8.0] * 20 + [0.0] * 4
        assert vision["in_use_plus_pending"].tolist() == [16.0] * 10 + [8.0] * 10 + [0.0] * 4
    # The job that never ran asks for 2 GPUs for the median finished run of training on
    # H100 (10 hours) from its submission at 02:00.
    nlp = table[table["team"] == "nlp"]
    assert nlp["demand_gpu_hours"].sum() == pytest.approx(2 * 10)
    assert nlp["pending_gpu_hours"].sum() == pytest.approx(2 * 5)
    assert nlp["gpu_hours"].sum() == 0


def test_a_statistic_that_is_not_one_is_a_config_error(hand_log: Path) -> None:
    config = _config(hand_log, statistic={"inference": "peak"})
    with pytest.raises(
        InputError, match=r"key 'statistic': .*'mean', 'max' or a percentile.*'peak'"
    ):
        read_config(config)


def test_every_bad_row_is_counted_with_file_row_and_example(hand_log: Path) -> None:
    result = demand(read_config(_config(hand_log)))
    found = found_problems(result.problems)
    assert found == {
        ("jobs.csv", 5, "gpus", "bad_gpus"),
        ("jobs.csv", 6, "end_time", "end_before_start"),
        ("jobs.csv", 7, "job_id", "duplicate_job_id"),
        ("jobs.csv", 8, "sku", "unknown_sku"),
        ("jobs.csv", 8, "submit_time", "unparsable_time"),
        ("jobs.csv", 9, "gpus", "absurd_gpus"),
    }
    assert result.problems["excluded"].all()
    summary = result.summary().set_index("reason")
    assert summary.loc["duplicate_job_id", "rows"] == 1
    assert "jobs.csv row 9: gpus='99999'" in summary.loc["absurd_gpus", "examples"]
    assert result.rows == 8


def test_bad_rows_are_kept_in_aggregates_only_when_configured(hand_log: Path) -> None:
    kept = demand(read_config(_config(hand_log, bad_rows={"duplicate_job_id": "keep"})))
    day1 = _row(kept.table, "vision", "2024-01-01")
    assert day1["gpu_hours"] == 147.0 + 144.0  # the second copy of job a counts as well
    assert not kept.problems.set_index("reason").loc["duplicate_job_id", "excluded"]
    with pytest.raises(InputError, match="cannot be kept"):
        read_config(_config(hand_log, bad_rows={"end_before_start": "keep"}))


def test_missing_files_and_columns_are_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no file matches"):
        demand(read_config(_config(tmp_path)))
    (tmp_path / "jobs.csv").write_text("job_id,sku,gpus,submit_time\nx,H100,1,2024-01-01\n")
    with pytest.raises(InputError) as error:
        demand(read_config(_config(tmp_path)))
    assert "jobs.csv, column 'start_time': missing" in str(error.value)
    assert "column 'end_time': missing" in str(error.value)
    with pytest.raises(InputError, match=r"jobs\.columns"):
        read_config(_config(tmp_path, jobs={"paths": ["jobs.csv"], "columns": {"gpu": "n"}}))
    with pytest.raises(InputError, match=r"memory_limit.*like '3GB'"):
        read_config(_config(tmp_path, memory_limit="lots"))


def test_parquet_files_are_one_scan_that_names_each_file(tmp_path: Path) -> None:
    jobs = random_jobs(30, seed=3)
    jobs.iloc[:10].to_parquet(tmp_path / "a.parquet", index=False)
    jobs.iloc[10:20].drop(columns=["region"]).to_parquet(tmp_path / "b.parquet", index=False)
    jobs.iloc[20:].drop(columns=["gpus"]).to_parquet(tmp_path / "c.parquet", index=False)
    config = {"jobs": {"paths": ["*.parquet"]}, "skus": None}
    with pytest.raises(InputError) as error:  # a required column missing from one file
        demand(read_config(_config(tmp_path, **config)))
    assert str(error.value).count("missing") == 1 and "c.parquet, column 'gpus'" in str(error.value)
    (tmp_path / "c.parquet").unlink()
    store = TelemetryStore(read_config(_config(tmp_path, **config)))
    rows = store.con.execute("SELECT file, row, region FROM jobs ORDER BY file, row").df()
    assert [Path(f).name for f in rows["file"]] == ["a.parquet"] * 10 + ["b.parquet"] * 10
    assert rows["row"].tolist() == list(range(1, 11)) * 2
    # An optional column missing from a file is empty in its rows, not an error.
    assert rows["region"].iloc[10:].eq("").all() and rows["region"].iloc[:10].ne("").all()


def random_jobs(count: int, seed: int) -> pd.DataFrame:
    """A clean job log over about ten days: some jobs never start, some never end."""
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp("2024-03-01").value
    submit = origin + rng.integers(0, 10 * 86_400, count) * 10**9
    wait = rng.exponential(3_600, count).astype(np.int64) * 10**9
    run = rng.exponential(8 * 3_600, count).astype(np.int64) * 10**9
    start = (submit + wait).astype("datetime64[ns]")
    end = (submit + wait + run).astype("datetime64[ns]")
    never_started = rng.random(count) < 0.05
    still_running = rng.random(count) < 0.05
    teams = np.array(["vision", "nlp", "speech", "ranking"])
    return pd.DataFrame(
        {
            "job_id": [f"j{i}" for i in range(count)],
            "org": "research",
            "team": teams[rng.integers(0, len(teams), count)],
            "workload": np.where(rng.random(count) < 0.6, "training", "inference"),
            "sku": np.array(["H100", "A100", "L4"])[rng.integers(0, 3, count)],
            "region": np.where(rng.random(count) < 0.5, "us", "eu"),
            "gpus": rng.choice([0.25, 0.5, 1, 2, 4, 8, 16], count),
            "submit_time": pd.to_datetime(submit),
            "start_time": pd.Series(start).where(~never_started),
            "end_time": pd.Series(end)
            .where(~(never_started & (rng.random(count) < 0.5)))
            .where(~still_running),
        }
    )


def _compare(jobs: pd.DataFrame, folder: Path, grain: str, start: str, end: str) -> None:
    files = np.array_split(np.arange(len(jobs)), 3)
    for number, rows in enumerate(files):
        jobs.iloc[rows].to_parquet(folder / f"jobs-{number}.parquet", index=False)
    path = _config(
        folder, jobs={"paths": ["jobs-*.parquet"]}, grain=grain, start=start, end=end, skus=None
    )
    ours = demand(read_config(path)).table
    reference = reference_demand(
        jobs, pd.Timestamp(start), pd.Timestamp(end), "1D" if grain == "day" else "1h"
    )
    ours = ours.sort_values([*GROUP, "ds"]).reset_index(drop=True)
    assert len(ours) == len(reference)
    for column in GROUP:
        assert ours[column].tolist() == reference[column].tolist()
    assert (ours["ds"].to_numpy() == reference["ds"].to_numpy()).all()
    columns = ("gpu_hours", "pending_gpu_hours", "demand_gpu_hours", "in_use", "pending")
    for column in (*columns, "in_use_plus_pending", "demand"):
        np.testing.assert_allclose(ours[column], reference[column], rtol=1e-9, atol=1e-9)


def test_duckdb_and_pandas_agree_on_a_100k_row_log(tmp_path: Path) -> None:
    _compare(random_jobs(100_000, seed=7), tmp_path, "day", "2024-03-01", "2024-03-12 12:00")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31 - 1), count=st.integers(1, 300), hourly=st.booleans())
def test_duckdb_and_pandas_agree_on_random_logs_and_windows(
    tmp_path_factory: pytest.TempPathFactory, seed: int, count: int, hourly: bool
) -> None:
    folder = tmp_path_factory.mktemp("jobs")
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01") + pd.Timedelta(minutes=int(rng.integers(0, 3 * 1440)))
    end = start + pd.Timedelta(minutes=int(rng.integers(60, 4 * 1440)))
    _compare(random_jobs(count, seed), folder, "hour" if hourly else "day", str(start), str(end))


OPENB = Path(__file__).parent / "data" / "openb"


def test_openb_adapter_reproduces_the_published_scale_and_hourly_demand_per_qos(
    tmp_path: Path,
) -> None:
    config = tmp_path / "openb.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "jobs": {
                    "paths": [str(OPENB / "alibaba_openb_pod_list.csv")],
                    "format": "openb_pods",
                    "time_unit": "s",
                    "epoch": "2023-01-01",
                },
                "inventory": {
                    "paths": [str(OPENB / "alibaba_openb_node_list.csv")],
                    "format": "openb_nodes",
                },
                "grain": "hour",
            }
        )
    )
    settings = read_config(config)
    store = TelemetryStore(settings)
    nodes, gpus = store.con.execute("SELECT COUNT(*), SUM(gpus) FROM inventory").fetchone()
    assert (nodes, gpus) == (1523, 6212)  # as published (Weng et al., ATC'23)
    result = demand(settings, store=store)
    assert result.rows == 8152 and result.problems.empty
    table = result.table
    assert set(table["workload"]) == {"LS", "BE", "Burstable", "Guaranteed"}
    steps = table.groupby("workload")["ds"].diff().dropna()
    assert (steps == pd.Timedelta(hours=1)).all()  # every hour of every QoS class
    # GPU-hours in use equal the pods' own: GPUs (a shared GPU as its fraction) times the
    # hours from scheduling to deletion.
    pods = pd.read_csv(OPENB / "alibaba_openb_pod_list.csv")
    gpus_per_pod = np.where(pods["num_gpu"] == 1, pods["gpu_milli"] / 1000, pods["num_gpu"])
    hours = (pods["deletion_time"] - pods["scheduled_time"]) / 3600
    expected = np.nansum(gpus_per_pod * hours)
    assert table["gpu_hours"].sum() == pytest.approx(expected, rel=1e-9)
    never_scheduled = pods["scheduled_time"].isna()
    pending = (pods["deletion_time"] - pods["creation_time"]) / 3600
    assert table["pending_gpu_hours"].sum() == pytest.approx(
        np.sum((gpus_per_pod * pending)[never_scheduled])
        + np.sum(
            (gpus_per_pod * (pods["scheduled_time"] - pods["creation_time"]) / 3600)[
                ~never_scheduled
            ]
        ),
        rel=1e-9,
    )


def test_cli_ingest_writes_a_history_that_reads_back(
    hand_log: Path, cli: Callable[..., CliResult]
) -> None:
    config = _config(hand_log)
    out = hand_log / "out" / "history.csv"
    out.parent.mkdir()
    result = cli("ingest", config, "--out", out)
    assert result.code == 0, result.stderr
    assert "1 bad row, absurd_gpus (excluded); for example jobs.csv row 9" in result.stdout
    history = read_history(out, freq="D")
    assert set(history["unique_id"]) == {"vision/training/H100", "nlp/inference/A100"}
    # Each series keeps the statistic its days were made by, for the requirement.
    statistic = history.groupby("unique_id")["statistic"].first().to_dict()
    assert statistic == {"vision/training/H100": "mean", "nlp/inference/A100": "p95"}
    problems = pd.read_csv(out.with_name("history.problems.csv"))
    assert len(problems) == 6 and set(problems.columns) >= {"file", "row", "column", "reason"}
    (hand_log / "jobs.csv").write_text("job_id,sku\nx,H100\n")
    failed = cli("ingest", config, "--out", out)
    assert failed.code == 2 and "Traceback" not in failed.stderr
    assert "jobs.csv, column 'gpus': missing" in failed.stderr


REGIONAL_JOBS = """job_id,team,workload,sku,gpus,submit_time,start_time,end_time,region
a,vision,training,H100,8,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 12:00,us-east-1
b,vision,training,H100,8,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 12:00,europe-west4
c,vision,training,H100,8,2024-01-01 00:00,2024-01-01 00:00,2024-01-01 12:00,
"""


def test_regions_flow_from_telemetry_to_a_requirement_per_region(tmp_path: Path) -> None:
    """The telemetry's region names become the planning sites' (``region_aliases``) and
    the history's regions give one requirement per region; a series with no region is a
    clear error when the sites have regions."""
    (tmp_path / "jobs.csv").write_text(REGIONAL_JOBS)
    aliases = {"us-east-1": "us", "europe-west4": "eu"}
    history = demand(read_config(_config(tmp_path, region_aliases=aliases))).history()
    regions = history.groupby("unique_id")["region"].first().to_dict()
    assert regions == {
        "vision/training/H100/us": "us", "vision/training/H100/eu": "eu",
        "vision/training/H100": "",
    }  # fmt: skip
    sites = pd.DataFrame({"site": ["virginia", "amsterdam"], "region": ["us", "eu"]})
    with pytest.raises(InputError, match="no region"):
        demand_by_region(history, sites)  # job c names none
    history = history[history["region"] != ""]
    assert demand_by_region(history, sites)
    paths = history.assign(path=0, value=history["y"])[["unique_id", "ds", "path", "value"]]
    perf = pd.DataFrame({"sku": ["H100"], "workload": ["training"], "factor": [1.0]})
    days = pd.period_range("2024-01-01", periods=2, freq="D")
    needed = requirement(
        paths, history, perf, days, service_level=0.5, utilization_target=1.0, by_region=True
    )
    # Each job: 8 GPUs for 12 of day 1's 24 hours, in its own region.
    by_region = needed.set_index(["region", "period"])["demand"]
    assert by_region.to_dict() == {
        ("eu", days[0]): 4.0,
        ("eu", days[1]): 0.0,
        ("us", days[0]): 4.0,
        ("us", days[1]): 0.0,
    }
