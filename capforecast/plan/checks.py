"""Named consistency checks on validated planning inputs (run before solving).

Each check is a function ``check_<name>(inputs, data) -> list[Finding]``. A finding is either an
``error`` (no decision can fix it: the inputs are rejected) or a ``warning`` (the plan is
still meaningful, but the user likely wants to know). :func:`consistency_findings` runs
them all; :func:`raise_on_errors` turns errors, or with ``strict=True`` warnings too, into
an :class:`~capforecast.core.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, Problem, did_you_mean
from capforecast.core.limits import clipped
from capforecast.plan.data import PENALTY_MULTIPLIER, ModelData
from capforecast.plan.inputs import PlanningInputs


@dataclass(frozen=True)
class Finding:
    """The outcome of one consistency check at one place."""

    check: str
    severity: Literal["error", "warning"]
    problem: Problem

    def __str__(self) -> str:
        return f"[{self.check}] {self.problem}"


#: Thresholds of the magnitude checks (docs/model.md §7): outside them an input is most
#: likely typed in the wrong unit.
PUE_MAX = 3.0
KW_PER_UNIT = (0.2, 3.0)  # kW per accelerator, host share included
PRICE_PER_UNIT = (1_000.0, 1_000_000.0)  # USD per accelerator
PERF_FACTOR_MAX = 20.0  # reference units per accelerator
DRAW_OVER_CAP = 100.0  # a fleet drawing this many times a site's cap: a cap typed in MW
BUDGET_OVER_FLEET = 1_000.0  # a budget period this many times the fleet's value
RACK_KW = 10.0  # one rack, when no orderable SKU draws power to size it by


def _span(labels: Sequence[object], cols: np.ndarray) -> str:
    """The periods ``labels[cols]`` in words: ``2027Q1``, ``16 periods (2027Q1..2030Q4)``
    when consecutive, else ``3 periods (2027Q1, 2027Q3, 2028Q1)``."""
    names = [str(labels[i]) for i in cols]
    if len(names) == 1:
        return names[0]
    if cols[-1] - cols[0] == len(cols) - 1:
        shown = f"{names[0]}..{names[-1]}"
    else:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{len(names)} periods ({shown})"


def _collapse(mask: np.ndarray, score: np.ndarray) -> list[tuple[int, np.ndarray, int]]:
    """One entry per place ``i`` (a row of the ``[place, period]`` ``mask``) with a
    problem: ``(i, the periods where it has it, the period of the highest score)``, so a
    problem repeated in every period is one line, not one per period."""
    places = []
    for i in np.flatnonzero(mask.any(axis=1)):
        cols = np.flatnonzero(mask[i])
        places.append((int(i), cols, int(cols[np.argmax(score[i, cols])])))
    return places


def _override_row(table: pd.DataFrame, key: str, name: str, period: object) -> int | None:
    """The row of a per-period override file (``site_power.csv``, ``prices.csv``) for
    ``(name, period)``, or None when the base file's value holds."""
    if table.empty:
        return None
    rows = table.index[(table[key] == name).to_numpy(bool) & (table["period"] == period)]
    return int(rows[0]) if len(rows) else None


def _row_of(table: pd.DataFrame, column: str, value: object) -> int:
    return int(table.index[(table[column] == value).to_numpy(bool)][0])


def _fleet_severity(data: ModelData) -> tuple[Literal["error", "warning"], str]:
    """An over-full site is an error unless retiring fleet early can fix it."""
    if data.early_retirement:
        return "warning", "the plan must retire enough of it early (early_retirement: true)"
    return "error", "no purchase decision can fix this (early_retirement: true could)"


def _fleet_draw(data: ModelData) -> np.ndarray:
    """Facility kW the existing fleet draws, ``[k, t]``."""
    return np.asarray(np.einsum("skt,sk->kt", data.fleet, data.facility_kw))


