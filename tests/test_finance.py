"""Finance views (capforecast.plan.finance, docs/finance.md), each worked by hand.

The instance: horizon 2027Q1..2027Q4, fiscal years starting in July (2027Q1-Q2 are in
FY2027, 2027Q3-Q4 in FY2028). SKU ``A`` ($50,000, vendor nv, lead time 1, service life 20,
accounting life 4, availability 0.8, opex $100 a quarter, 1 kW) and ``B`` ($30,000, no
vendor, lead time 0, service life 6, accounting life 3); ``old`` is a legacy SKU. Site
``dc1`` is in region us (PUE 1.25, $0.08/kWh), ``dc2`` in eu; load factor 0.5. Orders
(hand-made, as a plan's ``purchases``):

- A: 8 units ($400,000) ordered 2027Q1, in service 2027Q2;
- B: 4 units ($120,000) ordered and in service 2027Q1, 8 units ($240,000) in 2027Q3.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.core.errors import InputError
from capforecast.examples import sample_planning_dir
from capforecast.plan.data import ModelData
from capforecast.plan.finance import (
    CAPEX_BY_VENDOR_COLUMNS,
    CASH_COMPONENTS,
    DEPRECIATION_COLUMNS,
    FISCAL_YEAR_COLUMNS,
    TCO_COLUMNS,
    capex_by_vendor,
    depreciation,
    finance_tables,
    fiscal_year,
    tco,
)
from capforecast.plan.inputs import planning_inputs, read_planning_inputs
from capforecast.plan.options import PlanOptions

HOURS = 2190.0
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]
P = {label: pd.Period(label, freq="Q") for label in [*QUARTERS, "2028Q1"]}


def _data() -> ModelData:
    catalog = pd.DataFrame(
        {
            "sku": ["A", "B", "old"],
            "unit_price": [50_000, 30_000, None],
            "lot_size": [8, 4, None],
            "power_kw": [1.0, 0.5, 1.0],
            "lead_time": [1, 0, None],
            "lifetime": [20, 6, None],
            "accounting_life": [4, 3, None],
            "opex": [100.0, 0.0, 0.0],
            "availability": [0.8, 1.0, 1.0],
            "vendor": ["nv", None, "nv"],
        }
    )
    perf = pd.DataFrame(
        {
            "sku": ["A", "B", "B", "old"],
            "workload": ["training", "training", "inference", "training"],
            "factor": [2.0, 1.0, 1.25, 1.0],
        }
    )
    sites = pd.DataFrame(
        {
            "site": ["dc1", "dc2"],
            "pue": [1.25, 1.1],
            "energy_price": [0.08, 0.1],
            "power_cap_kw": [1000.0, 1000.0],
            "region": ["us", "eu"],
        }
    )
    demand = pd.DataFrame(
        [
            (w, g, t, 10.0)
            for w in ("training", "inference")
            for g in ("us", "eu")
            for t in QUARTERS
        ],
        columns=["workload", "region", "period", "demand"],
    )
    # Training in us rents at $3 and $5 an hour (mean $4); the row with max_units 0 is no
    # renting and does not count. Nothing else rents.
    rent = pd.DataFrame(
        {
            "workload": ["training"] * 3,
            "region": ["us"] * 3,
            "period": ["2027Q1", "2027Q2", "2027Q3"],
            "price": [3 * HOURS, 5 * HOURS, 99 * HOURS],
            "max_units": [100.0, 100.0, 0.0],
        }
    )
    offers = pd.DataFrame(
        {
            "offer": ["t1", "t2", "i1"],
            "workload": ["training", "training", "inference"],
            "region": ["us", "us", "eu"],
            "price": [2.5 * HOURS, 2 * HOURS, 1 * HOURS],
            "term": [2, 2, 2],
            "max_units": [10.0, 10.0, 10.0],
        }
    )
    inputs = planning_inputs(
        catalog=catalog,
        perf=perf,
        sites=sites,
        fleet=pd.DataFrame(columns=["sku", "site", "units", "available_from", "retire_period"]),
        budget=pd.DataFrame({"period": ["2027"], "capex_budget": [1e7]}),
        demand=demand,
        rent=rent,
        cloud_offers=offers,
        # A's price in 2027Q2 is not the one TCO uses: that of the first period is.
        prices=pd.DataFrame({"sku": ["A"], "period": ["2027Q2"], "unit_price": [45_000]}),
        options={"fiscal_year_start": 7, "load_factor": 0.5, "hours_per_period": HOURS},
    )
    return ModelData.from_inputs(inputs)


DATA = _data()

PURCHASES = pd.DataFrame(
    {
        "sku": ["A", "B", "B"],
        "site": ["dc1", "dc1", "dc2"],
        "order_period": [P["2027Q1"], P["2027Q1"], P["2027Q3"]],
        "arrival_period": [P["2027Q2"], P["2027Q1"], P["2027Q3"]],
        "lots": [1, 1, 2],
        "units": [8, 4, 8],
        "capex": [400_000.0, 120_000.0, 240_000.0],
    }
)

CASH = pd.DataFrame(
    {
        "period": pd.PeriodIndex(QUARTERS, freq="Q"),
        "capex": [520_000.0, 0.0, 240_000.0, 0.0],
        "energy": [10.0, 20.0, 30.0, 40.0],
        "opex": [1.0, 2.0, 3.0, 4.0],
        "cloud_offers": [100.0, 100.0, 0.0, 0.0],
        "rent": [5.0, 0.0, 0.0, 5.0],
        "salvage": [0.0, -50.0, 0.0, 0.0],
        "total": [520_116.0, 72.0, 240_033.0, 49.0],
    }
)


def test_the_inputs_carry_accounting_life_and_fiscal_year_start() -> None:
    # The legacy SKU leaves accounting_life empty: its service life (1) stands in.
    assert DATA.accounting_life.tolist() == [4, 3, 1]
    assert DATA.lifetime.tolist() == [20, 6, 1]
    assert DATA.fiscal_year_start == 7
    assert PlanOptions().fiscal_year_start == 1


def test_depreciation_by_hand() -> None:
    table = depreciation(DATA, PURCHASES)
    assert tuple(table.columns) == DEPRECIATION_COLUMNS
    rows = [
        (sku, str(period), capex, expense, book)
        for sku, period, _, capex, expense, book in table.itertuples(index=False)
    ]
    assert rows == [
        # A: $400,000 over 4 quarters from 2027Q2: $100,000 a quarter.
        ("A", "2027Q2", 400_000, 100_000, 300_000),
        ("A", "2027Q3", 0, 100_000, 200_000),
        ("A", "2027Q4", 0, 100_000, 100_000),
        ("A", "2028Q1", 0, 100_000, 0),
        # B: $120,000 over 3 quarters from 2027Q1 ($40,000 a quarter) and $240,000 from
        # 2027Q3 ($80,000 a quarter), not over its service life of 6.
        ("B", "2027Q1", 120_000, 40_000, 80_000),
        ("B", "2027Q2", 0, 40_000, 40_000),
        ("B", "2027Q3", 240_000, 120_000, 160_000),
        ("B", "2027Q4", 0, 80_000, 80_000),
        ("B", "2028Q1", 0, 80_000, 0),
    ]


def test_no_orders_no_rows() -> None:
    tables = finance_tables(DATA, PURCHASES.iloc[:0], CASH)
    assert tables["depreciation"].empty and tables["capex_by_vendor"].empty
    assert tuple(tables["depreciation"].columns) == DEPRECIATION_COLUMNS
    assert tuple(tables["capex_by_vendor"].columns) == CAPEX_BY_VENDOR_COLUMNS
    assert tables["fiscal_years"]["depreciation"].tolist() == [0.0, 0.0]


def test_fiscal_years_start_in_july() -> None:
    table = finance_tables(DATA, PURCHASES, CASH)["fiscal_years"]
    assert tuple(table.columns) == FISCAL_YEAR_COLUMNS
    by_year = table.set_index("fiscal_year").to_dict("index")
    # FY2027 = 2027Q1-Q2 (July 2026 to June 2027), FY2028 = 2027Q3-Q4 of the horizon.
    assert by_year["FY2027"] == {
        "capex": 520_000,
        "energy": 30,
        "opex": 3,
        "cloud_offers": 200,
        "rent": 5,
        "salvage": -50,
        "cash": 520_188,
        "depreciation": 40_000 + 140_000,  # B in Q1; A and B in Q2
        "pnl": 180_000 + 30 + 3 + 200 + 5 - 50,
    }
    assert by_year["FY2028"] == {
        "capex": 240_000,
        "energy": 70,
        "opex": 7,
        "cloud_offers": 0,
        "rent": 5,
        "salvage": 0,
        "cash": 240_082,
        "depreciation": 220_000 + 180_000,  # A and B in Q3 and Q4; not 2028Q1
        "pnl": 400_000 + 70 + 7 + 5,
    }


def test_cash_and_pnl_identities() -> None:
    table = finance_tables(DATA, PURCHASES, CASH)["fiscal_years"]
    components = table[list(CASH_COMPONENTS)].sum(axis=1)
    assert table["cash"].to_numpy() == pytest.approx(components.to_numpy())
    assert table["cash"].sum() == pytest.approx(CASH["total"].sum())
    expenses = table[["depreciation", "energy", "opex", "cloud_offers", "rent", "salvage"]]
    assert table["pnl"].to_numpy() == pytest.approx(expenses.sum(axis=1).to_numpy())


def test_fiscal_year_of_months_and_quarters() -> None:
    months = pd.period_range("2027-05", "2027-08", freq="M")
    assert fiscal_year(months, 7).tolist() == ["FY2027", "FY2027", "FY2028", "FY2028"]
    assert fiscal_year(months, 1).tolist() == ["FY2027"] * 4
    assert fiscal_year(months, 12).tolist() == ["FY2027"] * 4
    quarters = pd.period_range("2027Q1", "2027Q4", freq="Q")
    # Start in February: a quarter belongs to the fiscal year of its first day.
    assert fiscal_year(quarters, 2).tolist() == ["FY2027", "FY2028", "FY2028", "FY2028"]


def test_capex_by_vendor() -> None:
    table = capex_by_vendor(DATA, PURCHASES)
    assert tuple(table.columns) == CAPEX_BY_VENDOR_COLUMNS
    assert list(table.itertuples(index=False, name=None)) == [
        ("FY2027", "(no vendor)", 120_000),
        ("FY2027", "nv", 400_000),
        ("FY2028", "(no vendor)", 240_000),
    ]
    assert table["capex"].sum() == pytest.approx(PURCHASES["capex"].sum())


def test_capex_by_vendor_at_delivery() -> None:
    # Ordered 2027Q2 (FY2027), in service 2027Q3 (FY2028): paid then with capex_timing
    # delivery.
    order = PURCHASES.iloc[:1].assign(order_period=P["2027Q2"], arrival_period=P["2027Q3"])
    at_order = capex_by_vendor(DATA, order)
    at_delivery = capex_by_vendor(dataclasses.replace(DATA, capex_at_delivery=True), order)
    assert at_order["fiscal_year"].tolist() == ["FY2027"]
    assert at_delivery["fiscal_year"].tolist() == ["FY2028"]


def test_tco_by_hand() -> None:
    table = tco(DATA)
    assert tuple(table.columns) == TCO_COLUMNS
    # Orderable SKUs only, each site, workloads with factor > 0: A training, B both.
    assert set(table["sku"]) == {"A", "B"}
    assert len(table) == 2 * (1 + 2)
    row = table.set_index(["sku", "site", "workload"]).loc[("A", "dc1", "training")]
    reference = 0.8 * 2.0  # availability x factor: reference units per installed unit
    assert row["capex_per_hour"] == pytest.approx(50_000 / (20 * HOURS) / reference)
    assert row["energy_per_hour"] == pytest.approx(1.0 * 1.25 * 0.08 * 0.5 / reference)
    assert row["opex_per_hour"] == pytest.approx(100 / HOURS / reference)
    assert row["total_per_hour"] == pytest.approx(
        row["capex_per_hour"] + row["energy_per_hour"] + row["opex_per_hour"]
    )
    assert row["rent_per_hour"] == pytest.approx(4.0)
    assert row["contract_per_hour"] == pytest.approx(2.0)
    by_key = table.set_index(["sku", "site", "workload"])
    assert np.isnan(by_key.loc[("A", "dc2", "training"), "rent_per_hour"])
    assert np.isnan(by_key.loc[("A", "dc2", "training"), "contract_per_hour"])
    assert np.isnan(by_key.loc[("B", "dc2", "inference"), "rent_per_hour"])
    assert by_key.loc[("B", "dc2", "inference"), "contract_per_hour"] == pytest.approx(1.0)


ORDERS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        st.integers(0, 3),
        st.floats(1.0, 1e7, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(orders=ORDERS, lives=st.tuples(st.integers(1, 9), st.integers(1, 9)))
def test_depreciation_properties(orders: list[tuple[str, int, float]], lives: tuple) -> None:
    data = dataclasses.replace(DATA, accounting_life=np.array([*lives, 1]))
    periods = DATA.periods
    purchases = pd.DataFrame(
        {
            "sku": [sku for sku, _, _ in orders],
            "site": "dc1",
            "order_period": [periods[t] for _, t, _ in orders],
            "arrival_period": [periods[t] for _, t, _ in orders],
            "lots": 1,
            "units": 1,
            "capex": [capex for _, _, capex in orders],
        }
    )
    table = depreciation(data, purchases)
    bought = purchases.groupby("sku")["capex"].sum()
    for sku, rows in table.groupby("sku"):
        life = lives[DATA.skus.index(str(sku))]
        capex = bought[sku]
        assert rows["depreciation"].sum() == pytest.approx(capex, rel=1e-9)
        assert rows["in_service_capex"].sum() == pytest.approx(capex, rel=1e-9)
        ordinals = pd.PeriodIndex(rows["period"]).asi8
        assert (np.diff(ordinals) == 1).all()  # consecutive periods
        arrivals = purchases.loc[purchases["sku"] == sku, "arrival_period"]
        assert rows["period"].iloc[0] == min(arrivals)
        assert rows["period"].iloc[-1] == max(arrivals) + (life - 1)
        book = rows["book_value"].to_numpy()
        assert (book >= 0).all() and (rows["depreciation"] >= 0).all()
        assert book[-1] == 0
        after = (rows["period"] >= max(arrivals)).to_numpy()
        assert (np.diff(book[after]) <= 0).all()


def _sample_copy(tmp_path: Path, values: list[str]) -> Path:
    """The sample planning folder with an accounting_life column in catalog.csv."""
    folder = tmp_path / "planning"
    shutil.copytree(sample_planning_dir(), folder)
    catalog = (folder / "catalog.csv").read_text().splitlines()
    lines = [f"{catalog[0]},accounting_life"]
    lines += [f"{line},{value}" for line, value in zip(catalog[1:], values, strict=True)]
    (folder / "catalog.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_a_catalog_with_accounting_life_reads(tmp_path: Path) -> None:
    # H100 is legacy (empty); H200 takes 12 quarters; the others their lifetime (20).
    inputs = read_planning_inputs(_sample_copy(tmp_path, ["", "12", "", "", "", "16"]))
    data = ModelData.from_inputs(inputs)
    assert data.accounting_life.tolist() == [1, 12, 20, 20, 20, 16]


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_a_bad_accounting_life_is_an_input_error(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError) as caught:
        read_planning_inputs(_sample_copy(tmp_path, ["", "12", bad, "", "", ""]))
    problems = [p for p in caught.value.problems if p.column == "accounting_life"]
    assert [(p.file, p.row) for p in problems] == [("catalog.csv", 4)]
