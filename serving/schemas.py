"""The HTTP API's bodies (responses reuse the pipeline's `Result` and the catalog's own models)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from flowgen.catalog import Action, Table, TriggerType
from flowgen.catalog.names import TenantName
from flowgen.catalog.store import CORE
from generation.prompts import Style


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    style: Style = Field("compact", description="Prompt style: compact (fine-tuned model) or paper (prompted).")


class WorkflowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requirement: str = Field(description="What the workflow should do, in plain words.")
    tenant: TenantName = Field(CORE, description="Whose catalog (steps, tables, columns, values) to use.")
    options: Options = Options()


class ErrorBody(BaseModel):
    error: str = Field(description="Kind of error, e.g. ClientError, UnknownTenantError, Unavailable.")
    message: str = Field(description="4xx: what to change in the request; 5xx: what failed and whether to retry.")
    retryable: bool | None = Field(None, description="5xx only: whether the same request may succeed later.")
    error_id: str | None = Field(None, description="5xx only: the id under which the server's log holds the rest.")


class TenantCatalog(BaseModel):
    tenant: str
    tables: dict[str, Table]
    triggers: dict[str, TriggerType]
    actions: dict[str, Action]
    custom: list[str] = Field(description="Tables, trigger types and actions this tenant added to core.")
