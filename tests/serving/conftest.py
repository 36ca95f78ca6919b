"""The running application, shared by the serving package's end-to-end tests."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest

TOKENS = {"admin-token": "*", "retail-token": "retail"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="package")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Ray Serve application, started once for the serving tests that need it (the API, the page, the
    edit route, the live Prometheus scrape) and stopped after them, so that it does not hold the cores and memory
    while the training tests run: its own catalogs and index (the tests change a catalog), bearer tokens on.

    Models (the LM, the out-of-scope gate) come from the usual data folder, shared with the other tests.
    """
    import httpx

    from flowgen.catalog.store import DEFAULT_ROOT
    from flowgen.settings import RetrievalSettings, ServingSettings, Settings
    from generation.model import base_model
    from serving.cli import start, stop

    base_model(Settings())
    folder = tmp_path_factory.mktemp("serving")
    shutil.copytree(DEFAULT_ROOT, folder / "catalogs")
    settings = Settings(
        catalog_dir=folder / "catalogs",
        retrieval=RetrievalSettings(qdrant_path=folder / "qdrant"),
        serving=ServingSettings(port=free_port(), tokens=TOKENS, request_timeout_s=240),
    )
    base = start(settings)
    try:
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200
        yield base
    finally:
        stop()
