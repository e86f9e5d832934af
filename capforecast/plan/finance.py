"""Finance views of a solved plan (docs/finance.md): numbers finance can book.

Pure functions from the model's arrays (:class:`~capforecast.plan.data.ModelData`) and two
tables of a plan to four tables:

- :func:`depreciation`: straight-line depreciation of the new orders over each SKU's
  accounting life, from the period the units enter service, to the end of the schedule;
- :func:`fiscal_years`: cash against profit and loss by fiscal year;
- :func:`capex_by_vendor`: capex by fiscal year (of the period it is paid) and vendor;
- :func:`tco`: total cost of ownership per reference unit-hour by SKU, site and workload,
  beside the price of renting and of the cheapest reserved cloud contract.

The inputs are ``purchases`` (columns ``sku, site, order_period, arrival_period, lots,
units, capex``: one row per order, periods as ``pandas.Period``, capex in USD at the order
price, undiscounted) and ``cash`` (columns ``period`` and :data:`CASH_COMPONENTS`: USD per
horizon period, undiscounted, expected over scenarios, capex in the period it is paid,
salvage negative). All money is USD, undiscounted.

The existing fleet (``fleet.csv``) is not depreciated: the inputs give it no purchase price
or book value. Its salvage, when retired early, is booked as proceeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capforecast.plan.data import ModelData
from capforecast.plan.result import CASH_COLUMNS

#: Columns of :func:`depreciation`.
DEPRECIATION_COLUMNS = (
    "sku", "period", "fiscal_year", "in_service_capex", "depreciation", "book_value",
)  # fmt: skip
#: The cash components of the plan's ``cash`` table (USD per period; salvage negative).
CASH_COMPONENTS = CASH_COLUMNS[1:-1]
#: The components of cash that are also expenses of the period in the P&L (all but capex).
PNL_COMPONENTS = CASH_COMPONENTS[1:]
#: Columns of :func:`fiscal_years`.
FISCAL_YEAR_COLUMNS = ("fiscal_year", *CASH_COMPONENTS, "cash", "depreciation", "pnl")
#: Columns of :func:`capex_by_vendor`.
CAPEX_BY_VENDOR_COLUMNS = ("fiscal_year", "vendor", "capex")
#: Columns of :func:`tco`.
TCO_COLUMNS = (
    "sku", "site", "workload", "capex_per_hour", "energy_per_hour", "opex_per_hour",
    "total_per_hour", "rent_per_hour", "contract_per_hour",
)  # fmt: skip
#: The vendor of a SKU whose catalog row names none, in :func:`capex_by_vendor`.
NO_VENDOR = "(no vendor)"


def finance_tables(
    data: ModelData, purchases: pd.DataFrame, cash: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The four finance views of a plan, by name: ``depreciation``, ``fiscal_years``,
    ``capex_by_vendor`` and ``tco`` (the functions of the same names say what they hold)."""
    schedule = depreciation(data, purchases)
    return {
        "depreciation": schedule,
        "fiscal_years": fiscal_years(data, cash, schedule),
        "capex_by_vendor": capex_by_vendor(data, purchases),
        "tco": tco(data),
    }


def fiscal_year(periods: pd.PeriodIndex, start: int = 1) -> np.ndarray:
    """The fiscal year of each period, named ``"FY<year>"`` by the calendar year it ends in.

    A period belongs to the fiscal year of its first day: with ``start`` month ``m > 1``, a
    period starting in month ``>= m`` of year ``y`` is in FY ``y + 1``, else in FY ``y``;
    with ``m = 1`` the fiscal year is the calendar year.

    Examples
    --------
    >>> quarters = pd.period_range("2026Q3", "2027Q3", freq="Q")
    >>> fiscal_year(quarters, start=7).tolist()
    ['FY2027', 'FY2027', 'FY2027', 'FY2027', 'FY2028']
    >>> fiscal_year(quarters).tolist()
    ['FY2026', 'FY2026', 'FY2027', 'FY2027', 'FY2027']
    """
    first_day = periods.start_time
    year = first_day.year.to_numpy() + ((first_day.month.to_numpy() >= start) & (start > 1))
    return np.asarray([f"FY{y}" for y in year], dtype=object)


