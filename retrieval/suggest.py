"""Suggestions for the two stages: steps for the outline; tables, columns and values for inputs."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from flowgen.catalog import Catalog, list_tenants, load_catalog
from flowgen.catalog.store import CORE, DEFAULT_ROOT, forget_catalogs, tenant_folder
from flowgen.catalog.versions import current_version
from flowgen.errors import CatalogUnavailable, ClientError
from flowgen.settings import Settings

from .documents import Document, documents
from .embedder import Embedder, default_model_path
from .index import Index, SyncResult, open_client
from .scope import ScopeModel, load_gate

CACHED_VECTORS = 20_000  # query vectors kept (about 30 MB): a long-running service must not grow forever
REFRESH_S = 1.0
"""How often a served tenant catalog is checked against its stored version. Another replica (sharing the catalog
volume and a Qdrant server) may have changed it; that replica indexed the change before it committed it, so a
replica that sees the new version on disk finds its entries in the index."""
_CLAUSES = re.compile(r"[.;:!?\n]+|,?\s+(?:then|and then|after that|also|otherwise|if not|->)\s+|,\s+", re.IGNORECASE)


class Suggestion(Document):
    score: float

    @classmethod
    def of(cls, doc: Document, score: float) -> Suggestion:
        return cls(**doc.model_dump(), score=round(score, 4))


def clauses(text: str) -> list[str]:
    """The requirement and its clauses: each step is usually named in one clause of its own."""
    parts = [p.strip() for p in _CLAUSES.split(text) if len(p.strip()) > 3]
    return [text, *dict.fromkeys(parts)] if len(parts) > 1 else [text]


class Retriever:
    def __init__(self, index: Index, catalog_root: Path = DEFAULT_ROOT, data_dir: Path | None = None) -> None:
        self.index = index
        self.catalog_root = catalog_root
        self.data_dir = data_dir  # where a gate trained on this machine is kept; None: the shipped gates only
        self._scope: ScopeModel | None = None
        self._catalogs: dict[str, Catalog] = {}  # the catalogs as last indexed (or first read)
        self._served: dict[str, tuple[int, float]] = {}  # tenant -> its stored version served, when last checked
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    def prefetch(self, texts: list[str]) -> None:
        """Embed many queries in batches ahead of use (evaluation, a workflow's stage-2 calls)."""
        self._embed_missing([t for t in texts if t.strip()])

    def _embed_missing(self, texts: list[str]) -> dict[str, list[float]]:
        """Embed the texts not cached yet, in one batch, and remember them (the oldest are forgotten)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, (v.tolist() for v in self.index.embedder.encode(missing)), strict=True))
        for text, vector in fresh.items():
            self._cache[text] = vector
            self._cache.move_to_end(text)
        while len(self._cache) > CACHED_VECTORS:
            self._cache.popitem(last=False)
        return fresh

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        embedder = embedder or Embedder(default_model_path(settings), settings.retrieval.batch_size)
        url = settings.retrieval.qdrant_url
        return cls(Index(open_client(url, settings.qdrant_dir), embedder, server=url is not None), settings.catalog_dir,
                   settings.data_dir)  # fmt: skip

    def catalog(self, tenant: str) -> Catalog:
        """The tenant's catalog as served; re-read when its stored version changed (checked every REFRESH_S)."""
        held = self._catalogs.get(tenant)
        if held is not None and not self._changed_elsewhere(tenant):
            return held
        if held is not None:
            forget_catalogs()  # read the files again, not the loader's cache
        version = self._stored_version(tenant)  # before reading: a change in between is seen at the next check
        self._catalogs[tenant] = load_catalog(tenant, self.catalog_root)
        self._served[tenant] = (version, time.monotonic())
        return self._catalogs[tenant]

    def _stored_version(self, tenant: str) -> int:
        """Core is changed by an upgrade only (version 0); a tenant's by the catalog API, one version each."""
        return 0 if tenant == CORE else current_version(tenant_folder(tenant, self.catalog_root))

    def _changed_elsewhere(self, tenant: str) -> bool:
        version, checked = self._served.get(tenant, (0, 0.0))
        now = time.monotonic()
        if tenant == CORE or now - checked < REFRESH_S:
            return False
        self._served[tenant] = (version, now)
        return self._stored_version(tenant) != version

    def _owners(self, tenant: str) -> list[str]:
        self.catalog(tenant)  # raises UnknownTenantError with the known tenants
        return [CORE] if tenant == CORE else [CORE, tenant]

    def _table_owner(self, tenant: str, table: str) -> list[str]:
        catalog = self.catalog(tenant)
        if table not in catalog.tables:
            raise ClientError(f"tenant {tenant!r} has no table {table!r}")
        return [tenant if table in catalog.tenant_ids else CORE]

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        texts = [t for t in texts if t and t.strip()]
        if not texts:
            raise ClientError("empty query: give a requirement or an annotation")
        fresh = self._embed_missing(texts)
        return [self._cache.get(t) or fresh[t] for t in texts]

    def scope(self) -> ScopeModel:
        """The out-of-scope gate for this embedder, loaded (trained here or shipped); `GateMissing` if none."""
        if self._scope is None:
            self._scope = load_gate(self.data_dir, self.index.model, str(self.index.embedder.path))
        return self._scope

    def in_scope(self, requirement: str) -> float:
        """Probability that the requirement asks for a workflow (refuse below `scope().threshold`)."""
        return float(self.scope().probability(self._vectors([requirement]))[0])

    def steps(self, requirement: str, tenant: str = CORE, k: int = 20) -> list[Suggestion]:
        """Trigger types and actions for the outline, best first."""
        owners = self._owners(tenant)
        hits = self.index.search("steps", self._vectors(clauses(requirement)), owners, k)
        return [Suggestion.of(doc, score) for doc, score in hits]

    def tables(self, query: str, tenant: str = CORE, k: int = 10) -> list[Suggestion]:
        hits = self.index.search("tables", self._vectors([query]), self._owners(tenant), k)
        return [Suggestion.of(doc, score) for doc, score in hits]

    def columns(self, table: str, query: str, tenant: str = CORE, k: int = 10) -> list[Suggestion]:
        hits = self.index.search("columns", self._vectors([query]), self._table_owner(tenant, table), k, table=table)
        return [Suggestion.of(doc, score) for doc, score in hits]

    def values(self, table: str, column: str, query: str, tenant: str = CORE, k: int = 10) -> list[Suggestion]:
        owners = self._table_owner(tenant, table)
        hits = self.index.search("values", self._vectors([query]), owners, k, table=table, column=column)
        return [Suggestion.of(doc, score) for doc, score in hits]

    def sync_tenant(self, tenant: str, on_batch: Callable[[int], None] | None = None) -> SyncResult:
        """Index a catalog's own entries as they are on disk now (validating the catalog first)."""
        forget_catalogs()
        return self.publish(load_catalog(tenant, self.catalog_root), on_batch=on_batch)

    def publish(self, catalog: Catalog, commit: Callable[[], object] | None = None,
                on_batch: Callable[[int], None] | None = None) -> SyncResult:  # fmt: skip
        """Index a catalog's own entries, then `commit` it (the write that makes it the stored version), then
        serve it. If indexing or the commit fails, the index is put back to the catalog served before (none:
        emptied) and that one stays served: files, index and served catalog stay on one version."""
        before = self._catalogs.get(catalog.tenant)
        try:
            result = self.index.sync(catalog.tenant, documents(catalog), on_batch)
            if commit is not None:
                commit()
                forget_catalogs()
        except BaseException:
            if commit is not None:
                self.index.sync(catalog.tenant, documents(before) if before else [])
            raise
        self._catalogs[catalog.tenant] = catalog  # only once the index holds it
        self._served[catalog.tenant] = (self._stored_version(catalog.tenant), time.monotonic())
        return result

    def sync_all(
        self,
        on_batch: Callable[[int], None] | None = None,
        on_unavailable: Callable[[str, CatalogUnavailable], None] | None = None,
    ) -> list[SyncResult]:
        """Index every catalog. With `on_unavailable`, a tenant whose stored catalog cannot be read or does not
        check is handed to it and skipped (a service keeps serving the others); core's always raises."""
        results = []
        for tenant in [CORE, *list_tenants(self.catalog_root)]:
            try:
                results.append(self.sync_tenant(tenant, on_batch))
            except CatalogUnavailable as error:
                if on_unavailable is None or tenant == CORE:
                    raise
                on_unavailable(tenant, error)
        return results
