"""One tenant cannot hurt the others (issue 13, item 5): a tenant over its workflows in flight (generated, streamed
or edited) gets 429 with Retry-After while another tenant is admitted; a tenant whose stored catalog is broken is
reported on /readyz and answers 503 while the service starts and serves every other tenant; a large catalog
import indexes off the request path."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient
from ray import serve

from flowgen.settings import ServingSettings, Settings
from retrieval.index import Index
from retrieval.suggest import Retriever
from serving.retriever import RetrieverServer
from tests.catalog_fixtures import HashEmbedder, hashed_retriever, small_root
from tests.local_serving import local_api
from tests.serving.test_tenant_names import SECRET, StoreRetriever

REQUEST = {"requirement": "close all incidents", "tenant": "retail"}
WORKFLOW = {"trigger": None, "components": [{"annotation": "log", "name": "log", "step": 1,
                                             "inputs": [{"name": "message", "value": "hello"}]}]}  # fmt: skip


class GatedRetriever(StoreRetriever):
    """Every workflow waits in the out-of-scope gate until the test opens it (then is refused: no engine)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()

    async def in_scope(self, requirement: str) -> float:
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return 0.0


def _wait_until(condition: object) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_tenant_over_its_workflows_in_flight_is_429_while_another_is_admitted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    retriever = GatedRetriever(small_root(tmp_path))
    settings = Settings(serving=ServingSettings(max_workflows_per_tenant=2))
    with local_api(monkeypatch, retriever, object(), settings) as client, ThreadPoolExecutor(4) as pool:
        busy = serve.get_replica_context().servable_object.slots.busy
        held = [pool.submit(client.post, "/v1/workflows", json=REQUEST) for _ in range(2)]
        _wait_until(lambda: busy["retail"] == 2)
        edit = {"workflow": WORKFLOW, "instruction": "also log it", "tenant": "retail"}
        for path, body in (("/v1/workflows", REQUEST), ("/v1/workflows:stream", REQUEST), ("/v1/workflows:edit", edit)):
            refused = client.post(path, json=body)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "2", refused.text
            assert "retail" in refused.json()["message"] and "MAX_WORKFLOWS_PER_TENANT" in refused.json()["message"]
        other = pool.submit(client.post, "/v1/workflows", json={**REQUEST, "tenant": "core"})
        _wait_until(lambda: busy["core"] == 1)  # admitted beside the busy tenant
        retriever.gate.set()
        assert [f.result().status_code for f in [*held, other]] == [200, 200, 200]
        assert not busy
        streamed = client.post("/v1/workflows:stream", json=REQUEST)  # a slot again, freed when the stream ends
        assert streamed.status_code == 200 and "event: done" in streamed.text
        _wait_until(lambda: not busy)


class Engine:
    def stats(self) -> dict[str, int]:
        return {"running": 0}


def test_a_broken_tenant_is_503_and_reported_while_the_service_starts_and_serves_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = small_root(tmp_path)
    retriever = hashed_retriever(root)
    (root / "tenants" / "broken").mkdir()
    (root / "tenants" / "broken" / "catalog.json").write_text(json.dumps({"api_key": SECRET}))
    monkeypatch.setattr(retriever, "scope", lambda: None)
    server = RetrieverServer.func_or_class(Settings(), retriever)  # the replica's start: must not fail
    with local_api(monkeypatch, server, Engine(), Settings()) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["unavailable_tenants"] == ["broken"], ready.text
        for response in (
            client.get("/v1/tenants/broken/catalog"),
            client.post("/v1/workflows", json={**REQUEST, "tenant": "broken"}),
        ):
            assert response.status_code == 503 and response.json()["retryable"] is False, response.text
            assert SECRET not in response.text and str(root) not in response.text
        assert client.get("/v1/tenants/retail/catalog").status_code == 200
        assert client.get("/v1/tenants/retail/suggestions", params={"q": "close incidents"}).status_code == 200
        assert SECRET not in ready.text and str(root) not in ready.text


class SlowIndexing(HashEmbedder):
    """Embeds a query at once and an indexing batch slowly; says when a batch has started."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.indexing = threading.Event()

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) > 8:
            self.indexing.set()
            time.sleep(1.0)
        return super().encode(texts)


def test_searches_of_other_tenants_go_on_while_a_large_catalog_is_indexed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = small_root(tmp_path)
    embedder = SlowIndexing(tmp_path)
    retriever = Retriever(Index(QdrantClient(":memory:"), embedder), root, tmp_path)  # type: ignore[arg-type]
    retriever.sync_all()
    embedder.indexing.clear()
    monkeypatch.setattr(retriever, "scope", lambda: None)
    server = RetrieverServer.func_or_class(Settings(), retriever)
    columns = [{"name": f"c{j}", "label": f"Column {j}", "type": "string"} for j in range(10)]
    big = {"tables": [{"name": f"u_t{i}", "label": f"Table {i}", "columns": columns} for i in range(40)]}
    with local_api(monkeypatch, server, Engine(), Settings()) as client, ThreadPoolExecutor(1) as pool:
        creating = pool.submit(client.post, "/v1/tenants", json={"tenant": "bigco", "catalog": big})
        assert embedder.indexing.wait(30)
        started = time.monotonic()
        found = client.get("/v1/tenants/retail/suggestions", params={"q": "close incidents"})
        assert found.status_code == 200 and time.monotonic() - started < 0.9, found.text
        assert not creating.done()  # answered while the import was still indexing
        assert creating.result().status_code == 201
