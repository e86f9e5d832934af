"""Reading raw tables and writing outputs atomically.

Readers never raise on bad content: they return the raw table, or ``None`` with the
problems that stopped them (missing file, empty file, malformed CSV). Writers write to a
temporary file in the target folder and rename it into place, so a reader never sees a
half-written output and an interrupted run leaves the previous output intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from capforecast.core.errors import ParameterError, Problem

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def read_raw_table(
    path: Path, label: str | None = None, *, allow_empty: bool = False
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a CSV (all cells as text) or Parquet file without interpreting values.

    A file with a header but no rows is a problem unless ``allow_empty``.

    Examples
    --------
    >>> table, problems = read_raw_table(Path("does-not-exist.csv"))
    >>> table is None, str(problems[0])
    (True, 'does-not-exist.csv: file not found')
    """
    name = label or path.name
    if not path.is_file():
        return None, [Problem(name, None, None, "file not found")]
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return None, [
            Problem(name, None, None, f"unsupported file type '{suffix}'; use .csv or .parquet")
        ]
    try:
        if suffix == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            table = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        return None, [Problem(name, None, None, "file is empty; expected a header row")]
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        return None, [Problem(name, None, None, f"cannot be read: {_first_line(exc)}")]
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty and not allow_empty:
        return None, [Problem(name, None, None, "file has a header but no data rows")]
    return table, []


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would have made it, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def csv_bytes(table: pd.DataFrame, *, exact: bool = False) -> bytes:
    """A table as CSV: numbers with 10 significant digits, or with ``exact`` as many as
    give the same float back (for inputs that must read back unchanged)."""
    digits = None if exact else "%.10g"
    return table.to_csv(index=False, lineterminator="\n", float_format=digits).encode()


def json_bytes(document: Any) -> bytes:
    """A JSON document with sorted keys (stable bytes across runs)."""
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def write_table(table: pd.DataFrame, path: Path, *, exact: bool = False) -> None:
    """Write a table as CSV (:func:`csv_bytes`) or Parquet (by suffix), atomically and
    reproducibly."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = csv_bytes(table, exact=exact)
    elif suffix in (".parquet", ".pq"):
        import io

        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        raise ParameterError(f"unsupported output type '{suffix}' for {path}; use .csv or .parquet")
    write_bytes_atomic(path, data)


def write_json(document: Any, path: Path) -> None:
    """Write a JSON document atomically (:func:`json_bytes`)."""
    write_bytes_atomic(path, json_bytes(document))
