"""Prophet behind the forecaster contract: bounds, events, regressors, determinism, quiet."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from capforecast.core.errors import ParameterError
from capforecast.forecast import Prophet
from capforecast.forecast.engine import forecast
from capforecast.forecast.prophet import QUIET_LOGGERS

LEVELS = (50, 80, 95, 99)


def _dates(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D")


def _weekly(n: int = 150, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 0.2 * t + 8 * (t % 7 < 5) + rng.normal(0, 2, n)


def _saturating(n: int = 300, seed: int = 0) -> np.ndarray:
    """A logistic curve from 10 to 100 (93 at the end of the history), weekly swings."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (
        10
        + 90 / (1 + np.exp(-(t - 200) / 40))
        + 3 * np.sin(2 * np.pi * t / 7)
        + rng.normal(0, 1, n)
    )


def _regressor_series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``y = 10 + 5 x + noise`` with a random binary regressor ``x``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n).astype(float)
    return 10 + 5 * x + rng.normal(0, 1, n), x


def test_cap_and_floor_bound_a_saturating_series() -> None:
    y, ds = _saturating(), _dates(300)
    bounded = Prophet(cap=100.0, floor=10.0).fit(y, ds)
    prediction = bounded.predict(200, levels=(80, 95))
    lo, hi = prediction.intervals[95]
    assert (prediction.mean <= 100).all() and (prediction.mean >= 10).all()
    assert (hi <= 100).all() and (lo >= 10).all()
    paths = bounded.sample_paths(200, 300, seed=0)
    assert (paths <= 100).all() and (paths >= 10).all()
    # The trend saturates: the last 4 weeks average close to the cap, not past it.
    assert 95 <= prediction.mean[-28:].mean() <= 100
    # Not vacuous: a linear trend on the same series runs far past the cap.
    assert Prophet().fit(y, ds).predict(200).mean[-1] > 130


def test_logistic_growth_is_used_with_a_cap() -> None:
    model = Prophet(cap=100.0).fit(_saturating(), _dates(300))
    assert model.model_.growth == "logistic"
    assert Prophet().fit(_weekly(), _dates(150)).model_.growth == "linear"


def test_a_floor_without_cap_bounds_every_output_from_below() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(200)
    y, ds = 100 - 0.35 * t + rng.normal(0, 2, 200), _dates(200)
    free = Prophet().fit(y, ds)
    floored = Prophet(floor=25.0).fit(y, ds)
    assert floored.model_.growth == "linear"
    assert (free.predict(120).mean < 25).sum() > 50  # the linear trend falls through 25
    # The floor does not change the fit; it clips the mean, the intervals and the paths.
    got, unbounded = floored.predict(120, levels=(80,)), free.predict(120, levels=(80,))
    np.testing.assert_array_equal(got.mean, np.maximum(unbounded.mean, 25.0))
    np.testing.assert_array_equal(got.intervals[80][0], np.maximum(unbounded.intervals[80][0], 25))
    np.testing.assert_array_equal(got.intervals[80][1], np.maximum(unbounded.intervals[80][1], 25))
    assert (floored.sample_paths(120, 200, seed=2) >= 25).all()


def test_an_events_calendar_captures_launch_spikes() -> None:
    rng = np.random.default_rng(2)
    n, horizon = 365 + 60, 60
    ds, t = _dates(n), np.arange(n)
    launches = np.r_[np.arange(10, 365, 26) + rng.integers(0, 5, 14), [380, 410]]
    y = 100 + 0.05 * t + 5 * (t % 7 < 5) + rng.normal(0, 2, n)
    y[launches] += 40
    y[launches + 1] += 20
    events = pd.DataFrame(
        {"holiday": "launch", "ds": ds[launches], "lower_window": 0, "upper_window": 1}
    )
    actual = y[-horizon:]
    errors = {}
    for name, calendar in (("without", None), ("with", events)):
        fitted = Prophet(events=calendar).fit(y[:-horizon], ds[:-horizon])
        errors[name] = np.abs(fitted.predict(horizon).mean - actual).mean()
    assert errors["with"] < 0.6 * errors["without"]
    with_events = Prophet(events=events).fit(y[:-horizon], ds[:-horizon]).predict(horizon).mean
    assert with_events[380 - 365] - with_events[380 - 365 - 3] > 25  # the launch day stands out


