"""The HTTP API (FastAPI inside a Ray Serve ingress): workflows, their event stream, tenant catalogs,
health and metrics. The pipeline runs here; its retriever and engine calls go to their deployments."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import ray
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from ray import serve
from ray.serve.handle import DeploymentHandle

from flowgen.catalog import Catalog
from flowgen.catalog.names import TenantName
from flowgen.errors import FlowGenError, NotReady
from flowgen.settings import Settings
from generation.editing.stage import EditResult, EditStage, check_instruction, check_workflow
from generation.pipeline import Event, Pipeline, Result, normalize

from .admission import TenantSlots
from .auth import Access
from .body_limit import BodyLimit
from .catalog_api import host
from .catalog_api import router as catalog_router
from .export_api import router as export_router
from .faults import UNAVAILABLE, answer, headers, problem
from .handles import RemoteEngine, RemoteSuggester
from .metrics import Metrics
from .schemas import EditRequest, ErrorBody, TenantCatalog, WorkflowRequest

api = FastAPI(
    title="FlowGen",
    summary="Natural-language requirements to low-code workflows (outline, then each step's inputs).",
    version="0.1.0",
)
STATIC = Path(__file__).parent / "static"
api.mount("/static", StaticFiles(directory=STATIC), name="static")
Authorization = Annotated[str | None, Header(description="Bearer <token>, when the service has tokens.")]
Answer = TypeVar("Answer", Result, EditResult)
READY_TIMEOUT_S = 10
ERROR_CODES = (400, 401, 403, 404, 422, 429, 502, 503, 504)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in ERROR_CODES}


async def _error(request: Request, error: Exception) -> JSONResponse:
    status, body = answer(error)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers(error))


# Expected failures get their answer quietly; for any other exception Starlette also logs the traceback.
for _kind in (FlowGenError, TimeoutError, *UNAVAILABLE, Exception):
    api.add_exception_handler(_kind, _error)


api.include_router(catalog_router)
api.include_router(export_router)
api.add_middleware(BodyLimit, limit=lambda: host().max_body_bytes)


@api.exception_handler(RequestValidationError)
async def _bad_body(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
    return JSONResponse(ErrorBody(error="InvalidRequest", message=problems).model_dump(), status_code=422)


@api.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The authoring page (serving/static): a requirement in, the workflow drawn live from the stream."""
    return FileResponse(STATIC / "index.html")


def _view(catalog: Catalog) -> TenantCatalog:
    return TenantCatalog(tenant=catalog.tenant, tables=catalog.tables, triggers=catalog.triggers,
                         actions=catalog.actions, custom=sorted(catalog.tenant_ids))  # fmt: skip


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


