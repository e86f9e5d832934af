"""Where the telemetry is and what its columns are called: the ``telemetry.yaml`` file.

A source is any number of CSV or Parquet files (paths or globs, relative to the config
file) and a mapping from capforecast's column names to the names in those files, so a
user adapts their own schema without code::

    jobs:
      paths: ["logs/jobs-*.parquet"]
      columns: {job_id: JobID, team: team_name, gpus: num_gpus}
    grain: day
    skus: [H100, A100]
    bad_rows: {duplicate_job_id: keep}

Times are timestamps, or numbers of seconds (``time_unit: s``) or milliseconds
(``ms``) after ``epoch``. A source in a known public format names it instead of a mapping
(``format: openb_pods``, ``slurm_sacct``, ``kubernetes_pods``, ``dcgm_prometheus``; see
:data:`FORMATS`).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from capforecast.core.errors import InputError, ParameterError, Problem
from capforecast.core.limits import shown
from capforecast.core.statistics import DEFAULT_STATISTIC, DEFAULT_STATISTICS, quantile_of
from capforecast.core.yamlfile import read_yaml, validation_problems

#: The columns of each source, in capforecast's names; those marked True are required.
JOB_COLUMNS = {
    "job_id": True,
    "org": False,
    "team": False,
    "workload": False,
    "sku": True,
    "gpus": True,
    "submit_time": True,
    "start_time": True,
    "end_time": True,
    "status": False,
    "region": False,
    "node": False,  # the node(s) it ran on, comma-separated; needed for per-team busy use
    "time_limit": False,  # seconds it asked for (Slurm's Timelimit): a never-run job's run
}
UTILIZATION_COLUMNS = {"time": True, "node": True, "sku": True, "gpu_util": True, "mem_util": False}
INVENTORY_COLUMNS = {
    "node": True,
    "sku": True,
    "gpus": True,
    "site": False,
    "region": False,
    "in_service_from": False,
    "retired_at": False,
}
COLUMNS = {"jobs": JOB_COLUMNS, "utilization": UTILIZATION_COLUMNS, "inventory": INVENTORY_COLUMNS}

#: Why a job row is bad. The first three can never be placed in time and are always
#: excluded from aggregates; the others are excluded unless ``bad_rows`` says ``keep``.
Reason = Literal[
    "unparsable_time",
    "end_before_start",
    "bad_gpus",
    "start_before_submit",
    "absurd_gpus",
    "unknown_sku",
    "duplicate_job_id",
]
ALWAYS_EXCLUDED = ("unparsable_time", "end_before_start", "bad_gpus")


class Format(NamedTuple):
    """A public format read through an adapter query (``sql/<name>.sql``)."""

    kind: str  # the kind of source it gives: jobs, utilization or inventory
    columns: tuple[str, ...]  # the columns its files must have
    optional: tuple[str, ...] = ()  # columns it uses when present (NULL when absent)
    #: The delimiter of its text files, read without quoting (sacct's ``--parsable2``);
    #: None: CSV, delimiter detected.
    delimiter: str | None = None
    #: Whether the adapter reads the times as written (then ``time_unit`` cannot be set).
    own_times: bool = False


#: Public formats read through an adapter query (``sql/<format>.sql``): the kind of source
#: each gives and the columns its files must have.
FORMATS = {
    "openb_pods": Format(
        "jobs",
        (
            "name",
            "num_gpu",
            "gpu_milli",
            "gpu_spec",
            "qos",
            "pod_phase",
            "creation_time",
            "deletion_time",
            "scheduled_time",
        ),
    ),
    "openb_nodes": Format("inventory", ("sn", "gpu", "model")),
    # sacct --allocations --parsable2 --format=JobID,JobName,User,Account,Partition,State,
    # Submit,Start,End,Elapsed,Timelimit,AllocTRES,ReqTRES,NodeList,Cluster
    "slurm_sacct": Format(
        "jobs",
        (
            "JobID",
            "Account",
            "Partition",
            "State",
            "Submit",
            "Start",
            "End",
            "Timelimit",
            "AllocTRES",
            "ReqTRES",
            "NodeList",
        ),
        optional=("Cluster",),
        delimiter="|",
        own_times=True,
    ),
    # Pods from the Kubernetes API flattened to CSV (docs/telemetry.md gives the command).
    "kubernetes_pods": Format(
        "jobs",
        (
            "namespace",
            "name",
            "uid",
            "creationTimestamp",
            "startTime",
            "finishedAt",
            "phase",
            "nodeName",
            "requests",
        ),
        optional=("labels", "gpu_product"),
        own_times=True,
    ),
    # DCGM exporter samples from Prometheus, one row per GPU and time.
    "dcgm_prometheus": Format(
        "utilization",
        ("__name__", "timestamp", "value", "Hostname", "gpu", "modelName"),
        own_times=True,
    ),
}


class Source(BaseModel):
    """Files of one kind and how their columns map to capforecast's."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)
    format: Literal[
        "columns",
        "openb_pods",
        "openb_nodes",
        "slurm_sacct",
        "kubernetes_pods",
        "dcgm_prometheus",
    ] = "columns"
    time_unit: Literal["timestamp", "s", "ms"] = "timestamp"
    epoch: datetime | None = None

    @model_validator(mode="after")
    def _epoch_for_numbers(self) -> Source:
        if self.time_unit != "timestamp" and self.epoch is None:
            raise ValueError(f"time_unit '{self.time_unit}' needs an epoch (e.g. 2023-01-01)")
        own_times = self.format != "columns" and FORMATS[self.format].own_times
        if self.time_unit != "timestamp" and own_times:
            raise ValueError(f"format {self.format} reads its times itself: no time_unit")
        return self


