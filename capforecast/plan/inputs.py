"""Planning inputs: a directory of CSV files (docs/data.md), validated into one immutable object.

:func:`read_planning_inputs` reads every file, checks every cell and every cross-file
reference, runs the named consistency checks, and raises one
:class:`~capforecast.core.errors.InputError` listing all problems. What it returns is
trusted by the model builder and never re-checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from capforecast.core.errors import InputError, Problem, did_you_mean, warn_planning
from capforecast.core.io import read_raw_table
from capforecast.core.limits import LIMITS, clipped
from capforecast.core.schemas import ORDER_COLUMNS, PLANNING_FILES
from capforecast.core.tables import check_known
from capforecast.plan.options import FILE as OPTIONS_FILE
from capforecast.plan.options import PlanOptions, parse_options, read_options
from capforecast.plan.rules import FILE as RULES_FILE
from capforecast.plan.rules import Rule, check_labels, read_rules, rules_from

if TYPE_CHECKING:
    from capforecast.plan.checks import Finding

#: The scenario label used when ``demand.csv`` has no ``scenario`` column.
BASE_SCENARIO = "base"
PROBABILITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PlanningInputs:
    """Every planning input, validated. Tables keep their source row numbers as index.

    Build one with :func:`read_planning_inputs`; derive variants with
    :meth:`with_options` and :meth:`with_demand`. Instances are never mutated by the
    library. ``findings`` holds the warnings of the consistency checks (each also issued
    as a :class:`~capforecast.core.errors.PlanningWarning` when the inputs are built).
    """

    periods: pd.PeriodIndex
    catalog: pd.DataFrame
    perf: pd.DataFrame
    sites: pd.DataFrame
    fleet: pd.DataFrame
    budget: pd.DataFrame
    demand: pd.DataFrame
    scenarios: pd.DataFrame
    site_power: pd.DataFrame
    prices: pd.DataFrame
    supply: pd.DataFrame
    rent: pd.DataFrame
    eligibility: pd.DataFrame
    clusters: pd.DataFrame
    cloud_offers: pd.DataFrame
    vendor_limits: pd.DataFrame
    options: PlanOptions = field(default_factory=PlanOptions)
    #: The analyst's rules (``constraints.yaml``, a scenario's ``constraints:``), as text.
    rules: tuple[Rule, ...] = ()
    source: str = ""
    findings: tuple[Finding, ...] = ()

    @property
    def skus(self) -> list[str]:
        """SKUs in catalog order."""
        return [str(s) for s in self.catalog["sku"]]

    @property
    def sites_list(self) -> list[str]:
        """Sites in ``sites.csv`` order."""
        return [str(s) for s in self.sites["site"]]

    @property
    def workloads(self) -> list[str]:
        """Workloads in order of first appearance in ``demand.csv``, then those that only
        ``clusters.csv`` names."""
        return _names(self.demand["workload"], self.clusters["workload"])

    @property
    def has_regions(self) -> bool:
        """True when ``demand.csv`` has a ``region`` column: demand, rent and the
        allocation are then per region (docs/model.md §6.12)."""
        return bool(self.demand["region"].notna().any())

    @property
    def regions(self) -> list[str]:
        """Regions of ``demand.csv`` in order of first appearance, then regions only sites
        have; ``[]`` when demand has no regions."""
        if not self.has_regions:
            return []
        return _names(self.demand["region"], self.sites["region"])

    @property
    def labels(self) -> dict[str, list[str]]:
        """The names rules may select by (docs/rules.md): SKUs, sites, workloads, regions
        (``[""]`` without regions) and the catalog's vendors."""
        return {
            "sku": self.skus,
            "site": self.sites_list,
            "workload": self.workloads,
            "region": self.regions or [""],
            "vendor": sorted({str(v) for v in self.catalog["vendor"].dropna()}),
        }

    @property
    def scenario_names(self) -> list[str]:
        """Scenarios in ``scenarios.csv`` order (``['base']`` when none are given)."""
        return [str(s) for s in self.scenarios["scenario"]]

    def with_options(self, **changes: object) -> PlanningInputs:
        """A copy with some options changed (validated like ``options.yaml``); the
        consistency checks run again, and only their new warnings are issued.

        Examples
        --------
        >>> from capforecast.examples import sample_planning_inputs
        >>> inputs = sample_planning_inputs()
        >>> inputs.with_options(mip_gap=0.01).options.mip_gap
        0.01
        >>> inputs.options.mip_gap
        0.001
        >>> inputs.with_options(shortfall_penalty={"nosuch": 1.0})
        Traceback (most recent call last):
        ...
        capforecast.core.errors.InputError: 1 problem in the input:
          options.yaml, key 'shortfall_penalty.nosuch': unknown workload 'nosuch'; ...
        """
        options = PlanOptions(**{**self.options.model_dump(), **changes})
        tables = {name: getattr(self, name) for name in ("catalog", "perf", "demand", "clusters")}
        problems = _check_penalties(options, tables, set(tables))  # as options.yaml's
        if problems:
            raise InputError(problems)
        return _checked(replace(self, options=options), self.findings)

    def with_rules(
        self, rules: Mapping[str, str] | Sequence[Rule], *, source: str = RULES_FILE
    ) -> PlanningInputs:
        """A copy with ``rules`` (name -> text, docs/rules.md, or parsed :class:`Rule`
        objects) added; a rule of the same name is replaced.

        Examples
        --------
        >>> from capforecast.examples import sample_planning_inputs
        >>> inputs = sample_planning_inputs().with_rules(
        ...     {"b200_texas": "installed(sku='B200', site='texas', periods='2028Q4') >= 100"})
        >>> [rule.name for rule in inputs.rules]
        ['b200_texas']
        """
        added, problems = (
            rules_from(rules, source) if isinstance(rules, Mapping) else (tuple(rules), [])
        )
        for rule in added:
            problems += check_labels(rule, self.labels, self.periods)
        if problems:
            raise InputError(problems)
        kept = tuple(r for r in self.rules if r.name not in {a.name for a in added})
        return replace(self, rules=kept + added)

    def with_demand(
        self, demand: pd.DataFrame, scenarios: pd.DataFrame | None = None
    ) -> PlanningInputs:
        """A copy with another ``demand`` (and ``scenarios``) table, validated like files.

        ``demand`` has the columns of ``demand.csv`` (``period`` as labels or periods);
        its periods become the horizon. Problems are reported against ``demand.csv``.

        Examples
        --------
        >>> from capforecast.examples import sample_planning_inputs
        >>> inputs = sample_planning_inputs()
        >>> flat = inputs.demand.assign(demand=1000.0)[["workload", "region", "period", "demand"]]
        >>> float(inputs.with_demand(flat).demand["demand"].max())
        1000.0
        """
        return self.with_tables(demand=demand, scenarios=scenarios)

    def with_tables(self, **tables: pd.DataFrame | None) -> PlanningInputs:
        """A copy with some tables replaced (by their file names: ``budget=...``), every
        table validated again like the files; ``None`` removes an optional table."""
        unknown = sorted(set(tables) - set(PLANNING_FILES))
        if unknown:
            raise ValueError(f"unknown planning tables {unknown}; known: {list(PLANNING_FILES)}")
        raw: dict[str, pd.DataFrame | None] = {
            name: _as_raw(getattr(self, name), name) for name in PLANNING_FILES
        }
        if "demand" in tables and "scenarios" not in tables:
            demand = tables["demand"]
            keep = demand is not None and "scenario" in demand.columns
            raw["scenarios"] = _as_raw(self.scenarios, "scenarios") if keep else None
        for name, table in tables.items():
            raw[name] = None if table is None else _as_raw(table, name)
        built = build_planning_inputs(raw, self.options, source=self.source)
        return replace(built, rules=self.rules)


