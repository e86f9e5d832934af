"""Applying a scenario's changes to planning inputs: new, validated inputs, the old ones
untouched.

Every change is a plain edit of the tables of docs/data.md, so the changed inputs can be
written out and solved by anyone: a price change writes ``prices.csv`` rows, a SKU that
cannot be ordered before a period writes ``supply.csv`` rows of 0, a power cap for some
periods writes ``site_power.csv`` rows, a lead-time slip edits ``catalog.csv``, as do opex and
availability changes, and a salvage change edits ``fleet.csv``. A perf change edits
``perf.csv``, a ``power_kw`` change ``catalog.csv``, a site moved to another region
``sites.csv``, an eligibility change ``eligibility.csv`` (writing out the default, the
sites of the region, for a pair it changes that had no rows) and a cluster change
``clusters.csv``. A vendor or a minimum order edits ``catalog.csv``, an allocation or a
committed volume ``supply.csv`` (a row per SKU and order period it names), a vendor share
``vendor_limits.csv`` and a reserved contract ``cloud_offers.csv``. A budget change on a
``budget.csv`` by year changes whole years.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import clipped, shown
from capforecast.core.periods import select_periods
from capforecast.plan.inputs import PlanningInputs, legacy_skus
from capforecast.plan.options import PlanOptions
from capforecast.plan.rules import rules_from
from capforecast.scenario.spec import ClusterChange, OfferChange, Scale, Scenario


class _Editor:
    """Applies one scenario's changes, collecting a problem for each that selects nothing."""

    def __init__(self, scenario: Scenario, inputs: PlanningInputs) -> None:
        self.scenario, self.inputs = scenario, inputs
        self.problems: list[Problem] = []
        self.file = scenario.source

    def fail(self, key: str, message: str) -> None:
        """A problem of the change at ``key`` (``clusters.0.add.skus``), at its line."""
        parts = [int(p) if p.isdigit() else p for p in key.split(".")]
        self.problems.append(Problem(self.file, self.scenario.line(*parts), key, message))

    def known(self, key: str, name: str | None, names: list[str], what: str, source: str) -> bool:
        """Whether ``name`` (``None``: all, fine) is one of ``names``; if not, a problem."""
        if name is None or name in names:
            return True
        listed = sorted(clipped(n) for n in names)[:12]
        self.fail(key, f"unknown {what} {shown(name)}; known in {source}: {listed}")
        return False

    def mask(
        self, key: str, change: object, table: pd.DataFrame, **columns: str | None
    ) -> np.ndarray:
        """Rows of ``table`` the change selects: its periods and each named column."""
        try:
            keep = select_periods(getattr(change, "periods", None), table["period"])
        except ValueError as error:
            self.fail(key, str(error))
            return np.zeros(len(table), dtype=bool)
        for column, value in columns.items():
            if value is not None:
                keep &= (table[column] == value).to_numpy()
        if not keep.any():
            named = ", ".join(f"{c} {shown(v)}" for c, v in columns.items() if v is not None)
            what = f" ({named})" if named else ""
            horizon = f"{self.inputs.periods[0]}..{self.inputs.periods[-1]}"
            self.fail(key, f"selects no row{what} in the horizon {horizon}")
        return keep

    def scaled(
        self, key: str, table: pd.DataFrame, column: str, changes: list, **by: str
    ) -> pd.DataFrame:
        """``table`` with ``column`` changed by each change in turn (on the rows it selects)."""
        table = table.copy()
        for number, change in enumerate(changes):
            selected = {name: getattr(change, attr) for name, attr in by.items()}
            keep = self.mask(f"{key}.{number}", change, table, **selected)
            table.loc[keep, column] = change.apply(table.loc[keep, column].astype(float))
        return table

    def grid(self, rows: pd.DataFrame, keys: pd.Series, key: str, column: str) -> pd.DataFrame:
        """A value for every (key, period): the table's own rows, or the constant."""
        periods = pd.Series(self.inputs.periods)
        full = pd.DataFrame(
            {
                key: np.repeat(keys.index.to_numpy(), len(periods)),
                "period": np.tile(periods, len(keys)),
            }
        )
        full[column] = np.repeat(keys.to_numpy(dtype=float), len(periods))
        if not rows.empty:
            given = rows.set_index([key, "period"])[column]
            index = pd.MultiIndex.from_frame(full[[key, "period"]])
            found = given.reindex(index).to_numpy()
            full[column] = np.where(np.isnan(found), full[column], found)
        return full


