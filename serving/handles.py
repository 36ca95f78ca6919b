"""The pipeline's engine and retriever, reached through Ray Serve deployment handles.

A caller that goes away (a client closing its stream) cancels its downstream requests explicitly,
so that the LLM replica aborts their generation in vLLM instead of finishing unread work.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ray.serve.handle import DeploymentHandle, DeploymentResponse

from flowgen.catalog import Catalog
from generation.engines import Completion


async def call(response: DeploymentResponse) -> Any:
    """The response; cancelled with its caller, so that the deployment stops working on it."""
    try:
        return await response
    except asyncio.CancelledError:
        response.cancel()
        raise


class RemoteEngine:
    """The LLM deployment's completions: `complete`, or `complete_edit` for the `editor` (its edit adapter)."""

    def __init__(self, handle: DeploymentHandle, method: str = "complete") -> None:
        self.handle = handle
        self.method = method

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        return await call(getattr(self.handle, self.method).remote(prompt, schema, max_tokens, min_tokens))

    @property
    def editor(self) -> RemoteEngine:
        return RemoteEngine(self.handle, "complete_edit")


class RemoteSuggester:
    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle

    async def catalog(self, tenant: str) -> Catalog:
        return await call(self.handle.catalog.remote(tenant))

    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]:
        return await call(self.handle.steps.remote(requirement, tenant, k))

    async def tables(self, query: str, tenant: str, k: int) -> list[str]:
        return await call(self.handle.tables.remote(query, tenant, k))

    async def columns(self, table: str, query: str, tenant: str, k: int) -> list[str]:
        return await call(self.handle.columns.remote(table, query, tenant, k))

    async def in_scope(self, requirement: str) -> float:
        return await call(self.handle.in_scope.remote(requirement))
