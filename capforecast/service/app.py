"""The REST API (FastAPI): inputs by content hash, and forecast, plan and comparison
jobs that run in worker processes, with their results as JSON, CSV and reports.

Every path but ``/healthz`` and ``/readyz`` needs an API key (``Authorization: Bearer
KEY`` or ``X-API-Key: KEY``). Nothing on the server's disk is reachable: inputs are
uploaded, and results are read from the service's own store.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capforecast.core.errors import CapforecastError, InputError
from capforecast.scenario.spec import Changes
from capforecast.service.jobs import Runner
from capforecast.service.store import (
    FINAL,
    IdempotencyConflict,
    Job,
    LimitReached,
    Store,
    write_files,
)

VERSION = "v1"


#: The longest solve a request may ask for.
MAX_TIME_LIMIT_S = 3600.0


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


class Settings(BaseModel):
    """How the service runs."""

    db: Path
    keys: tuple[str, ...]
    workers: int = 2
    max_body_bytes: int = 20 * 2**20
    max_active_jobs_per_key: int = 8


# Requests --------------------------------------------------------------------------------
#: A plain file name: no folder, not hidden, .csv or .yaml.
FileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,58}\.(csv|yaml)$")]


class InputUpload(BaseModel):
    """Files of one input: a history (one CSV file) or a planning-input folder (its CSV
    files and options.yaml), each as text."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["history", "planning"]
    files: dict[FileName, str] = Field(min_length=1, max_length=20)

    @field_validator("files")
    @classmethod
    def _utf8(cls, files: dict[str, str]) -> dict[str, str]:
        for name, text in files.items():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"file {name!r} is not valid text (UTF-8)") from None
        return files


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    history: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of a history input")
    horizon: int = Field(ge=1, le=1000)
    models: list[str] = Field(default=["ets"], min_length=1, max_length=8)
    levels: list[int] = Field(default=[80, 95], max_length=6)

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        from capforecast.forecast.models import MODELS

        unknown = [m for m in models if m not in MODELS]
        if unknown:
            raise ValueError(f"unknown models {unknown}; known: {sorted(MODELS)}")
        return models

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[int]) -> list[int]:
        if any(not 0 < level < 100 for level in levels):
            raise ValueError("interval levels are integers in (0, 100)")
        return levels


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    planning: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of a planning input")
    options: dict[str, Any] = Field(default_factory=dict, description="options.yaml keys")

    @field_validator("options")
    @classmethod
    def _options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from capforecast.plan.options import PlanOptions

        checked = PlanOptions(**options)  # the library's own checks
        if checked.time_limit_s > MAX_TIME_LIMIT_S:
            raise ValueError(f"time_limit_s is at most {MAX_TIME_LIMIT_S} s on this service")
        if any(v != v or v in (float("inf"), float("-inf")) for v in _numbers(options)):
            raise ValueError("options are finite numbers")
        return options


class ComparisonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    planning: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of a planning input")
    scenarios: list[Changes] = Field(min_length=1, max_length=16)
    baseline: str | None = None

    @model_validator(mode="after")
    def _names(self) -> ComparisonRequest:
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError("every scenario needs its own name")
        for scenario in self.scenarios:
            PlanRequest(planning="0" * 64, options=scenario.options)  # the same caps
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not one of the scenarios {names}")
        return self


# Responses -------------------------------------------------------------------------------
class InputInfo(BaseModel):
    hash: str
    kind: str
    files: list[str]


class JobInfo(BaseModel):
    id: str
    kind: str
    state: str
    progress: str
    error: str | None
    created: float
    started: float | None
    finished: float | None
    files: list[str] = Field(default_factory=list, description="results, when succeeded")
    summary: dict[str, Any] | None = Field(default=None, description="plan.json of a plan")


class Table(BaseModel):
    """A result table: column names, and rows of numbers, text or null (empty cells)."""

    columns: list[str]
    rows: list[list[float | str | None]]


def _cells(row: list[str]) -> list[float | str | None]:
    """CSV cells as JSON values: numbers as numbers, empty as null."""
    values: list[float | str | None] = []
    for cell in row:
        try:
            number = float(cell)
            values.append(number if number == number and abs(number) != float("inf") else cell)
        except ValueError:
            values.append(cell if cell != "" else None)
    return values


class ErrorMessage(BaseModel):
    detail: str


#: Error answers every authenticated path can give, documented in the OpenAPI schema.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "the body is not JSON"},
    401: {"model": ErrorMessage, "description": "no valid API key"},
    404: {"model": ErrorMessage, "description": "no such job, input or file (for this key)"},
    413: {"model": ErrorMessage, "description": "request body too large"},
}
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"model": JobInfo, "description": "the job made before with this idempotency key"},
    409: {"model": ErrorMessage, "description": "the Idempotency-Key was used for another request"},
    429: {"model": ErrorMessage, "description": "too many jobs queued or running for this key"},
}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _presented(headers: dict[str, str]) -> str:
    """The key a request presents: ``X-API-Key``, or ``Authorization: Bearer KEY``."""
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def owner_of(key: str, digests: tuple[bytes, ...]) -> str | None:
    """The owner (a digest, never the key) of a known key, or None. Every known key is
    compared, in constant time, whatever the key given."""
    given = _digest(key)
    found = [hmac.compare_digest(given, d) for d in digests]
    return given.hex()[:32] if key and any(found) else None


