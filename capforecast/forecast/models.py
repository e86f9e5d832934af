"""The registry of forecasters by name (CLI ``--model`` and the panel engine)."""

from __future__ import annotations

from collections.abc import Callable

from capforecast.core.errors import ParameterError
from capforecast.forecast.arima import ARIMA, AutoARIMA
from capforecast.forecast.auto import Auto
from capforecast.forecast.base import Forecaster
from capforecast.forecast.baselines import Drift, Naive, SeasonalNaive, WindowAverage
from capforecast.forecast.ensemble import Ensemble
from capforecast.forecast.ets import ETS, AutoETS
from capforecast.forecast.prophet import Prophet
from capforecast.forecast.theta import Theta

#: Models available by name (CLI ``--model`` and the panel engine).
MODELS: dict[str, Callable[..., Forecaster]] = {
    "naive": Naive,
    "seasonal_naive": SeasonalNaive,
    "drift": Drift,
    "window_average": WindowAverage,
    "ets": ETS,
    "auto_ets": AutoETS,
    "theta": Theta,
    "arima": ARIMA,
    "auto_arima": AutoARIMA,
    "ensemble": Ensemble,
    "auto": Auto,
    "prophet": Prophet,
}


def make_model(name: str, season_length: int) -> Forecaster:
    """A new forecaster by registry name.

    Examples
    --------
    >>> make_model("ets", 7)
    ETS(season_length=7, trend='add', damped_trend=True, seasonal='add')
    """
    if name not in MODELS:
        raise ParameterError(f"Unknown model '{name}'; choose one of {sorted(MODELS)}.")
    return MODELS[name](season_length=season_length)