def depreciation(data: ModelData, purchases: pd.DataFrame) -> pd.DataFrame:
    """Straight-line depreciation of the new orders, by SKU and period (USD).

    The units of an order enter service in their arrival period ``a``; their capex ``C``
    (at the order price) is depreciated by ``C / L_s`` in each of the periods
    ``a .. a + L_s - 1``, where ``L_s`` is the SKU's accounting life
    (``catalog.csv`` ``accounting_life``, in periods; its service life ``lifetime`` when
    empty). One row per SKU with orders and period, from its first arrival to the period its
    last order is fully depreciated, past the horizon too:

    - ``fiscal_year``: the period's fiscal year (``FY2027``);
    - ``in_service_capex``: capex of the units entering service in the period (USD);
    - ``depreciation``: the expense of the period (USD);
    - ``book_value``: net book value at the end of the period (USD): capex in service so
      far less depreciation so far; 0 in the last row.

    The existing fleet is not depreciated: the inputs give it no price.
    """
    if purchases.empty:
        return _empty(DEPRECIATION_COLUMNS)
    sku = _sku_index(data, purchases)
    used, row = np.unique(sku, return_inverse=True)  # SKUs with orders, in catalog order
    arrival = _offsets(data, purchases["arrival_period"])
    first = int(arrival.min())
    start = arrival - first  # column of each order's arrival, from the first arrival
    life = data.accounting_life[sku]
    end = start + life  # first period after the order is fully depreciated
    span = int(end.max())
    capex = purchases["capex"].to_numpy(dtype=float)

    def per_period(at: np.ndarray, values: np.ndarray) -> np.ndarray:
        grid = np.zeros((len(used), span + 1), dtype=values.dtype)
        np.add.at(grid, (row, at), values)
        return grid[:, :span]

    in_service = per_period(start, capex)
    rate = per_period(start, capex / life) - per_period(end, capex / life)
    one = np.ones_like(sku)
    live = (per_period(start, one) - per_period(end, one)).cumsum(axis=1)
    left = live - per_period(end - 1, one)  # orders still with a book value after the period
    # The counts are exact: where no order is depreciated (or left), rounding leaves nothing.
    expense = np.where(live > 0, np.maximum(rate.cumsum(axis=1), 0.0), 0.0)
    book = np.where(left > 0, np.maximum(in_service.cumsum(1) - expense.cumsum(1), 0.0), 0.0)
    column = np.arange(span)[None, :]
    first_of, last_of = np.full(len(used), span), np.zeros(len(used), dtype=np.int64)
    np.minimum.at(first_of, row, start)
    np.maximum.at(last_of, row, end)
    rows = (first_of[:, None] <= column) & (column < last_of[:, None])
    r, t = np.nonzero(rows)
    periods = _periods(data, first + t)
    return pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[used[r]],
            "period": periods,
            "fiscal_year": fiscal_year(periods, data.fiscal_year_start),
            "in_service_capex": in_service[r, t],
            "depreciation": expense[r, t],
            "book_value": book[r, t],
        }
    )


