"""Small hostile inputs get bounded work: a few hundred bytes must never cost minutes of
CPU, gigabytes of memory or megabytes of message. Each case is an attack that once
succeeded, run through the real CLI (in a child process, so that its time and peak
memory are its own), plus a corpus of hostile YAML through every YAML reader.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capforecast import InputError
from capforecast.core.limits import LIMITS, LimitError
from capforecast.core.yamlfile import load_yaml
from capforecast.forecast.engine import forecast
from capforecast.plan.options import read_options
from capforecast.scenario.spec import read_scenario
from capforecast.telemetry.config import read_config

#: Peak memory a refused attack may cost the CLI, MB: its imports alone take about 550
#: (the attacks once took 2.4 GB, and over 16 GB before they were stopped).
MAX_MB = 1000

#: A child's own peak memory, printed on its last line of stderr (kB, Linux).
_MEASURED = (
    "import resource, sys\n"
    "from capforecast.cli.main import run\n"
    "code = run(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _cli(*args: object, cwd: Path | None = None) -> tuple[int, str, float, float]:
    """``capforecast ARGS`` in a child: exit code, stderr, seconds and peak memory (MB)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    seconds = time.perf_counter() - started
    *lines, peak = done.stderr.strip().splitlines()
    return done.returncode, "\n".join(lines), seconds, int(peak) / 1024


def _alias_bomb(levels: int = 7, width: int = 10) -> str:
    """The "billion laughs": each level names the one below ``width`` times."""
    names = "abcdefghij"
    lines = [f"a: &a [{','.join('x' * width)}]"]
    for level in range(1, levels + 1):
        below = ",".join([f"*{names[level - 1]}"] * width)
        lines.append(f"{names[level]}: &{names[level]} [{below}]")
    return "\n".join(lines) + "\n"


def _baseline(folder: Path, planning_dir: Path, text: str) -> Path:
    path = folder / "hostile.yaml"
    path.write_text(f"inputs: {{planning: {planning_dir}}}\n{text}")
    return path


# The attacks, through the real CLI ------------------------------------------------------
def test_an_alias_bomb_scenario_is_refused_at_once(tmp_path: Path, planning_dir: Path) -> None:
    # Once: a 355-byte file took the CLI 13 s and 2.4 GB.
    scenario = _baseline(tmp_path, planning_dir, "options:\n  x: 1\n" + _alias_bomb())
    assert len(_alias_bomb()) < 400
    code, stderr, seconds, peak_mb = _cli("run", scenario, "--out", tmp_path / "out")
    assert code == 2
    assert "aliases (*name) are not allowed" in stderr and "line 5" in stderr
    assert len(stderr) < 1000 and seconds < 30 and peak_mb < MAX_MB


def test_an_alias_bomb_options_file_is_refused_at_once(tmp_path: Path, planning_dir: Path) -> None:
    # Once: a 330-byte options.yaml got a 58 MB reply (repr of the expanded value).
    (planning_dir / "options.yaml").write_text(_alias_bomb())
    code, stderr, seconds, peak_mb = _cli("plan", planning_dir, "--out", tmp_path / "out")
    assert code == 2 and "options.yaml, line 2" in stderr and "aliases" in stderr
    assert len(stderr) < 1000 and seconds < 30 and peak_mb < MAX_MB


def test_a_horizon_of_trillions_of_periods_is_refused_before_it_is_built(
    tmp_path: Path, planning_dir: Path
) -> None:
    # Once: period_freq 'ns' over one hour was HTTP 500 (pandas tried to allocate 26 TiB);
    # 'D' over 200 years a 23.5 MB message.
    for freq, start, end in (("ns", "2027-01-01 00:00", "2027-01-01 01:00"),
                             ("D", "2027-01-01", "2227-01-01")):  # fmt: skip
        first, last = (str(pd.Period(stamp, freq=freq)) for stamp in (start, end))
        (planning_dir / "options.yaml").write_text(f"period_freq: {freq}\n")
        demand = pd.DataFrame({"workload": ["inference"] * 2, "period": [first, last],
                               "demand": [1.0, 2.0]})  # fmt: skip
        demand.to_csv(planning_dir / "demand.csv", index=False)
        pd.DataFrame({"period": [first, last], "capex_budget": [1e6, 1e6]}).to_csv(
            planning_dir / "budget.csv", index=False
        )
        for name in ("site_power.csv", "prices.csv", "supply.csv", "rent.csv"):
            (planning_dir / name).unlink(missing_ok=True)
        fleet = pd.read_csv(planning_dir / "fleet.csv").head(0)
        fleet.to_csv(planning_dir / "fleet.csv", index=False)
        code, stderr, seconds, peak_mb = _cli("plan", planning_dir, "--out", tmp_path / "out")
        assert code == 2, stderr
        assert f"over the limit of {LIMITS.periods} planning periods" in stderr
        assert len(stderr) < 5000 and seconds < 30 and peak_mb < MAX_MB


