"""The edit stage with a scripted engine: the grammar it is given, the calls it makes, what it returns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flowgen.catalog import Catalog, load_catalog
from flowgen.validation import validate
from flowgen.workflow import Input, Workflow
from generation.editing.apply import apply
from generation.editing.grammar import edit_schema, numbered, step_ref, written
from generation.editing.repeats import repeats
from generation.editing.script import EditScript
from generation.editing.stage import EditStage, InvalidWorkflow
from generation.engines import Completion
from generation.pipeline import Pipeline
from tests.fakes import Suggestions
from tests.generation.test_editing import reference

INSERT = {"ops": [{"op": "insert_into", "step": 2, "steps": [{"do": "send_email", "a": "also email each caller"}]}]}
Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


class Scripted:
    """Answers each call with the next function's answer, which must be one the call's schema accepts."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.schemas: list[dict[str, Any]] = []
        self.prompts: list[str] = []

    async def complete(self, prompt: str, schema: dict[str, Any] | None, max_tokens: int,
                       min_tokens: int = 0) -> Completion:  # fmt: skip
        assert schema is not None and self.answers, "an unexpected model call"
        self.schemas.append(schema)
        self.prompts.append(prompt)
        answer = self.answers.pop(0)(prompt, schema)
        Draft202012Validator(schema).validate(answer)
        return Completion(text=json.dumps(answer), tokens=10, finish_reason="stop")

    async def complete_edit(self, prompt: str, schema: dict[str, Any] | None, max_tokens: int,
                            min_tokens: int = 0) -> Completion:  # fmt: skip
        """As the LLM deployment's edit calls (its edit adapter), from the same answers: for the service's routes."""
        return await self.complete(prompt, schema, max_tokens, min_tokens)


class Grammar:
    """The edit grammar of a workflow, checking scripts written with steps by number (`written` names them)."""

    def __init__(self, workflow: Workflow, *args: Any) -> None:
        self.workflow = workflow
        self.check = Draft202012Validator(edit_schema(workflow, *args))

    def is_valid(self, data: dict[str, Any]) -> bool:
        return self.check.is_valid(written(data, self.workflow))


def stage(engine: Scripted) -> EditStage:
    suggestions = Suggestions(load_catalog("core"), ["send_email", "log"], ["incident"])
    return EditStage(Pipeline(engine, suggestions, "compact"))  # type: ignore[arg-type]


def test_an_added_step_costs_one_script_call_and_one_inputs_call(core: Catalog) -> None:
    email = {"to": "{{step_2.item.caller_id.email}}", "subject": "Resolved", "body": "Your incident is resolved."}
    engine = Scripted(
        lambda p, s: written(INSERT, reference("test-024")),
        lambda p, s: email,
    )
    before = reference("test-024")
    result = asyncio.run(stage(engine).run(before, "also email each caller", "core"))
    assert result.outcome == "edited" and result.calls == 2 and result.tokens == 20
    assert result.changed == [5] and result.report.ok
    assert result.workflow.components[:4] == before.components[:4]
    assert {i.name: i.value for i in result.workflow.components[4].inputs} == email
    assert result.diff == ['+ 5. send_email "also email each caller" (inside 2)']
    assert set(engine.schemas[1]["properties"]) >= {"to", "subject", "body"}
    assert "also email each caller" in engine.prompts[1] and "4. send_email" in engine.prompts[1]


def test_a_set_input_is_the_only_value_generated(core: Catalog) -> None:
    engine = Scripted(
        lambda p, s: written({"ops": [{"op": "set", "step": 0, "input": "condition"}]}, reference("test-024")),
        lambda p, s: {"condition": "stateCHANGESTO106^priority=1"},
    )
    result = asyncio.run(stage(engine).run(reference("test-024"), "only for priority 1 problems", "core"))
    assert list(engine.schemas[1]["properties"]) == ["condition"]
    assert result.workflow.trigger.inputs[1].value == "stateCHANGESTO106^priority=1"  # type: ignore[union-attr]
    assert result.changed == [0] and result.workflow.components == reference("test-024").components
    assert result.diff == ["~ trigger: condition: 'stateCHANGESTO106' -> 'stateCHANGESTO106^priority=1'"]


