"""The REST API (FastAPI): inputs by content hash, and forecast, plan and comparison
jobs that run in worker processes, with their results as JSON, CSV and reports.

Every path but ``/healthz`` and ``/readyz`` needs an API key (``Authorization: Bearer
KEY`` or ``X-API-Key: KEY``). Nothing on the server's disk is reachable: inputs are
uploaded, and results are read from the service's own store. Every answer is bounded:
a ``422`` lists at most 50 problems, a result table comes in pages, a file is streamed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response, Security
from fastapi import Path as PathParameter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from capforecast.service.jobs import Runner
from capforecast.service.problems import Unprocessable, bounded, problem
from capforecast.service.requests import (
    ComparisonRequest,
    ForecastRequest,
    InputUpload,
    JobRequest,
    PlanRequest,
)
from capforecast.service.settings import Settings
from capforecast.service.store import (
    FINAL,
    IdempotencyConflict,
    InputInUse,
    Job,
    LimitReached,
    QuotaExceeded,
    Store,
)

VERSION = "v1"


# Responses -------------------------------------------------------------------------------
class InputInfo(BaseModel):
    hash: str
    kind: str
    files: list[str]
    bytes: int = Field(description="what the input takes of the key's storage quota")


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
    """A page of a result table: column names, and rows of numbers, text or null (empty
    cells), from ``offset`` on; ``next`` is the offset of the next page (null at the end)."""

    columns: list[str]
    rows: list[list[float | str | None]]
    total: int = Field(description="rows in the whole table")
    offset: int
    next: int | None


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


#: The result tables of each kind of job: ``GET /v1/{kind}/{id}/tables/{table}`` pages
#: ``<table>.csv``. A plan's are the CSV files of ``Plan.files()`` (it also has
#: ``plan.json``), a comparison's those of ``Comparison.tables()`` (it also has
#: ``summary.json``, ``report.html`` and ``report.xlsx``).
RESULT_TABLES: dict[str, tuple[str, ...]] = {
    "forecasts": ("forecast",),
    "plans": (
        "purchases", "capacity", "allocation", "rent", "shortfall", "spend", "power",
        "scenario_costs", "retirements", "clusters", "offers", "vendors", "rules", "cash",
        "penalties", "depreciation", "fiscal_years", "capex_by_vendor", "tco", "binding",
        "relaxations",
    ),
    "comparisons": ("kpis", "deltas", "capex_by_year", "units_by_sku", "power_headroom"),
}  # fmt: skip
#: The other result files of each kind of job.
RESULT_FILES: dict[str, tuple[str, ...]] = {
    "forecasts": (),
    "plans": ("plan.json",),
    "comparisons": ("summary.json", "report.html", "report.xlsx"),
}


def _listed(names: dict[str, tuple[str, ...]]) -> str:
    """``kind: `a`, `b`; kind: ...``, for the schema's descriptions."""
    return "; ".join(
        f"{kind}: " + ", ".join(f"`{n}`" for n in found) for kind, found in names.items() if found
    )


TABLE_HELP = "a result table, named without `.csv` (one with no rows has `total` 0); " + _listed(
    RESULT_TABLES
)
FILE_HELP = (
    "a result file: every table as `<table>.csv`, and "
    + _listed(RESULT_FILES)
    + "; the job's `files` lists them"
)


#: Error answers every authenticated path can give, documented in the OpenAPI schema.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "the body is not JSON"},
    401: {"model": ErrorMessage, "description": "no valid API key"},
    404: {"model": ErrorMessage, "description": "no such job, input or file (for this key)"},
    413: {"model": ErrorMessage, "description": "request body too large"},
}
FULL: dict[int | str, dict[str, Any]] = {
    507: {"model": ErrorMessage, "description": "the key's storage quota is full"},
}
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    **FULL,
    200: {"model": JobInfo, "description": "the job made before with this idempotency key"},
    409: {"model": ErrorMessage, "description": "the Idempotency-Key was used for another request"},
    429: {"model": ErrorMessage, "description": "too many jobs queued or running for this key"},
}


# Keys ------------------------------------------------------------------------------------
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


# Declared so that the OpenAPI schema says how to authenticate (either one will do); the
# key itself is checked by the guard, and read again by ``caller``.
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
BEARER = HTTPBearer(auto_error=False, description="an API key as a bearer token")