def test_a_forecast_too_large_is_refused_before_any_fit(tmp_path: Path) -> None:
    series = [f"s{i}" for i in range(400)]
    stamps = pd.date_range("2024-01-01", periods=20, freq="W-MON")
    history = pd.DataFrame(
        [(s, d, 1.0) for s in series for d in stamps], columns=["unique_id", "ds", "y"]
    )
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    # 400 series x 5,000 steps x 4 models x 13 columns = 104M values, over 50M.
    models = [a for m in ("naive", "seasonal_naive", "ets", "theta") for a in ("--model", m)]
    levels = [a for level in (50, 60, 70, 80, 90, 95) for a in ("--level", level)]
    code, stderr, seconds, _ = _cli(
        "forecast", path, "--horizon", 5000, "--out", tmp_path / "f.csv", *models, *levels
    )
    assert code == 2 and "forecast values (400 series x 5000 steps x 52 per step)" in stderr
    assert f"over the limit of {LIMITS.forecast_values}" in stderr and seconds < 30
    with pytest.raises(LimitError, match="forecast horizon"):
        forecast(history, LIMITS.forecast_horizon + 1)


def test_a_small_parquet_of_millions_of_rows_is_refused_unread(tmp_path: Path) -> None:
    # Once: 357 KB of Parquet held 30M rows; the CLI grew past 16 GB before it was stopped.
    rows = LIMITS.rows + 1
    table = pa.table({
        "unique_id": pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, "int32")), ["a"]),
        "ds": pa.array(np.zeros(rows, "int64")).cast(pa.timestamp("s")),
        "y": pa.array(np.ones(rows)),
    })  # fmt: skip
    path = tmp_path / "history.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 1_000_000
    code, stderr, seconds, peak_mb = _cli(
        "forecast", path, "--horizon", 4, "--out", tmp_path / "f.csv"
    )
    assert code == 2 and f"more than {LIMITS.rows} rows" in stderr and "history.parquet" in stderr
    assert seconds < 30 and peak_mb < MAX_MB


def _job_log(folder: Path, first: str, last: str, teams: int = 1, nodes: int = 0) -> Path:
    """A log of a job at ``first`` and one at ``last`` for each of ``teams``, each on
    ``nodes`` nodes (none named when 0), and its telemetry config."""
    rows = [
        {"job_id": f"{team}-{n}", "org": "o", "team": f"t{team}", "sku": "H100", "gpus": 1,
         "submit_time": stamp, "start_time": stamp, "end_time": stamp.replace("00:00", "05:00"),
         "node": ",".join(f"n{i}" for i in range(nodes))}
        for team in range(teams) for n, stamp in enumerate((f"{first} 00:00", f"{last} 00:00"))
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "jobs.csv", index=False)
    config = folder / "telemetry.yaml"
    config.write_text("jobs: {paths: [jobs.csv]}\n")
    return config


def test_a_telemetry_window_of_centuries_is_refused(tmp_path: Path) -> None:
    # Once: an ingest window of 300 years ended as "internal error" (exit 1).
    config = _job_log(tmp_path, "2026-01-01", "2026-02-01")
    config.write_text("jobs: {paths: [jobs.csv]}\nstart: 1800-01-01\nend: 2100-01-01\n")
    code, stderr, _, _ = _cli("ingest", config, "--out", tmp_path / "d.csv")
    assert code == 2 and "start and end are dates from 1970 to 2200" in stderr
    config.write_text("jobs: {paths: [jobs.csv]}\nstart: 1980-01-01\nend: 2100-01-01\n")
    code, stderr, _, _ = _cli("ingest", config, "--out", tmp_path / "d.csv")
    assert code == 2 and f"over the limit of {LIMITS.telemetry_days}" in stderr
    # The same window from the data (no start or end given).
    config = _job_log(tmp_path, "1980-01-01", "2100-01-01")
    code, stderr, seconds, _ = _cli("ingest", config, "--out", tmp_path / "d.csv")
    assert code == 2 and "days in the telemetry window" in stderr and seconds < 60


