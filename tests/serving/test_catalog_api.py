"""Onboarding and changing catalogs over HTTP (the real routes, ingress and retriever deployment code, in
this process): one call onboards a tenant, If-Match refuses stale writes, bodies and catalogs have limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient
from ray import serve

from flowgen.settings import ServingSettings, Settings
from retrieval.documents import documents
from serving.body_limit import BodyLimit
from serving.retriever import RetrieverServer
from tests.catalog_fixtures import hashed_retriever, small_root
from tests.local_serving import local_api

BOOKSHOP = {
    "tables": [{"name": "u_book", "label": "Book", "description": "A book on the shelves.",
                "columns": [{"name": "isbn", "label": "ISBN", "type": "string",
                             "description": "The 13-digit number printed above the barcode."}]}],
    "actions": [{"id": "reorder_book", "label": "Reorder book", "description": "Order more copies of a book.",
                 "inputs": [{"name": "book", "type": "record", "required": True,
                             "description": "The book whose stock ran low."}]}],
}  # fmt: skip
TOKENS = {"admin": "*", "retail": "retail"}
ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    retriever = hashed_retriever(small_root(tmp_path))
    monkeypatch.setattr(retriever, "scope", lambda: None)  # the out-of-scope gate is not used here
    return RetrieverServer.func_or_class(Settings(), retriever)


def client_for(monkeypatch: pytest.MonkeyPatch, server: object, **serving: object) -> Iterator[TestClient]:
    settings = Settings(serving=ServingSettings(**{"tokens": TOKENS, **serving}))  # type: ignore[arg-type]
    with local_api(monkeypatch, server, object(), settings) as client:
        yield client


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, server: object) -> Iterator[TestClient]:
    yield from client_for(monkeypatch, server)


def test_one_call_onboards_a_tenant_whose_steps_are_then_suggested(client: TestClient) -> None:
    created = client.post("/v1/tenants", json={"tenant": "bookshop", "catalog": BOOKSHOP}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"' and created.json()["author"] == "admin"
    assert "bookshop" in client.get("/v1/tenants", headers=ADMIN).json()
    catalog = client.get("/v1/tenants/bookshop/catalog", headers=ADMIN).json()
    assert set(catalog["custom"]) == {"u_book", "reorder_book"} and "incident" in catalog["tables"]
    steps = client.get("/v1/tenants/bookshop/suggestions", params={"q": "order more copies", "k": 200},
                       headers=ADMIN).json()["steps"]  # fmt: skip
    assert "reorder_book" in steps
    exported = client.get("/v1/tenants/bookshop/document", headers=ADMIN)
    assert exported.headers["ETag"] == '"1"' and exported.json()["actions"][0]["id"] == "reorder_book"
    again = client.post("/v1/tenants", json={"tenant": "bookshop", "catalog": BOOKSHOP}, headers=ADMIN)
    assert again.status_code == 409


def test_column_and_input_descriptions_are_kept_and_columns_are_indexed_with_theirs(
    client: TestClient, server: object
) -> None:
    created = client.post("/v1/tenants", json={"tenant": "bookshop", "catalog": BOOKSHOP}, headers=ADMIN)
    assert created.status_code == 201, created.text
    exported = client.get("/v1/tenants/bookshop/document", headers=ADMIN).json()
    assert exported["tables"][0]["columns"][0]["description"] == "The 13-digit number printed above the barcode."
    assert exported["actions"][0]["inputs"][0]["description"] == "The book whose stock ran low."
    retriever = server.retriever  # type: ignore[attr-defined]
    [column] = [d for d in documents(retriever.catalog("bookshop")) if d.kind == "column"]
    assert column.text == "Book ISBN (isbn, string): The 13-digit number printed above the barcode."
    assert retriever.columns("u_book", column.text, "bookshop", 1)[0].text == column.text  # what the index holds
    long = {"tables": [{"name": "u_x", "label": "X", "columns": [
        {"name": "c", "label": "C", "type": "string", "description": "d" * 2001}]}]}  # fmt: skip
    refused = client.post("/v1/tenants", json={"tenant": "longwinded", "catalog": long}, headers=ADMIN)
    assert refused.status_code == 422 and "column u_x.c: 2001 is over the limit description_chars" in refused.text


def test_stale_if_match_is_412_and_versions_can_be_listed_read_and_rolled_back(client: TestClient) -> None:
    url = "/v1/tenants/retail/document"
    version, document = client.get(url, headers=ADMIN).headers["ETag"], client.get(url, headers=ADMIN).json()
    assert version == '"0"'  # as installed
    document["actions"] = [*document.get("actions", []), BOOKSHOP["actions"][0]]
    first = client.put(url, json=document, headers={**ADMIN, "If-Match": version})
    assert first.status_code == 200 and first.headers["ETag"] == '"1"', first.text
    stale = client.put(url, json=document, headers={**ADMIN, "If-Match": version})
    assert stale.status_code == 412 and "at version 1, not 0" in stale.json()["message"]
    table = {"name": "u_shelf", "label": "Shelf"}
    assert client.put("/v1/tenants/retail/tables/u_shelf", json=table, headers={**ADMIN, "If-Match": '"1"'}
                      ).headers["ETag"] == '"2"'  # fmt: skip
    history = client.get("/v1/tenants/retail/versions", headers=ADMIN).json()
    assert [(v["version"], v["change"]) for v in history] == [(1, "replace"), (2, "put table u_shelf")]
    assert client.get("/v1/tenants/retail/versions/1", headers=ADMIN).json()["catalog"]["actions"][-1]["id"] == (
        "reorder_book"
    )
    rolled = client.post("/v1/tenants/retail/versions/1/rollback", headers=ADMIN)
    assert rolled.json()["version"] == 3
    assert "u_shelf" not in client.get("/v1/tenants/retail/catalog", headers=ADMIN).json()["tables"]
    assert client.get("/v1/tenants/retail/versions/9", headers=ADMIN).status_code == 404
    assert client.put(url, json=document, headers={**ADMIN, "If-Match": "latest"}).status_code == 400


def test_scoped_tokens_and_core_stay_protected(client: TestClient) -> None:
    retail = {"Authorization": "Bearer retail"}
    assert client.post("/v1/tenants", json={"tenant": "bookshop", "catalog": BOOKSHOP}, headers=retail
                       ).status_code == 403  # fmt: skip
    assert client.get("/v1/tenants/banking/versions", headers=retail).status_code == 403
    refused = client.put("/v1/tenants/core/actions/reorder_book", json=BOOKSHOP["actions"][0], headers=ADMIN)
    assert refused.status_code == 422 and "read-only" in refused.json()["message"]


def test_an_oversized_catalog_is_422_naming_the_limit(client: TestClient) -> None:
    wide = {"tables": [{"name": "u_wide", "label": "Wide", "columns": [
        {"name": f"c{n}", "label": "C", "type": "string"} for n in range(301)]}]}  # fmt: skip
    response = client.post("/v1/tenants", json={"tenant": "wide", "catalog": wide}, headers=ADMIN)
    assert response.status_code == 422
    assert "columns_per_table = 300" in response.json()["message"]
    assert "wide" not in client.get("/v1/tenants", headers=ADMIN).json()


def test_a_body_over_the_limit_is_413(monkeypatch: pytest.MonkeyPatch, server: object) -> None:
    for client in client_for(monkeypatch, server, max_body_bytes=4096):
        big = {"tenant": "bookshop", "catalog": {"tables": [{"name": "u_x", "label": "x" * 8000}]}}
        response = client.post("/v1/tenants", json=big, headers=ADMIN)
        assert response.status_code == 413 and response.json()["error"] == "RequestTooLarge"
        chunks = (b"x" * 1024 for _ in range(64))  # no Content-Length: counted as it streams in
        streamed = client.post("/v1/tenants", content=chunks, headers={**ADMIN, "Content-Type": "application/json"})
        assert streamed.status_code == 413
        assert "bookshop" not in client.get("/v1/tenants", headers=ADMIN).json()


def test_a_declared_100_mb_body_is_refused_before_any_of_it_is_read() -> None:
    reads: list[int] = []
    sent: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        raise AssertionError("the application must not be called")

    async def receive() -> dict:
        reads.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", str(100 * 1024**2).encode())]}
    asyncio.run(BodyLimit(app, lambda: 16 * 1024**2)(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413 and reads == []


def test_one_cli_command_onboards_a_tenant_through_the_service(client: TestClient, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from serving import tenants_cli

    def through_client(method: str, url: str, **kwargs: object) -> object:
        kwargs.pop("timeout")
        return client.request(method, url.removeprefix("http://svc"), **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tenants_cli.httpx, "request", through_client)
    file = tmp_path / "bookshop.json"
    file.write_text(json.dumps(BOOKSHOP))
    runner = CliRunner()
    done = runner.invoke(tenants_cli.app, ["create", "bookshop", str(file), "--url", "http://svc", "--token", "admin"])
    assert done.exit_code == 0, done.output
    assert "bookshop" in client.get("/v1/tenants", headers=ADMIN).json()
    listed = runner.invoke(tenants_cli.app, ["versions", "bookshop", "--url", "http://svc", "--token", "admin"])
    assert "admin  create" in listed.output
    refused = runner.invoke(tenants_cli.app, ["create", "../x", str(file), "--url", "http://svc", "--token", "admin"])
    assert refused.exit_code == 1


SCOPED = {
    "reader": {"name": "dashboard", "tenant": "retail", "scopes": ["read_catalog"]},
    "editor": {"name": "alice", "tenant": "retail", "scopes": ["read_catalog", "change_catalog"]},
    "prom": {"name": "prometheus", "tenant": "*", "scopes": ["metrics"]},
    "legacy": "retail",
    "admin": "*",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_refused_what_its_scopes_lack_and_its_name_is_the_author(
    monkeypatch: pytest.MonkeyPatch, server: object
) -> None:
    table = {"name": "u_shelf", "label": "Shelf"}
    for client in client_for(monkeypatch, server, tokens=SCOPED, metrics_auth=True):
        assert client.get("/v1/tenants/retail/catalog", headers=bearer("reader")).status_code == 200
        generate = client.post("/v1/workflows", json={"requirement": "close incidents", "tenant": "retail"},
                               headers=bearer("reader"))  # fmt: skip
        assert generate.status_code == 403 and "'generate' scope" in generate.json()["message"]
        change = client.put("/v1/tenants/retail/tables/u_shelf", json=table, headers=bearer("reader"))
        assert change.status_code == 403 and "'change_catalog' scope" in change.json()["message"]
        changed = client.put("/v1/tenants/retail/tables/u_shelf", json=table, headers=bearer("editor"))
        assert changed.status_code == 200 and changed.json()["author"] == "alice"
        legacy = client.delete("/v1/tenants/retail/tables/u_shelf", headers=bearer("legacy"))
        assert legacy.status_code == 200 and legacy.json()["author"] == "token of retail"
        for token in ("editor", "legacy", "prom"):
            onboard = client.post(
                "/v1/tenants", json={"tenant": "bookshop", "catalog": BOOKSHOP}, headers=bearer(token)
            )
            assert onboard.status_code == 403, (token, onboard.text)
        assert client.get("/v1/tenants/retail/catalog", headers=bearer("prom")).status_code == 403
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("reader")).status_code == 403
        serve.get_replica_context().servable_object._metrics_url = "http://agent/metrics"
        monkeypatch.setattr(httpx, "AsyncClient", MetricsAgent)
        scraped = client.get("/metrics", headers=bearer("prom"))
        assert scraped.status_code == 200 and scraped.text == MetricsAgent.text


class MetricsAgent:
    """Ray's metrics agent, as the ingress's httpx client reaches it."""

    text = "ray_flowgen_requests_in_flight 0\n"

    def __init__(self, timeout: float) -> None:
        pass

    async def __aenter__(self) -> MetricsAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, url: str) -> SimpleNamespace:
        return SimpleNamespace(text=self.text)
