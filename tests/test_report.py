"""Plots, the HTML report and the Excel workbook: they draw what the plans hold, the
report needs nothing from a network, the workbook gives back the CSV numbers, and both
are the same bytes run after run."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from capforecast.examples import sample_planning_dir, sample_planning_inputs
from capforecast.plan.solve import solve
from capforecast.report import plots
from capforecast.report.html import PLAN_FIGURES
from capforecast.report.workbook import without_units
from capforecast.scenario.compare import compare, frontier
from tests.conftest import CliResult


@pytest.fixture(scope="module")
def two_plans() -> dict:
    inputs = sample_planning_inputs().with_options(explain=False)
    catalog = inputs.catalog.copy()
    catalog.loc[catalog["sku"] == "B200", "lead_time"] += 2
    return {"base": solve(inputs), "slip": solve(inputs.with_tables(catalog=catalog))}


def test_plan_plots_draw_the_plans_numbers(two_plans: dict) -> None:
    plan = two_plans["base"]
    figure = plots.purchases(plan)
    sites = sorted(plan.purchases["site"].unique())
    assert [a.get_title() for a in figure.axes] == [
        f"Orders at {s} (units, by order period)" for s in sites
    ]
    # The bars of each panel add up to the units ordered there.
    for axis, site in zip(figure.axes, sites, strict=True):
        drawn = sum(bar.get_height() for bar in axis.patches)
        assert drawn == plan.purchases[plan.purchases["site"] == site]["units"].sum()
    spend = plots.spend(plan).axes[0]
    heights = [bar.get_height() for bar in spend.patches]
    np.testing.assert_allclose(heights, plan.spend["capex"] / 1e6)
    coverage = plots.coverage(plan).axes[0]
    demand = coverage.get_lines()[0].get_ydata()
    expected = plan.shortfall.groupby(plan.shortfall["period"].astype(str))["demand"].sum()
    np.testing.assert_allclose(demand, expected.to_numpy())
    assert len(plots.power(plan).axes) == plan.power["site"].nunique()
    installed = plots.capacity(plan).axes[0].collections  # one band per SKU
    assert len(installed) == plan.capacity["sku"].nunique()
    assert plots.png(plots.coverage(plan)) == plots.png(plots.coverage(plan))  # no timestamps


def test_comparison_and_other_plots(two_plans: dict) -> None:
    comparison = compare(two_plans)
    assert len(plots.deltas(comparison).axes) == len(plots.DELTA_FIGURES)
    points = frontier(comparison)
    assert len(plots.frontier(points).axes[0].collections[0].get_offsets()) == len(points)
    days = pd.date_range("2026-01-01", periods=60, freq="D")
    history = pd.DataFrame({"unique_id": "a", "ds": days, "y": np.arange(60.0)})
    future = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2026-03-02", periods=7, freq="D"), "mean": 60.0}
    ).assign(**{"lo-80": 55.0, "hi-80": 65.0, "lo-95": 50.0, "hi-95": 70.0})
    fan = plots.forecast_fan(history, future).axes[0]
    assert len(fan.collections) == 2  # one band per level
    folds = future.assign(cutoff=pd.Timestamp("2026-03-01"), model="ets", y=61.0)
    assert plots.backtest(folds).axes[0].get_title() == "a: ets backtest"
    profile = pd.DataFrame(
        {"workload": "inference", "profile": ["hour_of_day"] * 24 + ["day_of_week"] * 7,
         "slot": [*range(24), *range(7)], "relative": 1.0}
    )  # fmt: skip
    assert len(plots.profiles(profile).axes) == 2


class _Links(HTMLParser):
    """Every URL an HTML page would fetch or link to, and its images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "data") and value:
                (self.images if tag == "img" else self.urls).append(value)


def _scenarios(folder: Path) -> list[Path]:
    base = folder / "baseline.yaml"
    base.write_text(
        yaml.safe_dump(
            {
                "description": "The sample inputs",
                "inputs": {"planning": str(sample_planning_dir())},
                "options": {"explain": False},
            }
        )
    )
    cut = folder / "cut.yaml"
    cut.write_text(
        yaml.safe_dump(
            {"extends": "baseline.yaml", "description": "2027 budget -20%",
             "budget": [{"periods": "2027", "change": "-20%"}]}
        )
    )  # fmt: skip
    return [base, cut]


def test_report_is_self_contained_and_the_workbook_gives_back_the_csv_numbers(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    files = _scenarios(tmp_path)
    runs = []
    for out in ("a", "b"):
        result = cli("report", *files, "--out", tmp_path / out)
        assert result.code == 0, result.stderr
        runs.append(tmp_path / out)
    first, second = runs
    page = (first / "report.html").read_text()
    links = _Links()
    links.feed(page)
    assert links.urls == []  # nothing to fetch, nothing to follow
    assert len(links.images) == 1 + 2 * len(PLAN_FIGURES)  # deltas, then each plan's
    assert all(src.startswith("data:image/png;base64,") for src in links.images)
    assert not re.search(r"https?://", page)
    assert "cut against baseline" in page
    for name in ("report.html", "report.xlsx"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    sheets = pd.read_excel(first / "report.xlsx", sheet_name=None)
    for name in ("kpis", "deltas", "capex_by_year", "units_by_sku", "power_headroom"):
        csv = pd.read_csv(first / f"{name}.csv")
        sheet = sheets[name]
        assert without_units(sheet.columns) == list(csv.columns), name
        assert any("[" in str(c) for c in sheet.columns) or name == "units_by_sku"
        for column, values in zip(csv.columns, sheet.columns, strict=True):
            if pd.api.types.is_numeric_dtype(csv[column]):
                np.testing.assert_allclose(sheet[values], csv[column], rtol=1e-9)
            else:
                assert sheet[values].astype(str).tolist() == csv[column].astype(str).tolist()
    orders = sheets["purchases"]
    for scenario in ("baseline", "cut"):
        csv = pd.read_csv(first / "scenarios" / scenario / "purchases.csv")
        rows = orders[orders["plan"] == scenario]
        np.testing.assert_allclose(rows["units [units]"], csv["units"])
        np.testing.assert_allclose(rows["capex [USD]"], csv["capex"])
    assert sheets["kpis"]["total_cost [USD]"].dtype.kind == "f"  # numbers, not text


def test_plans_and_comparisons_show_as_html_in_jupyter(two_plans: dict) -> None:
    plan_html = two_plans["base"]._repr_html_()
    assert "<table" in plan_html and "Units ordered" in plan_html and "optimal" in plan_html
    comparison_html = compare(two_plans)._repr_html_()
    assert "slip against base" in comparison_html and "total_cost" in comparison_html
    assert comparison_html.count("<table") == comparison_html.count("</table>") == 1


def test_report_opens_in_headless_chromium_offline_without_console_errors(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    from playwright.sync_api import Route, sync_playwright

    out = tmp_path / "out"
    assert cli("report", *_scenarios(tmp_path), "--out", out).code == 0
    messages: list[str] = []
    fetched: list[str] = []

    def only_the_file(route: Route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:  # the report must not need the network: refuse, and remember
            fetched.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: messages.append(f"error: {e}"))
        page.route("**/*", only_the_file)
        page.goto((out / "report.html").as_uri())
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        heading = page.inner_text("h1")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert messages == [] and fetched == []
    assert len(images) == 1 + 2 * len(PLAN_FIGURES) and min(images) > 100  # all drawn
    assert heading == "Capacity plan: scenario comparison"
    assert (tmp_path / "report.png").stat().st_size > 50_000


CHROMIUM = "/usr/bin/chromium"  # Debian's (the Makefile installs it)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