def check_fleet_power(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Error (a warning with ``early_retirement``): the existing fleet alone draws more
    than a site's power cap in some period; one line per site. A draw over 100 times the
    cap suggests a cap typed in MW."""
    draw = _fleet_draw(data)
    severity, fix = _fleet_severity(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = draw / data.power_cap
    findings = []
    for k, cols, t in _collapse(draw > data.power_cap + 1e-6, ratio):
        also = f", and is over it in {_span(data.periods, cols)}" if len(cols) > 1 else ""
        cap = data.power_cap[k, t]
        unit = _overdraw_cause(data, k) if 0 < cap * DRAW_OVER_CAP < draw[k, t] else ""
        message = (
            f"existing fleet at site '{data.sites[k]}' draws {draw[k, t]:,.1f} kW in "
            f"{data.periods[t]}, over the power cap of {data.power_cap[k, t]:,.1f} kW "
            f"(sites.csv / site_power.csv){also}; {fix}{unit}"
        )
        findings.append(
            Finding("fleet_power", severity, Problem("fleet.csv", None, "units", message))
        )
    return findings


def _overdraw_cause(data: ModelData, k: int) -> str:
    """Why a fleet may draw 100 times a site's cap: a SKU there whose kW per accelerator
    is implausibly high (typed in W), else a cap typed in MW."""
    there = data.fleet[:, k].sum(axis=1) > 0
    high = np.flatnonzero(there & (data.power_kw > KW_PER_UNIT[1]))
    if len(high):
        s = high[np.argmax(data.power_kw[high])]
        return (
            f". SKU '{clipped(data.skus[s])}' there draws {data.power_kw[s]:,.4g} kW per "
            "accelerator (catalog.csv): was power_kw typed in W?"
        )
    return ". Was the cap typed in MW? power caps are kW"


def check_fleet_slots(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Error (a warning with ``early_retirement``): the existing fleet alone needs more
    slots than a site has in some period; one line per site."""
    units = data.fleet.sum(axis=0)
    slots = data.slots[:, None]
    severity, fix = _fleet_severity(data)
    findings = []
    for k, cols, t in _collapse(units > slots + 1e-6, units - slots):
        also = f", and is over them in {_span(data.periods, cols)}" if len(cols) > 1 else ""
        message = (
            f"existing fleet at site '{data.sites[k]}' has {units[k, t]:,.0f} units in "
            f"{data.periods[t]}, over the {data.slots[k]:,.0f} slots of sites.csv{also}; {fix}"
        )
        findings.append(
            Finding("fleet_slots", severity, Problem("fleet.csv", None, "units", message))
        )
    return findings


def check_unservable_workloads(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: demand of a workload that no SKU at an eligible site serves and no rent
    covers (one line per workload, naming its regions); all of it will be unmet. A name
    close to a known workload is suggested."""
    known = {*data.workloads, *inputs.perf["workload"], *inputs.rent["workload"]}
    expected = data.demand @ data.probability  # [w, g, t]
    findings = []
    for w, workload in enumerate(data.workloads):
        regions = []
        for g in np.flatnonzero(data.pairs[w]):
            serving = (data.factor[:, w] > 0)[:, None] & data.eligible[w, g][None, :]
            covered = serving.any() or data.rent_cap[w, g].max(initial=0.0) > 0
            if not covered and expected[w, g].max(initial=0.0) > 0:
                regions.append(g)
        if not regions:
            continue
        where = ""
        if data.regional:
            names = ", ".join(f"'{data.regions[g]}'" for g in regions)
            where = f" in region{'s' if len(regions) > 1 else ''} {names}"
        why = (
            "no SKU has a perf factor > 0 for it in perf.csv"
            if not (data.factor[:, w] > 0).any()
            else "no site eligible for it has a SKU that serves it (eligibility.csv, "
            "sites.csv region)"
        )
        total = expected[w, regions].sum()
        guess = did_you_mean(workload, known)
        message = (
            f"workload '{clipped(workload)}'{where} cannot be served: {why}, and no rent row "
            f"covers it. ALL of its demand ({total:,.0f} reference unit-periods) will be "
            f"unmet and priced at its shortfall penalty (${data.penalty[w]:,.0f} per "
            f"reference unit-period)" + (f"; {guess}" if guess else "")
        )
        findings.append(
            Finding(
                "unservable_workload",
                "warning",
                Problem(
                    "demand.csv", _row_of(inputs.demand, "workload", workload), "workload", message
                ),
            )
        )
    return findings


def check_unorderable_skus(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a SKU whose lead time reaches past the horizon can never be ordered."""
    return [
        Finding(
            "unorderable_sku",
            "warning",
            Problem(
                "catalog.csv",
                None,
                "lead_time",
                f"SKU '{sku}' has a lead time of {lead} periods, not shorter than the "
                f"{data.horizon}-period horizon: no order of it can arrive in time",
            ),
        )
        for sku, lead, orderable in zip(data.skus, data.lead_time, data.orderable, strict=True)
        if lead >= data.horizon and orderable  # a legacy SKU is not for sale anyway
    ]


def check_salvage_without_retirement(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: ``salvage_value`` is given but ``early_retirement`` is off, so it is unused."""
    given = inputs.fleet["salvage_value"].notna()
    if data.early_retirement or not given.any():
        return []
    return [
        Finding(
            "salvage_without_retirement",
            "warning",
            Problem(
                "fleet.csv",
                int(inputs.fleet.index[given.to_numpy(dtype=bool)][0]),
                "salvage_value",
                "salvage values are given but early_retirement is off (options.yaml): they "
                "are unused; set early_retirement: true to let the plan retire fleet early",
            ),
        )
    ]


def check_rows_outside_horizon(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: rows of period files outside the horizon are ignored (maybe a typo); one
    line per file."""
    findings = []
    first, last = data.periods[0], data.periods[-1]
    for name in ("budget", "site_power", "prices", "supply", "rent"):
        table = getattr(inputs, name)
        if table.empty:
            continue
        # A budget row may be a coarser period (a year): it counts when it covers one.
        inside = data.budget_periods if name == "budget" else data.periods
        outside = table["period"][~table["period"].isin(inside)]
        if outside.empty:
            continue
        periods = list(dict.fromkeys(str(p) for p in outside))
        what = (
            f"{periods[0]} is"
            if len(outside) == 1
            else f"{len(outside)} rows, of periods {', '.join(periods[:4])}"
            f"{', ...' if len(periods) > 4 else ''}, are"
        )
        message = (
            f"{what} outside the horizon {first}..{last} of demand.csv; "
            f"{'the row is' if len(outside) == 1 else 'they are'} ignored"
        )
        problem = Problem(f"{name}.csv", int(outside.index[0]), "period", message)
        findings.append(Finding("rows_outside_horizon", "warning", problem))
    return findings


def check_perf_workloads(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a perf workload with no demand is ignored (maybe a misspelt name: the
    closest workload of demand is suggested); one line per workload."""
    known = set(data.workloads)
    unknown = inputs.perf["workload"][~inputs.perf["workload"].isin(known)]
    findings = []
    for workload in dict.fromkeys(unknown):
        rows = unknown.index[(unknown == workload).to_numpy(bool)]
        guess = did_you_mean(str(workload), known)
        count = f" ({len(rows)} rows)" if len(rows) > 1 else ""
        message = (
            f"workload '{clipped(str(workload))}' has no demand in demand.csv and no cluster "
            f"in clusters.csv (workloads there: {sorted(known)}); "
            f"{'its rows are' if len(rows) > 1 else 'the row is'} ignored{count}"
            + (f"; {guess}" if guess else "")
        )
        problem = Problem("perf.csv", int(rows[0]), "workload", message)
        findings.append(Finding("perf_workload_without_demand", "warning", problem))
    return findings


def check_clusters(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warnings: a cluster wholly outside the horizon is ignored; a cluster that no pool
    may hold (no SKU serves its workload, or its ``skus``, ``sites`` and ``region`` leave
    none) will be reported not placed, at its penalty."""
    findings = []
    kept = set(data.clusters.row.tolist())
    for row, cluster in inputs.clusters.iterrows():
        name = clipped(str(cluster["cluster"]))
        if row not in kept:
            message = (
                f"cluster '{name}' runs {cluster['start']}..{cluster['end']}, outside the "
                f"horizon {data.periods[0]}..{data.periods[-1]}; it is ignored"
            )
            findings.append(
                Finding(
                    "cluster_outside_horizon", "warning", _at("clusters", row, "start", message)
                )
            )
    for c, row in enumerate(data.clusters.row):
        if data.clusters.pools[c].any():
            continue
        name = clipped(data.clusters.names[c])
        workload = data.workloads[data.clusters.workload[c]]
        why = (
            f"no SKU has a perf factor > 0 for workload '{clipped(workload)}'"
            if not (data.factor[:, data.clusters.workload[c]] > 0).any()
            else "its skus, sites and region leave no SKU at any site that serves it"
        )
        message = f"cluster '{name}' cannot be placed: {why}; it will be reported not placed"
        findings.append(
            Finding("cluster_without_pool", "warning", _at("clusters", row, "cluster", message))
        )
    return findings


def check_eligibility_without_regions(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: ``eligibility.csv`` is given but demand has no regions, so it is unused."""
    if data.regional or inputs.eligibility.empty:
        return []
    message = (
        "eligibility.csv is given but demand.csv has no region column: every site may "
        "serve every workload, and the file is ignored"
    )
    return [
        Finding(
            "eligibility_without_regions",
            "warning",
            Problem("eligibility.csv", None, None, message),
        )
    ]


def _at(name: str, row: Hashable, column: str, message: str) -> Problem:
    return Problem(f"{name}.csv", int(row), column, message)  # type: ignore[call-overload]


def check_commercial_terms(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warnings: a cloud offer whose notice leaves no period to use it, and a SKU whose
    ``min_lots`` is more than any site's power cap could take when an order arrives (every
    order of it is then 0)."""
    findings = []
    offers = data.offers
    for q in np.flatnonzero(offers.notice > data.horizon - 1):
        message = (
            f"offer '{offers.names[q]}' has a notice of {offers.notice[q]} periods: signed in "
            f"the first of the {data.horizon} periods it would not be usable within the "
            "horizon, so it is never signed"
        )
        problem = Problem("cloud_offers.csv", int(offers.row[q]), "notice", message)
        findings.append(Finding("offer_never_active", "warning", problem))
    s, k, t = (g.ravel() for g in np.indices(data.fleet.shape))
    arrives = data.orderable[s] & (t + data.lead_time[s] <= data.horizon - 1)
    most = np.zeros(len(data.skus))  # [s]: the largest order any site could take
    np.maximum.at(most, s[arrives], data.most_lots(s[arrives], k[arrives], t[arrives]))
    ordered = np.bincount(s[arrives], minlength=len(data.skus)) > 0  # (else unorderable_sku)
    for sku in np.flatnonzero(ordered & (data.min_lots > 1) & (most < data.min_lots)):
        message = (
            f"SKU '{data.skus[sku]}' has min_lots {int(data.min_lots[sku])}, more lots than any "
            "site's power cap could take in a period they arrive: it will not be ordered"
        )
        findings.append(
            Finding(
                "min_lots_too_large", "warning", Problem("catalog.csv", None, "min_lots", message)
            )
        )
    return findings


def _money(value: float) -> str:
    return f"${value:,.0f}"


def check_budget_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a budget period's capex budget (other than 0, no orders) is below one lot
    of the cheapest orderable SKU at its price then (typed in $k or $M?), or above 1,000
    times the fleet's value (typed in cents?). The fleet's value is its units times their
    ``unit_price`` in the first period (legacy SKUs count 0), over every row of
    ``fleet.csv``; without a fleet, 1,000 lots of the dearest SKU stand in for it."""
    orderable = np.flatnonzero(data.orderable)
    if not len(orderable) or not len(data.budget):
        return []
    lots = data.price[orderable] * data.lot_size[orderable, None]  # [s, t]
    B = len(data.budget)
    cheapest = np.full(B, np.inf)  # per budget period: the cheapest lot and where it is
    which = np.zeros((B, 2), dtype=np.int64)
    for t, b in enumerate(data.budget_of):
        i = int(np.argmin(lots[:, t]))
        if lots[i, t] < cheapest[b]:
            cheapest[b], which[b] = lots[i, t], (orderable[i], t)
    rows = data.fleet_rows
    value = float(rows.units @ data.price[rows.sku, 0])
    value = value if value > 0 else 1_000 * float(lots.max())
    budget = data.budget[None, :]
    findings = []
    low = (budget > 0) & (budget < cheapest[None, :])
    for _, cols, b in _collapse(low, cheapest[None, :] / np.maximum(budget, 1e-9)):
        s, t = which[b]
        lot = (
            f"{clipped(data.skus[s])}: {data.lot_size[s]:,.0f} x {_money(data.price[s, t])} = "
            f"{_money(cheapest[b])}"
        )
        period, amount = data.budget_periods[b], _money(data.budget[b])
        what = (
            f"capex_budget is below one lot of the cheapest SKU in "
            f"{_span(data.budget_periods, cols)}: {amount} in {period} against {lot}"
            if len(cols) > 1
            else f"capex_budget of {period} is {amount}, below one lot of the cheapest SKU ({lot})"
        )
        message = f"{what}; was it typed in $k or $M? budgets are USD"
        findings.append(
            Finding("budget_magnitude", "warning", _budget_at(inputs, data, b, message))
        )
    high = budget > BUDGET_OVER_FLEET * value
    for _, cols, b in _collapse(high, budget):
        also = f" (and in {_span(data.budget_periods, cols)} in all)" if len(cols) > 1 else ""
        message = (
            f"capex_budget of {data.budget_periods[b]} is {_money(data.budget[b])}{also}, over "
            f"{BUDGET_OVER_FLEET:,.0f} times the value of the existing fleet "
            f"({_money(value)}); was it typed in cents, or with extra zeros? budgets are USD"
        )
        findings.append(
            Finding("budget_magnitude", "warning", _budget_at(inputs, data, b, message))
        )
    return findings


def _budget_at(inputs: PlanningInputs, data: ModelData, b: int, message: str) -> Problem:
    row = _row_of(inputs.budget, "period", data.budget_periods[b])
    return Problem("budget.csv", row, "capex_budget", message)


def check_pue_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a PUE above 3 (a percentage, or 1.12 typed as 112?)."""
    return [
        Finding(
            "pue_magnitude",
            "warning",
            Problem(
                "sites.csv",
                _row_of(inputs.sites, "site", site),
                "pue",
                f"site '{clipped(site)}' has a PUE of {pue:,.4g}; PUE is facility power over IT "
                f"power, about 1.1 to 1.6 (over {PUE_MAX:g} is implausible): was it typed as a "
                "percentage, or without its decimal point (112 for 1.12)?",
            ),
        )
        for site, pue in zip(data.sites, data.pue, strict=True)
        if pue > PUE_MAX
    ]


def check_power_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: kW per accelerator outside about 0.2 to 3 (typed in W, or a whole
    server's kW?); 0 (no power) is left alone."""
    low, high = KW_PER_UNIT
    findings = []
    for sku, kw in zip(data.skus, data.power_kw, strict=True):
        if kw == 0 or low <= kw <= high:
            continue
        if kw > 100:
            guess = "was it typed in W?"
        elif kw > high:
            guess = "is it the kW of a whole server or lot?"
        else:
            guess = "was it typed in MW, or per something else than one accelerator?"
        message = (
            f"SKU '{clipped(sku)}' draws {kw:,.4g} kW per accelerator; accelerators draw "
            f"about {low:g} to {high:g} kW each, host share included: {guess} power_kw is kW "
            "per accelerator"
        )
        row = _row_of(inputs.catalog, "sku", sku)
        findings.append(
            Finding("power_magnitude", "warning", Problem("catalog.csv", row, "power_kw", message))
        )
    return findings


def check_power_cap_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a site's power cap (other than 0, no power yet) below one rack: one lot of
    the orderable SKU whose lot draws least there, or 10 kW when none draws power. A
    site whose cap the existing fleet overdraws 100 times is left to ``fleet_power``,
    which says so. One line per site."""
    lot_kw = data.facility_kw * data.lot_size[:, None]  # [s, k]
    sized = data.orderable & (data.power_kw > 0)
    rack = lot_kw[sized].min(axis=0) if sized.any() else np.full(len(data.sites), RACK_KW)
    cap = data.power_cap
    small = (cap > 0) & (cap < rack[:, None] - 1e-9)
    overdrawn = np.asarray(((_fleet_draw(data) > DRAW_OVER_CAP * cap) & (cap > 0)).any(axis=1))
    small &= ~overdrawn[:, None]
    findings = []
    for k, cols, t in _collapse(small, -cap):
        site = data.sites[k]
        if sized.any():
            s = np.flatnonzero(sized)[np.argmin(lot_kw[sized, k])]
            one = (
                f"one lot of {clipped(data.skus[s])} ({data.lot_size[s]:,.0f} x "
                f"{data.power_kw[s]:g} kW x PUE {data.pue[k]:g} = {rack[k]:,.1f} kW): no order "
                "fits there"
            )
        else:
            one = f"one rack ({RACK_KW:g} kW)"
        message = (
            f"site '{clipped(site)}' has a power cap of {cap[k, t]:,.1f} kW in "
            f"{_span(data.periods, cols)}, below {one}; was it typed in MW? power caps are kW"
        )
        row = _override_row(inputs.site_power, "site", site, data.periods[t])
        where = (
            ("site_power.csv", row)
            if row is not None
            else ("sites.csv", _row_of(inputs.sites, "site", site))
        )
        findings.append(
            Finding("power_cap_magnitude", "warning", Problem(*where, "power_cap_kw", message))
        )
    return findings


def check_price_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a unit price (``catalog.csv``, ``prices.csv``) outside about $1k to $1M per
    accelerator (typed in $k or $M, or the price of a server or lot?); one line per SKU."""
    low, high = PRICE_PER_UNIT
    catalog, prices = inputs.catalog, inputs.prices
    findings = []
    for s in np.flatnonzero(data.orderable):
        sku = data.skus[s]
        given = catalog.loc[catalog["sku"] == sku, "unit_price"]
        rows = prices.loc[prices["sku"] == sku, "unit_price"] if not prices.empty else given[:0]
        bad = [(f, r) for f, r in (("catalog.csv", given), ("prices.csv", rows)) if not r.empty]
        bad = [(f, r[(r < low) | (r > high)]) for f, r in bad]
        bad = [(f, r) for f, r in bad if not r.empty]
        if not bad:
            continue
        file, first = bad[0]
        more = sum(len(r) for _, r in bad) - 1
        price = float(first.iloc[0])
        guess = (
            "was it typed in $k?"
            if price < low
            else "is it the price of a whole server or lot, or typed in cents?"
        )
        message = (
            f"SKU '{clipped(sku)}' costs {_money(price)} per accelerator in {file}"
            + (f" (and in {more} more rows of prices.csv)" if more else "")
            + f"; accelerators cost about {_money(low)} to {_money(high)} each: {guess} "
            "unit_price is USD per accelerator, fully loaded"
        )
        problem = Problem(file, int(first.index[0]), "unit_price", message)
        findings.append(Finding("price_magnitude", "warning", problem))
    return findings


def check_perf_magnitude(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a perf factor above 20 reference units per accelerator (a percentage?);
    one line per SKU."""
    perf = inputs.perf
    large = perf[perf["factor"] > PERF_FACTOR_MAX]
    findings = []
    for sku in dict.fromkeys(large["sku"]):
        rows = large[large["sku"] == sku]
        worst = rows["factor"].idxmax()
        names = ", ".join(f"'{clipped(str(w))}'" for w in rows["workload"])
        message = (
            f"SKU '{clipped(str(sku))}' has a perf factor of {rows.at[worst, 'factor']:,.4g} "
            f"(workload{'s' if len(rows) > 1 else ''} {names}); factors are reference units "
            f"per accelerator (1 = as fast as the reference unit), rarely above "
            f"{PERF_FACTOR_MAX:g}: was it typed as a percentage?"
        )
        findings.append(
            Finding("perf_magnitude", "warning", Problem("perf.csv", int(worst), "factor", message))
        )
    return findings


def check_default_penalty(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a workload's shortfall penalty is the default (docs/model.md §5): say its
    value, where it comes from and what rent costs, and suggest setting it. One line per
    value (workloads sharing it are named together)."""
    unit_price = inputs.catalog.set_index("sku")["unit_price"].reindex(data.skus).to_numpy()
    groups: dict[tuple[float, int], list[int]] = {}
    for w in np.flatnonzero(data.penalty_sku >= 0):
        groups.setdefault((float(data.penalty[w]), int(data.penalty_sku[w])), []).append(int(w))
    findings = []
    for (penalty, s), members in groups.items():
        names = ", ".join(f"'{clipped(data.workloads[w])}'" for w in members)
        factor = data.factor[s, members[0]]
        rent = data.rent_price[members][data.rent_cap[members] > 0]
        beside = (
            ""
            if not len(rent)
            else f"; rent.csv prices it at {_money(rent.min())}"
            + (f" to {_money(rent.max())}" if rent.max() > rent.min() else "")
            + " per reference unit-period"
        )
        message = (
            f"no shortfall penalty is given for workload{'s' if len(members) > 1 else ''} "
            f"{names}: unmet demand is valued at the default, {_money(penalty)} per reference "
            f"unit-period (${penalty / data.hours:,.2f} per reference unit-hour at "
            f"{data.hours:,.0f} hours per period), {PENALTY_MULTIPLIER:g} x the dearest price "
            "per reference unit "
            f"of an orderable SKU serving it ({clipped(data.skus[s])}: {_money(unit_price[s])} / "
            f"{factor:g}){beside}. It decides how much the plan buys: set shortfall_penalty "
            "in options.yaml (docs/your-company.md#choosing-the-shortfall-penalty)"
        )
        problem = Problem("options.yaml", None, "shortfall_penalty", message)
        findings.append(Finding("default_penalty", "warning", problem))
    return findings


def check_ordering_window(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a SKU with a lead time (shorter than the horizon) can be ordered only
    until ``T - 1 - lead``: orders in the last ``lead`` periods would arrive after the
    horizon, so the plan has none, and new units cannot be in service before period
    ``lead``. One line for all SKUs, by lead time, longest first."""
    leads: dict[int, list[str]] = {}
    for sku, lead, orderable in zip(data.skus, data.lead_time, data.orderable, strict=True):
        if orderable and 1 <= lead < data.horizon:
            leads.setdefault(int(lead), []).append(sku)
    if not leads:
        return []
    periods, T, longest = data.periods, data.horizon, max(leads)
    each = "; ".join(
        f"{', '.join(clipped(s) for s in skus)} (lead time {lead}) until {periods[T - 1 - lead]}"
        for lead, skus in sorted(leads.items(), reverse=True)
    )
    message = (
        f"orders must arrive by {periods[-1]}, so they can be placed only: {each}. Demand "
        f"late in the horizon is met by earlier orders only, and no order weighs the demand "
        f"after it: extend demand.csv at least {longest} period{'s' if longest > 1 else ''} "
        f"past {periods[-1]} to plan the orders of the last periods"
    )
    first = leads[longest][0]
    problem = Problem("catalog.csv", _row_of(inputs.catalog, "sku", first), "lead_time", message)
    return [Finding("ordering_window", "warning", problem)]


CHECKS: tuple[Callable[[PlanningInputs, ModelData], list[Finding]], ...] = (
    check_fleet_power,
    check_fleet_slots,
    check_unservable_workloads,
    check_unorderable_skus,
    check_salvage_without_retirement,
    check_rows_outside_horizon,
    check_perf_workloads,
    check_clusters,
    check_eligibility_without_regions,
    check_commercial_terms,
    check_budget_magnitude,
    check_pue_magnitude,
    check_power_magnitude,
    check_power_cap_magnitude,
    check_price_magnitude,
    check_perf_magnitude,
    check_default_penalty,
    check_ordering_window,
)


def consistency_findings(inputs: PlanningInputs) -> list[Finding]:
    """Run every named check on ``inputs``."""
    data = ModelData.from_inputs(inputs)
    return [finding for check in CHECKS for finding in check(inputs, data)]


def raise_on_errors(inputs: PlanningInputs, *, strict: bool = False) -> list[Finding]:
    """Raise :class:`InputError` on error findings (and warnings when ``strict``).

    Returns the findings that did not raise, for the caller to show.
    """
    findings = consistency_findings(inputs)
    fatal = [f for f in findings if f.severity == "error" or strict]
    if fatal:
        raise InputError(f.problem for f in fatal)
    return findings
