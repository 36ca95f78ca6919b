"""Bearer tokens' grants: which tenant a token may use, what it may do there, and the name its catalog
changes carry in the version history.

`FLOWGEN_SERVING__TOKENS` maps each token to a grant. The first form, token -> tenant ("*": every tenant),
still loads: a tenant's token may generate, read and change its catalog (named "token of <tenant>"), and
"*" may do everything (named "admin").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from flowgen.catalog.names import TENANT_PATTERN

Scope = Literal["generate", "read_catalog", "change_catalog", "admin", "metrics"]
"""generate: workflows and edits; read_catalog: catalogs, documents, versions, suggestions; change_catalog:
put, delete, replace, roll back; admin: onboard tenants; metrics: /metrics when it requires a token."""
ALL_SCOPES: frozenset[Scope] = frozenset(get_args(Scope))
TENANT_SCOPES: frozenset[Scope] = frozenset({"generate", "read_catalog", "change_catalog"})


class TokenGrant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=100, description="Who holds it: the author of its catalog changes.")
    tenant: str = Field(
        pattern=rf"^\*$|{TENANT_PATTERN}",
        description='The tenant it may use ("*": every tenant); the core catalog is readable with any token.',
    )
    scopes: frozenset[Scope] = Field(TENANT_SCOPES, description="What it may do; default: all but admin and metrics.")


def _from_tenant(value: Any) -> Any:
    """The first form: a tenant name, or "*" for an admin token."""
    if not isinstance(value, str):
        return value
    if value == "*":
        return {"name": "admin", "tenant": "*", "scopes": ALL_SCOPES}
    return {"name": f"token of {value}", "tenant": value, "scopes": TENANT_SCOPES}


Grant = Annotated[TokenGrant, BeforeValidator(_from_tenant)]