def caller(request: Request) -> str:
    """The owner of the request's key (checked already by the guard)."""
    owner = owner_of(_presented(dict(request.headers)), request.app.state.digests)
    if owner is None:
        raise HTTPException(401, "a valid API key is required", {"WWW-Authenticate": "Bearer"})
    return owner


#: Paths open without a key.
OPEN_PATHS = ("/healthz", "/readyz")


class Guard:
    """ASGI middleware in front of everything: no key, no access (but health), and no body
    over the limit, counted as it streams in (a chunked body declares no length). Both
    are answered before any of the body is read or parsed."""

    def __init__(self, app: Any, digests: tuple[bytes, ...], max_body: int) -> None:
        self.app, self.digests, self.max_body = app, digests, max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] not in OPEN_PATHS and owner_of(_presented(headers), self.digests) is None:
            await _answer(send, 401, "a valid API key is required", {"www-authenticate": "Bearer"})
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, 413, "request body too large")
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # Read the body here, counting, so that an endless one is cut off at the limit.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > self.max_body:
                await _answer(send, 413, "request body too large")
                return
        body, replayed = b"".join(chunks), False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _answer(
    send: Any, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *extra]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


Owner = Annotated[str, Depends(caller)]
IdempotencyKey = Annotated[str | None, Header(max_length=128)]
JobKind = Literal["forecasts", "plans", "comparisons"]


