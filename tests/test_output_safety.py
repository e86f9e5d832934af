"""Output safety: names from the inputs (scenarios, SKUs, sites) are untrusted text. They
never become live spreadsheet formulas, never choose where files go, never break a plot
or the HTML report; ``--out`` is checked before any work; running out of memory or over
a limit is one readable line (docs/reports.md, "Untrusted names")."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from matplotlib.cbook import is_math_text
from matplotlib.figure import Figure
from matplotlib.text import Text

from capforecast.cli.main import run
from capforecast.core.io import FORMULA_STARTS, csv_bytes, safe_name, safe_names
from capforecast.examples import sample_planning_dir, sample_planning_inputs
from capforecast.plan.inputs import PlanningInputs, read_planning_inputs, write_planning_inputs
from capforecast.plan.solve import solve
from capforecast.report import plots
from capforecast.report.html import PLAN_FIGURES
from capforecast.scenario.compare import compare, frontier
from tests.conftest import CliResult

FORMULA_SKU = "=2+5"
MATH_SKU = "$\\frac{a$ x_1^2"
HIDDEN_SKU = "_spare^2"  # a legend leaves out labels that start with '_'
DDE_SITE = "@SUM(1+1)"
RENAMED = {
    "sku": {"Gaudi3": FORMULA_SKU, "B200": MATH_SKU, "H200": HIDDEN_SKU},
    "site": {"amsterdam": DDE_SITE},
}
HYPERLINK = '=HYPERLINK("http://evil.example/x","click")'
SCRIPT = "$\\frac{a$ <script>alert(1)</script> _^"
ESCAPING = "../../escaped-dir"
FAST = {"explain": False, "mip_gap": 0.01, "time_limit_s": 30}


def _hostile_planning(folder: Path) -> Path:
    """The sample planning inputs with SKUs and a site renamed to hostile names."""
    shutil.copytree(sample_planning_dir(), folder)
    for path in folder.glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column, names in RENAMED.items():
            if column in table:
                table[column] = table[column].replace(names)
        table.to_csv(path, index=False)
    return folder


def _scenario(folder: Path, stem: str, name: str, planning: Path, **changes: object) -> Path:
    path = folder / f"{stem}.yaml"
    document = {"name": name, "inputs": {"planning": str(planning)}, "options": FAST, **changes}
    path.write_text(yaml.safe_dump(document))
    return path


def _tree(root: Path, but: Path) -> dict[str, bytes]:
    """Every file under ``root`` outside ``but``, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_relative_to(but)
    }


class _Page(HTMLParser):
    """The tags, attributes and text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class Hostile:
    """One ``capforecast report`` of four hostile scenario names on hostile inputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.planning = _hostile_planning(root / "planning")
        self.absolute = str(root / "absolute-target")
        self.names = [HYPERLINK, SCRIPT, ESCAPING, self.absolute]
        files = [
            _scenario(root, f"s{number}", name, self.planning, budget=[{"change": -0.05 * number}])
            for number, name in enumerate(self.names)
        ]
        # What the old code wrote over, and removed, where '../../escaped-dir' led.
        sentinel = root / "escaped-dir" / "inputs" / "scenarios.csv"
        sentinel.parent.mkdir(parents=True)
        sentinel.write_text("scenario,probability\nmine,1\n")
        self.before = _tree(root, self.out)
        self.code = run(["report", *map(str, files), "--out", str(self.out)])
        self.after = _tree(root, self.out)
        self.folders = safe_names(self.names)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return Hostile(tmp_path_factory.mktemp("hostile"))


def test_the_report_of_hostile_names_succeeds(hostile: Hostile) -> None:
    assert hostile.code == 0
    assert (hostile.out / "report.html").is_file() and (hostile.out / "report.xlsx").is_file()


