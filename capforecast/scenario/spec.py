"""A scenario file: which inputs to plan from and what to change in them, as YAML.

::

    name: budget-cut-2027                 # default: the file's name without .yaml
    extends: baseline.yaml                # optional: start from another scenario
    description: The 2027 budget cut by 20%
    inputs:
      planning: ../data_samples/planning  # a planning-input folder (docs/data.md)
      history: ../data_samples/history.csv   # optional: demand from a forecast of it
    forecast: {model: ets, service_level: 0.9, paths: 200, seed: 0}
    budget:
      - {periods: "2027", change: -20%}
    demand:
      - {workload: inference, periods: 2028Q1..2029Q4, factor: 2}
    prices:        [{sku: B200, change: +10%}]
    lead_time:     [{sku: B200, add: 2}]
    availability:  [{sku: GB200, available: false}, {sku: B200, from: 2027Q3}]
    power:         [{site: texas, set: 12000, periods: 2027Q3..2027Q4}]
    rent:          [{workload: training, factor: 1.5}]
    opex:          [{sku: H100, change: +25%}]          # catalog.csv opex
    availability_share: [{sku: GB200, set: 0.9}]         # catalog.csv availability
    salvage_value: [{sku: H100, site: texas, set: 4000}]  # fleet.csv salvage_value
    perf:          [{sku: B200, workload: training, change: +15%}]  # perf.csv factor
    power_kw:      [{sku: B200, set: 1.9}]               # catalog.csv power_kw
    site_region:   [{site: texas, region: eu}]           # sites.csv region
    eligibility:   [{workload: inference, region: eu, site: texas},
                    {workload: training, region: us, site: virginia, allow: false}]
    clusters:
      - {cluster: frontier-2028, add: {workload: training, size: 4000, start: 2028Q1,
                                       end: 2028Q4, region: us, skus: [B200, GB200]}}
      - {cluster: frontier-2027, shift: 2}               # or remove: true, factor: 1.5 (size)
    vendor:        [{sku: B200, set: amd}]               # catalog.csv vendor (null clears)
    min_lots:      [{sku: GB200, set: 2}]                # catalog.csv min_lots (null or 1 clears)
    supply:                                              # supply.csv, by order period
      - {sku: B200, periods: 2027Q3, min_units: 5000}    # committed volume (take-or-pay)
      - {sku: H200, periods: "2028", max_units: 2000}    # vendor allocation; null: no limit
      - {sku: B200, max_units: {change: -20%}}           # or {factor: 0.8}: scale a limit
    vendor_limits:                                       # vendor_limits.csv (shares 0..1)
      - {vendor: nvidia, max_share: 0.6}                 # add (max_share 1 if new) or change
      - {vendor: amd, min_share: 20%}
      - {vendor: intel, remove: true}
    cloud_offers:                                        # cloud_offers.csv
      - {offer: reserve-1y, add: {workload: inference, price: 4000, term: 4,
                                  max_units: 2000, notice: 1, region: us}}
      - {offer: reserve-3y, change: -10%}                # price: set, factor or change
      - {offer: reserve-3y, max_units: 500}              # or null; term, notice
      - {offer: spot-2027, remove: true}
    constraints:                                         # the analyst's rules (docs/rules.md)
      b200_texas: "installed(sku='B200', site='texas', periods='2028Q4') >= 4000"
    options:       {time_limit_s: 30, mip_gap: 0.005, capex_timing: delivery}

Paths are relative to the file that names them. A scenario that ``extends`` another
takes its inputs, forecast and options (its own keys win) and adds its changes after the
base's. Each change selects rows (``sku``, ``site``, ``workload``, ``periods``: omitted
means all) and sets a value (``set``) or scales it (``factor``, or ``change`` as a
fraction or a percentage: ``-20%`` = ``-0.2`` = ``factor: 0.8``). Periods are a label
(``2027Q3``), a year (``"2027"``, quoted), a range (``2027Q1..2028Q2``) or a list of those.
``opex``, ``availability_share`` and ``salvage_value`` edit columns that have no periods
(``availability`` is the older knob for when a SKU can be ordered, hence the longer name);
an empty cell is changed from its default (0, 1 and 0). ``perf`` and ``power_kw`` edit
``perf.csv`` factors and ``catalog.csv`` ``power_kw`` the same way (no periods either).
``site_region``, ``eligibility`` and ``clusters`` edit ``sites.csv``, ``eligibility.csv``
and ``clusters.csv`` (docs/scenarios.md says how). ``vendor`` and ``min_lots`` edit
``catalog.csv`` per SKU (omitted ``sku``: all, orderable ones for ``min_lots``);
``supply`` sets, scales or removes (``null``) ``max_units`` and ``min_units`` of
``supply.csv`` for a SKU (omitted: every orderable one) in the selected order periods of
the horizon, adding rows where there are none; ``vendor_limits`` and ``cloud_offers``
add, change or remove rows of those files. A ``budget`` change on a ``budget.csv`` in
coarser periods than the horizon (a year) selects whole rows: ``periods: "2027"``, or
quarters that make up whole years; part of a year is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import LIMITS, shown
from capforecast.core.periods import Periods
from capforecast.core.yamlfile import Lines, read_yaml, validation_problems
from capforecast.plan.options import PlanOptions
from capforecast.plan.rules import rules_from
from capforecast.requirement.aggregate import DEFAULT_UTILIZATION_TARGET


def _fraction(value: object) -> object:
    """``-20%`` or ``"+10%"`` as a fraction; numbers as they are."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1].replace(" ", "")) / 100
        except ValueError:
            raise ValueError(f"not a percentage: {shown(value)} (write e.g. -20%)") from None
    return value


