"""Errors raised by capforecast.

Every problem found in user input is a :class:`Problem` naming the file, the row and the
column. Loaders collect all problems before raising, so one :class:`InputError` lists every
fix a user must make, not only the first.

Row numbers count as a spreadsheet or an editor does: the header is row 1, so the first
data row of a CSV file is row 2.
"""

from __future__ import annotations

import difflib
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

#: How many problems ``str(InputError)`` prints before summarising the rest.
MAX_PROBLEMS_SHOWN = 50


class CapforecastError(Exception):
    """Base class of every error capforecast raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place of the input.

    Examples
    --------
    >>> str(Problem("catalog.csv", 4, "lot_size", "expected an integer >= 1, got '0.5'"))
    "catalog.csv, row 4, column 'lot_size': expected an integer >= 1, got '0.5'"
    >>> str(Problem("options.yaml", None, None, "not valid YAML"))
    'options.yaml: not valid YAML'
    >>> str(Problem("cut.yaml", 3, "budget.0.change", "not a number"))
    "cut.yaml, line 3, key 'budget.0.change': not a number"
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        yaml = self.file.endswith((".yaml", ".yml"))
        if self.row is not None:
            where.append(f"{'line' if yaml else 'row'} {self.row}")
        if self.column is not None:
            where.append(f"{'key' if yaml else 'column'} '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class InputError(CapforecastError, ValueError):
    """Invalid input: carries every :class:`Problem` found, in file and row order.

    Examples
    --------
    >>> err = InputError([Problem("budget.csv", 3, "capex_budget", "must be >= 0, got -5")])
    >>> len(err.problems)
    1
    >>> print(err)
    1 problem in the input:
      budget.csv, row 3, column 'capex_budget': must be >= 0, got -5
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the input:"
        lines = [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        if count > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {count - MAX_PROBLEMS_SHOWN} more")
        return "\n".join([head, *lines])

    def __str__(self) -> str:
        return self._render()


class ParameterError(CapforecastError, ValueError):
    """A function was called with a parameter outside its allowed values.

    The message names the parameter, the allowed values and what was received.
    """


class FitError(CapforecastError, ValueError):
    """A forecaster cannot fit this series (too short, constant where it needs variation,
    an optimiser that failed): the series' problem, not the caller's. The panel engine
    forecasts such a series with the seasonal naive fallback and says so; any other error
    (a :class:`ParameterError`, a bug) is raised."""


class NotFittedError(CapforecastError, AttributeError):
    """A forecaster was asked to predict before ``fit`` was called."""


class SolverError(CapforecastError, RuntimeError):
    """A solve did not produce a usable plan (raised by ``Plan.raise_for_status``)."""


class SolverUnavailableError(CapforecastError, ImportError):
    """The requested solver back end is not installed."""


class PlanningWarning(UserWarning):
    """A warning of the planning-input checks: the plan is still meaningful, but the input
    looks wrong (a unit mistake, a misspelt name, a derived default worth setting).

    :func:`~capforecast.plan.inputs.build_planning_inputs` keeps these in
    ``inputs.findings`` and also issues each one as a Python warning of this class, so
    ``warnings.simplefilter("error", PlanningWarning)`` turns them into exceptions.
    """


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def warn_planning(message: str) -> None:
    """Issue ``message`` as a :class:`PlanningWarning`, attributed to the first caller
    outside capforecast (the user's line), not to the library's internals."""
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, PlanningWarning, stacklevel=level)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the known name closest to ``name`` (difflib), else ``""``.

    Examples
    --------
    >>> did_you_mean("infrence", ["inference", "training"])
    "did you mean 'inference'?"
    >>> did_you_mean("batch", ["inference", "training"])
    ''
    """
    close = difflib.get_close_matches(name, sorted(set(known) - {name}), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
