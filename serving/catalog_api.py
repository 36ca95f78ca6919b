"""The catalog routes: onboard a tenant, export / replace its catalog, change or delete one entry, list,
read and roll back its versions. Every write goes to the retriever deployment's one writer; `If-Match`
(the version an editor read, as the `ETag` of every answer) makes a stale write a 412."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict
from ray import serve
from ray.serve.handle import DeploymentHandle

from flowgen.catalog import Action, Table
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.names import TenantName
from flowgen.catalog.versions import CatalogVersion, VersionInfo
from flowgen.errors import ClientError

from .auth import Access
from .handles import call
from .schemas import ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 412, 413,
                                                                                   422, 503)}  # fmt: skip
Authorization = Annotated[str | None, Header(description="Bearer <token>, when the service has tokens.")]
IfMatch = Annotated[str | None, Header(description='The version the change was made from, e.g. "3" (the ETag).')]


class Host(Protocol):
    """What the routes need from the ingress replica that serves them."""

    access: Access
    retriever: DeploymentHandle
    max_body_bytes: int


def host() -> Host:
    return serve.get_replica_context().servable_object  # type: ignore[no-any-return]


Ingress = Annotated[Host, Depends(host)]
router = APIRouter(prefix="/v1/tenants", tags=["catalogs"], responses=ERRORS)


class NewTenant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: TenantName
    catalog: CatalogFile


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ClientError('If-Match takes the version from the ETag, e.g. If-Match: "3"')
    return int(text)


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


async def _write(ingress: Host, response: Response, tenant: str, authorization: str | None, method: str,
                 *args: Any) -> VersionInfo:  # fmt: skip
    """Onboarding needs the admin scope; every other write, change_catalog."""
    ingress.access.check(authorization, tenant, "admin" if method == "create" else "change_catalog")
    info: VersionInfo = await call(getattr(ingress.retriever, method).remote(tenant, *args))
    _tagged(response, info.version)
    return info


@router.post("", status_code=201)
async def create_tenant(body: NewTenant, ingress: Ingress, response: Response,
                        authorization: Authorization = None) -> VersionInfo:  # fmt: skip
    """Onboard a tenant from its whole catalog: checked whole, indexed, then visible at once (version 1)."""
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, body.tenant, authorization, "create", body.catalog, author)


@router.get("/{tenant}/document")
async def export_catalog(tenant: TenantName, ingress: Ingress, response: Response,
                         authorization: Authorization = None) -> CatalogFile:  # fmt: skip
    """The tenant's own catalog document (what onboarding and replace take); its version is the ETag."""
    ingress.access.check(authorization, tenant, "read_catalog")
    version, document = await call(ingress.retriever.export.remote(tenant))
    _tagged(response, version)
    return document


@router.put("/{tenant}/document")
async def replace_catalog(tenant: TenantName, document: CatalogFile, ingress: Ingress, response: Response,
                          authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    """Replace the tenant's whole catalog (a new version)."""
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "replace", document, author, _if_match(if_match))


@router.put("/{tenant}/actions/{action_id}")
async def put_action(tenant: TenantName, action_id: str, action: Action, ingress: Ingress, response: Response,
                     authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    """Add or change a custom step; refused (and nothing changed) if the catalog would not check."""
    if action.id != action_id:
        raise ClientError(f"the body's id {action.id!r} differs from the path's {action_id!r}")
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "put", action, author, _if_match(if_match))


@router.put("/{tenant}/tables/{name}")
async def put_table(tenant: TenantName, name: str, table: Table, ingress: Ingress, response: Response,
                    authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    """Add or change a table; refused (and nothing changed) if the catalog would not check."""
    if table.name != name:
        raise ClientError(f"the body's name {table.name!r} differs from the path's {name!r}")
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "put", table, author, _if_match(if_match))


@router.delete("/{tenant}/actions/{action_id}")
async def delete_action(tenant: TenantName, action_id: str, ingress: Ingress, response: Response,
                        authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "delete", "action", action_id, author,
                        _if_match(if_match))  # fmt: skip


@router.delete("/{tenant}/tables/{name}")
async def delete_table(tenant: TenantName, name: str, ingress: Ingress, response: Response,
                       authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    """Refused (422) while a column, a table or a step depends on it; the message names them."""
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "delete", "table", name, author,
                        _if_match(if_match))  # fmt: skip


@router.get("/{tenant}/versions")
async def list_versions(tenant: TenantName, ingress: Ingress, authorization: Authorization = None
                        ) -> list[VersionInfo]:  # fmt: skip
    """Every version: who made it, when, and what it changed (empty: the catalog as installed)."""
    ingress.access.check(authorization, tenant, "read_catalog")
    return await call(ingress.retriever.versions.remote(tenant))


@router.get("/{tenant}/versions/{version}")
async def read_version(tenant: TenantName, version: int, ingress: Ingress, authorization: Authorization = None
                       ) -> CatalogVersion:  # fmt: skip
    ingress.access.check(authorization, tenant, "read_catalog")
    return await call(ingress.retriever.version.remote(tenant, version))


@router.post("/{tenant}/versions/{version}/rollback")
async def rollback(tenant: TenantName, version: int, ingress: Ingress, response: Response,
                   authorization: Authorization = None, if_match: IfMatch = None) -> VersionInfo:  # fmt: skip
    """Make an old version current again, as a new version (the history is kept)."""
    author = ingress.access.name_of(authorization)
    return await _write(ingress, response, tenant, authorization, "rollback", version, author, _if_match(if_match))
