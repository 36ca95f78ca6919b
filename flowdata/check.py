"""Checking dataset examples: each must parse and validate against its tenant's catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flowgen.catalog import Catalog, load_catalog
from flowgen.evaluation.records import Reference
from flowgen.expressions import Term, find_pills, parse_assignments, parse_query
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
        out += _choice_problems(ref.expected, catalogs(ref.tenant))
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


def _choice_problems(workflow: Workflow, catalog: Catalog) -> list[str]:
    """Choice columns compared or set with `=` take stored values (`state=6`, not `state=resolved`)."""
    out = []
    parts = ([workflow.trigger] if workflow.trigger else []) + list(workflow.components)
    for part in parts:
        values = {i.name: i.value for i in part.inputs}
        table = values.get("table")
        if table not in catalog.tables:
            continue
        columns = catalog.columns(table)
        for name, value in values.items():
            if name in ("conditions", "condition"):
                terms = [
                    (t.field, t.value) for t in parse_query(value) if isinstance(t, Term) and t.operator in ("=", "!=")
                ]
            elif name == "field_values":
                terms = [p for p in parse_assignments(value) if isinstance(p, tuple)]
            else:
                continue
            for field, stored in terms:
                column = columns.get(field)
                if not column or column.type != "choice" or not stored or find_pills(stored):
                    continue
                if stored not in column.stored_values():
                    out.append(f"{table}.{field}: {stored!r} is not a stored choice value")
    return out
