"""A retriever on a small catalog root, indexed in memory by a hashing embedder: catalog changes are
tested for what they write, index and serve, without a model's cost."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient

from flowgen.catalog.store import DEFAULT_ROOT
from retrieval.index import Index
from retrieval.suggest import Retriever


class HashEmbedder:
    """Same text, same unit vector; `fail` makes every call raise (an embedder crashing mid-change)."""

    dimension = 16

    def __init__(self, folder: Path) -> None:
        self.path = folder
        self.fail = False

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("embedder crashed")
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8).astype(np.float32) + 1
                for t in texts]  # fmt: skip
        return np.array([r / np.linalg.norm(r) for r in rows]).reshape(len(texts), self.dimension)


def small_root(tmp_path: Path) -> Path:
    root = tmp_path / "catalogs"
    shutil.copytree(DEFAULT_ROOT / "core", root / "core")
    shutil.copytree(DEFAULT_ROOT / "tenants" / "retail", root / "tenants" / "retail")
    return root


def hashed_retriever(root: Path) -> Retriever:
    embedder = HashEmbedder(root.parent)
    retriever = Retriever(Index(QdrantClient(":memory:"), embedder), root, root.parent)  # type: ignore[arg-type]
    retriever.sync_all()
    return retriever