@pytest.mark.parametrize(
    ("instruction", "answer", "value"),
    [
        ("close them as well", "state=7", "state=7^close_code=Resolved by problem"),  # the close code stays
        ("also mark them high priority", "priority=2", "state=6^close_code=Resolved by problem^priority=2"),
        ("don't set a close code, just close them", "state=7", "state=7"),  # asked to take something out: as written
    ],
)
def test_set_field_values_keep_the_fields_stage_2_did_not_name(
    core: Catalog, instruction: str, answer: str, value: str
) -> None:
    """Stage 2 writes a set input from the instruction alone ("priority=2"), which it sees as the step's annotation;
    the step's other fields stay, in the answer and in the stream, and so does its annotation."""
    engine = Scripted(
        lambda p, s: written({"ops": [{"op": "set", "step": 3, "input": "field_values"}]}, reference("test-024")),
        lambda p, s: {"field_values": answer},
    )
    events: list[tuple[str, dict]] = []

    async def on_event(kind: str, data: dict) -> None:
        events.append((kind, data))

    result = asyncio.run(stage(engine).run(reference("test-024"), instruction, "core", on_event))
    assert {i.name: i.value for i in result.workflow.components[2].inputs}["field_values"] == value
    assert [data["inputs"]["field_values"] for kind, data in events if kind == "step"] == [value]  # streamed so
    assert result.workflow.components[3:] == reference("test-024").components[3:] and result.report.ok
    assert f'update_record "{instruction}"' in engine.prompts[1]
    assert result.workflow.components[2].annotation == reference("test-024").components[2].annotation


@pytest.mark.parametrize(
    ("to", "outcome"),
    [("{{step_2.item.caller_id.email}}", "no change needed"), ("{{step_2.item.assigned_to.email}}", "edited")],
)  # fmt: skip
def test_an_edit_that_only_repeats_a_step_is_no_change_needed(core: Catalog, to: str, outcome: str) -> None:
    """Asked for what the flow does already, an added email to the same caller with the same words is "no change
    needed"; to somebody else it is an edit."""
    email = {"to": "{{step_2.item.caller_id.email}}", "subject": "Resolved", "body": "Your incident is resolved."}
    steps = reference("test-024").components
    said = steps[3].model_copy(update={"inputs": [Input(name=k, value=v) for k, v in email.items()]})
    before = reference("test-024").model_copy(update={"components": [*steps[:3], said]})
    engine = Scripted(lambda p, s: written(INSERT, before), lambda p, s: {**email, "to": to})
    result = asyncio.run(stage(engine).run(before, "also email each caller", "core"))
    assert result.outcome == outcome and result.calls == 2
    assert (result.workflow == before) is (outcome == "no change needed")
    assert result.notes == (["new step send_email repeats step 4: the workflow already does this"]
                            if outcome == "no change needed" else [])  # fmt: skip


@pytest.mark.parametrize(
    ("user", "group", "repeats_it"),
    [("{{service_catalog.requested_item.requested_for}}", "VPN Users", True),
     ("{{service_catalog.requested_item.requested_for.user_name}}", "VPN Users", True),  # the same user, by name
     ("{{service_catalog.requested_item.requested_for.manager}}", "VPN Users", False),  # another user
     ("{{service_catalog.requested_item.requested_for}}", "All Staff", False)],
)  # fmt: skip
def test_a_new_step_repeats_one_of_the_same_action_block_and_values(
    core: Catalog, user: str, group: str, repeats_it: bool
) -> None:
    add = {"do": "add_user_to_group", "a": "add them to VPN Users", "inputs": {"user": user, "group": group}}
    applied = apply(reference("test-027"), EditScript.model_validate({"ops": [
        {"op": "insert_into", "step": 2, "steps": [add]}]}), core)  # fmt: skip
    assert bool(repeats(reference("test-027"), applied.workflow, applied)) is repeats_it
    elsewhere = apply(reference("test-027"), EditScript.model_validate({"ops": [
        {"op": "insert_into", "step": 5, "steps": [add]}]}), core)  # fmt: skip
    assert not repeats(reference("test-027"), elsewhere.workflow, elsewhere)  # in the other branch: new


def test_an_edit_that_changes_nothing_says_so(core: Catalog) -> None:
    """Stage 2 wrote the value the step had ("set them to priority 2 as well" answered with the old field values):
    not "edited" with an empty diff, but refused, with why."""
    engine = Scripted(
        lambda p, s: written({"ops": [{"op": "set", "step": 3, "input": "field_values"}]}, reference("test-024")),
        lambda p, s: {"field_values": "state=6^close_code=Resolved by problem"},
    )
    result = asyncio.run(stage(engine).run(reference("test-024"), "set them to priority 2 as well", "core"))
    assert result.outcome == "refused" and result.workflow == reference("test-024") and result.diff == []
    assert result.failures == ["the edit changed nothing: the values written for it are the ones the workflow has"]