def write_planning_inputs(inputs: PlanningInputs, directory: str | Path) -> list[Path]:
    """Write ``inputs`` as a planning-input folder (each file atomically, numbers and text
    exact: these are data, not reports, so a name starting with ``=`` stays as it is) that
    :func:`read_planning_inputs` reads back to the same inputs. Optional tables that are
    empty are not written, and their file in ``directory`` (a file, never a folder, and
    nothing else) is removed; ``options.yaml`` holds the options that differ from defaults.

    Examples
    --------
    >>> import tempfile
    >>> from capforecast.examples import sample_planning_inputs
    >>> inputs = sample_planning_inputs()
    >>> folder = tempfile.mkdtemp()
    >>> again = read_planning_inputs(folder) if write_planning_inputs(inputs, folder) else None
    >>> again.budget.equals(inputs.budget), again.options == inputs.options
    (True, True)
    """
    import yaml

    from capforecast.core.io import write_bytes_atomic, write_table

    directory = Path(directory)
    written = []
    for name, (_, required, _) in PLANNING_FILES.items():
        table = getattr(inputs, name)
        if table.empty and not required:
            continue
        if name == "demand" and list(inputs.scenario_names) == [BASE_SCENARIO]:
            table = table.drop(columns=["scenario"], errors="ignore")
        if name == "scenarios" and list(inputs.scenario_names) == [BASE_SCENARIO]:
            continue
        path = directory / f"{name}.csv"
        write_table(_as_raw(table, name), path, exact=True)
        written.append(path)
    for schema, required, _ in PLANNING_FILES.values():  # an earlier write's would be read
        stale = directory / schema.file
        if not required and stale not in written and (stale.is_file() or stale.is_symlink()):
            stale.unlink()
    options = inputs.options.model_dump(exclude_defaults=True)
    path = directory / OPTIONS_FILE
    write_bytes_atomic(path, yaml.safe_dump(options, sort_keys=True).encode())
    written.append(path)
    rules = directory / RULES_FILE
    if inputs.rules:
        text = {rule.name: rule.text for rule in inputs.rules}
        write_bytes_atomic(rules, yaml.safe_dump(text, sort_keys=False, width=1000).encode())
        written.append(rules)
    elif rules.is_file() or rules.is_symlink():
        rules.unlink()
    return written


