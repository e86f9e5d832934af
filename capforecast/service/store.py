"""What the service keeps, in one SQLite file: inputs by content hash (each key sees only
its own), jobs with their state, and the files each job produced. A restart loses
nothing: finished results are still there, and jobs that were queued or running are
marked ``interrupted``.

Storage is bounded: each key has a quota of bytes (inputs and results together), each
job a limit on the bytes of its results, and what is older than the retention period is
swept away (:meth:`Store.sweep`). A job that fails, is cancelled or is interrupted keeps
no results. A CSV result is indexed as it is stored (its rows, and where every
:data:`STEP`-th row starts), so that a page of it is read without parsing the rows
before it, and a download is streamed from the file, never held whole in memory.

In every table the large value (a body) is the last column: SQLite keeps what does not
fit in a page in a chain of overflow pages, and reading a column stored after a large
value walks that chain.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from capforecast.service.settings import MIB as MB

#: The version of the tables below (``PRAGMA user_version``): a file of an earlier one
#: (the first had none) is upgraded when a store opens it.
VERSION = 2
TABLES = {
    "inputs": """(
        owner TEXT NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL,
        used REAL NOT NULL, size INTEGER NOT NULL, series INTEGER, body TEXT NOT NULL,
        PRIMARY KEY (owner, hash))""",
    "jobs": """(
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, idempotency TEXT,
        input TEXT, request_hash TEXT NOT NULL, state TEXT NOT NULL,
        progress TEXT NOT NULL DEFAULT '', error TEXT, created REAL NOT NULL, started REAL,
        finished REAL, pid INTEGER, pid_start INTEGER, request TEXT NOT NULL)""",
    "results": """(
        job TEXT NOT NULL, name TEXT NOT NULL, media TEXT NOT NULL, size INTEGER NOT NULL,
        rows INTEGER, marks TEXT, body BLOB NOT NULL, PRIMARY KEY (job, name))""",
}
INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs (owner, idempotency)
    WHERE idempotency IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, state);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
"""
#: What a file of an earlier version lacks, filled in when its tables are rebuilt.
BACKFILL = {
    "inputs": "UPDATE inputs SET size = length(CAST(body AS BLOB)), used = created",
    "jobs": "UPDATE jobs SET input = COALESCE(json_extract(request, '$.history'), "
    "json_extract(request, '$.planning'))",
    "results": "UPDATE results SET size = length(body)",
}

#: Job states; the last four are final, and the last three keep no results.
QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
FINAL = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
UNSUCCESSFUL = (FAILED, CANCELLED, INTERRUPTED)

#: Rows between two marks of a CSV result's index: a page is parsed from the mark before
#: its first row, so at most this many rows more than it returns.
STEP = 1000
#: Bytes read at once when a result is streamed.
CHUNK = 2**20


class IdempotencyConflict(Exception):
    """An idempotency key used again for another request."""


class LimitReached(Exception):
    """Too many jobs queued or running for one key."""


class QuotaExceeded(Exception):
    """A key's inputs and results would take more than its storage quota."""


class ResultsTooLarge(Exception):
    """A job's results would take more than the limit per job."""


class InputInUse(Exception):
    """An input that a queued or running job still needs."""


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    owner: str
    request: dict[str, Any]
    state: str
    progress: str
    error: str | None
    created: float
    started: float | None
    finished: float | None
    #: The job's process (the leader of its process group) and its start time in clock
    #: ticks since boot (``/proc/<pid>/stat``), which tell it from a later process
    #: given the same id.
    pid: int | None = None
    pid_start: int | None = None


JOB_COLUMNS = "id, kind, owner, request, state, progress, error, created, started, finished, pid"
JOB_COLUMNS += ", pid_start"


@dataclass(frozen=True)
class StoredInput:
    kind: str
    files: dict[str, str]
    size: int
    #: Series of a history (``None`` for a planning input, or one stored by an earlier version).
    series: int | None


@dataclass(frozen=True)
class Page:
    """Rows ``offset`` on of a CSV result, and how many rows it has in all."""

    columns: list[str]
    rows: list[list[str]]
    total: int


