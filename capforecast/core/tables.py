"""Table schemas with lazy validation.

A :class:`TableSchema` checks a raw table (as read from CSV, every cell a string; or from
Parquet, already typed) and returns the typed table together with *every* problem found:
missing columns, unparsable cells, values out of range and duplicate keys. Nothing is
raised here; the loaders gather the problems of all files and raise one
:class:`~capforecast.core.errors.InputError`.

The typed table is indexed by the row number of the source file, counted as a spreadsheet
does (header = row 1), so that cross-file checks can name rows too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capforecast.core.errors import Problem
from capforecast.core.limits import clipped

Kind = Literal["str", "int", "float", "period", "coarse_period", "timestamp"]

_KIND_WORDS = {
    "str": "a text value",
    "int": "an integer",
    "float": "a number",
    "period": "a period label",
    "coarse_period": "a period label at the horizon's frequency or a coarser one",
    "timestamp": "a date or timestamp",
}


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    Parameters
    ----------
    name
        The fixed column name.
    kind
        What every cell must parse as.
    description
        One line for documentation and error messages.
    required
        The column must be present in the file.
    nullable
        Empty cells are allowed (they become missing values).
    minimum, maximum
        Inclusive bounds for numbers.
    """

    name: str
    kind: Kind
    description: str = ""
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def bound_text(self) -> str:
        """The allowed range in words, e.g. ``'>= 0'``."""
        parts = []
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class TableSchema:
    """A table contract: named, typed columns and an optional unique key.

    Examples
    --------
    >>> schema = TableSchema("budget.csv", (
    ...     Column("period", "period"),
    ...     Column("capex_budget", "float", minimum=0),
    ... ), key=("period",))
    >>> raw = pd.DataFrame({"period": ["2027Q1", "2027Q1", "Q3"],
    ...                     "capex_budget": ["1e6", "-5", "x"]})
    >>> table, problems = schema.validate(raw)
    >>> for p in problems:
    ...     print(p)
    budget.csv, row 3, column 'capex_budget': must be >= 0, got '-5'
    budget.csv, row 3, column 'period': duplicate key period='2027Q1' (first on row 2)
    budget.csv, row 4, column 'capex_budget': expected a number, got 'x'
    budget.csv, row 4, column 'period': expected a period label like '2027Q1', got 'Q3'
    """

    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Column names in contract order."""
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def validate(
        self,
        raw: pd.DataFrame,
        *,
        file: str | None = None,
        freq: str = "Q",
    ) -> tuple[pd.DataFrame, list[Problem]]:
        """Parse ``raw`` against this contract; return the typed table and all problems.

        Columns not in the contract are kept unchanged (as attributes). Rows with
        problems are kept too, with missing values where cells did not parse, so that
        later checks can still run; callers must not use the table if problems exist.
        """
        label = file or self.file
        problems: list[Problem] = []
        missing = [c.name for c in self.columns if c.required and c.name not in raw.columns]
        for name in missing:
            problems.append(
                Problem(
                    label,
                    1,
                    name,
                    f"required column is missing; the header has {list(map(str, raw.columns))}",
                )
            )
        table = raw.copy()
        table.index = pd.RangeIndex(2, 2 + len(raw), name="row")
        for column in self.columns:
            if column.name not in table.columns:
                if not column.required:
                    table[column.name] = _empty(column.kind, freq, table.index)
                continue
            values, column_problems = _parse(table[column.name], column, label, freq)
            table[column.name] = values
            problems.extend(column_problems)
        # An optional key column that the file leaves out does not take part in the key.
        key = tuple(name for name in self.key if name in raw.columns)
        if key and not missing:
            problems.extend(_duplicate_keys(table, key, label))
        return table, sorted(problems, key=_problem_order)


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.row or 0, problem.column or "")


def _empty(kind: Kind, freq: str, index: pd.Index) -> pd.Series:
    """An all-missing column of the right type, for an optional column left out."""
    if kind in ("period", "coarse_period"):
        dtype = f"period[{_period_dtype(freq)}]"
        return pd.Series(pd.array([pd.NaT] * len(index), dtype=dtype), index=index)
    if kind == "timestamp":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if kind in ("int", "float"):
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(pd.NA, index=index, dtype="string")


def coarser_frequencies(freq: str) -> list[str]:
    """``freq`` and the coarser calendar frequencies a budget may be given in: quarters
    (for a finer horizon) and years.

    Examples
    --------
    >>> coarser_frequencies("Q"), coarser_frequencies("M")
    (['Q', 'Y'], ['M', 'Q', 'Y'])
    """
    start = pd.Timestamp("2027-01-01")
    span = pd.Period(start, freq=freq).end_time
    return [freq] + [f for f in ("Q", "Y") if pd.Period(start, freq=f).end_time > span]


def _period_dtype(freq: str) -> str:
    return pd.Period("2000-01-01", freq=freq).freqstr


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings, with empty cells as missing."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _parse(
    values: pd.Series, column: Column, file: str, freq: str
) -> tuple[pd.Series, list[Problem]]:
    text = _as_text(values)
    present = text.notna()
    problems: list[Problem] = []

    def report(mask: pd.Series, message: str) -> None:
        for row, cell in text[mask].items():
            problems.append(
                Problem(file, int(row), column.name, message.format(cell=clipped(str(cell))))
            )

    if column.kind == "str":
        parsed: pd.Series = text
        bad = pd.Series(False, index=values.index)
    elif column.kind in ("int", "float"):
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            parsed = values.astype("float64")
        else:
            parsed = pd.to_numeric(text, errors="coerce").astype("float64")
        finite = np.isfinite(parsed.to_numpy(dtype="float64", na_value=np.nan))
        bad = present & ~pd.Series(finite, index=values.index)
        if column.kind == "int":
            bad = bad | (present & (parsed % 1 != 0))
        report(bad, f"expected {_KIND_WORDS[column.kind]}, got '{{cell}}'")
        parsed = parsed.where(~bad)
    elif column.kind == "period":
        parsed, bad = _parse_periods(text, freq)
        example = str(pd.Period("2027-01-01", freq=freq))
        report(bad, f"expected a period label like '{example}', got '{{cell}}'")
    elif column.kind == "coarse_period":
        candidates = coarser_frequencies(freq)
        # One frequency per file: the one most cells are written in (the finest of a tie).
        tries = [_parse_periods(text, f) for f in candidates]
        parsed, bad = min(tries, key=lambda parsed_bad: int(parsed_bad[1].sum()))
        examples = " or ".join(f"'{pd.Period('2027-01-01', freq=f)}'" for f in candidates)
        report(
            bad, f"expected a period label like {examples} (one frequency per file), got '{{cell}}'"
        )
    else:
        parsed = _parse_timestamps(values, text)
        bad = present & parsed.isna()
        report(bad, f"expected {_KIND_WORDS['timestamp']} such as '2026-01-31', got '{{cell}}'")

    if not column.nullable:
        report(~present, "missing value")
    if column.kind in ("int", "float"):
        numbers = parsed
        too_low = pd.Series(False, index=values.index)
        if column.minimum is not None:
            too_low = numbers < column.minimum
        too_high = numbers > column.maximum if column.maximum is not None else too_low & False
        out_of_range = present & ~bad & (too_low | too_high)
        report(out_of_range, f"must be {column.bound_text()}, got '{{cell}}'")
    return parsed, problems


def _parse_timestamps(values: pd.Series, text: pd.Series) -> pd.Series:
    """Timestamps as naive datetimes; zone-aware ones are converted to UTC first."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values
    else:
        with warnings.catch_warnings():
            # Unparsable cells become NaT and are reported by the caller, row by row.
            warnings.simplefilter("ignore")
            stamps = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _parse_periods(text: pd.Series, freq: str) -> tuple[pd.Series, pd.Series]:
    """Parse period labels; a label must be written as pandas writes it (``2027Q1``)."""
    lookup: dict[str, pd.Period | None] = {}
    for label in text.dropna().unique():
        try:
            period = pd.Period(str(label), freq=freq)
        except (ValueError, TypeError):
            lookup[str(label)] = None
            continue
        valid = not pd.isna(period) and str(period) == str(label)
        lookup[str(label)] = period if valid else None
    cells = [None if pd.isna(v) else str(v) for v in text.tolist()]
    periods = [None if cell is None else lookup[cell] for cell in cells]
    bad = pd.Series(
        [cell is not None and period is None for cell, period in zip(cells, periods, strict=True)],
        index=text.index,
    )
    array = pd.array(
        [pd.NaT if p is None else p for p in periods], dtype=f"period[{_period_dtype(freq)}]"
    )
    return pd.Series(array, index=text.index), bad


