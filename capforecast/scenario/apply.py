"""Applying a scenario's changes to planning inputs: new, validated inputs, the old ones
untouched.

Every change is a plain edit of the tables of docs/data.md, so the changed inputs can be
written out and solved by anyone: a price change writes ``prices.csv`` rows, a SKU that
cannot be ordered before a period writes ``supply.csv`` rows of 0, a power cap for some
periods writes ``site_power.csv`` rows, a lead-time slip edits ``catalog.csv``, as do opex and
availability changes, and a salvage change edits ``fleet.csv``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import shown
from capforecast.plan.inputs import PlanningInputs, legacy_skus
from capforecast.plan.options import PlanOptions
from capforecast.scenario.spec import Periods, Scenario

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

    def mask(
        self, key: str, change: object, table: pd.DataFrame, **columns: str | None
    ) -> np.ndarray:
        """Rows of ``table`` the change selects: its periods and each named column."""
        try:
            keep = select_periods(getattr(change, "periods", None), table["period"])
        except ValueError as error:
            self.problems.append(Problem(self.file, None, key, str(error)))
            return np.zeros(len(table), dtype=bool)
        for column, value in columns.items():
            if value is not None:
                keep &= (table[column] == value).to_numpy()
        if not keep.any():
            named = ", ".join(f"{c} {shown(v)}" for c, v in columns.items() if v is not None)
            what = f" ({named})" if named else ""
            horizon = f"{self.inputs.periods[0]}..{self.inputs.periods[-1]}"
            message = f"selects no row{what} in the horizon {horizon}"
            self.problems.append(Problem(self.file, None, key, message))
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
    >>> float(changed.budget["capex_budget"].iloc[0]), float(inputs.budget["capex_budget"].iloc[0])
    (36000000.0, 45000000.0)
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
    ):
        if getattr(scenario, key):
            catalog = tables.get("catalog", inputs.catalog)
            tables["catalog"] = _edit_column(
                edit, key, catalog, column, default, getattr(scenario, key), sku="sku"
            )
    if scenario.salvage_value:
        tables["fleet"] = _edit_column(
            edit,
            "salvage_value",
            inputs.fleet,
            "salvage_value",
            0.0,
            scenario.salvage_value,
            sku="sku",
            site="site",
        )
    if scenario.availability:
        tables["supply"] = _availability(edit, inputs, scenario)
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
    **by: str,
) -> pd.DataFrame:
    """``table`` with ``column`` (a column without periods; an empty cell is ``default``)
    changed by each change on the rows it selects by the columns ``by`` names."""
    table = table.copy()
    for number, change in enumerate(changes):
        keep = np.ones(len(table), dtype=bool)
        for name, attr in by.items():
            value = getattr(change, attr)
            if value is not None:
                keep &= (table[name] == value).to_numpy()
        if not keep.any():
            named = ", ".join(f"{n} {shown(getattr(change, a))}" for n, a in by.items())
            message = f"selects no row ({named})"
            edit.problems.append(Problem(edit.file, None, f"{key}.{number}", message))
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
            edit.problems.append(
                Problem(edit.file, None, f"lead_time.{number}", f"unknown SKU {shown(change.sku)}")
            )
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
            edit.problems.append(Problem(edit.file, None, key, f"unknown SKU {shown(rule.sku)}"))
            continue
        if rule.sku in set(inputs.catalog.loc[legacy_skus(inputs.catalog), "sku"]):
            message = f"SKU {shown(rule.sku)} is a legacy SKU: it cannot be ordered anyway"
            edit.problems.append(Problem(edit.file, None, key, message))
            continue
        if rule.available:
            try:
                first = pd.Period(rule.first, freq=periods.dt.freq)
            except (ValueError, TypeError):
                edit.problems.append(
                    Problem(edit.file, None, key, f"not a period: {shown(rule.first)}")
                )
                continue
            shut = periods[periods < first]
        else:
            shut = periods
        closed.append(pd.DataFrame({"sku": rule.sku, "period": shut, "max_units": 0.0}))
    supply = pd.concat([inputs.supply, *closed], ignore_index=True)
    return supply.groupby(["sku", "period"], as_index=False, sort=False)["max_units"].min()
