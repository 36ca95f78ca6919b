"""The retriever deployment: Qdrant and the embedder, and the tenant catalogs they index.

Embedding calls from concurrent requests (the stage-2 column look-ups of every workflow in flight)
are gathered by `@serve.batch` into one encoder batch. Catalog changes happen here too, so that a
change and its re-indexing are one step: the next request's suggestions include it.
"""

from __future__ import annotations

import asyncio
import logging

from ray import serve

from flowgen.catalog import Action, Catalog, Table, list_tenants
from flowgen.catalog.store import CORE, put_entry
from flowgen.settings import Settings
from retrieval.suggest import Retriever, clauses

from .catalogs import writable_root


@serve.deployment(
    name="retriever",
    max_ongoing_requests=512,
    ray_actor_options={"num_cpus": 0},
    health_check_period_s=10,
)
class RetrieverServer:
    def __init__(self, settings: Settings) -> None:
        self.root = writable_root(settings)
        self.retriever = Retriever.open(settings.model_copy(update={"catalog_dir": self.root}))
        results = self.retriever.sync_all()
        self.retriever.scope()  # the out-of-scope gate: loaded, or trained now rather than on the first request
        changed = sum(r.added + r.updated for r in results)
        logging.getLogger("ray.serve").info("index ready: %d documents (re)indexed", changed)

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.003)
    async def _embed(self, texts: list[str]) -> list[None]:
        self.retriever.prefetch(texts)  # one encoder batch; the searches below then hit the cache
        return [None] * len(texts)

    async def catalog(self, tenant: str) -> Catalog:
        return self.retriever.catalog(tenant)

    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]:
        await asyncio.gather(*(self._embed(text) for text in clauses(requirement)))
        return [s.key for s in self.retriever.steps(requirement, tenant, k)]

    async def tables(self, query: str, tenant: str, k: int) -> list[str]:
        await self._embed(query)
        return [s.key for s in self.retriever.tables(query, tenant, k)]

    async def columns(self, table: str, query: str, tenant: str, k: int) -> list[str]:
        await self._embed(query)
        return [s.column or "" for s in self.retriever.columns(table, query, tenant, k)]

    async def in_scope(self, requirement: str) -> float:
        await self._embed(requirement)
        return self.retriever.in_scope(requirement)

    def tenants(self) -> list[str]:
        return [CORE, *list_tenants(self.root)]

    def put(self, tenant: str, entry: Table | Action) -> Catalog:
        """Validate and write the change, then index it; a refused change leaves files and index as they were."""
        put_entry(tenant, self.root, entry)
        self.retriever.sync_tenant(tenant)
        return self.retriever.catalog(tenant)
