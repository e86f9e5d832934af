"""The telemetry in DuckDB: each source as a view with capforecast's column names.

CSV and Parquet files are read where they are (Parquet is never loaded whole; CSV is
read as text, so a bad cell is one bad row and not a failed file). Every row keeps the
file it came from and its row number there (as a spreadsheet counts: in a CSV file the
header is row 1; in a Parquet file the first record is row 1), so that every problem can
be named. The SQL of each aggregate is a named query in ``capforecast/telemetry/sql/``.
"""

from __future__ import annotations

import glob
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import clipped
from capforecast.telemetry.config import COLUMNS, FORMATS, Source, TelemetryConfig


@contextmanager
def _values_named(name: str) -> Iterator[None]:
    """A value the rows' checks let through but a query cannot convert (a time of 1e13
    seconds, a year past 2262) as an :class:`InputError`, not a crash."""
    try:
        yield
    except (duckdb.ConversionException, duckdb.OutOfRangeException, OverflowError,
            ValueError) as error:  # fmt: skip
        message = f"a value cannot be converted ({name}): {clipped(str(error), 200)}"
        raise InputError([Problem("telemetry", None, None, message)]) from None


def query(name: str) -> str:
    """The text of the named query ``sql/<name>.sql``."""
    return resources.files("capforecast.telemetry").joinpath(f"sql/{name}.sql").read_text()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class TelemetryStore:
    """A DuckDB connection holding the configured sources as views ``jobs``,
    ``utilization`` and ``inventory`` (typed, in capforecast's column names, with
    ``file`` and ``row`` of each record)."""

    def __init__(self, config: TelemetryConfig, *, threads: int | None = None) -> None:
        self.config = config
        spill = tempfile.mkdtemp(prefix="capforecast-duckdb-")  # removed with the store
        weakref.finalize(self, shutil.rmtree, spill, ignore_errors=True)
        # A database file, not memory: its tables are compressed and, past the memory
        # limit, read back from disk rather than spilled.
        self.con = duckdb.connect(str(Path(spill) / "telemetry.duckdb"))
        self.con.execute(f"SET memory_limit = {_literal(config.memory_limit)}")
        self.con.execute(f"SET temp_directory = {_literal(spill)}")
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        problems: list[Problem] = []
        for kind in COLUMNS:
            source = getattr(config, kind)
            if source is not None:
                problems.extend(self._register(kind, source))
        if problems:
            raise InputError(problems)

    def sql(self, name: str, **parameters: Any) -> pd.DataFrame:
        """Run the named query with ``$name`` parameters; the result as a DataFrame."""
        with _values_named(name):
            return self.con.execute(query(name), parameters).df()

    def has(self, kind: str) -> bool:
        """Whether a source of this kind (jobs, utilization, inventory) is configured."""
        return getattr(self.config, kind) is not None

    def exclude(self, kind: str, problems: pd.DataFrame) -> None:
        """Create the view ``<kind>_clean``: the rows of ``kind`` but those of ``problems``
        marked ``excluded``."""
        name = f"_{kind}_problems"
        self.con.register(name, problems)
        clean = (
            f"SELECT s.* FROM {kind} s ANTI JOIN "
            f"(SELECT DISTINCT file, row FROM {name} WHERE excluded) p USING (file, row)"
        )
        self.con.execute(f"CREATE OR REPLACE VIEW {kind}_clean AS {clean}")

    def materialize(self, name: str, **parameters: Any) -> None:
        """Run the named query into a table of the same name (for queries read often)."""
        with _values_named(name):
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {query(name)}", parameters)

    def _register(self, kind: str, source: Source) -> list[Problem]:
        files: list[str] = []
        problems: list[Problem] = []
        for pattern in self.config.files(source):
            found = sorted(glob.glob(pattern))
            if not found:
                problems.append(Problem(pattern, None, None, "no file matches this path"))
            files.extend(found)
        if problems:
            return problems
        parts = []
        for number, path in enumerate(p for p in files if not p.endswith(".parquet")):
            # Read into a table: its rowid keeps the order of the lines.
            table = f"_{kind}_{number}"
            self.con.execute(
                f"CREATE TABLE {table}_text AS SELECT * FROM read_csv({_literal(path)}, "
                f"all_varchar = true, header = true{self._delimited(source)})"
            )
            self.con.execute(
                f"CREATE VIEW {table} AS SELECT *, {_literal(path)} AS _file, "
                f"rowid + 2 AS _row FROM {table}_text"
            )
            columns, missing = self._select(kind, source, self._present(table), path)
            problems.extend(missing)
            parts.append(f"SELECT _file AS file, _row AS row, {columns} FROM {table}")
        parquet = [p for p in files if p.endswith(".parquet")]
        if parquet:
            # One scan of every file (not a union of one scan per file, whose buffers add
            # up); a column missing from some files is NULL in their rows.
            present: set[str] = set()
            for path in parquet:
                names = self._present(f"read_parquet({_literal(path)})")
                problems.extend(self._select(kind, source, names, path)[1])
                present |= names
            table = f"_{kind}_parquet"
            paths = ", ".join(_literal(p) for p in parquet)
            self.con.execute(
                f"CREATE VIEW {table} AS SELECT *, filename AS _file, file_row_number + 1 AS _row "
                f"FROM read_parquet([{paths}], filename = true, file_row_number = true, "
                "union_by_name = true)"
            )
            columns = self._select(kind, source, present, None)[0]
            parts.append(f"SELECT _file AS file, _row AS row, {columns} FROM {table}")
        if problems:
            return problems
        union = " UNION ALL BY NAME ".join(parts)
        if source.format != "columns":
            self.con.execute(f"CREATE VIEW {kind}_source AS {union}")
            union = query(source.format).format(source=f"{kind}_source")
        self.con.execute(f"CREATE VIEW {kind}_raw AS {union}")
        self.con.execute(f"CREATE VIEW {kind} AS {self._typed(kind, source)}")
        return []

    @staticmethod
    def _delimited(source: Source) -> str:
        """The read_csv options of a format whose text files have a fixed delimiter and no
        quoting (sacct's ``--parsable2``: a quote is part of the value)."""
        if source.format == "columns" or FORMATS[source.format].delimiter is None:
            return ""
        delimiter = FORMATS[source.format].delimiter or ""
        return f", delim = {_literal(delimiter)}, quote = '', escape = ''"

    def _present(self, relation: str) -> set[str]:
        """The column names of a table, view or table function (from metadata only)."""
        return {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}

    @staticmethod
    def _select(
        kind: str, source: Source, present: set[str], path: str | None
    ) -> tuple[str, list[Problem]]:
        """The select list renaming the source's columns to capforecast's (an optional
        column the files lack is NULL), and a problem for each required column missing
        from ``path`` (or from every file, when None)."""
        if source.format == "columns":
            wanted = {c: (source.columns.get(c, c), r) for c, r in COLUMNS[kind].items()}
        else:
            known = FORMATS[source.format]
            wanted = {c: (c, True) for c in known.columns}
            wanted |= {c: (c, False) for c in known.optional}
        columns, problems = [], []
        for column, (name, required) in wanted.items():
            if name in present:
                columns.append(f"{_quote(name)} AS {column}")
            elif not required:
                columns.append(f"NULL AS {column}")
            elif path is not None:
                mapped = f" (mapped from '{column}')" if name != column else ""
                problems.append(Problem(Path(path).name, None, name, f"missing{mapped}"))
        return ", ".join(columns), problems

    def _typed(self, kind: str, source: Source) -> str:
        """The typed view over ``<kind>_raw``: text columns as text, times as timestamps,
        numbers as doubles; ``<column>_text`` keeps what a time or number was written as."""
        times = {"submit_time", "start_time", "end_time", "time", "in_service_from", "retired_at"}
        numbers = {"gpus", "gpu_util", "mem_util", "time_limit"}
        selected = ["file", "row"]
        for column in COLUMNS[kind]:
            text = f"NULLIF(TRIM(CAST({column} AS VARCHAR)), '')"
            written = f"{text} AS {column}_text"
            if column in times:
                selected += [f"{self._time(column, source)} AS {column}", written]
            elif column in numbers:
                selected += [f"TRY_CAST({column} AS DOUBLE) AS {column}", written]
            elif column in ("sku", "region"):
                aliases = getattr(self.config, f"{column}_aliases")
                selected.append(f"{_aliased(text, aliases)} AS {column}")
            else:
                selected.append(f"COALESCE({text}, '') AS {column}")
        return f"SELECT {', '.join(selected)} FROM {kind}_raw"

    @staticmethod
    def _time(column: str, source: Source) -> str:
        if source.time_unit == "timestamp":
            return f"TRY_CAST({column} AS TIMESTAMP)"
        per_second = 1 if source.time_unit == "s" else 1000
        micros = f"CAST(ROUND(TRY_CAST({column} AS DOUBLE) * {1_000_000 // per_second}) AS BIGINT)"
        return f"(TIMESTAMP {_literal(str(source.epoch))} + to_microseconds({micros}))"


def _aliased(text: str, aliases: dict[str, str]) -> str:
    """The SQL of a text column with its ``aliases`` (as written -> as planned) applied."""
    if not aliases:
        return f"COALESCE({text}, '')"
    cases = " ".join(f"WHEN {_literal(a)} THEN {_literal(b)}" for a, b in aliases.items())
    return f"COALESCE(CASE {text} {cases} ELSE {text} END, '')"
