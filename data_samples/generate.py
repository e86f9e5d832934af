"""Generate the bundled sample data of capforecast (seeded, byte-for-byte reproducible).

Run from the project root::

    python data_samples/generate.py

Every parameter below is documented, with its public source, in ``data_samples/README.md``.
The real Helios Venus history is converted from ``../shared/data`` when that folder is
present (it is committed, so the script only refreshes it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from capforecast.telemetry.adapters import helios_history

HERE = Path(__file__).resolve().parent
PLANNING = HERE / "planning"
SEED = 20261129

HISTORY_START = pd.Timestamp("2024-12-01")
HISTORY_DAYS = 730  # 2024-12-01 .. 2026-11-30: two full years of daily demand
PERIODS = pd.period_range("2027Q1", periods=12, freq="Q")
UTILIZATION_TARGET = 0.85

# sku: unit_price USD fully loaded (the accelerator's share of server, network and
# installation), lot_size, power_kw at the wall incl. host share, lead_time quarters,
# lifetime quarters, perf factor (training, inference) in H100-equivalents, opex USD per
# accelerator-quarter (support, licences, colocation space; energy is separate),
# availability (usable share after failures, repair and hot spares). H100 is a legacy SKU:
# owned, no longer bought (no price, lot, lead time or lifetime). README.md cites the
# source of each number.
CATALOG = {
    "H100": (None, None, 1.275, None, None, 1.0, 1.0, 1_200, 0.96),
    "H200": (55_000, 8, 1.275, 1, 20, 1.3, 1.6, 1_400, 0.96),
    "B200": (75_000, 8, 1.79, 2, 20, 2.1, 3.0, 1_900, 0.96),
    "GB200": (70_000, 72, 1.67, 3, 20, 2.5, 3.5, 1_800, 0.92),
    "MI300X": (32_000, 8, 1.35, 2, 20, 1.0, 1.0, 800, 0.95),
    "Gaudi3": (30_000, 8, 1.62, 1, 20, 0.9, 0.9, 750, 0.95),
}

# Who sells each SKU (catalog.csv vendor), and the fewest lots of one order (min_lots):
# GB200 comes as NVL72 racks, ordered two racks at a time (an assumption).
VENDORS = {
    "H100": "nvidia",
    "H200": "nvidia",
    "B200": "nvidia",
    "GB200": "nvidia",
    "MI300X": "amd",
    "Gaudi3": "intel",
}
MIN_LOTS = {"GB200": 2}

# Commercial terms (assumptions, data_samples/README.md): no vendor above 80% of the
# horizon's capex (a diversification policy); 800 MI300X committed for 2027Q3 (a
# take-or-pay deal); a six-month reserved cloud contract for US inference at 25% below
# on-demand, usable at once, at most 1,000 H100-equivalents active.
VENDOR_LIMITS = [("nvidia", 0.8)]
COMMITMENTS = [("MI300X", "2027Q3", 800)]
RESERVED_DISCOUNT = 0.25
OFFERS = [("reserve-6m-us-inference", "inference", 3.5, 2, 1_000, 0, "us")]

# site: pue, energy USD/kWh, constant power cap kW, slots (None = no space limit), region
SITES = {
    "virginia": (1.15, 0.089, 32_000, None, "us"),
    "texas": (1.20, 0.066, 8_000, None, "us"),
    "amsterdam": (1.35, 0.19, 9_500, 7_000, "eu"),
    "finland": (1.12, 0.10, 6_000, None, "eu"),
}

# The texas campus grows as substations come online (site_power.csv overrides the cap);
# finland's second hall opens in 2028Q1.
TEXAS_POWER = {"2027Q3": 16_000, "2027Q4": 16_000, "2028Q1": 24_000}
FINLAND_POWER = {"2028Q1": 14_000}

FLEET = [
    # sku, site, units, available_from, retire_period, salvage_value (USD per unit retired
    # early, net of decommissioning: used H100 resale at age 4-5; empty = 0)
    ("H100", "virginia", 2_500, "", "2028Q2", 4_000),
    ("H100", "virginia", 2_000, "", "", 4_000),
    ("H200", "virginia", 1_600, "", "", None),
    ("H100", "amsterdam", 3_000, "", "2029Q1", 4_000),
    ("MI300X", "texas", 800, "", "", None),
    ("B200", "texas", 1_200, "2027Q2", "", None),  # in flight: ordered, arrives 2027Q2
    ("GB200", "virginia", 576, "2027Q3", "", None),  # in flight: 8 NVL72 racks
]

# A frontier training cluster: one block of one SKU at one US site from 2028Q3 to the end
# of the horizon (pretraining, then the next generation's runs on the same block), in
# reference units (H100-equivalents) of training.
CLUSTERS = [("frontier-2028", "training", 8_000, "2028Q3", "2029Q4", "us")]

# Which sites may serve a region's demand (eligibility.csv): EU inference stays in the EU
# (the default: sites of its own region); EU training may also run in the US.
ELIGIBILITY = [("training", "eu", site) for site in ("amsterdam", "finland", "virginia", "texas")]

ORGS = {
    "research": ["llm-pretrain", "multimodal", "rl", "speech"],
    "product": ["assistant", "search-ranking", "ads", "recsys"],
    "platform": ["eval", "finetune-svc", "embeddings", "batch-infer"],
}


def _team_series(rng: np.random.Generator) -> list[dict[str, object]]:
    """Four series per team: a mix of workloads, SKUs and regions (48 in all)."""
    rows: list[dict[str, object]] = []
    for org, teams in ORGS.items():
        for team in teams:
            leaning = 0.75 if org == "research" else 0.3 if org == "product" else 0.5
            for index in range(4):
                workload = "training" if rng.random() < leaning else "inference"
                sku = rng.choice(["H100", "H100", "H200", "MI300X", "B200"])
                region = rng.choice(["us", "us", "eu"])
                rows.append(
                    {
                        "unique_id": f"{org}/{team}/{workload}/{sku}/{region}/{index}",
                        "org": org,
                        "team": team,
                        "workload": workload,
                        "sku": str(sku),
                        "region": str(region),
                    }
                )
    return rows


def _demand_signal(
    rng: np.random.Generator, workload: str, sku: str, days: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Observed daily demand and the noise-free level behind it, for one series."""
    t = np.arange(len(days), dtype=float)
    level = rng.uniform(30, 150)
    growth = rng.uniform(0.1, 0.6)  # per year
    trend = level * np.exp(np.log1p(growth) * t / 365.0)
    launch = np.ones_like(t)
    if rng.random() < 0.5:
        # A product launch or a new project: a permanent step up.
        step_day = int(rng.integers(120, len(days) - 60))
        launch[step_day:] = rng.uniform(1.25, 1.8)
    if sku == "B200":
        # B200 arrived mid-2025: no demand before the first deliveries.
        start = int((pd.Timestamp("2025-07-01") - days[0]).days)
        launch[:start] = 0.0
    mean = trend * launch
    if workload == "inference":
        weekday = np.where(days.day_of_week >= 5, rng.uniform(0.75, 0.9), 1.0)
        observed = mean * weekday * rng.normal(1.0, 0.04, len(t))
    else:
        # Training: a base of steady jobs plus bursts of large runs.
        observed = mean * 0.6 * rng.normal(1.0, 0.06, len(t))
        day = 0
        while day < len(t):
            day += int(rng.exponential(25))
            length = int(rng.integers(5, 30))
            observed[day : day + length] += mean[day : day + length] * rng.uniform(0.3, 0.8)
            day += length
    observed = np.clip(observed, 0.0, None)
    if rng.random() < 0.35:
        # Usage capped by capacity: a stretch where the pool was full.
        start = int(rng.integers(60, len(days) - 150))
        length = int(rng.integers(45, 120))
        window = observed[start : start + length]
        cap = 0.88 * float(np.median(window))
        observed[start : start + length] = np.minimum(window, cap)
    meta = {"level": level, "growth": growth, "final_step": float(launch[-1])}
    return np.round(observed, 2), mean, meta


