"""Reading raw tables and writing outputs atomically and safely.

Readers never raise on bad content: they return the raw table, or ``None`` with the
problems that stopped them (missing file, empty file, malformed CSV). Writers write to a
temporary file in the target folder and rename it into place, so a reader never sees a
half-written output and an interrupted run leaves the previous output intact.

Names in the inputs (scenarios, SKUs, sites, workloads) are untrusted text. Here is where
they are made safe to write (docs/reports.md): :func:`neutral` keeps a spreadsheet from
reading a CSV cell as a formula, :func:`safe_name` makes a name a folder name that stays
where it is put, :func:`inside` is the last check of that, and :func:`check_output` checks
an output path before any work starts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from capforecast.core.errors import ParameterError, Problem
from capforecast.core.limits import LIMITS

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
    limit = LIMITS.rows
    try:
        if suffix == ".csv":  # one row past the limit is enough to know it is over
            table = pd.read_csv(
                path, dtype=str, keep_default_na=False, skipinitialspace=True, nrows=limit + 1
            )
        else:  # a few hundred compressed bytes can hold millions of rows: ask first
            import pyarrow.parquet as pq

            footer = pq.ParquetFile(path).metadata
            unpacked = sum(
                footer.row_group(g).total_byte_size for g in range(footer.num_row_groups)
            )
            if unpacked > LIMITS.table_bytes:
                message = f"{unpacked} bytes unpacked is over the limit of {LIMITS.table_bytes}"
                return None, [Problem(name, None, None, message)]
            if footer.num_rows > limit:
                table = pd.DataFrame(index=range(limit + 1))
            else:
                table = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        return None, [Problem(name, None, None, "file is empty; expected a header row")]
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        return None, [Problem(name, None, None, f"cannot be read: {_first_line(exc)}")]
    if len(table) > limit:
        message = f"more than {limit} rows (the limit of one input table); split or aggregate it"
        return None, [Problem(name, None, None, message)]
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


#: How a cell a spreadsheet reads as a formula starts (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutral(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: a ``'`` before it when it starts like a
    formula (:data:`FORMULA_STARTS`) and is not a plain number.

    Examples
    --------
    >>> neutral("=2+5"), neutral("@SUM(A1)"), neutral("-1+2"), neutral("H100")
    ("'=2+5", "'@SUM(A1)", "'-1+2", 'H100')
    >>> neutral("-5"), neutral("+1.5"), neutral("-1.2e3")
    ('-5', '+1.5', '-1.2e3')
    """
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def map_text(table: pd.DataFrame, change: Callable[[str], str]) -> pd.DataFrame:
    """``table`` with ``change`` applied to every text header and text cell; numbers and
    other values as they are. Each distinct text is changed once; ``table`` itself (not a
    copy) comes back when nothing changes.

    Examples
    --------
    >>> table = pd.DataFrame({"sku": ["=2+5", "H100"], "units": [-5, 3]})
    >>> map_text(table, neutral).to_dict("list")
    {'sku': ["'=2+5", 'H100'], 'units': [-5, 3]}
    >>> map_text(table, str.strip) is table
    True
    """
    changed: pd.DataFrame | None = None
    for position in range(table.shape[1]):
        column = table.iloc[:, position]
        mapping = {text: change(text) for text in _texts(column)}
        mapping = {old: new for old, new in mapping.items() if new != old}
        if mapping:
            changed = table.copy() if changed is None else changed
            changed.isetitem(position, column.astype(object).map(partial(_swap, mapping)))
    headers = [change(c) if isinstance(c, str) else c for c in table.columns]
    if headers != list(table.columns):
        changed = table.copy() if changed is None else changed
        changed.columns = pd.Index(headers)
    return table if changed is None else changed


def _texts(column: pd.Series) -> list[str]:
    """The distinct texts of ``column``; none when it holds numbers, times or periods."""
    if column.dtype != object and not isinstance(
        column.dtype, pd.StringDtype | pd.CategoricalDtype
    ):
        return []
    try:
        values = pd.unique(column)
    except TypeError:  # unhashable cells (lists): looked at one by one
        values = column
    return list(dict.fromkeys(v for v in values if isinstance(v, str)))


def _swap(mapping: dict[str, str], value: Any) -> Any:
    return mapping.get(value, value) if isinstance(value, str) else value


def csv_bytes(table: pd.DataFrame, *, exact: bool = False) -> bytes:
    """A table as CSV, by default a report: numbers with 10 significant digits, and text
    that would start a formula in a spreadsheet neutralised (:func:`neutral`). With
    ``exact``, a data file that capforecast reads back unchanged (planning inputs, a
    history): numbers with as many digits as give the same float back, and text as it is.

    A text with a carriage return has every field of its file quoted: the csv module
    leaves a lone ``\r`` unquoted, and readers take it for the end of a row.

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"sku": ["=2+5", "B200"], "units": [-5, 8]}))
    b"sku,units\\n'=2+5,-5\\nB200,8\\n"
    >>> csv_bytes(pd.DataFrame({"sku": ["a\\r=2+5"], "units": [-5]}), exact=True)
    b'"sku","units"\\n"a\\r=2+5","-5"\\n'
    """
    digits = None if exact else "%.10g"
    shown = table if exact else map_text(table, neutral)
    texts = [c for c in shown.columns if isinstance(c, str)]
    texts += [t for position in range(shown.shape[1]) for t in _texts(shown.iloc[:, position])]
    quoting = csv.QUOTE_ALL if any("\r" in text for text in texts) else csv.QUOTE_MINIMAL
    return shown.to_csv(
        index=False, lineterminator="\n", float_format=digits, quoting=quoting
    ).encode()


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


