"""What the service keeps, in one SQLite file: inputs by content hash (each key sees only
its own), jobs with their state, and the files each job produced. A restart loses
nothing: finished results are still there, and jobs that were queued or running are
marked ``interrupted``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS inputs (
    owner TEXT NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (owner, hash)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, idempotency TEXT,
    request TEXT NOT NULL, request_hash TEXT NOT NULL, state TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '', error TEXT, created REAL NOT NULL, started REAL,
    finished REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs (owner, idempotency)
    WHERE idempotency IS NOT NULL;
CREATE TABLE IF NOT EXISTS results (
    job TEXT NOT NULL, name TEXT NOT NULL, media TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (job, name)
);
"""

#: Job states; the last four are final.
QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "succeeded", "failed", "cancelled", "interrupted"
FINAL = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)


class IdempotencyConflict(Exception):
    """An idempotency key used again for another request."""


class LimitReached(Exception):
    """Too many jobs queued or running for one key."""


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


def write_files(files: dict[str, str], folder: Path) -> Path:
    """The files of an input, written into ``folder`` (for the library's readers)."""
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def content_hash(kind: str, files: dict[str, str]) -> str:
    """The hash of an input: its kind and files, in a canonical form."""
    canonical = json.dumps({"kind": kind, "files": files}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Store:
    """The service's SQLite file. Every method opens its own short transaction, so the
    server, its job processes and a restarted server can share the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)
        finally:
            con.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # Inputs -------------------------------------------------------------------------
    def put_input(self, owner: str, kind: str, files: dict[str, str]) -> str:
        key = content_hash(kind, files)
        body = json.dumps({"kind": kind, "files": files}, sort_keys=True)
        with self._connect() as con:
            con.execute(
                "INSERT OR IGNORE INTO inputs VALUES (?, ?, ?, ?, ?)",
                (owner, key, kind, body, time.time()),
            )
        return key

    def get_input(self, owner: str, key: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT body FROM inputs WHERE owner = ? AND hash = ?", (owner, key)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    # Jobs ---------------------------------------------------------------------------
    def create_job(
        self, kind: str, owner: str, request: dict[str, Any], idempotency: str | None, limit: int
    ) -> tuple[Job, bool]:
        """A new queued job, or (with the same idempotency key, kind and request) the one
        made before; the flag says whether it is new. In one transaction, so that
        concurrent requests neither pass the limit nor make two jobs for one key.

        Raises
        ------
        IdempotencyConflict
            The idempotency key was used before for another kind or request.
        LimitReached
            ``owner`` has ``limit`` jobs queued or running.
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
            job_id = uuid.uuid4().hex
            con.execute(
                "INSERT INTO jobs (id, kind, owner, idempotency, request, request_hash, state, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, owner, idempotency, text, digest, QUEUED, time.time()),
            )
            return self._job(con, job_id), True  # type: ignore[return-value]

    def job(self, job_id: str) -> Job | None:
        with self._connect() as con:
            return self._job(con, job_id)

    @staticmethod
    def _job(con: sqlite3.Connection, job_id: str) -> Job | None:
        row = con.execute(
            "SELECT id, kind, owner, request, state, progress, error, created, started, finished "
            "FROM jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        if row is None:
            return None
        values = list(row)
        values[3] = json.loads(values[3])
        return Job(*values)

    def jobs(self, state: str) -> list[Job]:
        with self._connect() as con:
            ids = [r[0] for r in con.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY created, id", (state,)
            )]  # fmt: skip
            return [job for i in ids if (job := self._job(con, i)) is not None]

    def counts(self, owner: str) -> dict[tuple[str, str], int]:
        """Jobs of ``owner`` by kind and state."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT kind, state, COUNT(*) FROM jobs WHERE owner = ? GROUP BY kind, state",
                (owner,),
            )
            return {(k, s): int(n) for k, s, n in rows}

    def durations(self, owner: str) -> list[tuple[str, float]]:
        """Seconds from start to end of ``owner``'s succeeded jobs, by kind."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT kind, finished - started FROM jobs WHERE owner = ? AND state = ? "
                "AND started IS NOT NULL",
                (owner, SUCCEEDED),
            )
            return [(k, float(d)) for k, d in rows]

    def ping(self) -> None:
        """Raise if the file cannot be read."""
        with self._connect() as con:
            con.execute("SELECT COUNT(*) FROM jobs").fetchone()

    def transition(
        self, job_id: str, state: str, *, allowed: tuple[str, ...], **fields: Any
    ) -> bool:
        """Move a job to ``state`` if it is in one of ``allowed``; set ``fields`` with it."""
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
        return bool(changed)

    def progress(self, job_id: str, text: str) -> None:
        """Say how a running job is getting on (nothing once it has ended)."""
        with self._connect() as con:
            con.execute(
                "UPDATE jobs SET progress = ? WHERE id = ? AND state = ?", (text, job_id, RUNNING)
            )

    def interrupt_unfinished(self) -> int:
        """At start-up: jobs left queued or running by an earlier server are interrupted."""
        with self._connect() as con:
            return con.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ? WHERE state IN (?, ?)",
                (INTERRUPTED, time.time(), "the server stopped before this job finished; "
                 "submit it again", QUEUED, RUNNING),
            ).rowcount  # fmt: skip

    # Results ------------------------------------------------------------------------
    def put_result(self, job_id: str, name: str, media: str, body: bytes) -> None:
        """Keep a file of a running job (nothing once it has ended: cancelled, say)."""
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO results SELECT ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state = ?)",
                (job_id, name, media, body, job_id, RUNNING),
            )

    def result(self, job_id: str, name: str) -> tuple[str, bytes] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT media, body FROM results WHERE job = ? AND name = ?", (job_id, name)
            ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def result_names(self, job_id: str) -> list[str]:
        with self._connect() as con:
            rows = con.execute("SELECT name FROM results WHERE job = ? ORDER BY name", (job_id,))
            return [r[0] for r in rows]