class Change(BaseModel):
    """One change: the rows it selects and how their value changes."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    periods: Periods = None
    set: float | None = Field(default=None, ge=0)
    factor: float | None = Field(default=None, ge=0)
    change: float | None = Field(default=None, ge=-1)

    _change_fraction = field_validator("change", mode="before")(_fraction)

    @model_validator(mode="after")
    def _one_way(self) -> Change:
        given = [k for k in ("set", "factor", "change") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of set, factor or change (got {given or 'none'})")
        return self

    def apply(self, value: Any) -> Any:
        """``value`` (a number or an array) changed."""
        if self.set is not None:
            return value * 0 + self.set
        return value * (self.factor if self.factor is not None else 1 + (self.change or 0))


class DemandChange(Change):
    workload: str | None = None


class BudgetChange(Change):
    pass


class PriceChange(Change):
    sku: str | None = None


class PowerChange(Change):
    site: str | None = None


class RentChange(Change):
    workload: str | None = None


class CatalogChange(Change):
    """A change to a column without periods (``catalog.csv`` per SKU, ``fleet.csv`` per
    row): selecting periods would be a mistake."""

    sku: str | None = None

    @model_validator(mode="after")
    def _no_periods(self) -> CatalogChange:
        if self.periods is not None:
            raise ValueError("this column has no periods: drop 'periods'")
        return self


class SalvageChange(CatalogChange):
    """``fleet.csv`` ``salvage_value`` of the rows of a SKU and/or site (may be negative)."""

    site: str | None = None
    set: float | None = None  # salvage may be negative


class PerfChange(CatalogChange):
    """``perf.csv`` ``factor`` of a SKU (and/or workload). ``set`` with both a SKU and a
    workload adds the row when the SKU does not serve the workload yet."""

    workload: str | None = None


#: A name of a planning table: not empty, not absurdly long, no ``;`` (the list separator
#: of ``clusters.csv``).
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^;]*$")]


class SiteRegion(BaseModel):
    """A site moved to another region (``sites.csv`` ``region``)."""

    model_config = ConfigDict(extra="forbid")

    site: str
    region: Name


class EligibilityChange(BaseModel):
    """Allow a site to serve the demand of a workload (all of them when omitted) in a
    region, or forbid it (``allow: false``): an edit of ``eligibility.csv`` that first
    writes out the default (the sites of the region) for a pair that has no rows."""

    model_config = ConfigDict(extra="forbid")

    workload: str | None = None
    region: str
    site: str
    allow: bool = True


class NewCluster(BaseModel):
    """The columns of a ``clusters.csv`` row but its name; lists as YAML lists."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    workload: Name
    size: float = Field(ge=0)
    start: str | int
    end: str | int
    region: Name | None = None
    skus: list[Name] | None = Field(default=None, min_length=1)
    sites: list[Name] | None = Field(default=None, min_length=1)