def test_no_workbook_cell_is_a_formula_and_the_names_are_intact(hostile: Hostile) -> None:
    book = openpyxl.load_workbook(hostile.out / "report.xlsx")
    formulas = [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    kpis = [c.value for c in book["kpis"]["A"][1:]]
    assert kpis == hostile.names
    assert all(c.data_type == "s" and c.quotePrefix for c in book["kpis"]["A"][1:2])
    skus = {c.value for c in book["units_by_sku"]["B"][1:]}
    assert {FORMULA_SKU, MATH_SKU} <= skus
    sheets = pd.read_excel(hostile.out / "report.xlsx", sheet_name=None)
    assert set(sheets["purchases"]["plan"]) == set(hostile.names)
    assert sheets["deltas"]["total_cost [USD]"].dtype.kind == "f"  # numbers stay numbers


def _cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def _formula_like(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell.startswith(FORMULA_STARTS)
    return False  # a number, even a negative one, is not a formula


def test_every_report_csv_is_neutralised_and_numbers_stay_numbers(hostile: Hostile) -> None:
    reports = [p for p in hostile.out.rglob("*.csv") if "inputs" not in p.parts]
    assert len(reports) > 20
    risky = [(p.name, c) for p in reports for row in _cells(p) for c in row if _formula_like(c)]
    assert risky == []
    kpis = pd.read_csv(hostile.out / "kpis.csv")
    assert kpis["scenario"].tolist() == [f"'{HYPERLINK}", SCRIPT, ESCAPING, hostile.absolute]
    deltas = pd.read_csv(hostile.out / "deltas.csv").select_dtypes("number")
    assert (deltas < 0).any().any()  # numbers that start with '-' stay numbers
    folder = hostile.out / "scenarios" / hostile.folders[HYPERLINK]
    orders = pd.read_csv(folder / "purchases.csv")
    assert f"'{FORMULA_SKU}" in set(orders["sku"]) and MATH_SKU in set(orders["sku"])


def test_the_written_inputs_keep_exact_names_and_solve_again(
    hostile: Hostile, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = hostile.out / "scenarios" / hostile.folders[HYPERLINK]
    catalog = {row[0] for row in _cells(folder / "inputs" / "catalog.csv")}
    assert {FORMULA_SKU, MATH_SKU, HIDDEN_SKU} <= catalog  # data, not a report: exact text
    inputs = read_planning_inputs(folder / "inputs")
    assert inputs.skus == read_planning_inputs(hostile.planning).skus
    again = cli("plan", folder / "inputs", "--out", tmp_path / "again")
    assert again.code == 0, again.stderr
    first = yaml.safe_load((folder / "plan.json").read_text())["objective"]
    second = yaml.safe_load((tmp_path / "again" / "plan.json").read_text())["objective"]
    assert second == pytest.approx(first, rel=1e-9)


def test_names_do_not_choose_where_files_go(hostile: Hostile) -> None:
    assert hostile.after == hostile.before  # nothing written or removed outside --out
    assert not Path(hostile.absolute).exists()
    written = sorted(p.name for p in (hostile.out / "scenarios").iterdir())
    assert written == sorted(hostile.folders.values()) and len(set(written)) == 4
    for folder in written:
        assert (hostile.out / "scenarios" / folder / "plan.json").is_file()
        assert (hostile.out / "scenarios" / folder / "inputs" / "catalog.csv").is_file()
    summary = (hostile.out / "summary.md").read_text()
    assert f"(in `scenarios/{hostile.folders[ESCAPING]}/`)" in summary
    assert "<script>" not in summary and "\\<script\\>" in summary


def test_the_html_report_escapes_every_name(hostile: Hostile) -> None:
    page = _Page()
    page.feed((hostile.out / "report.html").read_text())
    assert "script" not in page.tags
    assert [a for a in page.attributes if a[1].startswith("on") or a[1] == "href"] == []
    images = [value for tag, name, value in page.attributes if name == "src"]
    assert len(images) == 1 + len(hostile.names) * len(PLAN_FIGURES)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    text = "".join(page.text)
    assert f"Plan: {SCRIPT}" in text and f"Plan: {HYPERLINK}" in text  # shown as text


def _drawn(figure: Figure) -> list[str]:
    """Every text of a drawn figure, as matplotlib shows it."""
    plots.png(figure)  # draws: fails on bad mathtext
    texts = figure.findobj(Text)
    shown = [t.get_text() for t in texts]
    assert [s for s in shown if is_math_text(s)] == []
    return [s.replace(r"\$", "$").removeprefix("\u200b") for s in shown]


def test_plots_draw_names_with_dollars_underscores_and_carets_as_text(
    tmp_path: Path,
) -> None:
    inputs: PlanningInputs = read_planning_inputs(_hostile_planning(tmp_path / "p"))
    inputs = inputs.with_options(**FAST)
    cut = inputs.budget.assign(capex_budget=inputs.budget["capex_budget"] * 0.8)
    plans = {MATH_SKU: solve(inputs), SCRIPT: solve(inputs.with_tables(budget=cut))}
    plan = plans[MATH_SKU]
    shown = {name: _drawn(getattr(plots, name)(plan)) for name in PLAN_FIGURES}
    ordered = set(plan.purchases["sku"])
    assert {FORMULA_SKU, MATH_SKU} <= ordered
    assert ordered <= set(shown["purchases"])  # every ordered SKU in a legend
    assert HIDDEN_SKU in shown["capacity"] and MATH_SKU in shown["coverage"]
    assert f"Power at {DDE_SITE} (kW)" in shown["power"]
    comparison = compare(plans)
    assert SCRIPT in _drawn(plots.deltas(comparison))
    assert f"expected cost against {MATH_SKU} (USD million)" in _drawn(plots.deltas(comparison))
    assert {MATH_SKU, SCRIPT} <= set(_drawn(plots.frontier(frontier(comparison))))


def test_csv_neutralises_text_that_starts_a_formula_not_numbers() -> None:
    table = pd.DataFrame(
        {
            "name": ["=2+5", "+x", "-1+2", "@SUM(A1)", "\tx", "\rx", "-5", "-1.2e3", "H100", None],
            "units": [-5, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "cost": [-1.2e3, -0.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan],
            "=sum": pd.Categorical(["=a", "b"] * 5),
        }
    )
    rows = _cells_of(csv_bytes(table))
    assert rows[0] == ["name", "units", "cost", "'=sum"]
    assert [r[0] for r in rows[1:]] == [
        "'=2+5", "'+x", "'-1+2", "'@SUM(A1)", "'\tx", "'\rx", "-5", "-1.2e3", "H100", "",
    ]  # fmt: skip
    assert [r[1] for r in rows[1:3]] == ["-5", "1"] and rows[1][2] == "-1200"
    assert rows[1][3] == "'=a" and rows[2][3] == "b"
    exact = pd.read_csv(io.BytesIO(csv_bytes(table, exact=True)), dtype=str, na_filter=False)
    assert exact["name"].tolist() == [*table["name"][:-1], ""]  # inputs: text as it is
    assert exact["=sum"].tolist() == table["=sum"].tolist()  # a lone '\r' breaks no row
    plan = solve(sample_planning_inputs().with_options(**FAST))
    for normal in (plan.purchases, plan.capacity, plan.shortfall, plan.spend, plan.power):
        before = normal.to_csv(index=False, lineterminator="\n", float_format="%.10g")
        assert csv_bytes(normal) == before.encode()  # the same bytes as without neutralising


def _cells_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def test_safe_names_stay_in_their_folder_and_distinct(tmp_path: Path) -> None:
    names = [
        "cut", "Cut", "base budget -40%", "..", ".", "", ".hidden", "/etc/passwd",
        "..\\..\\windows", "a/../../b", "con", "nul.txt", "x" * 300, "é" * 200, "a\x00b",
        "-rf", "name ", "tab\there", "a" * 80 + "/", "a" * 80 + "?",
    ]  # fmt: skip
    folders = safe_names(names)
    assert len(set(folders.values())) == len(names)
    assert len({f.casefold() for f in folders.values()}) == len(names)
    assert folders["base budget -40%"] == "base budget -40%"  # safe names stay as they are
    for name, folder in folders.items():
        assert re.fullmatch(r"[\w .,+%()-]+", folder), (name, folder)
        assert not folder.startswith((".", "-", " ")) and len(folder.encode()) <= 80
        assert (tmp_path / folder).resolve().parent == tmp_path.resolve()
        assert folder.split(".")[0].casefold() not in ("con", "nul")
        assert safe_name(folder) == folder  # a safe name is its own
        (tmp_path / folder).mkdir()  # every one is a folder this system can make


def test_write_planning_inputs_removes_only_its_own_optional_files(tmp_path: Path) -> None:
    inputs = sample_planning_inputs().with_tables(rent=None, site_power=None)
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "rent.csv").write_text("stale")  # an optional table now empty: removed
    (folder / "scenarios.csv").mkdir()  # a folder is never removed (nor a crash)
    (folder / "notes.csv").write_text("mine")  # not a planning file: kept
    precious = tmp_path / "precious.csv"
    precious.write_text("keep")
    (folder / "site_power.csv").symlink_to(precious)  # the link goes, not its target
    written = write_planning_inputs(inputs, folder)
    assert all(path.parent == folder for path in written)
    assert not (folder / "rent.csv").exists() and not (folder / "site_power.csv").is_symlink()
    assert (folder / "scenarios.csv").is_dir() and (folder / "notes.csv").read_text() == "mine"
    assert precious.read_text() == "keep"


def test_sweep_and_run_write_only_inside_out(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    path = _scenario(tmp_path, "s", "../../sweep-out", sample_planning_dir())
    before = _tree(tmp_path, tmp_path / "out")
    swept = cli("sweep", path, "--out", tmp_path / "out", "--budget-from", "-10%",
                "--budget-to", "0%", "--steps", "2")  # fmt: skip
    assert swept.code == 0, swept.stderr
    names = ["../../sweep-out budget -10%", "../../sweep-out budget +0%"]
    assert sorted(pd.read_csv(tmp_path / "out" / "frontier.csv")["scenario"]) == sorted(names)
    folders = sorted(p.name for p in (tmp_path / "out" / "scenarios").iterdir())
    assert folders == sorted(safe_names(names).values())
    one = cli("run", path, "--out", tmp_path / "out" / "one[/x]")  # a path, not rich markup
    assert one.code == 0, one.stderr
    assert (tmp_path / "out" / "one[" / "x]" / "plan.json").is_file()
    assert f"{tmp_path}/out/one[/x]/inputs/" in one.stdout.replace("\n", "")
    assert _tree(tmp_path, tmp_path / "out") == before


TABLE_COMMANDS = {
    "forecast": ["HISTORY", "--horizon", "4"],
    "backtest": ["HISTORY", "--horizon", "4"],
    "ingest": ["CONFIG"],
}
FOLDER_COMMANDS = {
    "plan": ["PLANNING"],
    "utilization": ["CONFIG"],
    "demo": [],
    "run": ["SCENARIO"],
    "compare": ["SCENARIO"],
    "report": ["SCENARIO"],
    "sweep": ["SCENARIO"],
}


def _bad_outs(tmp_path: Path, kind: str) -> dict[str, tuple[Path, str]]:
    file = tmp_path / "taken.csv"
    file.write_text("x")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    if kind == "folder":
        return {
            "a file": (file, "is a file, not a folder"),
            "inside a file": (file / "sub", "is a file, so nothing can be made in it"),
            "not writable": (Path("/sys/capforecast-out"), "cannot write in /sys"),
        }
    return {
        "a folder": (folder, "is a folder, not a file"),
        "inside a file": (file / "x.csv", "is a file, so nothing can be made in it"),
        "not a table": (tmp_path / "x.txt", "name a .csv or .parquet file"),
        "not writable": (Path("/sys/x.csv"), "cannot write in /sys"),
    }


@pytest.mark.parametrize(
    ("command", "kind"),
    [*((c, "table") for c in TABLE_COMMANDS), *((c, "folder") for c in FOLDER_COMMANDS)],
)
def test_out_is_checked_before_any_work(
    command: str,
    kind: str,
    tmp_path: Path,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The inputs do not exist: a command that read them before checking --out would
    # report them instead. The demo's inputs exist, so its first step must not run.
    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr("capforecast.cli.main.read_history", started)
    arguments = {**TABLE_COMMANDS, **FOLDER_COMMANDS}
    given = [str(tmp_path / "missing" / a) if a.isupper() else a for a in arguments[command]]
    for case, (out, message) in _bad_outs(tmp_path, kind).items():
        result = cli(command, *given, "--out", out)
        assert result.code == 2, (case, result.stderr)
        assert result.stderr.startswith(f"error: --out {out}: "), (case, result.stderr)
        assert message in result.stderr and result.stderr.count("\n") == 1, (case, result.stderr)


def test_files_written_beside_out_are_checked_before_any_work(
    tmp_path: Path, history_file: Path, cli: Callable[..., CliResult]
) -> None:
    # forecast --paths writes f.paths.csv, ingest f.demand.csv and f.problems.csv beside
    # OUT: a folder in the way of one is found before the work, not after it.
    for command, part, given in (
        ("forecast", "paths", [history_file, "--horizon", 2, "--paths", 2]),
        ("ingest", "problems", [tmp_path / "missing" / "telemetry.yaml"]),
    ):
        (tmp_path / f"f.{part}.csv").mkdir()
        result = cli(command, *given, "--out", tmp_path / "f.csv")
        assert result.code == 2 and f"f.{part}.csv: is a folder, not a file" in result.stderr
        assert not (tmp_path / "f.csv").exists()


def test_running_out_of_memory_or_over_a_limit_is_one_line(
    planning_dir: Path,
    history_file: Path,
    tmp_path: Path,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    over = cli("forecast", history_file, "--horizon", 100_000, "--out", tmp_path / "f.csv")
    assert over.code == 2 and over.stderr.startswith("error: ") and "limit" in over.stderr
    assert over.stderr.count("\n") == 1 and "Traceback" not in over.stderr

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(sys.modules["capforecast.plan.solve"], "solve", exhausted)
    result = cli("plan", planning_dir, "--out", tmp_path / "plan")
    assert result.code == 2, result.stderr
    assert result.stderr.startswith(
        "error: ran out of memory while running 'capforecast plan'; the input asks for more "
        "than this machine has"
    )
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