def apply(scenario: Scenario, inputs: PlanningInputs) -> PlanningInputs:
    """``inputs`` with the scenario's changes (validated again like the files).

    Raises
    ------
    InputError
        When a change selects nothing (an unknown SKU, a period outside the horizon)
        or the changed inputs do not validate.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_inputs
    >>> from capforecast.scenario.spec import Scenario
    >>> inputs = sample_planning_inputs()
    >>> cut = Scenario.model_validate({"name": "cut", "inputs": {"planning": "."},
    ...     "budget": [{"periods": "2027", "change": "-20%"}]})
    >>> changed = apply(cut, inputs)
    >>> after, before = changed.budget["capex_budget"], inputs.budget["capex_budget"]
    >>> round(float(after.iloc[0] / before.iloc[0]), 9)
    0.8
    """
    edit = _Editor(scenario, inputs)
    tables: dict[str, pd.DataFrame] = {}
    if scenario.demand:
        tables["demand"] = edit.scaled(
            "demand", inputs.demand, "demand", scenario.demand, workload="workload"
        )
        tables["scenarios"] = inputs.scenarios
    if scenario.budget:
        tables["budget"] = _budget(edit, inputs, scenario)
    if scenario.rent:
        tables["rent"] = edit.scaled(
            "rent", inputs.rent, "price", scenario.rent, workload="workload"
        )
    if scenario.prices:
        # A legacy SKU has no price to change (and may take no prices.csv row).
        catalog = inputs.catalog.set_index("sku")["unit_price"].dropna()
        prices = edit.grid(inputs.prices, catalog, "sku", "unit_price")
        tables["prices"] = edit.scaled("prices", prices, "unit_price", scenario.prices, sku="sku")
    if scenario.power:
        caps = inputs.sites.set_index("site")["power_cap_kw"]
        grid = edit.grid(inputs.site_power, caps, "site", "power_cap_kw")
        tables["site_power"] = edit.scaled(
            "power", grid, "power_cap_kw", scenario.power, site="site"
        )
    if scenario.lead_time:
        tables["catalog"] = _lead_times(edit, inputs.catalog, scenario)
    for key, column, default in (
        ("opex", "opex", 0.0),
        ("availability_share", "availability", 1.0),
        ("power_kw", "power_kw", 0.0),
    ):
        if getattr(scenario, key):
            catalog = tables.get("catalog", inputs.catalog)
            unknown = {
                number
                for number, change in enumerate(getattr(scenario, key))
                if not edit.known(
                    f"{key}.{number}.sku", change.sku, inputs.skus, "SKU", "catalog.csv"
                )
            }
            tables["catalog"] = _edit_column(
                edit, key, catalog, column, default, getattr(scenario, key), unknown, sku="sku"
            )
    if scenario.salvage_value:
        unknown = set()
        for number, change in enumerate(scenario.salvage_value):
            key = f"salvage_value.{number}"
            if not edit.known(f"{key}.sku", change.sku, inputs.skus, "SKU", "catalog.csv"):
                unknown.add(number)
            if not edit.known(f"{key}.site", change.site, inputs.sites_list, "site", "sites.csv"):
                unknown.add(number)
        tables["fleet"] = _edit_column(
            edit,
            "salvage_value",
            inputs.fleet,
            "salvage_value",
            0.0,
            scenario.salvage_value,
            unknown,
            sku="sku",
            site="site",
        )
    if scenario.vendor:
        tables["catalog"] = _vendors(edit, inputs, tables.get("catalog", inputs.catalog), scenario)
    if scenario.min_lots:
        tables["catalog"] = _min_lots(edit, inputs, tables.get("catalog", inputs.catalog), scenario)
    if scenario.vendor_limits or scenario.vendor:
        catalog = tables.get("catalog", inputs.catalog)
        limits = _vendor_limits(edit, inputs, catalog, scenario)
        if scenario.vendor_limits:
            tables["vendor_limits"] = limits
    # Which change last wrote each supply.csv row (sku, period), to blame for a conflict.
    touched: dict[tuple[str, pd.Period], str] = {}
    if scenario.availability:
        tables["supply"] = _availability(edit, inputs, scenario, touched)
    if scenario.supply:
        supply = tables.get("supply", inputs.supply)
        tables["supply"] = _supply(edit, inputs, supply, scenario, touched)
    if touched:
        catalog = tables.get("catalog", inputs.catalog)
        _check_supply(edit, inputs, catalog, tables["supply"], touched)
    if scenario.cloud_offers:
        tables["cloud_offers"] = _cloud_offers(edit, inputs, scenario)
    if scenario.perf:
        tables["perf"] = _perf(edit, inputs, scenario)
    if scenario.site_region:
        tables["sites"] = _site_regions(edit, inputs, scenario)
    if scenario.eligibility:
        sites = tables.get("sites", inputs.sites)
        tables["eligibility"] = _eligibility(edit, inputs, sites, scenario)
    if scenario.clusters:
        sites = tables.get("sites", inputs.sites)
        tables["clusters"] = _clusters(edit, inputs, sites, scenario)
    if edit.problems:
        raise InputError(edit.problems)
    # A commercial table left without rows is no file at all (not a header alone).
    tables_or_none: dict[str, pd.DataFrame | None] = {
        name: None if name in _OPTIONAL and table.empty else table for name, table in tables.items()
    }
    # Built again with the new options, so that they are checked against the tables
    # (penalties per known workload, say) and the consistency checks see them.
    options = PlanOptions(**{**inputs.options.model_dump(), **scenario.options})
    changed = replace(inputs, options=options).with_tables(**tables_or_none)
    if not scenario.constraints:
        return changed
    rules, problems = rules_from(
        scenario.constraints, scenario.source, scenario.lines, prefix=("constraints",)
    )
    if problems:
        raise InputError(problems)
    return changed.with_rules(rules)