class ClusterChange(BaseModel):
    """A training cluster added (``add``), removed (``remove: true``), or moved by
    ``shift`` periods and/or resized (``set``, ``factor`` or ``change`` of its size)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    cluster: Name
    add: NewCluster | None = None
    remove: bool = False
    shift: int | None = Field(default=None, ge=-LIMITS.periods, le=LIMITS.periods)
    set: float | None = Field(default=None, ge=0)
    factor: float | None = Field(default=None, ge=0)
    change: float | None = Field(default=None, ge=-1)

    _change_fraction = field_validator("change", mode="before")(_fraction)

    @model_validator(mode="after")
    def _one_way(self) -> ClusterChange:
        sizes = [k for k in ("set", "factor", "change") if getattr(self, k) is not None]
        edits = [*sizes, *(["shift"] if self.shift is not None else [])]
        if len(sizes) > 1:
            raise ValueError(f"give at most one of set, factor or change (got {sizes})")
        if self.add is not None and (self.remove or edits):
            raise ValueError("'add' takes the cluster's columns under it, and nothing else")
        if self.remove and edits:
            raise ValueError("'remove: true' takes nothing else")
        if self.add is None and not self.remove and not edits:
            raise ValueError("give add, remove: true, shift, or one of set, factor or change")
        return self

    def resized(self, size: float) -> float:
        """``size`` after the change's ``set``, ``factor`` or ``change`` (if any)."""
        if self.set is not None:
            return self.set
        return size * (self.factor if self.factor is not None else 1 + (self.change or 0))


class VendorChange(BaseModel):
    """``catalog.csv`` ``vendor`` of a SKU (every SKU when ``sku`` is omitted): ``set`` a
    name, or ``set: null`` to clear it."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = None
    set: Name | None


class MinLotsChange(BaseModel):
    """``catalog.csv`` ``min_lots`` of an orderable SKU (every orderable SKU when ``sku`` is
    omitted): an order for one site and period is 0 or at least ``set`` lots; ``set: null``
    or ``1`` removes the minimum."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = None
    set: int | None = Field(ge=1, le=10**9, strict=True)


class Scale(BaseModel):
    """A relative change of a value: ``factor`` or ``change`` (``-20%``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    factor: float | None = Field(default=None, ge=0)
    change: float | None = Field(default=None, ge=-1)

    _change_fraction = field_validator("change", mode="before")(_fraction)

    @model_validator(mode="after")
    def _one_way(self) -> Scale:
        if (self.factor is None) == (self.change is None):
            raise ValueError("give exactly one of factor or change")
        return self

    def apply(self, value: float) -> float:
        return value * (self.factor if self.factor is not None else 1 + (self.change or 0))


def _units(value: object) -> object:
    """A number of accelerators (>= 0), ``null``, or a :class:`Scale` mapping."""
    if value is None or isinstance(value, Scale):
        return value
    if isinstance(value, dict):
        try:
            return Scale.model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where + ': ' if where else ''}{first['msg']}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"must be a number >= 0, got {shown(value)}")
        return float(value)
    raise ValueError(
        f"give a number of accelerators, null (no limit) or a change ({{change: -20%}} or "
        f"{{factor: 0.8}}), got {shown(value)}"
    )


#: A new value (a number), none (``null``: the limit removed) or a relative change.
Units = Annotated[float | Scale | None, BeforeValidator(_units)]


class SupplyChange(BaseModel):
    """``supply.csv`` ``max_units`` (vendor allocation) and/or ``min_units`` (committed
    volume) of a SKU (every orderable SKU when omitted) in the selected order periods (of
    the horizon; all when omitted). A number sets the value, writing a row where there is
    none; ``null`` removes the limit; ``{change: -20%}`` or ``{factor: 0.8}`` scales an
    existing one."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    sku: str | None = None
    periods: Periods = None
    max_units: Units = None
    min_units: Units = None

    @model_validator(mode="after")
    def _something(self) -> SupplyChange:
        if not {"max_units", "min_units"} & self.model_fields_set:
            raise ValueError(
                "give max_units or min_units (or both): a number, null or {change: ...}"
            )
        return self

    def given(self) -> list[str]:
        """The columns the change names (``null`` included)."""
        return [c for c in ("max_units", "min_units") if c in self.model_fields_set]


