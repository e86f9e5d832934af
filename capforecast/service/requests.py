"""The bodies of requests, and their checks: by schema as they are parsed, then against
the stored input they name and the service's bounds, before any job is queued.

A request that passes is one the job can run: a forecast within the values limit, a
plan whose solve fits in the job's time, a comparison whose every change selects
something in the planning input (applied here, without a solve, as the job will).
Every problem is a ``422`` naming the field, for example ``body.scenarios.1.budget.0``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capforecast.core.errors import CapforecastError, InputError, Problem
from capforecast.core.limits import shown
from capforecast.core.schemas import PLANNING_FILES
from capforecast.scenario.spec import Changes
from capforecast.service.problems import MAX_PROBLEMS, Unprocessable, problem
from capforecast.service.settings import Settings
from capforecast.service.store import StoredInput, write_files

#: A plain file name: no folder, not hidden, .csv or .yaml.
FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,58}\.(csv|yaml)$")]
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

#: The files of a planning input that the library reads (docs/data.md), from its contract.
PLANNING_REQUIRED = tuple(s.file for s, required, _ in PLANNING_FILES.values() if required)
PLANNING_OPTIONAL = (
    *(s.file for s, required, _ in PLANNING_FILES.values() if not required),
    "options.yaml",
    "constraints.yaml",
)
#: Files of one upload, at most: room for every planning file, and a few more.
MAX_FILES = 20
FILES_HELP = (
    "file name -> text. A history: one .csv file. A planning input: "
    f"{', '.join(PLANNING_REQUIRED)}, and optionally {', '.join(PLANNING_OPTIONAL)}; "
    "the optional columns of docs/data.md (regions of sites, demand and rent, catalog "
    "opex and availability, fleet salvage_value) are read when present"
)


def read_input(kind: str, files: dict[str, str]) -> Any:
    """An input read by the library's own loaders: a history table, or planning inputs.
    Its problems (the first :data:`MAX_PROBLEMS`, and the count) are a ``422`` naming
    ``body.files.<name>``; so are a limit it passes and a reading that runs out of
    memory, which a small file can ask for (``period_freq: ns`` over an hour)."""
    with tempfile.TemporaryDirectory(prefix="capforecast-input-") as name:
        folder = write_files(files, Path(name))
        try:
            if kind == "history":
                from capforecast.core.history import read_history

                if len(files) != 1 or not next(iter(files)).endswith(".csv"):
                    raise Unprocessable([problem(["body", "files"], "a history is one .csv file")])
                return read_history(folder / next(iter(files)))
            from capforecast.plan.inputs import read_planning_inputs

            return read_planning_inputs(folder)
        except InputError as error:
            found = [
                problem(["body", "files", p.file], str(p)) for p in error.problems[:MAX_PROBLEMS]
            ]
            raise Unprocessable(found, len(error.problems)) from None
        except CapforecastError as error:
            raise Unprocessable([problem(["body", "files"], str(error))]) from None
        except MemoryError:
            message = "reading this input needs more memory than the service has"
            raise Unprocessable([problem(["body", "files"], message)]) from None


def _time_limit(options: dict[str, Any], settings: Settings, loc: list[str | int]) -> None:
    asked = options.get("time_limit_s")
    if isinstance(asked, int | float) and asked > settings.job_time_limit_s:
        message = (
            f"time_limit_s is at most {settings.job_time_limit_s:g} s on this service "
            "(the job wall-clock limit)"
        )
        raise Unprocessable([problem([*loc, "time_limit_s"], message, "over_limit")])


class InputUpload(BaseModel):
    """Files of one input: a history (one CSV file) or a planning-input folder (its CSV
    files and options.yaml), each as text."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["history", "planning"]
    files: dict[FileName, str] = Field(min_length=1, max_length=MAX_FILES, description=FILES_HELP)

    @field_validator("files")
    @classmethod
    def _utf8(cls, files: dict[str, str]) -> dict[str, str]:
        for name, text in files.items():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"file {name!r} is not valid text (UTF-8)") from None
        return files

    def read(self) -> int | None:
        """Validate the input (:func:`read_input`); the number of series of a history."""
        found = read_input(self.kind, self.files)
        return int(found["unique_id"].nunique()) if self.kind == "history" else None


