"""The retriever and the out-of-scope gate: trained offline (training/), shipped in the package, only loaded
at run time. Training is tested for a few steps on tiny data, never the real run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from flowdata.splits import generated, handwritten
from flowgen.catalog import load_catalog
from flowgen.evaluation.records import write_jsonl
from flowgen.settings import RetrievalSettings, Settings
from flowgen.workflow import OutOfScope
from retrieval import scope
from retrieval.embedder import SHIPPED_MODEL, Embedder, base_model_path, default_model_path
from retrieval.index import Index
from retrieval.suggest import Retriever
from training.retriever import TrainConfig, _positives, fine_tune, make_pairs
from training.scope_gate import HELD_OUT, examples_digest, scope_examples, train, training_examples, training_set

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def shipped() -> Embedder:
    """The embedder a fresh clone serves: the shipped fine-tuned one (the base one while none is shipped)."""
    return Embedder(default_model_path(Settings(data_dir=Path("/nonexistent"))))


def test_default_model_is_the_shipped_fine_tuned_one(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, retrieval=RetrievalSettings(embedding_model=base_model_path()))
    assert default_model_path(configured) == base_model_path()
    if not (SHIPPED_MODEL / "config.json").is_file():
        pytest.skip("no fine-tuned retriever shipped yet: `flowgen train retriever --ship`")
    assert default_model_path(Settings(data_dir=tmp_path)) == SHIPPED_MODEL
    weights = SHIPPED_MODEL / "model.safetensors"
    assert weights.stat().st_size < 50 << 20  # fp16: about 45 MB, in git without LFS
    raw = weights.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F16"}


def test_shipped_gates_are_current(shipped: Embedder) -> None:
    """One gate per shipped embedder (the fine-tuned one and the base), trained on today's examples:
    changing the examples without `flowgen train gate --ship` (and `--base --ship`) fails here."""
    ids = {shipped.id, Embedder(base_model_path()).id}
    for embedder_id in ids:
        gate = scope.ScopeModel.load(scope.shipped_path(embedder_id))
        assert (gate.embedding_model_id, gate.examples, gate.threshold) == (
            embedder_id, examples_digest(), scope.REFUSE_BELOW
        )  # fmt: skip
    shipped_gates = sorted(p.name for p in scope.shipped_path("x").parent.glob("scope-*.json"))
    assert shipped_gates == sorted(scope.gate_name(i) for i in ids)


def test_runtime_never_builds_a_dataset_or_trains(shipped: Embedder, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A retriever replica with an empty data folder answers from the shipped artifacts alone."""
    import flowdata.splits

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runtime must not build or read a dataset")

    monkeypatch.setattr(flowdata.splits, "build_splits", forbidden)
    monkeypatch.setattr(flowdata.splits, "load_split", forbidden)
    retriever = Retriever(Index(QdrantClient(":memory:"), shipped), data_dir=tmp_path / "empty")
    assert retriever.scope().embedding_model_id == shipped.id
    workflow = retriever.in_scope("every time a P1 comes in, page the on-call engineer")
    assert not retriever.scope().refuses(workflow) and retriever.in_scope("good morning! how are you?") < workflow
    assert not (tmp_path / "empty").exists()
    code = ("import sys, retrieval.suggest, retrieval.cli, serving.retriever, generation.pipeline; "
            "sys.exit(any(m == 'training' or m.startswith('training.') for m in sys.modules))")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0, "a runtime module imports training/"


def test_terse_requests_of_unseen_domains_are_not_refused(shipped: Embedder) -> None:
    """Terse, jargon-heavy requests for the ood tenants ("<event>: <step>, <step>", hand-written, never
    trained on): no wrong refusal; the test split's out-of-scope requests are still refused (5 of 6 at least)."""
    gate = scope.load_gate(Path("/nonexistent"), shipped.id)
    terse = [e for e in scope_examples(HELD_OUT) if e.in_scope]
    assert len(terse) >= 40 and len({e.tenant for e in terse}) == 10
    assert not {e.requirement.lower() for e in terse} & {e.requirement.lower() for e in training_examples()}
    p = gate.probability(shipped.encode([e.requirement for e in terse]))
    assert [(e.requirement, round(float(q), 3)) for e, q in zip(terse, p, strict=True) if gate.refuses(q)] == []
    test = handwritten("test")
    out = [r.requirement for r in test if isinstance(r.expected, OutOfScope)]
    assert sum(gate.refuses(q) for q in gate.probability(shipped.encode(out))) >= 5
    inside = [r.requirement for r in test if not isinstance(r.expected, OutOfScope)]
    assert not any(gate.refuses(q) for q in gate.probability(shipped.encode(inside)))


def tiny_train(count: int) -> list:
    return generated(random.Random(0), load_catalog("core"), count, "t", set(), lambda: None)


@pytest.mark.slow  # trains
def test_retriever_training_runs_a_few_steps(tmp_path: Path) -> None:
    base = Embedder(base_model_path())
    refs = tiny_train(4)
    positives, _ = _positives(refs, requirements=True)
    assert {a for a, _ in positives} >= {r.requirement for r in refs}  # whole requirements, as stage 1 searches
    config = TrainConfig(pairs=12, epochs=1, batch_size=4, max_seq_length=32)
    pairs = make_pairs(refs, base, config)
    assert 0 < len(pairs) <= 12 and all(p.positive != p.negative for p in pairs)
    out = fine_tune(base.path, pairs, tmp_path / "model", tmp_path / "work", config, fp16=True)
    assert not (tmp_path / "work").exists() and not (out / "README.md").exists()
    tuned = Embedder(out)
    assert tuned.id != base.id and tuned.dimension == base.dimension
    vectors = tuned.encode(["freeze the card", "open a fraud case"])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


@pytest.mark.slow  # trains
def test_gate_training_on_tiny_data(tmp_path: Path) -> None:
    """`training_set` reads the train split and the hand-written files; the gate it makes is what the
    runtime loads from the data folder (trained here) before the shipped one."""
    data = tmp_path / "data"
    write_jsonl(data / "train.jsonl", tiny_train(30))
    examples = [e for e in training_examples() if e.kind in ("terse", "chitchat", "howto", "terse_question")]
    tiny = training_set(data, examples)
    assert tiny.counts()["generated_in_scope"] == 30 and tiny.counts()["out_of_scope"] > 10
    embedder = Embedder(base_model_path())
    gate = train(embedder, tiny)
    gate.save(scope.scope_path(tmp_path, embedder.id))
    assert scope.load_gate(tmp_path, embedder.id) == gate
    with pytest.raises(Exception, match="no train split"):
        training_set(tmp_path / "nowhere", examples)
    with pytest.raises(Exception, match="held-out"):
        training_set(data, examples + scope_examples(HELD_OUT)[:1])