@pytest.mark.parametrize("answer", ["no change needed", "the catalog cannot do this"])
def test_answers_leave_the_workflow_as_it_is(core: Catalog, answer: str) -> None:
    engine = Scripted(lambda p, s: {"answer": answer})
    result = asyncio.run(stage(engine).run(reference("test-002"), "print it on paper", "core"))
    assert result.outcome == answer and result.calls == 1 and result.workflow == reference("test-002")


def test_a_script_that_breaks_a_rule_is_refused_not_applied(core: Catalog) -> None:
    engine = Scripted(lambda p, s: written({"ops": [{"op": "delete", "step": 1}]}, reference("test-002")))
    result = asyncio.run(stage(engine).run(reference("test-002"), "remove the look-up", "core"))
    assert result.outcome == "refused" and result.workflow == reference("test-002")
    assert "uses {{step_1.records}}" in result.failures[0]


def test_an_invalid_workflow_is_a_client_error_before_any_model_call(core: Catalog) -> None:
    broken = reference("test-002").model_copy(deep=True)
    broken.components[2].parent = None
    with pytest.raises(InvalidWorkflow, match="S008"):
        asyncio.run(stage(Scripted()).run(broken, "also log it", "core"))
    with pytest.raises(Exception, match="empty instruction"):
        asyncio.run(stage(Scripted()).run(reference("test-002"), "  ", "core"))


def test_the_grammar_names_only_existing_steps_and_the_tenants_actions(core: Catalog) -> None:
    check = Grammar(reference("test-065"), core, "also log it", ["log", "send_email"], ["problem"])

    def ok(*ops: dict[str, Any]) -> bool:
        return check.is_valid({"ops": list(ops)})

    log = {"do": "log", "a": "also log it"}
    assert ok({"op": "insert_after", "step": 6, "steps": [log]})
    assert not ok({"op": "insert_after", "step": 7, "steps": [log]})  # there is no step 7
    assert not ok({"op": "insert_after", "step": 6, "steps": [{"do": "send_sms", "a": "also log it"}]})  # not suggested
    assert not ok({"op": "insert_after", "step": 6, "steps": [{"do": "log", "a": "something else"}]})  # not a clause
    assert ok({"op": "insert_into", "step": 4, "steps": [log]}) and not ok({"op": "insert_into", "step": 3,
                                                                              "steps": [log]})  # fmt: skip
    conditional = Grammar(reference("test-065"), core, "only if it is urgent", ["log"], ["problem"])
    wrap = {"op": "wrap", "first": 2, "last": 4, "block": "if", "a": "only if it is urgent"}
    assert conditional.is_valid({"ops": [wrap]}) and not conditional.is_valid({"ops": [{**wrap, "last": 5}]})  # 5 is
    # inside 4
    assert not ok({**wrap, "a": "also log it"})  # an if only where the instruction says when
    assert ok({"op": "set", "step": 1, "input": "approvers"}) and not ok({"op": "set", "step": 1, "input": "to"})
    assert check.is_valid({"answer": "the catalog cannot do this"}) and not check.is_valid({"answer": "maybe"})


def test_a_script_names_steps_by_their_words_action_and_number(core: Catalog) -> None:
    """The model writes "lookup its incident tasks (look_up_records #1)", not 1: it copies the step it means from
    the instruction's words instead of picking a number."""
    workflow = reference("test-002")
    assert step_ref(workflow.components[0]) == "lookup its incident tasks (look_up_records #1)"
    check = Draft202012Validator(edit_schema(workflow, core, "remove the look-up if closed", ["log"], ["incident"]))
    by_number = {"ops": [{"op": "delete", "step": 3}, {"op": "set", "step": 0, "input": "condition"}]}
    assert not check.is_valid(by_number) and check.is_valid(written(by_number, workflow))
    assert written(by_number, workflow)["ops"][1]["step"] == "the trigger"
    assert numbered(written(by_number, workflow), workflow) == by_number
    wrap = {"ops": [{"op": "wrap", "first": 2, "last": 2, "block": "if", "a": "remove the look-up if closed"}]}
    assert numbered(written(wrap, workflow), workflow) == wrap and check.is_valid(written(wrap, workflow))


