"""Progress of long work: a bar of items done, elapsed time and an estimate of the rest.

Shown on standard error when it is a terminal or a Jupyter kernel's output (``None``, the
default everywhere), always (``True``) or never (``False``): a script writing to a file or
a pipe stays quiet.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> with bar(3, "forecasting", True, file=out) as progress:
...     progress.update(3)
>>> "forecasting: 100%" in out.getvalue() and "3/3" in out.getvalue()
True
>>> with bar(3, "forecasting", None, file=io.StringIO()) as progress:  # not a terminal
...     progress.disable
True
"""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm


def wanted(show: bool | None, file: IO[str] | None = None) -> bool:
    """Whether to show progress: ``show``, or when ``None``, whether ``file`` (standard
    error by default) is a terminal or the output of a Jupyter kernel."""
    if show is not None:
        return bool(show)
    stream = sys.stderr if file is None else file
    if getattr(stream, "isatty", lambda: False)():
        return True
    return file is None and "ipykernel" in sys.modules and _in_kernel()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell: Any = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def bar(total: int | None, what: str, show: bool | None, *, file: IO[str] | None = None) -> tqdm:
    """A progress bar of ``total`` series headed ``what`` (see the module docstring); with
    ``total=None``, a one-line status with the time elapsed, whose text
    ``set_description_str`` changes."""
    return tqdm(
        total=total,
        desc=what,
        unit="series",
        bar_format=None if total is not None else "{desc} [{elapsed}]",
        file=sys.stderr if file is None else file,
        disable=not wanted(show, file),
        dynamic_ncols=True,
        mininterval=0.5,
    )
