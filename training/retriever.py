"""Contrastive fine-tuning of the retriever's embedder on the train split (the paper's retriever training).

Pairs: a step's annotation -> the document of its step (trigger or action), of its table, and of each
column its conditions and field values use; with `requirements`, also the whole requirement -> each of
its steps (stage 1 searches with the requirement as well as with its clauses). Each pair gets a hard
negative: the wrong document the model before training ranks highest for that anchor (same kind; same
table for columns). Loss: MultipleNegativesRankingLoss (in-batch negatives plus the hard one), with a
sampler that keeps duplicate texts out of a batch, since many annotations share one positive document.

Only the core catalog's train split is used: the ood tenants' catalogs are never seen in training.
The runtime loads the result (retrieval/embedder.py); nothing here runs in a service.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from flowdata.catalogs import dataset_catalog
from flowgen.catalog import load_catalog
from flowgen.catalog.store import CORE
from flowgen.evaluation.records import Reference
from flowgen.workflow import Workflow
from retrieval.documents import Document, documents
from retrieval.embedder import Embedder
from retrieval.evaluate import artifact_targets, expected_steps
from retrieval.suggest import clauses


class Pair(BaseModel):
    anchor: str
    positive: str
    negative: str


class TrainConfig(BaseModel):
    pairs: int = 100_000
    """At most this many pairs (after de-duplication)."""
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_seq_length: int = 96
    requirements: bool = True
    """Also pair each whole requirement with each of its steps."""
    seed: int = 0


def _positives(refs: list[Reference], requirements: bool) -> tuple[list[tuple[str, Document]], list[Document]]:
    core = load_catalog(CORE)
    docs = {f"{d.kind}:{d.key}": d for d in documents(core)}
    steps = {d.key: d for d in docs.values() if d.group == "steps"}
    out: list[tuple[str, Document]] = []
    for ref in refs:
        if not isinstance(ref.expected, Workflow) or ref.tenant != CORE:
            continue
        wf = ref.expected
        if wf.trigger:
            out.append((wf.trigger.annotation, docs[f"trigger:{wf.trigger.type}"]))
        out += [(s.annotation, docs[f"action:{s.name}"]) for s in wf.components if f"action:{s.name}" in docs]
        if requirements:
            out += [(ref.requirement, steps[key]) for key in sorted(expected_steps(wf, set(steps)))]
        for annotation, table, column, value in artifact_targets(ref, core):
            if value is None:
                key = f"table:{table}" if column is None else f"column:{table}.{column}"
                out.append((annotation, docs[key]))
    return list(dict.fromkeys(out)), list(docs.values())


def make_pairs(refs: list[Reference], embedder: Embedder, config: TrainConfig) -> list[Pair]:
    """Training pairs with hard negatives mined by `embedder` (the model before training)."""
    positives, pool = _positives(refs, config.requirements)
    rng = random.Random(config.seed)
    rng.shuffle(positives)
    positives = positives[: config.pairs]
    doc_vectors = embedder.encode([d.text for d in pool])
    anchor_vectors = embedder.encode(list(dict.fromkeys(a for a, _ in positives)))
    row_of = {a: i for i, a in enumerate(dict.fromkeys(a for a, _ in positives))}
    pairs = []
    for anchor, positive in positives:
        row = anchor_vectors[row_of[anchor]] @ doc_vectors.T
        for j in np.argsort(-row):
            candidate = pool[j]
            same_group = candidate.group == positive.group and (
                positive.kind != "column" or candidate.table == positive.table
            )
            if same_group and candidate.key != positive.key:
                pairs.append(Pair(anchor=anchor, positive=positive.text, negative=candidate.text))
                break
    return pairs


def fine_tune(base: Path, pairs: list[Pair], out: Path, work: Path, config: TrainConfig,
              fp16: bool = False) -> Path:  # fmt: skip
    """Train and save to `out` (fp16 weights with `fp16`); checkpoints in `work` let an interrupted run resume."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = SentenceTransformer(str(base), device="cpu").float()
    model.max_seq_length = config.max_seq_length
    dataset = Dataset.from_list([p.model_dump() for p in pairs])
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work), num_train_epochs=config.epochs, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_ratio=0.1, batch_sampler=BatchSamplers.NO_DUPLICATES,
        logging_steps=10, save_strategy="steps", save_steps=50, save_total_limit=1, report_to="none",
        seed=config.seed, use_cpu=True, disable_tqdm=False,
    )  # fmt: skip
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model)
    )
    checkpoints = sorted(work.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if checkpoints else None)
    save(model, out, fp16)
    shutil.rmtree(work, ignore_errors=True)  # checkpoints only serve to resume an interrupted run
    return out


def save(model: object, out: Path, fp16: bool) -> Path:
    """Write a sentence-transformers folder atomically (fp16 weights: half the size, same rankings)."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if fp16:
        model.half()  # type: ignore[attr-defined]
    try:
        model.save_pretrained(str(tmp))  # type: ignore[attr-defined]
    finally:
        if fp16:
            model.float()  # type: ignore[attr-defined]
    (tmp / "README.md").unlink(missing_ok=True)  # a generated model card, with training logs and paths
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def step_recall(embedder: Embedder, refs: list[Reference], k: int = 10,
                tick: Callable[[], None] = lambda: None) -> float:  # fmt: skip
    """Recall@k of the expected steps, ranked as `Retriever.steps` ranks them (each step by its best clause),
    computed in memory over the core and the reference's tenant steps: a quick check of a checkpoint on dev."""
    candidates: dict[str, tuple[set[str], list[Document], np.ndarray]] = {}
    core_steps = [d for d in documents(load_catalog(CORE)) if d.group == "steps"]
    queries = list(dict.fromkeys(q for r in refs for q in clauses(r.requirement)))
    vectors = dict(zip(queries, embedder.encode(queries), strict=True))
    total, count = 0.0, 0
    for ref in refs:
        tick()
        if not isinstance(ref.expected, Workflow):
            continue
        if ref.tenant not in candidates:
            catalog = dataset_catalog(ref.tenant)
            docs = core_steps + ([d for d in documents(catalog) if d.group == "steps"] if ref.tenant != CORE else [])
            ids = set(catalog.actions) | set(catalog.triggers)
            candidates[ref.tenant] = (ids, docs, embedder.encode([d.text for d in docs]))
        ids, docs, doc_vectors = candidates[ref.tenant]
        expected = expected_steps(ref.expected, ids)
        if not expected:
            continue
        scores = np.max(np.stack([vectors[q] for q in clauses(ref.requirement)]) @ doc_vectors.T, axis=0)
        ranked = {docs[i].key for i in np.argsort(-scores)[:k]}
        total += len(expected & ranked) / len(expected)
        count += 1
    return total / count if count else 0.0