def make_history(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic daily history and the noise-free parameters of every series."""
    days = pd.date_range(HISTORY_START, periods=HISTORY_DAYS, freq="D")
    frames = []
    params = []
    for attributes in _team_series(rng):
        observed, _, meta = _demand_signal(
            rng, str(attributes["workload"]), str(attributes["sku"]), days
        )
        frames.append(pd.DataFrame({**attributes, "ds": days, "y": observed}))
        params.append({**attributes, **meta})
    history = pd.concat(frames, ignore_index=True)
    columns = ["unique_id", "ds", "y", "org", "team", "workload", "sku", "region"]
    return history[columns], pd.DataFrame(params)


def make_demand(params: pd.DataFrame) -> pd.DataFrame:
    """Quarterly requirement per workload and region in H100-equivalents, from the
    noise-free trend.

    This is the generator's own "ground truth" requirement for ``capforecast plan
    data_samples/planning``; ``capforecast demo`` replaces it with one forecast from the
    history.
    """
    days = pd.date_range(PERIODS[0].start_time, PERIODS[-1].end_time.normalize(), freq="D")
    t = (days - HISTORY_START).days.to_numpy(dtype=float)
    rows = []
    for _, series in params.iterrows():
        factor = CATALOG[str(series["sku"])][5 if series["workload"] == "training" else 6]
        trend = series["level"] * np.exp(np.log1p(series["growth"]) * t / 365.0)
        # Training series also run bursts on top of a 0.6 base: about 0.85 of the level.
        shape = 0.6 + 0.55 * 0.45 if series["workload"] == "training" else 0.97
        value = trend * series["final_step"] * shape * factor
        rows.append(
            pd.DataFrame(
                {
                    "workload": series["workload"],
                    "region": series["region"],
                    "ds": days,
                    "value": value,
                }
            )
        )
    keys = ["workload", "region"]
    daily = pd.concat(rows).groupby([*keys, "ds"], as_index=False)["value"].sum()
    daily["period"] = daily["ds"].dt.to_period("Q")
    demand = daily.groupby([*keys, "period"], as_index=False)["value"].mean()
    demand["demand"] = (demand["value"] / UTILIZATION_TARGET).round(1)
    demand["period"] = demand["period"].astype(str)
    return demand[["workload", "region", "period", "demand"]]


def planning_tables(params: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every planning input file of docs/data.md for the 12-quarter horizon 2027Q1..2029Q4."""
    labels = [str(p) for p in PERIODS]
    catalog = pd.DataFrame(
        [(sku, *values[:5], *values[7:]) for sku, values in CATALOG.items()],
        columns=[
            "sku",
            "unit_price",
            "lot_size",
            "power_kw",
            "lead_time",
            "lifetime",
            "opex",
            "availability",
        ],
    ).astype(
        {"unit_price": "Int64", "lot_size": "Int64", "lead_time": "Int64", "lifetime": "Int64"}
    )
    catalog["vendor"] = catalog["sku"].map(VENDORS)
    catalog["min_lots"] = catalog["sku"].map(MIN_LOTS).astype("Int64")
    perf = pd.DataFrame(
        [
            (sku, workload, values[5 + index])
            for sku, values in CATALOG.items()
            for index, workload in enumerate(["training", "inference"])
        ],
        columns=["sku", "workload", "factor"],
    )
    sites = pd.DataFrame(
        [(site, *values) for site, values in SITES.items()],
        columns=["site", "pue", "energy_price", "power_cap_kw", "slots", "region"],
    ).astype({"slots": "Int64"})
    site_power = pd.DataFrame(
        [
            (site, label, grown)
            for site, growth in (("texas", TEXAS_POWER), ("finland", FINLAND_POWER))
            for label in labels
            if (grown := _latest(growth, label)) is not None
        ],
        columns=["site", "period", "power_cap_kw"],
    )
    fleet = pd.DataFrame(
        FLEET,
        columns=["sku", "site", "units", "available_from", "retire_period", "salvage_value"],
    ).astype({"salvage_value": "Int64"})
    budget = pd.DataFrame(
        {"period": labels, "capex_budget": [round(110e6 * 1.03**i, -5) for i in range(12)]}
    )
    # Prices fall as a generation ages: H200 -4% and B200 -3% a quarter.
    declines = {"H200": 0.04, "B200": 0.03}
    prices = pd.DataFrame(
        [
            (sku, label, round(CATALOG[sku][0] * (1 - rate) ** i, -1))  # type: ignore[operator]
            for sku, rate in declines.items()
            for i, label in enumerate(labels)
        ],
        columns=["sku", "period", "unit_price"],
    )
    # Vendor allocation: B200 and GB200 are allocated per quarter; commitments are minimums.
    supply = pd.DataFrame(
        [("B200", label, 2_400 + 400 * i, None) for i, label in enumerate(labels)]
        + [("GB200", label, 1_440, None) for label in labels]
        + [(sku, label, None, units) for sku, label, units in COMMITMENTS],
        columns=["sku", "period", "max_units", "min_units"],
    ).astype({"max_units": "Int64", "min_units": "Int64"})
    # Cloud capacity per H100-equivalent: USD/GPU-hour x 2190 hours per quarter; the EU
    # costs 10% more and offers less.
    rent = pd.DataFrame(
        [
            (workload, region, label, round(hourly * markup * 2190, 2), limit * share)
            for workload, hourly, limit in (("inference", 3.5, 1_500), ("training", 4.0, 800))
            for region, markup, share in (("us", 1.0, 1.0), ("eu", 1.1, 0.5))
            for label in labels
        ],
        columns=["workload", "region", "period", "price", "max_units"],
    )
    clusters = pd.DataFrame(
        CLUSTERS, columns=["cluster", "workload", "size", "start", "end", "region"]
    )
    eligibility = pd.DataFrame(ELIGIBILITY, columns=["workload", "region", "site"])
    # Reserved contracts: the on-demand price per quarter less the discount.
    cloud_offers = pd.DataFrame(
        [
            (offer, workload, round(hourly * (1 - RESERVED_DISCOUNT) * 2190, 2), *terms)
            for offer, workload, hourly, *terms in OFFERS
        ],
        columns=["offer", "workload", "price", "term", "max_units", "notice", "region"],
    )
    vendor_limits = pd.DataFrame(VENDOR_LIMITS, columns=["vendor", "max_share"])
    return {
        "catalog": catalog,
        "perf": perf,
        "sites": sites,
        "site_power": site_power,
        "fleet": fleet,
        "budget": budget,
        "demand": make_demand(params),
        "prices": prices,
        "supply": supply,
        "rent": rent,
        "clusters": clusters,
        "eligibility": eligibility,
        "cloud_offers": cloud_offers,
        "vendor_limits": vendor_limits,
    }


def _latest(growth: dict[str, int], label: str) -> int | None:
    """The cap of the last step of ``growth`` at or before ``label`` (None before the first)."""
    steps = [cap for start, cap in sorted(growth.items()) if start <= label]
    return steps[-1] if steps else None


OPTIONS_YAML = """\
# Planning options (docs/model.md §5). Omitted keys take their defaults.
discount_rate: 0.02        # per quarter (about 8% a year)
hours_per_period: 2190     # hours in a quarter
load_factor: 0.7           # average fraction of nameplate power drawn
budget_carryover: false
early_retirement: true     # the legacy H100 fleet may be retired early for its salvage
mip_gap: 0.001
time_limit_s: 60
solver: highs
"""


def write_csv(table: pd.DataFrame, path: Path) -> None:
    path.write_bytes(table.to_csv(index=False, lineterminator="\n").encode())


def main() -> int:
    rng = np.random.default_rng(SEED)
    history, params = make_history(rng)
    write_csv(history.assign(ds=history["ds"].dt.strftime("%Y-%m-%d")), HERE / "history.csv")
    PLANNING.mkdir(exist_ok=True)
    for name, table in planning_tables(params).items():
        write_csv(table, PLANNING / f"{name}.csv")
    (PLANNING / "options.yaml").write_text(OPTIONS_YAML)
    source = HERE.parent.parent / "shared" / "data" / "helios_venus_cluster_gpu_number.csv"
    if source.is_file():
        write_csv(helios_history(source), HERE / "helios_venus_history.csv")
    else:
        print(f"note: {source} not found; kept the committed Helios history", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