def planning_inputs(
    options: PlanOptions | Mapping[str, object] | None = None,
    rules: Mapping[str, str] | None = None,
    **tables: pd.DataFrame,
) -> PlanningInputs:
    """Planning inputs from DataFrames named like the files (``catalog=..., perf=...``),
    validated exactly as :func:`read_planning_inputs` validates a folder: problems name the
    file a table stands for, its row (the header is row 1) and column.

    ``options`` is a :class:`PlanOptions` or a mapping of ``options.yaml`` keys. Optional
    tables may be left out. Cells may be typed (numbers, ``pandas.Period``) or text.

    Examples
    --------
    >>> import pandas as pd
    >>> inputs = planning_inputs(
    ...     catalog=pd.DataFrame({"sku": ["B200"], "unit_price": [75_000], "lot_size": [8],
    ...                           "power_kw": [1.79], "lead_time": [2], "lifetime": [20]}),
    ...     perf=pd.DataFrame({"sku": ["B200"], "workload": ["training"], "factor": [2.1]}),
    ...     sites=pd.DataFrame({"site": ["texas"], "pue": [1.2], "energy_price": [0.066],
    ...                         "power_cap_kw": [8_000]}),
    ...     fleet=pd.DataFrame(columns=["sku", "site", "units", "available_from",
    ...                                 "retire_period"]),
    ...     budget=pd.DataFrame({"period": ["2027Q1", "2027Q2", "2027Q3"],
    ...                          "capex_budget": [5e6, 5e6, 5e6]}),
    ...     demand=pd.DataFrame({"workload": "training", "period": ["2027Q1", "2027Q2",
    ...                          "2027Q3"], "demand": [0.0, 0.0, 300.0]}),
    ...     options={"discount_rate": 0.02},
    ... )
    >>> len(inputs.periods), inputs.skus
    (3, ['B200'])
    """
    unknown = sorted(set(tables) - set(PLANNING_FILES))
    if unknown:
        raise ValueError(f"unknown planning tables {unknown}; known: {list(PLANNING_FILES)}")
    parsed, problems = (
        (options, []) if isinstance(options, PlanOptions) else parse_options(options or {})
    )
    raw = {name: None if table is None else _as_raw(table, name) for name, table in tables.items()}
    parsed_rules, rule_problems = rules_from(rules or {}, RULES_FILE)
    inputs = build_planning_inputs(
        raw, parsed, source="DataFrames", problems=problems + rule_problems
    )
    return inputs.with_rules(parsed_rules) if parsed_rules else inputs


