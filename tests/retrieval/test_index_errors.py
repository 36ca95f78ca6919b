"""Transport errors translated where they occur (issue 13, item 7): a Qdrant server that does not answer is a
503 the caller may retry, during a search and during a catalog change, and the change writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from flowgen.catalog.versions import version_numbers
from flowgen.settings import Settings
from serving.retriever import RetrieverServer
from tests.catalog_fixtures import hashed_retriever, small_root
from tests.local_serving import local_api

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens


def test_an_index_server_that_does_not_answer_is_a_retryable_503(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                                                                 ) -> None:  # fmt: skip
    root = small_root(tmp_path)
    retriever = hashed_retriever(root)
    monkeypatch.setattr(retriever, "scope", lambda: None)
    server = RetrieverServer.func_or_class(Settings(), retriever)
    retriever.index.client = QdrantClient(url=DEAD, timeout=1, check_compatibility=False)
    with local_api(monkeypatch, server, object(), Settings()) as client:
        for response in (
            client.get("/v1/tenants/retail/suggestions", params={"q": "close incidents"}),
            client.put("/v1/tenants/retail/tables/u_shelf", json={"name": "u_shelf", "label": "Shelf"}),
        ):
            body = response.json()
            assert response.status_code == 503 and body["retryable"] is True, response.text
            assert "Qdrant" in body["message"] and "127.0.0.1" not in response.text
    assert version_numbers(root / "tenants" / "retail") == []
