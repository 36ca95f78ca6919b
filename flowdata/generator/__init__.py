"""Generating (requirement, workflow) pairs from a catalog, deterministic per random generator."""

from __future__ import annotations

import random

from flowgen.catalog import Catalog
from flowgen.semantics import heads
from flowgen.workflow import Workflow

from . import lexicon as lx
from .draft import Draft
from .patterns import weighted
from .shapes import SHAPES
from .style import render

TYPO_RATE = 0.2


def subject_tables(catalog: Catalog) -> list[str]:
    """Tables the flows are about: a tenant's own tables first, else the usual ITSM ones (weighted)."""
    own = sorted(t for t in catalog.tenant_ids if t in catalog.tables)
    core = [t for t, weight in lx.SUBJECT_TABLES.items() for _ in range(weight) if t in catalog.tables]
    return own * 3 + core[: len(own) * 2] if own else core


def generate(rng: random.Random, catalog: Catalog) -> tuple[str, Workflow, set[str]]:
    """One example: the requirement, its workflow and its wording tags."""
    d = Draft(rng, catalog)
    shape = weighted(rng, SHAPES)
    segments = shape(d, subject_tables(catalog))  # type: ignore[operator]
    text, typos = render(rng, segments, typos=rng.random() < TYPO_RATE)
    workflow = d.workflow()
    tags = set(d.tags)
    if typos:
        tags.add("typos")
    if len(workflow.components) <= 2 and not set(heads()).intersection(s.name for s in workflow.components):
        tags.add("draft")
    return text, workflow, tags