def caller(
    request: Request,
    _key: Annotated[str | None, Security(API_KEY)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> str:
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
    store = Store(settings.db, quota_bytes=settings.quota_bytes,
                  result_bytes=settings.max_result_bytes)  # fmt: skip
    runner = Runner(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.recover()
        runner.start()
        yield
        runner.stop()

    # No /docs or /redoc: their pages load scripts from a CDN. The schema is at
    # /openapi.json (with a key); docs/service.md says how to browse it.
    app = FastAPI(
        title="capforecast",
        version=VERSION,
        description=__doc__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )

    digests = tuple(_digest(key) for key in settings.keys)
    app.state.digests = digests
    app.add_middleware(Guard, digests=digests, max_body=settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # Where and why, never the value sent back (it may not even be JSON: Infinity).
        return JSONResponse({"detail": bounded(error.errors())}, status_code=422)

    @app.exception_handler(Unprocessable)
    async def unprocessable(request: Request, error: Unprocessable) -> JSONResponse:
        return JSONResponse({"detail": bounded(error.problems, error.total)}, status_code=422)

    @app.exception_handler(QuotaExceeded)
    async def full(request: Request, error: QuotaExceeded) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=507)

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

    # HEAD as well as GET: load balancers and uptime checks probe with either.
    @app.head("/healthz", tags=["health"], operation_id="healthz_head")
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    ready_errors: dict[int | str, dict[str, Any]] = {503: {"description": "not ready"}}

    @app.head("/readyz", tags=["health"], responses=ready_errors, operation_id="readyz_head")
    @app.get("/readyz", tags=["health"], responses=ready_errors)
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
        lines.append("# TYPE capforecast_storage_bytes gauge")
        lines.append(f"capforecast_storage_bytes {store.used(owner)}")
        lines.append("# TYPE capforecast_storage_quota_bytes gauge")
        lines.append(f"capforecast_storage_quota_bytes {settings.quota_bytes}")
        return "\n".join(lines) + "\n"

    @app.post(
        f"/{VERSION}/inputs", status_code=201, response_model=InputInfo, tags=["inputs"],
        responses={**ERRORS, **FULL},
    )  # fmt: skip
    def upload(body: InputUpload, owner: Owner) -> InputInfo:
        key, size = store.put_input(owner, body.kind, body.files, series=body.read())
        return InputInfo(hash=key, kind=body.kind, files=sorted(body.files), bytes=size)

    @app.get(
        f"/{VERSION}/inputs/{{key}}", response_model=InputInfo, tags=["inputs"], responses=ERRORS
    )
    def input_info(key: str, owner: Owner) -> InputInfo:
        found = store.get_input(owner, key)
        if found is None:
            raise HTTPException(404, "no such input")
        return InputInfo(hash=key, kind=found.kind, files=sorted(found.files), bytes=found.size)

    @app.delete(
        f"/{VERSION}/inputs/{{key}}", status_code=204, tags=["inputs"],
        responses={**ERRORS, 409: {"model": ErrorMessage,
                                   "description": "a queued or running job uses the input"}},
    )  # fmt: skip
    def delete_input(key: str, owner: Owner) -> Response:
        """Remove an input (jobs that used it keep their results)."""
        try:
            if not store.delete_input(owner, key):
                raise HTTPException(404, "no such input")
        except InputInUse:
            raise HTTPException(409, "a queued or running job uses this input") from None
        return Response(status_code=204)

    def submit(kind: str, body: JobRequest, owner: str, idempotency: str | None) -> JSONResponse:
        body.bounds(settings)
        field = body.input_field
        found = store.get_input(owner, body.input_hash())
        if found is None or found.kind != field:
            raise Unprocessable([problem(["body", field], f"no {field} input with this hash")])
        body.check(found, settings)
        limit = settings.max_active_jobs_per_key
        try:
            job, new = store.create_job(
                kind, owner, body.model_dump(), idempotency, limit, body.input_hash()
            )
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
        f"/{VERSION}/{{kind}}/{{job_id}}", response_model=JobInfo, tags=["jobs"],
        responses={**ERRORS, 200: {"description": "the job was queued or running: cancelled"},
                   204: {"description": "the job had finished: removed, with its results"}},
    )  # fmt: skip
    def delete_job(kind: JobKind, job_id: str, owner: Owner) -> Response:
        """Cancel a queued or running job (200, the job); remove a finished one and its
        results (204)."""
        job = own_job(kind, job_id, owner)
        if job.state in FINAL and store.delete_job(job.id):
            return Response(status_code=204)
        runner.cancel(job.id)
        return JSONResponse(info(own_job(kind, job_id, owner)).model_dump())

    @app.get(
        f"/{VERSION}/{{kind}}/{{job_id}}/tables/{{table}}", tags=["jobs"],
        response_model=Table, responses=ERRORS,
    )  # fmt: skip
    def table(
        kind: JobKind,
        job_id: str,
        table: Annotated[str, PathParameter(description=TABLE_HELP)],
        owner: Owner,
        offset: Annotated[int, Query(ge=0, description="the first row")] = 0,
        # A default, not an annotation: the bound is this server's (annotations are
        # resolved in the module, where there is no ``settings``).
        limit: int = Query(
            settings.max_table_rows, ge=1, le=settings.max_table_rows, description="rows at most"
        ),
    ) -> Table:
        """A page of a result table as JSON (the CSV file ``<table>.csv``): its columns,
        rows ``offset`` to ``offset + limit``, the total and the next page's offset."""
        job = own_job(kind, job_id, owner)
        page = (
            store.page(job_id, f"{table}.csv", offset, limit) if job.state == "succeeded" else None
        )
        if page is None:
            raise HTTPException(404, "no such table")
        end = offset + len(page.rows)
        return Table(columns=page.columns, rows=[_cells(r) for r in page.rows], total=page.total,
                     offset=offset, next=end if end < page.total else None)  # fmt: skip

    @app.get(
        f"/{VERSION}/{{kind}}/{{job_id}}/files/{{name}}", tags=["jobs"],
        responses={**ERRORS, 200: {"description": "the file (CSV, JSON, HTML or XLSX)"}},
    )  # fmt: skip
    def download(
        kind: JobKind,
        job_id: str,
        name: Annotated[str, PathParameter(description=FILE_HELP)],
        owner: Owner,
    ) -> Response:
        """A result file, streamed from the store."""
        job = own_job(kind, job_id, owner)
        found = store.stream(job_id, name) if job.state == "succeeded" else None
        if found is None:
            raise HTTPException(404, "no such file")
        media, size, chunks = found
        headers = {"Content-Disposition": f'attachment; filename="{name}"',
                   "Content-Length": str(size)}  # fmt: skip
        return StreamingResponse(chunks, media_type=media, headers=headers)

    return app


__all__ = ["Settings", "create_app"]