@pytest.mark.parametrize(
    ("instruction", "removes"),
    [("log how many got purged", False), ("run it at 2am instead", True), ("don't text the manager", True),
     ("drop the approval", True), ("only for priority 1", False), ("do this for every incident, not just the first",
     True), ("also email the caller", False), ("Don’t email the callers", True)],
)  # fmt: skip
def test_steps_are_deleted_only_when_the_instruction_asks_to_remove_something(
    core: Catalog, instruction: str, removes: bool
) -> None:
    check = Grammar(reference("test-065"), core, instruction, ["log"], ["problem"])
    assert check.is_valid({"ops": [{"op": "delete", "step": 2}]}) is removes
    assert check.is_valid({"ops": [{"op": "unwrap", "step": 4}]}) is removes
    assert check.is_valid({"ops": [{"op": "set", "step": 1, "input": "approvers"}]})  # a change is not a removal


def test_an_edit_adds_no_more_steps_in_one_place_than_the_instruction_has_clauses(core: Catalog) -> None:
    log, email = {"do": "log", "a": "also log it"}, {"do": "send_email", "a": "also log it"}
    one = Grammar(reference("test-065"), core, "also log it", ["log", "send_email"], [])
    assert one.is_valid({"ops": [{"op": "insert_after", "step": 6, "steps": [log]}]})
    assert not one.is_valid({"ops": [{"op": "insert_after", "step": 6, "steps": [log, email]}]})
    two = "log it and email the owner"
    check = Grammar(reference("test-065"), core, two, ["log", "send_email"], [])
    assert check.is_valid({"ops": [{"op": "insert_after", "step": 6, "steps": [{"do": "log", "a": "log it"},
                                                                              {"do": "send_email", "a": "email the owner"}]}]})  # fmt: skip  # noqa: E501


def test_a_step_is_taken_out_or_changed_only_if_the_instruction_talks_about_it(core: Catalog) -> None:
    """Told "don't text the manager", a script may take out the SMS and the branch that only texts, never the Teams
    post or the parallel; a set names the trigger, a step talked about or one with a value the instruction names."""
    flow = core
    when = [{"name": "table", "value": "incident"}, {"name": "condition", "value": "priorityCHANGESTO1"}]
    p1 = Workflow.model_validate({
        "trigger": {"type": "record_update", "annotation": "When an incident becomes P1", "inputs": when},
        "components": [
            {"step": 1, "name": "parallel", "annotation": "at the same time", "inputs": []},
            {"step": 2, "parent": 1, "name": "branch", "annotation": "post in teams", "inputs": []},
            {"step": 3, "parent": 2, "name": "post_teams_message", "annotation": "post in the IT Ops channel",
             "inputs": [{"name": "team", "value": "IT Ops"}, {"name": "channel", "value": "Major Incidents"},
                        {"name": "message", "value": "P1: {{record_update.current.number}}"}]},
            {"step": 4, "parent": 1, "name": "branch", "annotation": "meanwhile", "inputs": []},
            {"step": 5, "parent": 4, "name": "send_sms", "annotation": "text the group's manager",
             "inputs": [{"name": "to", "value": "{{record_update.current.assignment_group.manager.mobile_phone}}"},
                        {"name": "message", "value": "P1 incident for your group"}]},
        ],
    })  # fmt: skip
    assert validate(p1, flow).ok
    check = Grammar(p1, flow, "don't text the manager", ["log"], [])
    assert [n for n in range(1, 6) if check.is_valid({"ops": [{"op": "delete", "step": n}]})] == [4, 5]
    assert check.is_valid({"ops": [{"op": "set", "step": 0, "input": "condition"}]})
    assert not check.is_valid({"ops": [{"op": "set", "step": 3, "input": "message"}]})
    by_value = Grammar(p1, flow, "say 'P2' instead of 'P1'", ["log"], [])
    assert by_value.is_valid({"ops": [{"op": "set", "step": 3, "input": "message"}]})  # its message says P1
    by_number = Grammar(p1, flow, "take out step 3", ["log"], [])
    assert [n for n in range(1, 6) if by_number.is_valid({"ops": [{"op": "delete", "step": n}]})] == [2, 3]
    fails = "if the teams post fails, log it"
    try_ = Grammar(p1, flow, fails, ["log"], [])

    def wrapped(step: int) -> dict:
        catch = [{"do": "log", "a": fails}]
        return {"ops": [{"op": "wrap", "first": step, "last": step, "block": "try", "a": fails, "catch": catch}]}

    assert [n for n in range(1, 6) if try_.is_valid(wrapped(n))] == [2, 3]  # the post, or the branch that only posts
    # the "if" of a failing clause asks for a try, not an if
    assert not try_.is_valid({"ops": [{"op": "wrap", "first": 5, "last": 5, "block": "if", "a": fails}]})
    vague = Grammar(p1, flow, "don't do it at night", ["log"], [])  # names no step
    assert all(vague.is_valid({"ops": [{"op": "delete", "step": n}]}) for n in range(2, 6))  # 1: the only top step