def test_a_kilobyte_job_log_cannot_ask_for_years_of_hours(tmp_path: Path) -> None:
    # Once: 100 teams over ten years by the hour took 2:40, 5.9 GB and wrote 760 MB; one job
    # on 1,500 nodes over ten years took utilization 2:09 and 3.8 GB (7.8 GB spilled).
    config = _job_log(tmp_path, "2016-01-01", "2026-01-01", teams=100)
    config.write_text("jobs: {paths: [jobs.csv]}\ngrain: hour\n")
    code, stderr, seconds, peak_mb = _cli("ingest", config, "--out", tmp_path / "d.csv")
    assert code == 2 and "rows of demand by group and hour" in stderr, stderr
    assert f"over the limit of {LIMITS.telemetry_rows}" in stderr
    assert seconds < 30 and peak_mb < MAX_MB
    config = _job_log(tmp_path, "2016-01-01", "2026-01-01", nodes=1500)
    jobs = pd.read_csv(tmp_path / "jobs.csv")
    jobs.loc[0, "end_time"] = "2026-01-01 00:00"  # one job held 1,500 nodes for ten years
    jobs.to_csv(tmp_path / "jobs.csv", index=False)
    code, stderr, seconds, peak_mb = _cli("utilization", config, "--out", tmp_path / "u")
    assert code == 2 and "node-hours in use in the window" in stderr, stderr
    assert seconds < 30 and peak_mb < MAX_MB


def test_ten_thousand_scenario_changes_are_refused(tmp_path: Path, planning_dir: Path) -> None:
    # Once: a comparison of 10,000 budget changes ran 15.6 s at time_limit_s: 1.
    changes_limit = f"over the limit of {LIMITS.scenario_changes} per scenario"
    for count, limit in ((10_000, f"more than {LIMITS.yaml_nodes} YAML values"),
                         (1_001, changes_limit)):  # fmt: skip
        changes = "".join("  - {change: -1%}\n" for _ in range(count))
        scenario = _baseline(tmp_path, planning_dir, "budget:\n" + changes)
        code, stderr, seconds, _ = _cli("run", scenario, "--out", tmp_path / "out")
        assert code == 2 and limit in stderr, stderr
        assert seconds < 30


def test_options_are_strict_booleans_and_finite_numbers(tmp_path: Path, planning_dir: Path) -> None:
    # Once: time_limit_s: true was accepted as 1.0.
    cases = [("time_limit_s: true", "time_limit_s"), ("mip_gap: '0.1'", "mip_gap"),
             ("time_limit_s: .inf", "time_limit_s"), ("explain: 1", "explain")]  # fmt: skip
    for text, key in cases:
        (planning_dir / "options.yaml").write_text(text + "\n")
        code, stderr, _, _ = _cli("plan", planning_dir, "--out", tmp_path / "out")
        assert code == 2 and f"key '{key}'" in stderr, (text, stderr)


# Hostile YAML, through every reader ------------------------------------------------------
HOSTILE_YAML = {
    "alias bomb": _alias_bomb(),
    "recursive alias": "a: &a [*a]\n",
    "merge key": "base: &b {x: 1}\nother:\n  <<: *b\n",
    "deep nesting": "a: " + "[" * 1000 + "]" * 1000 + "\n",
    "deep mappings": "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
    "many values": "a: [" + ", ".join(["1"] * (LIMITS.yaml_nodes + 10)) + "]\n",
    "huge integer": "a: " + "9" * 5000 + "\n",
    "bad date": "a: 2027-13-45\n",
    "python object": "a: !!python/object/apply:os.system ['echo owned']\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "tab indent": "a:\n\tb: 1\n",
    "binary": "\x00\x01\x02 not yaml",
    "unclosed": "a: [1, 2\n",
    "long key": "x" * 100_000 + ": 1\n",
    "a list": "- 1\n- 2\n",
    "a scalar": "just text\n",
}


