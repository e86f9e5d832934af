"""The analyst's own rules: labelled quantities of the planning model, combined with
arithmetic into named constraints (docs/rules.md).

A rule reads as the sentence it stands for::

    installed(sku="B200", site="oregon", periods="2027Q4") >= 500
    capex(vendor="nvidia", periods="2027").sum() <= 0.6 * capex(periods="2027").sum()

Quantities are selected by label (``sku``, ``site``, ``vendor``, ``workload``,
``region``, and ``periods`` as scenario files write them: ``"2027"``,
``"2027Q1..2027Q4"``). A quantity over several periods has one row per period; ``.sum()``
makes it one total. A rule is written once, as text (a scenario's ``constraints:``, a
planning folder's ``constraints.yaml``) or in Python (``solve(inputs, rules=...)``, a
function that receives a :class:`RuleModel`); both compile to the same rows over the
model's arrays, added as a constraint family named after the rule. So a rule is priced
in ``binding.csv``, relaxed by the diagnosis and reported in ``rules.csv`` like any other
family.

Text is parsed with :mod:`ast` and walked node by node: only numbers, the quantities,
``binary("name")``, ``.sum()``, ``+ - * /`` and one comparison are allowed, and nothing
is ever evaluated as Python.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import clipped, shown
from capforecast.core.periods import select_periods
from capforecast.plan.program import Rows

if TYPE_CHECKING:
    from capforecast.plan.model import PlanModel

#: The file name of a planning folder's rules.
FILE = "constraints.yaml"

#: Each quantity: its unit, the selectors it takes, and what it is.
QUANTITIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "lots": (
        "lots",
        ("sku", "site", "vendor", "region", "periods"),
        "lots ordered, by order period",
    ),
    "units": (
        "accelerators",
        ("sku", "site", "vendor", "region", "periods"),
        "accelerators ordered, by order period",
    ),
    "capex": (
        "USD",
        ("sku", "site", "vendor", "region", "periods"),
        "capex of orders at their order price, undiscounted, by the period it is charged "
        "(capex_timing)",
    ),
    "installed": (
        "accelerators",
        ("sku", "site", "vendor", "region", "periods"),
        "accelerators installed (fleet after early retirements, plus orders in service)",
    ),
    "allocation": (
        "accelerators",
        ("sku", "site", "vendor", "workload", "region", "periods"),
        "accelerators serving demand, expected over scenarios; region is the demand's",
    ),
    "power": ("kW", ("site", "region", "periods"), "facility kW drawn by installed units"),
}

#: Names of the model's own families (rows and columns), whether or not a model has them:
#: no rule may take one.
RESERVED = frozenset(
    {
        "split", "cluster", "retire", "demand", "power", "slots", "budget", "supply",
        "supply_min", "min_lots", "order_size", "vendor_max", "vendor_min", "offer_limit",
        "met", "service_level", "cvar", "relax", "stable_share", "buy", "serve", "rent",
        "unmet", "place", "unplaced", "sign", "order", "binary", "cvar_threshold",
        "cvar_excess",
    }
)  # fmt: skip

#: Bounds on one rule's text (characters, and nodes of its syntax tree).
MAX_TEXT = 2000
MAX_NODES = 400

NAMING = "a letter, then letters, digits and single _ (at most 64 characters)"

#: A rule's (or a binary's) name: it names rows and columns, also in an LP file.
_NAME = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Rule:
    """A named rule as text, and where it was read (for messages)."""

    name: str
    text: str
    source: str = FILE
    line: int | None = None

    def problem(self, message: str) -> Problem:
        return Problem(self.source, self.line, f"constraints.{self.name}", message)


@dataclass(frozen=True, eq=False)
class Expression:
    """A linear expression over the program's columns: one row per period of ``periods``
    (indices into the horizon), or one total when ``periods`` is None. Each term is
    ``coef · x[column]`` in row ``row``; ``constant`` is per row."""

    periods: np.ndarray | None
    row: np.ndarray
    columns: np.ndarray
    coef: np.ndarray
    constant: np.ndarray
    unit: str

    @property
    def size(self) -> int:
        return 1 if self.periods is None else len(self.periods)

    def sum(self) -> Expression:
        """The total over its periods."""
        return Expression(
            None,
            np.zeros(len(self.columns), dtype=np.int64),
            self.columns,
            self.coef,
            np.array([self.constant.sum()]),
            self.unit,
        )

    def _scaled(self, factor: float) -> Expression:
        with np.errstate(over="ignore"):  # (an infinite coefficient is refused by add)
            coef, constant = self.coef * factor, self.constant * factor
        return Expression(self.periods, self.row, self.columns, coef, constant, self.unit)

    def _spread(self, periods: np.ndarray) -> Expression:
        """A total repeated in every row of ``periods``."""
        n, size = len(periods), len(self.columns)
        return Expression(
            periods,
            np.repeat(np.arange(n), size),
            np.tile(self.columns, n),
            np.tile(self.coef, n),
            np.repeat(self.constant, n),
            self.unit,
        )

    def __add__(self, other: object) -> Expression:
        if isinstance(other, int | float) and not isinstance(other, bool):
            return Expression(
                self.periods, self.row, self.columns, self.coef, self.constant + other, self.unit
            )
        if not isinstance(other, Expression):
            return NotImplemented
        a, b = self, other
        if a.periods is None and b.periods is not None:
            a = a._spread(b.periods)
        elif b.periods is None and a.periods is not None:
            b = b._spread(a.periods)
        elif (
            a.periods is not None
            and b.periods is not None
            and not np.array_equal(a.periods, b.periods)
        ):
            raise ValueError(
                "the two sides have different periods: add .sum() to compare totals, or "
                "select the same periods on both"
            )
        return Expression(
            a.periods,
            np.r_[a.row, b.row],
            np.r_[a.columns, b.columns],
            np.r_[a.coef, b.coef],
            a.constant + b.constant,
            a.unit if a.unit == b.unit else "units",
        )

    __radd__ = __add__

    def __neg__(self) -> Expression:
        return self._scaled(-1.0)

    def __sub__(self, other: object) -> Expression:
        if isinstance(other, Expression | int | float):
            return self + (-other)
        return NotImplemented

    def __rsub__(self, other: object) -> Expression:
        return (-self) + other

    def __mul__(self, other: object) -> Expression:
        if isinstance(other, Expression):
            raise ValueError("a rule is linear: multiply a quantity by a number, not by another")
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self._scaled(float(other))
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Expression:
        if isinstance(other, int | float) and not isinstance(other, bool) and other != 0:
            return self._scaled(1.0 / float(other))
        raise ValueError("a rule is linear: divide a quantity by a non-zero number only")

    def value(self, solution: np.ndarray) -> np.ndarray:
        """Its value in each row at ``solution`` (a solution of the program)."""
        terms = np.bincount(
            self.row, weights=self.coef * solution[self.columns], minlength=self.size
        )
        return terms + self.constant

    def __le__(self, other: object) -> Constraint:
        return Constraint(self, _side(other), "<=")

    def __ge__(self, other: object) -> Constraint:
        return Constraint(self, _side(other), ">=")

    def __eq__(self, other: object) -> Constraint:  # type: ignore[override]
        return Constraint(self, _side(other), "==")

    __hash__ = None  # type: ignore[assignment]


def _side(value: object) -> Expression:
    """The other side of a comparison, a quantity or a number."""
    if isinstance(value, Expression):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        empty = np.zeros(0, dtype=np.int64)
        return Expression(None, empty, empty, np.zeros(0), np.array([float(value)]), "")
    raise ValueError(f"a rule compares quantities and numbers, not {shown(value)}")


@dataclass(frozen=True)
class Constraint:
    """``left`` compared with ``right`` (``<=``, ``>=`` or ``==``), row by row."""

    left: Expression
    right: Expression
    sense: str

    @property
    def expression(self) -> Expression:
        """``left - right``, compared with 0."""
        return self.left - self.right


@dataclass(frozen=True)
class AddedRule:
    """A rule in the model: the unit of its rows and the constraint they stand for."""

    unit: str
    constraint: Constraint


@dataclass
class RuleModel:
    """The built model as labelled quantities, for rules: ``m.installed(sku="B200")``.

    Quantities return :class:`Expression` objects; :meth:`add` adds a named constraint.
    """

    model: PlanModel
    #: The rules added, by name.
    added: dict[str, AddedRule] = field(default_factory=dict)
    _binaries: dict[str, int] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, list[str]]:
        """The names each selector takes (as :attr:`PlanningInputs.labels`)."""
        data = self.model.data
        return {
            "sku": data.skus,
            "site": data.sites,
            "workload": data.workloads,
            "region": data.regions,
            "vendor": sorted({v for v in data.sku_vendor if v}),
        }

    def _pick(self, selector: str, value: object) -> np.ndarray:
        """Indices along ``selector`` of the labels ``value`` names (one or a list; known,
        :func:`_check_selector`)."""
        names = value if isinstance(value, list | tuple) else [value]
        known = self.labels[selector]
        return np.asarray([known.index(str(n)) for n in names], dtype=np.int64)

    def _select(
        self, quantity: str, index: dict[str, np.ndarray], select: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which entries of ``index`` (arrays ``s, k, w, g, t``) the selectors keep."""
        data, labels = self.model.data, self.labels
        for selector, value in select.items():
            _check_selector(quantity, selector, value, labels, data.periods)
        keep = np.ones(len(index["t"]), dtype=bool)
        for selector, value in select.items():
            if selector == "periods":
                keep &= select_periods(value, pd.Series(data.periods))[index["t"]]
            elif selector == "vendor":
                vendors = np.asarray(data.sku_vendor, dtype=object)[index["s"]]
                names = np.asarray(labels["vendor"], dtype=object)[self._pick("vendor", value)]
                keep &= np.isin(vendors, names)
            elif selector == "region" and "g" not in index:
                keep &= np.isin(data.site_region[index["k"]], self._pick("region", value))
            else:
                axis = {"sku": "s", "site": "k", "workload": "w", "region": "g"}[selector]
                keep &= np.isin(index[axis], self._pick(selector, value))
        return keep, self._periods(select)

    def _periods(self, select: dict[str, Any]) -> np.ndarray:
        chosen = select_periods(select.get("periods"), pd.Series(self.model.data.periods))
        return np.flatnonzero(chosen)

    def _expression(
        self,
        quantity: str,
        select: dict[str, Any],
        index: dict[str, np.ndarray],
        columns: np.ndarray,
        coef: np.ndarray,
        constant: np.ndarray | None = None,
    ) -> Expression:
        """The quantity over the entries the selectors keep, one row per selected period;
        ``constant`` is ``[entry]`` (the fleet's part of installed units or power)."""
        try:
            keep, periods = self._select(quantity, index, select)
        except ValueError as error:
            raise ValueError(f"{quantity}({_arguments(select)}): {error}") from None
        has_terms = keep[: len(columns)]
        fixed = np.zeros(len(periods))
        if constant is not None:
            kept = keep[len(columns) :]
            t = index["t"][len(columns) :][kept]
            np.add.at(fixed, np.searchsorted(periods, t), constant[kept])
        if not keep.any():
            raise ValueError(
                f"{quantity}({_arguments(select)}) selects nothing: no such "
                f"{'order' if quantity in ('lots', 'units', 'capex') else 'unit'} can exist "
                "in the model (check the labels, periods and lead times)"
            )
        row = np.searchsorted(periods, index["t"][: len(columns)][has_terms])
        return Expression(
            periods,
            row,
            columns[has_terms],
            coef[has_terms],
            fixed,
            QUANTITIES[quantity][0],
        )

    def _orders(self, quantity: str, select: dict[str, Any]) -> Expression:
        data, buy = self.model.data, self.model.buy
        s, k, t = buy.index["s"], buy.index["k"], buy.index["t"]
        coef = {
            "lots": np.ones(len(buy)),
            "units": data.lot_size[s],
            "capex": data.price[s, t] * data.lot_size[s],
        }[quantity]
        when = data.pay_period(s, t) if quantity == "capex" else t
        return self._expression(quantity, select, {"s": s, "k": k, "t": when}, buy.columns, coef)

    def lots(self, **select: Any) -> Expression:
        """Lots ordered (``n``), by order period."""
        return self._orders("lots", select)

    def units(self, **select: Any) -> Expression:
        """Accelerators ordered (``L n``), by order period."""
        return self._orders("units", select)

    def capex(self, **select: Any) -> Expression:
        """Capex of orders at their order price (``c L n``, USD, undiscounted), by the
        period it is charged in (the order period, or the arrival with ``capex_timing:
        delivery``)."""
        return self._orders("capex", select)

    def _installed(self, quantity: str, select: dict[str, Any], per_unit: np.ndarray) -> Expression:
        """``per_unit[s, k] · I_{s,k,t}``: the decision terms (orders in service, early
        retirements) and the fleet before retirement as the constant."""
        model, data = self.model, self.model.data
        from capforecast.plan.model import installed_terms

        terms = installed_terms(model)
        s, k, t = (g.ravel() for g in np.indices(data.fleet.shape))
        index = {
            axis: np.r_[terms.keys[axis], grid] for axis, grid in (("s", s), ("k", k), ("t", t))
        }
        coef = terms.coef * per_unit[terms.keys["s"], terms.keys["k"]]
        constant = (data.fleet * per_unit[:, :, None]).ravel()
        return self._expression(quantity, select, index, terms.columns, coef, constant)

    def installed(self, **select: Any) -> Expression:
        """Accelerators installed, ``I_{s,k,t}``: the fleet (less early retirements) and
        orders in service."""
        return self._installed("installed", select, np.ones(self.model.data.fleet.shape[:2]))

    def power(self, **select: Any) -> Expression:
        """Facility kW drawn, ``Σ_s p_s pue_k I_{s,k,t}``."""
        return self._installed("power", select, self.model.data.facility_kw)

    def allocation(self, **select: Any) -> Expression:
        """Accelerators serving demand, ``x``, expected over scenarios (probability
        weighted); ``region`` is the region of the demand served."""
        data, serve = self.model.data, self.model.serve
        weight = data.probability[serve.index["o"]]
        return self._expression("allocation", select, serve.index, serve.columns, weight)

    def binary(self, name: str) -> Expression:
        """A 0/1 decision of the rules, ``binary("uses_h200_texas")``: the same name is
        the same variable (for rules such as at most N SKUs per site)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"binary({shown(name)}): {NAMING}")
        if name not in self._binaries:
            program = self.model.program
            column = program.add_columns(
                f"binary__{name}",
                "",
                np.zeros((1, 0), dtype=np.int64),
                upper=np.ones(1),
                integer=True,
            )
            self._binaries[name] = int(column[0])
        column = np.array([self._binaries[name]])
        return Expression(None, np.zeros(1, dtype=np.int64), column, np.ones(1), np.zeros(1), "")

    def cost(self, name: str, expression: Expression) -> None:
        """Add ``expression`` (summed over its periods; USD, as the objective counts
        money: discount it yourself if it should be) to the cost as the component
        ``name``: it is minimised with the rest and reported in ``plan.costs``."""
        from capforecast.plan.model import Cost, Terms

        if not _NAME.match(str(name)) or name in self.model.costs:
            raise ValueError(f"cost name {shown(name)} is taken or malformed")
        if not isinstance(expression, Expression):
            raise ValueError(f"cost {name}: expected a quantity, got {shown(expression)}")
        total = expression.sum()
        terms = Terms({}, total.columns, total.coef)
        self.model.costs[name] = Cost(terms, float(total.constant[0]))

    def add(self, name: str, constraint: Constraint, *, unit: str | None = None) -> None:
        """Add ``constraint`` as the family ``name``: one row per period of its
        expression (``name__2027Q3``), or one row.

        Raises ``ValueError`` naming the rule for a name that is taken or malformed, or a
        bound that is not a finite number."""
        if not _NAME.match(str(name)):
            raise ValueError(f"rule name {shown(name)}: {NAMING}")
        if name in RESERVED or name in self.model.rows or name in self.added:
            raise ValueError(f"rule name {shown(name)} is taken (a rule or a built-in family)")
        if not isinstance(constraint, Constraint):
            raise ValueError(
                f"rule {name}: expected a comparison (<=, >= or ==), got {shown(constraint)}"
            )
        expression = constraint.expression
        bound = -expression.constant
        if not np.isfinite(bound).all():
            raise ValueError(f"rule {name}: its bound is not a finite number")
        if not np.isfinite(expression.coef).all():
            raise ValueError(f"rule {name}: a quantity is multiplied by a number too large")
        lower = bound if constraint.sense in (">=", "==") else np.full(len(bound), -np.inf)
        upper = bound if constraint.sense in ("<=", "==") else np.full(len(bound), np.inf)
        order = np.argsort(expression.row, kind="stable")
        keys = (
            np.zeros((1, 0), dtype=np.int64)
            if expression.periods is None
            else expression.periods[:, None]
        )
        rows = Rows(
            keys,
            np.bincount(expression.row, minlength=expression.size),
            expression.columns[order],
            expression.coef[order],
        )
        from capforecast.plan.model import add_rows

        axes = "" if expression.periods is None else "t"
        add_rows(self.model, name, axes, rows, lower=lower, upper=upper)
        self.added[name] = AddedRule(unit or constraint.left.unit or "units", constraint)


#: A rule in Python: a function that adds constraints to a :class:`RuleModel`.
RuleFunction = Callable[[RuleModel], None]


def _arguments(select: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={shown(value)}" for key, value in select.items())


def parse_rule(rule: Rule) -> ast.Expression:
    """The syntax tree of ``rule``'s text, after checking that it uses only what a rule may
    (raises ``ValueError`` saying what and where)."""
    text = rule.text
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a rule is a comparison such as installed(sku='B200') >= 500")
    if len(text) > MAX_TEXT:
        raise ValueError(f"a rule is at most {MAX_TEXT} characters, this one {len(text)}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a rule: {error.msg} at column {error.offset}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ValueError(f"a rule has at most {MAX_NODES} parts, this one {len(nodes)}")
    body = tree.body
    if not isinstance(body, ast.Compare) or len(body.ops) != 1:
        raise ValueError("a rule is one comparison (<=, >= or ==) of two sides")
    if not isinstance(body.ops[0], ast.LtE | ast.GtE | ast.Eq):
        raise ValueError("compare with <=, >= or == (a strict < or > is not a constraint)")
    for node in nodes:
        if not isinstance(node, _ALLOWED):
            raise ValueError(
                f"{type(node).__name__.lower()} is not allowed in a rule (at column "
                f"{getattr(node, 'col_offset', 0) + 1}): use numbers, the quantities "
                f"{', '.join(QUANTITIES)}, binary('name'), .sum() and + - * /"
            )
        if isinstance(node, ast.Name) and node.id not in (*QUANTITIES, "binary"):
            raise ValueError(f"unknown name {shown(node.id)}; quantities: {', '.join(QUANTITIES)}")
        if isinstance(node, ast.Attribute) and node.attr != "sum":
            raise ValueError(f"unknown method .{clipped(node.attr)}(); only .sum() is allowed")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float | str)
        ):
            raise ValueError(f"{shown(node.value)} is not a number or a label")
        if isinstance(node, ast.Compare) and node is not body:
            raise ValueError("a rule has one comparison, at the top: a <= b, a >= b or a == b")
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name | ast.Attribute):
            raise ValueError("call a quantity by its name, e.g. installed(sku='B200').sum()")
    return tree


_ALLOWED = (
    ast.Expression,
    ast.Compare,
    ast.LtE,
    ast.GtE,
    ast.Eq,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Constant,
    ast.Call,
    ast.Name,
    ast.Attribute,
    ast.keyword,
    ast.List,
    ast.Tuple,
    ast.Load,
)


def _evaluate(node: ast.AST, m: RuleModel) -> Any:
    """The value of a checked syntax tree: numbers, expressions and one constraint."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, m)
    if isinstance(node, ast.Compare):
        left, right = _evaluate(node.left, m), _evaluate(node.comparators[0], m)
        if not isinstance(left, Expression) and not isinstance(right, Expression):
            raise ValueError("a rule compares a quantity, not two numbers")
        if not isinstance(left, Expression):  # 500 <= installed(...)
            flipped = {ast.LtE: ">=", ast.GtE: "<=", ast.Eq: "=="}
            return Constraint(right, _side(left), flipped[type(node.ops[0])])
        sense = {ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "=="}[type(node.ops[0])]
        return Constraint(left, _side(right), sense)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, m), _evaluate(node.right, m)
        operation = {
            ast.Add: "__add__",
            ast.Sub: "__sub__",
            ast.Mult: "__mul__",
            ast.Div: "__truediv__",
        }
        if not isinstance(left, Expression) and not isinstance(right, Expression):
            if not isinstance(left, float) or not isinstance(right, float):
                raise ValueError("arithmetic is on quantities and numbers only")
            if isinstance(node.op, ast.Div) and right == 0:
                raise ValueError("division by zero")
            result = getattr(left, operation[type(node.op)])(right)
            if not np.isfinite(result):
                raise ValueError("arithmetic on numbers gives no finite number")
            return float(result)
        if isinstance(node.op, ast.Add | ast.Mult) and not isinstance(left, Expression):
            left, right = right, left
        elif isinstance(node.op, ast.Sub) and not isinstance(left, Expression):
            return right.__rsub__(left)
        elif isinstance(node.op, ast.Div) and not isinstance(left, Expression):
            raise ValueError("a rule is linear: divide a quantity by a number, not the reverse")
        return getattr(left, operation[type(node.op)])(right)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, m)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            raise ValueError(f"{shown(node.value)}: a label goes in a selector, e.g. sku='B200'")
        try:
            return float(node.value)  # type: ignore[arg-type]
        except OverflowError:
            raise ValueError(f"{shown(node.value)} is too large a number") from None
    if isinstance(node, ast.Call):
        return _call(node, m)
    raise ValueError(f"{type(node).__name__.lower()} cannot stand alone in a rule")


