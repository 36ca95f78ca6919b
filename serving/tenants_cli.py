"""`flowgen tenants`: onboard and change tenants' catalogs through the running service's API, so that
its one writer versions, indexes and serves every change (files are never written beside it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from flowgen.commandline import settings_of
from flowgen.console import err

app = typer.Typer(no_args_is_help=True, help="Onboard a tenant from a catalog file, export, replace, versions.")
Token = Annotated[str | None, typer.Option(envvar="FLOWGEN_TOKEN", help="Bearer token, when the service has them.")]
Url = Annotated[str | None, typer.Option(help="The service; default: FLOWGEN_SERVING__HOST and __PORT.")]


def _call(ctx: typer.Context, method: str, path: str, url: str | None, token: str | None,
          **kwargs: Any) -> httpx.Response:  # fmt: skip
    serving = settings_of(ctx).serving
    base = url or f"http://{'127.0.0.1' if serving.host in ('0.0.0.0', '::') else serving.host}:{serving.port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.request(method, f"{base}{path}", headers=headers | kwargs.pop("headers", {}), timeout=600,
                             **kwargs)  # fmt: skip
    if response.status_code >= 400:
        err.print(f"[red]error {response.status_code}:[/red] {response.json().get('message', response.text)}")
        raise typer.Exit(1)
    return response


def _document(file: Path) -> Any:
    return json.loads(file.read_text(encoding="utf-8"))


@app.command()
def create(ctx: typer.Context, tenant: str, file: Path, url: Url = None, token: Token = None) -> None:
    """Onboard TENANT from a catalog file (tables, triggers, actions): checked whole, indexed, then visible."""
    body = {"tenant": tenant, "catalog": _document(file)}
    print(json.dumps(_call(ctx, "POST", "/v1/tenants", url, token, json=body).json()))


@app.command()
def export(ctx: typer.Context, tenant: str, url: Url = None, token: Token = None) -> None:
    """Print TENANT's own catalog document (what create and replace take)."""
    response = _call(ctx, "GET", f"/v1/tenants/{tenant}/document", url, token)
    err.print(f"version {response.headers['ETag']}")
    print(json.dumps(response.json(), indent=2))


@app.command()
def replace(ctx: typer.Context, tenant: str, file: Path,
            if_match: Annotated[int | None, typer.Option(help="Version read.")] = None,
            url: Url = None, token: Token = None) -> None:  # fmt: skip
    """Replace TENANT's catalog with a file's (a new version; with --if-match, only if still that version)."""
    headers = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
    path = f"/v1/tenants/{tenant}/document"
    print(json.dumps(_call(ctx, "PUT", path, url, token, json=_document(file), headers=headers).json()))


@app.command()
def versions(ctx: typer.Context, tenant: str, url: Url = None, token: Token = None) -> None:
    """List TENANT's versions: number, when, who, what changed."""
    for version in _call(ctx, "GET", f"/v1/tenants/{tenant}/versions", url, token).json():
        print(f"{version['version']:>4}  {version['created_at']}  {version['author']}  {version['change']}")


@app.command()
def rollback(ctx: typer.Context, tenant: str, version: int, url: Url = None, token: Token = None) -> None:
    """Make VERSION current again, as a new version."""
    print(json.dumps(_call(ctx, "POST", f"/v1/tenants/{tenant}/versions/{version}/rollback", url, token).json()))
