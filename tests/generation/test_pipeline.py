"""The pipeline between its seams: a scripted model and scripted suggestions (fast, no engine, no index)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from flowgen.catalog import Catalog
from flowgen.evaluation.records import Reference
from flowgen.expressions import drop_contradictions
from flowgen.workflow import Workflow
from generation.engines import GenerationFailed
from generation.outline import to_plan
from generation.pipeline import Pipeline, Result
from tests.conftest import PAPER, max_calls
from tests.fakes import FAILED, Scripted, Suggestions

STEPS = ["record_update", "look_up_records", "for_each", "update_record"]
TABLES = ["incident", "sys_user"]


@pytest.fixture
def paper(example: dict) -> Reference:
    return Reference(id="paper", requirement=PAPER, expected=example)


async def quiet(kind: str, data: dict[str, Any]) -> None:
    return None


def run(model: Scripted, catalog: Catalog, steps: list[str] = STEPS, **kwargs: object) -> Result:
    pipeline = Pipeline(model, Suggestions(catalog, steps, TABLES), "compact", refuse_below=0)
    return asyncio.run(pipeline.run(PAPER, "core", **kwargs))  # type: ignore[arg-type]


def shape(workflow: Workflow) -> list[tuple[int, str, int | None, list[tuple[str, str]]]]:
    return [(s.step, s.name, s.parent, [(i.name, i.value) for i in s.inputs]) for s in workflow.components]


def test_assembly_follows_the_plan_and_the_catalog_not_the_answers(paper: Reference, core: Catalog) -> None:
    result = run(Scripted(paper, core), core)
    assert isinstance(result.answer, Workflow) and isinstance(paper.expected, Workflow)
    assert shape(result.answer) == shape(paper.expected)  # answers came last step first, keys reversed
    assert result.answer.trigger is not None and paper.expected.trigger is not None
    assert result.answer.trigger.inputs == paper.expected.trigger.inputs
    assert result.report is not None and result.report.ok, result.report
    assert result.failures == [] and 2 <= result.calls <= max_calls(result.answer)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (FAILED, "step 3: scripted failure"),
        ('{"record": "{{step_2.item}}"', "step 3: the engine returned invalid JSON"),
        ('{"recrod": "x"}', "step 3: the answer is not the shape asked for"),
        ('["{{step_2.item}}"]', "step 3: the answer is not the shape asked for (at the top level"),
    ],
)
def test_a_failed_step_is_reported_and_the_others_kept(
    paper: Reference, core: Catalog, answer: str | Exception, reason: str
) -> None:
    result = run(Scripted(paper, core, {3: answer}), core)
    assert len(result.failures) == 1 and result.failures[0].startswith(reason), result.failures
    assert isinstance(result.answer, Workflow) and isinstance(paper.expected, Workflow)
    kept = shape(result.answer)
    assert kept[:2] == shape(paper.expected)[:2]
    assert kept[2][:3] == (3, "update_record", 2) and kept[2][3] == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [("{oops", "outline: the engine returned invalid JSON"), ('{"steps": 3}', "outline: the answer is not the shape")],
)
def test_an_unusable_outline_fails_the_request_clearly(
    paper: Reference, core: Catalog, answer: str, reason: str
) -> None:
    with pytest.raises(GenerationFailed, match=reason):
        run(Scripted(paper, core, {"outline": answer}), core)


def test_unfillable_inputs_are_a_failure_without_a_model_call(paper: Reference, core: Catalog) -> None:
    """A plan the grammar never writes (an edit can): update_record after a daily schedule has no record."""
    plan = to_plan({"trigger": {"type": "scheduled_daily", "a": "every day"},
                    "steps": [{"do": "update_record", "a": "assign them", "table": "incident"}]})  # fmt: skip
    model = Scripted(paper, core)
    pipeline = Pipeline(model, Suggestions(core, STEPS, TABLES), "compact")
    filled, failures, _, calls = asyncio.run(pipeline.populate(PAPER, core, plan, TABLES, quiet, targets=[1]))
    assert failures == ["step 1: nothing in scope can fill required input 'record' of update_record"]
    assert calls == 0 and model.schemas == [] and 1 not in filled


def test_perfect_rag_adds_the_expected_steps_to_the_grammar(paper: Reference, core: Catalog) -> None:
    without = ["look_up_records"]  # the retriever missed the trigger and the update
    with pytest.raises(GenerationFailed, match="outline: the answer is not the shape"):
        run(Scripted(paper, core), core, without)
    model = Scripted(paper, core)
    result = run(model, core, without, perfect_steps=["record_update", "update_record"])
    assert isinstance(result.answer, Workflow) and result.failures == []
    assert '"update_record"' in str(model.schemas[0]).replace("'", '"')


def test_a_condition_that_contradicts_an_earlier_one_is_dropped_from_the_models_answer(
    paper: Reference, core: Catalog
) -> None:
    """The sixth run's answer to the paper's example: as written, the look-up finds no incident."""
    contradicting = "active=true^assigned_to={{record_update.current}}^assigned_to={{record_update.current.manager}}"
    result = run(Scripted(paper, core, {1: json.dumps({"conditions": contradicting})}), core)
    assert isinstance(result.answer, Workflow)
    assert result.answer.components[0].inputs[-1].value == "active=true^assigned_to={{record_update.current}}"
    assert result.report is not None and result.report.ok, result.report


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("priority=1^state!=6^priority=2^priority=1", "priority=1^state!=6^priority=1"),  # a repeat is not a conflict
        ("state!=6^state!=7^priority>=2^priority<=4", "state!=6^state!=7^priority>=2^priority<=4"),  # ranges
        ("priority=1^NQpriority=2^active=true^priority=3", "priority=1^NQpriority=2^active=true"),  # each query alone
        ("priority=1^ORpriority=2", "priority=1^ORpriority=2"),  # OR binds tighter: left as it is
        ("assigned_toISEMPTY^assigned_to=x", "assigned_toISEMPTY^assigned_to=x"),  # only equalities are compared
    ],
)
def test_only_an_equality_on_a_column_already_equal_to_another_value_is_dropped(query: str, kept: str) -> None:
    assert drop_contradictions(query) == kept
