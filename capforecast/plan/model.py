"""The planning MILP of docs/model.md, built family by family as arrays.

One ``define_<family>`` function per variable or constraint family. Each works on whole
arrays: terms are tables of (group keys, column, coefficient) that are summed and split
with NumPy into the rows of a :class:`~capforecast.plan.program.Program`, so no Python
object is made per variable, term or row. Names follow ``family__label__label...`` (e.g.
``power__texas__2027Q3``), with labels made PuLP-safe and distinct (:func:`safe_labels`);
they are made only when asked for (:meth:`Program.to_pulp`, for CBC or an LP file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capforecast.plan.data import ModelData
from capforecast.plan.program import Block, Program, Rows

if TYPE_CHECKING:
    from capforecast.plan.rules import AddedRule, RuleFunction

#: A hook that adds user constraints (``model.program.add_row``) or changes bounds of a
#: built model before it is solved.
ConstraintHook = Callable[["PlanModel"], None]


@dataclass
class VariableFamily:
    """Columns of one family and the integer index of each along the model axes."""

    name: str
    index: dict[str, np.ndarray]
    columns: np.ndarray  # positions in the program, increasing

    def __len__(self) -> int:
        return len(self.columns)

    def values(self, solution: np.ndarray) -> np.ndarray:
        """The family's values in a solution of the program."""
        return solution[self.columns]


@dataclass
class Terms:
    """Linear terms ``coef · x[column]`` tagged with the constraint group they belong to."""

    keys: dict[str, np.ndarray]
    columns: np.ndarray
    coef: np.ndarray

    @classmethod
    def of(cls, keys: dict[str, np.ndarray], family: VariableFamily, coef: np.ndarray) -> Terms:
        """Terms over all columns of ``family``."""
        return cls(keys, family.columns, np.asarray(coef, dtype=float))

    @classmethod
    def concat(cls, keys: dict[str, np.ndarray], parts: list[Terms]) -> Terms:
        """Terms of ``parts`` one after another, regrouped by ``keys``."""
        return cls(
            keys,
            np.concatenate([p.columns for p in parts]),
            np.concatenate([p.coef for p in parts]),
        )

    def take(self, rows: np.ndarray, keys: dict[str, np.ndarray]) -> Terms:
        """The terms at ``rows`` (repeats allowed) under new ``keys``."""
        return Terms(keys, self.columns[rows], self.coef[rows])

    def scaled(self, coef: np.ndarray) -> Terms:
        """The same terms with new coefficients."""
        return Terms(self.keys, self.columns, coef)

    def grouped(self, *keys: str) -> Rows:
        """One row per distinct value of ``keys`` (in increasing order), its terms sorted
        by column and repeated columns summed."""
        columns = [self.keys[k] for k in keys]
        if len(self.columns) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Rows(np.zeros((0, len(keys)), dtype=np.int64), empty, empty, np.zeros(0))
        order = np.lexsort([self.columns, *columns[::-1]])
        sorted_keys = np.stack([c[order] for c in columns], axis=1)
        sorted_columns = self.columns[order]
        new_term = np.r_[True, np.any(np.diff(sorted_keys, axis=0) != 0, axis=1)]
        new_term |= np.r_[True, np.diff(sorted_columns) != 0]
        term_starts = np.flatnonzero(new_term)
        coef = np.add.reduceat(self.coef[order], term_starts)
        term_keys = sorted_keys[term_starts]
        group_starts = np.flatnonzero(np.r_[True, np.any(np.diff(term_keys, axis=0) != 0, axis=1)])
        lengths = np.diff(np.r_[group_starts, len(term_keys)])
        return Rows(term_keys[group_starts], lengths, sorted_columns[term_starts], coef)


@dataclass
class PlanModel:
    """A built model: the program, its data, and its variable and row families."""

    data: ModelData
    program: Program
    buy: VariableFamily
    serve: VariableFamily
    rent: VariableFamily
    unmet: VariableFamily
    installed: Terms
    #: ``y_{c,s,k}`` (cluster ``c`` placed on pool ``(s, k)``) and ``ȳ_c`` (not placed).
    place: VariableFamily
    unplaced: VariableFamily
    #: ``e_{j,t}``, units of fleet row ``j`` retired early at the start of ``t`` (empty
    #: without ``early_retirement``), and their terms ``-e_{j,τ}`` in ``I_{s,k,t}``, ``τ <= t``.
    retire: VariableFamily
    retired: Terms
    #: ``v_{o,τ}``, reference units of offer ``o`` (axis ``q``) signed in ``τ``, and their
    #: terms ``v_{o,τ}`` keyed by ``(q, t)`` for every period ``t`` they are active in.
    sign: VariableFamily
    reserved: Terms
    objective_constant: float = 0.0
    #: The rows of each constraint family (their keys: indices along the family's axes).
    rows: dict[str, Block] = field(default_factory=dict)
    #: Families whose rows may be violated at a price (diagnosis): each row gets a
    #: column ``relax__<family>__<labels>`` >= 0 that widens it, listed here by family.
    elastic: frozenset[str] = frozenset()
    relaxations: dict[str, np.ndarray] = field(default_factory=dict)
    #: The analyst's rules (:mod:`capforecast.plan.rules`) added, by name.
    rules: dict[str, AddedRule] = field(default_factory=dict)
    #: The components of the discounted cost, by name (:func:`define_costs`).
    costs: dict[str, Cost] = field(default_factory=dict)


