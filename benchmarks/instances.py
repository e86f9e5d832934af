"""Seeded planning instances of a chosen size, for benchmarks (never committed as data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_scaled_instance(
    directory: Path,
    skus: int,
    sites: int,
    workloads: int,
    periods: int,
    scenarios: int,
    *,
    seed: int,
) -> None:
    """Write a valid planning-input directory of the given size.

    Demand grows faster than the fleet, budgets bind in some periods, one site in three
    is power-tight and vendor supply is limited for the newest SKUs.
    """
    rng = np.random.default_rng(seed)
    labels = [str(p) for p in pd.period_range("2027Q1", periods=periods, freq="Q")]
    sku_names = [f"gpu{i}" for i in range(skus)]
    site_names = [f"site{i}" for i in range(sites)]
    workload_names = [f"work{i}" for i in range(workloads)]
    price = rng.uniform(10_000, 45_000, skus).round(-2)
    power = rng.uniform(1.2, 1.9, skus).round(3)
    catalog = pd.DataFrame(
        {
            "sku": sku_names,
            "unit_price": price,
            "lot_size": rng.choice([1, 4, 8], skus),
            "power_kw": power,
            "lead_time": rng.integers(0, 3, skus),
            "lifetime": rng.integers(periods // 2 + 1, periods + 8, skus),
        }
    )
    perf = pd.DataFrame(
        [
            (s, w, round(float(rng.uniform(0.5, 3.0)), 2))
            for s in sku_names
            for w in workload_names
            if rng.random() < 0.85
        ],
        columns=["sku", "workload", "factor"],
    )
    fleet_units = rng.integers(100, 600, size=(skus, sites)) * (rng.random((skus, sites)) < 0.4)
    pue = rng.uniform(1.1, 1.5, sites).round(2)
    draw = (fleet_units * power[:, None]).sum(axis=0) * pue
    tight = np.arange(sites) % 3 == 0
    cap = np.where(tight, draw * 1.3 + 500, draw * 4 + 5_000).round()
    sites_table = pd.DataFrame(
        {
            "site": site_names,
            "pue": pue,
            "energy_price": rng.uniform(0.05, 0.12, sites).round(3),
            "power_cap_kw": cap,
        }
    )
    fleet = pd.DataFrame(
        [
            (sku_names[s], site_names[k], int(fleet_units[s, k]), "", labels[periods // 2])
            for s in range(skus)
            for k in range(sites)
            if fleet_units[s, k] > 0
        ],
        columns=["sku", "site", "units", "available_from", "retire_period"],
    )
    base = fleet_units.sum() * 0.6 / workloads
    growth = 1.0 + rng.uniform(0.03, 0.08, workloads)
    rows = []
    for o in range(scenarios):
        shock = 1.0 + 0.15 * (o - (scenarios - 1) / 2)
        for w, workload in enumerate(workload_names):
            for t, label in enumerate(labels):
                demand = base * growth[w] ** t * shock * rng.uniform(0.95, 1.05)
                rows.append((workload, label, f"s{o}", round(float(demand), 1)))
    demand_table = pd.DataFrame(rows, columns=["workload", "period", "scenario", "demand"])
    budget = pd.DataFrame(
        {
            "period": labels,
            "capex_budget": (price.mean() * base * 0.3 * rng.uniform(0.5, 1.5, periods)).round(-3),
        }
    )
    supply = pd.DataFrame(
        [(sku_names[-1], label, 400) for label in labels], columns=["sku", "period", "max_units"]
    )
    rent = pd.DataFrame(
        [(w, label, 7_000.0, round(base * 0.1, 1)) for w in workload_names for label in labels],
        columns=["workload", "period", "price", "max_units"],
    )
    tables = {
        "catalog": catalog,
        "perf": perf,
        "sites": sites_table,
        "fleet": fleet,
        "demand": demand_table,
        "scenarios": pd.DataFrame(
            {"scenario": [f"s{o}" for o in range(scenarios)], "probability": 1.0 / scenarios}
        ),
        "budget": budget,
        "supply": supply,
        "rent": rent,
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(directory / f"{name}.csv", index=False)
    (directory / "options.yaml").write_text("discount_rate: 0.02\n")
