"""The Qdrant index: local mode on a folder by default, a server by URL, the same code for both.

One collection per owner ("core" or a tenant) and group (steps, tables, columns, values): a tenant's
query reads the core collections and its own, so it cannot see another tenant's entries, and no
query needs a tenant filter (local mode evaluates filters point by point, 10-50x slower). Points
carry a digest of text and model, so that syncing a catalog re-embeds only what changed. Embedding
happens before anything is written: a sync that fails (bad catalog, embedder error) leaves the
previous index as it was.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from flowgen.errors import IndexUnavailable

from .documents import Document
from .embedder import Embedder

GROUPS = ("steps", "tables", "columns", "values")


class SyncResult(BaseModel):
    owner: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


def open_client(url: str | None, path: Path) -> QdrantClient:
    if url:
        client = QdrantClient(url=url, timeout=5, check_compatibility=False)
        try:
            client.get_collections()
        except Exception as err:  # the client raises transport-specific errors
            raise IndexUnavailable("the index server (Qdrant) does not answer", f"{url}: {err}") from err
        return client
    path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(path))
    except RuntimeError as err:  # "already accessed by another instance"
        raise IndexUnavailable("the index folder is in use by another process", f"{path}: {err}") from err


@contextmanager
def answering(what: str) -> Iterator[None]:
    """A Qdrant server that cannot be reached or fails (5xx) is IndexUnavailable (503, retry), where it happens;
    a 4xx from it is our bug and stays a 500."""
    try:
        yield
    except (ResponseHandlingException, UnexpectedResponse) as err:
        if isinstance(err, UnexpectedResponse) and err.status_code is not None and err.status_code < 500:
            raise
        raise IndexUnavailable(f"the index server (Qdrant) failed to answer while {what}", repr(err)) from err


def model_id(embedder: Embedder) -> str:
    """The embedder's digest (of its weights' bytes: `Embedder.id`); for a stand-in without one, of its folder."""
    found = getattr(embedder, "id", None)
    if isinstance(found, str):
        return found
    return hashlib.sha1(str(Path(embedder.path).resolve()).encode()).hexdigest()[:16]


class Index:
    def __init__(self, client: QdrantClient, embedder: Embedder, server: bool = False) -> None:
        self.client = client
        self.server = server
        self.embedder = embedder
        # A catalog change indexes in a worker thread while searches go on: the client is used by one thread at
        # a time (local mode is plain Python structures), and the embedding, the slow part, holds no lock.
        self._client_lock = threading.RLock()
        self.model = model_id(embedder)

    @staticmethod
    def collection(owner: str, group: str) -> str:
        return f"{owner}--{group}"

    def _ensure(self, name: str) -> None:
        if self.client.collection_exists(name):
            size = self.client.get_collection(name).config.params.vectors.size  # type: ignore[union-attr]
            if size == self.embedder.dimension:
                return
            self.client.delete_collection(name)  # another embedding model: every vector must be redone
        self.client.create_collection(
            name, vectors_config=qm.VectorParams(size=self.embedder.dimension, distance=qm.Distance.COSINE)
        )
        if self.server:  # local mode filters by scanning; payload indexes are a server feature
            for field in ("table", "column"):
                self.client.create_payload_index(name, field, qm.PayloadSchemaType.KEYWORD)

    def _digest(self, doc: Document) -> str:
        return hashlib.sha1(f"{self.model}|{doc.text}".encode()).hexdigest()

    def _existing(self, collection: str) -> dict[str, str]:
        found: dict[str, str] = {}
        offset = None
        if not self.client.collection_exists(collection):
            return found
        while True:
            points, offset = self.client.scroll(collection, limit=1024, offset=offset, with_payload=["digest"])
            found.update({str(p.id): (p.payload or {}).get("digest", "") for p in points})
            if offset is None:
                return found

    def sync(self, owner: str, docs: list[Document], on_batch: Callable[[int], None] | None = None) -> SyncResult:
        """Make the index hold exactly `docs` for `owner`; only changed documents are re-embedded."""
        with answering(f"indexing {owner!r}"):
            return self._sync(owner, docs, on_batch)

    def _sync(self, owner: str, docs: list[Document], on_batch: Callable[[int], None] | None) -> SyncResult:
        result = SyncResult(owner=owner)
        plans = []
        for group in GROUPS:
            collection = self.collection(owner, group)
            with self._client_lock:
                existing = self._existing(collection)
            mine = [d for d in docs if d.group == group]
            changed = [d for d in mine if existing.get(d.point_id) != self._digest(d)]
            stale = sorted(set(existing) - {d.point_id for d in mine})
            result.added += sum(1 for d in changed if d.point_id not in existing)
            result.updated += sum(1 for d in changed if d.point_id in existing)
            result.removed += len(stale)
            result.unchanged += len(mine) - len(changed)
            plans.append((collection, changed, stale))
        # Embed everything first: nothing is written unless all of it succeeded.
        vectors = {}
        for _, changed, _ in plans:
            for start in range(0, len(changed), 256):
                batch = changed[start : start + 256]
                for doc, vector in zip(batch, self.embedder.encode([d.text for d in batch]), strict=True):
                    vectors[doc.point_id] = vector.tolist()
                if on_batch:
                    on_batch(len(batch))
        with self._client_lock:
            self._write(plans, vectors)
        return result

    def _write(self, plans: list[tuple[str, list[Document], list[str]]], vectors: dict[str, list[float]]) -> None:
        for collection, changed, stale in plans:
            self._ensure(collection)
            for start in range(0, len(changed), 512):
                points = [
                    qm.PointStruct(id=d.point_id, vector=vectors[d.point_id],
                                   payload=d.model_dump(exclude_none=True) | {"digest": self._digest(d)})
                    for d in changed[start : start + 512]
                ]  # fmt: skip
                self.client.upsert(collection, points=points)
            if stale:
                self.client.delete(collection, points_selector=qm.PointIdsList(points=stale))

    def search(
        self, group: str, vectors: Iterable[list[float]], owners: list[str], limit: int, **match: str
    ) -> list[tuple[Document, float]]:
        """Best documents of the owners' collections over several query vectors (each scored by its best)."""
        with answering("searching"), self._client_lock:
            return self._search(group, vectors, owners, limit, **match)

    def _search(
        self, group: str, vectors: Iterable[list[float]], owners: list[str], limit: int, **match: str
    ) -> list[tuple[Document, float]]:
        must = [qm.FieldCondition(key=k, match=qm.MatchValue(value=v)) for k, v in match.items()]
        query_filter = qm.Filter(must=must) if must else None
        collections = [self.collection(owner, group) for owner in owners]
        for name, owner in zip(collections, owners, strict=True):
            if not self.client.collection_exists(name):
                raise IndexUnavailable(f"catalog {owner!r} is not indexed yet: run `flowgen index build`")
        best: dict[str, tuple[Document, float]] = {}
        for vector in vectors:
            hits = [
                hit for name in collections
                for hit in self.client.query_points(name, query=vector, query_filter=query_filter, limit=limit).points
            ]  # fmt: skip
            for hit in hits:
                key = str(hit.id)
                if key not in best or hit.score > best[key][1]:
                    payload = {k: v for k, v in (hit.payload or {}).items() if k != "digest"}
                    best[key] = (Document.model_validate(payload), hit.score)
        return sorted(best.values(), key=lambda item: -item[1])[:limit]