def test_a_regressor_with_future_values_moves_the_forecast() -> None:
    y, x = _regressor_series(200, seed=3)
    ds = _dates(230)
    means = {}
    for future_x in (0.0, 1.0):
        frame = pd.DataFrame({"ds": ds, "x": np.r_[x, np.full(30, future_x)]})
        means[future_x] = Prophet(regressors=frame).fit(y, ds[:200]).predict(30).mean
    np.testing.assert_allclose(means[0.0], 10, atol=1)
    np.testing.assert_allclose(means[1.0] - means[0.0], 5, atol=1)


def test_missing_regressor_values_name_the_first_missing_date() -> None:
    y, x = _regressor_series(100, seed=4)
    ds = _dates(110)
    frame = pd.DataFrame({"ds": ds, "x": np.r_[x, np.ones(10)]})
    fitted = Prophet(regressors=frame).fit(y, ds[:100])
    assert fitted.predict(10).mean.shape == (10,)
    with pytest.raises(ValueError, match=r"no value of \['x'\] for 2024-04-20 00:00:00"):
        fitted.predict(20)
    with pytest.raises(ValueError, match="2024-04-20"):
        fitted.sample_paths(11, 5, seed=0)
    gap = frame.drop(index=[40])
    with pytest.raises(ParameterError, match="for 2024-02-10 00:00:00 \\(the first missing"):
        Prophet(regressors=gap).fit(y, ds[:100])