@pytest.mark.parametrize(
    ("instruction", "tries"),
    [("if the email fails, log it", True), ("in case something goes wrong, log it", True),
     ("log it if emailing errors out", True), ("when it's rejected also email the owner and log it", False),
     ("email the owner and log it", False)],
)  # fmt: skip
def test_steps_are_wrapped_in_a_try_only_when_the_instruction_talks_about_failing(
    core: Catalog, instruction: str, tries: bool
) -> None:
    check = Grammar(reference("test-065"), core, instruction, ["log"], ["problem"])
    wrap = {"op": "wrap", "first": 6, "last": 6, "block": "if", "a": instruction}
    assert check.is_valid({"ops": [{**wrap, "block": "try", "catch": [{"do": "log", "a": instruction}]}]}) is tries
    assert not check.is_valid({"ops": [wrap]})  # the "if" or "when" of a failure, or of an "also", asks for no if


def test_the_whole_flow_is_not_wrapped_in_an_if_when_the_trigger_has_a_condition(core: Catalog) -> None:
    """Of a flow whose trigger has a condition, "only for critical ones" is that condition, not an if around it all."""
    instruction = "only for critical ones"
    triggered = Grammar(reference("test-024"), core, instruction, ["log"], ["incident"])  # record_update
    wrap = {"op": "wrap", "first": 1, "last": 2, "block": "if", "a": instruction}
    assert not triggered.is_valid({"ops": [wrap]}) and triggered.is_valid({"ops": [{**wrap, "last": 1}]})
    assert triggered.is_valid({"ops": [{"op": "set", "step": 0, "input": "condition"}]})
    scheduled = Grammar(reference("test-003"), core, instruction, ["log"], ["incident"])  # no condition to say it
    assert scheduled.is_valid({"ops": [wrap]})


@pytest.mark.parametrize(
    ("instruction", "loops"),
    [("do it for all of them", True), ("close each one", True), ("if closing one fails, log it and go on", False)],
)
def test_steps_are_wrapped_in_a_for_each_only_when_the_instruction_says_each_every_or_all(
    core: Catalog, instruction: str, loops: bool
) -> None:
    check = Grammar(reference("test-002"), core, instruction, ["log"], ["incident_task"])
    wrap = {"op": "wrap", "first": 3, "last": 3, "block": "for_each", "a": instruction}
    assert check.is_valid({"ops": [{**wrap, "inputs": {"items": "{{step_1.records}}"}}]}) is loops


def test_a_try_wraps_what_the_failing_clause_names(core: Catalog) -> None:
    """Told "if the email fails log it and still resolve them", the email may fail, not the resolving the clause
    after names."""
    instruction = "if the email fails log it and still resolve them"
    check = Grammar(reference("test-024"), core, instruction, ["log"], ["incident"])
    catch = [{"do": "log", "a": instruction}]

    def tried(first: int, last: int) -> bool:
        op = {"op": "wrap", "first": first, "last": last, "block": "try", "a": instruction, "catch": catch}
        return check.is_valid({"ops": [op]})

    assert tried(4, 4) and not tried(3, 3) and not tried(3, 4)
    adding = "if adding them to the group fails, log it"
    add = {"op": "wrap", "block": "try", "a": adding, "catch": [{"do": "log", "a": adding}]}
    assert Grammar(reference("test-027"), core, adding, ["log"], []).is_valid({"ops": [{**add, "first": 3, "last": 3}]})
    caught = Grammar(reference("test-078"), core, adding, ["log"], [])  # there inside a try: its failure is handled
    assert not caught.is_valid({"ops": [{**add, "first": 5, "last": 5}]})
    vague = Grammar(reference("test-024"), core, "if that fails, log it", ["log"], ["incident"])
    op = {"op": "wrap", "first": 3, "last": 4, "block": "try", "a": "if that fails", "catch": catch}
    assert vague.is_valid({"ops": [{**op, "catch": [{"do": "log", "a": "log it"}]}]})  # names nothing: any steps


