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
``clusters.csv``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import clipped, shown
from capforecast.plan.inputs import PlanningInputs, legacy_skus
from capforecast.plan.options import PlanOptions
from capforecast.scenario.spec import ClusterChange, Periods, Scenario

_RANGE = re.compile(r"^\s*(\S+)\s*\.\.\s*(\S+)\s*$")


def select_periods(spec: Periods, periods: pd.Series) -> np.ndarray:
    """Which of ``periods`` the selector ``spec`` names (see the scenario format).

    Examples
    --------
    >>> horizon = pd.Series(pd.period_range("2027Q1", periods=8, freq="Q"))
    >>> select_periods("2027", horizon).sum(), select_periods("2027Q4..2028Q2", horizon).sum()
    (np.int64(4), np.int64(3))
    >>> months = pd.Series(pd.period_range("2027-01", periods=12, freq="M"))
    >>> select_periods("2027Q1..2027Q2", months).sum(), select_periods("2027Q3", months).sum()
    (np.int64(6), np.int64(3))
    """
    if spec is None:
        return np.ones(len(periods), dtype=bool)
    if isinstance(spec, list):
        masks = [select_periods(item, periods) for item in spec]
        return np.logical_or.reduce(masks) if masks else np.zeros(len(periods), dtype=bool)
    text = str(spec).strip()
    try:
        found = _RANGE.match(text)
        first, last = (
            (pd.Period(found.group(1)), pd.Period(found.group(2)))
            if found
            else (pd.Period(text, freq="Y") if re.fullmatch(r"\d{4}", text) else pd.Period(text),)
            * 2
        )
        first_start, last_end = np.datetime64(first.start_time), np.datetime64(last.end_time)
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime: 9999Q4
        raise ValueError(
            f"periods {shown(text)} is not a period label (2027Q3), a year "
            '("2027") or a range (2027Q1..2028Q2)'
        ) from None
    # A label selects the periods it overlaps: 2027Q3 is July-September on a monthly
    # horizon, and "2027" every quarter of the year on a quarterly one.
    starts = periods.dt.start_time.to_numpy()
    ends = periods.dt.end_time.to_numpy()
    return (ends >= first_start) & (starts <= last_end)


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
        tables["budget"] = edit.scaled("budget", inputs.budget, "capex_budget", scenario.budget)
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
    if scenario.availability:
        tables["supply"] = _availability(edit, inputs, scenario)
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
    # Built again with the new options, so that they are checked against the tables
    # (penalties per known workload, say) and the consistency checks see them.
    options = PlanOptions(**{**inputs.options.model_dump(), **scenario.options})
    return replace(inputs, options=options).with_tables(**tables)


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


def _availability(edit: _Editor, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """``supply.csv`` with 0 units for each SKU in the periods it cannot be ordered."""
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
    supply = pd.concat([inputs.supply, *closed], ignore_index=True)
    return supply.groupby(["sku", "period"], as_index=False, sort=False)["max_units"].min()


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