def read_planning_inputs(directory: str | Path) -> PlanningInputs:
    """Read and validate a planning-input directory.

    Parameters
    ----------
    directory
        A folder with ``catalog.csv, perf.csv, sites.csv, fleet.csv, budget.csv,
        demand.csv`` and optionally ``site_power.csv, scenarios.csv, prices.csv,
        supply.csv, rent.csv, eligibility.csv, clusters.csv, options.yaml``
        (docs/data.md).

    Raises
    ------
    InputError
        With every problem found, each naming file, row and column.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_dir
    >>> inputs = read_planning_inputs(sample_planning_dir())
    >>> len(inputs.periods), inputs.periods[0], inputs.skus[:3]
    (12, Period('2027Q1', 'Q-DEC'), ['H100', 'H200', 'B200'])
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError([Problem(str(directory), None, None, "planning-input folder not found")])
    options, problems = read_options(directory / OPTIONS_FILE)
    rules, rule_problems = read_rules(directory / RULES_FILE)
    problems += rule_problems
    raw: dict[str, pd.DataFrame | None] = {}
    for name, (schema, required, may_be_empty) in PLANNING_FILES.items():
        path = directory / schema.file
        if not required and not path.exists():
            raw[name] = None
            continue
        raw[name], read_problems = read_raw_table(path, allow_empty=may_be_empty)
        problems.extend(read_problems)
    inputs = build_planning_inputs(raw, options, source=str(directory), problems=problems)
    return inputs.with_rules(rules) if rules else inputs


def build_planning_inputs(
    raw: Mapping[str, pd.DataFrame | None],
    options: PlanOptions,
    *,
    source: str = "",
    problems: Sequence[Problem] = (),
) -> PlanningInputs:
    """Validate raw tables (every cell text, or already typed) into :class:`PlanningInputs`.

    ``raw`` maps each name of ``PLANNING_FILES`` to a table, or to ``None`` for a file
    that is absent (fine for optional files) or could not be read (``problems`` then
    already says why). Every check whose tables are usable runs, so one
    :class:`InputError` lists every problem at once.
    """
    problems = list(problems)
    freq = options.period_freq
    tables: dict[str, pd.DataFrame] = {}
    usable: set[str] = set()
    reported = {p.file for p in problems}
    for name, (schema, required, _) in PLANNING_FILES.items():
        table = raw.get(name)
        if table is None:
            tables[name] = _empty_table(schema.names)
            if not required:
                usable.add(name)
            elif schema.file not in reported:  # (a file that could not be read says why)
                problems.append(Problem(schema.file, None, None, "required, but not given"))
            continue
        tables[name], cell_problems = schema.validate(table, freq=freq)
        problems.extend(cell_problems)
        if all(c.name in table.columns for c in schema.columns if c.required):
            usable.add(name)
    problems.extend(_check_references(tables, usable))
    if {"demand", "sites"} <= usable:
        problems.extend(_check_regions(tables, usable))
    if "catalog" in usable:
        problems.extend(_check_catalog(tables["catalog"], raw.get("catalog")))
        problems.extend(_check_legacy_orders(tables, usable))
        if "vendor_limits" in usable:
            problems.extend(_check_vendor_limits(tables["catalog"], tables["vendor_limits"]))
    if "supply" in usable:
        problems.extend(_check_supply(tables["supply"], raw.get("supply")))
    periods = _horizon(tables["demand"], problems) if "demand" in usable else None
    if periods is not None:
        problems.extend(_check_size(tables, periods))
        problems.extend(_check_demand_grid(tables["demand"], periods))
        if "budget" in usable:
            problems.extend(_check_budget(tables["budget"], periods))
        if {"clusters", "catalog", "sites"} <= usable:
            problems.extend(_check_clusters(tables))
        if {"supply", "catalog"} <= usable:
            problems.extend(_check_commitments(tables, periods))
    if {"demand", "scenarios"} <= usable:
        problems.extend(_check_scenarios(tables, raw.get("scenarios") is not None))
    if "fleet" in usable:
        problems.extend(_check_fleet_dates(tables["fleet"]))
    problems.extend(_check_penalties(options, tables, usable))
    if problems or periods is None:
        raise InputError(problems)

    if tables["demand"]["scenario"].isna().all():
        tables["demand"] = tables["demand"].assign(scenario=BASE_SCENARIO)
        tables["scenarios"] = pd.DataFrame({"scenario": [BASE_SCENARIO], "probability": [1.0]})
    inputs = PlanningInputs(periods=periods, options=options, source=source, **tables)
    return _checked(inputs)


def _checked(inputs: PlanningInputs, known: Sequence[Finding] = ()) -> PlanningInputs:
    """``inputs`` with the findings of the consistency checks (errors raise): each warning
    is also issued as a :class:`~capforecast.core.errors.PlanningWarning`, except those
    in ``known`` (already issued for the inputs these were derived from)."""
    # Imported here: the checks build on the validated object defined in this module.
    from capforecast.plan.checks import raise_on_errors

    findings = tuple(raise_on_errors(inputs))
    for finding in findings:
        if finding.severity == "warning" and finding not in known:
            warn_planning(str(finding))
    return replace(inputs, findings=findings)


def _names(*columns: pd.Series) -> list[str]:
    """The distinct names of ``columns``, in order of first appearance, empty cells left out."""
    return list(dict.fromkeys(str(v) for column in columns for v in column.dropna()))


def _as_raw(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A typed table back as raw cells (periods as labels) for :func:`build_planning_inputs`;
    an optional column of ``name``'s file that is empty throughout is left out, as the
    file it came from did (``region`` must be absent, not blank, without regions)."""
    schema = PLANNING_FILES[name][0]
    unused = [
        c.name
        for c in schema.columns
        if not c.required and c.name in table.columns and table[c.name].isna().all()
    ]
    raw = table.drop(columns=unused).reset_index(drop=True)
    for column in raw.columns:
        if isinstance(raw[column].dtype, pd.PeriodDtype):
            raw[column] = raw[column].astype(str).replace("NaT", "")
    return raw


def _empty_table(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})


def _check_references(tables: dict[str, pd.DataFrame], usable: set[str]) -> list[Problem]:
    """Every SKU, site and workload named in one file is defined in its own file."""
    references = [
        ("catalog", "sku", "SKU", ("perf", "fleet", "prices", "supply")),
        ("sites", "site", "site", ("fleet", "site_power", "eligibility")),
        ("demand", "workload", "workload", ("rent", "eligibility", "cloud_offers")),
    ]
    problems = []
    for source, column, what, users in references:
        if source not in usable:
            continue
        known = set(tables[source][column].dropna())
        for name in users:
            if name in usable:
                problems += check_known(
                    tables[name], column, known, f"{name}.csv", what=what, source=f"{source}.csv"
                )
    return problems


def legacy_skus(catalog: pd.DataFrame) -> pd.Series:
    """Which catalog rows are legacy SKUs: owned, never orderable, all four order columns
    (``unit_price, lot_size, lead_time, lifetime``) empty. A boolean Series by row."""
    return catalog[list(ORDER_COLUMNS)].isna().all(axis=1)


