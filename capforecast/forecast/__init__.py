"""Forecasting: models behind one contract, a panel engine, metrics and backtests."""

from capforecast.forecast.base import Forecaster, Prediction
from capforecast.forecast.baselines import Drift, Naive, SeasonalNaive, WindowAverage
from capforecast.forecast.engine import forecast, sample_paths
from capforecast.forecast.ets import ETS, AutoETS
from capforecast.forecast.models import MODELS, make_model
from capforecast.forecast.theta import Theta

__all__ = [
    "ETS",
    "MODELS",
    "AutoETS",
    "Drift",
    "Forecaster",
    "Naive",
    "Prediction",
    "SeasonalNaive",
    "Theta",
    "WindowAverage",
    "forecast",
    "make_model",
    "sample_paths",
]