def write_files(files: dict[str, str], folder: Path) -> Path:
    """The files of an input, written into ``folder`` (for the library's readers)."""
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def content_hash(kind: str, files: dict[str, str]) -> str:
    """The hash of an input: its kind and files, in a canonical form."""
    canonical = json.dumps({"kind": kind, "files": files}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def csv_index(body: bytes) -> tuple[int, list[int]]:
    """The data rows of a CSV file, and the byte offset where every :data:`STEP`-th one
    starts (row 0 first). A quoted cell may hold line breaks, so rows are counted by the
    CSV reader, which reads a line only when the row it is in needs it.

    Examples
    --------
    >>> csv_index(b'a,b\\n1,"x\\ny"\\n2,z\\n')
    (2, [4])
    >>> csv_index(b"a,b\\n")
    (0, [])
    """
    position = 0

    def lines() -> Iterator[str]:
        nonlocal position
        for line in io.BytesIO(body):
            position += len(line)
            yield line.decode()

    marks: list[int] = []
    start, rows = 0, -1  # the header is not a data row
    for _ in csv.reader(lines()):
        if rows >= 0 and rows % STEP == 0:
            marks.append(start)
        rows, start = rows + 1, position
    return max(rows, 0), marks


class Store:
    """The service's SQLite file. Every method opens its own short transaction, so the
    server, its job processes and a restarted server can share the file. The bounds
    given (``None``: none) are checked in the transaction that would pass them."""

    def __init__(
        self, path: str | Path, *, quota_bytes: int | None = None, result_bytes: int | None = None
    ) -> None:
        self.path = Path(path)
        self.quota_bytes, self.result_bytes = quota_bytes, result_bytes
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("BEGIN IMMEDIATE")
            if con.execute("PRAGMA user_version").fetchone()[0] < VERSION:
                for table, columns in TABLES.items():
                    _create(con, table, columns)
                for statement in INDEXES.split(";"):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {VERSION}")
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction: a writing one holds the write lock from its start (so that a
        check and the change it allows are one), a reading one sees one snapshot."""
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # Storage --------------------------------------------------------------------------
    @staticmethod
    def _used(con: sqlite3.Connection, owner: str) -> int:
        inputs = con.execute(
            "SELECT COALESCE(SUM(size), 0) FROM inputs WHERE owner = ?", (owner,)
        ).fetchone()[0]
        results = con.execute(
            "SELECT COALESCE(SUM(r.size), 0) FROM jobs j JOIN results r ON r.job = j.id "
            "WHERE j.owner = ?",
            (owner,),
        ).fetchone()[0]
        return int(inputs) + int(results)

    def _check_quota(self, con: sqlite3.Connection, owner: str, adding: int) -> None:
        if self.quota_bytes is None:
            return
        used = self._used(con, owner)
        if used + adding > self.quota_bytes:
            raise QuotaExceeded(
                f"the storage quota of this key ({self.quota_bytes / MB:.4g} MB) is full: "
                f"{used / MB:.4g} MB used, {adding / MB:.4g} MB more asked; delete inputs "
                "or finished jobs, or wait for the retention period"
            )

    def used(self, owner: str) -> int:
        """Bytes of ``owner``'s inputs and results."""
        with self._connect(write=False) as con:
            return self._used(con, owner)

    def sweep(self, before: float) -> tuple[int, int]:
        """Remove finished jobs (with their results) that ended before ``before``, and
        inputs last used before it that no queued or running job needs; how many of each."""
        with self._connect() as con:
            marks = ", ".join("?" for _ in FINAL)
            old = f"SELECT id FROM jobs WHERE state IN ({marks}) AND finished < ?"
            con.execute(f"DELETE FROM results WHERE job IN ({old})", (*FINAL, before))
            jobs = con.execute(f"DELETE FROM jobs WHERE id IN ({old})", (*FINAL, before))
            inputs = con.execute(
                "DELETE FROM inputs WHERE used < ? AND NOT EXISTS (SELECT 1 FROM jobs WHERE "
                "jobs.owner = inputs.owner AND jobs.input = inputs.hash AND jobs.state IN (?, ?))",
                (before, QUEUED, RUNNING),
            )
            return jobs.rowcount, inputs.rowcount

    # Inputs -------------------------------------------------------------------------
    def put_input(
        self, owner: str, kind: str, files: dict[str, str], series: int | None
    ) -> tuple[str, int]:
        """Keep an input (or mark a kept one used now); its hash and size in bytes.

        Raises
        ------
        QuotaExceeded
            A new input would take ``owner`` over the quota.
        """
        key = content_hash(kind, files)
        body = json.dumps({"kind": kind, "files": files}, sort_keys=True)
        size, now = len(body.encode()), time.time()
        with self._connect() as con:
            if con.execute(
                "UPDATE inputs SET used = ? WHERE owner = ? AND hash = ?", (now, owner, key)
            ).rowcount:
                return key, size
            self._check_quota(con, owner, size)
            con.execute(
                "INSERT INTO inputs (owner, hash, kind, created, used, size, series, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (owner, key, kind, now, now, size, series, body),
            )
        return key, size

    def get_input(self, owner: str, key: str) -> StoredInput | None:
        with self._connect(write=False) as con:
            row = con.execute(
                "SELECT size, series, body FROM inputs WHERE owner = ? AND hash = ?", (owner, key)
            ).fetchone()
        if row is None:
            return None
        document = json.loads(row[2])
        return StoredInput(document["kind"], document["files"], row[0], row[1])

    def set_series(self, owner: str, key: str, series: int) -> None:
        """Note the series of a history kept by an earlier version."""
        with self._connect() as con:
            con.execute(
                "UPDATE inputs SET series = ? WHERE owner = ? AND hash = ?", (series, owner, key)
            )

    def delete_input(self, owner: str, key: str) -> bool:
        """Remove an input; whether there was one.

        Raises
        ------
        InputInUse
            A queued or running job of ``owner`` needs it.
        """
        with self._connect() as con:
            if con.execute(
                "SELECT 1 FROM jobs WHERE owner = ? AND input = ? AND state IN (?, ?)",
                (owner, key, QUEUED, RUNNING),
            ).fetchone():
                raise InputInUse(key)
            deleted = con.execute(
                "DELETE FROM inputs WHERE owner = ? AND hash = ?", (owner, key)
            ).rowcount
        return bool(deleted)

    # Jobs ---------------------------------------------------------------------------
    def create_job(
        self,
        kind: str,
        owner: str,
        request: dict[str, Any],
        idempotency: str | None,
        limit: int,
        input_hash: str,
    ) -> tuple[Job, bool]:
        """A new queued job, or (with the same idempotency key, kind and request) the one
        made before; the flag says whether it is new. In one transaction, so that
        concurrent requests neither pass the limit nor make two jobs for one key. The
        input it uses counts as used now (for the retention period).

        Raises
        ------
        IdempotencyConflict
            The idempotency key was used before for another kind or request.
        LimitReached
            ``owner`` has ``limit`` jobs queued or running.
        QuotaExceeded
            ``owner``'s storage is full: the job could keep no results.
        """
        text = json.dumps(request, sort_keys=True)
        digest = hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()
        with self._connect() as con:
            if idempotency is not None:
                found = con.execute(
                    "SELECT id, request_hash FROM jobs WHERE owner = ? AND idempotency = ?",
                    (owner, idempotency),
                ).fetchone()
                if found is not None:
                    if found[1] != digest:
                        raise IdempotencyConflict(idempotency)
                    return self._job(con, found[0]), False  # type: ignore[return-value]
            active = con.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND state IN (?, ?)",
                (owner, QUEUED, RUNNING),
            ).fetchone()[0]
            if active >= limit:
                raise LimitReached(limit)
            self._check_quota(con, owner, 1)
            job_id = uuid.uuid4().hex
            now = time.time()
            con.execute(
                "INSERT INTO jobs (id, kind, owner, idempotency, input, request_hash, state, "
                "created, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, owner, idempotency, input_hash, digest, QUEUED, now, text),
            )
            con.execute(
                "UPDATE inputs SET used = ? WHERE owner = ? AND hash = ?", (now, owner, input_hash)
            )
            return self._job(con, job_id), True  # type: ignore[return-value]

    def job(self, job_id: str) -> Job | None:
        with self._connect(write=False) as con:
            return self._job(con, job_id)

    @staticmethod
    def _job(con: sqlite3.Connection, job_id: str) -> Job | None:
        row = con.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        values = list(row)
        values[3] = json.loads(values[3])
        return Job(*values)

    def jobs(self, state: str) -> list[Job]:
        """Jobs in ``state``, oldest first."""
        with self._connect(write=False) as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY created, id", (state,)
            )]  # fmt: skip
            return [job for i in ids if (job := self._job(con, i)) is not None]

    def delete_job(self, job_id: str) -> bool:
        """Remove a finished job and its results; whether it was removed."""
        with self._connect() as con:
            marks = ", ".join("?" for _ in FINAL)
            deleted = con.execute(
                f"DELETE FROM jobs WHERE id = ? AND state IN ({marks})", (job_id, *FINAL)
            ).rowcount
            if deleted:
                con.execute("DELETE FROM results WHERE job = ?", (job_id,))
        return bool(deleted)

    def counts(self, owner: str) -> dict[tuple[str, str], int]:
        """Jobs of ``owner`` by kind and state."""
        with self._connect(write=False) as con:
            rows = con.execute(
                "SELECT kind, state, COUNT(*) FROM jobs WHERE owner = ? GROUP BY kind, state",
                (owner,),
            )
            return {(k, s): int(n) for k, s, n in rows}

    def durations(self, owner: str) -> list[tuple[str, float]]:
        """Seconds from start to end of ``owner``'s succeeded jobs, by kind."""
        with self._connect(write=False) as con:
            rows = con.execute(
                "SELECT kind, finished - started FROM jobs WHERE owner = ? AND state = ? "
                "AND started IS NOT NULL",
                (owner, SUCCEEDED),
            )
            return [(k, float(d)) for k, d in rows]

    def ping(self) -> None:
        """Raise if the file cannot be read."""
        with self._connect(write=False) as con:
            con.execute("SELECT COUNT(*) FROM jobs").fetchone()

    def transition(
        self, job_id: str, state: str, *, allowed: tuple[str, ...], **fields: Any
    ) -> bool:
        """Move a job to ``state`` if it is in one of ``allowed``; set ``fields`` with it.
        A job that ends unsuccessfully loses the results it wrote, in the same transaction
        (so none is written after it)."""
        now = time.time()
        extra = {"started": now} if state == RUNNING else {}
        extra |= {"finished": now} if state in FINAL else {}
        values = {**extra, **fields, "state": state}
        sets = ", ".join(f"{k} = ?" for k in values)
        marks = ", ".join("?" for _ in allowed)
        with self._connect() as con:
            changed = con.execute(
                f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({marks})",
                (*values.values(), job_id, *allowed),
            ).rowcount
            if changed and state in UNSUCCESSFUL:
                con.execute("DELETE FROM results WHERE job = ?", (job_id,))
        return bool(changed)

    def progress(self, job_id: str, text: str) -> None:
        """Say how a running job is getting on (nothing once it has ended)."""
        with self._connect() as con:
            con.execute(
                "UPDATE jobs SET progress = ? WHERE id = ? AND state = ?", (text, job_id, RUNNING)
            )

    def interrupt_unfinished(self) -> int:
        """At start-up: jobs left queued or running by an earlier server are interrupted
        (their processes stopped first: ``Runner.recover``)."""
        with self._connect() as con:
            unfinished = "SELECT id FROM jobs WHERE state IN (?, ?)"
            con.execute(f"DELETE FROM results WHERE job IN ({unfinished})", (QUEUED, RUNNING))
            return con.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ? WHERE state IN (?, ?)",
                (INTERRUPTED, time.time(), "the server stopped before this job finished; "
                 "submit it again", QUEUED, RUNNING),
            ).rowcount  # fmt: skip

    # Results ------------------------------------------------------------------------
    def put_result(self, job_id: str, name: str, media: str, body: bytes) -> None:
        """Keep a file of a running job (nothing once it has ended: cancelled, say); a
        CSV file is indexed for paging.

        Raises
        ------
        ResultsTooLarge, QuotaExceeded
            The job's results would be over the limit per job, or its key over its quota.
        """
        rows, marks = csv_index(body) if media == "text/csv" else (None, None)
        with self._connect() as con:
            found = con.execute(
                "SELECT owner FROM jobs WHERE id = ? AND state = ?", (job_id, RUNNING)
            ).fetchone()
            if found is None:
                return
            kept = con.execute(
                "SELECT COALESCE(SUM(size), 0) FROM results WHERE job = ? AND name != ?",
                (job_id, name),
            ).fetchone()[0]
            if self.result_bytes is not None and kept + len(body) > self.result_bytes:
                raise ResultsTooLarge(
                    f"the job's results are over the limit of {self.result_bytes / MB:.4g} MB "
                    f"per job ({name} would make {(kept + len(body)) / MB:.4g} MB)"
                )
            self._check_quota(con, found[0], len(body))
            con.execute(
                "INSERT OR REPLACE INTO results (job, name, media, size, rows, marks, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, name, media, len(body), rows, json.dumps(marks), body),
            )

    def result(self, job_id: str, name: str) -> tuple[str, bytes] | None:
        with self._connect(write=False) as con:
            row = con.execute(
                "SELECT media, body FROM results WHERE job = ? AND name = ?", (job_id, name)
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def result_names(self, job_id: str) -> list[str]:
        with self._connect(write=False) as con:
            rows = con.execute("SELECT name FROM results WHERE job = ? ORDER BY name", (job_id,))
            return [r[0] for r in rows]

    def page(self, job_id: str, name: str, offset: int, limit: int) -> Page | None:
        """Rows ``offset`` to ``offset + limit`` of a CSV result, parsed from the mark
        before ``offset`` on (``None``: no such CSV result)."""
        with self._connect(write=False) as con:
            row = con.execute(
                "SELECT rowid, rows, marks FROM results WHERE job = ? AND name = ? "
                "AND rows IS NOT NULL",
                (job_id, name),
            ).fetchone()
            if row is None:
                return None
            total, marks = int(row[1]), json.loads(row[2])
            with con.blobopen("results", "body", row[0], readonly=True) as blob:
                header = blob.read(marks[0] if marks else -1).decode()
                columns = next(csv.reader(io.StringIO(header, newline="")), [])
                if offset >= total:
                    return Page(columns, [], total)
                first, last = offset // STEP, (min(offset + limit, total) - 1) // STEP + 1
                blob.seek(marks[first])
                text = blob.read(marks[last] - marks[first] if last < len(marks) else -1).decode()
        skip = offset - first * STEP
        rows = list(islice(csv.reader(io.StringIO(text, newline="")), skip, skip + limit))
        return Page(columns, rows, total)

    def stream(self, job_id: str, name: str) -> tuple[str, int, Iterator[bytes]] | None:
        """A result's media type, size and bytes in chunks of :data:`CHUNK` (read as they
        are sent, from one snapshot of the file), or ``None``."""
        con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        row = con.execute(
            "SELECT rowid, media, size FROM results WHERE job = ? AND name = ?", (job_id, name)
        ).fetchone()
        if row is None:
            con.close()
            return None

        def chunks() -> Iterator[bytes]:
            try:
                with con.blobopen("results", "body", row[0], readonly=True) as blob:
                    while data := blob.read(CHUNK):
                        yield data
            finally:
                con.close()

        return row[1], int(row[2]), chunks()


def _create(con: sqlite3.Connection, table: str, columns: str) -> None:
    """Create ``table``; a table of an earlier version (other columns, or its body not
    last) is rebuilt with its rows, and what it lacks filled in (:data:`BACKFILL`)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} {columns}")
    have = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    con.execute(f"CREATE TABLE IF NOT EXISTS new_{table} {columns}")
    want = [r[1] for r in con.execute(f"PRAGMA table_info(new_{table})")]
    if have != want:
        common = ", ".join(c for c in want if c in have)
        filler = {"size": "0", "used": "0"}  # NOT NULL, filled in below
        extra = [c for c in want if c not in have and c in filler]
        names = ", ".join([common, *extra])
        values = ", ".join([common, *(filler[c] for c in extra)])
        con.execute(f"INSERT INTO new_{table} ({names}) SELECT {values} FROM {table}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE new_{table} RENAME TO {table}")
        con.execute(BACKFILL[table])
        if table == "results":
            csv_rows = con.execute("SELECT rowid, body FROM results WHERE media = 'text/csv'")
            for rowid, body in csv_rows.fetchall():
                rows, marks = csv_index(bytes(body))
                con.execute(
                    "UPDATE results SET rows = ?, marks = ? WHERE rowid = ?",
                    (rows, json.dumps(marks), rowid),
                )
    else:
        con.execute(f"DROP TABLE new_{table}")
