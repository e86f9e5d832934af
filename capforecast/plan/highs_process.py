"""HiGHS runs on a program given as arrays, in this process or in a child process.

A run in this process is stopped at its deadline by HiGHS's own time limit and by its
interrupt callbacks. Neither is checked inside HiGHS's presolve or a round of cut
separation, which on large models can last minutes past the deadline. A run in a child
process (:func:`run_in_child`) is killed at its deadline instead: the child sends each
better plan and, now and then, its bound as it goes, so what it found is kept.

This module imports only the standard library, NumPy and highspy, so that a child,
started as ``python highs_process.py`` (not through the package, whose imports take
seconds), is ready in half a second. It reads its job from standard input and writes its
messages to standard output, both as pickles.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

logger = logging.getLogger("capforecast.plan.highs")

#: How long a child may run past its deadline before it is killed (it normally stops
#: itself at the deadline), and the shortest time between two bound messages.
GRACE_S = 1.0
BOUND_EVERY_S = 1.0

#: Told, in the parent, the cheapest plan's objective so far (``inf`` before the first) and
#: the child's bound (``None`` before the first) each time the child reports either.
News = Callable[[float, float | None], None]

#: ``kSolutionStatusFeasible`` of HiGHS: the run has a primal solution.
FEASIBLE_SOLUTION = 2

#: Integer values within this of an integer count as integral.
INTEGRALITY = 1e-6


class HighsError(RuntimeError):
    """HiGHS refused a call (a model it cannot take, an option it does not know)."""


def _checked(status: Any, what: str) -> None:
    """Raise :class:`HighsError` when a HiGHS call returned ``kError`` (HiGHS then goes on
    with what it had: an unloaded model solves as an empty one, "optimal")."""
    import highspy

    if status == highspy.HighsStatus.kError:
        raise HighsError(f"HiGHS refused {what}")


@dataclass
class Phase:
    """What one HiGHS run ended with (objective computed from the values, offset included)."""

    status: Any  # highspy.HighsModelStatus
    message: str
    values: np.ndarray | None
    objective: float | None
    bound: float | None


class HighsProblem:
    """A program loaded into HiGHS once, to be solved in phases.

    ``arrays`` holds the program: ``cost``, ``offset``, ``lower``, ``upper``, ``integer``,
    ``row_lower``, ``row_upper`` and the row-wise sparse matrix ``start``, ``index``,
    ``value``.
    """

    def __init__(self, arrays: dict[str, Any]) -> None:
        import highspy

        self.arrays = arrays
        self.lower, self.upper, self.integer = arrays["lower"], arrays["upper"], arrays["integer"]
        columns, rows = len(arrays["cost"]), len(arrays["row_lower"])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = columns, rows
        lp.col_cost_ = arrays["cost"]
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_, lp.row_upper_ = arrays["row_lower"], arrays["row_upper"]
        lp.offset_ = float(arrays["offset"])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = arrays["start"]
        lp.a_matrix_.index_ = arrays["index"]
        lp.a_matrix_.value_ = arrays["value"]
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = columns, rows
        if self.integer.any():
            kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
            lp.integrality_ = [kinds[whole] for whole in self.integer.tolist()]
        self.highs = highspy.Highs()
        _checked(self.highs.setOptionValue("output_flag", False), "option output_flag")
        _checked(
            self.highs.passModel(lp),
            f"the model ({columns} columns, {rows} rows, {len(arrays['value'])} terms)",
        )
        # HiGHS can overrun its own time limit by minutes (in cut separation on large
        # models); its interrupt callbacks are called more often, and stop the run sooner.
        self.deadline = math.inf
        self.highs.cbSimplexInterrupt += self._interrupt
        self.highs.cbMipInterrupt += self._interrupt

    def _interrupt(self, event: Any) -> None:
        # Set every time: HiGHS keeps the flag from one run to the next.
        event.interrupt(time.perf_counter() > self.deadline)

    def run(
        self,
        *,
        relax: bool,
        mip_gap: float,
        time_limit_s: float,
        start: np.ndarray | None = None,
    ) -> Phase:
        """One HiGHS run on the current bounds, from the solution ``start`` if given;
        nothing of an earlier run carries over."""
        self.highs.clearSolver()
        what = "LP relaxation" if relax else "MIP"
        return self._run(what, relax=relax, mip_gap=mip_gap, time_limit_s=time_limit_s, start=start)

    def fixed_at(
        self, values: np.ndarray, *, time_limit_s: float, columns: np.ndarray | None = None
    ) -> Phase:
        """The LP with the integer variables (or only ``columns``) fixed at their value in
        ``values``, warm started from the last run's basis (after the LP relaxation, a few
        dual simplex iterations); the bounds are restored afterwards."""
        if columns is None:
            columns = np.flatnonzero(self.integer)
        fixed = values[columns]
        _checked(self.highs.changeColsBounds(len(columns), columns, fixed, fixed), "bounds")
        try:
            return self._run(
                "LP with fixed orders" if len(columns) == self.integer.sum() else "LP dive",
                relax=True,
                mip_gap=0.0,
                time_limit_s=time_limit_s,
                start=None,
            )
        finally:
            restored = (len(columns), columns, self.lower[columns], self.upper[columns])
            _checked(self.highs.changeColsBounds(*restored), "bounds")

    def _run(
        self,
        what: str,
        *,
        relax: bool,
        mip_gap: float,
        time_limit_s: float,
        start: np.ndarray | None,
    ) -> Phase:
        import highspy

        highs = self.highs
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = start
            solution.value_valid = True
            _checked(highs.setSolution(solution), "the start solution")
        settings = {
            "solve_relaxation": relax,
            "mip_rel_gap": mip_gap,
            "time_limit": max(time_limit_s, 1e-3),
            "threads": 1,
            "random_seed": 0,
        }
        for name, setting in settings.items():
            _checked(highs.setOptionValue(name, setting), f"option {name}={setting}")
        started = time.perf_counter()
        self.deadline = started + time_limit_s
        ran = highs.run()
        self.deadline = math.inf
        status = highs.getModelStatus()
        failed = ran == highspy.HighsStatus.kError
        if failed and status == highspy.HighsModelStatus.kOptimal:
            status = highspy.HighsModelStatus.kSolveError  # never trust a failed run's word
        info = highs.getInfo()
        feasible = info.primal_solution_status == FEASIBLE_SOLUTION
        values = np.asarray(highs.getSolution().col_value, dtype=float) if feasible else None
        # From the values, so that it is exactly the program's objective.
        objective = _value(self.arrays, values) if values is not None else None
        mip = self.integer.any() and not relax
        bound = float(info.mip_dual_bound) if mip else None
        if relax and status == highspy.HighsModelStatus.kOptimal:
            bound = objective
        if bound is not None and not math.isfinite(bound):
            bound = None
        message = highs.modelStatusToString(status)
        if failed:
            message = f"HiGHS failed to solve the {what} (model status '{message}')"
        if status == highspy.HighsModelStatus.kInterrupt:
            status, message = highspy.HighsModelStatus.kTimeLimit, "Time limit reached"
        phase = Phase(status, message, values, objective, bound)
        logger.info(
            "HiGHS %s: %s in %.1f s (limit %.1f s), objective %s, bound %s",
            what,
            phase.message,
            time.perf_counter() - started,
            time_limit_s,
            objective,
            bound,
        )
        return phase


def neighbourhood(arrays: dict[str, Any], relaxed: np.ndarray) -> dict[str, Any]:
    """``arrays`` with every integer variable at its lower bound in ``relaxed`` fixed there
    (so an order at 0 stays 0); the others keep their bounds."""
    integer = np.flatnonzero(arrays["integer"])
    lower = arrays["lower"][integer]
    upper = arrays["upper"].copy()
    fixed = integer[relaxed[integer] <= lower + INTEGRALITY]
    upper[fixed] = arrays["lower"][fixed]
    return {**arrays, "upper": upper}


def run_in_child(
    arrays: dict[str, Any],
    *,
    mip_gap: float,
    time_limit_s: float,
    start: np.ndarray | None,
    target: float | None = None,
    news: News | None = None,
) -> Phase:
    """The MIP of ``arrays`` solved by HiGHS in a child process, killed ``GRACE_S`` after
    ``time_limit_s`` if it has not stopped by then; the best plan and bound it reported
    are kept either way, and ``news`` hears of each as it comes."""
    import highspy

    deadline = time.time() + time_limit_s
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        try:
            end, values, bound = _follow(child, arrays, start, mip_gap, target, deadline, news)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            assert child.stdout is not None
            child.stdout.close()  # the reader has met its end (the child is gone)
        errors.seek(0)
        error = errors.read().decode(errors="replace").strip()
    statuses = highspy.HighsModelStatus
    if end is not None:
        _, code, message, final, final_bound = end
        status = statuses(code)
        values = final if final is not None else values
        bound = final_bound if final_bound is not None else bound  # finite, from run()
    elif values is None and bound is None and child.returncode not in (0, -9):
        raise RuntimeError(f"the HiGHS child process failed: {error[-2000:]}")
    else:
        status, message = statuses.kTimeLimit, "Time limit reached"
        logger.info("HiGHS MIP (child): stopped at its deadline")
    objective = _value(arrays, values) if values is not None else None
    return Phase(status, message, values, objective, bound)


def _follow(
    child: subprocess.Popen[bytes],
    arrays: dict[str, Any],
    start: np.ndarray | None,
    mip_gap: float,
    target: float | None,
    deadline: float,
    news: News | None = None,
) -> tuple[tuple[Any, ...] | None, np.ndarray | None, float | None]:
    """Give ``child`` its job and collect its messages until its last one, or until
    ``GRACE_S`` past ``deadline``: the last message (if it came), the best plan and bound."""
    assert child.stdin is not None and child.stdout is not None
    messages: queue.Queue[tuple[Any, ...]] = queue.Queue()
    threading.Thread(target=_read, args=(child.stdout, messages), daemon=True).start()
    job = {
        "arrays": arrays,
        "start": start,
        "mip_gap": mip_gap,
        "target": target,
        "deadline": deadline,
    }
    try:
        pickle.dump(job, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
    except BrokenPipeError:
        pass  # the child died at start; the caller reads why
    values: np.ndarray | None = None
    bound: float | None = None
    best = math.inf
    while True:
        try:
            received = messages.get(timeout=max(deadline + GRACE_S - time.time(), 0.0))
        except queue.Empty:
            return None, values, bound  # past the deadline and its grace
        kind = received[0]
        if kind == "plan":
            values = received[1]
            cost = _value(arrays, values)
            best = min(best, cost)
            logger.info("HiGHS MIP (child): a plan costing %.6g", cost)
        elif kind == "bound" and math.isfinite(received[1]):
            bound = received[1]
        if kind in ("plan", "bound") and news is not None:
            news(best, bound)
        if kind == "end":
            return received, values, bound
        if kind == "closed":  # the child exited without its last message
            return None, values, bound


def _value(arrays: dict[str, Any], values: np.ndarray) -> float:
    """The program's objective at ``values``."""
    return float(arrays["cost"] @ values + arrays["offset"])


