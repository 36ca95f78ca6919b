"""Tenant names are identifiers, never paths: every trick of issue 13 is refused before any file or index
access, and no answer carries a path, a file's content or a library's message."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowgen.catalog import Catalog, list_tenants, load_catalog
from flowgen.catalog.store import CORE, DEFAULT_ROOT
from flowgen.errors import InvalidTenantName, UnknownTenantError
from flowgen.settings import ServingSettings, Settings
from tests.local_serving import local_api

SECRET = "sk-live-0123456789abcdef"
TRICKS = ["/tmp/planted", "../retail", "..", "./retail", "retail/", "Retail", "retail\n", "a" * 300, "", "%2e%2e"]


class StoreRetriever:
    """The retriever deployment's catalog side on a folder (suggestions empty); records every tenant asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.asked: list[str] = []

    async def catalog(self, tenant: str) -> Catalog:
        self.asked.append(tenant)
        return load_catalog(tenant, self.root)

    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]:
        return [] if await self.catalog(tenant) else []

    async def tables(self, query: str, tenant: str, k: int) -> list[str]:
        return [] if await self.catalog(tenant) else []

    async def in_scope(self, requirement: str) -> float:
        return 0.0  # refused by the gate: no engine call

    def tenants(self) -> list[str]:
        return [CORE, *list_tenants(self.root)]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A folder outside the catalogs holding a valid-looking catalog and a secret, as in the issue."""
    folder = tmp_path / "planted"
    folder.mkdir()
    (folder / "secret.json").write_text(json.dumps({"api_key": SECRET}))
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "catalogs"
    shutil.copytree(DEFAULT_ROOT / "core", root / "core")
    shutil.copytree(DEFAULT_ROOT / "tenants" / "retail", root / "tenants" / "retail")
    (root / "tenants" / "leaky").mkdir()  # a stored catalog that is broken, with a secret in it
    (root / "tenants" / "leaky" / "catalog.json").write_text(json.dumps({"api_key": SECRET}))
    return root


@pytest.fixture
def retriever(root: Path) -> StoreRetriever:
    return StoreRetriever(root)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, retriever: StoreRetriever) -> Iterator[TestClient]:
    with local_api(monkeypatch, retriever, object(), Settings()) as client:
        yield client


def assert_no_leak(text: str, *paths: Path) -> None:
    assert SECRET not in text and "api_key" not in text, text
    for path in paths:
        assert str(path) not in text, text
    assert "/tmp" not in text and "site-packages" not in text, text


@pytest.mark.parametrize("name", [*TRICKS, "PLANTED"])
def test_store_takes_only_identifiers(root: Path, planted: Path, name: str) -> None:
    name = str(planted) if name == "PLANTED" else name
    with pytest.raises(InvalidTenantName, match="lowercase letter"):
        load_catalog(name, root)


def test_store_resolves_known_tenants_only(root: Path, planted: Path) -> None:
    (root / "tenants" / "Bad Name").mkdir()
    (root / "tenants" / ".staging").mkdir()
    assert list_tenants(root) == ["leaky", "retail"]
    with pytest.raises(UnknownTenantError, match="unknown tenant 'planted'") as caught:
        load_catalog("planted", root)
    assert "retail" not in str(caught.value)  # other customers' names are not told


@pytest.mark.parametrize("name", TRICKS)
@pytest.mark.parametrize("path", ["/v1/workflows", "/v1/workflows:stream"])
def test_body_tenant_tricks_are_422_before_any_catalog_access(client: TestClient, retriever: StoreRetriever,
                                                              planted: Path, path: str, name: str) -> None:  # fmt: skip
    for tenant in (name, str(planted)):
        response = client.post(path, json={"requirement": "close all incidents", "tenant": tenant})
        assert response.status_code == 422, response.text
        assert "tenant" in response.json()["message"]
        assert_no_leak(response.text, planted)
    assert retriever.asked == []


@pytest.mark.parametrize("segment", ["%2e%2e", "..%2fretail", ".%2Fretail", "a" * 300, "Retail", "retail%00", "%2Ftmp"])
@pytest.mark.parametrize("suffix", ["catalog", "suggestions?q=close+incidents"])
def test_path_tenant_tricks_never_reach_the_catalogs(client: TestClient, retriever: StoreRetriever, root: Path,
                                                     segment: str, suffix: str) -> None:  # fmt: skip
    response = client.get(f"/v1/tenants/{segment}/{suffix}")
    assert response.status_code in (404, 422), response.text
    assert_no_leak(response.text, root)
    assert retriever.asked == []


def test_put_on_a_tricky_tenant_is_refused(client: TestClient, retriever: StoreRetriever, root: Path) -> None:
    table = {"name": "u_x", "label": "X"}
    response = client.put("/v1/tenants/%2e%2e/tables/u_x", json=table)
    assert response.status_code == 422 and retriever.asked == []
    assert_no_leak(response.text, root)


def test_unknown_tenant_is_404_naming_no_other_tenant(client: TestClient) -> None:
    response = client.post("/v1/workflows", json={"requirement": "close all incidents", "tenant": "atlantis"})
    assert response.status_code == 404, response.text
    assert "unknown tenant 'atlantis'" in response.json()["message"] and "retail" not in response.text


def test_a_token_for_one_tenant_cannot_probe_which_tenants_exist(monkeypatch: pytest.MonkeyPatch,
                                                                 retriever: StoreRetriever) -> None:  # fmt: skip
    settings = Settings(serving=ServingSettings(tokens={"r": "retail"}))
    with local_api(monkeypatch, retriever, object(), settings) as client:
        statuses = {t: client.get(f"/v1/tenants/{t}/catalog", headers={"Authorization": "Bearer r"}).status_code
                    for t in ("banking", "atlantis", "leaky")}  # fmt: skip
    assert statuses == {"banking": 403, "atlantis": 403, "leaky": 403}


@pytest.mark.parametrize("path", ["/v1/workflows", "/v1/workflows:stream"])
def test_a_broken_stored_catalog_is_503_with_an_error_id_the_log_explains(
    client: TestClient, root: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="flowgen.errors"):
        response = client.post(path, json={"requirement": "close all incidents", "tenant": "leaky"})
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "CatalogUnavailable" and body["retryable"] is False
    assert "tenant 'leaky'" in body["message"] and body["error_id"] in body["message"]
    assert_no_leak(response.text, root)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert body["error_id"] in logged and str(root / "tenants" / "leaky" / "catalog.json") in logged


def test_an_unexpected_failure_is_500_without_the_library_message(
    monkeypatch: pytest.MonkeyPatch, retriever: StoreRetriever, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(tenant: str) -> Catalog:
        raise OSError(f"[Errno 36] File name too long: '/srv/flowgen/var/catalogs/tenants/{tenant}'")

    monkeypatch.setattr(retriever, "catalog", explode)
    with local_api(monkeypatch, retriever, object(), Settings()) as client, caplog.at_level(logging.ERROR):
        response = client.get("/v1/tenants/retail/catalog")
    assert response.status_code == 500, response.text
    body = response.json()
    assert body["error"] == "InternalError" and body["retryable"] is False
    assert "/srv" not in response.text and "Errno" not in response.text and "OSError" not in response.text
    assert any(body["error_id"] in r.getMessage() for r in caplog.records)
