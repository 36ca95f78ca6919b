"""The retriever deployment: Qdrant and the embedder, and the tenant catalogs they index.

Embedding calls from concurrent requests (the stage-2 column look-ups of every workflow in flight)
are gathered by `@serve.batch` into one encoder batch. Catalog changes happen here too, so that a
change and its re-indexing are one step: the next request's suggestions include it. They are `async`
methods that do not await: on this replica's event loop, one runs at a time and never beside a query of
the same Qdrant client (Ray would run a sync method in a thread pool); the catalog root's writer lock
serializes them with other processes.
"""

from __future__ import annotations

import asyncio
import logging

from ray import serve

from flowgen.catalog import Action, Catalog, Table, list_tenants
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.store import CORE
from flowgen.catalog.versions import CatalogVersion, VersionInfo, writer_lock
from flowgen.errors import CatalogUnavailable
from flowgen.settings import Settings
from retrieval.changes import CatalogChanges, EntryKind
from retrieval.suggest import Retriever, clauses

from .catalogs import writable_root


@serve.deployment(
    name="retriever",
    max_ongoing_requests=512,
    ray_actor_options={"num_cpus": 0},
    health_check_period_s=10,
)
class RetrieverServer:
    def __init__(self, settings: Settings, retriever: Retriever | None = None) -> None:
        """`retriever`: one already open on its catalog root (tests); by default the configured index and
        embedder on the writable copy of the catalogs."""
        if retriever is None:
            root = writable_root(settings)
            retriever = Retriever.open(settings.model_copy(update={"catalog_dir": root}))
        self.root = retriever.catalog_root
        self.retriever = retriever
        self.unavailable: dict[str, str] = {}  # tenant -> why its catalog is not served (503 for it alone)
        with writer_lock(self.root):  # another replica's change is not overwritten by this start's older read
            results = self.retriever.sync_all(on_unavailable=self._unavailable)
        self.retriever.scope()  # the out-of-scope gate (shipped or trained offline): a missing one fails here
        self.changes = CatalogChanges(self.retriever, settings.catalog_limits)
        # batched per replica, not on the class: a batch queue created in this process (a test that runs
        # the class in-process) would otherwise make the class unpicklable for a later deployment
        self._embed = serve.batch(max_batch_size=64, batch_wait_timeout_s=0.003)(self._prefetch)
        changed = sum(r.added + r.updated for r in results)
        logging.getLogger("ray.serve").info("index ready: %d documents (re)indexed", changed)

    def _unavailable(self, tenant: str, error: CatalogUnavailable) -> None:
        self.unavailable[tenant] = str(error)
        logging.getLogger("flowgen.errors").error("tenant %s not served: %s | %s", tenant, error, error.detail)

    async def _prefetch(self, texts: list[str]) -> list[None]:
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

    def unavailable_tenants(self) -> list[str]:
        """Tenants whose stored catalog could not be read or did not check at start (repair, then restart)."""
        return sorted(self.unavailable)

    # Changes run in a worker thread (the root's writer lock serializes them): indexing a large catalog must not
    # hold up other tenants' searches on this replica's event loop.
    async def create(self, tenant: str, document: CatalogFile, author: str) -> VersionInfo:
        return await asyncio.to_thread(self.changes.create, tenant, document, author)

    async def replace(self, tenant: str, document: CatalogFile, author: str, if_match: int | None) -> VersionInfo:
        return await asyncio.to_thread(self.changes.replace, tenant, document, author, if_match)

    async def put(self, tenant: str, entry: Table | Action, author: str, if_match: int | None) -> VersionInfo:
        return await asyncio.to_thread(self.changes.put, tenant, entry, author, if_match)

    async def delete(self, tenant: str, kind: EntryKind, key: str, author: str, if_match: int | None) -> VersionInfo:
        return await asyncio.to_thread(self.changes.delete, tenant, kind, key, author, if_match)

    async def rollback(self, tenant: str, version: int, author: str, if_match: int | None) -> VersionInfo:
        return await asyncio.to_thread(self.changes.rollback, tenant, version, author, if_match)

    async def export(self, tenant: str) -> tuple[int, CatalogFile]:
        return self.changes.export(tenant)

    async def versions(self, tenant: str) -> list[VersionInfo]:
        return self.changes.versions(tenant)

    async def version(self, tenant: str, version: int) -> CatalogVersion:
        return self.changes.read(tenant, version)
