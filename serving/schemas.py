"""The HTTP API's bodies (responses reuse the pipeline's `Result` and the catalog's own models)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from flowgen.catalog import Action, Catalog, Table, TriggerType
from flowgen.catalog.names import TenantName
from flowgen.catalog.store import CORE
from flowgen.errors import ClientError
from flowgen.workflow import Workflow
from generation.prompts import Style


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    style: Style | None = Field(
        None, description="Prompt style; default: the one the served model was trained for (tuned: the fine-tuned one)."
    )


Name = Annotated[str, Field(max_length=100)]


class Pinned(BaseModel):
    """Names the author chose (`#table`, `@step` on the authoring page): retrieval suggests them first."""

    model_config = ConfigDict(extra="forbid")
    tables: list[Name] = Field([], max_length=20, description="Tables of the tenant's catalog.")
    steps: list[Name] = Field([], max_length=20, description="Trigger types and actions of the tenant's catalog.")

    def check(self, catalog: Catalog) -> None:
        unknown = [t for t in self.tables if t not in catalog.tables]
        unknown += [s for s in self.steps if s not in catalog.actions and s not in catalog.triggers]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise ClientError(f"pinned names not in tenant {catalog.tenant!r}'s catalog: {names}")


class WorkflowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requirement: str = Field(description="What the workflow should do, in plain words.")
    tenant: TenantName = Field(CORE, description="Whose catalog (steps, tables, columns, values) to use.")
    options: Options = Options()
    pinned: Pinned = Pinned()


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workflow: Workflow = Field(description="The workflow to change; one that breaks the tenant's rules is a 422.")
    instruction: str = Field(description="What to change, in plain words (a follow-up message).")
    tenant: TenantName = Field(CORE, description="Whose catalog the workflow uses.")
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
