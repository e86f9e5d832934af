"""The seeded accuracy table: every registered model's error on synthetic series.

Each model forecasts 14 days of 12 seeded daily series (trend, weekly season, both,
allocation steps, a random walk, a level shift; two seeds each) from 182 days of history.
``MAX_MASE`` holds, per model, the mean MASE measured when the model was last changed on
purpose, plus 5%: a change that makes a model less accurate fails here and must update
the table knowingly. ``python tests/test_accuracy.py`` prints the current table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from capforecast.forecast import metrics
from capforecast.forecast.models import MODELS, make_model

HISTORY, HORIZON, SEASON = 182, 14, 7

#: Mean MASE per model, as measured on 2026-12-02 (``python tests/test_accuracy.py``).
MEASURED = {
    "arima": 2.214,
    "auto": 1.156,
    "auto_arima": 2.294,
    "auto_ets": 1.137,
    "drift": 2.885,
    "ensemble": 1.322,
    "ets": 1.701,
    "naive": 1.860,
    "prophet": 3.139,
    "seasonal_naive": 1.992,
    "theta": 1.805,
    "window_average": 1.627,
}
MAX_MASE = {name: round(value * 1.05, 3) for name, value in MEASURED.items()}


def synthetic(kind: str, seed: int) -> np.ndarray:
    """A seeded daily series of ``HISTORY + HORIZON`` days (never negative)."""
    rng = np.random.default_rng([seed, sum(map(ord, kind))])
    t = np.arange(HISTORY + HORIZON, dtype=float)
    noise = rng.normal(0, 3, len(t))
    weekly = 15 * (t % 7 < 5)
    if kind == "trend":
        y = 50 + 0.4 * t + noise
    elif kind == "weekly":
        y = 100 + weekly + noise
    elif kind == "trend_weekly":
        y = 80 + 0.3 * t + weekly + noise
    elif kind == "steps":
        y = 64 + 8 * (rng.random(len(t)) < 1 / 40).cumsum()
    elif kind == "random_walk":
        y = 200 + rng.normal(0, 4, len(t)).cumsum()
    else:  # a launch: a level shift two thirds of the way through the history
        y = 120 + 40 * (t >= 2 * HISTORY // 3) + noise
    return np.clip(y, 0, None)


KINDS = ("trend", "weekly", "trend_weekly", "steps", "random_walk", "shift")


def mean_mase(name: str) -> float:
    """The model's mean MASE (lag-1 scaling) over the 12 synthetic series."""
    scores = []
    for kind in KINDS:
        for seed in (0, 1):
            y = synthetic(kind, seed)
            train, test = y[:HISTORY], y[HISTORY:]
            stamps = pd.date_range("2026-01-05", periods=HISTORY, freq="D")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forecast = make_model(name, SEASON).fit(train, stamps).predict(HORIZON).mean
            scores.append(metrics.mase(test, forecast, train, 1))
    return float(np.nanmean(scores))


def test_every_model_is_in_the_table() -> None:
    assert set(MAX_MASE) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_accuracy_does_not_regress(name: str) -> None:
    assert mean_mase(name) <= MAX_MASE[name]


if __name__ == "__main__":
    for model in sorted(MODELS):
        print(f'    "{model}": {mean_mase(model):.3f},')