# Ray pickles the deployment class by value when it is decorated: helpers it calls come before it.
@serve.deployment(name="ingress", max_ongoing_requests=64, max_queued_requests=256, ray_actor_options={"num_cpus": 0})
@serve.ingress(api)
class Ingress:
    def __init__(self, retriever: DeploymentHandle, llm: DeploymentHandle, settings: Settings) -> None:
        self.retriever = retriever
        self.llm = llm
        self.suggester = RemoteSuggester(retriever)
        self.engine = RemoteEngine(llm)
        self.access = Access(settings.serving.tokens)
        self.max_body_bytes = settings.serving.max_body_bytes
        self.metrics_auth = settings.serving.metrics_auth
        self.slots = TenantSlots(settings.serving.max_workflows_per_tenant)
        self.timeout = settings.serving.request_timeout_s
        self.style = settings.engine.prompt_style
        self.metrics = Metrics()
        self._metrics_url: str | None = None

    async def _metered(self, endpoint: str, job: Awaitable[Answer]) -> Answer:
        """Run one request's generation under the request timeout, counted in flight and by error kind, and
        record its answer under `endpoint`."""
        self.metrics.started()
        try:
            async with asyncio.timeout(self.timeout):
                result = await job
        except BaseException as error:
            if not isinstance(error, asyncio.CancelledError):
                self.metrics.errors.inc(tags={"kind": problem(error).kind})
            raise
        finally:
            self.metrics.finished()
        self.metrics.record(endpoint, result)
        return result

    async def _generate(self, body: WorkflowRequest, endpoint: str, on_event: Event | None = None) -> Result:
        pipeline = Pipeline(self.engine, self.suggester, body.options.style or self.style)
        return await self._metered(endpoint, pipeline.run(
            body.requirement, body.tenant, on_event, perfect_steps=body.pinned.steps, pinned_tables=body.pinned.tables
        ))  # fmt: skip

    @api.post("/v1/workflows", responses=ERRORS)
    async def create(self, body: WorkflowRequest, authorization: Authorization = None) -> Result:
        """Generate a workflow: the answer (or a refusal), its validation report, timings per stage."""
        self.access.check(authorization, body.tenant)
        body.pinned.check(await self.suggester.catalog(body.tenant))
        with self.slots.held(body.tenant):
            return await self._generate(body, "workflows")

    @api.post("/v1/workflows:stream", responses=ERRORS, response_class=StreamingResponse)
    async def stream(self, body: WorkflowRequest, authorization: Authorization = None) -> StreamingResponse:
        """Server-sent events: `outline` first, one `step` per populated step, then `done` or `error`."""
        self.access.check(authorization, body.tenant)
        normalize(body.requirement)  # bad input is a 4xx before the stream starts, not an error event
        body.pinned.check(await self.suggester.catalog(body.tenant))
        return self._streamed(body.tenant, lambda push: self._generate(body, "stream", push))

    @api.post("/v1/workflows:edit", responses=ERRORS)
    async def edit(self, body: EditRequest, authorization: Authorization = None) -> EditResult:
        """Change a workflow by a follow-up instruction: the edited workflow, the edit script, a readable diff and
        the validation report; steps the instruction does not name stay as they were (only renumbered)."""
        self.access.check(authorization, body.tenant)
        with self.slots.held(body.tenant):  # an edit is a generation: it counts against the tenant's limit
            return await self._edit(body, "edit")

    @api.post("/v1/workflows:editStream", responses=ERRORS, response_class=StreamingResponse)
    async def edit_stream(self, body: EditRequest, authorization: Authorization = None) -> StreamingResponse:
        """Server-sent events of an edit: `script` (the edit script and the changed steps' numbers), one `step`
        per new or changed step whose inputs are written, then `done` (what `:edit` answers) or `error`."""
        self.access.check(authorization, body.tenant)
        check_instruction(body.instruction)  # a bad instruction or workflow is a 4xx before the stream starts
        check_workflow(body.workflow, await self.suggester.catalog(body.tenant))
        return self._streamed(body.tenant, lambda push: self._edit(body, "edit_stream", push))

    async def _edit(self, body: EditRequest, endpoint: str, on_event: Event | None = None) -> EditResult:
        stage = EditStage(Pipeline(self.engine, self.suggester, body.options.style or self.style), self.engine.editor)
        return await self._metered(endpoint, stage.run(body.workflow, body.instruction, body.tenant, on_event))

    def _streamed(self, tenant: str, run: Callable[[Event], Awaitable[BaseModel]]) -> StreamingResponse:
        """One generation as server-sent events: its own events, then `done` (its result) or `error`. It holds a
        slot of the tenant until it ends, and a client that goes away cancels it (and its engine requests)."""
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

        async def push(kind: str, data: dict[str, Any]) -> None:
            await queue.put((kind, data))

        async def produce() -> None:
            try:
                result = await run(push)
                await push("done", result.model_dump(mode="json", exclude_none=True))
            except Exception as error:
                status, failure = answer(error)
                await push("error", {"status": status, **failure.model_dump(exclude_none=True)})

        release = self.slots.take(tenant)
        task = asyncio.create_task(produce())
        task.add_done_callback(lambda _: release())  # also when cancelled before it ran

        async def events() -> AsyncIterator[str]:
            try:
                while True:
                    kind, data = await queue.get()
                    yield _sse(kind, data)
                    if kind in ("done", "error"):
                        return
            finally:
                task.cancel()  # the client went away: stop its generation in the engine

        return StreamingResponse(events(), media_type="text/event-stream")

    @api.get("/v1/tenants")
    async def tenants(self, authorization: Authorization = None) -> list[str]:
        return self.access.visible(authorization, await self.retriever.tenants.remote())

    @api.get("/v1/tenants/{tenant}/catalog", responses=ERRORS)
    async def catalog(self, tenant: TenantName, authorization: Authorization = None) -> TenantCatalog:
        self.access.check(authorization, tenant, "read_catalog")
        return _view(await self.suggester.catalog(tenant))

    @api.get("/v1/tenants/{tenant}/suggestions", responses=ERRORS)
    async def suggestions(
        self, tenant: TenantName, q: str, k: int = 10, authorization: Authorization = None
    ) -> dict[str, list[str]]:
        """What retrieval suggests for a requirement: steps for the outline, tables for the inputs."""
        self.access.check(authorization, tenant, "read_catalog")
        query = normalize(q)
        steps, tables = await asyncio.gather(
            self.suggester.steps(query, tenant, k), self.suggester.tables(query, tenant, k)
        )
        return {"steps": steps, "tables": tables}

    @api.get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", responses={503: {"model": ErrorBody}})
    async def readyz(self) -> dict[str, Any]:
        """Ready when the retriever and the engine both answer; tenants whose stored catalog cannot be read are
        listed (their requests are 503, every other tenant is served)."""
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                tenants, unavailable, engine = await asyncio.gather(
                    self.retriever.tenants.remote(),
                    self.retriever.unavailable_tenants.remote(),
                    self.llm.stats.remote(),
                )
        except TimeoutError as error:  # not a workflow's 504: the service is not ready
            raise NotReady(f"the retriever or the engine did not answer within {READY_TIMEOUT_S} s") from error
        return {"status": "ready", "tenants": len(tenants), "unavailable_tenants": unavailable, "engine": engine}

    @api.get("/metrics", response_class=PlainTextResponse)
    async def metrics(self, authorization: Authorization = None) -> PlainTextResponse:
        """Prometheus text: FlowGen's metrics beside Ray Serve's and vLLM's, from this node's metrics agent (with
        FLOWGEN_SERVING__METRICS_AUTH, for a token with the metrics scope only)."""
        if self.metrics_auth:
            self.access.require(authorization, "metrics")
        if self._metrics_url is None:
            node_id = ray.get_runtime_context().get_node_id()
            node = next(n for n in ray.nodes() if n["NodeID"] == node_id)
            self._metrics_url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self._metrics_url)
        return PlainTextResponse(response.text, media_type="text/plain; version=0.0.4")
