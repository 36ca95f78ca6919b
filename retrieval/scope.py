"""The out-of-scope gate at run time: is a requirement a workflow request at all? Asked before any model call.

A logistic regression on the embedder's normalised vectors, trained offline for one embedder
(`flowgen train gate`, training/scope_gate.py) and kept as JSON (no pickle). The runtime only loads it:
first `<data_dir>/models/scope-<embedder digest>.json` (a gate trained on this machine), then the one
shipped in the package for that embedder (`retrieval/artifacts/`); with neither, `GateMissing` names the
command that makes one. Nothing here reads a dataset or trains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from flowgen.errors import ServerError

from .embedder import ARTIFACTS

# Refuse when p(workflow request) is below this. Classes are balanced in training, so p is the posterior
# for even odds. A false refusal loses the user's workflow, a missed one only reaches the outline model
# (which can still refuse): the threshold is the highest at which cross-validation refuses none of the
# hand-written in-scope examples (0.1 refused 2 of 135, terse ones; `flowgen train gate`).
REFUSE_BELOW = 0.05
VERSION = 2


class GateMissing(ServerError):
    """No usable out-of-scope gate for the embedding model in use: an operator must train one."""

    status_code = 503


class ScopeModel(BaseModel):
    version: int = VERSION
    embedding_model: str = Field(description="Path of the embedder the gate was trained with (informative).")
    embedding_model_id: str = Field(description="Digest of that model's weights: the gate serves only this model.")
    examples: str = Field(description="Digest of the hand-written example files it was trained on.")
    C: float
    handwritten_share: float
    threshold: float = Field(description="Refuse below this p(workflow request).")
    coef: list[float]
    intercept: float
    trained_on: dict[str, int]

    def probability(self, vectors: np.ndarray | list[list[float]]) -> np.ndarray:
        """p(workflow request) for each row of normalised embeddings."""
        vectors = np.asarray(vectors, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(vectors @ np.asarray(self.coef) + self.intercept)))

    def refuses(self, probability: float) -> bool:
        return probability < self.threshold

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ScopeModel:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def gate_name(embedding_model_id: str) -> str:
    return f"scope-{embedding_model_id}.json"


def scope_path(data_dir: Path, embedding_model_id: str) -> Path:
    """Where `flowgen train gate` keeps a gate trained on this machine (one per embedder)."""
    return data_dir / "models" / gate_name(embedding_model_id)


def shipped_path(embedding_model_id: str) -> Path:
    """Where a gate shipped in the package for that embedder lies (`flowgen train gate --ship`)."""
    return ARTIFACTS / gate_name(embedding_model_id)


def load_gate(data_dir: Path | None, embedding_model_id: str, embedding_model: str = "") -> ScopeModel:
    """The gate for this embedder: trained here (under `data_dir`, when given), else shipped; never trained
    on the fly."""
    hint = "run `flowgen train gate` (it trains one for the configured embedder in about a minute)"
    places = [scope_path(data_dir, embedding_model_id)] if data_dir is not None else []
    places.append(shipped_path(embedding_model_id))
    for path in places:
        if not path.is_file():
            continue
        try:
            model = ScopeModel.load(path)
        except ValueError as err:
            raise GateMissing(f"the out-of-scope gate cannot be read: {hint}", f"{path}: {err}") from err
        if model.version != VERSION or model.embedding_model_id != embedding_model_id:
            raise GateMissing(f"the out-of-scope gate was made for another embedder or version: {hint}", str(path))
        return model
    raise GateMissing(
        f"no out-of-scope gate for the embedding model in use: {hint}",
        f"embedder {embedding_model or '?'} (digest {embedding_model_id}); looked in "
        + " and ".join(str(p) for p in places),
    )


def refusal(probability: float) -> str:
    return (f"not a workflow request: it reads as a question, a report or a conversation rather than an "
            f"automation to build (p={probability:.2f}); describe what should happen, and when")  # fmt: skip
