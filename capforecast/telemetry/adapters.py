"""Public GPU-cluster traces that are already aggregates, as History tables (docs/data.md).

The Alibaba openb pod and node lists are raw logs and go through the query engine
(``format: openb_pods`` / ``openb_nodes`` in ``telemetry.yaml``); these two are counts
per day or minute and only need reshaping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from capforecast.core.errors import InputError, Problem


def _read(path: Path, columns: set[str]) -> pd.DataFrame:
    table = pd.read_csv(path)
    missing = sorted(columns - set(table.columns))
    if missing:
        raise InputError(Problem(path.name, None, c, "missing") for c in missing)
    return table


def helios_history(path: str | Path) -> pd.DataFrame:
    """Helios Venus ``cluster_gpu_number.csv`` (GPUs allocated per virtual cluster per day,
    one column per VC and a ``total``): one series per VC, ``unique_id = venus/<vc>``.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "vc.csv").write_text("date,vcA,vcB,total\\n2020-04-01,8,0,8\\n")
    >>> helios_history(folder / "vc.csv")[["unique_id", "ds", "y"]].values.tolist()
    [['venus/vcA', '2020-04-01', 8], ['venus/vcB', '2020-04-01', 0]]
    """
    path = Path(path)
    wide = _read(path, {"date", "total"})
    long = wide.drop(columns=["total"]).melt(id_vars="date", var_name="team", value_name="y")
    long = long.rename(columns={"date": "ds"})
    long["unique_id"] = "venus/" + long["team"]
    long["org"] = "venus"
    long["workload"] = "training"
    long = long.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    return long[["unique_id", "ds", "y", "org", "team", "workload"]]


def philly_history(path: str | Path, grain: Literal["hour", "day"] = "hour") -> pd.DataFrame:
    """Philly ``philly_node_sequence.csv`` (busy and total nodes per minute): one series,
    ``philly/active_nodes``, the average number of busy nodes per hour or day, with the
    cluster's size alongside (``total``)."""
    path = Path(path)
    table = _read(path, {"time", "active", "total"})
    table["time"] = pd.to_datetime(table["time"])
    frequency = "h" if grain == "hour" else "D"
    grouped = table.groupby(table["time"].dt.floor(frequency))
    return pd.DataFrame(
        {
            "unique_id": "philly/active_nodes",
            "ds": grouped["active"].mean().index,
            "y": grouped["active"].mean().to_numpy(),
            "total": grouped["total"].max().to_numpy(),
            "org": "philly",
        }
    )