def _check_catalog(catalog: pd.DataFrame, raw: pd.DataFrame | None) -> list[Problem]:
    """A row leaves all four order columns empty (a legacy SKU) or none of them; an
    availability is above 0 (a SKU none of whose units are usable is a typo)."""
    problems = []
    if raw is not None and set(ORDER_COLUMNS) <= set(raw.columns):
        cells = raw[list(ORDER_COLUMNS)].reset_index(drop=True)
        empty = (
            cells.isna() | cells.astype("string").apply(lambda c: c.str.strip().eq(""))
        ).fillna(True)
        empty.index = catalog.index
        partial = empty.any(axis=1) & ~empty.all(axis=1)
        for row in catalog.index[partial.to_numpy(dtype=bool)]:
            given = [c for c in ORDER_COLUMNS if not empty.at[row, c]]
            for column in (c for c in ORDER_COLUMNS if empty.at[row, c]):
                problems.append(
                    Problem(
                        "catalog.csv",
                        int(row),
                        column,
                        f"missing value: SKU '{clipped(str(catalog.at[row, 'sku']))}' gives "
                        f"{', '.join(given)};"
                        " an orderable SKU gives all of unit_price, lot_size, lead_time and "
                        "lifetime, a legacy SKU (owned, no longer orderable) leaves all four empty",
                    )
                )
    zero = catalog["availability"].notna() & (catalog["availability"] <= 0)
    problems += [
        Problem(
            "catalog.csv",
            int(row),
            "availability",
            "must be > 0 (the share of installed units usable after failures, repair and "
            f"spares; 1 = all, the default), got {catalog.at[row, 'availability']:g}",
        )
        for row in catalog.index[zero.to_numpy(dtype=bool)]
    ]
    sized = catalog["min_lots"].notna()
    legacy = legacy_skus(catalog)
    problems += [
        Problem(
            "catalog.csv",
            int(row),
            "min_lots",
            f"'{clipped(str(catalog.at[row, 'sku']))}' is a legacy SKU (no unit_price, "
            "lot_size, lead_time or lifetime): it is never ordered, so it takes no min_lots",
        )
        for row in catalog.index[(sized & legacy).to_numpy(dtype=bool)]
    ]
    # The power cap bounds an order's size (docs/model.md §6.15), which min_lots needs.
    unbounded = sized & (catalog["min_lots"] > 1) & (catalog["power_kw"] == 0) & ~legacy
    problems += [
        Problem(
            "catalog.csv",
            int(row),
            "min_lots",
            f"SKU '{clipped(str(catalog.at[row, 'sku']))}' draws no power (power_kw 0), so "
            "nothing bounds the size of its orders, which min_lots > 1 needs; give its "
            "power_kw",
        )
        for row in catalog.index[unbounded.to_numpy(dtype=bool)]
    ]
    return problems


def _check_legacy_orders(tables: dict[str, pd.DataFrame], usable: set[str]) -> list[Problem]:
    """``prices.csv`` and ``supply.csv`` rows are about orders: none for a legacy SKU."""
    catalog = tables["catalog"]
    legacy = set(catalog.loc[legacy_skus(catalog), "sku"].dropna())
    problems = []
    for name, what in (("prices", "price"), ("supply", "vendor allocation")):
        if name not in usable:
            continue
        for row, sku in tables[name]["sku"].items():
            if sku in legacy:
                problems.append(
                    Problem(
                        f"{name}.csv",
                        int(row),
                        "sku",
                        f"'{clipped(str(sku))}' is a legacy SKU (catalog.csv leaves its "
                        "unit_price, lot_size, "
                        f"lead_time and lifetime empty): it cannot be ordered, so it takes no "
                        f"{what}; remove the row, or fill the four columns in catalog.csv",
                    )
                )
    return problems


def _check_penalties(
    options: PlanOptions, tables: Mapping[str, pd.DataFrame], usable: set[str]
) -> list[Problem]:
    """The ``shortfall_penalty`` option against the workloads of demand and clusters: every
    key names one, and every workload without a key has a default."""
    if not {"demand", "clusters"} <= usable:
        return []
    named = _names(tables["demand"]["workload"], tables["clusters"]["workload"])
    problems = _check_penalty_keys(options, set(named))
    if {"catalog", "perf"} <= usable:
        problems += _check_default_penalties(options, tables, named)
    return problems


