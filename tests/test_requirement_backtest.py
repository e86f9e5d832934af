"""The requirement backtest: the P-level requirement a lead time ahead, against what came."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.cli.main import run
from capforecast.core.errors import ParameterError
from capforecast.examples import sample_planning_dir
from capforecast.requirement.backtest import (
    actual_history,
    requirement_backtest,
    unit_period_prices,
)

DAYS = pd.date_range("2025-01-01", "2025-12-31", freq="D")
PERF = pd.DataFrame(
    {"sku": ["H100", "B200"], "workload": ["training", "training"], "factor": [1.0, 2.0]}
)
CATALOG = pd.DataFrame(
    {
        "sku": ["H100", "B200"],
        "unit_price": [20_000.0, 60_000.0],
        "lead_time": [1.0, 2.0],
        "lifetime": [20.0, 20.0],
        "opex": [0.0, 0.0],
    }
)


def _history(a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Two daily series of one workload: ``a`` on H100 (factor 1), ``b`` on B200 (2)."""
    table = pd.concat(
        [
            pd.DataFrame({"unique_id": "a", "ds": DAYS, "y": a, "sku": "H100"}),
            pd.DataFrame({"unique_id": "b", "ds": DAYS, "y": b, "sku": "B200"}),
        ],
        ignore_index=True,
    ).assign(workload="training")
    table.attrs["freq"] = "D"
    return table


def _backtest(history: pd.DataFrame, **options: object) -> pd.DataFrame:
    found = requirement_backtest(
        history,
        PERF,
        models=["naive"],
        catalog=CATALOG,
        forecast_freq=None,
        utilization_target=1.0,
        period_stat="mean",
        n_paths=20,
        **options,  # type: ignore[arg-type]
    )
    return found.windows


def test_a_step_after_the_origin_is_under_provisioned_by_its_size_in_money() -> None:
    # a: 10 accelerators until June, 20 from July; b: 5 B200 (10 reference units).
    a = np.where(DAYS < "2025-07-01", 10.0, 20.0)
    windows = _backtest(_history(a, np.full(len(DAYS), 5.0))).set_index(["origin", "period"])
    assert sorted(windows.index) == [
        ("2025Q1", "2025Q2"),
        ("2025Q1", "2025Q3"),
        ("2025Q2", "2025Q3"),
        ("2025Q2", "2025Q4"),
        ("2025Q3", "2025Q4"),
    ]
    # Before the step, the naive paths are the flat history: P90 = 10 + 2 x 5 = 20.
    flat = windows.loc[[("2025Q1", "2025Q2"), ("2025Q1", "2025Q3"), ("2025Q2", "2025Q4")]]
    assert np.allclose(flat["forecast"], 20.0)
    assert flat["lead"].tolist() == [1, 2, 2]
    assert np.allclose(flat["realised"], [20.0, 30.0, 30.0])
    assert flat["covered"].tolist() == [True, False, False]
    assert np.allclose(flat["under"], [0.0, 10.0, 10.0])
    assert np.allclose(flat["pinball"], [0.0, 9.0, 9.0])  # 0.9 x 10
    # USD 1,000 per reference unit-period: the H100's 20,000 over 20 periods beats the
    # B200's 60,000 / 20 / 2 = 1,500.
    assert np.allclose(flat["under_usd"], [0.0, 10_000.0, 10_000.0])


def test_the_summary_and_the_choice_follow_the_windows() -> None:
    a = np.where(DAYS < "2025-07-01", 10.0, 20.0)
    history = _history(a, np.full(len(DAYS), 5.0))
    found = requirement_backtest(
        history,
        PERF,
        models=["naive", "seasonal_naive"],
        catalog=CATALOG,
        forecast_freq=None,
        utilization_target=1.0,
        n_paths=20,
    )
    for (model, lead), rows in found.windows.groupby(["model", "lead"]):
        row = found.summary.set_index(["model", "lead"]).loc[(model, lead)]
        assert row["coverage"] == rows["covered"].mean()
        assert row["cost_usd"] == pytest.approx(rows["over_usd"].sum() + rows["under_usd"].sum())
    totals = found.summary.groupby("model")["cost_usd"].sum()
    assert found.best() == totals.idxmin()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), jump=st.floats(-5.0, 50.0))
def test_nothing_after_the_origin_reaches_its_forecast(seed: int, jump: float) -> None:
    rng = np.random.default_rng(seed)
    a = 50 + rng.normal(0, 3, len(DAYS)).cumsum() * 0.2
    b = 20 + rng.normal(0, 1, len(DAYS))
    later = DAYS >= "2025-07-01"
    changed = (a + jump * later).clip(0), (b + jump * later).clip(0)
    first = _backtest(_history(a.clip(0), b.clip(0)), leads=[1, 2])
    second = _backtest(_history(*changed), leads=[1, 2])
    before = first["origin"].isin(["2025Q1", "2025Q2"])
    assert first.loc[before, "forecast"].tolist() == second.loc[before, "forecast"].tolist()
    over, under = first["over"], first["under"]
    assert np.allclose(first["forecast"] - first["realised"], over - under)
    tolerance = 1e-9 * np.maximum(1.0, first["forecast"].abs())
    assert ((over == 0) | (under == 0)).all()
    assert (first["covered"] == (under <= tolerance)).all()


