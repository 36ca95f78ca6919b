from __future__ import annotations

import asyncio
import copy
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowgen.catalog import Catalog, load_catalog
from flowgen.workflow import Workflow
from generation.engines import Completer, GenerationFailed
from retrieval.embedder import Embedder, base_model_path
from retrieval.index import Index
from retrieval.suggest import Retriever

FIXTURES = Path(__file__).parent / "fixtures"
PAPER = (
    "Every time a user becomes inactive, find all incidents where the user is the assignee. "
    "Assign them to their manager."
)
TOKENS = {"admin-token": "*", "retail-token": "retail"}


@pytest.fixture(scope="session")
def core() -> Catalog:
    return load_catalog("core")


@pytest.fixture(scope="module")
def run() -> Iterator[asyncio.Runner]:
    """One event loop per module: an engine's output handler, a client's connections, belong to the loop
    that first used them."""
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(scope="session")
def core_retriever() -> Retriever:
    """The core catalog indexed in memory with the base embedder, for the tests that run the pipeline."""
    from qdrant_client import QdrantClient

    retriever = Retriever(Index(QdrantClient(":memory:"), Embedder(base_model_path())))
    retriever.sync_tenant("core")
    return retriever


@pytest.fixture
def example() -> dict:
    """The spec's example (the paper's Figure 1) as a fresh JSON object per test."""
    return copy.deepcopy(json.loads((FIXTURES / "inactive-user-incidents.json").read_text()))


def max_calls(workflow: Workflow) -> int:
    """The paper's bound, N + 1 calls for N steps: the outline, then one per step with inputs. The
    trigger is a step here (a node of the FlowSim tree, with its own inputs call)."""
    return 1 + len(workflow.components) + (workflow.trigger is not None)


def assert_max_tokens_is_a_failure(engine: Completer, run: asyncio.Runner) -> None:
    """A cut-off constrained answer is a clear failure, never half-parsed JSON (every engine backend)."""
    schema = {"type": "object", "properties": {"note": {"type": "string", "pattern": "^[a-z ]{1,80}$"}},
              "required": ["note"], "additionalProperties": False}  # fmt: skip
    completion = run.run(engine.complete("Write a long note:", schema, max_tokens=4))
    assert completion.finish_reason == "length"
    with pytest.raises(GenerationFailed, match="max_tokens"):
        completion.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Ray Serve application, started once for every test that needs it (tests/test_serving.py, the page's
    tests/test_serving_page.py): its own catalogs and index (the tests change a catalog), bearer tokens on.

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
