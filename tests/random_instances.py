"""Small random planning-input directories (docs/data.md) for cross-checking the planner.

With ``commercial=True`` they also draw the commercial terms of DESIGN.md §4.6
(vendors and ``vendor_limits.csv``, ``min_lots``, supply minimums, budgets by year,
``capex_timing``, ``cloud_offers.csv``) from their own stream: take-or-pay minimums and
minimum vendor shares can make a few of them infeasible (the reference reports it).

Every instance is valid: the existing fleet fits every site's power cap and slots in every
period (except, with ``early_retirement``, a site that retiring fleet must bring under its
cap), budgets are >= 0, demand and budget cover every period (and scenario), lifetimes are
>= 1. Demand grows above what the fleet serves, so purchases matter, and budgets are drawn
around the cost of closing that gap, so they bind in some instances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

SKU_NAMES = ("h100", "b200", "mi300")
SITE_NAMES = ("east", "west")
WORKLOAD_NAMES = ("training", "inference")
SCENARIO_NAMES = ("low", "mid", "high")
SCENARIO_SCALE = (0.75, 1.0, 1.35)


def _write(directory: Path, name: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Write ``rows`` as a CSV with the given column order (no file when there are none)."""
    if not rows:
        return
    pd.DataFrame(rows, columns=columns).to_csv(directory / name, index=False)


