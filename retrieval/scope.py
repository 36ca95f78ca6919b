"""The out-of-scope gate: is a requirement a workflow request at all? Asked before any model call.

A logistic regression on the embedder's normalised vectors. In scope: the train split's (generated)
requirements and the hand-written in-scope examples of `flowdata/handwritten/out_of_scope.jsonl`
(requests that read like questions or reports but are automations); out of scope: that file's
questions, look-ups, reports, charts, creative writing, chit-chat and the like. Classes are balanced,
and within the in-scope class the hand-written examples weigh as much as the generated ones, so that
the gate learns what is asked rather than the generator's phrasing. Kept as JSON (no pickle) and
trained again when the embedding model, the examples or the settings below change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from flowdata.splits import HANDWRITTEN, load_split
from flowgen.console import err
from flowgen.errors import FlowGenError

from .embedder import Embedder

EXAMPLES = HANDWRITTEN / "out_of_scope.jsonl"
# Refuse when p(workflow request) is below this. Classes are balanced in training, so p is the
# posterior for even odds; if about one request in ten asks for no workflow, p < 0.1 is where
# refusing becomes the likelier-right answer, and a false refusal is worse than a missed one.
REFUSE_BELOW = 0.1
C = 4.0  # inverse regularisation strength (cross-validated: `flowgen retrieval scope-eval`)
HANDWRITTEN_SHARE = 0.5  # of the in-scope class's weight
VERSION = 1


class ScopeExample(BaseModel):
    requirement: str
    kind: str
    in_scope: bool = False


class ScopeModel(BaseModel):
    version: int = VERSION
    embedding_model: str = Field(description="Path of the embedder the vectors came from.")
    embedding_model_id: str = Field(description="Digest of that model's path and weights (retrain when it differs).")
    examples: str = Field(description="Digest of the hand-written examples file.")
    C: float
    handwritten_share: float
    threshold: float = Field(description="Refuse below this p(workflow request).")
    coef: list[float]
    intercept: float
    trained_on: dict[str, int]

    def probability(self, vectors: np.ndarray | list[list[float]]) -> np.ndarray:
        """p(workflow request) for each row of normalised embeddings."""
        return _probability(np.asarray(vectors, dtype=np.float64), self.coef, self.intercept)

    def refuses(self, probability: float) -> bool:
        return probability < self.threshold

    def fits(self, embedding_model_id: str) -> bool:
        saved = (self.version, self.embedding_model_id, self.examples, self.C, self.handwritten_share, self.threshold)
        return saved == (VERSION, embedding_model_id, examples_digest(), C, HANDWRITTEN_SHARE, REFUSE_BELOW)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ScopeModel:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def scope_path(data_dir: Path, embedding_model_id: str) -> Path:
    """One gate per embedder: runs on the base and on the fine-tuned embedder do not retrain each other's."""
    return data_dir / "models" / f"scope-{embedding_model_id}.json"


def refusal(probability: float) -> str:
    return (f"not a workflow request: it reads as a question, a report or a conversation rather than an "
            f"automation to build (p={probability:.2f}); describe what should happen, and when")  # fmt: skip


def examples_digest(path: Path = EXAMPLES) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def scope_examples(path: Path = EXAMPLES) -> list[ScopeExample]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(ScopeExample.model_validate(json.loads(line)))
            except ValueError as err:
                raise FlowGenError(f"{path}:{number}: not a scope example: {err}") from err
    return out


class TrainingSet(BaseModel):
    """Texts and their source: 0 generated in scope, 1 hand-written in scope, 2 out of scope."""

    texts: list[str]
    sources: list[int]

    def counts(self) -> dict[str, int]:
        names = ("generated_in_scope", "handwritten_in_scope", "out_of_scope")
        return {name: self.sources.count(i) for i, name in enumerate(names)}


def training_set(dataset_dir: Path) -> TrainingSet:
    generated = [r.requirement for r in load_split(dataset_dir, "train")]
    examples = scope_examples()
    hand = [e.requirement for e in examples if e.in_scope]
    negatives = [e.requirement for e in examples if not e.in_scope]
    return TrainingSet(texts=generated + hand + negatives,
                       sources=[0] * len(generated) + [1] * len(hand) + [2] * len(negatives))  # fmt: skip


def fit(vectors: np.ndarray, sources: np.ndarray) -> tuple[list[float], float]:
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
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    model.fit(vectors, labels, sample_weight=weights)
    return [float(c) for c in model.coef_[0]], float(model.intercept_[0])


def train(embedder: Embedder, embedding_model_id: str, data: TrainingSet) -> ScopeModel:
    coef, intercept = fit(embedder.encode(data.texts), np.asarray(data.sources))
    return ScopeModel(embedding_model=str(embedder.path), embedding_model_id=embedding_model_id,
                      examples=examples_digest(), C=C, handwritten_share=HANDWRITTEN_SHARE, threshold=REFUSE_BELOW,
                      coef=coef, intercept=intercept, trained_on=data.counts())  # fmt: skip


def load_or_train(path: Path, embedder: Embedder, embedding_model_id: str, dataset_dir: Path) -> ScopeModel:
    """The saved gate if it was trained with this embedder and these examples, else a new one (saved)."""
    if path.is_file():
        try:
            model = ScopeModel.load(path)
        except ValueError:
            model = None  # unreadable: train again
        if model is not None and model.fits(embedding_model_id):
            return model
    data = training_set(dataset_dir)
    err.print(f"training the out-of-scope gate on {len(data.texts)} requirements ({data.counts()}) ...")
    model = train(embedder, embedding_model_id, data)
    model.save(path)
    err.print(f"saved {path}", highlight=False)
    return model


def cross_validate(vectors: np.ndarray, sources: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold p(workflow request) of every training example (folds stratified by source)."""
    from sklearn.model_selection import StratifiedKFold

    sources = np.asarray(sources)
    out = np.zeros(len(sources))
    for train_rows, test_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(vectors, sources):
        coef, intercept = fit(vectors[train_rows], sources[train_rows])
        out[test_rows] = _probability(vectors[test_rows], coef, intercept)
    return out


def _probability(vectors: np.ndarray, coef: list[float], intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(vectors @ np.asarray(coef) + intercept)))