@pytest.mark.parametrize(
    ("instruction", "deletable"),
    [("don't email the callers, just resolve the incidents", [4]), ("the resolving is enough, drop the emails", [4]),
     ("don't resolve the incidents or email the callers", [1, 2, 3, 4]),
     ("not just the emails, drop the resolving", [2, 3, 4])],
)  # fmt: skip
def test_a_step_a_clause_says_stays_is_not_taken_out(core: Catalog, instruction: str, deletable: list[int]) -> None:
    """The steps named by "just resolve the incidents" or "the resolving is enough" are kept, and the loop around
    them; "not just" keeps none."""
    check = Grammar(reference("test-024"), core, instruction, ["log"], ["incident"])
    assert [n for n in range(1, 5) if check.is_valid({"ops": [{"op": "delete", "step": n}]})] == deletable


@pytest.mark.parametrize(
    ("instruction", "before"),
    [("also log it", False), ("log it before emailing", True), ("first log it", True),
     ("once it's closed, log it", False)],
)  # fmt: skip
def test_a_step_is_inserted_before_another_only_when_the_instruction_says_so(
    core: Catalog, instruction: str, before: bool
) -> None:
    check = Grammar(reference("test-024"), core, instruction, ["log"], ["incident"])
    log = [{"do": "log", "a": instruction}]
    assert check.is_valid({"ops": [{"op": "insert_before", "step": 4, "steps": log}]}) is before
    assert check.is_valid({"ops": [{"op": "insert_after", "step": 4, "steps": log}]})


@pytest.mark.parametrize(
    ("instruction", "adds", "adds_where_no_step_takes_values"),
    [("let each caller know by slack instead", False, False), ("text each caller, not an email", False, False),
     ("not just an email, post it to slack too", True, True), ("also post each one to slack", True, True),
     ("if the email is not sent, log it", True, True), ("set them to priority 1 as well", False, True),
     ("make it stat", False, True), ("make sure it posts to slack too", True, True),
     ("set the priority to 1 and post it to slack", True, True)],
)  # fmt: skip
def test_a_step_is_added_only_when_the_instruction_does_not_change_what_is_there(
    core: Catalog, instruction: str, adds: bool, adds_where_no_step_takes_values: bool
) -> None:
    """One thing asked instead of another, or a value alone ("make it stat"), changes or swaps a step: no new one. Of a
    flow none of whose steps takes a value, "set it inactive" asks for a new step that sets it."""
    check = Grammar(reference("test-024"), core, instruction, ["post_slack_message", "send_email"], ["incident"])
    slack = [{"do": "post_slack_message", "a": instruction}]
    assert check.is_valid({"ops": [{"op": "insert_after", "step": 4, "steps": slack}]}) is adds
    assert check.is_valid({"ops": [{"op": "insert_into", "step": 2, "steps": slack}]}) is adds
    counted = Grammar(reference("test-003"), core, instruction, ["post_slack_message"], ["incident"])
    assert counted.is_valid({"ops": [{"op": "insert_after", "step": 2, "steps": slack}]}) is (
        adds_where_no_step_takes_values
    )


def test_a_swap_changes_the_kind_of_step(core: Catalog) -> None:
    """A step of the same kind is changed by a set, which keeps what it is not told."""
    check = Grammar(reference("test-024"), core, "text each caller, not an email", ["send_sms", "send_email"], [])
    sms, email = [{"do": "send_sms", "a": "text each caller"}], [{"do": "send_email", "a": "text each caller"}]
    assert check.is_valid({"ops": [{"op": "replace", "step": 4, "steps": sms}]})
    assert not check.is_valid({"ops": [{"op": "replace", "step": 4, "steps": email}]})


def test_the_only_step_is_never_deleted(core: Catalog) -> None:
    only = reference("test-002").model_copy(deep=True)
    only.components = only.components[:1]
    check = Grammar(only, core, "run it at 2am instead", ["log"], ["incident"])
    assert not check.is_valid({"ops": [{"op": "delete", "step": 1}]})
    assert check.is_valid({"ops": [{"op": "set", "step": 0, "input": "condition"}]})


def test_tenant_actions_come_from_the_suggestions() -> None:
    banking = load_catalog("banking")
    custom = sorted(a for a in banking.actions if a in banking.tenant_ids)[:2]
    schema = edit_schema(reference("test-002"), banking, "freeze it", [*custom, "log"], ["incident"])
    names = json.dumps(schema)
    assert all(f'"{a}"' in names for a in custom)