def test_a_workload_that_starts_after_the_origin_was_not_foreseen() -> None:
    # b runs inference on B200 (factor 3) from July only; a trains all year.
    history = _history(np.full(len(DAYS), 10.0), np.full(len(DAYS), 5.0))
    history.loc[history["unique_id"] == "b", "workload"] = "inference"
    history = history[(history["unique_id"] == "a") | (history["ds"] >= "2025-07-01")]
    history.attrs["freq"] = "D"
    actual, periods = actual_history(history, "Q")
    assert periods.astype(str).tolist() == [f"2025Q{q}" for q in (1, 2, 3, 4)]
    assert actual.loc[actual["unique_id"] == "b", "value"].gt(0).sum() == 184  # Jul..Dec
    perf = pd.concat(
        [PERF, pd.DataFrame({"sku": ["B200"], "workload": ["inference"], "factor": [3.0]})]
    )
    found = requirement_backtest(
        history,
        perf,
        models=["naive"],
        leads=[1, 2],
        forecast_freq=None,
        utilization_target=1.0,
        period_stat="mean",
        n_paths=20,
    ).windows
    inference = found[found["workload"] == "inference"].set_index(["origin", "period"])
    assert inference.loc[("2025Q1", "2025Q3"), "forecast"] == 0.0
    assert inference.loc[("2025Q1", "2025Q3"), "under"] == pytest.approx(15.0)
    assert inference.loc[("2025Q3", "2025Q4"), "covered"]
    assert unit_period_prices(CATALOG, PERF) == {"training": 1000.0}


def test_leads_come_from_the_catalog_and_are_checked() -> None:
    history = _history(np.ones(len(DAYS)), np.ones(len(DAYS)))
    windows = _backtest(history)
    assert sorted(windows["lead"].unique()) == [1, 2]  # the catalog's lead times
    with pytest.raises(ParameterError, match="at least 1"):
        _backtest(history, leads=[0])
    with pytest.raises(ParameterError, match="needs at least 5"):
        _backtest(history, leads=[4])
    with pytest.raises(ParameterError, match="Give the leads"):
        requirement_backtest(history, PERF, forecast_freq=None)


def test_command_line(tmp_path, capsys) -> None:
    from capforecast.examples import sample_history_path

    out = tmp_path / "requirement.csv"
    args = ["backtest", str(sample_history_path()), "--requirement", "--out", str(out)]
    assert run(args) == 2
    assert "--requirement needs --planning" in capsys.readouterr().err
    assert run(["backtest", str(sample_history_path()), "--out", str(out)]) == 2
    assert run([*args, "--horizon", "13"]) == 2
    assert "--horizon does not apply" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = run(
            [
                *args,
                "--planning",
                str(sample_planning_dir()),
                "--model",
                "naive",
                "--lead",
                "2",
                "--paths",
                "20",
            ]
        )
    assert code == 0
    table = pd.read_csv(out)
    assert set(table["lead"]) == {2} and set(table["region"]) == {"eu", "us"}
    shown = capsys.readouterr().out
    assert "naive, lead 2: covered" in shown and "Least costly provisioning errors: naive" in shown


def test_the_plan_calibrated_at_the_lead_time_scales_each_period_by_its_factor() -> None:
    from capforecast.examples import sample_history
    from capforecast.plan.inputs import read_planning_inputs
    from capforecast.requirement.backtest import scale_by_lead
    from capforecast.workflow import forecast_requirement

    history = sample_history()
    history = history[history["unique_id"].isin(history["unique_id"].unique()[::4])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        template = read_planning_inputs(sample_planning_dir())
        options = {"model": "naive", "n_paths": 20, "seed": 3}
        plain, _ = forecast_requirement(history, template, **options)
        calibrated, _ = forecast_requirement(history, template, calibrate=True, **options)
        found = requirement_backtest(
            history,
            template.perf,
            models=["naive"],
            catalog=template.catalog,
            by_region=True,
            n_paths=20,
            seed=3,
        )
    factors = found.factors("naive")
    assert sorted(factors) == [1, 2, 3]  # the catalog's lead times
    # The history ends in 2026Q4: 2027Q1 is one period ahead, 2027Q3 and later take the
    # factor of the longest lead, 3.
    expected = scale_by_lead(plain, factors, pd.Period("2026Q4", "Q"))
    assert np.allclose(calibrated["demand"], expected["demand"].round(3), atol=1e-3)
    first = plain["period"] == "2027Q1"
    assert np.allclose(
        calibrated.loc[first, "demand"],
        (plain.loc[first, "demand"] * factors[1]).round(3),
        atol=1e-3,
    )
    with pytest.raises(ParameterError, match="scenarios"):
        forecast_requirement(history, template, calibrate=True, n_scenarios=2, **options)
