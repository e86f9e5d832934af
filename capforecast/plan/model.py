"""The planning MILP of DESIGN §4, built family by family with PuLP.

One ``define_<family>`` function per variable or constraint family. Each works on whole
arrays: terms are tables of (group keys, variable index, coefficient) that are summed and
split with NumPy, then handed to PuLP as ready :class:`pulp.LpAffineExpression` objects, so
no Python ``sum()`` over variables and no per-term ``+=`` ever runs. Names follow
``family__label__label...`` (e.g. ``power__texas__2027Q3``), with labels made PuLP-safe
and distinct (:func:`safe_labels`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from capforecast.plan.data import ModelData

#: A hook that adds user constraints to a built model before it is solved.
ConstraintHook = Callable[["PlanModel"], None]

# Creation order of variables: a stable sort key (object ids change from run to run, and
# the order of terms inside a row must not, or the solve would not be reproducible).
_CREATION = itertools.count()


@dataclass
class VariableFamily:
    """Variables of one family and the integer index of each along the model axes."""

    name: str
    index: dict[str, np.ndarray]
    variables: np.ndarray  # object array of pulp.LpVariable
    ids: np.ndarray  # creation order of each variable

    def __len__(self) -> int:
        return len(self.variables)

    def values(self) -> np.ndarray:
        """Solution values (0 where the solver gave none)."""
        return np.array([v.varValue or 0.0 for v in self.variables], dtype=float)


@dataclass
class Terms:
    """Linear terms ``coef · variable`` tagged with the constraint group they belong to."""

    keys: dict[str, np.ndarray]
    variables: np.ndarray
    coef: np.ndarray
    ids: np.ndarray

    @classmethod
    def of(cls, keys: dict[str, np.ndarray], family: VariableFamily, coef: np.ndarray) -> Terms:
        """Terms over all variables of ``family``."""
        return cls(keys, family.variables, np.asarray(coef, dtype=float), family.ids)

    @classmethod
    def concat(cls, keys: dict[str, np.ndarray], parts: list[Terms]) -> Terms:
        """Terms of ``parts`` one after another, regrouped by ``keys``."""
        return cls(
            keys,
            np.concatenate([p.variables for p in parts]),
            np.concatenate([p.coef for p in parts]),
            np.concatenate([p.ids for p in parts]),
        )

    def take(self, rows: np.ndarray, keys: dict[str, np.ndarray]) -> Terms:
        """The terms at ``rows`` (repeats allowed) under new ``keys``."""
        return Terms(keys, self.variables[rows], self.coef[rows], self.ids[rows])

    def scaled(self, coef: np.ndarray) -> Terms:
        """The same terms with new coefficients."""
        return Terms(self.keys, self.variables, coef, self.ids)

    def grouped(self, *keys: str) -> Iterator[tuple[tuple[int, ...], pulp.LpAffineExpression]]:
        """One expression per distinct value of ``keys``, duplicate variables summed."""
        if len(self.variables) == 0:
            return
        ids = self.ids
        columns = [self.keys[k] for k in keys]
        order = np.lexsort([ids, *columns[::-1]])
        sorted_keys = np.stack([c[order] for c in columns], axis=1)
        sorted_ids = ids[order]
        new_term = np.r_[True, np.any(np.diff(sorted_keys, axis=0) != 0, axis=1)]
        new_term |= np.r_[True, np.diff(sorted_ids) != 0]
        term_starts = np.flatnonzero(new_term)
        coef = np.add.reduceat(self.coef[order], term_starts)
        variables = self.variables[order][term_starts]
        term_keys = sorted_keys[term_starts]
        group_starts = np.flatnonzero(np.r_[True, np.any(np.diff(term_keys, axis=0) != 0, axis=1)])
        group_ends = np.r_[group_starts[1:], len(term_keys)].tolist()
        group_keys = term_keys[group_starts].tolist()
        variable_list, coef_list = variables.tolist(), coef.tolist()
        for key, start, end in zip(group_keys, group_starts.tolist(), group_ends, strict=True):
            terms = zip(variable_list[start:end], coef_list[start:end], strict=True)
            yield tuple(key), pulp.LpAffineExpression(terms)


@dataclass
class PlanModel:
    """A built model: the PuLP problem, its data and its variable families."""

    data: ModelData
    problem: pulp.LpProblem
    buy: VariableFamily
    serve: VariableFamily
    rent: VariableFamily
    unmet: VariableFamily
    installed: Terms
    objective_constant: float = 0.0
    constraint_families: dict[str, int] = field(default_factory=dict)
    #: Every row by family: its key (indices along the family's axes) and the constraint.
    rows: dict[str, list[tuple[tuple[int, ...], pulp.LpConstraint]]] = field(default_factory=dict)
    axes: dict[str, str] = field(default_factory=dict)  # family -> its axes, e.g. "kt"
    #: Families whose rows may be violated at a price (diagnosis): each row gets a
    #: variable ``relax__<family>__<labels>`` >= 0 that widens it, listed here by family.
    elastic: frozenset[str] = frozenset()
    relaxations: dict[str, list[tuple[tuple[int, ...], pulp.LpVariable]]] = field(
        default_factory=dict
    )


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
    problem: pulp.LpProblem,
    name: str,
    labels: list[list[str]],
    index: dict[str, np.ndarray],
    *,
    category: str = pulp.LpContinuous,
    upper: np.ndarray | None = None,
) -> VariableFamily:
    size = len(next(iter(index.values()))) if index else 0
    columns = [
        np.asarray(names, dtype=object)[position]
        for names, position in zip(labels, index.values(), strict=True)
    ]
    names = ["__".join(parts) for parts in zip([name] * size, *columns, strict=True)]
    uppers = [None] * size if upper is None else [float(u) for u in upper]
    variables = np.empty(size, dtype=object)
    variables[:] = [
        problem.add_variable(label, lowBound=0, upBound=bound, cat=category)
        for label, bound in zip(names, uppers, strict=True)
    ]
    ids = np.fromiter(itertools.islice(_CREATION, size), np.int64, size)
    return VariableFamily(name, index, variables, ids)


def _axis_names(data: ModelData) -> dict[str, list[str]]:
    """The labels along each model axis (``s, k, w, t, o``)."""
    return {
        "s": data.skus,
        "k": data.sites,
        "w": data.workloads,
        "t": [str(p) for p in data.periods],
        "o": data.scenarios,
    }


def _labels(data: ModelData, axes: str) -> list[list[str]]:
    by_axis = _axis_names(data)
    return [safe_labels(by_axis[a]) for a in axes]


def _grid(*sizes: int) -> list[np.ndarray]:
    return [g.ravel() for g in np.indices(sizes)]


def define_buy(problem: pulp.LpProblem, data: ModelData) -> VariableFamily:
    """``n_{s,k,t}``: integer lots ordered; only orders that arrive by ``T-1`` exist."""
    s, k, t = _grid(len(data.skus), len(data.sites), data.horizon)
    arrives = t + data.lead_time[s] <= data.horizon - 1
    index = {"s": s[arrives], "k": k[arrives], "t": t[arrives]}
    return _variables(problem, "buy", _labels(data, "skt"), index, category=pulp.LpInteger)


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


def define_serve(problem: pulp.LpProblem, data: ModelData, installed: Terms) -> VariableFamily:
    """``x_{s,k,w,t,ω}``: only where SKU ``s`` can serve ``w`` and units may be installed."""
    S, K, W, T, N = (
        len(data.skus),
        len(data.sites),
        len(data.workloads),
        data.horizon,
        len(data.scenarios),
    )
    possible = data.fleet > 0
    possible[installed.keys["s"], installed.keys["k"], installed.keys["t"]] = True
    s, k, w, t, o = _grid(S, K, W, T, N)
    keep = (data.factor[s, w] > 0) & possible[s, k, t]
    index = {"s": s[keep], "k": k[keep], "w": w[keep], "t": t[keep], "o": o[keep]}
    return _variables(problem, "serve", _labels(data, "skwto"), index)


def define_rent(problem: pulp.LpProblem, data: ModelData) -> VariableFamily:
    """``r_{w,t,ω}`` with ``r <= rcap_{w,t}`` as its bound; none where no rent is offered."""
    w, t, o = _grid(len(data.workloads), data.horizon, len(data.scenarios))
    keep = data.rent_cap[w, t] > 0
    index = {"w": w[keep], "t": t[keep], "o": o[keep]}
    upper = data.rent_cap[index["w"], index["t"]]
    return _variables(problem, "rent", _labels(data, "wto"), index, upper=upper)


def define_unmet(problem: pulp.LpProblem, data: ModelData) -> VariableFamily:
    """``u_{w,t,ω}``: demand left unserved (priced at the shortfall penalty); none when
    shortfall is forbidden."""
    w, t, o = _grid(len(data.workloads), data.horizon, len(data.scenarios))
    keep = np.full(len(w), not data.forbid_shortfall)
    index = {"w": w[keep], "t": t[keep], "o": o[keep]}
    return _variables(problem, "unmet", _labels(data, "wto"), index)


def _add(
    model: PlanModel,
    family: str,
    groups: Iterator[tuple[tuple[int, ...], pulp.LpAffineExpression]],
    axes: str,
    build: Callable[[tuple[int, ...], pulp.LpAffineExpression], pulp.LpConstraint | None],
) -> None:
    labels = _labels(model.data, axes)
    rows = model.rows.setdefault(family, [])
    model.axes[family] = axes
    for key, expression in groups:
        constraint = build(key, expression)
        if constraint is None:
            continue
        name = "__".join([family, *(labels[a][i] for a, i in enumerate(key))])
        if family in model.elastic:
            widen = model.problem.add_variable(f"relax__{name}", lowBound=0)
            # <= rows may exceed their right-hand side by it, >= rows fall short by it.
            constraint.addInPlace(constraint.sense * widen)
            model.relaxations.setdefault(family, []).append((key, widen))
        model.problem.addConstraint(constraint, name)
        rows.append((key, constraint))
    model.constraint_families[family] = len(rows)


def _tile(terms: Terms, times: int, keys: dict[str, np.ndarray]) -> Terms:
    rows = np.tile(np.arange(len(terms.variables)), times)
    return terms.take(rows, keys)


def define_split(model: PlanModel) -> None:
    """``Σ_w x_{s,k,w,t,ω} <= I_{s,k,t}`` for every scenario."""
    data, serve, installed = model.data, model.serve, model.installed
    scenarios = len(data.scenarios)
    # Installed terms enter every scenario's split with coefficient -1.
    tiled = _tile(
        installed.scaled(-installed.coef),
        scenarios,
        {
            **{axis: np.tile(installed.keys[axis], scenarios) for axis in ("s", "k", "t")},
            "o": np.repeat(np.arange(scenarios), len(installed.variables)),
        },
    )
    served = Terms.of(serve.index, serve, np.ones(len(serve)))
    keys = {axis: np.r_[serve.index[axis], tiled.keys[axis]] for axis in ("s", "k", "t", "o")}
    terms = Terms.concat(keys, [served, tiled])
    serving = set(zip(serve.index["s"], serve.index["k"], serve.index["t"], strict=True))

    def build(key: tuple[int, ...], lhs: pulp.LpAffineExpression) -> pulp.LpConstraint | None:
        s, k, t, _ = key
        if (s, k, t) not in serving:
            return None  # nothing serves from these units: the bound is vacuous
        return lhs <= float(data.fleet[s, k, t])

    _add(model, "split", terms.grouped("s", "k", "t", "o"), "skto", build)


def define_demand(model: PlanModel) -> None:
    """``Σ_{s,k} f_{s,w} x + r + u >= D_{w,t,ω}``."""
    data, serve, rent, unmet = model.data, model.serve, model.rent, model.unmet
    parts = [
        Terms.of({}, serve, data.factor[serve.index["s"], serve.index["w"]]),
        Terms.of({}, rent, np.ones(len(rent))),
        Terms.of({}, unmet, np.ones(len(unmet))),
    ]
    keys = {
        axis: np.r_[serve.index[axis], rent.index[axis], unmet.index[axis]]
        for axis in ("w", "t", "o")
    }
    _add(
        model,
        "demand",
        Terms.concat(keys, parts).grouped("w", "t", "o"),
        "wto",
        lambda key, lhs: lhs >= float(data.demand[key]),
    )


def define_power(model: PlanModel) -> None:
    """``Σ_s p_s pue_k I_{s,k,t} <= Pcap_{k,t}`` (the fleet's draw moves to the right)."""
    data, installed = model.data, model.installed
    kw = data.facility_kw
    fleet_draw = np.einsum("skt,sk->kt", data.fleet, kw)
    terms = installed.scaled(installed.coef * kw[installed.keys["s"], installed.keys["k"]])
    _add(
        model,
        "power",
        terms.grouped("k", "t"),
        "kt",
        lambda key, lhs: lhs <= float(data.power_cap[key] - fleet_draw[key]),
    )


def define_slots(model: PlanModel) -> None:
    """``Σ_s I_{s,k,t} <= slots_k`` where ``slots`` is given."""
    data, installed = model.data, model.installed
    fleet_units = data.fleet.sum(axis=0)

    def build(key: tuple[int, ...], lhs: pulp.LpAffineExpression) -> pulp.LpConstraint | None:
        k, t = key
        if not np.isfinite(data.slots[k]):
            return None
        return lhs <= float(data.slots[k] - fleet_units[k, t])

    _add(model, "slots", installed.grouped("k", "t"), "kt", build)


def _capex_terms(data: ModelData, buy: VariableFamily) -> Terms:
    """``c_{s,t} L_s n_{s,k,t}`` keyed by order period (undiscounted)."""
    s, t = buy.index["s"], buy.index["t"]
    return Terms.of({"t": t}, buy, data.price[s, t] * data.lot_size[s])


def define_budget(model: PlanModel) -> None:
    """``Σ c L n <= B_t``; with carryover, cumulative spend <= cumulative budget."""
    data = model.data
    capex = _capex_terms(data, model.buy)
    if data.carryover:
        # Each order counts in its own period and every later one.
        counts = data.horizon - capex.keys["t"]
        owner = np.repeat(np.arange(len(capex.variables)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        capex = capex.take(owner, {"t": capex.keys["t"][owner] + offset})
        limit = np.cumsum(data.budget)
    else:
        limit = data.budget
    _add(model, "budget", capex.grouped("t"), "t", lambda key, lhs: lhs <= float(limit[key[0]]))


def define_supply(model: PlanModel) -> None:
    """``Σ_k L_s n_{s,k,t} <= max_units_{s,t}`` where a vendor allocation is given."""
    data, buy = model.data, model.buy
    s, t = buy.index["s"], buy.index["t"]
    terms = Terms.of({"s": s, "t": t}, buy, data.lot_size[s])

    def build(key: tuple[int, ...], lhs: pulp.LpAffineExpression) -> pulp.LpConstraint | None:
        if not np.isfinite(data.supply[key]):
            return None
        return lhs <= float(data.supply[key])

    _add(model, "supply", terms.grouped("s", "t"), "st", build)


def _stage_costs(model: PlanModel) -> tuple[Terms, Terms]:
    """The discounted cost as terms: first stage (orders and the energy of what they
    install, less the terminal value) and second stage (rent and shortfall) keyed by
    scenario ``o``, not yet weighted by probability."""
    data = model.data
    buy, rent, unmet, installed = model.buy, model.rent, model.unmet, model.installed
    capex = _capex_terms(data, buy)
    first = [
        capex.scaled(data.discount[capex.keys["t"]] * capex.coef),
        installed.scaled(
            data.discount[installed.keys["t"]]
            * installed.coef
            * data.energy_per_unit[installed.keys["s"], installed.keys["k"]]
        ),
    ]
    if data.terminal_value:
        credit = data.terminal_credit[buy.index["s"], buy.index["t"]]
        first.append(capex.scaled(-capex.coef * credit))
    second = [
        Terms.of(
            {},
            rent,
            data.discount[rent.index["t"]] * data.rent_price[rent.index["w"], rent.index["t"]],
        ),
        Terms.of({}, unmet, data.discount[unmet.index["t"]] * data.penalty[unmet.index["w"]]),
    ]
    size = sum(len(p.variables) for p in first)
    scenario = np.r_[rent.index["o"], unmet.index["o"]].astype(int)
    return (
        Terms.concat({"all": np.zeros(size, dtype=int)}, first),
        Terms.concat({"o": scenario}, second),
    )


def define_objective(model: PlanModel) -> None:
    """Discounted capex + energy on installed units (- terminal value) + expected rent
    and shortfall; with ``risk: cvar``, ``(1 - w) E[C] + w CVaR_α(C)`` in the
    Rockafellar–Uryasev form: ``CVaR = min_η η + E[(C_ω - η)+] / (1 - α)``."""
    data = model.data
    first, second = _stage_costs(model)
    # The existing fleet's energy is part of the objective (DESIGN §4.4) but fixed: it is
    # the objective's constant (HiGHS gets it as its offset, so its gap is the whole cost's).
    model.objective_constant = float(
        np.einsum("skt,sk,t->", data.fleet, data.energy_per_unit, data.discount)
    )
    w = data.cvar_weight
    expected = [first, second.scaled(second.coef * data.probability[second.keys["o"]])]
    parts = [p.scaled(p.coef * (1 - w)) for p in expected] if w > 0 else expected
    if w > 0:
        parts.extend(_define_cvar(model, first, second))
    size = sum(len(p.variables) for p in parts)
    terms = Terms.concat({"all": np.zeros(size, dtype=int)}, parts)
    objective = next(terms.grouped("all"), ((0,), pulp.LpAffineExpression()))[1]
    # With CVaR, the threshold η carries the rest of the constant (its rows' right side).
    objective.constant = (1 - w) * model.objective_constant
    model.problem.setObjective(objective)


def _define_cvar(model: PlanModel, first: Terms, second: Terms) -> list[Terms]:
    """``η`` and ``z_ω >= C_ω - η``; returns the objective terms ``w (η + Σ π z / (1-α))``."""
    data = model.data
    N = len(data.scenarios)
    threshold = _variables(model.problem, "cvar_threshold", [["var"]], {"a": np.zeros(1, int)})
    excess = _variables(model.problem, "cvar_excess", _labels(data, "o"), {"o": np.arange(N)})
    # z_ω + η - (first-stage cost) - (second-stage cost of ω) >= energy of the fleet
    scenarios = np.arange(N)
    tiled_first = _tile(
        first.scaled(-first.coef), N, {"o": np.repeat(scenarios, len(first.variables))}
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
    _add(
        model,
        "cvar",
        Terms.concat(keys, parts).grouped("o"),
        "o",
        lambda key, lhs: lhs >= model.objective_constant,
    )
    w, alpha = data.cvar_weight, data.cvar_alpha
    return [
        Terms.of({}, threshold, np.full(1, w)),
        Terms.of({}, excess, w * data.probability / (1 - alpha)),
    ]


def define_service_level(model: PlanModel) -> None:
    """Chance constraints: for each workload ``w`` with a level ``p_w`` and period ``t``,
    binaries ``m_{w,t,ω}`` with ``u_{w,t,ω} <= D_{w,t,ω} (1 - m_{w,t,ω})`` and
    ``Σ_ω π_ω m_{w,t,ω} >= p_w``: demand is met in scenarios of probability ``p_w``."""
    data, unmet = model.data, model.unmet
    if data.service_level is None or len(unmet) == 0:
        return
    level = data.service_level
    rows = np.flatnonzero(np.isfinite(level[unmet.index["w"]]))
    index = {axis: unmet.index[axis][rows] for axis in ("w", "t", "o")}
    met = _variables(model.problem, "met", _labels(data, "wto"), index, category=pulp.LpBinary)
    # u_{w,t,ω} + D_{w,t,ω} m_{w,t,ω} <= D_{w,t,ω}
    demand = data.demand[index["w"], index["t"], index["o"]]
    parts = [Terms.of({}, unmet, np.ones(len(unmet))).take(rows, {}), Terms.of({}, met, demand)]
    keys = {axis: np.r_[index[axis], index[axis]] for axis in ("w", "t", "o")}
    _add(
        model,
        "met",
        Terms.concat(keys, parts).grouped("w", "t", "o"),
        "wto",
        lambda key, lhs: lhs <= float(data.demand[key]),
    )
    probability = Terms.of(index, met, data.probability[index["o"]])
    _add(
        model,
        "service_level",
        probability.grouped("w", "t"),
        "wt",
        lambda key, lhs: lhs >= float(level[key[0]]),
    )


def build_model(
    data: ModelData,
    extra_constraints: ConstraintHook | None = None,
    elastic: frozenset[str] = frozenset(),
) -> PlanModel:
    """Build the complete core model of DESIGN §4 for ``data``.

    With ``elastic`` families (diagnosis), their rows may be violated and the objective is
    instead the total violation: the smallest relaxation of those families that makes
    the rest feasible."""
    with _bulk_creation():
        return _build(data, extra_constraints, elastic)


@contextlib.contextmanager
def _bulk_creation() -> Iterator[None]:
    """Pause the cyclic garbage collector while the model's objects are made.

    A model is hundreds of thousands of new PuLP objects, all kept; the collector would
    walk them again and again (a third of the build time at 20x5x16x4). Reference counting
    still frees whatever is dropped, and the collector runs as before afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(
    data: ModelData, extra_constraints: ConstraintHook | None, elastic: frozenset[str]
) -> PlanModel:
    problem = pulp.LpProblem("capforecast_plan", pulp.LpMinimize)
    buy = define_buy(problem, data)
    installed = define_installed(data, buy)
    model = PlanModel(
        data=data,
        problem=problem,
        buy=buy,
        serve=define_serve(problem, data, installed),
        rent=define_rent(problem, data),
        unmet=define_unmet(problem, data),
        installed=installed,
        elastic=elastic,
    )
    define_split(model)
    define_demand(model)
    define_power(model)
    define_slots(model)
    define_budget(model)
    define_supply(model)
    define_service_level(model)
    define_objective(model)
    if elastic:
        violation = [v for rows in model.relaxations.values() for _, v in rows]
        model.problem.setObjective(pulp.LpAffineExpression((v, 1.0) for v in violation))
    if extra_constraints is not None:
        extra_constraints(model)
    return model


def fix_orders(purchases: pd.DataFrame) -> ConstraintHook:
    """A hook that fixes every order ``n_{s,k,t}`` to the lots of ``purchases`` (a plan's
    ``sku, site, order_period, lots`` table; orders not in it are fixed to 0)."""
    lots = {
        (str(row.sku), str(row.site), str(row.order_period)): float(row.lots)
        for row in purchases.itertuples(index=False)
    }

    def fix(model: PlanModel) -> None:
        data, buy = model.data, model.buy
        left = dict(lots)  # the hook may be called for several models (e.g. a diagnosis)
        for variable, s, k, t in zip(
            buy.variables, buy.index["s"], buy.index["k"], buy.index["t"], strict=True
        ):
            value = left.pop((data.skus[s], data.sites[k], str(data.periods[t])), 0.0)
            variable.lowBound = variable.upBound = value
        if left:
            raise ValueError(f"orders that this model cannot place: {sorted(left)[:3]}")

    return fix


#: Table column of each model axis.
AXIS_COLUMNS = {"s": "sku", "k": "site", "w": "workload", "t": "period", "o": "scenario"}


def row_labels(model: PlanModel, family: str) -> list[dict[str, str]]:
    """The labels of every row of ``family``, in the order of ``model.rows[family]`` (e.g.
    ``{"site": "texas", "period": "2027Q3", ...}``, with an empty string for every axis
    the family does not have)."""
    names = _axis_names(model.data)
    axes = model.axes.get(family, "")
    found = []
    for key, _ in model.rows.get(family, []):
        labels = dict.fromkeys(AXIS_COLUMNS.values(), "")
        for axis, position in zip(axes, key, strict=True):
            labels[AXIS_COLUMNS[axis]] = names[axis][position]
        found.append(labels)
    return found
