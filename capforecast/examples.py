"""Offline sample data shipped with capforecast (see ``data_samples/README.md``).

The same files feed the tests, the docs, the notebooks and ``capforecast demo``. In a
source checkout they live in ``data_samples/``; an installed wheel carries them as
``capforecast/_samples``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from capforecast.core.history import read_history
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs


def samples_dir() -> Path:
    """The folder holding the sample data."""
    packaged = Path(__file__).resolve().parent / "_samples"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "data_samples"


def sample_history_path() -> Path:
    """Synthetic daily demand history of 48 series (org/team/workload/SKU/region)."""
    return samples_dir() / "history.csv"


def helios_history_path() -> Path:
    """Real GPUs allocated per virtual cluster per day, Helios Venus (CC BY 4.0)."""
    return samples_dir() / "helios_venus_history.csv"


def sample_planning_dir() -> Path:
    """Planning inputs for 12 quarters, 2027Q1..2029Q4, with every optional file."""
    return samples_dir() / "planning"


def sample_telemetry_config() -> Path:
    """``telemetry.yaml`` of a month of synthetic telemetry (November 2026: job log,
    utilization samples, inventory) consistent with the sample history."""
    return samples_dir() / "telemetry" / "telemetry.yaml"


def sample_history() -> pd.DataFrame:
    """The synthetic history, validated."""
    return read_history(sample_history_path())


def sample_planning_inputs() -> PlanningInputs:
    """The sample planning inputs, validated."""
    return read_planning_inputs(sample_planning_dir())