def _check_default_penalties(
    options: PlanOptions, tables: Mapping[str, pd.DataFrame], workloads: list[str]
) -> list[Problem]:
    """A workload (of demand or of a cluster) without an explicit shortfall penalty gets
    one from the prices of the orderable SKUs that serve it; one that no orderable SKU
    serves (only legacy SKUs, or none: perhaps a misspelt name) has none, and must be
    given one."""
    if isinstance(options.shortfall_penalty, int | float):
        return []
    given = set(options.shortfall_penalty or {})
    catalog, perf = tables["catalog"], tables["perf"]
    legacy = set(catalog.loc[legacy_skus(catalog), "sku"].dropna())
    serving = perf[perf["factor"] > 0].groupby("workload")["sku"].agg(set)
    problems = []
    for workload in workloads:
        if workload in given:
            continue
        skus = serving.get(workload, set())
        if skus and skus <= legacy:
            names = sorted(clipped(str(sku)) for sku in skus)
            why = f"is served only by legacy SKUs {names[:6]}, which have no unit_price"
        elif not skus:
            guess = did_you_mean(str(workload), set(perf["workload"].dropna()) | set(workloads))
            why = "is served by no SKU (perf.csv has no factor > 0 for it" + (
                f"; {guess})" if guess else ")"
            )
        else:
            continue
        problems.append(
            Problem(
                OPTIONS_FILE,
                None,
                "shortfall_penalty",
                f"workload '{clipped(str(workload))}' {why}, so its default shortfall penalty "
                "(10 x the dearest price per reference unit of an orderable SKU serving it) "
                f"cannot be computed; give one in options.yaml: 'shortfall_penalty: "
                f"{{{clipped(str(workload))}: "
                "<USD per reference unit-period>}'",
            )
        )
    return problems


def _horizon(demand: pd.DataFrame, problems: list[Problem]) -> pd.PeriodIndex | None:
    """The sorted periods of ``demand.csv``; they must be consecutive (else a problem)."""
    present = pd.PeriodIndex(pd.unique(demand["period"].dropna())).sort_values()
    if len(present) == 0:
        return None
    count = present[-1].ordinal - present[0].ordinal + 1
    if count > LIMITS.periods:  # checked before the range is built: 'ns' over an hour is 3.6e12
        message = (
            f"{count} periods from {present[0]} to {present[-1]} (period_freq "
            f"'{present.freqstr}') is over the limit of {LIMITS.periods} planning periods"
        )
        problems.append(Problem("demand.csv", None, "period", message))
        return None
    full = pd.period_range(present[0], present[-1], freq=present.freq)
    absent = full.difference(present)
    if len(absent):
        shown = ", ".join(str(p) for p in absent[:6])
        problems.append(
            Problem(
                "demand.csv",
                None,
                "period",
                f"periods must be consecutive from {present[0]} to {present[-1]}; "
                f"missing: {shown}{' ...' if len(absent) > 6 else ''}",
            )
        )
    return full


def _check_size(tables: dict[str, pd.DataFrame], periods: pd.PeriodIndex) -> list[Problem]:
    """The allocation (SKU x site x workload x period x scenario), the model's largest
    family, within ``LIMITS.allocation``: a few small files must not ask for a model of
    gigabytes."""
    demand = tables["demand"]
    sizes = {
        "SKUs": tables["catalog"]["sku"].nunique(),
        "sites": tables["sites"]["site"].nunique(),
        "workload-regions": len(demand[["workload", "region"]].drop_duplicates()),
        "periods": len(periods),
        "scenarios": max(1, demand["scenario"].nunique()),
    }
    cells = math.prod(sizes.values())
    if cells <= LIMITS.allocation:
        return []
    product = " x ".join(f"{n} {what}" for what, n in sizes.items())
    message = f"{product} = {cells} allocation cells is over the limit of {LIMITS.allocation}"
    return [Problem("demand.csv", None, None, message)]


def _check_demand_grid(demand: pd.DataFrame, periods: pd.PeriodIndex) -> list[Problem]:
    """One row per workload (and region), period (and scenario): report every missing
    combination of a workload-region pair that has rows."""
    scenarios = list(pd.unique(demand["scenario"])) if demand["scenario"].notna().any() else [None]
    pairs = demand[["workload", "region"]].drop_duplicates().dropna(subset=["workload"])
    grid = pd.MultiIndex.from_product([range(len(pairs)), periods, scenarios])
    expected = pd.DataFrame(
        {
            "workload": pairs["workload"].to_numpy()[grid.codes[0]],
            "region": pairs["region"].to_numpy()[grid.codes[0]],
            "period": grid.get_level_values(1),
            "scenario": grid.get_level_values(2),
        }
    )
    columns = ["workload", "region", "period", "scenario"]
    present = pd.MultiIndex.from_frame(demand[columns].dropna(subset=["workload", "period"]))
    missing = ~pd.MultiIndex.from_frame(expected).isin(present)
    problems = []
    for workload, region, period, scenario in expected[missing].itertuples(index=False):
        where = f"workload '{workload}'"
        if not pd.isna(region):
            where += f", region '{region}'"
        where += f", period {period}"
        if not pd.isna(scenario):
            where += f", scenario '{scenario}'"
        problems.append(Problem("demand.csv", None, "demand", f"no row for {where}"))
    return problems