#: Optional tables the commercial knobs may empty.
_OPTIONAL = ("supply", "vendor_limits", "cloud_offers")


def _edit_column(
    edit: _Editor,
    key: str,
    table: pd.DataFrame,
    column: str,
    default: float,
    changes: list,
    skip: set[int],
    **by: str,
) -> pd.DataFrame:
    """``table`` with ``column`` (a column without periods; an empty cell is ``default``)
    changed by each change on the rows it selects by the columns ``by`` names; the
    changes numbered in ``skip`` (already reported) are left out."""
    table = table.copy()
    for number, change in enumerate(changes):
        if number in skip:
            continue
        keep = np.ones(len(table), dtype=bool)
        for name, attr in by.items():
            value = getattr(change, attr)
            if value is not None:
                keep &= (table[name] == value).to_numpy()
        if not keep.any():
            named = ", ".join(f"{n} {shown(getattr(change, a))}" for n, a in by.items())
            edit.fail(f"{key}.{number}", f"selects no row ({named})")
            continue
        current = table.loc[keep, column].astype(float).fillna(default)
        table[column] = table[column].astype(float)
        table.loc[keep, column] = change.apply(current)
    return table


def _lead_times(edit: _Editor, catalog: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    catalog = catalog.copy()
    for number, change in enumerate(scenario.lead_time):
        rows = (catalog["sku"] == change.sku).to_numpy()
        if not rows.any():
            edit.fail(f"lead_time.{number}", f"unknown SKU {shown(change.sku)}")
            continue
        old = catalog.loc[rows, "lead_time"]
        new = old + change.add if change.add is not None else old * 0 + change.set
        catalog.loc[rows, "lead_time"] = new.clip(lower=0)
    return catalog


def _availability(
    edit: _Editor,
    inputs: PlanningInputs,
    scenario: Scenario,
    touched: dict[tuple[str, pd.Period], str],
) -> pd.DataFrame:
    """``supply.csv`` with 0 units for each SKU in the periods it cannot be ordered (a
    committed volume there is kept, and reported by :func:`_check_supply`)."""
    periods = pd.Series(inputs.periods)
    closed = []
    for number, rule in enumerate(scenario.availability):
        key = f"availability.{number}"
        if rule.sku not in inputs.skus:
            edit.fail(key, f"unknown SKU {shown(rule.sku)}")
            continue
        if rule.sku in set(inputs.catalog.loc[legacy_skus(inputs.catalog), "sku"]):
            edit.fail(key, f"SKU {shown(rule.sku)} is a legacy SKU: it cannot be ordered anyway")
            continue
        if rule.available:
            try:
                first = pd.Period(rule.first, freq=periods.dt.freq)
            except (ValueError, TypeError):
                edit.fail(f"{key}.from", f"not a period: {shown(rule.first)}")
                continue
            shut = periods[periods < first]
        else:
            shut = periods
        closed.append(pd.DataFrame({"sku": rule.sku, "period": shut, "max_units": 0.0}))
        touched.update({(rule.sku, period): key for period in shut})
    supply = pd.concat([_supply_table(inputs.supply), *closed], ignore_index=True)
    return supply.groupby(["sku", "period"], as_index=False, sort=False).agg(
        max_units=("max_units", "min"), min_units=("min_units", "max")
    )


def _perf(edit: _Editor, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """``perf.csv`` with each change on the factors of its SKU and/or workload; ``set``
    for a SKU and a workload without a row adds it."""
    perf = inputs.perf.copy()
    perf["factor"] = perf["factor"].astype(float)
    workloads = list(dict.fromkeys([*map(str, perf["workload"]), *inputs.workloads]))
    for number, change in enumerate(scenario.perf):
        key = f"perf.{number}"
        known = edit.known(f"{key}.sku", change.sku, inputs.skus, "SKU", "catalog.csv")
        if not edit.known(
            f"{key}.workload", change.workload, workloads, "workload", "perf.csv and demand.csv"
        ):
            known = False
        if not known:
            continue
        keep = np.ones(len(perf), dtype=bool)
        for column in ("sku", "workload"):
            if getattr(change, column) is not None:
                keep &= (perf[column] == getattr(change, column)).to_numpy()
        if keep.any():
            perf.loc[keep, "factor"] = change.apply(perf.loc[keep, "factor"])
        elif change.set is not None and change.sku is not None and change.workload is not None:
            row = {"sku": change.sku, "workload": change.workload, "factor": change.set}
            perf = pd.concat([perf, pd.DataFrame([row])], ignore_index=True)
        else:
            edit.fail(
                key,
                f"selects no row (sku {shown(change.sku)}, workload {shown(change.workload)}); "
                "to let a SKU serve a workload it does not yet, give both and 'set'",
            )
    return perf


def _site_regions(edit: _Editor, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """``sites.csv`` with each named site in its new region."""
    sites = inputs.sites.copy()
    sites["region"] = sites["region"].astype(object)
    for number, move in enumerate(scenario.site_region):
        key = f"site_region.{number}"
        if not inputs.has_regions:
            edit.fail(key, "the planning inputs have no regions (demand.csv has no region column)")
            return sites
        if edit.known(f"{key}.site", move.site, inputs.sites_list, "site", "sites.csv"):
            sites.loc[(sites["site"] == move.site).to_numpy(), "region"] = move.region
    return sites


def _eligibility(
    edit: _Editor, inputs: PlanningInputs, sites: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """``eligibility.csv`` with each site allowed or forbidden for the demand of a
    workload (or of every workload with demand there) in a region. A pair without rows
    is eligible for the sites of its region (docs/model.md §6.12): it is written out as
    those rows before it is changed, so that allowing one site adds to them."""
    listed: dict[tuple[str, str], list[str]] = {}
    for workload, region, site in inputs.eligibility[["workload", "region", "site"]].itertuples(
        index=False
    ):
        listed.setdefault((str(workload), str(region)), []).append(str(site))
    site_names = [str(k) for k in sites["site"]]
    site_region = dict(zip(site_names, sites["region"], strict=True))
    demand = inputs.demand[["workload", "region"]].dropna().drop_duplicates()
    pairs = [(str(w), str(g)) for w, g in demand.itertuples(index=False)]
    for number, change in enumerate(scenario.eligibility):
        key = f"eligibility.{number}"
        if not inputs.has_regions:
            edit.fail(key, "the planning inputs have no regions (demand.csv has no region column)")
            return inputs.eligibility
        ok = edit.known(f"{key}.region", change.region, inputs.regions, "region", "demand.csv")
        ok &= edit.known(f"{key}.site", change.site, site_names, "site", "sites.csv")
        ok &= edit.known(
            f"{key}.workload", change.workload, inputs.workloads, "workload", "demand.csv"
        )
        if not ok:
            continue
        chosen = [(w, g) for w, g in pairs if g == change.region]
        if change.workload is not None:
            chosen = [(w, g) for w, g in chosen if w == change.workload]
        if not chosen:
            who = f"workload {shown(change.workload)}" if change.workload else "any workload"
            edit.fail(key, f"{who} has no demand in region {shown(change.region)}")
            continue
        changed = False
        for pair in chosen:
            default = [k for k in site_names if site_region[k] == pair[1]]
            now = listed.get(pair, default)
            if change.allow:
                new = now if change.site in now else [*now, change.site]
            else:
                new = [k for k in now if k != change.site]
            if not new:
                edit.fail(
                    key,
                    f"forbids the last site for workload {shown(pair[0])} in region "
                    f"{shown(pair[1])}: a pair keeps at least one eligible site (one without "
                    "rows in eligibility.csv has the sites of its region); raise its "
                    "shortfall_penalty or rent instead",
                )
                continue
            changed |= new != now
            listed[pair] = new
        if not change.allow and not changed:
            edit.fail(key, f"site {shown(change.site)} is not eligible there already")
    rows = [(w, g, k) for (w, g), names in listed.items() for k in names]
    return pd.DataFrame(rows, columns=["workload", "region", "site"])


def _clusters(
    edit: _Editor, inputs: PlanningInputs, sites: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """``clusters.csv`` with each cluster added, removed, shifted or resized."""
    table = inputs.clusters.copy()
    for column in ("start", "end"):  # as labels, so that new rows can join them
        table[column] = [str(p) for p in table[column]]
    table["size"] = table["size"].astype(float)
    for number, change in enumerate(scenario.clusters):
        key = f"clusters.{number}"
        names = [str(c) for c in table["cluster"]]
        if change.add is not None:
            if change.cluster in names:
                edit.fail(f"{key}.cluster", f"cluster {shown(change.cluster)} already exists")
                continue
            row = _new_cluster(edit, key, change, inputs, sites)
            if row is not None:
                table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
            continue
        if not edit.known(f"{key}.cluster", change.cluster, names, "cluster", "clusters.csv"):
            continue
        rows = (table["cluster"] == change.cluster).to_numpy()
        if change.remove:
            table = table[~rows].reset_index(drop=True)
            continue
        if change.shift is not None:
            freq = inputs.periods.freq
            for column in ("start", "end"):
                table.loc[rows, column] = [
                    str(pd.Period(p, freq=freq) + change.shift) for p in table.loc[rows, column]
                ]
        table.loc[rows, "size"] = [change.resized(float(n)) for n in table.loc[rows, "size"]]
    return table


def _new_cluster(
    edit: _Editor,
    key: str,
    change: ClusterChange,
    inputs: PlanningInputs,
    sites: pd.DataFrame,
) -> dict[str, object] | None:
    """The ``clusters.csv`` row of an added cluster, or ``None`` (and problems)."""
    new = change.add
    assert new is not None
    where = f"{key}.add"
    workloads = list(dict.fromkeys(str(w) for w in inputs.perf["workload"]))
    ok = edit.known(f"{where}.workload", new.workload, workloads, "workload", "perf.csv")
    for column in ("skus", "sites"):
        names, what, source = (
            (inputs.skus, "SKU", "catalog.csv")
            if column == "skus"
            else ([str(k) for k in sites["site"]], "site", "sites.csv")
        )
        for item in getattr(new, column) or []:
            ok &= edit.known(f"{where}.{column}", item, names, what, source)
    if new.region is not None:
        regions = [str(g) for g in sites["region"].dropna().unique()]
        ok &= edit.known(f"{where}.region", new.region, regions, "region", "sites.csv")
    periods: dict[str, pd.Period] = {}
    for column in ("start", "end"):
        try:
            periods[column] = pd.Period(str(getattr(new, column)), freq=inputs.periods.freq)
        except (ValueError, TypeError, OverflowError):
            edit.fail(f"{where}.{column}", f"not a period: {shown(getattr(new, column))}")
            ok = False
    if ok and periods["end"] < periods["start"]:
        edit.fail(f"{where}.end", f"end ({periods['end']}) is before start ({periods['start']})")
        ok = False
    if not ok:
        return None
    return {
        "cluster": change.cluster,
        "workload": new.workload,
        "size": new.size,
        "start": str(periods["start"]),
        "end": str(periods["end"]),
        "region": new.region,
        "skus": None if new.skus is None else ";".join(new.skus),
        "sites": None if new.sites is None else ";".join(new.sites),
    }


#: What a period frequency's periods are called, by its first letter (``Y-DEC``: year).
_UNITS = {"Y": "year", "A": "year", "Q": "quarter", "M": "month", "W": "week", "D": "day"}


def _unit(period: pd.Period) -> str:
    return _UNITS.get(period.freqstr[:1], f"'{period.freqstr}' period")


def _budget(edit: _Editor, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """``budget.csv`` with each change on the rows it selects. A file in coarser periods
    than the horizon (a budget per year) is changed by whole rows only: a selection that
    covers part of a row (``2027Q3`` of the year 2027) is an error, since the file cannot
    say a budget for part of its period."""
    budget = inputs.budget
    freq = inputs.periods.freq
    if budget.empty or budget["period"].dtype == inputs.periods.dtype:
        return edit.scaled("budget", budget, "capex_budget", scenario.budget)
    table = budget.copy()
    table["capex_budget"] = table["capex_budget"].astype(float)
    for number, change in enumerate(scenario.budget):
        key = f"budget.{number}"
        keep = edit.mask(key, change, table)
        partial = []
        for row in table.index[keep]:
            period = table.at[row, "period"]
            finer = pd.Series(
                pd.period_range(period.asfreq(freq, "s"), period.asfreq(freq, "e"), freq=freq)
            )
            selected = select_periods(change.periods, finer)
            if not selected.all():
                partial.append((period, finer[selected]))
        if partial:
            period, covered = partial[0]
            unit = _unit(period)
            rows = ", ".join(str(p) for p in table["period"][:3])
            edit.fail(
                f"{key}.periods",
                f"budget.csv is by {unit} ({rows}{', ...' if len(table) > 3 else ''}), and "
                f"periods {shown(change.periods)} covers only part of {unit} {period} "
                f"({', '.join(str(p) for p in covered)}); select whole {unit}s "
                f'(periods: "{period}"), or give budget.csv per {_unit(inputs.periods[0])}',
            )
            continue
        table.loc[keep, "capex_budget"] = change.apply(table.loc[keep, "capex_budget"])
    return table


def _vendors(
    edit: _Editor, inputs: PlanningInputs, catalog: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """``catalog.csv`` with the ``vendor`` of each selected SKU set (or cleared)."""
    catalog = catalog.copy()
    catalog["vendor"] = catalog["vendor"].astype(object)
    for number, change in enumerate(scenario.vendor):
        key = f"vendor.{number}"
        if not edit.known(f"{key}.sku", change.sku, inputs.skus, "SKU", "catalog.csv"):
            continue
        rows = np.ones(len(catalog), dtype=bool)
        if change.sku is not None:
            rows = (catalog["sku"] == change.sku).to_numpy()
        catalog.loc[rows, "vendor"] = change.set
    return catalog


def _min_lots(
    edit: _Editor, inputs: PlanningInputs, catalog: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """``catalog.csv`` with the ``min_lots`` of each selected orderable SKU set (1 or
    ``null``: the cell emptied, no minimum)."""
    catalog = catalog.copy()
    catalog["min_lots"] = catalog["min_lots"].astype(float)
    legacy = legacy_skus(catalog).to_numpy(dtype=bool)
    for number, change in enumerate(scenario.min_lots):
        key = f"min_lots.{number}"
        if not edit.known(f"{key}.sku", change.sku, inputs.skus, "SKU", "catalog.csv"):
            continue
        if change.sku is None:
            rows = ~legacy
        else:
            rows = (catalog["sku"] == change.sku).to_numpy()
            if legacy[rows].any():
                edit.fail(
                    f"{key}.sku",
                    f"{shown(change.sku)} is a legacy SKU (no unit_price, lot_size, lead_time "
                    "or lifetime): it is never ordered, so it takes no min_lots",
                )
                continue
        value = np.nan if change.set is None or change.set == 1 else float(change.set)
        cold = rows & (catalog["power_kw"] == 0).to_numpy()
        if not np.isnan(value) and cold.any():
            names = [clipped(str(sku)) for sku in catalog.loc[cold, "sku"]]
            edit.fail(
                key,
                f"SKU {names[0]!r} draws no power (power_kw 0), so nothing bounds the size of "
                "its orders, which min_lots > 1 needs; give its power_kw (power_kw: [...])",
            )
            continue
        catalog.loc[rows, "min_lots"] = value
    return catalog


def _vendor_limits(
    edit: _Editor, inputs: PlanningInputs, catalog: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """``vendor_limits.csv`` with each row added, changed or removed. Checks that every
    vendor limited is still a vendor of the (changed) catalog: one that a ``vendor``
    change left without SKUs is reported at that change."""
    vendors = [str(v) for v in dict.fromkeys(catalog["vendor"].dropna())]
    table = inputs.vendor_limits[["vendor", "max_share", "min_share"]].reset_index(drop=True)
    table = table.astype({"vendor": object, "max_share": float, "min_share": float})
    last: dict[str, str] = {}  # the change that last wrote each vendor's row
    for number, change in enumerate(scenario.vendor_limits):
        key = f"vendor_limits.{number}"
        names = [str(v) for v in table["vendor"]]
        if change.remove:
            if change.vendor not in names:
                edit.fail(
                    f"{key}.vendor",
                    f"vendor_limits.csv has no limit for vendor {shown(change.vendor)} to "
                    f"remove; it limits: {sorted(clipped(n) for n in names)[:12]}",
                )
                continue
            table = table[table["vendor"] != change.vendor].reset_index(drop=True)
            last.pop(change.vendor, None)
            continue
        if not vendors:
            edit.fail(
                f"{key}.vendor",
                "catalog.csv gives no SKU a vendor: name them first "
                "(vendor: [{sku: B200, set: nvidia}]) to limit a vendor's share",
            )
            continue
        if not edit.known(f"{key}.vendor", change.vendor, vendors, "vendor", "catalog.csv"):
            continue
        if change.vendor not in names:
            row = {"vendor": change.vendor, "max_share": 1.0, "min_share": np.nan}
            table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
        rows = (table["vendor"] == change.vendor).to_numpy()
        if "max_share" in change.model_fields_set:
            table.loc[rows, "max_share"] = 1.0 if change.max_share is None else change.max_share
        if "min_share" in change.model_fields_set:
            table.loc[rows, "min_share"] = np.nan if change.min_share is None else change.min_share
        last[change.vendor] = key
    for vendor, high, low in table.itertuples(index=False):
        if vendor in last and low > high:
            edit.fail(
                last[vendor],
                f"min_share ({low:g}) of vendor {shown(vendor)} is above its max_share ({high:g})",
            )
    # A vendor limited in the file whose SKUs the scenario all gave another vendor.
    before = set(inputs.catalog["vendor"].dropna())
    owner = {
        str(sku): str(vendor)
        for sku, vendor in inputs.catalog[["sku", "vendor"]].dropna().itertuples(index=False)
    }
    for vendor in table["vendor"]:
        if vendor in vendors or vendor not in before or vendor in last:
            continue
        blame = [
            number
            for number, change in enumerate(scenario.vendor)
            if change.set != vendor and (change.sku is None or owner.get(change.sku) == vendor)
        ]
        if blame:
            edit.fail(
                f"vendor.{blame[-1]}",
                f"leaves vendor {shown(vendor)} without SKUs in catalog.csv, but "
                f"vendor_limits.csv limits it: remove that limit too (vendor_limits: "
                f"[{{vendor: {clipped(str(vendor))}, remove: true}}])",
            )
    return table


def _supply_table(supply: pd.DataFrame) -> pd.DataFrame:
    """The ``sku, period, max_units, min_units`` columns of ``supply.csv``, as floats."""
    table = supply[["sku", "period", "max_units", "min_units"]].reset_index(drop=True)
    return table.astype({"sku": object, "max_units": float, "min_units": float})


def _supply(
    edit: _Editor,
    inputs: PlanningInputs,
    supply: pd.DataFrame,
    scenario: Scenario,
    touched: dict[tuple[str, pd.Period], str],
) -> pd.DataFrame:
    """``supply.csv`` with each change on the rows of its SKUs and order periods (of the
    horizon), adding the rows that do not exist; a row left with neither limit is
    dropped (it says nothing)."""
    table = _supply_table(supply)
    horizon = pd.Series(inputs.periods)
    legacy = set(inputs.catalog.loc[legacy_skus(inputs.catalog), "sku"])
    orderable = [sku for sku in inputs.skus if sku not in legacy]
    for number, change in enumerate(scenario.supply):
        key = f"supply.{number}"
        if not edit.known(f"{key}.sku", change.sku, inputs.skus, "SKU", "catalog.csv"):
            continue
        if change.sku in legacy:
            edit.fail(
                f"{key}.sku",
                f"{shown(change.sku)} is a legacy SKU: it cannot be ordered, so it takes no "
                "supply.csv row",
            )
            continue
        try:
            selected = select_periods(change.periods, horizon)
        except ValueError as error:
            edit.fail(f"{key}.periods", str(error))
            continue
        if not selected.any():
            edit.fail(
                f"{key}.periods",
                f"selects no order period of the horizon {inputs.periods[0]}..{inputs.periods[-1]}",
            )
            continue
        skus = [change.sku] if change.sku is not None else orderable
        periods = list(horizon[selected])
        present = set(zip(table["sku"], table["period"], strict=True))
        new = [(s, p) for s in skus for p in periods if (s, p) not in present]
        if new:
            rows = pd.DataFrame(new, columns=["sku", "period"])
            rows["period"] = pd.PeriodIndex(rows["period"], freq=inputs.periods.freq)
            table = pd.concat(
                [table, rows.assign(max_units=np.nan, min_units=np.nan)], ignore_index=True
            )
        rows_mask = (table["sku"].isin(skus) & table["period"].isin(periods)).to_numpy()
        for column in change.given():
            value = getattr(change, column)
            if isinstance(value, Scale):
                current = table.loc[rows_mask, column]
                if current.isna().all():
                    edit.fail(
                        f"{key}.{column}",
                        f"no {column} to scale in the selected rows; give a number to set one",
                    )
                    continue
                table.loc[rows_mask, column] = value.apply(current)  # no limit stays none
            else:
                table.loc[rows_mask, column] = np.nan if value is None else float(value)
        touched.update(
            {
                pair: key
                for pair in zip(table["sku"][rows_mask], table["period"][rows_mask], strict=True)
            }
        )
        empty = rows_mask & table[["max_units", "min_units"]].isna().all(axis=1).to_numpy()
        table = table[~empty].reset_index(drop=True)
    return table


def _check_supply(
    edit: _Editor,
    inputs: PlanningInputs,
    catalog: pd.DataFrame,
    supply: pd.DataFrame,
    touched: dict[tuple[str, pd.Period], str],
) -> None:
    """The rows of ``supply.csv`` the scenario wrote: no minimum above the maximum, and
    no committed volume whose orders would arrive after the horizon. Each problem is
    reported once per change, at the change that last wrote the row."""
    lead = catalog.set_index("sku")["lead_time"]
    found: dict[str, list[str]] = {}
    for sku, period, most, least in supply.itertuples(index=False):
        key = touched.get((sku, period))
        if key is None or not least > 0:
            continue
        if least > most:
            found.setdefault(key, []).append(
                f"SKU {shown(sku)} in {period}: min_units ({least:g}) is above max_units ({most:g})"
            )
        elif not pd.isna(lead.get(sku)) and period + int(lead[sku]) > inputs.periods[-1]:
            found.setdefault(key, []).append(
                f"SKU {shown(sku)}: orders placed in {period} arrive in "
                f"{period + int(lead[sku])} (lead time {int(lead[sku])}), after the horizon "
                f"ends ({inputs.periods[-1]}), so no order can meet a committed volume then"
            )
    for key, messages in found.items():
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        edit.fail(key, messages[0] + more)


def _cloud_offers(edit: _Editor, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """``cloud_offers.csv`` with each offer added, removed or changed."""
    columns = ["offer", "workload", "price", "term", "max_units", "notice", "region"]
    table = (
        inputs.cloud_offers[columns]
        .reset_index(drop=True)
        .astype({"offer": object, "workload": object, "region": object})
    )
    table = table.astype({"price": float, "term": float, "max_units": float, "notice": float})
    workloads = [str(w) for w in dict.fromkeys(inputs.demand["workload"].dropna())]
    for number, change in enumerate(scenario.cloud_offers):
        key = f"cloud_offers.{number}"
        names = [str(n) for n in table["offer"]]
        if change.add is not None:
            if change.offer in names:
                edit.fail(f"{key}.offer", f"offer {shown(change.offer)} already exists")
                continue
            row = _new_offer(edit, key, change, inputs, workloads)
            if row is not None:
                table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
            continue
        if not names:
            edit.fail(
                f"{key}.offer",
                f"unknown offer {shown(change.offer)}: cloud_offers.csv has none (add one "
                "with add: {workload: ..., price: ..., term: ...})",
            )
            continue
        if not edit.known(f"{key}.offer", change.offer, names, "offer", "cloud_offers.csv"):
            continue
        rows = (table["offer"] == change.offer).to_numpy()
        if change.remove:
            table = table[~rows].reset_index(drop=True)
            continue
        table.loc[rows, "price"] = [change.priced(float(p)) for p in table.loc[rows, "price"]]
        fields = change.model_fields_set
        if "max_units" in fields:
            table.loc[rows, "max_units"] = np.nan if change.max_units is None else change.max_units
        if "term" in fields and change.term is not None:
            table.loc[rows, "term"] = float(change.term)
        if "notice" in fields:
            table.loc[rows, "notice"] = float(change.notice or 0)
    return table


def _new_offer(
    edit: _Editor,
    key: str,
    change: OfferChange,
    inputs: PlanningInputs,
    workloads: list[str],
) -> dict[str, object] | None:
    """The ``cloud_offers.csv`` row of an added offer, or ``None`` (and problems)."""
    new = change.add
    assert new is not None
    where = f"{key}.add"
    ok = edit.known(f"{where}.workload", new.workload, workloads, "workload", "demand.csv")
    if inputs.has_regions and new.region is None:
        edit.fail(
            where,
            f"demand.csv has regions, so an offer needs one (region: one of "
            f"{sorted(clipped(g) for g in inputs.regions)[:12]})",
        )
        ok = False
    elif not inputs.has_regions and new.region is not None:
        edit.fail(
            f"{where}.region",
            "demand.csv has no region column, so an offer cannot name one: drop 'region'",
        )
        ok = False
    elif new.region is not None:
        regions = [str(g) for g in dict.fromkeys(inputs.demand["region"].dropna())]
        ok &= edit.known(f"{where}.region", new.region, regions, "region", "demand.csv")
    if not ok:
        return None
    return {
        "offer": change.offer,
        "workload": new.workload,
        "price": new.price,
        "term": float(new.term),
        "max_units": np.nan if new.max_units is None else new.max_units,
        "notice": float(new.notice),
        "region": new.region,
    }