def _regressor_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two series driven by their own regressor: s0 = 10 + 5 x, s1 = 30 - 4 x."""
    n, horizon = 120, 14
    ds = _dates(n + horizon)
    y0, x0 = _regressor_series(n, seed=5)
    rng = np.random.default_rng(6)
    x1 = rng.integers(0, 2, n).astype(float)
    y1 = 30 - 4 * x1 + rng.normal(0, 1, n)
    history = pd.concat(
        [
            pd.DataFrame({"unique_id": "s0", "ds": ds[:n], "y": y0}),
            pd.DataFrame({"unique_id": "s1", "ds": ds[:n], "y": y1}),
        ],
        ignore_index=True,
    )
    regressors = pd.concat(
        [
            pd.DataFrame({"unique_id": "s0", "ds": ds, "x": np.r_[x0, np.ones(horizon)]}),
            pd.DataFrame({"unique_id": "s1", "ds": ds, "x": np.r_[x1, np.ones(horizon)]}),
        ],
        ignore_index=True,
    )
    return history, regressors


def test_per_series_regressors_through_the_panel_engine() -> None:
    history, regressors = _regressor_panel()
    table = forecast(history, 14, models=[Prophet(regressors=regressors)], freq="D", levels=[80])
    assert set(table["model"]) == {"Prophet"} and not table.attrs["fallbacks"]
    means = table.groupby("unique_id")["mean"].mean()
    assert means["s0"] == pytest.approx(15, abs=1)  # 10 + 5 · 1
    assert means["s1"] == pytest.approx(26, abs=1)  # 30 - 4 · 1
    # A series without regressor rows is the caller's mistake: no silent fallback.
    only_s0 = regressors[regressors["unique_id"] == "s0"]
    with pytest.raises(ParameterError, match="no rows for series 's1'"):
        forecast(history, 14, models=[Prophet(regressors=only_s0)], freq="D")
    # Fitting a multi-series frame directly is refused rather than mixing series.
    with pytest.raises(ParameterError, match="call for_series"):
        Prophet(regressors=regressors).fit(history["y"][:120].to_numpy(), _dates(120))


def test_for_series_keeps_own_and_shared_events() -> None:
    events = pd.DataFrame(
        {
            "holiday": ["launch-a", "launch-b", "outage"],
            "ds": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01"]),
            "unique_id": ["a", "b", None],
        }
    )
    model = Prophet(events=events)
    assert list(model.for_series("a").events["holiday"]) == ["launch-a", "outage"]
    assert "unique_id" not in model.for_series("a").events
    assert model.for_series("b").get_params()["seasonality_mode"] == "additive"
    assert Prophet().for_series("a").events is None


def test_intervals_at_any_levels_are_nested() -> None:
    prediction = Prophet().fit(_weekly(), _dates(150)).predict(21, levels=LEVELS)
    mean = prediction.mean
    for inner, outer in itertools.pairwise(LEVELS):
        lo_in, hi_in = prediction.intervals[inner]
        lo_out, hi_out = prediction.intervals[outer]
        assert (lo_out <= lo_in).all() and (hi_in <= hi_out).all()
        assert ((hi_out - lo_out) > (hi_in - lo_in)).all()
    lo50, hi50 = prediction.intervals[50]
    assert (lo50 <= mean).all() and (mean <= hi50).all()


def test_seeded_and_deterministic() -> None:
    y, ds = _weekly(), _dates(150)
    np.random.seed(123)  # noqa: NPY002 -- Prophet's generator, checked below
    before = np.random.get_state()  # noqa: NPY002
    first, second = Prophet(seed=7).fit(y, ds), Prophet(seed=7).fit(y, ds)
    a, b = first.predict(30, levels=LEVELS), second.predict(30, levels=LEVELS)
    assert a.mean.tobytes() == b.mean.tobytes()
    for level in LEVELS:
        assert a.intervals[level][0].tobytes() == b.intervals[level][0].tobytes()
        assert a.intervals[level][1].tobytes() == b.intervals[level][1].tobytes()
    paths = first.sample_paths(30, 100, seed=5)
    assert paths.tobytes() == second.sample_paths(30, 100, seed=5).tobytes()
    assert paths.tobytes() == first.sample_paths(30, 100, seed=5).tobytes()
    # The seed matters, and numpy's global generator is left as it was.
    other = Prophet(seed=8).fit(y, ds).predict(30, levels=(80,))
    assert not np.array_equal(other.intervals[80][1], a.intervals[80][1])
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == before[0] and np.array_equal(after[1], before[1]) and after[2] == before[2]


def test_fit_and_predict_are_quiet(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    states = {name: logging.getLogger(name).disabled for name in QUIET_LOGGERS}
    capfd.readouterr()
    with caplog.at_level(logging.INFO):
        # A year of daily data: Prophet reports disabled seasonalities, cmdstanpy its run.
        fitted = Prophet(cap=200.0, floor=0.0).fit(_weekly(365), _dates(365))
        fitted.predict(14, levels=(80,))
        fitted.sample_paths(14, 10, seed=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    assert {name: logging.getLogger(name).disabled for name in QUIET_LOGGERS} == states


def test_a_fresh_process_prints_nothing() -> None:
    # Outside pytest's capture: cmdstanpy's own stderr handler, and the error Prophet logs
    # when it is imported without plotly, would print here.
    script = textwrap.dedent(
        """
        import logging, warnings
        import numpy as np, pandas as pd
        from capforecast.forecast import Prophet
        warnings.simplefilter("error")
        ds = pd.date_range("2024-01-01", periods=400, freq="D")
        y = 50 + 0.1 * np.arange(400) + 5 * (np.arange(400) % 7 < 5)
        fitted = Prophet().fit(y, ds)
        fitted.predict(7, levels=(80,))
        fitted.sample_paths(7, 5, seed=0)
        assert not logging.getLogger("cmdstanpy").disabled
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"growth": "linear", "cap": 100.0}, "needs logistic growth"),
        ({"cap": 100.0, "floor": 100.0}, "must be greater than the 'floor'"),
        ({"cap": -1.0}, "greater than the 'floor' \\(0 by default\\)"),
        ({"growth": "logistic"}, "Logistic growth needs a 'cap'"),
        ({"growth": "cubic"}, "'growth' parameter must be one of"),
        ({"seasonality_mode": "both"}, "'seasonality_mode'"),
        ({"uncertainty_samples": 0}, "'uncertainty_samples'"),
        ({"events": pd.DataFrame({"ds": ["2024-01-05"]})}, "'holiday' and 'ds'"),
        ({"events": pd.DataFrame({"holiday": ["y"], "ds": ["2024-01-05"]})}, "rejected"),
        ({"regressors": pd.DataFrame({"x": [1.0]})}, "a 'ds' column"),
    ],
)
def test_parameter_errors_are_clear(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Prophet(**params).fit(_weekly(30), _dates(30))  # type: ignore[arg-type]


def test_fit_needs_regular_timestamps() -> None:
    with pytest.raises(ParameterError, match="needs the timestamps"):
        Prophet().fit(_weekly(30))
    irregular = _dates(31).delete(10)
    with pytest.raises(ParameterError, match="regular timestamps"):
        Prophet().fit(_weekly(30), irregular)
    # Without a frequency attached, a regular index is inferred.
    inferred = Prophet().fit(_weekly(30), pd.DatetimeIndex(list(_dates(30))))
    assert inferred.freq_ == pd.offsets.Day()