def _duplicate_keys(table: pd.DataFrame, key: tuple[str, ...], file: str) -> Iterable[Problem]:
    complete = table[list(key)].dropna()
    duplicated = complete.duplicated(keep=False)
    if not duplicated.any():
        return []
    first_rows = (
        complete[duplicated].reset_index().groupby(list(key), sort=False)["row"].transform("min")
    )
    problems = []
    for (row, values), first in zip(complete[duplicated].iterrows(), first_rows, strict=True):
        if row == first:
            continue
        shown = ", ".join(f"{name}='{values[name]}'" for name in key)
        problems.append(
            Problem(file, int(row), key[-1], f"duplicate key {shown} (first on row {first})")
        )
    return problems


def check_known(
    table: pd.DataFrame,
    column: str,
    known: Iterable[object],
    file: str,
    *,
    what: str,
    source: str,
) -> list[Problem]:
    """Problems for every value of ``column`` that is not among ``known``.

    Examples
    --------
    >>> fleet = pd.DataFrame({"sku": ["H100", "A100"]}, index=pd.Index([2, 3], name="row"))
    >>> [str(p) for p in check_known(fleet, "sku", ["H100"], "fleet.csv", what="SKU",
    ...                              source="catalog.csv")]
    ["fleet.csv, row 3, column 'sku': unknown SKU 'A100'; known in catalog.csv: ['H100']"]
    """
    allowed = set(known)
    shown = sorted(clipped(str(name)) for name in allowed)
    if len(shown) > 12:
        shown = [*shown[:12], "..."]
    problems = []
    for row, value in table[column].items():
        if pd.notna(value) and value not in allowed:
            problems.append(
                Problem(
                    file,
                    int(row),
                    column,
                    f"unknown {what} '{clipped(str(value))}'; known in {source}: {shown}",
                )
            )
    return problems
