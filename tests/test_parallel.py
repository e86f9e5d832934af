"""The same panel gives identical results in process, on local cores and on Dask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from distributed import Client

from capforecast import forecast, sample_paths
from capforecast.forecast.backtest import cross_validation


def _panel(n_series: int = 32, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"s{i:02d}",
                "ds": pd.date_range("2026-01-05", periods=n, freq="D"),
                "y": np.clip(30 + i + 0.2 * t + 4 * (t % 7 < 5) + rng.normal(0, 2, n), 0, None),
            }
        )
        for i in range(n_series)
    ]
    table = pd.concat(frames, ignore_index=True)
    table.attrs["freq"] = "D"
    return table


def _bar(stderr: str) -> str:
    """The last state of a progress bar written to standard error."""
    return stderr.replace("\r", "\n").strip().splitlines()[-1]


def test_local_cores_match_a_single_process(capsys: pytest.CaptureFixture[str]) -> None:
    panel = _panel()
    one = forecast(panel, 14, models=["theta", "seasonal_naive"], n_jobs=1)
    assert capsys.readouterr().err == ""  # standard error is not a terminal: quiet
    two = forecast(panel, 14, models=["theta", "seasonal_naive"], n_jobs=2, progress=True)
    bar = _bar(capsys.readouterr().err)
    assert bar.startswith("forecast (Theta, SeasonalNaive): 100%") and "32/32" in bar, bar
    pd.testing.assert_frame_equal(one, two)
    paths_one = sample_paths(panel, 14, model="theta", n_paths=20, seed=4, n_jobs=1, progress=True)
    bar = _bar(capsys.readouterr().err)
    assert bar.startswith("sample paths (Theta): 100%") and "32/32" in bar, bar
    paths_two = sample_paths(panel, 14, model="theta", n_paths=20, seed=4, n_jobs=2)
    pd.testing.assert_frame_equal(paths_one, paths_two)


def test_dask_cluster_matches_local(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    panel = _panel()
    local = forecast(panel, 14, models=["ets", "drift"], n_jobs=1)
    remote = forecast(panel, 14, models=["ets", "drift"], client=client)
    pd.testing.assert_frame_equal(local, remote)
    paths_local = sample_paths(panel, 7, model="theta", n_paths=10, seed=2, n_jobs=1)
    paths_remote = sample_paths(panel, 7, model="theta", n_paths=10, seed=2, client=client)
    pd.testing.assert_frame_equal(paths_local, paths_remote)
    folds_local = cross_validation(panel, 7, models=["naive"], n_windows=2, n_jobs=1)
    folds_remote = cross_validation(
        panel, 7, models=["naive"], n_windows=2, client=client, progress=True
    )
    pd.testing.assert_frame_equal(folds_local, folds_remote)
    bar = _bar(capsys.readouterr().err)
    assert bar.startswith("backtest, 2 windows (Naive): 100%") and "32/32" in bar, bar
