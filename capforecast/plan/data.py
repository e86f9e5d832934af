"""The numbers of the planning model (docs/model.md §1) as dense arrays over its index sets.

:class:`ModelData` is derived once from validated :class:`PlanningInputs`; the model
builder, the consistency checks and the read-back all index the same arrays, so the
notation of the docs maps one-to-one onto code: ``price[s, t]`` is ``c_{s,t}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capforecast.plan.inputs import PlanningInputs, budget_periods, split_list
from capforecast.plan.rules import Rule

#: Default shortfall penalty: this many times the dearest price per reference unit.
PENALTY_MULTIPLIER = 10.0


@dataclass(frozen=True)
class FleetRows:
    """The rows ``j`` of ``fleet.csv`` as arrays: SKU ``s_j`` and site ``k_j`` (indices),
    units ``U_j``, periods in service ``α_j <= t < β_j`` (indices clipped to ``0..T``),
    salvage ``sv_j`` (USD per unit retired early) and the source row number."""

    sku: np.ndarray  # [j]
    site: np.ndarray  # [j]
    units: np.ndarray  # [j]
    start: np.ndarray  # [j], α_j
    end: np.ndarray  # [j], β_j
    salvage: np.ndarray  # [j]
    row: np.ndarray  # [j], the row of fleet.csv

    def __len__(self) -> int:
        return len(self.units)

    @classmethod
    def from_inputs(cls, inputs: PlanningInputs) -> FleetRows:
        """Rows of ``inputs.fleet``: an empty ``available_from`` is the start of the
        horizon, an empty ``retire_period`` its end."""
        fleet, periods = inputs.fleet, inputs.periods
        horizon, first = len(periods), periods[0].ordinal

        def index(column: str, empty: int) -> np.ndarray:
            ordinals = [empty + first if pd.isna(p) else p.ordinal for p in fleet[column]]
            return np.clip(np.asarray(ordinals, dtype=np.int64) - first, 0, horizon)

        return cls(
            sku=np.asarray([inputs.skus.index(s) for s in fleet["sku"]], dtype=np.int64),
            site=np.asarray([inputs.sites_list.index(k) for k in fleet["site"]], dtype=np.int64),
            units=fleet["units"].to_numpy(dtype=float),
            start=index("available_from", 0),
            end=index("retire_period", horizon),
            salvage=fleet["salvage_value"].fillna(0.0).to_numpy(dtype=float),
            row=fleet.index.to_numpy(dtype=np.int64),
        )

    def in_service(self, skus: int, sites: int, horizon: int) -> np.ndarray:
        """``F_{s,k,t}`` without early retirement: the units of every row in service at
        ``t``, as ``[s, k, t]``."""
        t = np.arange(horizon)[None, :]
        live = (self.start[:, None] <= t) & (t < self.end[:, None])
        units = np.zeros((skus, sites, horizon))
        np.add.at(units, (self.sku, self.site), self.units[:, None] * live)
        return units


@dataclass(frozen=True)
class Clusters:
    """The training clusters ``c`` of ``clusters.csv`` as arrays: workload ``w_c``, size
    ``N_c``, periods ``A_c``, the units a pool needs ``M_{c,s} = ⌈N_c / f_{s,w_c} − 10⁻⁹⌉``
    and the pools allowed to hold it. Clusters entirely outside the horizon are left out
    (a warning of the checks)."""

    names: list[str]
    workload: np.ndarray  # [c]
    size: np.ndarray  # [c], N_c
    active: np.ndarray  # [c, t] bool, t ∈ A_c
    units: np.ndarray  # [c, s], M_{c,s} (0 where f_{s,w_c} = 0)
    pools: np.ndarray  # [c, s, k] bool: f > 0, in skus, in sites, region_k = region_c
    row: np.ndarray  # [c], the row of clusters.csv
    start: list[str]  # [c], as clusters.csv gives it (A_c is clipped to the horizon)
    end: list[str]  # [c]

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_inputs(
        cls, inputs: PlanningInputs, workloads: list[str], factor: np.ndarray
    ) -> Clusters:
        table, periods = inputs.clusters, inputs.periods
        skus, sites = inputs.skus, inputs.sites_list
        site_region = inputs.sites["region"].to_numpy(dtype=object)
        first, T = periods[0].ordinal, len(periods)
        start = np.asarray([p.ordinal - first for p in table["start"]], dtype=np.int64)
        end = np.asarray([p.ordinal - first for p in table["end"]], dtype=np.int64)
        t = np.arange(T)[None, :]
        active = (start[:, None] <= t) & (t <= end[:, None])
        keep = active.any(axis=1)
        workload = np.asarray([workloads.index(w) for w in table["workload"]], dtype=np.int64)
        size = table["size"].to_numpy(dtype=float)
        f = factor[:, workload].T  # [c, s]
        with np.errstate(divide="ignore", invalid="ignore"):
            units = np.where(f > 0, np.ceil(size[:, None] / f - 1e-9), 0.0)
        pools = np.repeat((f > 0)[:, :, None], len(sites), axis=2)
        for c, (_, cluster) in enumerate(table.iterrows()):
            allowed_skus, allowed_sites = split_list(cluster["skus"]), split_list(cluster["sites"])
            if allowed_skus:
                pools[c, [s not in allowed_skus for s in skus], :] = False
            if allowed_sites:
                pools[c, :, [k not in allowed_sites for k in sites]] = False
            if pd.notna(cluster["region"]):
                pools[c, :, site_region != cluster["region"]] = False
        return cls(
            names=[str(n) for n in table["cluster"][keep]],
            workload=workload[keep],
            size=size[keep],
            active=active[keep],
            units=units[keep],
            pools=pools[keep],
            row=table.index.to_numpy(dtype=np.int64)[keep],
            start=[str(p) for p in table["start"][keep]],
            end=[str(p) for p in table["end"][keep]],
        )


@dataclass(frozen=True)
class Offers:
    """The reserved cloud contracts ``o`` of ``cloud_offers.csv`` as arrays (axis ``q`` of
    the model): workload ``w_o``, region ``g_o``, price ``q_o`` (USD per reference
    unit-period), ``notice_o``, ``term_o`` and ``max_o`` (inf when not given)."""

    names: list[str]
    workload: np.ndarray  # [q]
    region: np.ndarray  # [q]
    price: np.ndarray  # [q]
    notice: np.ndarray  # [q]
    term: np.ndarray  # [q]
    max_units: np.ndarray  # [q], inf = no limit
    row: np.ndarray  # [q], the row of cloud_offers.csv

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_inputs(
        cls, inputs: PlanningInputs, workloads: list[str], regions: list[str]
    ) -> Offers:
        table = inputs.cloud_offers
        return cls(
            names=[str(n) for n in table["offer"]],
            workload=np.asarray([workloads.index(w) for w in table["workload"]], dtype=np.int64),
            region=np.asarray(
                [regions.index(g) for g in table["region"].fillna("")], dtype=np.int64
            ),
            price=table["price"].to_numpy(dtype=float),
            notice=table["notice"].fillna(0).to_numpy(dtype=np.int64),
            term=table["term"].to_numpy(dtype=np.int64),
            max_units=table["max_units"].fillna(np.inf).to_numpy(dtype=float),
            row=table.index.to_numpy(dtype=np.int64),
        )


@dataclass(frozen=True)
class ModelData:
    """Dense arrays of the model; axis names follow docs/model.md §1 (s, k, w, g, t, ω).

    Without regions in ``demand.csv`` the region axis has one entry, ``""``, that every
    site is in and every workload's demand is of."""

    periods: pd.PeriodIndex
    skus: list[str]
    sites: list[str]
    workloads: list[str]
    regions: list[str]  # [""] without regions
    scenarios: list[str]
    probability: np.ndarray  # [ω]
    orderable: np.ndarray  # [s] bool, S^o: False for a legacy SKU
    lot_size: np.ndarray  # [s] (1 for a legacy SKU)
    power_kw: np.ndarray  # [s]
    lead_time: np.ndarray  # [s] (T for a legacy SKU: no order could arrive)
    lifetime: np.ndarray  # [s] (1 for a legacy SKU)
    accounting_life: np.ndarray  # [s], periods of depreciation (lifetime where not given)
    opex: np.ndarray  # [s], o_s
    availability: np.ndarray  # [s], a_s
    price: np.ndarray  # [s, t] (0 for a legacy SKU)
    factor: np.ndarray  # [s, w]
    pue: np.ndarray  # [k]
    energy_price: np.ndarray  # [k]
    power_cap: np.ndarray  # [k, t]
    slots: np.ndarray  # [k], inf when not given
    fleet: np.ndarray  # [s, k, t], F before any early retirement
    fleet_rows: FleetRows
    budget: np.ndarray  # [b], B_b
    budget_periods: pd.PeriodIndex  # [b], the periods of budget.csv that cover the horizon
    budget_of: np.ndarray  # [t], the budget period b with t ∈ P_b
    demand: np.ndarray  # [w, g, t, ω]
    pairs: np.ndarray  # [w, g] bool: the workload-region pairs of demand.csv
    eligible: np.ndarray  # [w, g, k] bool, k ∈ E_{w,g}
    supply: np.ndarray  # [s, t], inf when not given
    supply_min: np.ndarray  # [s, t], committed volume (take-or-pay), 0 when not given
    min_lots: np.ndarray  # [s], m_s (1 when not given)
    sku_vendor: list[str]  # [s], "" when the catalog names none
    vendors: list[str]  # [v], the rows of vendor_limits.csv
    vendor_max: np.ndarray  # [v]
    vendor_min: np.ndarray  # [v]
    offers: Offers
    site_region: np.ndarray  # [k], the region index g of each site (0 without regions)
    rules: tuple[Rule, ...]  # the analyst's rules as text (docs/rules.md)
    rent_price: np.ndarray  # [w, g, t]
    rent_cap: np.ndarray  # [w, g, t], 0 when not given
    clusters: Clusters
    penalty: np.ndarray  # [w]
    penalty_sku: np.ndarray  # [w], the SKU a default φ_w comes from; -1 when given
    discount: np.ndarray  # [t], δ^t
    discount_factor: float  # δ
    hours: float
    load_factor: float
    carryover: bool
    terminal_value: bool = False  # straight-line credit for service life after T
    forbid_shortfall: bool = False  # no u variables: demand must be met or rented
    cvar_weight: float = 0.0  # w; 0 is the expected cost alone
    cvar_alpha: float = 0.9
    service_level: np.ndarray | None = None  # [w], NaN where no chance constraint
    early_retirement: bool = False  # e_{j,t} variables for the fleet rows
    capex_at_delivery: bool = False  # capex_timing: delivery (pay(s,τ) = τ + ℓ_s)
    fiscal_year_start: int = 1  # month 1..12 the fiscal year starts in (finance views)

    @property
    def regional(self) -> bool:
        """True when demand is per region (tables then have a ``region`` column)."""
        return self.regions != [""]

    @property
    def horizon(self) -> int:
        """``T``, the number of periods."""
        return len(self.periods)

    def pay_period(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``pay(s, τ)``: the period an order of SKU ``s`` placed in ``t`` is charged in,
        ``τ`` (``capex_timing: order``) or its arrival ``τ + ℓ_s`` (``delivery``)."""
        return t + self.lead_time[s] if self.capex_at_delivery else t

    def most_lots(self, s: np.ndarray, k: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``U_{s,k,t} = ⌊Pcap_{k,t+ℓ_s} / (L_s p_s pue_k)⌋``: the most lots of SKU ``s``
        ordered in ``t`` for site ``k`` that the site's power cap could take when they
        arrive (every other unit there draws >= 0); ``inf`` for a SKU drawing no power.
        Orders must arrive within the horizon."""
        kw = self.facility_kw[s, k] * self.lot_size[s]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor(self.power_cap[k, t + self.lead_time[s]] / kw + 1e-9)

    @property
    def terminal_credit(self) -> np.ndarray:
        """``δ^T r_{s,t} / λ_s`` as ``[s, t]``: the share of an order placed at ``t`` that
        straight-line depreciation leaves after the horizon, discounted to today."""
        T = self.horizon
        t = np.arange(T)[None, :]
        life = self.lifetime[:, None]
        left = np.minimum(life, np.maximum(0, t + self.lead_time[:, None] + life - T))
        return (self.discount_factor**T) * left / life

    @property
    def unplaced_cost(self) -> np.ndarray:
        """``φ_{w_c} N_c Σ_{t ∈ A_c} δ^t`` as ``[c]``: the discounted penalty of a cluster
        that is not placed (its whole size unmet in every period it runs)."""
        clusters = self.clusters
        return self.penalty[clusters.workload] * clusters.size * (clusters.active @ self.discount)

    @property
    def energy_per_unit(self) -> np.ndarray:
        """USD of energy per installed unit and period, ``e_k pue_k p_s H ρ``, as ``[s, k]``."""
        site_rate = self.energy_price * self.pue * self.hours * self.load_factor
        return self.power_kw[:, None] * site_rate[None, :]

    @property
    def running_cost(self) -> np.ndarray:
        """USD per installed unit and period, energy and opex, ``e_k pue_k p_s H ρ + o_s``,
        as ``[s, k]``: what an installed unit costs whether it is used or not."""
        return self.energy_per_unit + self.opex[:, None]

    @property
    def facility_kw(self) -> np.ndarray:
        """Facility kW drawn per installed unit, ``p_s pue_k``, as ``[s, k]``."""
        return self.power_kw[:, None] * self.pue[None, :]

    @classmethod
    def from_inputs(cls, inputs: PlanningInputs) -> ModelData:
        """Arrays for ``inputs``; optional files override or bound as docs/data.md says."""
        periods = inputs.periods
        skus, sites, workloads = inputs.skus, inputs.sites_list, inputs.workloads
        scenarios = inputs.scenario_names
        catalog = inputs.catalog.set_index("sku")
        site_table = inputs.sites.set_index("site")
        options = inputs.options

        orderable = catalog["unit_price"].reindex(skus).notna().to_numpy()
        # A legacy SKU has no price; 0 keeps the arrays finite (it has no order variables).
        price = _grid(
            inputs.prices, "sku", skus, periods, "unit_price", catalog["unit_price"].fillna(0.0)
        )
        power_cap = _grid(
            inputs.site_power, "site", sites, periods, "power_cap_kw", site_table["power_cap_kw"]
        )
        supply = _grid(inputs.supply, "sku", skus, periods, "max_units", pd.Series(np.inf, skus))
        supply_min = _grid(inputs.supply, "sku", skus, periods, "min_units", pd.Series(0.0, skus))
        regions = inputs.regions or [""]
        W, G, T = len(workloads), len(regions), len(periods)
        demand_table = inputs.demand.assign(region=inputs.demand["region"].fillna(""))
        rent_price, rent_cap = (
            _rent(inputs, workloads, regions, column) for column in ("price", "max_units")
        )

        factor = (
            inputs.perf.pivot_table(index="sku", columns="workload", values="factor", aggfunc="sum")
            .reindex(index=skus, columns=workloads)
            .fillna(0.0)
            .to_numpy(dtype=float)
        )
        demand = (
            demand_table.set_index(["workload", "region", "period", "scenario"])["demand"]
            .reindex(
                pd.MultiIndex.from_product([workloads, regions, periods, scenarios]),
                fill_value=0.0,
            )
            .to_numpy(dtype=float)
            .reshape(W, G, T, len(scenarios))
        )
        pairs = np.zeros((W, G), dtype=bool)
        for w, g in demand_table[["workload", "region"]].drop_duplicates().itertuples(index=False):
            pairs[workloads.index(w), regions.index(g)] = True
        probability = (
            inputs.scenarios.set_index("scenario")["probability"]
            .reindex(scenarios)
            .to_numpy(dtype=float)
        )
        # Budget periods b: the rows of budget.csv that cover some horizon period, in order.
        covering = budget_periods(inputs.budget, periods)
        budget_rows = pd.PeriodIndex(covering.unique()).sort_values()
        budget = (
            inputs.budget.set_index("period")["capex_budget"]
            .reindex(budget_rows)
            .to_numpy(dtype=float)
        )
        vendor_limits = inputs.vendor_limits
        slots = site_table["slots"].reindex(sites).astype("float64").fillna(np.inf).to_numpy()
        unit_price = catalog["unit_price"].reindex(skus).to_numpy(dtype=float)
        penalty, penalty_sku = _penalty(
            options.shortfall_penalty, workloads, unit_price, factor, orderable
        )
        fleet_rows = FleetRows.from_inputs(inputs)
        lifetime = catalog["lifetime"].reindex(skus).fillna(1).to_numpy(dtype=int)
        return cls(
            regions=regions,
            pairs=pairs,
            eligible=_eligible(inputs, workloads, regions),
            clusters=Clusters.from_inputs(inputs, workloads, factor),
            periods=periods,
            skus=skus,
            sites=sites,
            workloads=workloads,
            scenarios=scenarios,
            probability=probability,
            orderable=orderable,
            lot_size=catalog["lot_size"].reindex(skus).fillna(1).to_numpy(dtype=float),
            power_kw=catalog["power_kw"].reindex(skus).to_numpy(dtype=float),
            lead_time=catalog["lead_time"].reindex(skus).fillna(len(periods)).to_numpy(dtype=int),
            lifetime=lifetime,
            accounting_life=catalog["accounting_life"]
            .reindex(skus)
            .astype("float64")
            .fillna(pd.Series(lifetime, skus))
            .to_numpy(dtype=int),
            opex=catalog["opex"].reindex(skus).fillna(0.0).to_numpy(dtype=float),
            availability=catalog["availability"].reindex(skus).fillna(1.0).to_numpy(dtype=float),
            price=price,
            factor=factor,
            pue=site_table["pue"].reindex(sites).to_numpy(dtype=float),
            energy_price=site_table["energy_price"].reindex(sites).to_numpy(dtype=float),
            power_cap=power_cap,
            slots=slots,
            fleet=fleet_rows.in_service(len(skus), len(sites), len(periods)),
            fleet_rows=fleet_rows,
            budget=budget,
            budget_periods=budget_rows,
            budget_of=budget_rows.get_indexer(covering),
            supply_min=supply_min,
            min_lots=catalog["min_lots"].reindex(skus).fillna(1).to_numpy(dtype=float),
            sku_vendor=[str(v) for v in catalog["vendor"].reindex(skus).fillna("")],
            vendors=[str(v) for v in vendor_limits["vendor"]],
            vendor_max=vendor_limits["max_share"].to_numpy(dtype=float),
            vendor_min=vendor_limits["min_share"].fillna(0.0).to_numpy(dtype=float),
            offers=Offers.from_inputs(inputs, workloads, regions),
            site_region=np.asarray(
                [
                    regions.index(r) if r in regions else -1
                    for r in inputs.sites["region"].fillna("")
                ],
                dtype=np.int64,
            ),
            rules=inputs.rules,
            demand=demand,
            supply=supply,
            rent_price=rent_price,
            rent_cap=rent_cap,
            penalty=penalty,
            penalty_sku=penalty_sku,
            discount=options.discount_factor ** np.arange(len(periods), dtype=float),
            discount_factor=options.discount_factor,
            hours=options.hours_per_period,
            load_factor=options.load_factor,
            carryover=options.budget_carryover,
            terminal_value=options.terminal_value == "straight_line",
            forbid_shortfall=options.shortfall == "forbid",
            cvar_weight=options.cvar_weight if options.risk == "cvar" else 0.0,
            cvar_alpha=options.cvar_alpha,
            service_level=_per_workload(options.service_level, workloads),
            early_retirement=options.early_retirement,
            capex_at_delivery=options.capex_timing == "delivery",
            fiscal_year_start=options.fiscal_year_start,
        )


def _grid(
    overrides: pd.DataFrame,
    key: str,
    labels: list[str],
    periods: pd.PeriodIndex,
    value: str,
    default: pd.Series,
) -> np.ndarray:
    """A ``[label, period]`` array: ``default[label]`` unless a row of ``overrides`` says else."""
    base = np.repeat(default.reindex(labels).to_numpy(dtype=float)[:, None], len(periods), axis=1)
    if overrides.empty:
        return base
    table = overrides.pivot_table(index=key, columns="period", values=value, aggfunc="first")
    table = table.reindex(index=labels, columns=periods)
    given = table.to_numpy(dtype=float)
    return np.where(np.isnan(given), base, given)


def _rent(
    inputs: PlanningInputs, workloads: list[str], regions: list[str], column: str
) -> np.ndarray:
    """``rent.csv``'s ``column`` as ``[w, g, t]``: 0 (no renting) where no row is given."""
    grid = np.zeros((len(workloads), len(regions), len(inputs.periods)))
    rent = inputs.rent[inputs.rent["period"].isin(inputs.periods)]
    if rent.empty:
        return grid
    w = [workloads.index(x) for x in rent["workload"]]
    g = [regions.index(x) for x in rent["region"].fillna("")]
    t = inputs.periods.get_indexer(pd.PeriodIndex(rent["period"]))
    grid[w, g, t] = rent[column].to_numpy(dtype=float)
    return grid


def _eligible(inputs: PlanningInputs, workloads: list[str], regions: list[str]) -> np.ndarray:
    """``E_{w,g}`` as ``[w, g, k]``: the rows of ``eligibility.csv`` for ``(w, g)`` if any,
    else the sites of region ``g``; without regions, every site."""
    sites = inputs.sites_list
    if regions == [""]:
        return np.ones((len(workloads), 1, len(sites)), dtype=bool)
    site_region = inputs.sites["region"].to_numpy(dtype=object)
    same = np.asarray([[r == g for r in site_region] for g in regions], dtype=bool)  # [g, k]
    eligible = np.repeat(same[None, :, :], len(workloads), axis=0)
    listed = inputs.eligibility
    if not listed.empty:
        w = np.asarray([workloads.index(x) for x in listed["workload"]], dtype=np.int64)
        g = np.asarray([regions.index(x) for x in listed["region"]], dtype=np.int64)
        k = np.asarray([sites.index(x) for x in listed["site"]], dtype=np.int64)
        eligible[w, g, :] = False  # a pair with rows: exactly the sites listed
        eligible[w, g, k] = True
    return eligible


def _penalty(
    option: float | dict[str, float] | None,
    workloads: list[str],
    unit_price: np.ndarray,
    factor: np.ndarray,
    orderable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``φ_w``: the option, else ``10 · max_{s ∈ S^o: f_{s,w}>0} unit_price_s / f_{s,w}``;
    and for a default, the SKU ``s`` of that maximum (-1 for a penalty given).

    Only orderable SKUs count: a legacy SKU has no price, and the penalty is what not
    buying costs. (The loader rejects a workload that no orderable SKU serves without an
    explicit penalty.)
    """
    given = option if isinstance(option, dict) else {}
    penalty, dearest = np.empty(len(workloads)), np.full(len(workloads), -1, dtype=np.int64)
    for w, workload in enumerate(workloads):
        if isinstance(option, int | float):
            penalty[w] = float(option)
        elif workload in given:
            penalty[w] = float(given[workload])
        else:
            serves = np.flatnonzero((factor[:, w] > 0) & orderable)
            per_unit = unit_price[serves] / factor[serves, w]
            dearest[w] = serves[np.argmax(per_unit)]
            penalty[w] = PENALTY_MULTIPLIER * float(per_unit.max())
    return penalty, dearest


def _per_workload(
    option: float | dict[str, float] | None, workloads: list[str]
) -> np.ndarray | None:
    """A ``[w]`` array of the option (NaN for workloads it leaves out); None when unset."""
    if option is None:
        return None
    if isinstance(option, dict):
        return np.array([option.get(w, np.nan) for w in workloads], dtype=float)
    return np.full(len(workloads), float(option))
