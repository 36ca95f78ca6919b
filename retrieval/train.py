"""Contrastive fine-tuning of the embedder on the train split (the paper's retriever training).

Pairs: a step's annotation -> the document of its step (trigger or action), of its table, and of
each column its conditions and field values use. Each pair gets a hard negative: the wrong
document the base model ranks highest for that annotation (same kind; same table for columns).
Loss: MultipleNegativesRankingLoss (in-batch negatives plus the hard one), with a sampler that
keeps duplicate texts out of a batch, since many annotations share one positive document.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from flowgen.catalog import load_catalog
from flowgen.catalog.store import CORE
from flowgen.evaluation.records import Reference
from flowgen.workflow import Workflow

from .documents import Document, documents
from .embedder import Embedder
from .evaluate import artifact_targets


class Pair(BaseModel):
    anchor: str
    positive: str
    negative: str


def _positives(refs: list[Reference]) -> tuple[list[tuple[str, Document]], dict[str, Document]]:
    core = load_catalog(CORE)
    docs = {f"{d.kind}:{d.key}": d for d in documents(core)}
    out: list[tuple[str, Document]] = []
    for ref in refs:
        if not isinstance(ref.expected, Workflow) or ref.tenant != CORE:
            continue
        wf = ref.expected
        if wf.trigger:
            out.append((wf.trigger.annotation, docs[f"trigger:{wf.trigger.type}"]))
        out += [(s.annotation, docs[f"action:{s.name}"]) for s in wf.components if f"action:{s.name}" in docs]
        for annotation, table, column, value in artifact_targets(ref, core):
            if value is None:
                key = f"table:{table}" if column is None else f"column:{table}.{column}"
                out.append((annotation, docs[key]))
    return list(dict.fromkeys(out)), docs


def make_pairs(refs: list[Reference], embedder: Embedder, limit: int, seed: int) -> list[Pair]:
    """Training pairs with hard negatives mined by `embedder` (the model before training)."""
    positives, docs = _positives(refs)
    rng = random.Random(seed)
    rng.shuffle(positives)
    positives = positives[:limit]
    pool = list(docs.values())
    doc_vectors = embedder.encode([d.text for d in pool])
    anchor_vectors = embedder.encode([a for a, _ in positives])
    scores = anchor_vectors @ doc_vectors.T
    pairs = []
    for row, (anchor, positive) in zip(scores, positives, strict=True):
        for j in np.argsort(-row):
            candidate = pool[j]
            same_group = candidate.kind == positive.kind and (
                positive.kind != "column" or candidate.table == positive.table
            )
            if same_group and candidate.key != positive.key:
                pairs.append(Pair(anchor=anchor, positive=positive.text, negative=candidate.text))
                break
    return pairs


def fine_tune(
    base: Path, pairs: list[Pair], out: Path, work: Path, epochs: int = 1, batch_size: int = 32, seed: int = 0
) -> Path:
    """Train and save to `out`; checkpoints in `work` let an interrupted run resume."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = SentenceTransformer(str(base), device="cpu")
    model.max_seq_length = 96
    dataset = Dataset.from_list([p.model_dump() for p in pairs])
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work), num_train_epochs=epochs, per_device_train_batch_size=batch_size, learning_rate=5e-5,
        warmup_ratio=0.1, batch_sampler=BatchSamplers.NO_DUPLICATES, logging_steps=10, save_strategy="steps",
        save_steps=50, save_total_limit=1, report_to="none", seed=seed, use_cpu=True, disable_tqdm=False,
    )  # fmt: skip
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model)
    )
    checkpoints = sorted(work.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if checkpoints else None)
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    shutil.rmtree(work, ignore_errors=True)  # checkpoints only serve to resume an interrupted run
    return out