class TelemetryConfig(BaseModel):
    """The telemetry sources and how to aggregate them."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    jobs: Source | None = None
    utilization: Source | None = None
    inventory: Source | None = None
    grain: Literal["hour", "day"] = "day"
    #: The measure of demand that the history's ``y`` is (docs/telemetry.md): ``demand``
    #: (each job's run from its submission: what was asked for), ``in_use``, ``pending``
    #: or ``in_use_plus_pending``.
    measure: Literal["demand", "in_use", "pending", "in_use_plus_pending"] = "demand"
    #: How a day of the history is made from its hours, by workload (``default``: the
    #: others): ``mean``, ``max`` or a percentile such as ``p95``. Inference is sized at
    #: its busy hours (``p95``) and everything else by its mean unless this says otherwise.
    statistic: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_STATISTICS))
    start: datetime | None = None
    end: datetime | None = None
    skus: list[str] | None = None
    sku_aliases: dict[str, str] = Field(default_factory=dict)
    #: Regions as the telemetry writes them -> as the planning sites name them
    #: (``us-east-1: us``), for jobs and inventory alike.
    region_aliases: dict[str, str] = Field(default_factory=dict)
    max_gpus_per_job: float = Field(default=4096, gt=0)
    bad_rows: dict[Reason, Literal["exclude", "keep"]] = Field(default_factory=dict)
    #: ``gpu_util`` and ``mem_util`` as written: 0..100 (percent) or 0..1 (fraction).
    utilization_scale: Literal["percent", "fraction"] = "percent"
    #: USD per accelerator, by SKU: what a freed or hidden accelerator is worth in findings.
    unit_price: dict[str, float] = Field(default_factory=dict)
    #: The busy utilization a team's allocation is right-sized to in findings.
    target_busy_utilization: float = Field(default=0.6, gt=0, le=1)
    #: DuckDB's working memory ("3GB", "50%"): beyond it, large aggregates spill to a
    #: temporary folder instead of growing, so a log of any size runs in bounded memory.
    memory_limit: str = "3GB"
    base: Path = Path(".")

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|%)", value.strip()):
            raise ValueError(
                f"a size like '3GB' or '512MiB', or a share like '50%'; got {shown(value)}"
            )
        return value.strip()

    @field_validator("statistic")
    @classmethod
    def _statistics(cls, value: dict[str, str]) -> dict[str, str]:
        for statistic in value.values():
            try:
                quantile_of(statistic)
            except ParameterError as error:
                raise ValueError(str(error)) from None
        return value

    def statistic_of(self, workload: str) -> str:
        """The statistic that makes a day of ``workload``'s history from its hours."""
        return self.statistic.get(workload, self.statistic.get("default", DEFAULT_STATISTIC))

    @model_validator(mode="after")
    def _check(self) -> TelemetryConfig:
        for name, columns in COLUMNS.items():
            source = getattr(self, name)
            if source is None:
                continue
            if source.format != "columns":
                if FORMATS[source.format].kind != name:
                    raise ValueError(
                        f"{name}.format: {source.format} files are {FORMATS[source.format].kind}"
                    )
                if source.columns:
                    raise ValueError(f"{name}: a format and a column mapping cannot be mixed")
            unknown = sorted(set(source.columns) - set(columns))
            if unknown:
                raise ValueError(
                    f"{name}.columns: unknown column(s) {unknown}; known: {sorted(columns)}"
                )
        kept = sorted(r for r, action in self.bad_rows.items() if action == "keep")
        if always := [r for r in kept if r in ALWAYS_EXCLUDED]:
            raise ValueError(f"bad_rows: {always} cannot be kept (such rows have no place in time)")
        for stamp in (self.start, self.end):
            if stamp is not None and not 1970 <= stamp.year <= 2200:
                raise ValueError(f"start and end are dates from 1970 to 2200; got {stamp:%Y-%m-%d}")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def excluded(self, reason: str) -> bool:
        """Whether rows bad for ``reason`` are left out of the aggregates."""
        return self.bad_rows.get(reason, "exclude") == "exclude"  # type: ignore[call-overload]

    def files(self, source: Source) -> list[str]:
        """The paths and globs of ``source``, resolved against the config's folder."""
        return [str(self.base / p) if not Path(p).is_absolute() else p for p in source.paths]


def read_config(path: str | Path) -> TelemetryConfig:
    """Read and validate ``telemetry.yaml``; every problem is reported with its line and
    key."""
    path = Path(path)
    document, lines = read_yaml(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InputError([Problem(path.name, None, None, "expected a mapping of keys")])
    try:
        return TelemetryConfig.model_validate({**document, "base": path.parent})
    except ValidationError as error:
        raise InputError(validation_problems(error, path.name, lines)) from None
