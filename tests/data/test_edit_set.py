"""The hand-written edit set: every expected workflow is valid, its script makes it, and the scores work."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from flowgen.catalog import load_catalog
from flowgen.evaluation.edits import EditPrediction, evaluate_edits, load_edit_cases
from flowgen.validation import validate
from flowgen.workflow import parse_workflow
from generation.editing.apply import apply
from generation.editing.script import EditScript

HANDWRITTEN = Path(__file__).parents[2] / "flowdata" / "handwritten"
CASES = load_edit_cases(HANDWRITTEN / "edits.jsonl")
KINDS = {"add_notification", "add_condition", "for_each_instead_of_first", "remove_step", "change_value", "wrap_try",
         "no_change", "impossible"}  # fmt: skip


@cache
def references() -> dict[str, dict]:
    out = {}
    for path in [HANDWRITTEN / "test.jsonl", *sorted((HANDWRITTEN / "ood").glob("*.jsonl"))]:
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                out[item["id"]] = item
    return out


def test_the_set_is_large_and_varied() -> None:
    assert len(CASES) >= 50
    assert {c.kind for c in CASES} >= KINDS
    tenants = {c.tenant for c in CASES}
    assert "core" in tenants and len(tenants - {"core"}) >= 5
    assert len({(c.source, c.instruction) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_expected_workflow_is_valid_and_made_by_its_script(case) -> None:  # type: ignore[no-untyped-def]
    catalog = load_catalog(case.tenant)
    ref = references()[case.source]
    assert case.workflow == parse_workflow(ref["expected"]) and case.requirement == ref["requirement"]
    assert validate(case.expected, catalog).ok, [str(v) for v in validate(case.expected, catalog).violations]
    script = EditScript.model_validate(case.script)
    if script.answer:
        assert case.expected == case.workflow and case.kind in ("no_change", "impossible")
    else:
        assert apply(case.workflow, script, catalog).workflow == case.expected


def test_the_expected_edits_score_perfectly() -> None:
    gold = {c.id: EditPrediction(id=c.id, outcome=c.script.get("answer", "edited"), output=c.expected) for c in CASES}
    summary = evaluate_edits(CASES, gold, load_catalog).summary
    assert (summary.outline, summary.inputs, summary.kept_pct, summary.beyond_mean) == (100.0, 100.0, 100.0, 0.0)
    assert summary.answers_right == summary.answer_cases > 0 and summary.structure_errors == summary.catalog_errors == 0


def test_an_edit_that_rewrites_more_than_asked_is_caught() -> None:
    case = next(c for c in CASES if c.id == "edit-001")  # add an email inside test-002's loop
    rewritten = case.expected.model_copy(deep=True)
    rewritten.components = rewritten.components[1:]  # drop the look-up (and the pills to it no longer match)
    report = evaluate_edits([case], {case.id: EditPrediction(id=case.id, outcome="edited", output=rewritten)},
                            load_catalog)  # fmt: skip
    score = report.samples[0]
    assert score.kept < score.untouched and score.beyond == 1 and score.outline < 100
    unchanged = evaluate_edits([case], {}, load_catalog).samples[0]  # no answer: the workflow as it was
    assert unchanged.kept == unchanged.untouched and unchanged.beyond == 0 and unchanged.outcome == "missing"
