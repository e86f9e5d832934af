"""Named consistency checks on validated planning inputs (run before solving).

Each check is a function ``check_<name>(inputs, data) -> list[Finding]``. A finding is either an
``error`` (no decision can fix it: the inputs are rejected) or a ``warning`` (the plan is
still meaningful, but the user likely wants to know). :func:`consistency_findings` runs
them all; :func:`raise_on_errors` turns errors, or with ``strict=True`` warnings too, into
an :class:`~capforecast.core.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import clipped
from capforecast.plan.data import ModelData
from capforecast.plan.inputs import PlanningInputs


@dataclass(frozen=True)
class Finding:
    """The outcome of one consistency check at one place."""

    check: str
    severity: Literal["error", "warning"]
    problem: Problem

    def __str__(self) -> str:
        return f"[{self.check}] {self.problem}"


def _fleet_severity(data: ModelData) -> tuple[Literal["error", "warning"], str]:
    """An over-full site is an error unless retiring fleet early can fix it."""
    if data.early_retirement:
        return "warning", "the plan must retire enough of it early (early_retirement: true)"
    return "error", "no purchase decision can fix this (early_retirement: true could)"


def check_fleet_power(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Error (a warning with ``early_retirement``): the existing fleet alone draws more
    than a site's power cap in a period."""
    draw = np.einsum("skt,sk->kt", data.fleet, data.facility_kw)
    severity, fix = _fleet_severity(data)
    return [
        Finding(
            "fleet_power",
            severity,
            Problem(
                "fleet.csv",
                None,
                "units",
                f"existing fleet at site '{data.sites[k]}' draws {draw[k, t]:,.1f} kW in "
                f"{data.periods[t]}, over the power cap of {data.power_cap[k, t]:,.1f} kW "
                f"(sites.csv / site_power.csv); {fix}",
            ),
        )
        for k, t in zip(*np.nonzero(draw > data.power_cap + 1e-6), strict=True)
    ]


def check_fleet_slots(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Error (a warning with ``early_retirement``): the existing fleet alone needs more
    slots than a site has in a period."""
    units = data.fleet.sum(axis=0)
    severity, fix = _fleet_severity(data)
    return [
        Finding(
            "fleet_slots",
            severity,
            Problem(
                "fleet.csv",
                None,
                "units",
                f"existing fleet at site '{data.sites[k]}' has {units[k, t]:,.0f} units in "
                f"{data.periods[t]}, over the {data.slots[k]:,.0f} slots of sites.csv; {fix}",
            ),
        )
        for k, t in zip(*np.nonzero(units > data.slots[:, None] + 1e-6), strict=True)
    ]


def check_unservable_workloads(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: demand of a workload (in a region) that no SKU at an eligible site serves
    and no rent covers."""
    findings = []
    for w, g in zip(*np.nonzero(data.pairs), strict=True):
        serving = (data.factor[:, w] > 0)[:, None] & data.eligible[w, g][None, :]
        if serving.any() or data.rent_cap[w, g].max(initial=0.0) > 0:
            continue
        if data.demand[w, g].max(initial=0.0) > 0:
            where = f" in region '{data.regions[g]}'" if data.regional else ""
            why = (
                "no SKU has a perf factor > 0 for it"
                if not (data.factor[:, w] > 0).any()
                else "no site eligible for it has a SKU that serves it (eligibility.csv, "
                "sites.csv region)"
            )
            findings.append(
                Finding(
                    "unservable_workload",
                    "warning",
                    Problem(
                        "perf.csv",
                        None,
                        "workload",
                        f"workload '{data.workloads[w]}'{where}: {why} and no rent row covers "
                        "it: all of its demand will be reported as shortfall",
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
    """Warning: rows of period files outside the horizon are ignored (maybe a typo)."""
    findings = []
    first, last = data.periods[0], data.periods[-1]
    for name in ("budget", "site_power", "prices", "supply", "rent"):
        table = getattr(inputs, name)
        # A budget row may be a coarser period (a year): it counts when it covers one.
        inside = data.budget_periods if name == "budget" else data.periods
        outside = table[~table["period"].isin(inside)] if not table.empty else table
        for row, period in outside["period"].items() if not outside.empty else []:
            findings.append(
                Finding(
                    "rows_outside_horizon",
                    "warning",
                    Problem(
                        f"{name}.csv",
                        int(row),
                        "period",
                        f"{period} is outside the horizon {first}..{last} of demand.csv; "
                        "the row is ignored",
                    ),
                )
            )
    return findings


def check_perf_workloads(inputs: PlanningInputs, data: ModelData) -> list[Finding]:
    """Warning: a perf workload with no demand is ignored (maybe a misspelt name)."""
    known = set(data.workloads)
    return [
        Finding(
            "perf_workload_without_demand",
            "warning",
            Problem(
                "perf.csv",
                int(row),
                "workload",
                f"workload '{workload}' has no demand in demand.csv and no cluster in "
                f"clusters.csv (workloads there: {sorted(known)}); the row is ignored",
            ),
        )
        for row, workload in inputs.perf["workload"].items()
        if workload not in known
    ]


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
