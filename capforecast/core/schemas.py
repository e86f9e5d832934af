"""The data contracts of docs/data.md: fixed column names, types and ranges.

Every table that enters capforecast is described here once; the loaders validate
against these schemas.
"""

from __future__ import annotations

from capforecast.core.tables import Column, TableSchema

#: Optional attribute columns of a history table, used for hierarchy and requirement.
HISTORY_ATTRIBUTES = ("org", "team", "workload", "sku", "region")

HISTORY = TableSchema(
    "history",
    (
        Column("unique_id", "str", "series identifier"),
        Column("ds", "timestamp", "period start"),
        Column("y", "float", "demand in accelerators of the series' SKU", minimum=0),
        *(
            Column(name, "str", f"{name} of the series", required=False, nullable=True)
            for name in HISTORY_ATTRIBUTES
        ),
        Column(
            "statistic",
            "str",
            "how each value was made from finer demand (mean, max, p95): the requirement "
            "reduces a period the same way",
            required=False,
            nullable=True,
        ),
    ),
    key=("unique_id", "ds"),
)

#: The most periods a count of periods (lead time, lifetime, notice, term) may be: far
#: beyond any horizon, and small enough for the model's integer arithmetic.
MAX_PERIODS = 1_000_000

#: The catalog columns that a legacy SKU (owned, no longer orderable) leaves empty, all four.
ORDER_COLUMNS = ("unit_price", "lot_size", "lead_time", "lifetime")

CATALOG = TableSchema(
    "catalog.csv",
    (
        Column("sku", "str", "accelerator SKU"),
        # The order columns are all empty for a legacy SKU; some but not all empty is an
        # error reported by the planning-input loader, which sees the whole row.
        Column(
            "unit_price",
            "float",
            "USD per accelerator, fully loaded (its share of server, network, installation)",
            nullable=True,
            minimum=0,
        ),
        Column("lot_size", "int", "accelerators per order lot", nullable=True, minimum=1),
        Column(
            "power_kw",
            "float",
            "kW per accelerator at the wall, host share included, before PUE",
            minimum=0,
        ),
        Column(
            "lead_time",
            "int",
            "periods from order to service",
            nullable=True,
            minimum=0,
            maximum=MAX_PERIODS,
        ),
        Column(
            "lifetime", "int", "periods in service", nullable=True, minimum=1, maximum=MAX_PERIODS
        ),
        Column(
            "accounting_life",
            "int",
            "periods of straight-line depreciation from arrival (default: lifetime)",
            required=False,
            nullable=True,
            minimum=1,
            maximum=MAX_PERIODS,
        ),
        Column(
            "opex",
            "float",
            "USD per accelerator per period in service (default 0)",
            required=False,
            nullable=True,
            minimum=0,
        ),
        Column(
            "availability",
            "float",
            "share of installed units usable, in (0, 1] (default 1)",
            required=False,
            nullable=True,
            minimum=0,
            maximum=1,
        ),
        Column(
            "vendor", "str", "who sells it (for vendor_limits.csv)", required=False, nullable=True
        ),
        Column(
            "min_lots",
            "int",
            "an order for one site and period is 0 or at least this many lots (default 1)",
            required=False,
            nullable=True,
            minimum=1,
        ),
    ),
    key=("sku",),
)

PERF = TableSchema(
    "perf.csv",
    (
        Column("sku", "str"),
        Column("workload", "str"),
        Column("factor", "float", "reference units per accelerator", minimum=0),
    ),
    key=("sku", "workload"),
)

SITES = TableSchema(
    "sites.csv",
    (
        Column("site", "str"),
        Column("pue", "float", "power usage effectiveness", minimum=1),
        Column("energy_price", "float", "USD per kWh", minimum=0),
        Column("power_cap_kw", "float", "facility kW available", minimum=0),
        Column("slots", "int", "max accelerators", required=False, nullable=True, minimum=0),
        Column(
            "region",
            "str",
            "region of the site (required when demand.csv has regions)",
            required=False,
            nullable=True,
        ),
    ),
    key=("site",),
)

SITE_POWER = TableSchema(
    "site_power.csv",
    (
        Column("site", "str"),
        Column("period", "period"),
        Column("power_cap_kw", "float", minimum=0),
    ),
    key=("site", "period"),
)

FLEET = TableSchema(
    "fleet.csv",
    (
        Column("sku", "str"),
        Column("site", "str"),
        Column("units", "int", minimum=0),
        Column("available_from", "period", nullable=True),
        Column("retire_period", "period", nullable=True),
        Column(
            "salvage_value",
            "float",
            "USD per unit retired early, net of decommissioning (may be negative; default 0)",
            required=False,
            nullable=True,
        ),
    ),
)

BUDGET = TableSchema(
    "budget.csv",
    (
        Column("period", "coarse_period", "a horizon period, or a coarser one (a year: 2027)"),
        Column("capex_budget", "float", "USD of capex charged in that budget period", minimum=0),
    ),
    key=("period",),
)

