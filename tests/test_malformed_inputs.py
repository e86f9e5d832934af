"""A catalogue of malformed inputs: each one gets exit code 2 and names file, row, column.

Every case edits a copy of the sample planning inputs in one way, then checks both shells
of the same validation: the library raises one ``InputError`` carrying a ``Problem`` at the
expected place, and the CLI exits 2 with a readable message and no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from capforecast import InputError, read_history, read_planning_inputs


def _edit_csv(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        path = directory / name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(table).to_csv(path, index=False)

    return apply


def _set(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set the cell at file row ``row`` (header = row 1) of ``column``."""

    def change(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[row - 2, column] = value
        return table

    return _edit_csv(name, change)


def _write(name: str, text: str) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        (directory / name).write_text(text)

    return apply


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        for edit in edits:
            edit(directory)

    return apply


@dataclass(frozen=True)
class Case:
    """One malformed input and where the error must point."""

    name: str
    edit: Callable[[Path], None]
    file: str
    row: int | None
    column: str | None
    words: str  # a fragment the message must contain
    exact: bool = False  # the message must be exactly ``words``


def _add_scenarios(probabilities: tuple[float, float]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        demand = pd.read_csv(directory / "demand.csv")
        low = demand.assign(scenario="low", demand=demand["demand"] * 0.8)
        high = demand.assign(scenario="high", demand=demand["demand"] * 1.2)
        pd.concat([low, high]).to_csv(directory / "demand.csv", index=False)
        pd.DataFrame({"scenario": ["low", "high"], "probability": probabilities}).to_csv(
            directory / "scenarios.csv", index=False
        )

    return apply


CASES = [
    Case(
        "missing column",
        _edit_csv("catalog.csv", lambda t: t.drop(columns=["lot_size"])),
        "catalog.csv",
        1,
        "lot_size",
        "required column is missing",
    ),
    Case(
        "wrong type",
        _set("catalog.csv", 3, "unit_price", "cheap"),
        "catalog.csv",
        3,
        "unit_price",
        "expected a number, got 'cheap'",
    ),
    Case(
        "fractional lot size",
        _set("catalog.csv", 4, "lot_size", "2.5"),
        "catalog.csv",
        4,
        "lot_size",
        "expected an integer",
    ),
    Case(
        "lot size below one",
        _set("catalog.csv", 2, "lot_size", "0"),
        "catalog.csv",
        2,
        "lot_size",
        "must be >= 1",
    ),
    Case(
        "negative demand",
        _set("demand.csv", 5, "demand", "-10"),
        "demand.csv",
        5,
        "demand",
        "must be >= 0",
    ),
    Case(
        "PUE below one",
        _set("sites.csv", 3, "pue", "0.9"),
        "sites.csv",
        3,
        "pue",
        "must be >= 1",
    ),
    Case(
        "duplicate key",
        _set("sites.csv", 4, "site", "virginia"),
        "sites.csv",
        4,
        "site",
        "duplicate key site='virginia' (first on row 2)",
    ),
    Case(
        "unknown SKU in fleet",
        _set("fleet.csv", 3, "sku", "A100"),
        "fleet.csv",
        3,
        "sku",
        "unknown SKU 'A100'",
    ),
    Case(
        "unknown SKU in perf",
        _set("perf.csv", 6, "sku", "TPUv5"),
        "perf.csv",
        6,
        "sku",
        "unknown SKU 'TPUv5'",
    ),
    Case(
        "unknown site in site_power",
        _set("site_power.csv", 2, "site", "oregon"),
        "site_power.csv",
        2,
        "site",
        "unknown site 'oregon'",
    ),
    Case(
        "unparsable period",
        _set("budget.csv", 7, "period", "2028-Q2"),
        "budget.csv",
        7,
        "period",
        "expected a period label like '2027Q1' or '2027' (one frequency per file), got '2028-Q2'",
    ),
    Case(
        "gap in the demand periods",
        _edit_csv("demand.csv", lambda t: t[t["period"] != "2027Q3"]),
        "demand.csv",
        None,
        "period",
        "missing: 2027Q3",
    ),
    Case(
        "missing demand combination",
        _edit_csv(
            "demand.csv",
            lambda t: t[
                ~((t["workload"] == "training") & (t["period"] == "2028Q1") & (t["region"] == "eu"))
            ],
        ),
        "demand.csv",
        None,
        "demand",
        "no row for workload 'training', region 'eu', period 2028Q1",
        exact=True,
    ),
    Case(
        "the label NaT as a period",
        _set("prices.csv", 3, "period", "NaT"),
        "prices.csv",
        3,
        "period",
        "expected a period label like '2027Q1', got 'NaT'",
    ),
    Case(
        "unknown workload in the shortfall penalty map",
        _write("options.yaml", "shortfall_penalty:\n  trainin: 5\n"),
        "options.yaml",
        None,
        "shortfall_penalty.trainin",
        "unknown workload 'trainin'",
    ),
    Case(
        "missing budget period",
        _edit_csv("budget.csv", lambda t: t[t["period"] != "2028Q2"]),
        "budget.csv",
        None,
        "period",
        "no budget row for 2028Q2",
    ),
    Case(
        "probabilities not summing to 1",
        _add_scenarios((0.5, 0.4)),
        "scenarios.csv",
        None,
        "probability",
        "probabilities must sum to 1",
    ),
    Case(
        "scenario column without scenarios.csv",
        _both(_add_scenarios((0.5, 0.5)), lambda directory: (directory / "scenarios.csv").unlink()),
        "scenarios.csv",
        None,
        None,
        "scenarios.csv with 'scenario, probability' is required",
    ),
    Case(
        "existing fleet over a site's power cap",
        # (The sample lets the plan retire fleet early, which makes this a warning.)
        _both(_set("fleet.csv", 5, "units", "9000"), _write("options.yaml", "")),
        "fleet.csv",
        None,
        "units",
        "existing fleet at site 'amsterdam' draws 15,491.2 kW in 2027Q1, over the power cap "
        "of 9,500.0 kW",
    ),
    Case(
        "existing fleet over a site's slots",
        _both(_set("sites.csv", 4, "slots", "2000"), _write("options.yaml", "")),
        "fleet.csv",
        None,
        "units",
        "existing fleet at site 'amsterdam' has 3,000 units in 2027Q1, over the 2,000 slots",
    ),
    Case(
        "retirement before availability",
        _both(
            _set("fleet.csv", 7, "available_from", "2027Q3"),
            _set("fleet.csv", 7, "retire_period", "2027Q2"),
        ),
        "fleet.csv",
        7,
        "retire_period",
        "retire_period (2027Q2) must come after available_from (2027Q3)",
        exact=True,
    ),
    Case(
        "malformed options.yaml",
        _write("options.yaml", "discount_rate: [0.1\nmip_gap: 0.01\n"),
        "options.yaml",
        2,
        None,
        "not valid YAML",
    ),
    Case(
        "option of the wrong type",
        _write("options.yaml", "mip_gap: fast\n"),
        "options.yaml",
        1,
        "mip_gap",
        "got 'fast'",
    ),
    Case(
        "unknown option",
        _write("options.yaml", "discount: 0.1\n"),
        "options.yaml",
        1,
        "discount",
        "unknown option",
    ),
    Case(
        "option value not offered",
        _write("options.yaml", "risk: var\n"),
        "options.yaml",
        1,
        "risk",
        "'none' or 'cvar'",
    ),
    Case(
        "service level above 1",
        _write("options.yaml", "service_level: {training: 1.5}\n"),
        "options.yaml",
        1,
        "service_level",
        "between 0 and 1",
    ),
    Case(
        "empty file",
        _write("catalog.csv", ""),
        "catalog.csv",
        None,
        None,
        "file is empty",
    ),
    Case(
        "header without rows",
        _write("budget.csv", "period,capex_budget\n"),
        "budget.csv",
        None,
        None,
        "no data rows",
    ),
    Case(
        "missing required file",
        lambda directory: (directory / "perf.csv").unlink(),
        "perf.csv",
        None,
        None,
        "file not found",
    ),
    Case(
        "missing value",
        _set("sites.csv", 2, "energy_price", ""),
        "sites.csv",
        2,
        "energy_price",
        "missing value",
    ),
]


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 15
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_library_names_file_row_and_column(case: Case, planning_dir: Path) -> None:
    case.edit(planning_dir)
    with pytest.raises(InputError) as raised:
        read_planning_inputs(planning_dir)
    matches = [
        p
        for p in raised.value.problems
        if p.file == case.file and p.row == case.row and p.column == case.column
    ]
    assert matches, f"no problem at {case.file}/{case.row}/{case.column}: {raised.value}"
    if case.exact:
        assert any(case.words == p.message for p in matches), str(raised.value)
    else:
        assert any(case.words in p.message for p in matches), str(raised.value)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cli_exits_2_with_one_readable_message(
    case: Case, planning_dir: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    case.edit(planning_dir)
    out = tmp_path / "out"
    result = cli("plan", planning_dir, "--out", out)
    assert result.code == 2  # type: ignore[attr-defined]
    message = result.stderr  # type: ignore[attr-defined]
    assert message.startswith("error: ")
    assert "Traceback" not in message
    assert case.file in message and case.words in message
    if case.row is not None:
        where = "line" if case.file.endswith(".yaml") else "row"  # a YAML file has lines
        assert f"{where} {case.row}" in message
    if case.column is not None:
        assert f"'{case.column}'" in message
    assert not out.exists(), "nothing may be written for invalid input"


def test_every_problem_is_reported_at_once(planning_dir: Path) -> None:
    # Cell problems, a cross-file reference, a missing demand row and a missing budget
    # period: all in one error, not one round at a time.
    _set("catalog.csv", 3, "unit_price", "cheap")(planning_dir)
    _set("sites.csv", 3, "pue", "0.5")(planning_dir)
    _set("fleet.csv", 3, "sku", "A100")(planning_dir)
    _edit_csv("demand.csv", lambda t: t.drop(index=[4]))(planning_dir)
    _edit_csv("budget.csv", lambda t: t[t["period"] != "2028Q2"])(planning_dir)
    with pytest.raises(InputError) as raised:
        read_planning_inputs(planning_dir)
    found = {(p.file, p.row, p.column) for p in raised.value.problems}
    assert found == {
        ("catalog.csv", 3, "unit_price"),
        ("sites.csv", 3, "pue"),
        ("fleet.csv", 3, "sku"),
        ("demand.csv", None, "demand"),
        ("budget.csv", None, "period"),
    }


HISTORY_CASES = [
    ("negative demand", lambda t: t.assign(y=t["y"].where(t.index != 10, "-3")), 12, "y", ">= 0"),
    (
        "unparsable date",
        lambda t: t.assign(ds=t["ds"].where(t.index != 4, "yesterday")),
        6,
        "ds",
        "'yesterday'",
    ),
    (
        "duplicate key",
        lambda t: t.assign(ds=t["ds"].where(t.index != 1, t.loc[0, "ds"])),
        3,
        "ds",
        "duplicate key",
    ),
    ("gap in a series", lambda t: t.drop(index=[20, 21, 22]), 22, "ds", "3 missing D period(s)"),
]


@pytest.mark.parametrize(
    ("name", "change", "row", "column", "words"), HISTORY_CASES, ids=[c[0] for c in HISTORY_CASES]
)
def test_history_problems_exit_2(
    name: str,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    row: int,
    column: str,
    words: str,
    history_file: Path,
    tmp_path: Path,
    cli: Callable[..., object],
) -> None:
    table = pd.read_csv(history_file, dtype=str, keep_default_na=False)
    change(table).to_csv(history_file, index=False)
    with pytest.raises(InputError) as raised:
        read_history(history_file)
    assert any(
        p.row == row and p.column == column and words in p.message for p in raised.value.problems
    ), str(raised.value)
    result = cli("forecast", history_file, "--horizon", 7, "--out", tmp_path / "f.csv")
    assert result.code == 2  # type: ignore[attr-defined]
    assert f"row {row}" in result.stderr and "Traceback" not in result.stderr  # type: ignore[attr-defined]