def create_app(settings: Settings) -> FastAPI:
    """The application, with its store and runner (started and stopped with it)."""
    store = Store(settings.db)
    runner = Runner(store, settings.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.interrupt_unfinished()
        runner.start()
        yield
        runner.stop()

    app = FastAPI(
        title="capforecast",
        version=VERSION,
        description=__doc__,
        lifespan=lifespan,
    )

    digests = tuple(_digest(key) for key in settings.keys)
    app.state.digests = digests
    app.add_middleware(Guard, digests=digests, max_body=settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # Where and why, never the value sent back (it may not even be JSON: Infinity).
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.state.settings = settings

    def own_job(kind: str, job_id: str, owner: str) -> Job:
        job = store.job(job_id)
        if job is None or job.kind != kind or job.owner != owner:
            raise HTTPException(404, "no such job")
        return job

    def info(job: Job) -> JobInfo:
        files = store.result_names(job.id) if job.state == "succeeded" else []
        summary = None
        if "plan.json" in files:
            found = store.result(job.id, "plan.json")
            summary = json.loads(found[1]) if found else None
        return JobInfo(**{k: getattr(job, k) for k in JobInfo.model_fields if hasattr(job, k)},
                       files=files, summary=summary)  # fmt: skip

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
    def readyz() -> JSONResponse:
        ready = runner.alive()
        try:
            store.ping()
        except Exception:
            ready = False
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"], responses=ERRORS)
    def metrics(owner: Owner) -> str:
        lines = ["# TYPE capforecast_jobs gauge"]
        for (kind, state), count in sorted(store.counts(owner).items()):
            lines.append(f'capforecast_jobs{{kind="{kind}",state="{state}"}} {count}')
        lines.append("# TYPE capforecast_job_seconds summary")
        durations: dict[str, list[float]] = {}
        for kind, seconds in store.durations(owner):
            durations.setdefault(kind, []).append(seconds)
        for kind, values in sorted(durations.items()):
            lines.append(f'capforecast_job_seconds_count{{kind="{kind}"}} {len(values)}')
            lines.append(f'capforecast_job_seconds_sum{{kind="{kind}"}} {sum(values):.6f}')
        return "\n".join(lines) + "\n"

    @app.post(
        f"/{VERSION}/inputs", status_code=201, response_model=InputInfo, tags=["inputs"],
        responses=ERRORS,
    )  # fmt: skip
    def upload(body: InputUpload, owner: Owner) -> InputInfo:
        _validate_input(body)
        key = store.put_input(owner, body.kind, body.files)
        return InputInfo(hash=key, kind=body.kind, files=sorted(body.files))

    @app.get(
        f"/{VERSION}/inputs/{{key}}", response_model=InputInfo, tags=["inputs"], responses=ERRORS
    )
    def input_info(key: str, owner: Owner) -> InputInfo:
        found = store.get_input(owner, key)
        if found is None:
            raise HTTPException(404, "no such input")
        return InputInfo(hash=key, kind=found["kind"], files=sorted(found["files"]))

    def submit(kind: str, body: BaseModel, owner: str, idempotency: str | None) -> JSONResponse:
        for field in ("history", "planning"):
            key = getattr(body, field, None)
            if key is not None:
                found = store.get_input(owner, key)
                expected = "history" if field == "history" else "planning"
                if found is None or found["kind"] != expected:
                    detail = [{"loc": ["body", field], "msg": f"no {expected} input with this hash",
                               "type": "value_error"}]  # fmt: skip
                    return JSONResponse({"detail": detail}, status_code=422)
        limit = settings.max_active_jobs_per_key
        try:
            job, new = store.create_job(kind, owner, body.model_dump(), idempotency, limit)
        except LimitReached:
            return JSONResponse({"detail": "too many jobs queued or running for this key"}, 429)
        except IdempotencyConflict:
            message = "this Idempotency-Key was used for another request"
            return JSONResponse({"detail": message}, 409)
        return JSONResponse(info(job).model_dump(), status_code=202 if new else 200)

    @app.post(
        f"/{VERSION}/forecasts", status_code=202, response_model=JobInfo, tags=["jobs"],
        responses=JOB_ERRORS,
    )  # fmt: skip
    def create_forecast(
        body: ForecastRequest, owner: Owner, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        return submit("forecasts", body, owner, idempotency_key)

    @app.post(
        f"/{VERSION}/plans", status_code=202, response_model=JobInfo, tags=["jobs"],
        responses=JOB_ERRORS,
    )  # fmt: skip
    def create_plan(
        body: PlanRequest, owner: Owner, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        return submit("plans", body, owner, idempotency_key)

    @app.post(
        f"/{VERSION}/comparisons", status_code=202, response_model=JobInfo, tags=["jobs"],
        responses=JOB_ERRORS,
    )  # fmt: skip
    def create_comparison(
        body: ComparisonRequest, owner: Owner, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        return submit("comparisons", body, owner, idempotency_key)

    @app.get(
        f"/{VERSION}/{{kind}}/{{job_id}}", response_model=JobInfo, tags=["jobs"], responses=ERRORS
    )
    def get_job(kind: JobKind, job_id: str, owner: Owner) -> JobInfo:
        return info(own_job(kind, job_id, owner))

    @app.delete(
        f"/{VERSION}/{{kind}}/{{job_id}}", response_model=JobInfo, tags=["jobs"], responses=ERRORS
    )
    def cancel_job(kind: JobKind, job_id: str, owner: Owner) -> JobInfo:
        job = own_job(kind, job_id, owner)
        if job.state not in FINAL:
            runner.cancel(job.id)
        return info(own_job(kind, job_id, owner))

    @app.get(
        f"/{VERSION}/{{kind}}/{{job_id}}/tables/{{table}}", tags=["jobs"],
        response_model=Table, responses=ERRORS,
    )  # fmt: skip
    def table(kind: JobKind, job_id: str, table: str, owner: Owner) -> Table:
        """A result table as JSON: its columns and rows (the CSV file ``<table>.csv``)."""
        job = own_job(kind, job_id, owner)
        found = store.result(job_id, f"{table}.csv") if job.state == "succeeded" else None
        if found is None:
            raise HTTPException(404, "no such table")
        rows = list(csv.reader(io.StringIO(found[1].decode())))
        return Table(columns=rows[0] if rows else [], rows=[_cells(r) for r in rows[1:]])

    @app.get(
        f"/{VERSION}/{{kind}}/{{job_id}}/files/{{name}}", tags=["jobs"],
        responses={**ERRORS, 200: {"description": "the file (CSV, JSON, HTML or XLSX)"}},
    )  # fmt: skip
    def download(kind: JobKind, job_id: str, name: str, owner: Owner) -> Response:
        job = own_job(kind, job_id, owner)
        found = store.result(job_id, name) if job.state == "succeeded" else None
        if found is None:
            raise HTTPException(404, "no such file")
        media, body = found
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(body, media_type=media, headers=headers)

    return app


def _validate_input(body: InputUpload) -> None:
    """The library's own validation of an uploaded input; its problems as a 422 naming
    the file (``body.files.<name>``)."""
    with tempfile.TemporaryDirectory(prefix="capforecast-upload-") as folder:
        write_files(body.files, Path(folder))
        try:
            if body.kind == "history":
                from capforecast.core.history import read_history

                if len(body.files) != 1 or not next(iter(body.files)).endswith(".csv"):
                    raise InputError([])
                read_history(Path(folder) / next(iter(body.files)))
            else:
                from capforecast.plan.inputs import read_planning_inputs

                read_planning_inputs(folder)
        except InputError as error:
            detail = [
                {"loc": ["body", "files", p.file], "msg": str(p), "type": "value_error"}
                for p in error.problems
            ] or [
                {
                    "loc": ["body", "files"],
                    "msg": "a history is one .csv file",
                    "type": "value_error",
                }
            ]
            raise HTTPException(422, detail) from None
        except CapforecastError as error:
            detail = [{"loc": ["body", "files"], "msg": str(error), "type": "value_error"}]
            raise HTTPException(422, detail) from None


__all__ = ["Settings", "create_app"]