DEMAND = TableSchema(
    "demand.csv",
    (
        Column("workload", "str"),
        Column("period", "period"),
        Column("demand", "float", "reference units", minimum=0),
        Column("scenario", "str", required=False),
        Column("region", "str", "where the demand is (optional)", required=False),
    ),
    key=("workload", "region", "period", "scenario"),
)

SCENARIOS = TableSchema(
    "scenarios.csv",
    (
        Column("scenario", "str"),
        Column("probability", "float", minimum=0, maximum=1),
    ),
    key=("scenario",),
)

PRICES = TableSchema(
    "prices.csv",
    (Column("sku", "str"), Column("period", "period"), Column("unit_price", "float", minimum=0)),
    key=("sku", "period"),
)

SUPPLY = TableSchema(
    "supply.csv",
    (
        Column("sku", "str"),
        Column("period", "period", "the order period"),
        Column(
            "max_units",
            "float",
            "vendor allocation: most accelerators ordered (empty: no limit)",
            required=False,
            nullable=True,
            minimum=0,
        ),
        Column(
            "min_units",
            "float",
            "committed volume (take-or-pay): fewest accelerators ordered (empty: none)",
            required=False,
            nullable=True,
            minimum=0,
        ),
    ),
    key=("sku", "period"),
)

RENT = TableSchema(
    "rent.csv",
    (
        Column("workload", "str"),
        Column("period", "period"),
        Column("price", "float", "USD per reference unit-period", minimum=0),
        Column("max_units", "float", "reference units", minimum=0),
        Column("region", "str", "region served (required iff demand has regions)", required=False),
    ),
    key=("workload", "region", "period"),
)

ELIGIBILITY = TableSchema(
    "eligibility.csv",
    (
        Column("workload", "str"),
        Column("region", "str", "region of the demand"),
        Column("site", "str", "a site allowed to serve it"),
    ),
    key=("workload", "region", "site"),
)

CLUSTERS = TableSchema(
    "clusters.csv",
    (
        Column("cluster", "str", "training cluster name"),
        Column("workload", "str", "workload whose perf factors size it"),
        # A bound keeps M_{c,s} = size / factor a number HiGHS can take as a coefficient.
        Column("size", "float", "reference units, as one block", minimum=0, maximum=1e9),
        Column("start", "period", "first period it runs"),
        Column("end", "period", "last period it runs (inclusive)"),
        Column("region", "str", "region it must be in", required=False, nullable=True),
        Column("skus", "str", "allowed SKUs, ';'-separated", required=False, nullable=True),
        Column("sites", "str", "allowed sites, ';'-separated", required=False, nullable=True),
    ),
    key=("cluster",),
)

CLOUD_OFFERS = TableSchema(
    "cloud_offers.csv",
    (
        Column("offer", "str", "reserved cloud contract name"),
        Column("workload", "str", "workload it serves"),
        Column("price", "float", "USD per reference unit-period, used or not", minimum=0),
        Column("term", "int", "periods it runs once active", minimum=1, maximum=MAX_PERIODS),
        Column(
            "max_units",
            "float",
            "most reference units active in any period (empty: no limit)",
            nullable=True,
            minimum=0,
        ),
        Column(
            "notice",
            "int",
            "periods from signing to use (default 0)",
            required=False,
            nullable=True,
            minimum=0,
            maximum=MAX_PERIODS,
        ),
        Column("region", "str", "region served (required iff demand has regions)", required=False),
    ),
    key=("offer",),
)

VENDOR_LIMITS = TableSchema(
    "vendor_limits.csv",
    (
        Column("vendor", "str", "a vendor of catalog.csv"),
        Column(
            "max_share",
            "float",
            "largest share of the capex of all orders",
            minimum=0,
            maximum=1,
        ),
        Column(
            "min_share",
            "float",
            "smallest share of the capex of all orders (default 0)",
            required=False,
            nullable=True,
            minimum=0,
            maximum=1,
        ),
    ),
    key=("vendor",),
)

#: Planning input files: schema, whether the file must exist, and whether it may hold no
#: rows (a header alone): an optional file, or a fleet that does not exist yet.
PLANNING_FILES: dict[str, tuple[TableSchema, bool, bool]] = {
    "catalog": (CATALOG, True, False),
    "perf": (PERF, True, False),
    "sites": (SITES, True, False),
    "site_power": (SITE_POWER, False, True),
    "fleet": (FLEET, True, True),
    "budget": (BUDGET, True, False),
    "demand": (DEMAND, True, False),
    "scenarios": (SCENARIOS, False, True),
    "prices": (PRICES, False, True),
    "supply": (SUPPLY, False, True),
    "rent": (RENT, False, True),
    "eligibility": (ELIGIBILITY, False, True),
    "clusters": (CLUSTERS, False, True),
    "cloud_offers": (CLOUD_OFFERS, False, True),
    "vendor_limits": (VENDOR_LIMITS, False, True),
}
