"""A mixed-integer linear program as arrays: what the model builds and the solvers take.

``min cost·x + offset`` subject to ``row_lower <= A x <= row_upper``, ``lower <= x <= upper``
and ``x_j`` integer where ``integer[j]``. Columns and rows come in named families
(:class:`Block`): each member of a family is a position along the family's model axes, so
a name such as ``power__texas__2027Q3`` is made only when one is asked for (PuLP export,
CBC). HiGHS takes the arrays as they are.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pulp
import scipy.sparse


@dataclass(frozen=True)
class Block:
    """A family of columns or rows: positions ``start:stop``, and for each member its
    index along the family's ``axes`` (one column of ``keys`` per axis letter)."""

    family: str
    axes: str
    keys: np.ndarray  # shape (stop - start, len(axes))
    start: int
    stop: int

    @property
    def positions(self) -> np.ndarray:
        """The column or row positions of the family's members."""
        return np.arange(self.start, self.stop)


@dataclass(frozen=True)
class Rows:
    """Rows in compressed form: each row's ``keys``, its number of terms (``lengths``),
    and the terms' ``columns`` and ``coef`` one row after another."""

    keys: np.ndarray
    lengths: np.ndarray
    columns: np.ndarray
    coef: np.ndarray

    def summed(self) -> Rows:
        """The same rows with each row's terms sorted by column and a column repeated in a
        row summed into one term (HiGHS refuses a row that names a column twice). Rows
        already in that form (all the model's families) are returned as they are."""
        row = np.repeat(np.arange(len(self.lengths)), self.lengths)
        ascending = (np.diff(self.columns) > 0) | (np.diff(row) > 0)
        if ascending.all():
            return self
        order = np.lexsort([self.columns, row])
        row, columns = row[order], self.columns[order]
        first = np.r_[True, (np.diff(row) != 0) | (np.diff(columns) != 0)]
        starts = np.flatnonzero(first)
        coef = np.add.reduceat(self.coef[order], starts) if len(starts) else self.coef[:0]
        lengths = np.bincount(row[starts], minlength=len(self.lengths))
        return Rows(self.keys, lengths, columns[starts], coef)

    def where(self, keep: np.ndarray) -> Rows:
        """Only the rows where ``keep``."""
        terms = np.repeat(keep, self.lengths)
        return Rows(self.keys[keep], self.lengths[keep], self.columns[terms], self.coef[terms])


