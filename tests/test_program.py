"""The array layer under the planning model: rows as given, copies apart, every HiGHS
call checked, and an objective of 0 a plan like any other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capforecast.plan import highs
from capforecast.plan.highs_process import HighsError, HighsProblem
from capforecast.plan.program import Program, Rows
from capforecast.plan.status import PlanStatus


def _two_lots() -> Program:
    """min x0 + 1.5 x1, integer, with ``x0 + x0 + x1 >= 3`` written with x0 twice."""
    program = Program({})
    x = program.add_columns("x", "", np.zeros((2, 0), dtype=int), integer=True)
    program.add_row("need", np.array([0, 0, 1]), np.array([1.0, 1.0, 1.0]), lower=3.0)
    program.set_objective(x, np.array([1.0, 1.5]))
    return program


def test_a_column_repeated_in_a_row_is_summed() -> None:
    """2 x0 + x1 >= 3: the optimum is x0 = 2 at a cost of 2 (x0 = 1, x1 = 1 costs 2.5).
    HiGHS refused the row with x0 twice and solved an empty model "optimal" at 0."""
    program = _two_lots()
    outcome = highs.solve(program, mip_gap=0.0, time_limit_s=10.0)
    assert outcome.status is PlanStatus.OPTIMAL
    assert outcome.objective == pytest.approx(2.0)
    assert outcome.values is not None and outcome.values.tolist() == pytest.approx([2.0, 0.0])
    matrix = program.matrix()
    assert matrix.indices.tolist() == [0, 1] and matrix.data.tolist() == [2.0, 1.0]
    problem, variables = program.to_pulp()
    row = problem.get_constraint_by_name("need")
    assert [row[v] for v in variables] == [2.0, 1.0]  # PuLP's export too


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), max_size=8),
        min_size=1,
        max_size=6,
    )
)
def test_summed_rows_keep_every_row_activity(rows: list[list[tuple[int, int]]]) -> None:
    """Whatever the order and repeats of a row's terms, ``A x`` is the sum of its terms."""
    lengths = np.array([len(r) for r in rows])
    columns = np.array([c for r in rows for c, _ in r], dtype=np.int64)
    coef = np.array([v for r in rows for _, v in r], dtype=float)
    summed = Rows(np.zeros((len(rows), 0), dtype=np.int64), lengths, columns, coef).summed()
    x = np.arange(1.0, 7.0) ** 2
    expected = [sum(v * x[c] for c, v in r) for r in rows]
    starts = np.r_[0, np.cumsum(summed.lengths)]
    got = [float(summed.coef[a:b] @ x[summed.columns[a:b]]) for a, b in itertools.pairwise(starts)]
    assert got == pytest.approx(expected)
    for a, b in itertools.pairwise(starts):
        assert np.all(np.diff(summed.columns[a:b]) > 0)  # sorted, each column once


def test_highs_refusing_a_call_is_an_error_not_an_empty_optimum() -> None:
    program = _two_lots()
    arrays = highs.arrays(program)
    repeated = {**arrays, "start": np.array([0, 3]), "index": np.array([0, 0, 1])}
    repeated["value"] = np.array([1.0, 1.0, 1.0])
    with pytest.raises(HighsError, match="refused the model"):
        HighsProblem(repeated)


def test_a_failed_run_is_an_error() -> None:
    program = Program({})
    y = program.add_columns("y", "", np.zeros((1, 0), dtype=int))
    program.add_row("r", y, np.array([np.nan]), lower=1.0)
    outcome = highs.solve(program, mip_gap=0.0, time_limit_s=10.0)
    assert outcome.status is PlanStatus.ERROR and outcome.values is None


def test_a_copy_has_its_own_row_bounds() -> None:
    program = _two_lots()
    other = program.copy()
    other.row_lower[0] = 5.0
    other.upper[0] = 1.0
    assert program.row_lower[0] == 3.0 and np.isinf(program.upper[0])


def test_an_objective_of_zero_is_a_plan() -> None:
    """A plan costing exactly 0 beats no plan and ties with another plan at 0."""
    zero = highs.Phase(None, "", np.zeros(1), 0.0, 0.0)
    nothing = highs.Phase(None, "", None, None, None)
    costly = highs.Phase(None, "", np.ones(1), 5.0, 0.0)
    assert highs._better(zero, nothing) and not highs._better(nothing, zero)
    assert highs._better(zero, costly) and not highs._better(costly, zero)
    program = Program({})
    x = program.add_columns("x", "", np.zeros((2, 0), dtype=int), integer=True)
    program.add_row("r", x, np.array([1.0, -1.0]), lower=0.0)
    program.set_objective(x, np.array([1.0, -1.0]))
    outcome = highs.solve(program, mip_gap=0.0, time_limit_s=10.0)
    assert outcome.status is PlanStatus.OPTIMAL and outcome.objective == 0.0
