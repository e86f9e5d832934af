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

# sku: unit_price USD, lot_size, power_kw at the wall incl. host share, lead_time quarters,
# lifetime quarters, perf factor (training, inference) in H100-equivalents. README.md cites
# the source of each number.
CATALOG = {
    "H100": (27_000, 8, 1.275, 1, 20, 1.0, 1.0),
    "H200": (32_000, 8, 1.275, 1, 20, 1.3, 1.6),
    "B200": (38_000, 8, 1.79, 2, 20, 2.1, 3.0),
    "GB200": (41_700, 72, 1.67, 3, 20, 2.5, 3.5),
    "MI300X": (15_000, 8, 1.35, 2, 20, 1.0, 1.0),
    "Gaudi3": (15_600, 8, 1.62, 1, 20, 0.9, 0.9),
}

# site: pue, energy USD/kWh, constant power cap kW, slots (None = no space limit)
SITES = {
    "virginia": (1.15, 0.075, 32_000, None),
    "amsterdam": (1.35, 0.12, 9_500, 7_000),
    "texas": (1.20, 0.06, 8_000, None),
}

# The texas campus grows as substations come online (site_power.csv overrides the cap).
TEXAS_POWER = {"2027Q3": 16_000, "2027Q4": 16_000, "2028Q1": 24_000}

FLEET = [
    # sku, site, units, available_from, retire_period
    ("H100", "virginia", 2_500, "", "2028Q2"),
    ("H100", "virginia", 2_000, "", ""),
    ("H200", "virginia", 1_600, "", ""),
    ("H100", "amsterdam", 3_000, "", "2029Q1"),
    ("MI300X", "texas", 800, "", ""),
    ("B200", "texas", 1_200, "2027Q2", ""),  # in flight: ordered, arrives 2027Q2
    ("GB200", "virginia", 576, "2027Q3", ""),  # in flight: 8 NVL72 racks
]

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
    """Quarterly requirement per workload in H100-equivalents, from the noise-free trend.

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
        rows.append(pd.DataFrame({"workload": series["workload"], "ds": days, "value": value}))
    daily = pd.concat(rows).groupby(["workload", "ds"], as_index=False)["value"].sum()
    daily["period"] = daily["ds"].dt.to_period("Q")
    demand = daily.groupby(["workload", "period"], as_index=False)["value"].mean()
    demand["demand"] = (demand["value"] / UTILIZATION_TARGET).round(1)
    demand["period"] = demand["period"].astype(str)
    return demand[["workload", "period", "demand"]]


def planning_tables(params: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every planning input file of docs/data.md for the 12-quarter horizon 2027Q1..2029Q4."""
    labels = [str(p) for p in PERIODS]
    catalog = pd.DataFrame(
        [(sku, *values[:5]) for sku, values in CATALOG.items()],
        columns=["sku", "unit_price", "lot_size", "power_kw", "lead_time", "lifetime"],
    )
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
        columns=["site", "pue", "energy_price", "power_cap_kw", "slots"],
    ).astype({"slots": "Int64"})
    site_power = pd.DataFrame(
        [
            ("texas", label, TEXAS_POWER.get(label, TEXAS_POWER["2028Q1"]))
            for label in labels
            if label >= "2027Q3"
        ],
        columns=["site", "period", "power_cap_kw"],
    )
    fleet = pd.DataFrame(FLEET, columns=["sku", "site", "units", "available_from", "retire_period"])
    budget = pd.DataFrame(
        {"period": labels, "capex_budget": [round(45e6 * 1.03**i, -5) for i in range(12)]}
    )
    # Street prices fall as a generation ages: H100 -5% and H200 -4% a quarter, B200 -3%.
    declines = {"H100": 0.05, "H200": 0.04, "B200": 0.03}
    prices = pd.DataFrame(
        [
            (sku, label, round(CATALOG[sku][0] * (1 - rate) ** i, -1))
            for sku, rate in declines.items()
            for i, label in enumerate(labels)
        ],
        columns=["sku", "period", "unit_price"],
    )
    # Vendor allocation: B200 and GB200 are allocated per quarter.
    supply = pd.DataFrame(
        [("B200", label, 2_400 + 400 * i) for i, label in enumerate(labels)]
        + [("GB200", label, 720) for label in labels],
        columns=["sku", "period", "max_units"],
    )
    # Cloud capacity per H100-equivalent: USD/GPU-hour x 2190 hours per quarter.
    rent = pd.DataFrame(
        [("inference", label, round(3.5 * 2190, 2), 1_500) for label in labels]
        + [("training", label, round(4.0 * 2190, 2), 800) for label in labels],
        columns=["workload", "period", "price", "max_units"],
    )
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
    }


OPTIONS_YAML = """\
# Planning options (docs/model.md §5). Omitted keys take their defaults.
discount_rate: 0.02        # per quarter (about 8% a year)
hours_per_period: 2190     # hours in a quarter
load_factor: 0.7           # average fraction of nameplate power drawn
budget_carryover: false
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
