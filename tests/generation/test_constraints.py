"""The constraint builders without the engine: what the grammar accepts is a valid workflow."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import xgrammar as xgr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xgrammar.testing import _is_grammar_accept_string

from flowgen.catalog import Catalog
from flowgen.validation import validate
from generation.inputs import Unfillable, step_schema, without_unfillable
from generation.outline import outline_schema, spans, to_plan
from generation.pipeline import _assemble

REQUIREMENT = (
    "Every time a user becomes inactive, find all incidents where the user is the assignee. Assign them to their "
    "manager, add a work note and if it is a P1 post to slack; otherwise email the caller."
)
TABLES = ["incident", "sys_user", "incident_task", "change_request"]


def strategy(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0,
             built: dict[tuple[str, int], st.SearchStrategy] | None = None) -> st.SearchStrategy:  # fmt: skip
    """Values of the JSON Schema subset the builders emit (anyOf, enum, object, array, prefixItems, $ref,
    pattern); a definition is built once per depth (`built`), however often it is referenced."""
    built = {} if built is None else built
    if "$ref" in schema:
        key = (schema["$ref"], depth)
        if key not in built:  # definitions only refer to deeper ones: building one never comes back to it
            built[key] = strategy(defs[schema["$ref"].split("/")[-1]], defs, depth + 1, built)
        return built[key]
    if "anyOf" in schema:
        options = schema["anyOf"]
        if depth >= 4:  # keep trees small: no more nesting down there
            options = [o for o in options if "do" in o.get("properties", {})] or options
        return st.one_of([strategy(o, defs, depth, built) for o in options])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("type") == "object":
        props = schema["properties"].items()
        required = {k: strategy(v, defs, depth, built) for k, v in props if k in schema["required"]}
        optional = {k: strategy(v, defs, depth, built) for k, v in props if k not in schema["required"]}
        return st.fixed_dictionaries(required, optional=optional)
    if schema.get("type") == "array":
        first = [strategy(item, defs, depth + 1, built) for item in schema.get("prefixItems", [])]
        least = max(schema.get("minItems", 0) - len(first), 0)
        most = min(schema.get("maxItems", 3) - len(first), least + (2 if depth < 3 else 0))
        rest = st.lists(strategy(schema["items"], defs, depth + 1, built), min_size=least, max_size=most)
        return st.tuples(st.tuples(*first), rest).map(lambda parts: [*parts[0], *parts[1]])
    assert schema.get("type") == "string" and "pattern" in schema, schema
    return st.from_regex(schema["pattern"], fullmatch=True)


@pytest.fixture(scope="module")
def schema(core: Catalog) -> dict[str, Any]:
    return outline_schema(core, REQUIREMENT, list(core.triggers), list(core.actions), TABLES)


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(data=st.data())
def test_accepted_outlines_become_valid_workflows(data: st.DataObject, core: Catalog, schema: dict) -> None:
    outline = data.draw(strategy(schema, schema["$defs"]))
    if "refuse" in outline:
        return
    plan = to_plan(outline)
    filled = {}
    unfillable: set[int | None] = set()
    targets = ([0] if plan.trigger else []) + [s.step for s in plan.steps]
    for number in targets:
        try:
            step, fixed = step_schema(core, plan, number, TABLES)
        except Unfillable:
            unfillable.add(number or None)  # reported to the user as that step's failure
            continue
        filled[number] = {**fixed, **data.draw(strategy(step, {}))}
    workflow = _assemble(core, plan, filled)
    violations = validate(workflow, core).violations
    wrong = [str(v) for v in violations if not (v.code == "C003" and v.step in unfillable)]
    assert wrong == [], json.dumps(workflow.model_dump(mode="json", exclude_none=True))


# A look-up inside a parallel branch and inside a try, each followed by steps that would like its record: outside the
# block (in the other branch, in the catch, after it) the platform hides it, so the grammar must not offer it.
_LOOK = {"do": "look_up_record", "a": "find all incidents where the user is the assignee", "table": "sys_user"}
_UPDATE = {"do": "update_record", "a": "Assign them to their manager", "table": "sys_user"}
SEALED_OUTLINE = {
    "trigger": {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"},
    "steps": [
        {"parallel": "add a work note", "branches": [{"a": "add a work note", "then": [_LOOK, _UPDATE]},
                                                     {"a": "add a work note", "then": [_UPDATE]}]},
        _UPDATE,
        {"try": "add a work note", "then": [_LOOK], "catch": {"a": "add a work note", "then": [_UPDATE]}},
        _UPDATE,
    ],
}  # fmt: skip


def test_grammar_offers_no_pill_from_inside_a_parallel_branch_or_try(core: Catalog) -> None:
    plan = to_plan(SEALED_OUTLINE)
    looks = [s.step for s in plan.steps if s.name == "look_up_record"]
    assert looks == [3, 9]  # inside the first branch, inside the try
    for number in [s.step for s in plan.steps if s.name == "update_record"]:
        schema = json.dumps(step_schema(core, plan, number, TABLES)[0])
        for look in looks:
            same_block = plan.steps[look - 1].parent == plan.steps[number - 1].parent and look < number
            assert (f"step_{look}" in schema) == same_block, (number, look)


@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_filled_sealed_outline_validates(data: st.DataObject, core: Catalog) -> None:
    """The property above on an outline that always has the blocks whose outputs stay inside them."""
    plan = to_plan(SEALED_OUTLINE)
    filled = {}
    for number in [0] + [s.step for s in plan.steps]:
        step, fixed = step_schema(core, plan, number, TABLES)
        filled[number] = {**fixed, **data.draw(strategy(step, {}))}
    workflow = _assemble(core, plan, filled)
    assert validate(workflow, core).violations == [], json.dumps(workflow.model_dump(mode="json", exclude_none=True))


def test_grammar_accepts_the_paper_outline_and_rejects_broken_ones(core: Catalog) -> None:
    requirement = "Every time a user becomes inactive, find all incidents where the user is the assignee. Assign them."
    schema = outline_schema(core, requirement, ["record_update"], ["update_record", "log"], ["incident", "sys_user"])
    grammar = xgr.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False)
    update = {"do": "update_record", "a": "Assign them", "table": "incident"}
    good = {"trigger": {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"},
            "steps": [{"for_each": "Assign them", "find": "find all incidents where the user is the assignee",
                       "table": "incident", "then": [update]}]}  # fmt: skip
    assert _is_grammar_accept_string(grammar, json.dumps(good))
    broken = [
        {"trigger": good["trigger"], "steps": [{"do": "else", "a": "Assign them"}]},  # else without if
        {"trigger": good["trigger"], "steps": [{"do": "exit_loop", "a": "Assign them"}]},  # exit outside a loop
        {"trigger": good["trigger"], "steps": [{"parallel": "Assign them", "branches": [{"a": "Assign them",
                                                "then": [{"do": "log", "a": "Assign them"}]}]}]},  # one branch
        {"trigger": good["trigger"], "steps": [{"do": "summon_dragon", "a": "Assign them"}]},  # unknown step
        {"trigger": good["trigger"], "steps": [{"do": "log", "a": "something the user never wrote"}]},
        {"trigger": {"type": "record_update", "a": "Every time a user becomes inactive", "table": "incidents"},
         "steps": good["steps"]},  # a table the tenant does not have
    ]  # fmt: skip
    for outline in broken:
        assert not _is_grammar_accept_string(grammar, json.dumps(outline)), outline


def test_where_no_record_is_in_scope_no_step_acts_on_one_before_a_step_makes_one(core: Catalog) -> None:
    """A scheduled flow's `update_record` at the top has no record to update (stage 2 could only leave it empty,
    C003); after a step that creates or looks up a record, or inside a for_each over records, it has one."""
    requirement = "Every monday close the stale incidents, note it and log it."
    schema = outline_schema(core, requirement, ["scheduled_weekly", "record_update"],
                            ["update_record", "add_work_note", "create_record", "log"], ["incident"])  # fmt: skip
    grammar = xgr.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False)
    weekly = {"type": "scheduled_weekly", "a": "Every monday close the stale incidents"}
    update = {"do": "update_record", "a": "Every monday close the stale incidents", "table": "incident"}
    note, log = {"do": "add_work_note", "a": "note it", "table": "incident"}, {"do": "log", "a": "log it"}
    create = {"do": "create_record", "a": "note it", "table": "incident"}
    loop = {"for_each": "note it", "find": "Every monday close the stale incidents", "table": "incident",
            "then": [update, note]}  # fmt: skip

    def accepts(trigger: dict[str, Any], *steps: dict[str, Any]) -> bool:
        return _is_grammar_accept_string(grammar, json.dumps({"trigger": trigger, "steps": list(steps)}))

    assert not accepts(weekly, update) and not accepts(weekly, log, note) and not accepts({"type": "none"}, note)
    assert not accepts(weekly, {"if": "note it", "then": [log, note]})  # nor inside a block at the top
    assert accepts(weekly, loop, log) and accepts(weekly, log, create, note, update)
    assert accepts({"type": "none"}, {"if": "note it", "then": [create, note]})
    assert accepts({"type": "record_update", "a": "note it", "table": "incident"}, update, note)


def test_a_condition_value_has_parentheses_only_in_a_closed_date_function(core: Catalog) -> None:
    find = {"do": "look_up_records", "a": "Every monday close the stale incidents", "table": "incident"}
    plan = to_plan({"trigger": {"type": "none"}, "steps": [find]})
    pattern = step_schema(core, plan, 1, TABLES)[0]["properties"]["conditions"]["pattern"]
    assert re.fullmatch(pattern, "opened_at<javascript:gs.daysAgoStart(30)^priority=1")
    assert re.fullmatch(pattern, "sys_updated_on<javascript:gs.beginningOfToday()")
    assert not re.fullmatch(pattern, "opened_at<javascript:gs.daysAgoStart(202^priority=1")  # the model's, unclosed
    assert not re.fullmatch(pattern, "short_description=printer (2nd floor)")


def test_a_choice_or_boolean_column_takes_one_of_its_stored_values_or_a_pill(core: Catalog) -> None:
    """`state=in progress`, `state=4` and `category=Database` are values the platform does not have."""
    update = {"do": "update_record", "a": "Assign them to their manager", "table": "incident"}
    loop = {"for_each": "Assign them", "find": "find all incidents where the user is the assignee", "table": "incident",
            "then": [update]}  # fmt: skip
    trigger = {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"}
    plan = to_plan({"trigger": trigger, "steps": [loop]})
    conditions = step_schema(core, plan, 0, TABLES)[0]["properties"]["condition"]["pattern"]
    assert re.fullmatch(conditions, "activeCHANGESTOfalse")
    assert not re.fullmatch(conditions, "activeCHANGESTOno")
    found = step_schema(core, plan, 1, TABLES)[0]["properties"]["conditions"]["pattern"]
    assert re.fullmatch(found, "assigned_to={{record_update.current}}^state!=6^priority<3^category=database")
    assert re.fullmatch(found, "short_descriptionLIKEprinter^stateISEMPTY")  # other columns and operators: free
    for wrong in ("state=4", "state=in progress", "category=Database", "stateCHANGESTOresolved"):
        assert not re.fullmatch(found, wrong), wrong
    values = step_schema(core, plan, 3, TABLES)[0]["properties"]["field_values"]["pattern"]
    assert re.fullmatch(values, "assigned_to={{record_update.current.manager}}^state=2^priority=2")
    assert re.fullmatch(values, "priority={{step_2.item.priority}}")  # a pill of the same column
    assert not re.fullmatch(values, "state=in progress")


def test_a_query_names_the_current_user_a_date_range_a_records_name_and_alternatives(core: Catalog) -> None:
    """The references' conventions (docs/dataset-conventions.md) that the grammar could not write before."""
    find = {"do": "look_up_records", "a": "Every monday close the stale incidents", "table": "incident"}
    plan = to_plan({"trigger": {"type": "none"}, "steps": [find]})
    pattern = step_schema(core, plan, 1, TABLES)[0]["properties"]["conditions"]["pattern"]
    for query in (
        "assigned_toDYNAMIC90d1921e5f510100a9ad2572f2b477fe^active=true",
        "opened_atONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
        "closed_atONThis week@javascript:gs.beginningOfThisWeek()@javascript:gs.endOfThisWeek()",
        "assignment_group.name=Network^priority=1^ORpriority=2",
    ):
        assert re.fullmatch(pattern, query), query
    for wrong in ("stateDYNAMIC90d1921e5f510100a9ad2572f2b477fe", "priorityONToday@javascript:gs.beginningOfToday()"
                  "@javascript:gs.endOfToday()", "assignment_group.label=Network"):  # fmt: skip
        assert not re.fullmatch(pattern, wrong), wrong


