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
    families: bool = False,
    knapsack: bool = False,
    commercial: bool = False,
) -> None:
    """Write a valid planning-input directory of the given size.

    Demand grows faster than the fleet, budgets bind in some periods, one site in three
    is power-tight and vendor supply is limited for the newest SKUs.

    ``families`` turns on the second-version families of docs/model.md (see
    :func:`_add_families`): three regions, eligibility across regions, training clusters,
    a legacy SKU, opex and availability, and early retirement with salvage values.
    ``knapsack`` makes one accelerator dominate (see :func:`_make_knapsack`): most of the
    fleet and the best price per reference unit, so the plan buys many lots of it, and
    budgets bind in most periods: a wide integer knapsack in every budget row. Without
    either flag the instance is exactly the first-version one (same seed, same files).
    ``commercial`` (with ``families``) adds the commercial terms (see
    :func:`_add_commercial`). The extra draws come from their own seeded generators, so
    each flag leaves the rest of the instance as it was.
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
    options = "discount_rate: 0.02\n"
    if knapsack:
        _make_knapsack(tables, np.random.default_rng([seed, 2]), labels, workload_names)
    if families:
        _add_families(tables, np.random.default_rng([seed, 1]), labels, workload_names)
        options += "early_retirement: true\n"
    if commercial:
        _add_commercial(tables, np.random.default_rng([seed, 3]), labels)
        options += "capex_timing: delivery\n"
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(directory / f"{name}.csv", index=False)
    (directory / "options.yaml").write_text(options)


#: The regions of an instance with ``families``; site ``k`` is in ``REGIONS[k % 3]``.
REGIONS = ("us", "eu", "ap")
#: The dominant SKU of a ``knapsack`` instance (gpu0 is the legacy SKU with ``families``,
#: the last SKU is the supply-limited one).
DOMINANT = 1


def _power_caps(tables: dict[str, pd.DataFrame]) -> None:
    """Site power caps from the fleet's draw, by the rule of the base instance: one site in
    three tight (1.3x the fleet's draw), the others roomy (4x)."""
    catalog, sites, fleet = tables["catalog"], tables["sites"], tables["fleet"]
    power = catalog.set_index("sku")["power_kw"]
    kw = fleet["units"] * fleet["sku"].map(power).to_numpy()
    draw = kw.groupby(fleet["site"]).sum().reindex(sites["site"]).fillna(0.0).to_numpy()
    draw = draw * sites["pue"].to_numpy()
    tight = np.arange(len(sites)) % 3 == 0
    sites["power_cap_kw"] = np.where(tight, draw * 1.3 + 500, draw * 4 + 5_000).round()


def _factor_matrix(tables: dict[str, pd.DataFrame], workloads: list[str]) -> pd.DataFrame:
    """``f_{s,w}`` as a SKU x workload frame (0 where perf.csv has no row)."""
    skus = tables["catalog"]["sku"].tolist()
    perf = tables["perf"].pivot_table(index="sku", columns="workload", values="factor")
    return perf.reindex(index=skus, columns=workloads).fillna(0.0)


def _make_knapsack(
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    labels: list[str],
    workloads: list[str],
) -> None:
    """One accelerator dominates and budgets bind: a wide integer knapsack per period.

    SKU ``gpu1`` costs 20,000 USD in lots of 8 and delivers 3.0 reference units on every
    workload, at least 1.25x better per USD than any other SKU; every site has 1,500 to
    3,000 of it (most of the fleet), demand is scaled to the larger fleet, and each
    period's budget buys only 40-80% of what covering 8% demand growth with it would
    cost, so budgets bind in every period and shortfall is most of the cost. With
    ``families`` at 50x10x20x1 and seed 1, the plan orders 26,724 lots, 23,567 of them of
    one lead-time-0 SKU (it serves in the period it is bought, which the shortfall
    penalty rewards over the dominant SKU's lower price): many lots of one SKU in
    every budget row, with 500 order columns per row.
    """
    catalog, perf, fleet = tables["catalog"], tables["perf"], tables["fleet"]
    sites = tables["sites"]["site"].tolist()
    d = DOMINANT
    dominant = catalog.at[d, "sku"]
    old_capacity = _reference_capacity(tables, workloads)
    catalog.loc[d, ["unit_price", "power_kw"]] = [20_000.0, 1.5]
    catalog.loc[d, ["lot_size", "lead_time", "lifetime"]] = [8, 1, len(labels) + 4]
    best = 20_000.0 / 3.0  # USD per reference unit of the dominant SKU
    price = perf["sku"].map(catalog.set_index("sku")["unit_price"])
    perf["factor"] = np.minimum(perf["factor"], (price / (1.25 * best)).round(2))
    rows = pd.DataFrame({"sku": dominant, "workload": workloads, "factor": 3.0})
    tables["perf"] = pd.concat([perf[perf["sku"] != dominant], rows], ignore_index=True)
    fleet = fleet[fleet["sku"] != dominant]
    added = pd.DataFrame(
        {
            "sku": dominant,
            "site": sites,
            "units": rng.integers(1_500, 3_000, len(sites)),
            "available_from": "",
            "retire_period": labels[len(labels) // 2],
        }
    )
    tables["fleet"] = pd.concat([fleet, added], ignore_index=True)
    _power_caps(tables)
    scale = _reference_capacity(tables, workloads) / old_capacity
    demand, rent = tables["demand"], tables["rent"]
    demand["demand"] = (demand["demand"] * scale).round(1)
    rent["max_units"] = (rent["max_units"] * scale).round(1)
    total = demand.groupby("period")["demand"].sum() / demand["scenario"].nunique()
    needed = total.reindex(labels).to_numpy() * 0.08 / 3.0 * 20_000.0
    tables["budget"]["capex_budget"] = (needed * rng.uniform(0.4, 0.8, len(labels))).round(-3)


def _reference_capacity(tables: dict[str, pd.DataFrame], workloads: list[str]) -> float:
    """Reference units of the fleet at the start (mean factor over workloads)."""
    fleet = tables["fleet"]
    mean = _factor_matrix(tables, workloads).mean(axis=1)
    return float((fleet["units"] * fleet["sku"].map(mean).to_numpy()).sum())


def _add_families(
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    labels: list[str],
    workloads: list[str],
) -> None:
    """The second-version families of docs/model.md on a base instance.

    - **Regions.** Site ``k`` is in region ``us``, ``eu`` or ``ap`` (``k % 3``); each
      workload's demand is split across the three regions by the regions' share of the
      fleet (plus a floor), and so is its rent limit. For even workloads,
      ``eligibility.csv`` lets each region also use the first site of the next region;
      a region without sites (fewer than three sites) uses the sites of ``us``.
    - **Legacy SKU.** ``gpu0`` is owned but no longer sold (the four order columns
      empty): 200 to 800 units at every other site, in service past the horizon, slow
      (0.3 to 0.6 reference units) and power hungry, with a high opex.
    - **Opex and availability** for every SKU.
    - **Early retirement** with a ``salvage_value`` per fleet row: 5-25% of the price for
      orderable SKUs, -300 to 600 USD (a decommissioning cost) for the legacy SKU, blank
      for some rows.
    - **Training clusters**: 1 (fewer than 20 SKUs), 2 (fewer than 50) or 3, each 80% of
      the 80th percentile of the fleet's pools (SKU x site, reference units of its
      workload), so that only some pools can hold one without new orders; the first in
      the first half of the horizon and in the region of the largest pool, the second
      across the fleet's retirement (``retire_period``) on the four SKUs with the largest
      pools, the third in the second half on two sites.
    """
    catalog, perf, sites, fleet = (tables[n] for n in ("catalog", "perf", "sites", "fleet"))
    T = len(labels)
    legacy = catalog.at[0, "sku"]
    for column in ("lot_size", "lead_time", "lifetime"):
        catalog[column] = catalog[column].astype("Int64")
    price = catalog["unit_price"].to_numpy(dtype=float)
    catalog["opex"] = (price * rng.uniform(0.004, 0.012, len(catalog))).round(1)
    catalog["availability"] = rng.uniform(0.95, 1.0, len(catalog)).round(3)
    catalog.loc[0, ["unit_price", "lot_size", "lead_time", "lifetime"]] = pd.NA
    catalog.loc[0, ["power_kw", "opex", "availability"]] = [2.0, 900.0, 0.92]
    perf = perf[perf["sku"] != legacy]
    old = pd.DataFrame(
        {"sku": legacy, "workload": workloads, "factor": rng.uniform(0.3, 0.6, len(workloads))}
    ).round(2)
    tables["perf"] = perf = pd.concat([old, perf], ignore_index=True)

    site_names = sites["site"].tolist()
    fleet = fleet[fleet["sku"] != legacy]
    owned = site_names[::2]
    old_fleet = pd.DataFrame(
        {
            "sku": legacy,
            "site": owned,
            "units": rng.integers(200, 800, len(owned)),
            "available_from": "",
            "retire_period": "",
        }
    )
    fleet = pd.concat([old_fleet, fleet], ignore_index=True)
    unit_price = fleet["sku"].map(catalog.set_index("sku")["unit_price"]).to_numpy(dtype=float)
    salvage = np.where(
        fleet["sku"] == legacy,
        rng.uniform(-300, 600, len(fleet)),
        unit_price * rng.uniform(0.05, 0.25, len(fleet)),
    ).round(-1)
    fleet["salvage_value"] = np.where(rng.random(len(fleet)) < 0.15, np.nan, salvage)
    tables["fleet"] = fleet
    _power_caps(tables)

    region = [REGIONS[k % 3] for k in range(len(site_names))]
    sites["region"] = region
    factor = _factor_matrix(tables, workloads)
    capacity = fleet["units"] * fleet["sku"].map(factor.mean(axis=1)).to_numpy()
    by_region = capacity.groupby(
        fleet["site"].map(dict(zip(site_names, region, strict=True)))
    ).sum()
    by_region = by_region.reindex(list(REGIONS)).fillna(0.0).to_numpy()
    share = 0.75 * by_region / by_region.sum() + 0.25 / len(REGIONS)
    demand = tables["demand"]
    parts = []
    for g, name in enumerate(REGIONS):
        part = demand.assign(region=name)
        noise = rng.uniform(0.97, 1.03, len(demand))
        part["demand"] = (demand["demand"] * share[g] * noise).round(1)
        parts.append(part)
    tables["demand"] = pd.concat(parts, ignore_index=True)[
        ["workload", "region", "period", "scenario", "demand"]
    ]
    rent = tables["rent"]
    tables["rent"] = pd.concat(
        [
            rent.assign(
                region=name,
                price=rent["price"] * (1 + 0.1 * g),
                max_units=(rent["max_units"] * share[g]).round(1),
            )
            for g, name in enumerate(REGIONS)
        ],
        ignore_index=True,
    )

    in_region = {g: [s for s, r in zip(site_names, region, strict=True) if r == g] for g in REGIONS}
    with_sites = [g for g in REGIONS if in_region[g]]
    eligibility = []
    for w, workload in enumerate(workloads):
        for name in REGIONS:
            if not in_region[name]:
                allowed = in_region[REGIONS[0]]
            elif w % 2 == 0 and len(with_sites) > 1:
                following = with_sites[(with_sites.index(name) + 1) % len(with_sites)]
                allowed = in_region[name] + in_region[following][:1]
            else:
                continue
            eligibility += [(workload, name, site) for site in allowed]
    tables["eligibility"] = pd.DataFrame(eligibility, columns=["workload", "region", "site"])

    skus = catalog["sku"].tolist()
    count = 1 if len(skus) < 20 else 2 if len(skus) < 50 else 3
    units = fleet.pivot_table(index="sku", columns="site", values="units", aggfunc="sum")
    units = units.reindex(index=skus, columns=site_names).fillna(0.0).to_numpy()
    clusters = []
    for c in range(count):
        w = c % len(workloads)
        pools = units * factor.iloc[:, w].to_numpy()[:, None]  # [s, k] reference units
        size = round(0.8 * float(np.quantile(pools[pools > 0], 0.8)), -1)
        row = {"cluster": f"train{c}", "workload": workloads[w], "size": size}
        row.update(region="", skus="", sites="")
        if c == 0:
            k = int(np.unravel_index(np.argmax(pools), pools.shape)[1])
            row.update(start=labels[1], end=labels[max(1, T // 2 - 1)], region=region[k])
        elif c == 1:
            largest = np.argsort(-pools.max(axis=1))[:4]
            row.update(
                start=labels[T // 4],
                end=labels[min(T - 1, T // 2 + 1)],
                skus=";".join(skus[s] for s in sorted(largest)),
            )
        else:
            row.update(start=labels[T // 2], end=labels[T - 1], sites=";".join(site_names[1:3]))
        clusters.append(row)
    tables["clusters"] = pd.DataFrame(
        clusters, columns=["cluster", "workload", "size", "start", "end", "region", "skus", "sites"]
    )


def _add_commercial(
    tables: dict[str, pd.DataFrame], rng: np.random.Generator, labels: list[str]
) -> None:
    """The commercial terms of docs/model.md §6.15-6.19 on an instance with ``families``.

    - **Vendors**: SKU ``i`` is sold by ``v{i % 3}``; no vendor above 60% of the capex,
      and ``v1`` at least 10%.
    - **Minimum orders**: every third orderable SKU is ordered at least 2 to 4 lots at a
      time.
    - **Committed volumes**: the two cheapest orderable SKUs per reference unit take a
      commitment of 1-3 lots in the first period whose orders can arrive by the middle.
    - **Budgets by year** (the quarterly budgets summed), charged at delivery.
    - **Reserved cloud contracts**: per workload and region, a one-year contract at 40%
      below its rent price after one quarter's notice, up to its rent limit.
    """
    catalog, supply = tables["catalog"], tables["supply"]
    orderable = catalog["unit_price"].notna().to_numpy()
    catalog["vendor"] = [f"v{i % 3}" for i in range(len(catalog))]
    lots = pd.array([pd.NA] * len(catalog), dtype="Int64")
    every_third = np.flatnonzero(orderable)[::3]
    lots[every_third] = rng.integers(2, 5, len(every_third))
    catalog["min_lots"] = lots
    tables["vendor_limits"] = pd.DataFrame(
        {"vendor": ["v0", "v1", "v2"], "max_share": 0.6, "min_share": [None, 0.1, None]}
    )
    factor = tables["perf"].groupby("sku")["factor"].max()
    per_unit = catalog["unit_price"] / catalog["sku"].map(factor)
    cheapest = per_unit[orderable].nsmallest(2).index
    middle = len(labels) // 2
    commitments = [
        (
            catalog.at[i, "sku"],
            labels[max(0, middle - int(catalog.at[i, "lead_time"]))],
            np.nan,
            int(rng.integers(1, 4)) * int(catalog.at[i, "lot_size"]),
        )
        for i in cheapest
    ]
    tables["supply"] = pd.concat(
        [
            supply.assign(min_units=np.nan),
            pd.DataFrame(commitments, columns=["sku", "period", "max_units", "min_units"]),
        ],
        ignore_index=True,
    ).drop_duplicates(["sku", "period"], keep="last")
    budget = tables["budget"]
    tables["budget"] = (
        budget.assign(period=budget["period"].str[:4])
        .groupby("period", as_index=False)["capex_budget"]
        .sum()
    )
    rent = tables["rent"]
    first = rent.drop_duplicates(["workload", "region"])
    tables["cloud_offers"] = pd.DataFrame(
        {
            "offer": "reserve-" + first["workload"] + "-" + first["region"],
            "workload": first["workload"],
            "price": (first["price"] * 0.6).round(2),
            "term": 4,
            "max_units": first["max_units"],
            "notice": 1,
            "region": first["region"],
        }
    )