def _check_regions(tables: dict[str, pd.DataFrame], usable: set[str]) -> list[Problem]:
    """With regions in ``demand.csv``, every site has one and every rent row names one;
    without, no rent row names one (there is nothing to match it with).
    ``eligibility.csv`` rows name a region of demand (without regions they are ignored:
    a warning of the consistency checks)."""
    demand, sites = tables["demand"], tables["sites"]
    regional = bool(demand["region"].notna().any())
    problems = []
    if regional:
        for row in sites.index[sites["region"].isna().to_numpy(dtype=bool)]:
            problems.append(
                Problem(
                    "sites.csv",
                    int(row),
                    "region",
                    f"site '{clipped(str(sites.at[row, 'site']))}' has no region; demand.csv "
                    "has regions, so every site needs one",
                )
            )
    for name, what in (("rent", "rent"), ("cloud_offers", "a cloud offer")):
        if name not in usable:
            continue
        table = tables[name]
        wrong = table["region"].isna() if regional else table["region"].notna()
        why = (
            f"{what} needs a region when demand.csv has regions"
            if regional
            else f"demand.csv has no region column, so {what} cannot name one"
        )
        problems += [
            Problem(f"{name}.csv", int(row), "region", why)
            for row in table.index[wrong.to_numpy(dtype=bool)]
        ]
        if regional:
            problems += check_known(
                table,
                "region",
                set(demand["region"].dropna()),
                f"{name}.csv",
                what="region",
                source="demand.csv",
            )
    if regional and "eligibility" in usable:
        problems += check_known(
            tables["eligibility"],
            "region",
            set(demand["region"].dropna()),
            "eligibility.csv",
            what="region",
            source="demand.csv",
        )
    return problems


def split_list(cell: object) -> list[str]:
    """The names of a ``;``-separated cell (``clusters.csv``'s ``skus``, ``sites``); an
    empty cell is ``[]`` (no restriction)."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA:
        return []
    return [part.strip() for part in str(cell).split(";") if part.strip()]


def _check_clusters(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """Each cluster ends no earlier than it starts; its ``skus`` and ``sites`` are known;
    its region is a region of some site."""
    clusters, catalog, sites = tables["clusters"], tables["catalog"], tables["sites"]
    known = {
        "skus": (set(catalog["sku"].dropna()), "SKU", "catalog.csv"),
        "sites": (set(sites["site"].dropna()), "site", "sites.csv"),
    }
    site_regions = set(sites["region"].dropna())
    problems = []
    for row, cluster in clusters.iterrows():
        start, end = cluster["start"], cluster["end"]
        if cluster["size"] == 0:
            problems.append(
                Problem("clusters.csv", int(row), "size", "must be > 0 (reference units), got 0")
            )
        if pd.notna(start) and pd.notna(end) and end < start:
            problems.append(
                Problem("clusters.csv", int(row), "end", f"end ({end}) is before start ({start})")
            )
        for column, (names, what, source) in known.items():
            unknown = [n for n in split_list(cluster[column]) if n not in names]
            if unknown:
                listed = sorted(clipped(n) for n in names)[:12]
                problems.append(
                    Problem(
                        "clusters.csv",
                        int(row),
                        column,
                        f"unknown {what} '{clipped(unknown[0])}'; known in {source}: {listed}",
                    )
                )
        region = cluster["region"]
        if pd.notna(region) and region not in site_regions:
            problems.append(
                Problem(
                    "clusters.csv",
                    int(row),
                    "region",
                    f"no site is in region '{clipped(str(region))}' (sites.csv regions: "
                    f"{sorted(clipped(str(g)) for g in site_regions)[:12]})",
                )
            )
    return problems


def _check_scenarios(tables: dict[str, pd.DataFrame], file_given: bool) -> list[Problem]:
    demand, scenarios = tables["demand"], tables["scenarios"]
    has_column = demand["scenario"].notna().any()
    if not has_column:
        if not scenarios.empty:
            return [
                Problem(
                    "scenarios.csv",
                    None,
                    None,
                    "scenarios are given but demand.csv has no 'scenario' column",
                )
            ]
        return []
    if scenarios.empty:
        state = "is empty" if file_given else "is missing"
        return [
            Problem(
                "scenarios.csv",
                None,
                None,
                f"demand.csv has a 'scenario' column, so scenarios.csv with 'scenario, "
                f"probability' is required, but it {state}",
            )
        ]
    problems = check_known(
        demand,
        "scenario",
        set(scenarios["scenario"]),
        "demand.csv",
        what="scenario",
        source="scenarios.csv",
    )
    unused = sorted(set(scenarios["scenario"]) - set(demand["scenario"]))
    for row, name in scenarios["scenario"].items():
        if name in unused:
            problems.append(
                Problem("scenarios.csv", int(row), "scenario", f"scenario '{name}' has no demand")
            )
    total = float(scenarios["probability"].sum())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        problems.append(
            Problem(
                "scenarios.csv",
                None,
                "probability",
                f"probabilities must sum to 1 (within {PROBABILITY_TOLERANCE:g}), got {total:.9g}",
            )
        )
    return problems


def budget_periods(budget: pd.DataFrame, periods: pd.PeriodIndex) -> pd.PeriodIndex:
    """The budget period of each horizon period: itself when ``budget.csv`` is at the
    horizon's frequency, else the coarser period (year, quarter) it falls in."""
    given = budget["period"].dtype
    freq = given.freq if isinstance(given, pd.PeriodDtype) else periods.freq
    return periods if freq == periods.freq else periods.asfreq(freq)