class Program:
    """The program, grown family by family; ``labels`` are the names along each axis.

    Examples
    --------
    >>> program = Program({"t": ["q1", "q2"]})
    >>> buy = program.add_columns("buy", "t", np.array([[0], [1]]), integer=True)
    >>> rows = Rows(np.array([[0]]), np.array([2]), buy, np.array([3.0, 5.0]))
    >>> limit = np.array([10.0])
    >>> block = program.add_rows("budget", "t", rows, lower=-np.inf * limit, upper=limit)
    >>> program.set_objective(buy, np.array([-1.0, -1.0]))
    >>> program.row_names(), program.column_names()
    (['budget__q1'], ['buy__q1', 'buy__q2'])
    >>> program.activity(np.array([1.0, 1.0])).tolist()
    [8.0]
    """

    def __init__(self, labels: dict[str, list[str]]) -> None:
        self.labels = {axis: np.asarray(names, dtype=object) for axis, names in labels.items()}
        self.lower = np.zeros(0)
        self.upper = np.zeros(0)
        self.integer = np.zeros(0, dtype=bool)
        self.cost = np.zeros(0)
        self.offset = 0.0
        self.row_lower = np.zeros(0)
        self.row_upper = np.zeros(0)
        #: Groups of binary columns of which exactly one is 1 (a cluster's pools and "not
        #: placed"): the HiGHS back end fixes each group to one choice before rounding.
        self.choices: list[np.ndarray] = []
        self.column_blocks: list[Block] = []
        self.row_blocks: list[Block] = []
        self._parts: list[Rows] = []
        self._matrix: scipy.sparse.csr_array | None = None

    @property
    def num_columns(self) -> int:
        return len(self.lower)

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)

    def add_columns(
        self,
        family: str,
        axes: str,
        keys: np.ndarray,
        *,
        upper: np.ndarray | None = None,
        integer: bool = False,
    ) -> np.ndarray:
        """Non-negative columns, one per row of ``keys``; returns their positions."""
        size = len(keys)
        start = self.num_columns
        self.column_blocks.append(Block(family, axes, keys, start, start + size))
        self.lower = np.r_[self.lower, np.zeros(size)]
        self.upper = np.r_[self.upper, np.full(size, np.inf) if upper is None else upper]
        self.integer = np.r_[self.integer, np.full(size, integer)]
        self.cost = np.r_[self.cost, np.zeros(size)]
        return np.arange(start, start + size)

    def add_rows(
        self, family: str, axes: str, rows: Rows, *, lower: np.ndarray, upper: np.ndarray
    ) -> Block:
        """Rows ``lower <= Σ coef · x[columns] <= upper`` (a column named twice in a row
        counts once, with its coefficients summed); returns their block."""
        rows = rows.summed()
        start = self.num_rows
        block = Block(family, axes, rows.keys, start, start + len(rows.lengths))
        self.row_blocks.append(block)
        self._parts.append(rows)
        self.row_lower = np.r_[self.row_lower, lower]
        self.row_upper = np.r_[self.row_upper, upper]
        self._matrix = None
        return block

    def add_row(
        self,
        name: str,
        columns: np.ndarray,
        coef: np.ndarray,
        *,
        lower: float = -np.inf,
        upper: float = np.inf,
    ) -> Block:
        """One row ``lower <= Σ coef · x[columns] <= upper`` called ``name`` (for a
        user's own constraint)."""
        rows = Rows(
            np.zeros((1, 0), dtype=np.int64),
            np.array([len(columns)]),
            np.asarray(columns, dtype=np.int64),
            np.asarray(coef, dtype=float),
        )
        return self.add_rows(name, "", rows, lower=np.array([lower]), upper=np.array([upper]))

    def set_objective(self, columns: np.ndarray, coef: np.ndarray, offset: float = 0.0) -> None:
        """The objective ``Σ coef · x[columns] + offset`` (repeated columns add up)."""
        self.cost = np.bincount(columns, weights=coef, minlength=self.num_columns).astype(float)
        self.offset = float(offset)

    def matrix(self) -> scipy.sparse.csr_array:
        """The constraint matrix ``A``, one row per row of the program."""
        if self._matrix is None:
            lengths = np.concatenate([p.lengths for p in self._parts] or [np.zeros(0, int)])
            starts = np.r_[0, np.cumsum(lengths)]
            columns = np.concatenate([p.columns for p in self._parts] or [np.zeros(0, int)])
            coef = np.concatenate([p.coef for p in self._parts] or [np.zeros(0)])
            self._matrix = scipy.sparse.csr_array(
                (coef, columns, starts), shape=(self.num_rows, self.num_columns)
            )
        return self._matrix

    def copy(self) -> Program:
        """A copy whose bounds, costs and rows can change without touching this one."""
        other = copy.copy(self)
        for name in ("lower", "upper", "integer", "cost", "row_lower", "row_upper"):
            setattr(other, name, getattr(self, name).copy())
        other.column_blocks, other.row_blocks = list(self.column_blocks), list(self.row_blocks)
        other.choices = list(self.choices)
        other._parts = list(self._parts)
        return other

    def value(self, values: np.ndarray) -> float:
        """The objective at ``values``."""
        return float(self.cost @ values + self.offset)

    def activity(self, values: np.ndarray) -> np.ndarray:
        """``A x`` at ``values``."""
        return self.matrix() @ values

    def violation(self, values: np.ndarray) -> float:
        """The largest violation of any row, bound or integrality at ``values``."""
        activity = self.activity(values)
        integral = np.abs(values - np.rint(values))[self.integer]
        return float(
            max(
                np.max(self.row_lower - activity, initial=0.0),
                np.max(activity - self.row_upper, initial=0.0),
                np.max(self.lower - values, initial=0.0),
                np.max(values - self.upper, initial=0.0),
                np.max(integral, initial=0.0),
            )
        )

    def _names(self, blocks: list[Block]) -> list[str]:
        names: list[str] = []
        for block in blocks:
            joined = np.full(block.stop - block.start, block.family, dtype=object)
            for position, axis in enumerate(block.axes):
                joined = joined + "__" + self.labels[axis][block.keys[:, position]]
            names.extend(joined.tolist())
        return names

    def column_names(self) -> list[str]:
        """``family__label__label...`` of every column, in order."""
        return self._names(self.column_blocks)

    def row_names(self) -> list[str]:
        """``family__label__label...`` of every row, in order."""
        return self._names(self.row_blocks)

    def to_pulp(self, name: str = "capforecast_plan") -> tuple[pulp.LpProblem, list]:
        """The same program as a PuLP problem (for CBC, or to write an LP or MPS file),
        and its variables in column order. A row with both bounds finite and different
        becomes two constraints, ``name__lower`` and ``name__upper``."""
        problem = pulp.LpProblem(name, pulp.LpMinimize)

        def bound(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None

        variables = [
            problem.add_variable(
                column,
                lowBound=bound(lo),
                upBound=bound(up),
                cat=pulp.LpInteger if whole else pulp.LpContinuous,
            )
            for column, lo, up, whole in zip(
                self.column_names(), self.lower, self.upper, self.integer, strict=True
            )
        ]
        used = np.flatnonzero(self.cost)
        problem.setObjective(
            pulp.LpAffineExpression(
                [(variables[j], float(self.cost[j])) for j in used], constant=self.offset
            )
        )
        matrix = self.matrix()
        for i, row in enumerate(self.row_names()):
            terms = slice(matrix.indptr[i], matrix.indptr[i + 1])
            expression = pulp.LpAffineExpression(
                zip(
                    [variables[j] for j in matrix.indices[terms].tolist()],
                    matrix.data[terms].tolist(),
                    strict=True,
                )
            )
            lo, up = float(self.row_lower[i]), float(self.row_upper[i])
            if lo == up:
                problem.addConstraint(expression == lo, row)
            elif np.isfinite(lo) and np.isfinite(up):
                problem.addConstraint(expression >= lo, f"{row}__lower")
                problem.addConstraint(expression <= up, f"{row}__upper")
            elif np.isfinite(lo):
                problem.addConstraint(expression >= lo, row)
            elif np.isfinite(up):
                problem.addConstraint(expression <= up, row)
        return problem, variables