#: A share of the capex of all orders, as a fraction or a percentage (``60%``).
Share = Annotated[float, Field(ge=0, le=1)]


class VendorLimitChange(BaseModel):
    """A row of ``vendor_limits.csv`` added (a vendor without one; ``max_share`` 1 when not
    given), changed (``max_share``, ``min_share``; ``null`` removes the cap or minimum) or
    removed (``remove: true``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    vendor: Name
    max_share: Share | None = None
    min_share: Share | None = None
    remove: bool = False

    _share_fraction = field_validator("max_share", "min_share", mode="before")(_fraction)

    @model_validator(mode="after")
    def _one_way(self) -> VendorLimitChange:
        shares = {"max_share", "min_share"} & self.model_fields_set
        if self.remove and shares:
            raise ValueError("'remove: true' takes nothing else")
        if not self.remove and not shares:
            raise ValueError("give max_share and/or min_share, or remove: true")
        return self


class NewOffer(BaseModel):
    """The columns of a ``cloud_offers.csv`` row but its name."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    workload: Name
    price: float = Field(ge=0)
    term: int = Field(ge=1, le=LIMITS.periods)
    max_units: float | None = Field(default=None, ge=0)
    notice: int = Field(default=0, ge=0, le=LIMITS.periods)
    region: Name | None = None


class OfferChange(BaseModel):
    """A reserved cloud contract added (``add``), removed (``remove: true``), or changed:
    its price (``set``, ``factor`` or ``change``), ``max_units`` (``null``: no limit),
    ``term`` or ``notice``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    offer: Name
    add: NewOffer | None = None
    remove: bool = False
    set: float | None = Field(default=None, ge=0)
    factor: float | None = Field(default=None, ge=0)
    change: float | None = Field(default=None, ge=-1)
    max_units: float | None = Field(default=None, ge=0)
    term: int | None = Field(default=None, ge=1, le=LIMITS.periods)
    notice: int | None = Field(default=None, ge=0, le=LIMITS.periods)

    _change_fraction = field_validator("change", mode="before")(_fraction)

    @model_validator(mode="after")
    def _one_way(self) -> OfferChange:
        prices = [k for k in ("set", "factor", "change") if getattr(self, k) is not None]
        edits = [*prices, *sorted({"max_units", "term", "notice"} & self.model_fields_set)]
        if len(prices) > 1:
            raise ValueError(f"give at most one of set, factor or change (got {prices})")
        if self.add is not None and (self.remove or edits):
            raise ValueError("'add' takes the offer's columns under it, and nothing else")
        if self.remove and edits:
            raise ValueError("'remove: true' takes nothing else")
        if self.add is None and not self.remove and not edits:
            raise ValueError(
                "give add, remove: true, max_units, term, notice, or one of set, factor or "
                "change (of the price)"
            )
        if "term" in self.model_fields_set and self.term is None:
            raise ValueError("term cannot be null (periods the contract runs, >= 1)")
        return self

    def priced(self, price: float) -> float:
        """``price`` after the change's ``set``, ``factor`` or ``change`` (if any)."""
        if self.set is not None:
            return self.set
        return price * (self.factor if self.factor is not None else 1 + (self.change or 0))


class LeadTimeChange(BaseModel):
    """A SKU's lead time: ``add`` periods (a slip; negative = earlier) or ``set`` it."""

    model_config = ConfigDict(extra="forbid")

    sku: str
    add: int | None = Field(default=None, ge=-LIMITS.periods, le=LIMITS.periods)
    set: int | None = Field(default=None, ge=0, le=LIMITS.periods)

    @model_validator(mode="after")
    def _one_way(self) -> LeadTimeChange:
        if (self.add is None) == (self.set is None):
            raise ValueError("give exactly one of add or set")
        return self


