"""Checking dataset examples: each must parse and validate against its tenant's catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flowgen.catalog import Catalog, load_catalog
from flowgen.evaluation.records import Reference
from flowgen.features import FEATURES
from flowgen.validation import validate
from flowgen.workflow import Workflow


def problems(ref: Reference, catalogs: Callable[[str], Catalog] = load_catalog) -> list[str]:
    """What is wrong with one example; empty when it is fit for a split."""
    out = [f"unknown feature tag {tag!r}" for tag in ref.features if tag not in FEATURES]
    if not ref.requirement.strip():
        out.append("empty requirement")
    if isinstance(ref.expected, Workflow):
        out += [str(v) for v in validate(ref.expected, catalogs(ref.tenant)).violations]
        out += _annotation_problems(ref.requirement, ref.expected)
    elif "out_of_scope" not in ref.features:
        out.append("an out-of-scope reference must carry the out_of_scope tag")
    return out


def check_all(refs: Iterable[Reference], catalogs: Callable[[str], Catalog] = load_catalog) -> dict[str, list[str]]:
    """Problems by example id, for the examples that have any."""
    report = {}
    for ref in refs:
        found = problems(ref, catalogs)
        if found:
            report[ref.id] = found
    return report


def _annotation_problems(requirement: str, workflow: Workflow) -> list[str]:
    """Annotations are spans of the requirement (case aside): stage 2 relies on them."""
    text = " ".join(requirement.lower().split())
    parts = ([("trigger", workflow.trigger.annotation)] if workflow.trigger else []) + [
        (f"step {s.step}", s.annotation) for s in workflow.components
    ]
    return [
        f"{where}: annotation {annotation!r} is not a span of the requirement"
        for where, annotation in parts
        if " ".join(annotation.lower().split()) not in text
    ]
