"""Forecasting: models behind one contract, a panel engine, metrics and backtests."""

from capforecast.forecast.arima import ARIMA, AutoARIMA
from capforecast.forecast.backtest import cross_validation, evaluate, select_models
from capforecast.forecast.base import Forecaster, Prediction
from capforecast.forecast.baselines import Drift, Naive, SeasonalNaive, WindowAverage
from capforecast.forecast.conformal import Conformal
from capforecast.forecast.engine import forecast, sample_paths
from capforecast.forecast.ensemble import Ensemble
from capforecast.forecast.ets import ETS, AutoETS
from capforecast.forecast.hierarchy import aggregate, build_hierarchy, reconcile, reconcile_paths
from capforecast.forecast.models import MODELS, make_model
from capforecast.forecast.prophet import Prophet
from capforecast.forecast.theta import Theta

__all__ = [
    "ARIMA",
    "ETS",
    "MODELS",
    "AutoARIMA",
    "AutoETS",
    "Conformal",
    "Drift",
    "Ensemble",
    "Forecaster",
    "Naive",
    "Prediction",
    "Prophet",
    "SeasonalNaive",
    "Theta",
    "WindowAverage",
    "aggregate",
    "build_hierarchy",
    "cross_validation",
    "evaluate",
    "forecast",
    "make_model",
    "reconcile",
    "reconcile_paths",
    "sample_paths",
    "select_models",
]