def fiscal_years(data: ModelData, cash: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Cash against profit and loss by fiscal year (USD, undiscounted), one row per fiscal
    year that the horizon touches (``options.yaml`` ``fiscal_year_start``).

    - ``capex, energy, opex, cloud_offers, rent, salvage``: the plan's cash of the horizon
      periods in the fiscal year (capex when paid; salvage negative, money received);
    - ``cash``: their sum;
    - ``depreciation``: the expense of the ``schedule`` (:func:`depreciation`) in the
      horizon periods of the fiscal year; what falls after the horizon is only in the
      schedule;
    - ``pnl``: the expense in the profit and loss account, ``depreciation + energy + opex +
      cloud_offers + rent + salvage``: capex enters through depreciation, and salvage as
      proceeds, since the existing fleet's book value is not known.

    A fiscal year the horizon covers only in part holds only its horizon periods.
    """
    horizon = pd.PeriodIndex(cash["period"])
    year = fiscal_year(horizon, data.fiscal_year_start)
    table = cash[list(CASH_COMPONENTS)].astype(float).groupby(year).sum()
    table["cash"] = table[list(CASH_COMPONENTS)].sum(axis=1)
    booked = schedule[schedule["period"].isin(horizon)]  # the schedule names its years
    expense = booked.groupby("fiscal_year")["depreciation"].sum()
    table["depreciation"] = expense.reindex(table.index, fill_value=0.0)
    table["pnl"] = table[["depreciation", *PNL_COMPONENTS]].sum(axis=1)
    return table.rename_axis("fiscal_year").reset_index()[list(FISCAL_YEAR_COLUMNS)]


def capex_by_vendor(data: ModelData, purchases: pd.DataFrame) -> pd.DataFrame:
    """Capex by fiscal year and vendor (USD, undiscounted), in the period capex is paid:
    the order period, or the arrival with ``capex_timing: delivery``. One row per fiscal
    year and vendor with orders; a SKU without ``vendor`` in the catalog is
    ``"(no vendor)"``."""
    if purchases.empty:
        return _empty(CAPEX_BY_VENDOR_COLUMNS)
    sku = _sku_index(data, purchases)
    paid = _periods(data, data.pay_period(sku, _offsets(data, purchases["order_period"])))
    vendor = np.asarray([v or NO_VENDOR for v in data.sku_vendor], dtype=object)[sku]
    table = (
        purchases["capex"]
        .astype(float)
        .groupby([fiscal_year(paid, data.fiscal_year_start), vendor])
    )
    return table.sum().rename_axis(["fiscal_year", "vendor"]).reset_index()


def tco(data: ModelData) -> pd.DataFrame:
    """Total cost of ownership per reference unit-hour (USD per reference unit-hour), by
    orderable SKU, site and workload the SKU serves (``factor > 0``).

    Each cost of an installed unit is divided by the reference units it delivers, its
    availability times its perf factor, ``a_s f_{s,w}``:

    Columns end in ``_per_hour``:

    - ``capex``: the catalog price of the first horizon period spread over the service life,
      ``c_{s,0} / (λ_s H)``;
    - ``energy``: ``e_k pue_k p_s ρ`` (energy at the load factor), per hour;
    - ``opex``: ``o_s / H``;
    - ``total``: their sum.

    Beside it, for comparison: ``rent``, the on-demand rent price of the workload in the
    site's region, per hour, mean over the horizon periods in which renting is offered
    (``rent.csv`` ``max_units > 0``), and ``contract``, the cheapest reserved cloud offer of
    the workload and region, per hour; NaN when there is none.
    """
    serves = (data.factor > 0) & data.orderable[:, None]  # [s, w]
    shape = (len(data.skus), len(data.sites), len(data.workloads))
    s, k, w = np.nonzero(np.broadcast_to(serves[:, None, :], shape))
    hours = data.hours
    units = data.availability[s] * data.factor[s, w]  # reference units per installed unit
    capex = data.price[s, 0] / (data.lifetime[s] * hours) / units
    energy = data.energy_per_unit[s, k] / hours / units
    opex = data.opex[s] / hours / units
    region = data.site_region[k] if data.regional else np.zeros_like(k)
    known = region >= 0
    rent, contract = (
        np.where(known, price[w, np.maximum(region, 0)] / hours, np.nan)
        for price in (_mean_rent(data), _cheapest_offer(data))
    )
    return pd.DataFrame(
        {
            "sku": np.asarray(data.skus, dtype=object)[s],
            "site": np.asarray(data.sites, dtype=object)[k],
            "workload": np.asarray(data.workloads, dtype=object)[w],
            "capex_per_hour": capex,
            "energy_per_hour": energy,
            "opex_per_hour": opex,
            "total_per_hour": capex + energy + opex,
            "rent_per_hour": rent,
            "contract_per_hour": contract,
        }
    )


def _mean_rent(data: ModelData) -> np.ndarray:
    """Mean rent price (USD per reference unit-period) over the periods renting is offered,
    as ``[w, g]``; NaN where it never is."""
    offered = data.rent_cap > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return (data.rent_price * offered).sum(axis=2) / offered.sum(axis=2)


def _cheapest_offer(data: ModelData) -> np.ndarray:
    """The cheapest reserved cloud offer (USD per reference unit-period) as ``[w, g]``; NaN
    where there is none."""
    offers = data.offers
    cheapest = np.full((len(data.workloads), len(data.regions)), np.inf)
    np.minimum.at(cheapest, (offers.workload, offers.region), offers.price)
    return np.where(np.isinf(cheapest), np.nan, cheapest)


def _sku_index(data: ModelData, purchases: pd.DataFrame) -> np.ndarray:
    """The SKU index ``s`` of each row of ``purchases``; a SKU not in the catalog is an error."""
    index = pd.Index(data.skus).get_indexer(purchases["sku"]).astype(np.int64)
    if (index < 0).any():
        unknown = sorted({str(s) for s in purchases["sku"][index < 0]})
        raise ValueError(f"purchases of SKUs not in the catalog: {unknown}")
    return index


def _offsets(data: ModelData, periods: pd.Series) -> np.ndarray:
    """Periods as offsets from the first horizon period (0 is ``data.periods[0]``)."""
    ordinals = pd.PeriodIndex(periods, freq=data.periods.freq).asi8
    return np.asarray(ordinals, dtype=np.int64) - data.periods[0].ordinal


def _periods(data: ModelData, offsets: np.ndarray) -> pd.PeriodIndex:
    """Periods from their offsets from the first horizon period (the inverse of
    :func:`_offsets`)."""
    ordinals = np.asarray(offsets, dtype=np.int64) + data.periods[0].ordinal
    return pd.PeriodIndex.from_ordinals(ordinals, freq=data.periods.freq)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table without rows: labels as text, the other columns USD (float)."""
    labels = {"sku", "site", "workload", "vendor", "fiscal_year", "period"}
    return pd.DataFrame(
        {column: pd.Series(dtype=object if column in labels else float) for column in columns}
    )
