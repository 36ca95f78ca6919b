"""Building the splits: generated train, dev and ood, hand-written test and ood, and their stage examples.

dev (generated like train, never trained on) is where checkpoints are compared: never on test or ood."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from flowgen.catalog import Catalog, list_tenants, load_catalog
from flowgen.errors import FlowGenError
from flowgen.evaluation.records import Reference, load_references, write_jsonl
from flowgen.features import derive_features
from flowgen.workflow import Workflow

from .catalogs import dataset_catalog, training_tenants
from .check import problems
from .generator import generate
from .stages import stage_examples

HANDWRITTEN = Path(__file__).parent / "handwritten"
SPLITS = ("train", "dev", "test", "ood")
TRAIN_SIZE = 2000
TRAIN_PER_TRAINING_TENANT = 100
DEV_SIZE = 100
OOD_PER_TENANT = 100


def normalize(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def with_features(ref: Reference, catalog: Catalog) -> Reference:
    """The reference with its derived feature tags added to the hand-set wording tags."""
    tags = set(ref.features)
    if isinstance(ref.expected, Workflow):
        custom = frozenset(a for a in catalog.actions if a in catalog.tenant_ids)
        tags |= derive_features(ref.expected, custom)
    return ref.model_copy(update={"features": sorted(tags)})


def handwritten(split: str, root: Path = HANDWRITTEN) -> list[Reference]:
    if split == "test":
        return load_references(root / "test.jsonl")
    refs: list[Reference] = []
    for path in sorted((root / "ood").glob("*.jsonl")):
        refs += load_references(path)
    return refs


def generated(
    rng: random.Random, catalog: Catalog, count: int, prefix: str, taken: set[str], tick: Callable[[], None]
) -> list[Reference]:
    """`count` generated examples whose requirements are not in `taken` (which they join)."""
    out: list[Reference] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * 20:
            raise FlowGenError(f"{prefix}: could not generate {count} distinct requirements")
        text, workflow, tags = generate(rng, catalog)
        key = normalize(text)
        if key in taken:
            continue
        taken.add(key)
        ref = Reference(
            id=f"{prefix}-{len(out) + 1:05d}", tenant=catalog.tenant, requirement=text, expected=workflow,
            features=sorted(tags), source="generated",
        )  # fmt: skip
        out.append(with_features(ref, catalog))
        tick()
    return out


def build_splits(seed: int, tick: Callable[[], None] = lambda: None) -> dict[str, list[Reference]]:
    """All three splits, deterministic per seed. Raises if any example fails its checks."""
    core = load_catalog("core")
    test = [with_features(r, core) for r in handwritten("test")]
    ood_hand = [with_features(r, load_catalog(r.tenant)) for r in handwritten("ood")]
    held_out = {normalize(r.requirement) for r in test + ood_hand}
    taken = set(held_out)
    train = generated(random.Random(f"{seed}:train"), core, TRAIN_SIZE, "train", taken, tick)
    dev = generated(random.Random(f"{seed}:dev"), core, DEV_SIZE, "dev", taken, tick)
    on_tenants = [
        generated(random.Random(f"{seed}:train:{t}"), dataset_catalog(t), TRAIN_PER_TRAINING_TENANT, f"train-{t}",
                  taken, tick)
        for t in training_tenants()
    ]  # fmt: skip
    train = interleave([train, *on_tenants])
    ood: list[Reference] = []
    for tenant in list_tenants():
        catalog = load_catalog(tenant)
        own = [r for r in ood_hand if r.tenant == tenant]
        rng = random.Random(f"{seed}:ood:{tenant}")
        ood += own + generated(rng, catalog, OOD_PER_TENANT - len(own), f"ood-{tenant}", taken, tick)
    splits = {"train": train, "dev": dev, "test": test, "ood": ood}
    failures = [f"{split}:{ref.id}: {p}" for split, refs in splits.items() for ref in refs
                for p in problems(ref, dataset_catalog)]  # fmt: skip
    if failures:
        raise FlowGenError("examples that do not validate:\n" + "\n".join(failures[:20]))
    return splits


def interleave(groups: list[list[Reference]]) -> list[Reference]:
    """The groups' references spread evenly through one list, each group in its order: any prefix (a
    `--limit` run of train) holds every group in proportion."""
    keyed = [((i + 0.5) / len(group), g, ref) for g, group in enumerate(groups) for i, ref in enumerate(group)]
    return [ref for _, _, ref in sorted(keyed, key=lambda k: (k[0], k[1]))]


def planned_size() -> int:
    return (
        TRAIN_SIZE
        + TRAIN_PER_TRAINING_TENANT * len(training_tenants())
        + DEV_SIZE
        + OOD_PER_TENANT * len(list_tenants())
    )


def write_splits(splits: dict[str, list[Reference]], out: Path, seed: int) -> dict[str, dict[str, int]]:
    """`<split>.jsonl`, `<split>.create_flow.jsonl`, `<split>.populate_inputs.jsonl` and manifest.json."""
    counts: dict[str, dict[str, int]] = {}
    for split, refs in splits.items():
        creates, populates = [], []
        for ref in refs:
            create, populate = stage_examples(ref)
            creates += [create] if create else []
            populates += populate
        write_jsonl(out / f"{split}.jsonl", refs)
        write_jsonl(out / f"{split}.create_flow.jsonl", creates)
        write_jsonl(out / f"{split}.populate_inputs.jsonl", populates)
        counts[split] = {"examples": len(refs), "createFlow": len(creates), "populateInputs": len(populates)}
    manifest = {"seed": seed, "splits": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return counts


OOD_SAMPLE_PER_TENANT = 20


def ood_sample(ood: list[Reference], per_tenant: int = OOD_SAMPLE_PER_TENANT) -> list[Reference]:
    """The fixed, stratified ood sample the results report: per tenant, its hand-written examples, then
    generated ones in id order, `per_tenant` in all (200 over the ten tenants)."""
    out: list[Reference] = []
    for tenant in sorted({r.tenant for r in ood}):
        own = sorted((r for r in ood if r.tenant == tenant), key=lambda r: (r.source != "handwritten", r.id))
        out += own[:per_tenant]
    return out


def load_split(folder: Path, split: str) -> list[Reference]:
    """A split from a folder written by `flowgen dataset build`; `ood_sample` is the fixed stratified sample
    of ood. A missing one is an error naming the command, never a rebuild (with a seed nobody chose)."""
    if split == "ood_sample":
        return ood_sample(load_split(folder, "ood"))
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        raise FlowGenError(f"no {split} split in {folder}: build it with `flowgen dataset build --out {folder}`")
    return load_references(path)