def safe(label: object) -> str:
    """A label PuLP can use in a name: runs of other characters become one ``_``.

    Examples
    --------
    >>> safe("GB200 NVL72/rack-1")
    'GB200_NVL72_rack_1'
    """
    return re.sub(r"[^0-9A-Za-z]+", "_", str(label)).strip("_") or "x"


def safe_labels(labels: list[str]) -> list[str]:
    """PuLP-safe labels, still distinct: labels that clash get their position appended.

    Names join labels with ``__``, which no safe label contains, so distinct index tuples
    always give distinct names.

    Examples
    --------
    >>> safe_labels(["tx-1", "tx_1", "ams"])
    ['tx_1_0', 'tx_1_1', 'ams']
    """
    cleaned = [safe(label) for label in labels]
    counts = {label: cleaned.count(label) for label in cleaned}
    return [f"{c}_{i}" if counts[c] > 1 else c for i, c in enumerate(cleaned)]


def _variables(
    program: Program,
    name: str,
    axes: str,
    index: dict[str, np.ndarray],
    *,
    upper: np.ndarray | None = None,
    integer: bool = False,
) -> VariableFamily:
    keys = np.stack([index[a] for a in axes], axis=1) if axes else np.zeros((1, 0), int)
    columns = program.add_columns(name, axes, keys, upper=upper, integer=integer)
    return VariableFamily(name, index, columns)


def _axis_names(data: ModelData) -> dict[str, list[str]]:
    """The labels along each model axis (``s, k, w, g, t, o``; ``c`` the clusters, ``j``
    the fleet rows, named by their row in ``fleet.csv``, ``b`` the budget periods, ``v``
    the vendors of ``vendor_limits.csv`` and ``q`` the cloud offers)."""
    return {
        "s": data.skus,
        "k": data.sites,
        "w": data.workloads,
        "g": data.regions,
        "t": [str(p) for p in data.periods],
        "o": data.scenarios,
        "c": data.clusters.names,
        "j": [f"row{row}" for row in data.fleet_rows.row],
        "b": [str(b) for b in data.budget_periods],
        "v": data.vendors,
        "q": data.offers.names,
    }


def _grid(*sizes: int) -> list[np.ndarray]:
    return [g.ravel() for g in np.indices(sizes)]


def define_buy(program: Program, data: ModelData) -> VariableFamily:
    """``n_{s,k,t}`` for ``s ∈ S^o``: integer lots ordered; only orders that arrive by
    ``T-1`` exist, and none of a legacy SKU (owned, no longer sold)."""
    s, k, t = _grid(len(data.skus), len(data.sites), data.horizon)
    arrives = (t + data.lead_time[s] <= data.horizon - 1) & data.orderable[s]
    index = {"s": s[arrives], "k": k[arrives], "t": t[arrives]}
    return _variables(program, "buy", "skt", index, integer=True)