def _options(path: Path) -> object:
    found, problems = read_options(path)
    if problems:
        raise InputError(problems)
    return found


#: Each YAML reader, and the name of the file it reads.
READERS: dict[str, Callable[[Path], object]] = {
    "scenario.yaml": read_scenario,
    "options.yaml": _options,
    "telemetry.yaml": read_config,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_an_input_error_with_a_short_message(tmp_path: Path, case: str) -> None:
    for name, reader in READERS.items():
        path = tmp_path / name
        path.write_text(HOSTILE_YAML[case])
        started = time.perf_counter()
        with pytest.raises(InputError) as caught:
            reader(path)
        message = str(caught.value)
        assert time.perf_counter() - started < 5, (case, name)
        assert len(message) < 2000, (case, name, len(message))
        assert name in message, (case, name, message)


def test_yaml_within_the_bounds_still_reads() -> None:
    nested = "a: " + "[" * (LIMITS.yaml_depth - 1) + "1" + "]" * (LIMITS.yaml_depth - 1)
    assert load_yaml(nested, "ok.yaml") is not None
    assert load_yaml("a: &x 1\nb: 2\n", "ok.yaml") == {"a": 1, "b": 2}  # an anchor alone
    assert load_yaml("", "empty.yaml") is None
    # YAML 1.1 reads 1e-3 as text; these files read it as the number it is.
    assert load_yaml("mip_gap: 1e-3\nx: -2E+2\n", "ok.yaml") == {"mip_gap": 0.001, "x": -200.0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#,? \n\t01.%")), max_size=80))
def test_any_text_reads_or_is_an_input_error(text: str) -> None:
    started = time.perf_counter()
    try:
        load_yaml(text, "fuzz.yaml")
    except InputError as error:
        assert len(str(error)) < 2000
    assert time.perf_counter() - started < 2


def test_a_sweep_of_a_billion_steps_is_refused_at_once(tmp_path: Path, planning_dir: Path) -> None:
    scenario = _baseline(tmp_path, planning_dir, "")
    code, stderr, seconds, peak_mb = _cli(
        "sweep", scenario, "--budget-from", "-40%", "--budget-to", "0%",
        "--steps", 1_000_000_000, "--out", tmp_path / "out",
    )  # fmt: skip
    assert code == 2 and f"over the limit of {LIMITS.scenarios}" in stderr
    assert seconds < 30 and peak_mb < MAX_MB


def test_a_two_line_history_over_centuries_is_refused_before_its_grid(tmp_path: Path) -> None:
    # Once: two rows 220 years apart at a minute's frequency took 1:55 and 10.9 GB.
    path = tmp_path / "history.csv"
    path.write_text("unique_id,ds,y\nb,1980-01-01,1\nb,2200-01-01,2\n")
    code, stderr, seconds, peak_mb = _cli(
        "forecast", path, "--horizon", 2, "--freq", "min", "--out", tmp_path / "f.csv"
    )
    assert code == 2 and f"over the limit of {LIMITS.rows} rows on its min grid" in stderr
    assert seconds < 30 and peak_mb < MAX_MB


def test_small_files_cannot_ask_for_a_big_model(tmp_path: Path, planning_dir: Path) -> None:
    # Once: 20 SKUs x 20 sites x 2,000 monthly periods in 55 KB took 6.1 GB.
    for name in ("site_power.csv", "prices.csv", "supply.csv", "rent.csv"):
        (planning_dir / name).unlink(missing_ok=True)
    pd.read_csv(planning_dir / "fleet.csv").head(0).to_csv(planning_dir / "fleet.csv", index=False)
    (planning_dir / "perf.csv").write_text("sku,workload,factor\nS0,w,1\n")
    catalog = pd.read_csv(planning_dir / "catalog.csv").head(1)
    skus = pd.concat([catalog.assign(sku=f"S{i}") for i in range(20)])
    skus.to_csv(planning_dir / "catalog.csv", index=False)
    sites = pd.read_csv(planning_dir / "sites.csv").head(1)
    pd.concat([sites.assign(site=f"k{i}") for i in range(20)]).to_csv(
        planning_dir / "sites.csv", index=False
    )
    periods = [str(p) for p in pd.period_range("2027-01", periods=2000, freq="M")]
    pd.DataFrame({"workload": "w", "period": periods, "demand": 1.0}).to_csv(
        planning_dir / "demand.csv", index=False
    )
    pd.DataFrame({"period": periods, "capex_budget": 1e6}).to_csv(
        planning_dir / "budget.csv", index=False
    )
    (planning_dir / "options.yaml").write_text("period_freq: M\n")
    code, stderr, seconds, peak_mb = _cli("plan", planning_dir, "--out", tmp_path / "out")
    assert code == 2 and f"allocation cells is over the limit of {LIMITS.allocation}" in stderr
    assert "20 SKUs x 20 sites x 1 workload-regions x 2000 periods" in stderr
    assert seconds < 30 and peak_mb < MAX_MB


def test_work_sized_by_scenario_fields_and_flags_is_bounded(
    tmp_path: Path, planning_dir: Path, history_file: Path
) -> None:
    # Once: a 90-byte scenario asked for 2,000 paths reduced to 2,000 scenarios (1:51,
    # 6.8 GB); a lead time of 10^20 periods was an IndexError (exit 1).
    cases = {
        f"forecast: {{paths: {LIMITS.paths + 1}}}": "forecast.paths",
        f"forecast: {{scenarios: {LIMITS.demand_scenarios + 1}}}": "forecast.scenarios",
        "forecast: {seed: -1}": "forecast.seed",
        "lead_time: [{sku: B200, add: 99999999999999999999}]": "lead_time.0.add",
        "demand: [{factor: .inf}]": "demand.0.factor",
    }
    for text, key in cases.items():
        scenario = tmp_path / "s.yaml"
        scenario.write_text(
            f"inputs: {{planning: {planning_dir}, history: {history_file}}}\n{text}\n"
        )
        code, stderr, seconds, _ = _cli("run", scenario, "--out", tmp_path / "out")
        assert code == 2 and f"key '{key}'" in stderr, (text, stderr)
        assert seconds < 30
    models = [a for _ in range(12) for a in ("--model", "naive")]
    code, _, _, _ = _cli(
        "forecast", history_file, "--horizon", 2, "--out", tmp_path / "f.csv", *models
    )
    assert code == 0 and pd.read_csv(tmp_path / "f.csv")["model"].nunique() == 1  # fitted once
    code, stderr, _, _ = _cli(
        "backtest", history_file, "--horizon", 1, "--windows", LIMITS.backtest_windows + 1,
        "--out", tmp_path / "b.csv",
    )  # fmt: skip
    assert code == 2 and "backtest windows" in stderr
    code, stderr, _, _ = _cli(
        "sweep", _baseline(tmp_path, planning_dir, ""), "--budget-from", "-40%",
        "--budget-to", "inf", "--steps", 3, "--out", tmp_path / "sweep",
    )  # fmt: skip
    assert code == 2 and "finite" in stderr


def test_telemetry_times_beyond_any_calendar_are_input_errors(tmp_path: Path) -> None:
    jobs = "job_id,sku,gpus,submit_time,start_time,end_time\n"
    (tmp_path / "late.csv").write_text(
        jobs + "a,H100,1,2026-01-01 00:00,2026-01-01 00:00,294247-01-01 00:00\n"
        "b,H100,1,2026-01-02 00:00,2026-01-02 00:00,2026-01-02 05:00\n"
    )
    (tmp_path / "late.yaml").write_text("jobs: {paths: [late.csv]}\n")
    (tmp_path / "seconds.csv").write_text(jobs + "a,H100,1,0,10,10000000000000\n")
    (tmp_path / "seconds.yaml").write_text(
        "jobs: {paths: [seconds.csv], time_unit: s, epoch: 2026-01-01}\n"
    )
    for name in ("late", "seconds"):
        code, stderr, _, _ = _cli("ingest", tmp_path / f"{name}.yaml", "--out", tmp_path / "d.csv")
        assert code == 2 and "internal error" not in stderr, (name, stderr)
