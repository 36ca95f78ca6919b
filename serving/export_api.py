"""Export routes: a workflow as a project for the platform it will run on (ServiceNow: a Fluent project that
its SDK builds). The workflow is checked against the tenant's catalog the service serves."""

from __future__ import annotations

import asyncio
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from flowgen.catalog import Catalog
from flowgen.catalog.names import TenantName
from flowgen.workflow import Workflow
from interop.servicenow.project import export_project, workflow_key

from .auth import Access
from .handles import RemoteSuggester
from .schemas import ErrorBody

Authorization = Annotated[str | None, Header(description="Bearer <token>, when the service has tokens.")]
router = APIRouter(prefix="/v1/exports", tags=["exports"],
                   responses={code: {"model": ErrorBody} for code in (401, 403, 404, 422, 503)})  # fmt: skip


class Host(Protocol):
    """What the route needs from the ingress replica that serves it."""

    access: Access
    suggester: RemoteSuggester


def host() -> Host:
    return serve.get_replica_context().servable_object  # type: ignore[no-any-return]


Ingress = Annotated[Host, Depends(host)]


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: TenantName = "core"
    workflow: Workflow
    name: str | None = Field(None, max_length=100, description="The flow's file name; default: its title.")


class FluentProject(BaseModel):
    files: dict[str, str] = Field(description="Relative path -> content: write them, `npm install`, `now-sdk build`.")


@router.post("/servicenow")
async def servicenow(body: ExportRequest, ingress: Ingress, authorization: Authorization = None) -> FluentProject:
    """The workflow as a Fluent project for ServiceNow's SDK; 422 naming the step it cannot express."""
    ingress.access.check(authorization, body.tenant)
    catalog: Catalog = await ingress.suggester.catalog(body.tenant)
    key = workflow_key(body.name or body.workflow.title or "workflow")
    project = await asyncio.to_thread(export_project, {key: body.workflow}, catalog)
    return FluentProject(files=project.files)