class JobRequest(BaseModel):
    """What every job request has: the input it names (by hash), and its checks."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    #: The field naming the input, which is also the input's kind.
    input_field: ClassVar[Literal["history", "planning"]] = "planning"

    def input_hash(self) -> str:
        return str(getattr(self, self.input_field))

    def bounds(self, settings: Settings) -> None:
        """Raise :class:`Unprocessable` if the request asks for more than ``settings``
        allow (checked first: it needs no input)."""

    def check(self, stored: StoredInput, settings: Settings) -> None:
        """Raise :class:`Unprocessable` if the job cannot run on ``stored`` within
        ``settings``."""


class ForecastRequest(JobRequest):
    input_field: ClassVar[Literal["history", "planning"]] = "history"
    history: Hash = Field(description="hash of a history input")
    horizon: int = Field(ge=1, le=1000)
    models: list[str] = Field(default=["ets"], min_length=1, max_length=8)
    levels: list[int] = Field(default=[80, 95], max_length=6)

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        from capforecast.forecast.models import MODELS

        unknown = [m for m in models if m not in MODELS]
        if unknown:
            raise ValueError(f"unknown models {shown(unknown)}; known: {sorted(MODELS)}")
        return models

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[int]) -> list[int]:
        if any(not 0 < level < 100 for level in levels):
            raise ValueError("interval levels are integers in (0, 100)")
        return levels

    def check(self, stored: StoredInput, settings: Settings) -> None:
        """At most ``settings.max_forecast_values`` values (series counted at upload),
        and no more than the library's own limit, which the job would meet."""
        from capforecast.core.limits import LIMITS, LimitError
        from capforecast.forecast.engine import check_size

        series = stored.series
        if series is None:  # kept by an earlier version
            series = int(read_input("history", stored.files)["unique_id"].nunique())
        per_step = len(self.models) * (1 + 2 * len(self.levels))
        try:
            limit = min(settings.max_forecast_values, LIMITS.forecast_values)  # the job's too
            check_size(series, self.horizon, per_step, limit=limit)
        except LimitError as error:
            message = f"{error} on this service: ask for fewer steps, models or levels"
            raise Unprocessable([problem(["body"], message, "over_limit")]) from None


class PlanRequest(JobRequest):
    planning: Hash = Field(description="hash of a planning input")
    options: dict[str, Any] = Field(default_factory=dict, description="options.yaml keys")

    @field_validator("options")
    @classmethod
    def _options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from capforecast.plan.options import PlanOptions

        PlanOptions(**options)  # the library's own checks: strict, finite numbers
        return options

    def bounds(self, settings: Settings) -> None:
        _time_limit(self.options, settings, ["body", "options"])


class ComparisonRequest(JobRequest):
    planning: Hash = Field(description="hash of a planning input")
    scenarios: list[Changes] = Field(min_length=1, max_length=16)
    baseline: str | None = None

    @model_validator(mode="after")
    def _names(self) -> ComparisonRequest:
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError("every scenario needs its own name")
        for scenario in self.scenarios:
            PlanRequest(planning="0" * 64, options=scenario.options)  # the same caps
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline {shown(self.baseline)} is not one of the scenarios")
        return self

    def bounds(self, settings: Settings) -> None:
        """At most ``settings.max_scenario_changes`` changes in all, and solves that fit
        in the job's time."""
        changes = sum(s.changes() for s in self.scenarios)
        if changes > settings.max_scenario_changes:
            message = (
                f"{changes} scenario changes is over the limit of "
                f"{settings.max_scenario_changes} per comparison on this service"
            )
            raise Unprocessable([problem(["body", "scenarios"], message, "over_limit")])
        for number, changed in enumerate(self.scenarios):
            _time_limit(changed.options, settings, ["body", "scenarios", number, "options"])

    def check(self, stored: StoredInput, settings: Settings) -> None:
        """Each scenario applied to the planning input as the job will (cheap: no solve)."""
        from capforecast.scenario.apply import apply
        from capforecast.scenario.spec import Scenario

        inputs = read_input("planning", stored.files)
        found: list[dict[str, Any]] = []
        for number, changed in enumerate(self.scenarios):
            scenario = Scenario.model_validate(
                {**changed.model_dump(), "inputs": {"planning": "."}}
            )
            try:
                apply(scenario, inputs)
            except InputError as error:
                found += [_change_problem(number, p, scenario.source) for p in error.problems]
            except CapforecastError as error:
                found.append(problem(["body", "scenarios", number], str(error)))
        if found:
            raise Unprocessable(found[:MAX_PROBLEMS], len(found))


def _change_problem(number: int, found: Problem, source: str) -> dict[str, Any]:
    """A problem of scenario ``number``: of one of its changes (``budget.0``), placed as
    ``body.scenarios.<number>.budget.0``; or of the inputs it makes (a table that no
    longer validates), placed at the scenario and naming the file."""
    if found.file != source or found.column is None:
        return problem(["body", "scenarios", number], str(found))
    parts = [int(p) if p.isdigit() else p for p in found.column.split(".")]
    return problem(["body", "scenarios", number, *parts], found.message)


__all__ = [
    "ComparisonRequest",
    "ForecastRequest",
    "InputUpload",
    "JobRequest",
    "PlanRequest",
    "read_input",
]
