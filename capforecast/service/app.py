"""The REST API (FastAPI): inputs by content hash, and forecast, plan and comparison
jobs that run in worker processes, with their results as JSON, CSV and reports.

Every path but ``/healthz`` and ``/readyz`` needs an API key (``Authorization: Bearer
KEY`` or ``X-API-Key: KEY``). Nothing on the server's disk is reachable: inputs are
uploaded, and results are read from the service's own store.
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capforecast.core.errors import CapforecastError, InputError
from capforecast.scenario.spec import Changes
from capforecast.service.jobs import Runner
from capforecast.service.store import FINAL, Job, Store

VERSION = "v1"
KINDS = ("forecasts", "plans", "comparisons")


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

    model_config = ConfigDict(extra="forbid")
    kind: Literal["history", "planning"]
    files: dict[FileName, str] = Field(min_length=1, max_length=20)


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    model_config = ConfigDict(extra="forbid")
    planning: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of a planning input")
    options: dict[str, Any] = Field(default_factory=dict, description="options.yaml keys")

    @field_validator("options")
    @classmethod
    def _options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from capforecast.plan.options import PlanOptions

        PlanOptions(**options)  # the library's own checks
        return options


class ComparisonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    planning: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of a planning input")
    scenarios: list[Changes] = Field(min_length=1, max_length=16)
    baseline: str | None = None

    @model_validator(mode="after")
    def _names(self) -> ComparisonRequest:
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError("every scenario needs its own name")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not one of the scenarios {names}")
        return self


REQUESTS: dict[str, type[BaseModel]] = {
    "forecasts": ForecastRequest,
    "plans": PlanRequest,
    "comparisons": ComparisonRequest,
}


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
    429: {"model": ErrorMessage, "description": "too many jobs queued or running for this key"},
}


def _owner(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def caller(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The owner of a valid API key; 401 otherwise (saying nothing more)."""
    keys = request.app.state.settings.keys
    given = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
    if given and any(hmac.compare_digest(given, key) for key in keys):
        return _owner(given)
    raise HTTPException(401, "a valid API key is required", {"WWW-Authenticate": "Bearer"})


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

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        return await call_next(request)

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
            import json

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
            store.counts()
        except Exception:
            ready = False
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"], responses=ERRORS)
    def metrics(owner: Owner) -> str:
        lines = ["# TYPE capforecast_jobs gauge"]
        for (kind, state), count in sorted(store.counts().items()):
            lines.append(f'capforecast_jobs{{kind="{kind}",state="{state}"}} {count}')
        lines.append("# TYPE capforecast_job_seconds summary")
        durations: dict[str, list[float]] = {}
        for kind, seconds in store.durations():
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
        key = store.put_input(body.kind, body.files)
        return InputInfo(hash=key, kind=body.kind, files=sorted(body.files))

    @app.get(
        f"/{VERSION}/inputs/{{key}}", response_model=InputInfo, tags=["inputs"], responses=ERRORS
    )
    def input_info(key: str, owner: Owner) -> InputInfo:
        found = store.get_input(key)
        if found is None:
            raise HTTPException(404, "no such input")
        return InputInfo(hash=key, kind=found["kind"], files=sorted(found["files"]))

    def submit(kind: str, body: BaseModel, owner: str, idempotency: str | None) -> JSONResponse:
        for field in ("history", "planning"):
            key = getattr(body, field, None)
            if key is not None:
                found = store.get_input(key)
                expected = "history" if field == "history" else "planning"
                if found is None or found["kind"] != expected:
                    detail = [{"loc": ["body", field], "msg": f"no {expected} input with this hash",
                               "type": "value_error"}]  # fmt: skip
                    return JSONResponse({"detail": detail}, status_code=422)
        if store.active(owner) >= settings.max_active_jobs_per_key:
            return JSONResponse({"detail": "too many jobs queued or running for this key"}, 429)
        job, new = store.create_job(kind, owner, body.model_dump(), idempotency)
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
        f"/{VERSION}/{{kind}}/{{job_id}}/files/{{name}}", tags=["jobs"],
        responses={**ERRORS, 200: {"description": "the file (CSV, JSON, HTML or XLSX)"}},
    )  # fmt: skip
    def download(kind: JobKind, job_id: str, name: str, owner: Owner) -> Response:
        own_job(kind, job_id, owner)
        found = store.result(job_id, name)
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
        for name, text in body.files.items():
            (Path(folder) / name).write_text(text)
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