def write_random_instance(directory: Path, seed: int, commercial: bool = False) -> None:
    """Write a small, valid random planning-input directory for ``seed``. ``commercial``
    adds the commercial terms of DESIGN.md §4.6 (off by default, so that callers written
    before them get the same instances as before; the draws above are unchanged by it)."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    T = int(rng.integers(3, 6))
    labels = [str(p) for p in pd.period_range("2027Q1", periods=T, freq="Q")]
    skus = list(SKU_NAMES[: int(rng.integers(2, 4))])
    sites = list(SITE_NAMES[: int(rng.integers(1, 3))])
    workloads = list(WORKLOAD_NAMES[: int(rng.integers(1, 3))])
    S, K, W = len(skus), len(sites), len(workloads)

    # catalog.csv
    price = rng.integers(10, 61, size=S) * 100.0
    lot = rng.integers(1, 5, size=S)
    power = np.round(rng.uniform(0.5, 2.0, size=S), 2)
    lead = rng.integers(0, 3, size=S)
    life = rng.integers(1, 7, size=S)
    _write(
        directory,
        "catalog.csv",
        [
            {
                "sku": skus[s],
                "unit_price": price[s],
                "lot_size": int(lot[s]),
                "power_kw": power[s],
                "lead_time": int(lead[s]),
                "lifetime": int(life[s]),
            }
            for s in range(S)
        ],
        ["sku", "unit_price", "lot_size", "power_kw", "lead_time", "lifetime"],
    )

    # perf.csv: missing pairs mean 0; sometimes a workload no SKU serves
    factor = np.round(rng.uniform(0.5, 3.0, size=(S, W)), 2)
    factor[rng.random(size=(S, W)) < 0.2] = 0.0
    if W == 2 and rng.random() < 0.15:
        factor[:, 1] = 0.0
    factor[0, 0] = max(factor[0, 0], 1.0)  # perf.csv is never empty
    _write(
        directory,
        "perf.csv",
        [
            {"sku": skus[s], "workload": workloads[w], "factor": factor[s, w]}
            for s in range(S)
            for w in range(W)
            if factor[s, w] > 0
        ],
        ["sku", "workload", "factor"],
    )

    # fleet.csv: retirements, in-flight units, rows sharing sku/site
    fleet_rows: list[dict[str, Any]] = []
    F = np.zeros((S, K, T))
    for s in range(S):
        for k in range(K):
            count = int(rng.choice([0, 1, 1, 2]))
            for _ in range(max(count, int(s == k == 0))):  # fleet.csv is never empty
                units = int(rng.integers(1, 9))
                start_i = int(rng.choice([-2, -1, -1, -1, 1, 2]))  # -2: before horizon
                start_i = min(start_i, T - 1)
                end_i = int(rng.choice([-1, -1, 1, 2, T - 1, T + 1]))  # -1: empty
                if start_i >= 0 and 0 <= end_i <= start_i:
                    end_i = start_i + 1
                start = "" if start_i == -1 else "2026Q3" if start_i == -2 else labels[start_i]
                end = (
                    ""
                    if end_i == -1
                    else labels[end_i]
                    if end_i < T
                    else str(pd.Period(labels[-1], freq="Q") + (end_i - T + 1))
                )
                fleet_rows.append(
                    {
                        "sku": skus[s],
                        "site": sites[k],
                        "units": units,
                        "available_from": start,
                        "retire_period": end,
                    }
                )
                live = np.ones(T, dtype=bool)
                if start_i >= 0:
                    live[:start_i] = False
                if end_i >= 0:
                    live[end_i:] = False
                F[s, k] += units * live
    _write(
        directory,
        "fleet.csv",
        fleet_rows,
        ["sku", "site", "units", "available_from", "retire_period"],
    )

    # sites.csv and site_power.csv: caps leave room above the fleet's draw
    pue = np.round(rng.uniform(1.05, 1.6, size=K), 2)
    energy_price = np.round(rng.uniform(0.05, 0.15, size=K), 3)
    draw = np.einsum("skt,s,k->kt", F, power, pue)
    fleet_units = F.sum(axis=0)
    site_rows = []
    with_slots = rng.random() < 0.5
    for k in range(K):
        row: dict[str, Any] = {
            "site": sites[k],
            "pue": pue[k],
            "energy_price": energy_price[k],
            "power_cap_kw": float(np.ceil(draw[k].max() + rng.uniform(3.0, 15.0))),
            "slots": "",
        }
        if with_slots and (k == 0 or rng.random() < 0.5):
            row["slots"] = int(fleet_units[k].max() + rng.integers(0, 5))
        site_rows.append(row)
    columns = ["site", "pue", "energy_price", "power_cap_kw"]
    if with_slots or rng.random() < 0.3:
        columns.append("slots")
    _write(directory, "sites.csv", site_rows, columns)
    if rng.random() < 0.5:
        _write(
            directory,
            "site_power.csv",
            [
                {
                    "site": sites[k],
                    "period": labels[t],
                    "power_cap_kw": float(np.ceil(draw[k, t] + rng.uniform(0.0, 20.0))),
                }
                for k in range(K)
                for t in range(T)
                if rng.random() < 0.5
            ],
            ["site", "period", "power_cap_kw"],
        )

    # demand.csv (and scenarios.csv): above what the fleet serves, growing
    fleet_ref = np.einsum("skt,s->t", F, factor.max(axis=1, initial=0.0))
    served = factor.max(axis=0) > 0
    share = served / max(int(served.sum()), 1)
    growth = 1.0 + rng.uniform(0.05, 0.4, size=W)
    base = rng.uniform(2.0, 8.0, size=W)
    demand = np.array(
        [
            [
                fleet_ref[t] * share[w] * rng.uniform(0.8, 1.1) + base[w] * growth[w] ** t
                for t in range(T)
            ]
            for w in range(W)
        ]
    )
    if rng.random() < 0.4:
        n_scen = int(rng.integers(2, 4))
        names = list(SCENARIO_NAMES[:n_scen]) if n_scen == 3 else ["low", "high"]
        scale = list(SCENARIO_SCALE) if n_scen == 3 else [SCENARIO_SCALE[0], SCENARIO_SCALE[2]]
        first = round(float(rng.uniform(0.2, 0.6)), 2)
        probs = [first, round(1.0 - first, 2)] if n_scen == 2 else [first, 0.25, 0.75 - first]
        _write(
            directory,
            "demand.csv",
            [
                {
                    "workload": workloads[w],
                    "period": labels[t],
                    "scenario": names[o],
                    "demand": round(demand[w, t] * scale[o] * rng.uniform(0.9, 1.1), 1),
                }
                for o in range(n_scen)
                for w in range(W)
                for t in range(T)
            ],
            ["workload", "period", "scenario", "demand"],
        )
        _write(
            directory,
            "scenarios.csv",
            [{"scenario": names[o], "probability": probs[o]} for o in range(n_scen)],
            ["scenario", "probability"],
        )
    else:
        _write(
            directory,
            "demand.csv",
            [
                {"workload": workloads[w], "period": labels[t], "demand": round(demand[w, t], 1)}
                for w in range(W)
                for t in range(T)
            ],
            ["workload", "period", "demand"],
        )

    # budget.csv: around the cost of closing the gap, sometimes zero
    gap = np.maximum(demand.sum(axis=0) - fleet_ref, 0.0).max()
    need = float(gap / max(float(factor.max()), 0.5) * (price * lot).mean())
    _write(
        directory,
        "budget.csv",
        [
            {
                "period": labels[t],
                "capex_budget": 0.0
                if rng.random() < 0.15
                else round(need * rng.uniform(0.1, 0.6), -2),
            }
            for t in range(T)
        ],
        ["period", "capex_budget"],
    )

    # prices.csv, supply.csv, rent.csv (optional)
    if rng.random() < 0.5:
        _write(
            directory,
            "prices.csv",
            [
                {
                    "sku": skus[s],
                    "period": labels[t],
                    "unit_price": round(price[s] * rng.uniform(0.7, 1.2), -2),
                }
                for s in range(S)
                for t in range(T)
                if rng.random() < 0.5
            ],
            ["sku", "period", "unit_price"],
        )
    if rng.random() < 0.5:
        _write(
            directory,
            "supply.csv",
            [
                {"sku": skus[s], "period": labels[t], "max_units": float(rng.integers(0, 7))}
                for s in range(S)
                for t in range(T)
                if rng.random() < 0.5
            ],
            ["sku", "period", "max_units"],
        )
    if rng.random() < 0.5:
        _write(
            directory,
            "rent.csv",
            [
                {
                    "workload": workloads[w],
                    "period": labels[t],
                    "price": round(float(rng.uniform(200.0, 3000.0)), 0),
                    "max_units": float(rng.integers(0, 11)),
                }
                for w in range(W)
                for t in range(T)
                if rng.random() < 0.7
            ],
            ["workload", "period", "price", "max_units"],
        )

    # options.yaml (sometimes absent)
    options: dict[str, Any] = {}
    if rng.random() < 0.7:
        options["discount_rate"] = round(float(rng.uniform(0.005, 0.05)), 3)
    carry = int(rng.integers(0, 3))  # 0: omitted, 1: false, 2: true
    if carry:
        options["budget_carryover"] = carry == 2
    penalty_mode = int(rng.integers(0, 3))  # 0: absent, 1: number, 2: map
    if penalty_mode == 1:
        options["shortfall_penalty"] = float(rng.integers(5, 100) * 100)
    elif penalty_mode == 2:
        given = workloads if rng.random() < 0.6 else workloads[:1]
        options["shortfall_penalty"] = {w: float(rng.integers(5, 100) * 100) for w in given}
    if rng.random() < 0.25:
        options["hours_per_period"] = 2184.0
    if rng.random() < 0.25:
        options["load_factor"] = round(float(rng.uniform(0.4, 1.0)), 2)
    if rng.random() < 0.2:
        options["time_limit_s"] = 30
        options["solver"] = "highs"
        options["mip_gap"] = 0.01
    if rng.random() < 0.15:
        options = {}  # no options.yaml: every default
    # Objective extensions (drawn last, so the instances above stay as they were).
    if options and rng.random() < 0.35:
        # The default is straight_line: half of these switch it off, half name the default.
        options["terminal_value"] = "none" if rng.random() < 0.5 else "straight_line"
    if options and rng.random() < 0.35:
        options["risk"] = "cvar"
        options["cvar_alpha"] = round(float(rng.uniform(0.5, 0.95)), 2)
        options["cvar_weight"] = round(float(rng.uniform(0.2, 1.0)), 2)
    # Second-version inputs, from their own stream so the draws above stay as they were.
    options = _second_version(directory, np.random.default_rng([seed, 2]), options, labels)
    options = _geography(directory, np.random.default_rng([seed, 3]), options, labels)
    options = _price_unserved(directory, options)
    if commercial:
        options = _commercial(directory, np.random.default_rng([seed, 17]), options, labels)
    if options:
        (directory / "options.yaml").write_text(yaml.safe_dump(options, sort_keys=False))


def _second_version(
    directory: Path, rng: np.random.Generator, options: dict[str, Any], labels: list[str]
) -> dict[str, Any]:
    """Add a legacy SKU (owned, with fleet and perf, no price), catalog ``opex`` and
    ``availability``, and ``early_retirement`` with ``salvage_value`` (sometimes with a site
    whose fleet is over its power cap, which only retiring can fix); returns the options."""
    catalog = pd.read_csv(directory / "catalog.csv", dtype=str, keep_default_na=False)
    perf = pd.read_csv(directory / "perf.csv", dtype=str, keep_default_na=False)
    fleet = pd.read_csv(directory / "fleet.csv", dtype=str, keep_default_na=False)
    sites = pd.read_csv(directory / "sites.csv", dtype=str, keep_default_na=False)
    site_power_path = directory / "site_power.csv"
    site_power = (
        pd.read_csv(site_power_path, dtype=str, keep_default_na=False)
        if site_power_path.is_file()
        else None
    )
    if rng.random() < 0.4:
        power_kw = round(float(rng.uniform(0.3, 1.0)), 2)
        legacy = {"sku": "a100", "unit_price": "", "lot_size": "", "power_kw": str(power_kw)}
        catalog = pd.concat(
            [catalog, pd.DataFrame([legacy | {"lead_time": "", "lifetime": ""}])],
            ignore_index=True,
        )
        # It serves only workloads that an orderable SKU serves too (or that have an
        # explicit penalty): a workload served by legacy SKUs alone needs one.
        penalty = options.get("shortfall_penalty")
        priced = set(penalty) if isinstance(penalty, dict) else set()
        demand = pd.read_csv(directory / "demand.csv", dtype=str, keep_default_na=False)
        for workload in pd.unique(demand["workload"]):
            explicit = isinstance(penalty, float) or workload in priced
            if (workload in set(perf["workload"]) and rng.random() < 0.7) or explicit:
                factor = round(float(rng.uniform(0.3, 0.9)), 2)
                row = {"sku": "a100", "workload": workload, "factor": str(factor)}
                perf = pd.concat([perf, pd.DataFrame([row])], ignore_index=True)
        added = []
        for k, site in enumerate(sites["site"]):
            if k > 0 and rng.random() < 0.5:
                continue
            units = int(rng.integers(1, 7))
            end = "" if rng.random() < 0.6 else labels[int(rng.integers(1, len(labels)))]
            added.append(
                {"sku": "a100", "site": site, "units": str(units), "available_from": ""}
                | {"retire_period": end}
            )
            # Room for it: the instance stays as tight as it was for the other SKUs.
            extra = units * power_kw * float(sites.at[k, "pue"])
            sites.at[k, "power_cap_kw"] = str(float(sites.at[k, "power_cap_kw"]) + np.ceil(extra))
            if "slots" in sites.columns and sites.at[k, "slots"] != "":
                sites.at[k, "slots"] = str(int(sites.at[k, "slots"]) + units)
            if site_power is not None:
                here = site_power["site"] == site
                raised = site_power.loc[here, "power_cap_kw"].astype(float) + np.ceil(extra)
                site_power.loc[here, "power_cap_kw"] = raised.astype(str)
        fleet = pd.concat([fleet, pd.DataFrame(added)], ignore_index=True)
    if rng.random() < 0.4:
        opex = np.round(rng.uniform(10.0, 150.0, size=len(catalog)), 1).astype(str)
        catalog["opex"] = np.where(rng.random(len(catalog)) < 0.2, "", opex)
    if rng.random() < 0.4:
        share = np.round(rng.uniform(0.6, 1.0, size=len(catalog)), 2).astype(str)
        catalog["availability"] = np.where(rng.random(len(catalog)) < 0.2, "", share)
    if rng.random() < 0.45:
        options = {**options, "early_retirement": True}
        if rng.random() < 0.8:
            salvage = np.round(rng.uniform(-300.0, 2500.0, size=len(fleet)), 0).astype(str)
            fleet["salvage_value"] = np.where(rng.random(len(fleet)) < 0.2, "", salvage)
        if rng.random() < 0.4:
            # The first site's cap below what its fleet draws: only retiring can fix it.
            sites.at[0, "power_cap_kw"] = str(float(sites.at[0, "power_cap_kw"]) * 0.3)
            if site_power is not None:
                site_power = site_power[site_power["site"] != sites.at[0, "site"]]
    catalog.to_csv(directory / "catalog.csv", index=False)
    perf.to_csv(directory / "perf.csv", index=False)
    fleet.to_csv(directory / "fleet.csv", index=False)
    sites.to_csv(directory / "sites.csv", index=False)
    if site_power is not None:
        site_power.to_csv(site_power_path, index=False)
    return options


REGION_NAMES = ("us", "eu")


def _geography(
    directory: Path, rng: np.random.Generator, options: dict[str, Any], labels: list[str]
) -> dict[str, Any]:
    """Sometimes put sites in regions and split demand (and rent) between them, with
    ``eligibility.csv`` rows that let one pair use the other region's site or keep it to one
    site; sometimes add ``clusters.csv`` (in the horizon, partly or wholly outside it,
    restricted to SKUs, sites or a region). Returns the options."""
    sites = pd.read_csv(directory / "sites.csv", dtype=str, keep_default_na=False)
    demand = pd.read_csv(directory / "demand.csv", dtype=str, keep_default_na=False)
    catalog = pd.read_csv(directory / "catalog.csv", dtype=str, keep_default_na=False)
    workloads = list(pd.unique(demand["workload"]))
    regional = rng.random() < 0.5
    if regional:
        K = len(sites)
        # One site: it is in "us" or "eu", and the other region's demand is served only
        # through eligibility, rent or not at all. Two: one per region, or both in "us".
        sites["region"] = (
            [REGION_NAMES[int(rng.integers(0, 2))]]
            if K == 1
            else ["us", "eu" if rng.random() < 0.7 else "us"]
        )
        share = rng.uniform(0.3, 0.8, size=len(workloads))
        parts = []
        for g, region in enumerate(REGION_NAMES):
            if g == 1 and rng.random() < 0.2:
                continue  # only "us" demand
            part = demand.copy()
            scale = np.array([share[workloads.index(w)] for w in part["workload"]])
            part["demand"] = np.round(
                part["demand"].astype(float) * (scale if g == 0 else 1 - scale), 1
            )
            part["region"] = region
            parts.append(part)
        demand = pd.concat(parts, ignore_index=True)
        rent_path = directory / "rent.csv"
        if rent_path.is_file():
            rent = pd.read_csv(rent_path, dtype=str, keep_default_na=False)
            present = list(pd.unique(demand["region"]))
            rent["region"] = [present[int(rng.integers(0, len(present)))] for _ in range(len(rent))]
            rent = rent.drop_duplicates(["workload", "region", "period"])
            rent.to_csv(rent_path, index=False)
        if rng.random() < 0.6:
            pairs = demand[["workload", "region"]].drop_duplicates().to_numpy()
            rows = []
            for workload, region in pairs:
                if rng.random() < 0.5:
                    allowed = sites["site"][rng.random(len(sites)) < 0.7]
                    rows += [{"workload": workload, "region": region, "site": k} for k in allowed]
            if rows:
                pd.DataFrame(rows).to_csv(directory / "eligibility.csv", index=False)
        demand.to_csv(directory / "demand.csv", index=False)
        sites.to_csv(directory / "sites.csv", index=False)
    if rng.random() < 0.45:
        T = len(labels)
        rows = []
        for c in range(int(rng.integers(1, 3))):
            start = int(rng.integers(-1, T))
            end = min(start + int(rng.integers(0, 3)), T + 1)
            if rng.random() < 0.1:
                start, end = T, T + 1  # wholly after the horizon: ignored
            first = pd.Period(labels[0], freq="Q")
            row: dict[str, Any] = {
                "cluster": f"run{c}",
                "workload": workloads[int(rng.integers(0, len(workloads)))],
                "size": round(float(rng.uniform(2.0, 12.0)), 1),
                "start": str(first + start),
                "end": str(first + end),
                "region": "",
                "skus": "",
                "sites": "",
            }
            if regional and rng.random() < 0.4:
                row["region"] = str(sites["region"].iloc[int(rng.integers(0, len(sites)))])
            if rng.random() < 0.3:
                row["skus"] = ";".join(catalog["sku"][: int(rng.integers(1, len(catalog) + 1))])
            if rng.random() < 0.3:
                row["sites"] = str(sites["site"].iloc[-1])
            rows.append(row)
        pd.DataFrame(rows).to_csv(directory / "clusters.csv", index=False)
    return options


def _price_unserved(directory: Path, options: dict[str, Any]) -> dict[str, Any]:
    """A workload (of demand or of a cluster) that no orderable SKU serves has no default
    shortfall penalty: give it one (5,000 USD per reference unit-period) unless the
    options already do."""
    penalty = options.get("shortfall_penalty")
    if isinstance(penalty, float):
        return options
    catalog = pd.read_csv(directory / "catalog.csv")
    perf = pd.read_csv(directory / "perf.csv")
    orderable = set(catalog.loc[catalog["unit_price"].notna(), "sku"])
    served = set(perf.loc[(perf["factor"] > 0) & perf["sku"].isin(orderable), "workload"])
    named = list(pd.read_csv(directory / "demand.csv")["workload"])
    if (directory / "clusters.csv").is_file():
        named += list(pd.read_csv(directory / "clusters.csv")["workload"])
    given = dict(penalty or {})
    missing = {w: 5000.0 for w in dict.fromkeys(named) if w not in served and w not in given}
    return {**options, "shortfall_penalty": given | missing} if missing else options


VENDOR_NAMES = ("nvidia", "amd")


def _commercial(
    directory: Path, rng: np.random.Generator, options: dict[str, Any], labels: list[str]
) -> dict[str, Any]:
    """Add the commercial terms: catalog ``vendor`` (some SKUs without one) and
    ``min_lots``, ``capex_timing``, supply ``min_units`` (take-or-pay, only for orderable
    SKUs and periods whose orders arrive in the horizon, with the budget of the period that
    pays for it raised by its cost) and ``max_units`` >= it, budgets by year (sometimes with
    a year partly outside the horizon, or wholly outside it), ``cloud_offers.csv`` and
    ``vendor_limits.csv``. Returns the options."""
    T = len(labels)
    catalog = pd.read_csv(directory / "catalog.csv", dtype=str, keep_default_na=False)
    demand = pd.read_csv(directory / "demand.csv", dtype=str, keep_default_na=False)
    budget = pd.read_csv(directory / "budget.csv", dtype=str, keep_default_na=False)
    orderable = catalog["unit_price"] != ""
    S = len(catalog)
    lot = np.array([int(v) if v else 1 for v in catalog["lot_size"]])
    lead = np.array([int(v) if v else 0 for v in catalog["lead_time"]])
    price = np.array([[float(v) if v else 0.0] * T for v in catalog["unit_price"]])
    prices_path = directory / "prices.csv"
    if prices_path.is_file():
        for sku, p, value in pd.read_csv(prices_path, dtype=str).itertuples(index=False):
            price[list(catalog["sku"]).index(sku), labels.index(p)] = float(value)

    with_vendor = rng.random() < 0.65
    if with_vendor:
        drawn = rng.choice(["nvidia", "amd", ""], size=S, p=[0.45, 0.35, 0.2])
        if orderable.sum() >= 2 and len(set(drawn[orderable.to_numpy()]) - {""}) == 0:
            drawn[int(np.flatnonzero(orderable)[0])] = "nvidia"
        catalog["vendor"] = drawn
    minimum = np.ones(S, dtype=int)
    if rng.random() < 0.5:
        minimum = np.where(orderable, rng.choice([1, 2, 2, 3], size=S), 1)
        catalog["min_lots"] = [
            "" if not orderable[s] or (minimum[s] == 1 and rng.random() < 0.5) else str(m)
            for s, m in enumerate(minimum)
        ]
    catalog.to_csv(directory / "catalog.csv", index=False)

    timing = "order"
    if options and rng.random() < 0.6:
        timing = "delivery" if rng.random() < 0.7 else "order"
        options = {**options, "capex_timing": timing}

    # Budget per horizon period (as drawn), raised below by the cost of the supply minimums.
    amount = budget["capex_budget"].astype(float).to_numpy()
    supply_path = directory / "supply.csv"
    supply = (
        pd.read_csv(supply_path, dtype=str, keep_default_na=False)
        if supply_path.is_file()
        else pd.DataFrame(columns=["sku", "period", "max_units"])
    )
    committed: set[str] = set()  # vendors of SKUs with a supply minimum
    extra_kw, extra_units = 0.0, 0  # room for the largest committed order at every site
    if rng.random() < 0.45:
        supply["min_units"] = ""
        candidates = [
            (s, t) for s in range(S) if orderable[s] for t in range(T) if t + lead[s] <= T - 1
        ]
        chosen = rng.permutation(len(candidates))[: int(rng.integers(1, 3))]
        for i in chosen:
            s, t = candidates[i]
            units = int(rng.integers(1, 2 * lot[s] + 1))
            # The fewest lots that meet it (min_lots included): the max leaves room for them.
            lots = int(np.ceil(units / (lot[s] * minimum[s]))) * minimum[s]
            here = (supply["sku"] == catalog.at[s, "sku"]) & (supply["period"] == labels[t])
            if here.any():
                top = supply.loc[here, "max_units"].iloc[0]
                if top != "" and float(top) < lots * lot[s]:
                    supply.loc[here, "max_units"] = str(float(lots * lot[s] + rng.integers(0, 4)))
                supply.loc[here, "min_units"] = str(units)
            else:
                top = "" if rng.random() < 0.4 else str(float(lots * lot[s] + rng.integers(0, 6)))
                row = {"sku": catalog.at[s, "sku"], "period": labels[t], "max_units": top}
                supply = pd.concat(
                    [supply, pd.DataFrame([row | {"min_units": str(units)}])], ignore_index=True
                )
            committed.add(str(catalog.at[s, "vendor"]) if with_vendor else "")
            extra_kw = max(extra_kw, lots * lot[s] * float(catalog.at[s, "power_kw"]))
            extra_units = max(extra_units, lots * lot[s])
            pay = t + (lead[s] if timing == "delivery" else 0)
            amount[pay] += lots * lot[s] * price[s, t]
        if "max_units" in supply.columns and (supply["max_units"] == "").all():
            supply = supply.drop(columns="max_units")
        supply.to_csv(supply_path, index=False)
        _make_room(directory, extra_kw, extra_units)
    if rng.random() < 0.4:
        # By year: each year's amount is the sum of its horizon quarters' budgets; the last
        # year is partly outside the horizon unless the horizon ends in a Q4.
        years = [pd.Period(p, freq="Q").year for p in labels]
        rows = [
            {"period": str(y), "capex_budget": float(amount[np.array(years) == y].sum())}
            for y in dict.fromkeys(years)
        ]
        if rng.random() < 0.3:
            rows.insert(0, {"period": str(years[0] - 1), "capex_budget": 1.0e6})  # ignored
        pd.DataFrame(rows).to_csv(directory / "budget.csv", index=False)
    else:
        budget["capex_budget"] = amount
        budget.to_csv(directory / "budget.csv", index=False)

    if rng.random() < 0.55:
        workloads = list(pd.unique(demand["workload"]))
        regional = "region" in demand.columns
        rows = []
        for o in range(int(rng.integers(1, 4))):
            row: dict[str, Any] = {
                "offer": f"reserved{o}",
                "workload": workloads[int(rng.integers(0, len(workloads)))],
                "price": round(float(rng.uniform(150.0, 2500.0)), 0),
                "term": int(rng.integers(1, 5)),
                "max_units": "" if rng.random() < 0.25 else float(rng.integers(1, 9)),
                "notice": "" if rng.random() < 0.3 else int(rng.choice([0, 1, 1, 2])),
            }
            if regional:
                present = list(pd.unique(demand["region"]))
                row["region"] = present[int(rng.integers(0, len(present)))]
            rows.append(row)
        columns = ["offer", "workload", "price", "term", "max_units", "notice"]
        if rng.random() < 0.2 and all(row["notice"] == "" for row in rows):
            columns.remove("notice")
        columns += ["region"] if regional else []
        pd.DataFrame(rows)[columns].to_csv(directory / "cloud_offers.csv", index=False)

    if with_vendor and rng.random() < 0.7:
        rows = []
        # A vendor with a take-or-pay minimum gets a generous max share, and minimum
        # shares only come without take-or-pay, so that most instances stay feasible.
        for name in sorted(set(catalog["vendor"]) - {""}):
            top = round(float(rng.uniform(0.3, 0.95)), 2)
            low = round(float(rng.uniform(0.05, 0.3)), 2) if rng.random() < 0.4 else ""
            if committed:
                top = 1.0 if name in committed else top
                low = ""
            rows.append({"vendor": name, "max_share": top, "min_share": low})
        columns = ["vendor", "max_share", "min_share"]
        if all(row["min_share"] == "" for row in rows) and rng.random() < 0.5:
            columns.remove("min_share")
        pd.DataFrame(rows)[columns].to_csv(directory / "vendor_limits.csv", index=False)

    if rng.random() < 0.06:
        # Rarely, a valid but infeasible instance: a take-or-pay minimum of 1000 lots in the
        # first period, which no site's power cap can hold.
        s = int(np.flatnonzero(orderable)[0])
        supply = (
            pd.read_csv(supply_path, dtype=str, keep_default_na=False)
            if supply_path.is_file()
            else pd.DataFrame(columns=["sku", "period"])
        )
        supply = supply[(supply["sku"] != catalog.at[s, "sku"]) | (supply["period"] != labels[0])]
        row = {"sku": catalog.at[s, "sku"], "period": labels[0], "min_units": str(1000 * lot[s])}
        supply = pd.concat([supply, pd.DataFrame([row])], ignore_index=True).fillna("")
        supply.to_csv(supply_path, index=False)
    return options


def _make_room(directory: Path, kw: float, units: int) -> None:
    """Raise every site's power cap (every period) by ``kw`` times its PUE and its slots
    by ``units``: a committed (take-or-pay) order then fits wherever it could go before."""
    sites = pd.read_csv(directory / "sites.csv", dtype=str, keep_default_na=False)
    pue = dict(zip(sites["site"], sites["pue"].astype(float), strict=True))
    sites["power_cap_kw"] = [
        str(float(cap) + np.ceil(kw * pue[k]))
        for k, cap in zip(sites["site"], sites["power_cap_kw"], strict=True)
    ]
    if "slots" in sites.columns:
        sites["slots"] = [str(int(v) + units) if v != "" else "" for v in sites["slots"]]
    sites.to_csv(directory / "sites.csv", index=False)
    path = directory / "site_power.csv"
    if path.is_file():
        site_power = pd.read_csv(path, dtype=str, keep_default_na=False)
        site_power["power_cap_kw"] = [
            str(float(cap) + np.ceil(kw * pue[k]))
            for k, cap in zip(site_power["site"], site_power["power_cap_kw"], strict=True)
        ]
        site_power.to_csv(path, index=False)
