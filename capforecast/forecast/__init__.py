"""Forecasting: models behind one contract and a panel engine over many series."""

from capforecast.forecast.base import Forecaster, Prediction
from capforecast.forecast.engine import forecast, sample_paths
from capforecast.forecast.models import ETS, MODELS, SeasonalNaive

__all__ = ["ETS", "MODELS", "Forecaster", "Prediction", "SeasonalNaive", "forecast", "sample_paths"]