def define_installed(data: ModelData, buy: VariableFamily) -> Terms:
    """Terms of ``I_{s,k,t}`` beyond the fleet: ``L_s n_{s,k,τ}`` for each period served."""
    s, k, order_t = buy.index["s"], buy.index["k"], buy.index["t"]
    first = order_t + data.lead_time[s]
    last = np.minimum(first + data.lifetime[s] - 1, data.horizon - 1)
    counts = last - first + 1
    owner = np.repeat(np.arange(len(buy)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    keys = {"s": s[owner], "k": k[owner], "t": first[owner] + offset}
    units = Terms.of({}, buy, data.lot_size[s])
    return units.take(owner, keys)


def define_retire(program: Program, data: ModelData) -> VariableFamily:
    """``e_{j,t}``: integer units of fleet row ``j`` retired early at the start of ``t``,
    for ``α_j <= t < β_j``, at most ``U_j`` each (the row ``Σ_t e_{j,t} <= U_j`` is
    :func:`define_retire_limit`); none without ``early_retirement``."""
    rows = data.fleet_rows
    if not data.early_retirement:
        return _variables(program, "retire", "jt", {"j": np.zeros(0, int), "t": np.zeros(0, int)})
    j, t = _grid(len(rows), data.horizon)
    keep = (rows.start[j] <= t) & (t < rows.end[j]) & (rows.units[j] > 0)
    index = {"j": j[keep], "t": t[keep]}
    return _variables(program, "retire", "jt", index, upper=rows.units[index["j"]], integer=True)


def define_retired(data: ModelData, retire: VariableFamily) -> Terms:
    """Terms of ``I_{s,k,t}`` from early retirement: ``-e_{j,τ}`` keyed by ``(s_j, k_j, t)``
    for every ``τ <= t < β_j``, so that ``F_{s,k,t} = Σ_j (U_j - Σ_{τ<=t} e_{j,τ})``."""
    rows = data.fleet_rows
    j, first = retire.index["j"], retire.index["t"]
    counts = rows.end[j] - first
    owner = np.repeat(np.arange(len(retire)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    keys = {"s": rows.sku[j][owner], "k": rows.site[j][owner], "t": first[owner] + offset}
    return Terms.of({}, retire, -np.ones(len(retire))).take(owner, keys)


def installed_terms(model: PlanModel) -> Terms:
    """Every decision term of ``I_{s,k,t} - F_{s,k,t}``: new orders and early retirements,
    keyed by ``(s, k, t)``."""
    parts = [model.installed, model.retired]
    keys = {axis: np.r_[model.installed.keys[axis], model.retired.keys[axis]] for axis in "skt"}
    return Terms.concat(keys, parts)


def _possible(data: ModelData, installed: Terms) -> np.ndarray:
    """``[s, k, t]``: where units may be installed (fleet, or an order that can arrive)."""
    possible = data.fleet > 0
    possible[installed.keys["s"], installed.keys["k"], installed.keys["t"]] = True
    return possible


def _pair_grid(data: ModelData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(w, g, t, ω)`` for every period and scenario of the workload-region pairs of
    demand."""
    w, g = np.nonzero(data.pairs)
    p, t, o = _grid(len(w), data.horizon, len(data.scenarios))
    return w[p], g[p], t, o


def define_serve(program: Program, data: ModelData, possible: np.ndarray) -> VariableFamily:
    """``x_{s,k,w,g,t,ω}``: only where SKU ``s`` can serve ``w``, site ``k`` is eligible
    for ``(w, g)`` (``E_{w,g}``) and units may be installed (``possible``, ``[s, k, t]``)."""
    w, g = np.nonzero(data.pairs)
    s, k, p, t, o = _grid(
        len(data.skus), len(data.sites), len(w), data.horizon, len(data.scenarios)
    )
    w, g = w[p], g[p]
    keep = (data.factor[s, w] > 0) & possible[s, k, t] & data.eligible[w, g, k]
    index = {
        "s": s[keep],
        "k": k[keep],
        "w": w[keep],
        "g": g[keep],
        "t": t[keep],
        "o": o[keep],
    }
    return _variables(program, "serve", "skwgto", index)


def define_rent(program: Program, data: ModelData) -> VariableFamily:
    """``r_{w,g,t,ω}`` with ``r <= rcap_{w,g,t}`` as its bound; none where no rent is
    offered."""
    w, g, t, o = _pair_grid(data)
    keep = data.rent_cap[w, g, t] > 0
    index = {"w": w[keep], "g": g[keep], "t": t[keep], "o": o[keep]}
    upper = data.rent_cap[index["w"], index["g"], index["t"]].astype(float)
    return _variables(program, "rent", "wgto", index, upper=upper)


def define_unmet(program: Program, data: ModelData) -> VariableFamily:
    """``u_{w,g,t,ω}``: demand left unserved (priced at the shortfall penalty); none when
    shortfall is forbidden."""
    w, g, t, o = _pair_grid(data)
    keep = np.full(len(w), not data.forbid_shortfall)
    index = {"w": w[keep], "g": g[keep], "t": t[keep], "o": o[keep]}
    return _variables(program, "unmet", "wgto", index)


def define_place(program: Program, data: ModelData, possible: np.ndarray) -> VariableFamily:
    """``y_{c,s,k}`` binary for every pool allowed to hold cluster ``c`` (``f_{s,w_c} >
    0``, in its ``skus``, ``sites`` and region) where units may be installed in every
    period of ``A_c`` (elsewhere ``y`` could only be 0)."""
    clusters = data.clusters
    c, s, k = _grid(len(clusters), len(data.skus), len(data.sites))
    # A pool is usable for c when every active period has room for units.
    missing = (clusters.active[:, None, None, :] & ~possible[None, :, :, :]).any(axis=3)
    keep = clusters.pools[c, s, k] & ~missing[c, s, k]
    index = {"c": c[keep], "s": s[keep], "k": k[keep]}
    return _variables(program, "place", "csk", index, upper=np.ones(int(keep.sum())), integer=True)


def define_unplaced(program: Program, data: ModelData) -> VariableFamily:
    """``ȳ_c`` binary: cluster ``c`` not placed (at the shortfall penalty for all of it);
    fixed to 0 with ``shortfall: forbid``."""
    c = np.arange(len(data.clusters))
    upper = np.full(len(c), 0.0 if data.forbid_shortfall else 1.0)
    return _variables(program, "unplaced", "c", {"c": c}, upper=upper, integer=True)


def define_sign(program: Program, data: ModelData) -> VariableFamily:
    """``v_{o,τ}`` >= 0: reference units of cloud offer ``o`` signed in ``τ``, for every
    ``τ`` with ``τ + notice_o <= T-1`` (signed later, it would never be active)."""
    offers = data.offers
    q, t = _grid(len(offers), data.horizon)
    keep = t + offers.notice[q] <= data.horizon - 1
    return _variables(program, "sign", "qt", {"q": q[keep], "t": t[keep]})


def define_reserved(data: ModelData, sign: VariableFamily) -> Terms:
    """Terms ``v_{o,τ}`` keyed by ``(q, t)`` for each period ``t`` the units signed in
    ``τ`` are active: ``τ + notice_o <= t <= τ + notice_o + term_o - 1``, within the
    horizon."""
    offers = data.offers
    q = sign.index["q"]
    first = sign.index["t"] + offers.notice[q]
    last = np.minimum(first + offers.term[q] - 1, data.horizon - 1)
    counts = last - first + 1
    owner = np.repeat(np.arange(len(sign)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    keys = {"q": q[owner], "t": first[owner] + offset}
    return Terms.of({}, sign, np.ones(len(sign))).take(owner, keys)


#: The bound on one order's lots when the power cap does not bound it (the diagnosis's
#: elastic power rows).
UNBOUNDED_LOTS = 1e6


def define_order(model: PlanModel) -> None:
    """``min_lots``: for a SKU with ``m_s > 1``, ``n_{s,k,t} = 0`` or ``n >= m_s``, with a
    binary ``z_{s,k,t}`` (an order is placed): ``n - m_s z >= 0`` (``min_lots``) and
    ``n - U z <= 0`` (``order_size``). ``U_{s,k,t} = ⌊Pcap_{k,t+ℓ_s} / (L_s p_s pue_k)⌋``
    is the most lots the site's power cap could take when they arrive (every other unit
    there draws >= 0); where it is below ``m_s`` the order is fixed to 0. (When the
    diagnosis relaxes ``power``, ``U`` is :data:`UNBOUNDED_LOTS`.)"""
    data, buy, program = model.data, model.buy, model.program
    s, k, t = buy.index["s"], buy.index["k"], buy.index["t"]
    need = data.min_lots[s]
    most = data.most_lots(s, k, t)
    if "power" in model.elastic:  # (a diagnosis that relaxes power needs a larger bound)
        most = np.full(len(most), UNBOUNDED_LOTS)
    sized = need > 1
    program.upper[buy.columns[sized & (most < need)]] = 0.0
    keep = sized & (most >= need)
    index = {"s": s[keep], "k": k[keep], "t": t[keep]}
    size = int(keep.sum())
    order = _variables(program, "order", "skt", index, upper=np.ones(size), integer=True)
    lots = buy.columns[keep]
    for family, coef, low, high in (
        ("min_lots", -need[keep], 0.0, np.inf),
        ("order_size", -most[keep], -np.inf, 0.0),
    ):
        rows = Rows(
            np.stack([index[a] for a in "skt"], axis=1),
            np.full(size, 2),
            np.stack([lots, order.columns], axis=1).ravel(),
            np.stack([np.ones(size), coef], axis=1).ravel(),
        )
        add_rows(model, family, "skt", rows, lower=low, upper=high)


def add_rows(
    model: PlanModel,
    family: str,
    axes: str,
    rows: Rows,
    *,
    lower: np.ndarray | float = -np.inf,
    upper: np.ndarray | float = np.inf,
    keep: np.ndarray | None = None,
) -> None:
    """Add ``rows`` (only those where ``keep``) as ``lower <= row <= upper``; bounds are
    per row of ``rows`` or one for all."""
    size = len(rows.lengths)
    low = np.broadcast_to(np.asarray(lower, dtype=float), size)
    high = np.broadcast_to(np.asarray(upper, dtype=float), size)
    if keep is not None:
        rows, low, high = rows.where(keep), low[keep], high[keep]
    if family in model.elastic:
        widen = model.program.add_columns(f"relax__{family}", axes, rows.keys)
        # <= rows may exceed their right-hand side by it, >= and = rows fall short by it.
        sign = np.where(np.isfinite(low), 1.0, -1.0)
        ends = np.cumsum(rows.lengths)
        rows = Rows(
            rows.keys,
            rows.lengths + 1,
            np.insert(rows.columns, ends, widen),
            np.insert(rows.coef, ends, sign),
        )
        model.relaxations[family] = widen
    model.rows[family] = model.program.add_rows(family, axes, rows, lower=low, upper=high)


def _tile(terms: Terms, times: int, keys: dict[str, np.ndarray]) -> Terms:
    rows = np.tile(np.arange(len(terms.columns)), times)
    return terms.take(rows, keys)


def _cluster_terms(model: PlanModel) -> Terms:
    """``M_{c,s} y_{c,s,k}`` keyed by ``(s, k, t, ω)`` for every ``t ∈ A_c`` and scenario."""
    data, place = model.data, model.place
    clusters, N = data.clusters, len(data.scenarios)
    c = place.index["c"]
    owner, t = np.nonzero(clusters.active[c])  # (y, t ∈ A_c), then each scenario
    owner, t, o = np.repeat(owner, N), np.repeat(t, N), np.tile(np.arange(N), len(owner))
    units = Terms.of({}, place, clusters.units[c, place.index["s"]])
    keys = {"s": place.index["s"][owner], "k": place.index["k"][owner], "t": t, "o": o}
    return units.take(owner, keys)


def define_split(model: PlanModel) -> None:
    """``Σ_{w,g} x_{s,k,w,g,t,ω} + Σ_{c: t ∈ A_c} M_{c,s} y_{c,s,k} <= a_s I_{s,k,t}`` for
    every scenario: only the available share ``a_s`` of installed units serves (the rest
    is failed, in repair or spare), and a placed cluster takes its block of them."""
    data, serve, installed = model.data, model.serve, installed_terms(model)
    scenarios = len(data.scenarios)
    # Installed terms enter every scenario's split with coefficient -a_s.
    tiled = _tile(
        installed.scaled(-installed.coef * data.availability[installed.keys["s"]]),
        scenarios,
        {
            **{axis: np.tile(installed.keys[axis], scenarios) for axis in ("s", "k", "t")},
            "o": np.repeat(np.arange(scenarios), len(installed.columns)),
        },
    )
    served = Terms.of(serve.index, serve, np.ones(len(serve)))
    held = _cluster_terms(model)
    parts = [served, held, tiled]
    keys = {axis: np.concatenate([p.keys[axis] for p in parts]) for axis in ("s", "k", "t", "o")}
    rows = Terms.concat(keys, parts).grouped("s", "k", "t", "o")
    s, k, t = rows.keys[:, 0], rows.keys[:, 1], rows.keys[:, 2]
    serving = np.zeros(data.fleet.shape, dtype=bool)
    serving[serve.index["s"], serve.index["k"], serve.index["t"]] = True
    serving[held.keys["s"], held.keys["k"], held.keys["t"]] = True
    # Where nothing serves from these units the bound is vacuous: no row.
    limit = data.availability[s] * data.fleet[s, k, t]
    add_rows(model, "split", "skto", rows, upper=limit, keep=serving[s, k, t])


def define_cluster(model: PlanModel) -> None:
    """``Σ_{s,k} y_{c,s,k} + ȳ_c = 1``: each cluster is placed on one pool, or not at all."""
    place, unplaced = model.place, model.unplaced
    parts = [
        Terms.of({}, place, np.ones(len(place))),
        Terms.of({}, unplaced, np.ones(len(unplaced))),
    ]
    keys = {"c": np.r_[place.index["c"], unplaced.index["c"]]}
    add_rows(model, "cluster", "c", Terms.concat(keys, parts).grouped("c"), lower=1.0, upper=1.0)
    model.program.choices = [
        np.r_[place.columns[place.index["c"] == c], unplaced.columns[c]]
        for c in range(len(unplaced))
    ]


def _reserved_by_scenario(model: PlanModel) -> Terms:
    """The active reserved units keyed by the demand they serve, ``(w_o, g_o, t, ω)``, for
    every scenario (a contract is signed before demand is known)."""
    data, reserved = model.data, model.reserved
    offers, N = data.offers, len(data.scenarios)
    q = reserved.keys["q"]
    return _tile(
        reserved,
        N,
        {
            "w": np.tile(offers.workload[q], N),
            "g": np.tile(offers.region[q], N),
            "t": np.tile(reserved.keys["t"], N),
            "o": np.repeat(np.arange(N), len(q)),
        },
    )


def define_demand(model: PlanModel) -> None:
    """``Σ_{s,k} f_{s,w} x + Σ_o (active v_o) + r + u >= D_{w,g,t,ω}``."""
    data, serve, rent, unmet = model.data, model.serve, model.rent, model.unmet
    reserved = _reserved_by_scenario(model)
    parts = [
        Terms.of({}, serve, data.factor[serve.index["s"], serve.index["w"]]),
        Terms.of({}, rent, np.ones(len(rent))),
        Terms.of({}, unmet, np.ones(len(unmet))),
        reserved,
    ]
    keys = {
        axis: np.r_[serve.index[axis], rent.index[axis], unmet.index[axis], reserved.keys[axis]]
        for axis in ("w", "g", "t", "o")
    }
    rows = Terms.concat(keys, parts).grouped("w", "g", "t", "o")
    add_rows(model, "demand", "wgto", rows, lower=data.demand[tuple(rows.keys.T)])


def define_power(model: PlanModel) -> None:
    """``Σ_s p_s pue_k I_{s,k,t} <= Pcap_{k,t}`` (the fleet's draw moves to the right)."""
    data, installed = model.data, installed_terms(model)
    kw = data.facility_kw
    fleet_draw = np.einsum("skt,sk->kt", data.fleet, kw)
    terms = installed.scaled(installed.coef * kw[installed.keys["s"], installed.keys["k"]])
    rows = terms.grouped("k", "t")
    key = tuple(rows.keys.T)
    add_rows(model, "power", "kt", rows, upper=data.power_cap[key] - fleet_draw[key])


def define_slots(model: PlanModel) -> None:
    """``Σ_s I_{s,k,t} <= slots_k`` where ``slots`` is given."""
    data = model.data
    rows = installed_terms(model).grouped("k", "t")
    k, t = rows.keys[:, 0], rows.keys[:, 1]
    limit = data.slots[k] - data.fleet.sum(axis=0)[k, t]
    add_rows(model, "slots", "kt", rows, upper=limit, keep=np.isfinite(data.slots[k]))


def _capex_terms(data: ModelData, buy: VariableFamily) -> Terms:
    """``c_{s,τ} L_s n_{s,k,τ}`` (undiscounted, at the order price) keyed by the period it
    is paid in, ``t = pay(s, τ)``, and by SKU ``s``."""
    s, t = buy.index["s"], buy.index["t"]
    keys = {"t": data.pay_period(s, t), "s": s}
    return Terms.of(keys, buy, data.price[s, t] * data.lot_size[s])


def define_budget(model: PlanModel) -> None:
    """``Σ_{pay(s,τ) ∈ P_b} c L n <= B_b`` per budget period ``b``; with carryover, the
    spend through ``b`` <= the budget through ``b``."""
    data = model.data
    capex = _capex_terms(data, model.buy)
    b = data.budget_of[capex.keys["t"]]
    if data.carryover:
        # Each order counts in its own budget period and every later one.
        counts = len(data.budget) - b
        owner = np.repeat(np.arange(len(capex.columns)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        capex = capex.take(owner, {"b": b[owner] + offset})
        limit = np.cumsum(data.budget)
    else:
        capex = capex.take(np.arange(len(b)), {"b": b})
        limit = data.budget
    rows = capex.grouped("b")
    add_rows(model, "budget", "b", rows, upper=limit[rows.keys[:, 0]])


def define_retire_limit(model: PlanModel) -> None:
    """``Σ_t e_{j,t} <= U_j``: a fleet row retires at most the units it has."""
    data, retire = model.data, model.retire
    j = retire.index["j"]
    rows = Terms.of({"j": j}, retire, np.ones(len(retire))).grouped("j")
    add_rows(model, "retire", "j", rows, upper=data.fleet_rows.units[rows.keys[:, 0]])


def define_supply(model: PlanModel) -> None:
    """``Σ_k L_s n_{s,k,t} <= max_units_{s,t}`` where a vendor allocation is given
    (``supply``), and ``>= min_units_{s,t}`` where a volume is committed
    (``supply_min``)."""
    data, buy = model.data, model.buy
    s, t = buy.index["s"], buy.index["t"]
    rows = Terms.of({"s": s, "t": t}, buy, data.lot_size[s]).grouped("s", "t")
    key = tuple(rows.keys.T)
    limit, floor = data.supply[key], data.supply_min[key]
    add_rows(model, "supply", "st", rows, upper=limit, keep=np.isfinite(limit))
    add_rows(model, "supply_min", "st", rows, lower=floor, keep=floor > 0)


def define_vendor(model: PlanModel) -> None:
    """Per row ``v`` of ``vendor_limits.csv``, with ``C_s`` the list capex of SKU ``s``
    (undiscounted, at the order price): ``Σ_{s of v} C_s - max_v Σ_s C_s <= 0``
    (``vendor_max``) and, where ``min_v > 0``, ``Σ_{s of v} C_s - min_v Σ_s C_s >= 0``
    (``vendor_min``)."""
    data = model.data
    capex = _capex_terms(data, model.buy)
    V, size = len(data.vendors), len(capex.columns)
    if V == 0:
        return
    v = np.repeat(np.arange(V), size)
    own = (
        np.asarray(data.sku_vendor, dtype=object)[np.tile(capex.keys["s"], V)]
        == np.asarray(data.vendors, dtype=object)[v]
    )
    for family, share, keep in (
        ("vendor_max", data.vendor_max, None),
        ("vendor_min", data.vendor_min, data.vendor_min > 0),
    ):
        coef = np.tile(capex.coef, V) * (own - share[v])
        terms = _tile(capex, V, {"v": v}).scaled(coef)
        rows = terms.grouped("v")
        bound = {"upper": 0.0} if family == "vendor_max" else {"lower": 0.0}
        chosen = None if keep is None else keep[rows.keys[:, 0]]
        add_rows(model, family, "v", rows, keep=chosen, **bound)


def define_offer_limit(model: PlanModel) -> None:
    """``Σ_{τ: t active for (o,τ)} v_{o,τ} <= max_o`` for every period ``t`` (where the
    offer has a limit)."""
    data, reserved = model.data, model.reserved
    rows = reserved.grouped("q", "t")
    limit = data.offers.max_units[rows.keys[:, 0]]
    add_rows(model, "offer_limit", "qt", rows, upper=limit, keep=np.isfinite(limit))


@dataclass(frozen=True)
class Cost:
    """A component of the discounted cost: ``Σ coef · x[column] + constant``. A second-stage
    component (``second``) has its terms keyed by scenario ``o``, not yet weighted by
    probability."""

    terms: Terms
    constant: float = 0.0
    second: bool = False
    #: The constant by period ``[t]`` (discounted), when it is one: the cash view reads it.
    fixed: np.ndarray | None = None


def define_costs(model: PlanModel) -> dict[str, Cost]:
    """The components of the discounted cost (docs/model.md §4), in the order reports show
    them: what the objective minimises and what the plan reports are the same terms.

    Energy and opex are charged on installed units: the existing fleet's are constants
    (less what early retirements save, as terms), the new units' are terms."""
    data = model.data
    buy, rent, unmet, retire = model.buy, model.rent, model.unmet, model.retire
    capex = _capex_terms(data, buy)

    def discounted(terms: Terms, per_unit: np.ndarray) -> Terms:
        """``terms`` (keyed by ``s, k, t``) times ``per_unit[s, k] δ^t``."""
        s, k, t = terms.keys["s"], terms.keys["k"], terms.keys["t"]
        return terms.scaled(terms.coef * per_unit[s, k] * data.discount[t])

    def fleet(per_unit: np.ndarray) -> dict[str, Any]:
        """The existing fleet's discounted running cost, as a Cost's constant."""
        by_period = np.einsum("skt,sk,t->t", data.fleet, per_unit, data.discount)
        return {"constant": float(by_period.sum()), "fixed": by_period}

    energy = data.energy_per_unit
    costs = {
        "capex": Cost(capex.scaled(data.discount[capex.keys["t"]] * capex.coef)),
        "energy_existing": Cost(discounted(model.retired, energy), **fleet(energy)),
        "energy_new": Cost(discounted(model.installed, energy)),
    }
    if data.opex.any():
        opex = np.repeat(data.opex[:, None], len(data.sites), axis=1)
        costs["opex"] = Cost(discounted(installed_terms(model), opex), **fleet(opex))
    if data.early_retirement:
        salvage = data.fleet_rows.salvage[retire.index["j"]]
        t = retire.index["t"]
        costs["salvage"] = Cost(Terms.of({"t": t}, retire, -data.discount[t] * salvage))
    if data.terminal_value:
        credit = data.terminal_credit[buy.index["s"], buy.index["t"]]
        costs["terminal_value"] = Cost(capex.scaled(-capex.coef * credit))
    if len(data.clusters):
        costs["unplaced_clusters"] = Cost(Terms.of({}, model.unplaced, data.unplaced_cost))
    if len(data.offers):
        reserved = model.reserved
        price = data.offers.price[reserved.keys["q"]]
        costs["cloud_offers"] = Cost(reserved.scaled(data.discount[reserved.keys["t"]] * price))
    w, g, t = rent.index["w"], rent.index["g"], rent.index["t"]
    rent_cost = data.discount[t] * data.rent_price[w, g, t]
    costs["rent"] = Cost(Terms.of({"o": rent.index["o"], "t": t}, rent, rent_cost), second=True)
    t = unmet.index["t"]
    penalty = data.discount[t] * data.penalty[unmet.index["w"]]
    costs["shortfall"] = Cost(
        Terms.of({"o": unmet.index["o"], "t": t}, unmet, penalty), second=True
    )
    return costs


def define_objective(model: PlanModel) -> None:
    """The sum of ``model.costs``: discounted capex + energy and opex on installed units
    (- salvage - terminal value) + expected rent and shortfall, and any cost the analyst's
    rules add; with ``risk: cvar``, ``(1 - w) E[C] + w CVaR_α(C)`` in the
    Rockafellar–Uryasev form: ``CVaR = min_η η + E[(C_ω - η)+] / (1 - α)``."""
    data = model.data
    first_costs = [c for c in model.costs.values() if not c.second]
    second_costs = [c for c in model.costs.values() if c.second]
    first = Terms.concat({}, [c.terms for c in first_costs])
    second = Terms.concat(
        {"o": np.concatenate([c.terms.keys["o"] for c in second_costs]).astype(int)},
        [c.terms for c in second_costs],
    )
    # The existing fleet's energy and opex are part of the objective (docs/model.md §5) but
    # fixed (early retirements subtract from them as terms): they are the objective's
    # constant (HiGHS gets it as its offset, so its gap is the whole cost's).
    model.objective_constant = sum(c.constant for c in first_costs)
    w = data.cvar_weight
    expected = [first, second.scaled(second.coef * data.probability[second.keys["o"]])]
    parts = [p.scaled(p.coef * (1 - w)) for p in expected] if w > 0 else expected
    if w > 0:
        parts.extend(_define_cvar(model, first, second))
    terms = Terms.concat({}, parts)
    # With CVaR, the threshold η carries the rest of the constant (its rows' right side).
    model.program.set_objective(terms.columns, terms.coef, (1 - w) * model.objective_constant)


def _define_cvar(model: PlanModel, first: Terms, second: Terms) -> list[Terms]:
    """``η`` and ``z_ω >= C_ω - η``; returns the objective terms ``w (η + Σ π z / (1-α))``."""
    data = model.data
    N = len(data.scenarios)
    threshold = _variables(model.program, "cvar_threshold", "", {})
    excess = _variables(model.program, "cvar_excess", "o", {"o": np.arange(N)})
    # z_ω + η - (first-stage cost) - (second-stage cost of ω) >= running cost of the fleet
    scenarios = np.arange(N)
    tiled_first = _tile(
        first.scaled(-first.coef), N, {"o": np.repeat(scenarios, len(first.columns))}
    )
    tiled_threshold = _tile(Terms.of({}, threshold, np.ones(1)), N, {"o": scenarios})
    parts = [
        Terms.of({}, excess, np.ones(N)),
        tiled_threshold,
        tiled_first,
        second.scaled(-second.coef),
    ]
    keys = {
        "o": np.concatenate([excess.index["o"], scenarios, tiled_first.keys["o"], second.keys["o"]])
    }
    rows = Terms.concat(keys, parts).grouped("o")
    add_rows(model, "cvar", "o", rows, lower=model.objective_constant)
    w, alpha = data.cvar_weight, data.cvar_alpha
    return [
        Terms.of({}, threshold, np.full(1, w)),
        Terms.of({}, excess, w * data.probability / (1 - alpha)),
    ]


def define_service_level(model: PlanModel) -> None:
    """Chance constraints: for each workload ``w`` with a level ``p_w``, region ``g`` and
    period ``t``, binaries ``m_{w,g,t,ω}`` with ``u <= D_{w,g,t,ω} (1 - m_{w,g,t,ω})`` and
    ``Σ_ω π_ω m_{w,g,t,ω} >= p_w``: demand is met in scenarios of probability ``p_w``."""
    data, unmet = model.data, model.unmet
    if data.service_level is None or len(unmet) == 0:
        return
    level = data.service_level
    rows = np.flatnonzero(np.isfinite(level[unmet.index["w"]]))
    index = {axis: unmet.index[axis][rows] for axis in "wgto"}
    met = _variables(model.program, "met", "wgto", index, upper=np.ones(len(rows)), integer=True)
    # u_{w,g,t,ω} + D_{w,g,t,ω} m_{w,g,t,ω} <= D_{w,g,t,ω}
    demand = data.demand[index["w"], index["g"], index["t"], index["o"]]
    parts = [Terms.of({}, unmet, np.ones(len(unmet))).take(rows, {}), Terms.of({}, met, demand)]
    keys = {axis: np.r_[index[axis], index[axis]] for axis in "wgto"}
    linked = Terms.concat(keys, parts).grouped("w", "g", "t", "o")
    add_rows(model, "met", "wgto", linked, upper=data.demand[tuple(linked.keys.T)])
    probability = Terms.of(index, met, data.probability[index["o"]]).grouped("w", "g", "t")
    add_rows(model, "service_level", "wgt", probability, lower=level[probability.keys[:, 0]])


def build_model(
    data: ModelData,
    extra_constraints: ConstraintHook | None = None,
    elastic: frozenset[str] = frozenset(),
    rules: RuleFunction | None = None,
) -> PlanModel:
    """Build the complete core model of docs/model.md for ``data``, with the analyst's
    rules: ``data.rules`` (text) and then ``rules`` (a Python function, docs/rules.md).

    With ``elastic`` families (diagnosis), their rows may be violated and the objective is
    instead the total violation: the smallest relaxation of those families that makes
    the rest feasible.

    Examples
    --------
    >>> from capforecast.examples import sample_planning_inputs
    >>> model = build_model(ModelData.from_inputs(sample_planning_inputs()))
    >>> model.program.num_columns == len(model.program.column_names())
    True
    >>> sorted(model.rows)[:3]
    ['budget', 'cluster', 'demand']
    """
    labels = {axis: safe_labels(names) for axis, names in _axis_names(data).items()}
    program = Program(labels)
    buy = define_buy(program, data)
    installed = define_installed(data, buy)
    retire = define_retire(program, data)
    retired = define_retired(data, retire)
    possible = _possible(data, installed)
    sign = define_sign(program, data)
    model = PlanModel(
        sign=sign,
        reserved=define_reserved(data, sign),
        place=define_place(program, data, possible),
        unplaced=define_unplaced(program, data),
        data=data,
        program=program,
        buy=buy,
        serve=define_serve(program, data, possible),
        rent=define_rent(program, data),
        unmet=define_unmet(program, data),
        installed=installed,
        retire=retire,
        retired=retired,
        elastic=elastic,
    )
    define_split(model)
    define_cluster(model)
    define_retire_limit(model)
    define_demand(model)
    define_power(model)
    define_slots(model)
    define_budget(model)
    define_supply(model)
    define_order(model)
    define_vendor(model)
    define_offer_limit(model)
    define_service_level(model)
    model.costs = define_costs(model)
    from capforecast.plan.rules import compile_rules  # (rules build on this module)

    model.rules = compile_rules(model, data.rules, rules)  # (they may add costs)
    define_objective(model)
    if elastic:
        violation = np.concatenate(list(model.relaxations.values()) or [np.zeros(0, int)])
        program.set_objective(violation, np.ones(len(violation)))
    if extra_constraints is not None:
        extra_constraints(model)
    return model


def fix_orders(
    purchases: pd.DataFrame,
    retirements: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
) -> ConstraintHook:
    """A hook that fixes every order ``n_{s,k,t}`` to the lots of ``purchases`` (a plan's
    ``sku, site, order_period, lots`` table; orders not in it are fixed to 0), and, when
    given, every early retirement ``e_{j,t}`` to ``retirements`` (a plan's ``fleet_row,
    period, units``) and every cluster placement ``y_{c,s,k}, ȳ_c`` to ``clusters`` (a
    plan's ``cluster, placed, sku, site``): all first-stage decisions of that plan."""
    lots = {
        (str(row.sku), str(row.site), str(row.order_period)): float(row.lots)
        for row in purchases.itertuples(index=False)
    }
    placed = (
        None
        if clusters is None
        else {
            str(row.cluster): (str(row.sku), str(row.site))
            for row in clusters.itertuples(index=False)
            if bool(row.placed)
        }
    )
    retired = (
        None
        if retirements is None
        else {
            (int(row.fleet_row), str(row.period)): float(row.units)
            for row in retirements.itertuples(index=False)
        }
    )

    def fix(model: PlanModel) -> None:
        data, buy, program = model.data, model.buy, model.program
        left = dict(lots)  # the hook may be called for several models (e.g. a diagnosis)
        fixed = [
            left.pop((data.skus[s], data.sites[k], str(data.periods[t])), 0.0)
            for s, k, t in zip(buy.index["s"], buy.index["k"], buy.index["t"], strict=True)
        ]
        if left:
            raise ValueError(f"orders that this model cannot place: {sorted(left)[:3]}")
        program.lower[buy.columns] = program.upper[buy.columns] = fixed
        if retired is not None:
            retire, rows = model.retire, data.fleet_rows.row
            undone = dict(retired)
            units = [
                undone.pop((int(rows[j]), str(data.periods[t])), 0.0)
                for j, t in zip(retire.index["j"], retire.index["t"], strict=True)
            ]
            if undone:
                raise ValueError(f"retirements that this model cannot make: {sorted(undone)[:3]}")
            program.lower[retire.columns] = program.upper[retire.columns] = units
        if placed is None:
            return
        place, names = model.place, data.clusters.names
        chosen = [
            placed.get(names[c]) == (data.skus[s], data.sites[k])
            for c, s, k in zip(place.index["c"], place.index["s"], place.index["k"], strict=True)
        ]
        program.lower[place.columns] = program.upper[place.columns] = np.asarray(chosen, float)
        left_out = np.asarray([names[c] not in placed for c in model.unplaced.index["c"]], float)
        program.lower[model.unplaced.columns] = program.upper[model.unplaced.columns] = left_out

    return fix


#: Table column of each model axis.
AXIS_COLUMNS = {
    "s": "sku",
    "k": "site",
    "w": "workload",
    "g": "region",
    "c": "cluster",
    "v": "vendor",
    "q": "offer",
    "t": "period",
    "b": "period",
    "o": "scenario",
}


#: The label columns of tables of rows (``binding.csv``, ``relaxations.csv``), in order: a
#: budget period (axis ``b``) is in ``period`` like a horizon period.
LABEL_COLUMNS = list(dict.fromkeys(AXIS_COLUMNS.values()))


def row_labels(model: PlanModel, family: str) -> pd.DataFrame:
    """The labels of every row of ``family``, in order: one column per entry of
    :data:`LABEL_COLUMNS` (e.g. ``site="texas", period="2027Q3"``), empty strings for
    the axes the family does not have."""
    names = _axis_names(model.data)
    block = model.rows.get(family)
    size = 0 if block is None else block.stop - block.start
    labels = {column: np.full(size, "", dtype=object) for column in LABEL_COLUMNS}
    if block is not None:
        for position, axis in enumerate(block.axes):
            if axis not in AXIS_COLUMNS:
                continue  # a fleet row (``j``) is no column of these tables
            labels[AXIS_COLUMNS[axis]] = np.asarray(names[axis], dtype=object)[
                block.keys[:, position]
            ]
    return pd.DataFrame(labels)
