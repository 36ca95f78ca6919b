"""`flowgen serve`: the whole application on this machine (or on a Ray cluster), until Ctrl-C."""

from __future__ import annotations

import ipaddress
import json
import signal
import time
from typing import Annotated

import typer

from flowgen.commandline import settings_of
from flowgen.console import err
from flowgen.errors import FlowGenError
from flowgen.settings import ServingSettings, Settings

from .app import application

APP_NAME = "flowgen"
EXAMPLE = "Every time a user becomes inactive, find all incidents assigned to them and assign them to their manager."


def start(settings: Settings) -> str:
    """Start (or join) Ray, deploy the application and wait until every replica is up; returns its URL."""
    import ray
    from ray import serve

    local = settings.serving.ray_address is None
    ray.init(
        address=settings.serving.ray_address,
        include_dashboard=False,
        # Metrics reach /metrics within seconds instead of the default ten.
        _system_config={"metrics_report_interval_ms": 2000} if local else None,
        object_store_memory=512 * 1024**2 if local else None,
    )
    serve.start(http_options={"host": settings.serving.host, "port": settings.serving.port})
    err.print("deploying: retriever (indexes the catalogs on first start) and engine (about two minutes on 2 cores)")
    serve.run(application(settings), name=APP_NAME, route_prefix="/")
    host = "127.0.0.1" if settings.serving.host in ("0.0.0.0", "::") else settings.serving.host
    return f"http://{host}:{settings.serving.port}"


def stop() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: other machines may reach it
        return False


def exposure(serving: ServingSettings, allow_open: bool) -> str | None:
    """Fail closed: no tokens on an address other machines reach is refused unless `allow_open`. Returns the
    warning to show when the API is open anyway (None: tokens are on)."""
    if serving.tokens:
        return None
    if not allow_open and not _loopback(serving.host):
        raise FlowGenError(
            f"refusing to serve without tokens on {serving.host}, which other machines can reach: set "
            "FLOWGEN_SERVING__TOKENS (docs/serving.md, Auth), or pass --allow-open on a network you trust"
        )
    return f"no tokens: anyone who reaches {serving.host}:{serving.port} may generate and change every catalog"


AllowOpen = Annotated[
    bool, typer.Option("--allow-open", help="Serve without tokens on a non-loopback address (a network you trust).")
]


def serve_command(ctx: typer.Context, allow_open: AllowOpen = False) -> None:
    """Serve the HTTP API: workflows, their event stream, tenant catalogs, /metrics, /docs."""
    settings = settings_of(ctx)
    warning = exposure(settings.serving, allow_open)
    if warning:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    url = start(settings)
    auth = ' -H "Authorization: Bearer <token>"' if settings.serving.tokens else ""
    body = json.dumps({"requirement": EXAMPLE})
    print(f"FlowGen is serving on {url} (API docs: {url}/docs, metrics: {url}/metrics)")
    for path, flag in (("/v1/workflows", "-s"), ("/v1/workflows:stream", "-N")):
        print(f"  curl {flag} {url}{path} -H 'Content-Type: application/json'{auth} -d '{body}'")
    print("Ctrl-C stops the service.", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a container's stop: shut down as on Ctrl-C
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        err.print("stopping")
    finally:
        stop()