class Availability(BaseModel):
    """A SKU that cannot be ordered (``available: false``) or not before ``from``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sku: str
    available: bool = True
    first: str | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _something(self) -> Availability:
        if self.available == (self.first is None):
            raise ValueError("give either available: false, or from: <first order period>")
        return self


class ForecastSettings(BaseModel):
    """How demand is derived from ``inputs.history`` (``capforecast.workflow``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = "ets"
    service_level: float = Field(default=0.9, gt=0, lt=1)
    paths: int = Field(default=200, ge=10, le=LIMITS.paths)
    seed: int = Field(default=0, ge=0)
    scenarios: int | None = Field(default=None, ge=1, le=LIMITS.demand_scenarios)
    utilization_target: float = Field(default=DEFAULT_UTILIZATION_TARGET, gt=0, le=1)


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planning: Path
    history: Path | None = None


class Changes(BaseModel):
    """A scenario's name, description and changes, without its inputs: what the REST API
    takes for a scenario (its planning input is given apart)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    demand: list[DemandChange] = Field(default_factory=list)
    budget: list[BudgetChange] = Field(default_factory=list)
    prices: list[PriceChange] = Field(default_factory=list)
    lead_time: list[LeadTimeChange] = Field(default_factory=list)
    availability: list[Availability] = Field(default_factory=list)
    power: list[PowerChange] = Field(default_factory=list)
    rent: list[RentChange] = Field(default_factory=list)
    opex: list[CatalogChange] = Field(default_factory=list)
    availability_share: list[CatalogChange] = Field(default_factory=list)
    salvage_value: list[SalvageChange] = Field(default_factory=list)
    perf: list[PerfChange] = Field(default_factory=list)
    power_kw: list[CatalogChange] = Field(default_factory=list)
    site_region: list[SiteRegion] = Field(default_factory=list)
    eligibility: list[EligibilityChange] = Field(default_factory=list)
    clusters: list[ClusterChange] = Field(default_factory=list)
    vendor: list[VendorChange] = Field(default_factory=list)
    min_lots: list[MinLotsChange] = Field(default_factory=list)
    supply: list[SupplyChange] = Field(default_factory=list)
    vendor_limits: list[VendorLimitChange] = Field(default_factory=list)
    cloud_offers: list[OfferChange] = Field(default_factory=list)
    #: The analyst's own rules, name -> text (docs/rules.md); a base's rule of the same
    #: name is replaced.
    constraints: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    #: The line of each key in the scenario's file (empty when not read from one).
    _lines: Lines = PrivateAttr(default_factory=dict)

    @property
    def lines(self) -> Lines:
        """The line of each key in the scenario's file."""
        return self._lines

    @field_validator("constraints")
    @classmethod
    def _rules_parse(cls, value: dict[str, str]) -> dict[str, str]:
        _, problems = rules_from(value, "")
        if problems:
            raise ValueError(f"{problems[0].column}: {problems[0].message}")
        return value

    @field_validator("options")
    @classmethod
    def _known_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "period_freq" in value:
            raise ValueError("period_freq is the planning inputs' own; it cannot change here")
        PlanOptions(**value)  # the same checks as options.yaml
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Changes:
        if self.changes() > LIMITS.scenario_changes:
            raise ValueError(
                f"{self.changes()} changes is over the limit of {LIMITS.scenario_changes} "
                "per scenario"
            )
        return self

    def changes(self) -> int:
        """How many changes the scenario makes to its inputs."""
        fixed = len(self.options) + len(self.constraints)
        return sum(len(getattr(self, key)) for key in CHANGE_KEYS) + fixed

    def line(self, *key: str | int) -> int | None:
        """The line of ``key`` (``"clusters", 0, "add", "skus"``) in the scenario's file,
        or of the nearest enclosing key there down to the change (``"clusters", 0``);
        ``None`` when not in the file (a base's change, or not read from a file)."""
        for end in range(len(key), min(len(key), 2) - 1, -1):
            if key[:end] in self._lines:
                return self._lines[key[:end]]
        return None


class Scenario(Changes):
    """A validated scenario: read one with :func:`read_scenario`."""

    inputs: Inputs
    forecast: ForecastSettings | None = None  # with inputs.history; defaults if None
    _source: str = PrivateAttr(default="")

    @field_validator("forecast")
    @classmethod
    def _forecast_needs_history(
        cls, value: ForecastSettings | None, info: ValidationInfo
    ) -> ForecastSettings | None:
        inputs = info.data.get("inputs")
        if value is not None and inputs is not None and inputs.history is None:
            raise ValueError("applies only with inputs.history: add a history or drop it")
        return value

    @property
    def source(self) -> str:
        """The file the scenario was read from (its name), for messages."""
        return self._source or f"{self.name}.yaml"


#: The keys whose lists add up along ``extends``.
CHANGE_KEYS = (
    "demand",
    "budget",
    "prices",
    "lead_time",
    "availability",
    "power",
    "rent",
    "opex",
    "availability_share",
    "salvage_value",
    "perf",
    "power_kw",
    "site_region",
    "eligibility",
    "clusters",
    "vendor",
    "min_lots",
    "supply",
    "vendor_limits",
    "cloud_offers",
)


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (and the files it extends, each valid on its
    own); every problem is reported with its file, line and key.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "base.yaml").write_text("inputs: {planning: plans}\\n")
    >>> _ = (folder / "cut.yaml").write_text(
    ...     "extends: base.yaml\\nbudget:\\n  - {periods: '2027', change: -20%}\\n")
    >>> scenario = read_scenario(folder / "cut.yaml")
    >>> scenario.name, scenario.inputs.planning.name, scenario.budget[0].change
    ('cut', 'plans', -0.2)
    """
    return _read(Path(path), seen=())


#: How many files an ``extends`` chain may have.
MAX_EXTENDS = 32


def _read(path: Path, seen: tuple[Path, ...]) -> Scenario:
    if len(seen) >= MAX_EXTENDS:
        message = f"extends more than {MAX_EXTENDS} files in a chain (the limit)"
        raise InputError([Problem(seen[0].name, None, "extends", message)])
    if path.resolve() in seen:
        chain = " -> ".join(p.name for p in (*seen, path.resolve()))
        raise InputError([Problem(path.name, None, "extends", f"extends itself: {chain}")])
    document, lines = read_yaml(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InputError([Problem(path.name, 1, None, "expected a mapping of keys")])
    document = dict(document)
    inputs = document.get("inputs")
    if isinstance(inputs, dict):
        document["inputs"] = {
            k: str((path.parent / v).resolve()) if isinstance(v, str) else v
            for k, v in inputs.items()
        }
    document.setdefault("name", path.stem)
    base = document.pop("extends", None)
    if base is not None:
        where = lines.get(("extends",))
        if not isinstance(base, str) or not (path.parent / base).is_file():
            message = f"no such scenario file: {shown(base)}"
            raise InputError([Problem(path.name, where, "extends", message)])
        parent = _read(path.parent / base, (*seen, path.resolve()))
        document, lines = _merge(
            parent.model_dump(by_alias=True, exclude_unset=True), document, lines
        )
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        raise InputError(validation_problems(error, path.name, lines)) from None
    scenario._source = path.name
    scenario._lines = lines
    return scenario


def _merge(
    parent: dict[str, Any], child: dict[str, Any], lines: Lines
) -> tuple[dict[str, Any], Lines]:
    """``child`` on top of its base: its keys win, mappings merge, change lists add up
    (the child's after the base's; its line numbers are moved along)."""
    parent["inputs"] = {k: str(v) for k, v in parent.get("inputs", {}).items() if v is not None}
    merged = {**parent, **child, "name": child["name"]}
    merged["description"] = child.get("description", "")  # a base's words are its own
    for key in ("inputs", "forecast", "options", "constraints"):
        if isinstance(parent.get(key), dict) and isinstance(child.get(key), dict):
            merged[key] = {**parent[key], **child[key]}
    shifted: Lines = {}
    for place, line in lines.items():
        if len(place) > 1 and place[0] in CHANGE_KEYS and isinstance(place[1], int):
            place = (place[0], place[1] + len(parent.get(str(place[0]), [])), *place[2:])
        shifted[place] = line
    for key in CHANGE_KEYS:
        if isinstance(child.get(key), list):
            merged[key] = parent.get(key, []) + child[key]
    return merged, shifted
