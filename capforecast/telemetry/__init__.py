"""Telemetry: from raw cluster data (job logs, utilization samples, inventory) to demand
history and utilization insights, with DuckDB over CSV and Parquet files."""

from capforecast.telemetry.config import TelemetryConfig, read_config
from capforecast.telemetry.demand import Demand, demand
from capforecast.telemetry.store import TelemetryStore

__all__ = ["Demand", "TelemetryConfig", "TelemetryStore", "demand", "read_config"]