def _check_budget(budget: pd.DataFrame, periods: pd.PeriodIndex) -> list[Problem]:
    """Every horizon period falls in a row of ``budget.csv`` (its own or a coarser one)."""
    within = budget_periods(budget, periods)
    present = set(budget["period"].dropna())
    problems = []
    for period, row_period in zip(periods, within, strict=True):
        if row_period in present:
            continue
        coarse = "" if row_period == period else f" (budget period {row_period})"
        problems.append(
            Problem(
                "budget.csv",
                None,
                "period",
                f"no budget row for {period}{coarse}; every horizon period needs one "
                "(0 for no orders)",
            )
        )
    return problems


def _check_supply(supply: pd.DataFrame, raw: pd.DataFrame | None) -> list[Problem]:
    """``supply.csv`` has ``max_units`` or ``min_units`` (or both), and no row's minimum is
    above its maximum."""
    # (A table with no rows has nothing to limit: an empty optional table read back.)
    if raw is not None and len(raw) and not {"max_units", "min_units"} & set(raw.columns):
        return [
            Problem(
                "supply.csv",
                None,
                None,
                "needs a 'max_units' column (vendor allocation) or a 'min_units' column "
                "(committed volume), or both",
            )
        ]
    return _minimum_above_maximum(supply, "supply.csv", "min_units", "max_units")


def _check_commitments(tables: dict[str, pd.DataFrame], periods: pd.PeriodIndex) -> list[Problem]:
    """A committed volume (``min_units`` > 0) is for a period whose orders can arrive
    within the horizon: its order period plus the SKU's lead time is at most the last."""
    supply, catalog = tables["supply"], tables["catalog"].set_index("sku")
    problems = []
    for row, line in supply[supply["min_units"] > 0].iterrows():
        sku, period = line["sku"], line["period"]
        if sku not in catalog.index or pd.isna(period) or period < periods[0]:
            continue  # an unknown SKU is reported elsewhere; a past period is ignored
        lead = catalog.at[sku, "lead_time"]
        if pd.isna(lead):
            continue  # a legacy SKU: reported by _check_legacy_orders
        arrives = period + int(lead)
        if arrives > periods[-1]:
            problems.append(
                Problem(
                    "supply.csv",
                    int(row),
                    "min_units",
                    f"orders of '{clipped(str(sku))}' placed in {period} arrive in {arrives} "
                    f"(lead time {int(lead)}), after the horizon ends ({periods[-1]}): no "
                    "order can meet this commitment",
                )
            )
    return problems


def _minimum_above_maximum(table: pd.DataFrame, file: str, low: str, high: str) -> list[Problem]:
    """A problem for every row whose ``low`` column is above its ``high`` one (an empty
    cell is no limit)."""
    above = (table[low] > table[high]).fillna(False).to_numpy(dtype=bool)
    return [
        Problem(
            file,
            int(row),
            low,
            f"{low} ({table.at[row, low]:g}) is above {high} ({table.at[row, high]:g})",
        )
        for row in table.index[above]
    ]


def _check_vendor_limits(catalog: pd.DataFrame, limits: pd.DataFrame) -> list[Problem]:
    """Each row names a vendor of the catalog, and its ``min_share`` is at most its
    ``max_share``."""
    vendors = set(catalog["vendor"].dropna())
    problems = []
    if not limits.empty and not vendors:
        return [
            Problem(
                "vendor_limits.csv",
                None,
                "vendor",
                "vendor limits need a 'vendor' column in catalog.csv naming who sells each SKU",
            )
        ]
    problems += check_known(
        limits, "vendor", vendors, "vendor_limits.csv", what="vendor", source="catalog.csv"
    )
    problems += _minimum_above_maximum(limits, "vendor_limits.csv", "min_share", "max_share")
    return problems


def _check_fleet_dates(fleet: pd.DataFrame) -> list[Problem]:
    both = fleet["available_from"].notna() & fleet["retire_period"].notna()
    inverted = both & (
        fleet["retire_period"].where(both).astype("object")
        <= fleet["available_from"].where(both).astype("object")
    )
    return [
        Problem(
            "fleet.csv",
            int(row),
            "retire_period",
            f"retire_period ({fleet.at[row, 'retire_period']}) must come after "
            f"available_from ({fleet.at[row, 'available_from']})",
        )
        for row in fleet.index[inverted.to_numpy(dtype=bool)]
    ]


def _check_penalty_keys(options: PlanOptions, workloads: set[str]) -> list[Problem]:
    """A workload named in a ``shortfall_penalty`` map must have demand or a cluster."""
    if not isinstance(options.shortfall_penalty, dict):
        return []
    return [
        Problem(
            OPTIONS_FILE,
            None,
            f"shortfall_penalty.{key}",
            f"unknown workload '{key}'; workloads in demand.csv and clusters.csv: "
            f"{sorted(workloads)}",
        )
        for key in sorted(set(options.shortfall_penalty) - workloads)
    ]