def _read(stream: IO[bytes], messages: queue.Queue[tuple[Any, ...]]) -> None:
    """Pass the child's messages on until its output closes."""
    while True:
        try:
            messages.put(pickle.load(stream))
        except (EOFError, pickle.UnpicklingError, OSError, ValueError):
            messages.put(("closed",))
            return


#: With a target no plan meets, a run stops at a plan within this many times its own
#: ``mip_gap`` of its bound (the neighbourhood: five times a tenth of the MIP's gap).
SETTLE = 5.0


def main() -> None:
    """The child: solve the job read from standard input, reporting as it goes. With a
    ``target``, it stops at the first plan that costs at most the target. Once its bound
    shows that no plan does, the target becomes ``SETTLE`` times its gap above that bound:
    the best plan near its own optimum, a good start for the next phase."""
    import highspy

    job = pickle.load(sys.stdin.buffer)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # HiGHS writes its banner from C++ to file descriptor 1: keep it off the messages.
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    lock = threading.Lock()

    def send(*message: Any) -> None:
        with lock:
            pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

    problem = HighsProblem(job["arrays"])
    last_bound = [-math.inf, 0.0]  # value and time of the last bound sent
    statuses = highspy.HighsModelStatus
    target = [job["target"]]  # the cost at which a plan is good enough (None: none)
    best = [math.inf]  # the cheapest plan found so far
    stop: list[Any] = [None]  # why the run is stopped before its end, if it is

    def improved(event: Any) -> None:
        values = np.array(event.data_out.mip_solution, dtype=float)
        send("plan", values)
        best[0] = min(best[0], _value(job["arrays"], values))
        if target[0] is not None and best[0] <= target[0]:
            stop[0] = statuses.kObjectiveTarget

    def progress(event: Any) -> None:
        bound, now = float(event.data_out.mip_dual_bound), time.perf_counter()
        if bound > last_bound[0] and now - last_bound[1] >= BOUND_EVERY_S:
            last_bound[:] = [bound, now]
            send("bound", bound)
        if stop[0] is None and target[0] is not None and bound > target[0]:
            # No plan costs at most the target: settle for one near this run's optimum.
            target[0] = bound + SETTLE * job["mip_gap"] * abs(bound)
            if best[0] <= target[0]:
                stop[0] = statuses.kObjectiveBound
        if stop[0] is not None:
            event.interrupt(True)  # after HighsProblem's own check, which sets it each time

    problem.highs.cbMipImprovingSolution += improved
    problem.highs.cbMipInterrupt += progress
    phase = problem.run(
        relax=False,
        mip_gap=job["mip_gap"],
        time_limit_s=max(job["deadline"] - time.time(), 0.0),
        start=job["start"],
    )
    if stop[0] is not None and phase.status == statuses.kTimeLimit:
        # Stopped by ``progress`` (an interrupt, which run() reports as a time limit).
        phase.status = stop[0]
        phase.message = problem.highs.modelStatusToString(phase.status)
    send("end", int(phase.status), phase.message, phase.values, phase.bound)
    out.close()


if __name__ == "__main__":
    main()
