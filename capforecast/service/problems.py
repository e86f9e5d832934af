"""What the service says about a bad request or a failed job, bounded in size.

A 2.4 MB upload of bad rows has one problem per bad cell: listed in full, its ``422``
was 109 MB. Every ``422`` the service makes (request validation, uploads, checks against
stored inputs) therefore lists at most :data:`MAX_PROBLEMS` problems and then how many
more there are, every message and place cut short; a value sent is never echoed whole.
A failed job's error is one line: the first problem, and how many others.

Examples
--------
>>> from capforecast.core.errors import InputError, Problem
>>> reply = bounded([problem(["body", "files", "h.csv"], f"bad {n}") for n in range(60)])
>>> len(reply), reply[-1]["msg"]
(51, '... and 10 more problems')
>>> one_line(InputError([Problem("h.csv", 3, "y", "not a number"), Problem("h.csv", 4, "y", "x")]))
"InputError: h.csv, row 3, column 'y': not a number (and 1 more problem)"
>>> one_line(ValueError("first line\\nsecond line"))
'ValueError: first line'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capforecast.core.errors import InputError
from capforecast.core.limits import clipped

#: Problems listed in one reply; the rest are counted.
MAX_PROBLEMS = 50
#: Characters of one message, and of one part of a place (a key sent may be long).
MAX_MESSAGE, MAX_PLACE = 300, 60
#: Parts of one place (``["body", "scenarios", 3, "budget", 0]``).
MAX_DEPTH = 8
#: Characters of a failed job's error.
MAX_ERROR = 500


class Unprocessable(Exception):
    """A request the service will not run: the problems of its ``422`` (the first of
    them, and how many there are in all)."""

    def __init__(self, problems: Sequence[dict[str, Any]], total: int | None = None) -> None:
        super().__init__(f"{total or len(problems)} problems")
        self.problems, self.total = problems, total


def problem(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One entry of a ``422``: where (cut), why (cut) and its type; never the value."""
    place = [clipped(str(p), MAX_PLACE) if not isinstance(p, int) else p for p in loc]
    return {"loc": place[:MAX_DEPTH], "msg": clipped(str(msg), MAX_MESSAGE), "type": kind[:40]}


def bounded(problems: Sequence[dict[str, Any]], total: int | None = None) -> list[dict[str, Any]]:
    """The first :data:`MAX_PROBLEMS` problems, each cut, and a last entry counting the
    rest (of ``total``, when only the first are given)."""
    shown = [problem(p["loc"], p["msg"], p["type"]) for p in problems[:MAX_PROBLEMS]]
    rest = (len(problems) if total is None else total) - len(shown)
    if rest > 0:
        shown.append(problem(["body"], f"... and {_more(rest)}", "too_many_problems"))
    return shown


def _more(count: int) -> str:
    return f"{count} more problem{'s' if count != 1 else ''}"


def one_line(error: BaseException) -> str:
    """A failed job's error: the error's first line (an :class:`InputError`'s first
    problem, with the count of the others), cut to :data:`MAX_ERROR` characters."""
    if isinstance(error, InputError) and error.problems:
        rest = len(error.problems) - 1
        more = f" (and {_more(rest)})" if rest else ""
        return f"InputError: {clipped(str(error.problems[0]), MAX_ERROR - 60)}{more}"
    lines = str(error).strip().splitlines()
    return clipped(f"{type(error).__name__}: {lines[0] if lines else ''}", MAX_ERROR)


__all__ = ["MAX_PROBLEMS", "Unprocessable", "bounded", "one_line", "problem"]
