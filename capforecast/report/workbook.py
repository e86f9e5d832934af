"""The Excel workbook for finance: one sheet per table, numbers as numbers, the unit of
every figure in its header (``total_cost [USD]``), the same bytes for the same tables.

Text is text: a name that starts like a formula (``=HYPERLINK(...)``, ``=2+5``) is
written as a string cell marked to stay text when edited (``quotePrefix``), never as a
formula, and the characters XML cannot hold (control characters) show as U+FFFD."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from capforecast.core.io import map_text, neutral, write_bytes_atomic
from capforecast.plan.result import Plan
from capforecast.scenario.compare import Comparison
from capforecast.scenario.run import ScenarioRun

#: Units of the columns capforecast writes, by name or by suffix.
UNITS = {
    "total_cost": "USD",
    "capex_orders": "USD",
    "capex": "USD",
    "budget": "USD",
    "cumulative_capex": "USD",
    "cumulative_budget": "USD",
    "cost": "USD",
    "unit_price": "USD",
    "units_ordered": "units",
    "units": "units",
    "lots": "lots",
    "expected_shortfall": "reference unit-periods",
    "expected_rented": "reference unit-periods",
    "demand": "reference units",
    "served": "reference units",
    "rented": "reference units",
    "unmet": "reference units",
    "coverage": "share",
    "probability": "share",
    "share": "share",
    "min_share": "share",
    "max_share": "share",
    "reserved": "reference units",
    "cash": "USD",
    "present_value": "USD",
    "cash_present_value": "USD",
    "penalty": "USD",
    "energy": "USD",
    "opex": "USD",
    "cloud_offers": "USD",
    "rent": "USD",
    "salvage": "USD",
    "total": "USD",
    "energy_cost": "USD",
    "in_service_capex": "USD",
    "depreciation": "USD",
    "book_value": "USD",
    "pnl": "USD",
}
SUFFIXES = {
    "_kw": "kW",
    "_usd": "USD",
    "_per_hour": "USD per reference unit-hour",
    "_per_period": "USD per reference unit-period",
}
_UNIT = re.compile(r" \[[^\]]*\]$")


def unit(column: str) -> str | None:
    """The unit of a column, or None (labels, counts without a unit)."""
    if column.startswith("cost_"):
        return "USD"
    if column in UNITS:
        return UNITS[column]
    return next((u for s, u in SUFFIXES.items() if column.endswith(s)), None)


def with_units(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each header that has a unit as ``name [unit]``; labels as text.

    Examples
    --------
    >>> list(with_units(pd.DataFrame(columns=["scenario", "total_cost", "draw_kw"])).columns)
    ['scenario', 'total_cost [USD]', 'draw_kw [kW]']
    """
    table = table.copy()
    for column in table.columns:
        if isinstance(table[column].dtype, pd.PeriodDtype):
            table[column] = table[column].astype(str)
    return table.rename(columns=lambda c: f"{c} [{unit(c)}]" if unit(c) else c)


def without_units(columns: pd.Index) -> list[str]:
    """Headers read back from a sheet, without their ``[unit]``."""
    return [_UNIT.sub("", str(c)) for c in columns]


def workbook(tables: Mapping[str, pd.DataFrame]) -> bytes:
    """The workbook of ``tables`` (sheet name: table; names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in zip(sheet_names(list(tables)), tables.values(), strict=True):
            map_text(with_units(table), _storable).to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            _text_as_text(sheet)
            sheet.freeze_panes = "A2"
            for cells in sheet.iter_cols(min_row=1, max_row=1):
                width = max(len(str(cells[0].value)), 10)
                sheet.column_dimensions[cells[0].column_letter].width = min(width + 2, 40)
    return _stable(buffer.getvalue())


def _storable(text: str) -> str:
    """``text`` without the characters XML cannot hold (openpyxl refuses them)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _text_as_text(sheet: Any) -> None:  # an openpyxl Worksheet
    """Every text cell that a spreadsheet would read as a formula (openpyxl makes one of
    any text starting with ``=``): a string, and kept text when edited."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and neutral(cell.value) != cell.value:
                cell.data_type = "s"
                cell.quotePrefix = True


def sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names for ``names``: at most 31 characters, unique regardless of case.

    Examples
    --------
    >>> sheet_names(["a" * 40, "a" * 35, "Kpis", "kpis"])
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa~2', 'Kpis', 'kpis~2']
    """
    taken: set[str] = set()
    result = []
    for name in names:
        candidate, number = name[:31], 1
        while candidate.lower() in taken:
            number += 1
            suffix = f"~{number}"
            candidate = name[: 31 - len(suffix)] + suffix
        taken.add(candidate.lower())
        result.append(candidate)
    return result


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """Write :func:`workbook` to ``path`` atomically."""
    write_bytes_atomic(Path(path), workbook(tables))


def _stable(data: bytes) -> bytes:
    """The same workbook without what changes from run to run: the file times inside the
    zip and the created and modified times of its properties."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<3>",
                    content,
                )
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return buffer.getvalue()


#: The tables of every plan in the workbook, in order; the last three only where a plan
#: has rows.
PLAN_SHEETS = (
    "costs", "cash", "fiscal_years", "capex_by_vendor", "depreciation", "tco", "purchases",
    "spend", "shortfall", "offers", "vendors", "rules",
)  # fmt: skip


def comparison_sheets(
    runs: Sequence[ScenarioRun], comparison: Comparison
) -> dict[str, pd.DataFrame]:
    """The sheets of the finance workbook: the comparison's tables, then the money of every
    plan (``costs``: cash apart from valuations; ``cash``: by period), its orders, spend
    and shortfall, with the plan's scenario name in a first ``plan`` column
    (``scenario`` in ``shortfall`` is the demand scenario); and, where any plan has them,
    its reserved cloud contracts (``offers``), capex by vendor (``vendors``) and the
    analyst's rules at the plan (``rules``)."""
    tables = {name: table.reset_index() for name, table in comparison.tables().items()}
    for name in PLAN_SHEETS:
        frames = [_plan_table(run.plan, name) for run in runs]
        if name in ("offers", "vendors", "rules") and all(f.empty for f in frames):
            continue
        tables[name] = pd.concat(
            [
                f.assign(plan=run.name)[["plan", *f.columns]]
                for f, run in zip(frames, runs, strict=True)
            ],
            ignore_index=True,
        )
    return tables


def _plan_table(plan: Plan, name: str) -> pd.DataFrame:
    """A plan's table by name; ``costs`` is :meth:`Plan.cost_table`."""
    return plan.cost_table() if name == "costs" else getattr(plan, name)
