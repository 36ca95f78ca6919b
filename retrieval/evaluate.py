"""Recall@k of the suggestions against what the reference workflows actually use.

Steps: the trigger type and action names of each workflow (flow logic needs no retrieval), queried
with the requirement. Tables: each `table` input, queried with the step's annotation. Columns: the
first column of every condition / field-value term on a known table. Values: stored choice values
used with `=` in those terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from flowgen.catalog import Catalog
from flowgen.catalog.model import Column
from flowgen.evaluation.records import Reference
from flowgen.expressions import Term, find_pills, parse_assignments, parse_query
from flowgen.workflow import Workflow

from .suggest import Retriever, clauses

KS = (5, 10, 20)


class Recall(BaseModel):
    split: str
    target: str
    queries: int
    recall: dict[int, float]


@dataclass
class _Tally:
    hits: dict[int, float] = field(default_factory=lambda: dict.fromkeys(KS, 0.0))
    queries: int = 0

    def add(self, ranked: list[str], expected: set[str]) -> None:
        if not expected:
            return
        self.queries += 1
        for k in KS:
            self.hits[k] += len(expected & set(ranked[:k])) / len(expected)

    def result(self, split: str, target: str) -> Recall:
        recall = {k: (v / self.queries if self.queries else 0.0) for k, v in self.hits.items()}
        return Recall(split=split, target=target, queries=self.queries, recall=recall)


def expected_steps(workflow: Workflow, step_ids: set[str]) -> set[str]:
    names = {s.name for s in workflow.components if s.name in step_ids}
    return names | ({workflow.trigger.type} if workflow.trigger else set())


def artifact_targets(ref: Reference, catalog: Catalog) -> list[tuple[str, str, str | None, str | None]]:
    """(annotation, table, column, value) for every table / column / value a reference's inputs name."""
    assert isinstance(ref.expected, Workflow)
    out: list[tuple[str, str, str | None, str | None]] = []
    parts = ([ref.expected.trigger] if ref.expected.trigger else []) + list(ref.expected.components)
    for part in parts:
        values = {i.name: i.value for i in part.inputs}
        table = values.get("table")
        if not table or table not in catalog.tables or find_pills(table):
            continue
        out.append((part.annotation, table, None, None))
        columns = catalog.columns(table)
        for name, value in values.items():
            terms: list[tuple[str, str | None]] = []
            if name in ("conditions", "condition"):
                terms = [
                    (t.field, t.value if t.operator == "=" else None) for t in parse_query(value) if isinstance(t, Term)
                ]
            elif name == "field_values":
                terms = [(p[0], p[1]) for p in parse_assignments(value) if isinstance(p, tuple)]
            for column_path, term_value in terms:
                column = columns.get(column_path.split(".")[0])
                if column is None:
                    continue
                out.append((part.annotation, table, column.name, None))
                if _is_choice_value(column, term_value):
                    out.append((part.annotation, table, column.name, term_value))
    return out


def _is_choice_value(column: Column, value: str | None) -> bool:
    return column.type == "choice" and value in column.stored_values()


def evaluate(
    retriever: Retriever, split: str, refs: list[Reference], tick: Callable[[], None] = lambda: None
) -> list[Recall]:
    steps, tables, columns, values = _Tally(), _Tally(), _Tally(), _Tally()
    k = max(KS)
    queries = [q for r in refs if isinstance(r.expected, Workflow) for q in clauses(r.requirement)]
    queries += [
        t[0] for r in refs if isinstance(r.expected, Workflow) for t in artifact_targets(r, retriever.catalog(r.tenant))
    ]
    retriever.prefetch(queries)
    for ref in refs:
        tick()
        if not isinstance(ref.expected, Workflow):
            continue
        catalog = retriever.catalog(ref.tenant)
        step_ids = set(catalog.actions) | set(catalog.triggers)
        ranked = [s.key for s in retriever.steps(ref.requirement, ref.tenant, k)]
        steps.add(ranked, expected_steps(ref.expected, step_ids))
        for annotation, table, column, value in artifact_targets(ref, catalog):
            if column is None:
                tables.add([s.key for s in retriever.tables(annotation, ref.tenant, k)], {table})
            elif value is None:
                columns.add([s.column or "" for s in retriever.columns(table, annotation, ref.tenant, k)], {column})
            else:
                ranked_values = [s.value or "" for s in retriever.values(table, column, annotation, ref.tenant, k)]
                values.add(ranked_values, {value})
    return [t.result(split, name) for name, t in
            (("steps", steps), ("tables", tables), ("columns", columns), ("values", values))]  # fmt: skip


def render(results: list[Recall]) -> str:
    lines = [
        "| split | target | queries | " + " | ".join(f"R@{k}" for k in KS) + " |",
        "|---|---|---|" + "---|" * len(KS),
    ]
    for r in results:
        lines.append(f"| {r.split} | {r.target} | {r.queries} | " + " | ".join(f"{r.recall[k]:.3f}" for k in KS) + " |")
    return "\n".join(lines) + "\n"
