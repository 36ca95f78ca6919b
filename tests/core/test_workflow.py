from __future__ import annotations

import json

import pytest

from flowgen.errors import WorkflowParseError
from flowgen.workflow import OutOfScope, Workflow, answer_schema, parse_answer, parse_workflow


def test_example_round_trips(example: dict) -> None:
    workflow = parse_workflow(json.dumps(example))
    assert workflow.to_json() == example


def test_refusal_parses() -> None:
    answer = parse_answer('{"out_of_scope": true, "reason": "asks for a status, not an automation"}')
    assert isinstance(answer, OutOfScope)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"trigger": null}', "components: Field required"),
        ('{"trigger": null, "components": [{"name": "log", "step": "one", "annotation": ""}]}', "components.0.step"),
        ('{"trigger": null, "components": [], "extra": 1}', "extra: Extra inputs are not permitted"),
    ],
)
def test_parse_errors_name_the_field(text: str, expected: str) -> None:
    with pytest.raises(WorkflowParseError, match=expected):
        parse_answer(text)


def test_schema_describes_both_answers() -> None:
    schema = json.dumps(answer_schema())
    assert "out_of_scope" in schema and "components" in schema
    assert Workflow.model_json_schema()["required"] == ["trigger", "components"]
