"""The retriever on the real embedder and Qdrant's local mode (one index for the whole module)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowdata.splits import handwritten
from flowgen.catalog.store import DEFAULT_ROOT
from flowgen.errors import CatalogUnavailable, ClientError, UnknownTenantError
from flowgen.settings import Settings
from flowgen.workflow import OutOfScope
from generation.pipeline import InProcess, Pipeline
from retrieval import scope
from retrieval.embedder import Embedder, base_model_path
from retrieval.index import IndexUnavailable, open_client
from retrieval.scope import GateMissing, ScopeModel
from retrieval.suggest import Retriever
from tests.conftest import PAPER
from training.scope_gate import training_examples


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(base_model_path())


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog root with the core catalog and two tenants, safe to change."""
    root = tmp_path_factory.mktemp("catalogs")
    shutil.copytree(DEFAULT_ROOT / "core", root / "core")
    for tenant in ("banking", "telecom"):
        shutil.copytree(DEFAULT_ROOT / "tenants" / tenant, root / "tenants" / tenant)
    return root


@pytest.fixture(scope="module")
def settings(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(catalog_dir=root, data_dir=tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="module")
def retriever(settings: Settings, embedder: Embedder) -> Iterator[Retriever]:
    retriever = Retriever.open(settings, embedder)
    results = retriever.sync_all()
    assert [r.owner for r in results] == ["core", "banking", "telecom"]
    assert all(r.added > 0 and r.updated == 0 for r in results)
    yield retriever
    retriever.index.client.close()


def keys(suggestions: list) -> list[str]:
    return [s.key for s in suggestions]


def test_paper_example(retriever: Retriever) -> None:
    steps = keys(retriever.steps(PAPER, k=10))
    assert {"record_update", "look_up_records"} <= set(steps)
    assert "incident" in keys(retriever.tables("find all incidents where the user is the assignee", k=3))
    assert "incident.assigned_to" in keys(retriever.columns("incident", "the user is the assignee", k=3))
    assert keys(retriever.values("incident", "state", "mark them resolved", k=1)) == ["incident.state=6"]


def test_tenant_isolation(retriever: Retriever) -> None:
    banking = retriever.steps("freeze the customer's card", "banking", k=20)
    assert banking[0].key == "freeze_card"
    telecom = keys(retriever.steps("freeze the customer's card", "telecom", k=50))
    core = keys(retriever.steps("freeze the customer's card", "core", k=50))
    banking_only = {"freeze_card", "unfreeze_card", "place_account_hold"}
    assert not banking_only & set(telecom) and not banking_only & set(core)
    assert "u_card" not in keys(retriever.tables("card", "telecom", k=50))
    with pytest.raises(ClientError, match="has no table 'u_card'"):
        retriever.columns("u_card", "card holder", "telecom")


def test_bad_queries(retriever: Retriever) -> None:
    with pytest.raises(ClientError, match="empty query"):
        retriever.steps("   ")
    with pytest.raises(UnknownTenantError, match="unknown tenant 'atlantis'"):
        retriever.steps("close incidents", "atlantis")


def test_unreachable_qdrant_url() -> None:
    with pytest.raises(IndexUnavailable, match="does not answer"):
        open_client("http://127.0.0.1:9", Path("unused"))


def test_update_without_rebuild_and_failed_update(retriever: Retriever, root: Path) -> None:
    path = root / "tenants" / "banking" / "catalog.json"
    original = path.read_text()
    doc = json.loads(original)
    doc["actions"].append(
        {"id": "order_gold_bars", "label": "Order gold bars", "category": "banking",
         "description": "Buy physical gold bullion for the vault."}
    )  # fmt: skip
    path.write_text(json.dumps(doc))
    result = retriever.sync_tenant("banking")
    assert (result.added, result.updated, result.removed) == (1, 0, 0)
    assert retriever.steps("buy bullion for the vault", "banking", k=1)[0].key == "order_gold_bars"

    path.write_text('{"actions": [{"id": "Bad Id"}]}')  # does not validate
    with pytest.raises(CatalogUnavailable):
        retriever.sync_tenant("banking")
    assert retriever.steps("buy bullion for the vault", "banking", k=1)[0].key == "order_gold_bars"

    changed = json.loads(original)
    changed["actions"][0]["description"] += " Also called blocking or locking a card."
    path.write_text(json.dumps(changed))  # valid, but the embedder fails while indexing it
    embed = retriever.index.embedder.encode

    def broken(texts: list[str]):  # noqa: ANN202 - an embedder that fails mid-update
        raise RuntimeError("embedder crashed")

    retriever.index.embedder.encode = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            retriever.sync_tenant("banking")
    finally:
        retriever.index.embedder.encode = embed  # type: ignore[method-assign]
    assert retriever.steps("buy bullion for the vault", "banking", k=1)[0].key == "order_gold_bars"
    result = retriever.sync_tenant("banking")
    assert (result.removed, result.updated) == (1, 1)
    path.write_text(original)


def test_restart_keeps_the_index(retriever: Retriever, settings: Settings, embedder: Embedder) -> None:
    before = keys(retriever.steps(PAPER))
    retriever.index.client.close()
    reopened = Retriever.open(settings, embedder)
    try:
        assert keys(reopened.steps(PAPER)) == before
        assert reopened.sync_tenant("core").unchanged > 1000 and reopened.sync_tenant("core").added == 0
    finally:
        reopened.index.client.close()
        retriever.index = Retriever.open(settings, embedder).index


def test_out_of_scope_gate(retriever: Retriever, settings: Settings) -> None:
    """The gate shipped for this embedder is loaded (the data folder holds no dataset and no gate); the test
    split's requests for no workflow are refused, workflows are not."""
    assert not (settings.data_dir / "data").exists() and not (settings.data_dir / "models").exists()
    gate = retriever.scope()
    assert gate.embedding_model_id == retriever.index.model == retriever.index.embedder.id
    test = handwritten("test")
    refused = [
        r.requirement
        for r in test
        if isinstance(r.expected, OutOfScope) and gate.refuses(retriever.in_scope(r.requirement))
    ]
    assert len(refused) >= 5, refused
    in_scope = [r.requirement for r in test if not isinstance(r.expected, OutOfScope)][:50]
    assert [r for r in in_scope if gate.refuses(retriever.in_scope(r))] == []
    assert not set(map(str.lower, refused)) & {e.requirement.lower() for e in training_examples()}  # not trained on


def test_gate_is_loaded_never_trained(retriever: Retriever, settings: Settings, tmp_path: Path) -> None:
    """A gate trained on this machine (in the data folder) comes before the shipped one; with neither, the
    error names the command that makes one. Plain JSON, no pickle."""
    shipped = scope.shipped_path(retriever.index.model)
    local = scope.scope_path(tmp_path, retriever.index.model)
    gate = ScopeModel.load(shipped)
    assert json.loads(shipped.read_text())["threshold"] == scope.REFUSE_BELOW
    gate.model_copy(update={"intercept": gate.intercept + 50}).save(local)
    here = Retriever(retriever.index, settings.catalog_dir, tmp_path)
    assert here.in_scope("hello there") > 0.99 > retriever.in_scope("hello there")
    texts = [PAPER, "hello there", "what is a change request?", "every friday email me the open P1s"]
    vectors = retriever.index.embedder.encode(texts)
    assert retriever.scope().probability(vectors).tolist() == gate.probability(vectors).tolist()
    with pytest.raises(GateMissing, match="flowgen train gate"):
        scope.load_gate(tmp_path, "another-embedder")
    local.write_text("{")
    with pytest.raises(GateMissing, match="cannot be read: run `flowgen train gate`"):
        Retriever(retriever.index, settings.catalog_dir, tmp_path).scope()


def test_pipeline_refuses_before_any_model_call(retriever: Retriever) -> None:
    class NoEngine:
        async def complete(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the gate must answer before any model call")

    events: list[str] = []

    async def record(kind: str, data: dict) -> None:
        events.append(kind)

    pipeline = Pipeline(NoEngine(), InProcess(retriever))  # type: ignore[arg-type]
    result = asyncio.run(pipeline.run("good morning! how are you?", "core", record))
    assert isinstance(result.answer, OutOfScope) and result.answer.reason.startswith("not a workflow request")
    assert (result.calls, result.tokens, events) == (0, 0, [])