#: Bytes of the readable part of a :func:`safe_name` (file systems allow 255).
NAME_BYTES = 80
_UNSAFE = re.compile(r"[^\w .,+%()-]+")
_DEVICES = {"con", "prn", "aux", "nul", *(f"{d}{n}" for d in ("com", "lpt") for n in range(10))}


def safe_name(name: str, *, hashed: bool = False, salt: int = 0) -> str:
    """A folder (or file) name for ``name`` that stays inside the folder it is put in.

    ``name`` itself when it is one already: letters, digits, spaces and ``_ . , + % ( ) -``,
    not starting or ending with a space, dot, dash or underscore, at most
    :data:`NAME_BYTES` bytes of UTF-8 and no device name of Windows (``con``, ``nul.txt``).
    Otherwise (or with ``hashed``) the other characters become ``_``, and the name is
    cut and followed by ``-`` and 8 hex digits of its SHA-256 (:data:`NAME_BYTES` in
    all), so distinct names stay distinct. Never empty, absolute, ``.``, ``..`` or
    hidden; a safe name is its own safe name.

    Examples
    --------
    >>> safe_name("budget-cut 2027"), safe_name("base budget -40%")
    ('budget-cut 2027', 'base budget -40%')
    >>> safe_name("../../escaped-dir"), safe_name("/tmp/x"), safe_name("")
    ('escaped-dir-41428d1a', 'tmp_x-2e56aa36', 'unnamed-e3b0c442')
    """
    slug = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip(" ._-")
    device = slug.split(".")[0].strip().casefold() in _DEVICES
    if not hashed and slug == name and 0 < len(name.encode()) <= NAME_BYTES and not device:
        return name
    if device:  # Windows reserves the name before any extension: con.txt, nul.tar.gz
        slug = slug.replace(".", "_")
    slug = slug.encode()[: NAME_BYTES - 9].decode(errors="ignore").rstrip(" ._-")
    key = name if not salt else f"{name}\n{salt}"  # another hash for a clash (safe_names)
    digest = hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()[:8]
    return f"{slug or 'unnamed'}-{digest}"


def safe_names(names: Sequence[str]) -> dict[str, str]:
    """:func:`safe_name` of each of ``names`` (distinct), with distinct folders even on a
    file system that ignores case: when two folders would be one (``Base`` and ``base``,
    or ``../x`` and an ``x-<hash>`` given as it is), a name that is its own folder keeps
    it and the others are hashed again, with a counter, until every folder differs.

    Examples
    --------
    >>> safe_names(["base", "Base", "cut"])
    {'base': 'base-cae66217', 'Base': 'Base-7b47361a', 'cut': 'cut'}
    >>> found = safe_names(["../x", safe_name("../x")])
    >>> len(set(found.values())), found[safe_name("../x")] == safe_name("../x")
    (2, True)
    """
    folders = {name: safe_name(name) for name in names}
    for salt in range(len(folders) + 1):
        groups: dict[str, list[str]] = {}
        for name, folder in folders.items():
            groups.setdefault(folder.casefold(), []).append(name)
        clashing = [group for group in groups.values() if len(group) > 1]
        if not clashing:
            return folders
        for group in clashing:
            own = [name for name in group if folders[name] == name]
            keep = own[0] if len(own) == 1 else None
            for name in group:
                if name != keep:
                    folders[name] = safe_name(name, hashed=True, salt=salt)
    raise AssertionError("unreachable: each round makes a clash of hashes rarer")


def inside(folder: Path, path: Path) -> Path:
    """``path``, once checked to resolve to a place inside ``folder``: the last check
    before writing a path made from a name.

    Examples
    --------
    >>> inside(Path("out"), Path("out/scenarios/cut"))
    PosixPath('out/scenarios/cut')
    >>> inside(Path("out"), Path("out/scenarios/../../x"))
    Traceback (most recent call last):
    ...
    capforecast.core.errors.ParameterError: out/scenarios/../../x is outside the output folder ...
    """
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ParameterError(
            f"{path} is outside the output folder {folder}; nothing was written there"
        )
    return path


def check_output(path: Path, kind: Literal["folder", "table"], option: str = "--out") -> None:
    """Raise :class:`ParameterError` unless ``path`` can be written as a ``folder`` or as
    a ``table`` file (``.csv`` or ``.parquet``): it is not the other kind, no file is in
    its way, and this process may create files where it goes. Called before any work, so
    that a run never ends in a path it cannot write.
    """
    where = f"{option} {path}"
    parent = path if kind == "folder" else path.parent
    try:
        if path.exists() and path.is_dir() != (kind == "folder"):
            other = "a folder, not a file" if kind == "table" else "a file, not a folder"
            raise ParameterError(f"{where}: is {other}")
        if kind == "table" and path.suffix.lower() not in TABLE_SUFFIXES:
            raise ParameterError(f"{where}: name a .csv or .parquet file")
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ParameterError(f"{where}: {parent} is a file, so nothing can be made in it")
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".capforecast.", suffix=".tmp")
        os.close(fd)  # what write_bytes_atomic does first: make a file there
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ParameterError(f"{where}: cannot write in {parent} ({reason})") from None
