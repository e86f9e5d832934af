"""Where the time of ``auto`` goes: a profile of one process fitting it series by series.

Run ``python benchmarks/profile_auto.py`` (``--series N``, default 20, of the seeded daily
panel of ``benchmarks/scale.py``: 730 days, season 7, horizon 28). ``cProfile`` times every
call; the table sums them by where they are spent, as a share of the whole. The result
replaces the ``profile-auto`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statsforecast.ets import ets_f  # noqa: E402

from benchmarks.report import markdown_table, write_section  # noqa: E402
from benchmarks.scale import HORIZON, panel  # noqa: E402
from capforecast.forecast.auto import Auto  # noqa: E402
from capforecast.forecast.baselines import _Repeating  # noqa: E402
from capforecast.forecast.ets import ETS, AutoETS  # noqa: E402
from capforecast.forecast.theta import Theta  # noqa: E402

WINDOWS = Auto().n_windows

#: Where time is spent: the cumulative time of each function (its calls from inside itself
#: not counted twice).
PLACES = [
    (
        "AutoETS's search on the whole series (up to 6 specifications, the lowest AICc)",
        AutoETS._fit,
    ),
    ("ETS fits: in the search, and the chosen one refitted at each backtest origin", ETS._fit),
    ("  statsforecast's compiled ETS kernel (fits and re-filters)", ets_f),
    ("ETS predictions (analytic intervals)", ETS._predict),
    ("Theta", Theta._fit),
    ("naive and seasonal naive", _Repeating._fit),
]


def profile(n_series: int) -> list[dict[str, object]]:
    """Fit ``auto`` on ``n_series`` series under cProfile; rows of the table."""
    table = panel(n_series)
    series = [group["y"].to_numpy() for _, group in table.groupby("unique_id", sort=True)]
    Auto(season_length=7, horizon=HORIZON).fit(series[0])  # imports and first calls
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for y in series:
        Auto(season_length=7, horizon=HORIZON).fit(y)
    profiler.disable()
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows: list[dict[str, object]] = [
        {
            "where": f"`auto` on one series ({WINDOWS} backtest windows and the whole series)",
            "calls per series": 1,
            "ms per series": round(1000 * seconds / n_series, 1),
            "share": "100%",
        }
    ]
    for label, function in PLACES:
        code = function.__code__
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        _, calls, _, spent, _ = stats.get(key, (0, 0, 0.0, 0.0, {}))
        rows.append(
            {
                "where": label,
                "calls per series": round(calls / n_series, 1),
                "ms per series": round(1000 * spent / n_series, 1),
                "share": f"{spent / seconds:.0%}",
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=20)
    args = parser.parse_args()
    rows = profile(args.series)
    print(markdown_table(rows))
    write_section(
        "profile-auto",
        "\n".join(
            [
                "## Where the time of `auto` goes (`benchmarks/profile_auto.py`)",
                "",
                f"Latest run: {time.strftime('%Y-%m-%d')}, {args.series} seeded daily series "
                f"of 730 days (the panel of `benchmarks/scale.py`), season 7, horizon "
                f"{HORIZON}, one process under cProfile (which slows Python calls, so the "
                "shares matter, not the milliseconds). `auto` fits every candidate on the "
                "whole series (AutoETS searches its specifications there, once), then refits "
                f"them before each of its {WINDOWS} backtest origins, AutoETS keeping the "
                "specification it chose.",
                "",
                markdown_table(rows),
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