def test_an_inbound_emails_condition_queries_the_email(core: Catalog) -> None:
    plan = to_plan({"trigger": {"type": "inbound_email", "a": "emails to alerts"}, "steps": [
        {"do": "log", "a": "emails to alerts"}]})  # fmt: skip
    pattern = step_schema(core, plan, 0, TABLES)[0]["properties"]["condition"]["pattern"]
    assert re.fullmatch(pattern, "recipientsLIKEalerts@ourco.com^subjectLIKEdelay")
    assert not re.fullmatch(pattern, "short_descriptionLIKEdelay")  # an incident's column


def test_spans_are_pieces_of_the_requirement() -> None:
    found = spans(REQUIREMENT)
    assert "find all incidents where the user is the assignee" in found
    assert all(" ".join(s.split()) in " ".join(REQUIREMENT.split()) for s in found)


def test_a_record_input_is_offered_only_records_of_its_steps_table(core: Catalog) -> None:
    """The paper's flow: inside the loop over the incidents found, the update's record is the loop's item, never
    the trigger's user (a pill the scope shows but whose record is not an incident); a step with no record of its
    table in scope cannot be filled (a failure the user sees) rather than filled wrong."""
    incident = _UPDATE | {"table": "incident"}
    outline = {
        "trigger": {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"},
        "steps": [incident, {"for_each": "Assign them to their manager", "find": "find all incidents where the user is "
                             "the assignee", "table": "incident", "then": [incident]}, _UPDATE],
    }  # fmt: skip
    plan = to_plan(outline)
    assert [(s.step, s.name, plan.tables.get(s.step)) for s in plan.steps] == [
        (1, "update_record", "incident"), (2, "look_up_records", "incident"), (3, "for_each", None),
        (4, "update_record", "incident"), (5, "update_record", "sys_user")]  # fmt: skip
    with pytest.raises(Unfillable, match="'record' of update_record"):
        step_schema(core, plan, 1, TABLES)  # before the look-up: no incident record in scope
    offered = step_schema(core, plan, 4, TABLES)[0]["properties"]["record"]["enum"]
    assert "{{step_3.item}}" in offered and "{{record_update.current}}" not in offered
    users = step_schema(core, plan, 5, TABLES)[0]["properties"]["record"]["enum"]
    assert users[0] == "{{record_update.current}}"
    assert "{{record_update.current.manager}}" in users  # a reference field to a user is a user's record too
    assert not [p for p in offered if p.startswith("{{record_update.current")]


def test_a_leaf_step_nothing_can_fill_is_left_out_and_the_rest_renumbered(core: Catalog) -> None:
    """A scheduled flow that e-mails, then sends a notification about an incident: no incident is in scope, so the
    notification could only be answered with its record missing. It goes (the user is told why); the look-up
    after it moves up with its table; an unfillable step that is a block's only child stays (its going would
    leave an empty block) and fails in stage 2 as before."""
    notify = {"do": "send_notification", "a": "notify", "table": "incident"}
    outline = {
        "trigger": {"type": "scheduled_weekly", "a": "every week"},
        "steps": [{"do": "send_email", "a": "email"}, notify,
                  {"do": "look_up_record", "a": "find", "table": "incident"},
                  {"if": "if", "then": [_UPDATE | {"table": "incident"}]}],
    }  # fmt: skip
    plan, dropped = without_unfillable(core, to_plan(outline), TABLES)
    assert [(s.step, s.name, s.parent, plan.tables.get(s.step)) for s in plan.steps] == [
        (1, "send_email", None, None), (2, "look_up_record", None, "incident"), (3, "if", None, None),
        (4, "update_record", 3, "incident")]  # fmt: skip
    assert dropped == ["step 2: nothing in scope can fill required input 'record' of send_notification; "
                       "the step is left out"]  # fmt: skip
    alone = {"trigger": outline["trigger"], "steps": [{"if": "if", "then": [notify]}]}
    kept, dropped = without_unfillable(core, to_plan(alone), TABLES)
    assert [s.name for s in kept.steps] == ["if", "send_notification"] and dropped == []