def _call(node: ast.Call, m: RuleModel) -> Expression:
    function = node.func
    if isinstance(function, ast.Attribute):  # .sum()
        if node.args or node.keywords:
            raise ValueError(".sum() takes no arguments")
        value = _evaluate(function.value, m)
        if not isinstance(value, Expression):
            raise ValueError(".sum() is for a quantity, not a number")
        return value.sum()
    assert isinstance(function, ast.Name)
    if function.id == "binary":
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant):
            raise ValueError("binary('name') takes one name")
        return m.binary(node.args[0].value)  # type: ignore[arg-type]
    if node.args:
        raise ValueError(f"{function.id}() takes selectors by name: {function.id}(sku='B200')")
    select = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError("** is not allowed in a rule")
        select[keyword.arg] = _literal(keyword.value)
    return getattr(m, function.id)(**select)


def _literal(node: ast.AST) -> Any:
    """A selector's value: a label or number, or a list of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return node.value
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str | int) for e in node.elts
    ):
        return [e.value for e in node.elts]  # type: ignore[attr-defined]
    raise ValueError("a selector is a label (sku='B200') or a list of labels")


def _check_selector(
    quantity: str,
    selector: str | None,
    value: object,
    labels: Mapping[str, list[str]],
    periods: pd.PeriodIndex,
) -> None:
    """Raise ``ValueError`` when ``quantity`` takes no ``selector``, when ``value`` names a
    label ``labels`` does not have, or when periods select none of the horizon."""
    allowed = QUANTITIES[quantity][1]
    if selector not in allowed:
        raise ValueError(f"{quantity}() takes {', '.join(allowed)}, not {selector}")
    if selector == "periods":
        if not select_periods(value, pd.Series(periods)).any():  # type: ignore[arg-type]
            raise ValueError(f"periods {shown(value)} selects none of the horizon")
        return
    known = labels[selector]
    for name in value if isinstance(value, list | tuple) else [value]:
        if str(name) not in known:
            listed = sorted(clipped(k) for k in known)[:12]
            raise ValueError(f"unknown {selector} {shown(str(name))}; known: {listed}")


def check_labels(
    rule: Rule, labels: Mapping[str, list[str]], periods: pd.PeriodIndex
) -> list[Problem]:
    """Problems of ``rule`` that the inputs alone show: a selector a quantity does not
    take, a label ``labels`` does not have (by selector: ``sku``, ``site``, ...), periods
    that select none of the horizon. (What only the model shows, such as a selection with
    no variable, is found when the rule is compiled.)"""
    problems = []
    for node in ast.walk(parse_rule(rule)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        quantity = node.func.id
        if quantity not in QUANTITIES:
            continue
        for keyword in node.keywords:
            try:
                value = _literal(keyword.value)
                _check_selector(quantity, keyword.arg, value, labels, periods)
            except ValueError as error:
                problems.append(rule.problem(f"{quantity}(): {error}"))
    return problems


def compile_rules(
    model: PlanModel, rules: tuple[Rule, ...], function: RuleFunction | None
) -> dict[str, AddedRule]:
    """Add ``rules`` (text) and then ``function``'s rules to ``model``; returns them by
    name. A rule that cannot be compiled is an :class:`InputError` naming it."""
    m = RuleModel(model)
    for rule in rules:
        try:
            m.add(rule.name, _evaluate(parse_rule(rule), m))
        except (ValueError, ArithmeticError) as error:  # (1/0, 10**400 as a float)
            raise InputError([rule.problem(f"{error}")]) from None
    if function is not None:
        try:
            function(m)
        except ValueError as error:
            raise InputError([Problem("rules (Python)", None, None, str(error))]) from None
    return m.added


def read_rules(path: Any) -> tuple[tuple[Rule, ...], list[Problem]]:
    """``constraints.yaml``: a mapping of rule name to its text (none when the file does
    not exist); never raises."""
    from pathlib import Path

    from capforecast.core.yamlfile import read_yaml

    path = Path(path)
    if not path.is_file():
        return (), []
    try:
        document, lines = read_yaml(path)
    except InputError as error:
        return (), list(error.problems)
    return rules_from(document or {}, FILE, lines)


def rules_from(
    document: object,
    source: str,
    lines: Mapping[tuple[str | int, ...], int] | None = None,
    prefix: tuple[str, ...] = (),
) -> tuple[tuple[Rule, ...], list[Problem]]:
    """Rules from a mapping of name to text (``constraints.yaml``, a scenario's
    ``constraints:``), each parsed; every problem with its line."""
    lines = lines or {}
    if not isinstance(document, Mapping):
        return (), [
            Problem(
                source,
                lines.get(prefix),
                ".".join(prefix) or None,
                "expected a mapping of rule name: rule text",
            )
        ]
    rules, problems = [], []
    for name, text in document.items():
        rule = Rule(
            str(name),
            text if isinstance(text, str) else "",
            source,
            lines.get((*prefix, str(name))),
        )
        if not _NAME.match(str(name)):
            problems.append(rule.problem(f"rule name {shown(str(name))}: {NAMING}"))
            continue
        if not isinstance(text, str):
            problems.append(rule.problem(f"expected the rule as text, got {shown(text)}"))
            continue
        try:
            parse_rule(rule)
        except ValueError as error:
            problems.append(rule.problem(str(error)))
            continue
        rules.append(rule)
    return tuple(rules), problems
