"""Describing built splits: the paper's Table 1, feature counts, leakage and phrasing diversity."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from flowgen.features import FEATURES, TABLE7
from flowgen.workflow import Workflow

from .splits import SPLITS, load_split
from .stages import stage_examples


class SplitStats(BaseModel):
    examples: int
    create_flow: int
    populate_inputs: int
    features: dict[str, int]


class DatasetStats(BaseModel):
    splits: dict[str, SplitStats]
    test_mostly_in_train_pct: float
    """Share of test requirements whose word 4-grams mostly (over half) occur in train."""
    train_shapes: int
    train_texts_per_shape: float
    train_same_shape_jaccard: float
    """Mean word-set Jaccard similarity of two train requirements with the same shape (lower: more varied)."""
    train_trigrams_per_1000: int
    table7_missing: dict[str, list[str]]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def _jaccard(a: str, b: str) -> float:
    x, y = set(words(a)), set(words(b))
    return len(x & y) / max(1, len(x | y))


def shape(workflow: Workflow) -> tuple:
    """What a requirement's workflow looks like without inputs and annotations."""
    trigger = workflow.trigger.type if workflow.trigger else None
    return trigger, tuple((s.name, s.parent) for s in workflow.components)


def compute(folder: Path) -> DatasetStats:
    refs = {split: load_split(folder, split) for split in SPLITS}
    splits = {}
    for split, items in refs.items():
        stages = [stage_examples(r) for r in items]
        splits[split] = SplitStats(
            examples=len(items),
            create_flow=sum(1 for c, _ in stages if c),
            populate_inputs=sum(len(p) for _, p in stages),
            features=dict(sorted(Counter(f for r in items for f in r.features).items())),
        )
    train_grams = set().union(*(ngrams(r.requirement, 4) for r in refs["train"]))
    mostly = 0
    for ref in refs["test"]:
        grams = ngrams(ref.requirement, 4)
        if grams and sum(g in train_grams for g in grams) > len(grams) / 2:
            mostly += 1
    texts_by_shape: dict[tuple, set[str]] = {}
    for ref in refs["train"]:
        if isinstance(ref.expected, Workflow):
            texts_by_shape.setdefault(shape(ref.expected), set()).add(ref.requirement)
    same_shape = []
    for texts in texts_by_shape.values():
        ordered = sorted(texts)
        same_shape += [_jaccard(a, b) for a, b in zip(ordered, ordered[1:], strict=False)]
    sample = refs["train"][:1000]
    trigrams = set().union(*(ngrams(r.requirement, 3) for r in sample)) if sample else set()
    return DatasetStats(
        splits=splits,
        test_mostly_in_train_pct=100.0 * mostly / max(1, len(refs["test"])),
        train_shapes=len(texts_by_shape),
        train_texts_per_shape=sum(map(len, texts_by_shape.values())) / max(1, len(texts_by_shape)),
        train_same_shape_jaccard=sum(same_shape) / max(1, len(same_shape)),
        train_trigrams_per_1000=round(len(trigrams) * 1000 / max(1, len(sample))),
        table7_missing={s: [f for f in TABLE7 if f not in splits[s].features] for s in ("train", "test")},
    )


def render(stats: DatasetStats) -> str:
    lines = ["Table 1: examples per stage task", "| split | #createFlow | #populateInputs |", "|---|---|---|"]
    lines += [f"| {name} | {s.create_flow} | {s.populate_inputs} |" for name, s in stats.splits.items()]
    lines += [
        "",
        "Feature counts",
        "| feature | " + " | ".join(stats.splits) + " |",
        "|---|" + "---|" * len(stats.splits),
    ]
    for feature in FEATURES:
        mark = " (Table 7)" if feature in TABLE7 else ""
        counts = " | ".join(str(s.features.get(feature, 0)) for s in stats.splits.values())
        lines.append(f"| {feature}{mark} | {counts} |")
    lines += [
        "",
        f"test requirements whose word 4-grams mostly occur in train: {stats.test_mostly_in_train_pct:.1f}%",
        f"train workflow shapes: {stats.train_shapes}; "
        f"distinct requirement texts per shape: {stats.train_texts_per_shape:.2f}; "
        f"word overlap (Jaccard) of two requirements with the same shape: {stats.train_same_shape_jaccard:.2f}",
        f"distinct word 3-grams per 1,000 train requirements: {stats.train_trigrams_per_1000}",
    ]
    for split, missing in stats.table7_missing.items():
        lines.append(f"Table 7 features missing from {split}: {', '.join(missing) or 'none'}")
    return "\n".join(lines) + "\n"
