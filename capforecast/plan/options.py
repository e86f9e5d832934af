"""``options.yaml``: the knobs of the planning model (docs/model.md §5)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import shown
from capforecast.core.yamlfile import Lines, read_yaml

FILE = "options.yaml"


class PlanOptions(BaseModel):
    """Options of the planning model; defaults give exactly the core model of docs/model.md.

    The terminal value is on by default (docs/model.md §6.4); ``early_retirement`` is off.

    Examples
    --------
    >>> PlanOptions().discount_factor
    1.0
    >>> PlanOptions(discount_rate=0.25).discount_factor
    0.8
    """

    # Strict: ``time_limit_s: true`` or ``mip_gap: "0.1"`` is a mistake, not 1.0 or 0.1;
    # and every number is finite.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    discount_rate: float = Field(0.0, ge=0.0, description="per period, not per year")
    hours_per_period: float = Field(2190.0, gt=0.0, description="H")
    load_factor: float = Field(0.7, ge=0.0, le=1.0, description="rho")
    shortfall_penalty: float | dict[str, float] | None = Field(
        None, description="USD per reference unit-period unmet; a number or a map by workload"
    )
    budget_carryover: bool = False
    # On by default: without it the plan stops buying before the end of the horizon, since
    # an order late in the horizon would be charged its whole price for a few periods of use.
    terminal_value: Literal["none", "straight_line"] = Field(
        "straight_line",
        description="'straight_line': credit the service life left after the horizon; "
        "'none': no credit",
    )
    risk: Literal["none", "cvar"] | None = Field(
        None, description="'cvar': (1 - w) E[C] + w CVaR_alpha(C) over scenario costs"
    )
    cvar_alpha: float = Field(0.9, ge=0.0, lt=1.0, description="alpha of CVaR_alpha")
    cvar_weight: float = Field(0.5, ge=0.0, le=1.0, description="w, the weight of CVaR")
    shortfall: Literal["allow", "forbid"] = Field(
        "allow", description="'forbid': every scenario's demand must be met (or rented)"
    )
    service_level: float | dict[str, float] | None = Field(
        None,
        description="per workload: in each period, demand is met in scenarios of at least "
        "this probability (a number for all workloads, or a map by workload)",
    )
    early_retirement: bool = Field(
        False,
        description="the existing fleet may be retired before its retire_period, for its "
        "salvage_value, saving its energy and opex and freeing its power and slots",
    )
    capex_timing: Literal["order", "delivery"] = Field(
        "order",
        description="when capex is charged, against the budget and in the discounted cost: "
        "'order' in the order period, 'delivery' in the period the units arrive",
    )
    fiscal_year_start: int = Field(
        1,
        ge=1,
        le=12,
        description="month (1..12) the fiscal year starts in; a fiscal year is named by the "
        "calendar year it ends in (start 7: July 2026 to June 2027 is FY2027)",
    )
    explain: bool = Field(
        True, description="shadow prices and their sentences (two extra LP solves)"
    )
    mip_gap: float = Field(0.001, ge=0.0, le=1.0)
    time_limit_s: float = Field(60.0, gt=0.0)
    solver: Literal["highs", "cbc"] = "highs"
    period_freq: str = Field("Q", description="pandas period frequency of the period labels")

    @field_validator("shortfall_penalty", "service_level")
    @classmethod
    def _in_range(
        cls, value: float | dict[str, float] | None, info: ValidationInfo
    ) -> float | dict[str, float] | None:
        """A number, or every number of a map by workload, within the option's range."""
        values = value.values() if isinstance(value, dict) else [] if value is None else [value]
        if info.field_name == "service_level" and any(not 0 <= v <= 1 for v in values):
            raise ValueError("must be between 0 and 1")
        if any(v < 0 for v in values):
            raise ValueError("must be >= 0")
        return value

    @field_validator("period_freq")
    @classmethod
    def _known_freq(cls, value: str) -> str:
        import pandas as pd

        try:
            pd.Period("2027-01-01", freq=value)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"not a pandas period frequency ('Q', 'M', ...): {shown(value)}"
            ) from exc
        return value

    @property
    def discount_factor(self) -> float:
        """``δ = 1 / (1 + discount_rate)``."""
        return 1.0 / (1.0 + self.discount_rate)


def read_options(path: Path) -> tuple[PlanOptions, list[Problem]]:
    """Read ``options.yaml`` (defaults when the file does not exist); never raises."""
    if not path.is_file():
        return PlanOptions(), []
    try:
        document, lines = read_yaml(path)
    except InputError as error:
        return PlanOptions(), list(error.problems)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return PlanOptions(), [
            Problem(FILE, 1, None, f"expected a mapping of option: value, got {shown(document)}")
        ]
    return parse_options(document, lines)


def parse_options(
    document: Mapping[str, object] | Mapping[object, object], lines: Lines | None = None
) -> tuple[PlanOptions, list[Problem]]:
    """Options from a mapping of ``options.yaml`` keys (``lines``: where each key was read);
    every problem with its key, defaults when there is one; never raises."""
    try:
        return PlanOptions.model_validate({str(k): v for k, v in document.items()}), []
    except ValidationError as exc:
        return PlanOptions(), [_problem(error, lines or {}) for error in exc.errors()]


def _problem(error: object, lines: Lines) -> Problem:
    details = dict(error)  # type: ignore[call-overload]
    location = tuple(str(part) for part in details["loc"])
    key = ".".join(location)
    received = details.get("input")
    message = str(details["msg"]).removeprefix("Value error, ")
    if details["type"] == "extra_forbidden":
        allowed = ", ".join(PlanOptions.model_fields)
        message = f"unknown option; allowed: {allowed}"
    line = lines.get(location[:1])
    return Problem(FILE, line, key, f"{message} (got {shown(received)})")
