"""Our core catalog against ServiceNow's real definitions, parsed from the pinned SDK in node_modules: every core
entry is mapped or marked, every mapped name exists, every mandatory ServiceNow input is covered, kinds agree.
The known differences in meaning are listed here, so that a new one fails and an old one stays documented."""

from __future__ import annotations

import json
import re

import pytest

from flowgen.catalog import Catalog
from flowgen.catalog.model import InputType
from interop.servicenow import SDK_ROOT
from interop.servicenow.definitions import Definition, Definitions, load_definitions
from interop.servicenow.literal import parse_literal
from interop.servicenow.mapping import Mapping, StepMap, load_mapping

# Our input types and the SDK column kinds that can hold them.
KINDS: dict[InputType, set[str]] = {
    "table": {"TableNameColumn"},
    "conditions": {"ConditionsColumn"},
    "field_values": {"TemplateValueColumn"},
    "record": {"DocumentIdColumn", "ReferenceColumn"},
    "records": {"RecordsColumn"},
    "reference": {"ReferenceColumn", "DocumentIdColumn", "StringColumn"},
    "string": {"StringColumn", "HtmlColumn", "ReferenceColumn", "FieldNameColumn", "TimeColumn", "SlushBucketColumn"},
    "choice": {"ChoiceColumn", "DayOfWeekColumn"},
    "duration": {"DurationColumn"},
    "integer": {"IntegerColumn"},
    "boolean": {"BooleanColumn"},
    "datetime": {"DateTimeColumn", "ScheduleDateTimeColumn"},
    "email": {"StringColumn"},
    "variables": {"StringColumn", "SlushBucketColumn"},
}
# Known differences, translated at export (mapping.json says how); anything else different fails the test.
KNOWN_MISMATCHES = {
    "record_update.run_trigger", "record_create_or_update.run_trigger",  # our "always" is their "every"
    "scheduled_weekly.day_of_week",  # 1-7 there, Monday = 1
    "look_up_record.found",  # no such output: Record ISNOTEMPTY
    "ask_for_approval.approvers", "ask_for_approval.approval_rule",  # one approval-rules input there
    "create_or_update_record.conditions",  # matched on unique fields there
    "service_catalog.request", "sla_task.task", "sla_task.duration", "sla_task.is_repair", "sla_task.run_start_time",
    "inbound_email.run_start_time", "get_catalog_variables.variables", "submit_catalog_item_request.request",
    "look_up_email_attachments.count", "copy_attachment.attachment", "catch.error_message",
}  # fmt: skip
# Core columns that ServiceNow's shipped schema of the same table lacks (checked below, so the list stays true).
KNOWN_MISSING_COLUMNS = {"kb_knowledge.language", "kb_category.kb_knowledge_base"}


@pytest.fixture(scope="module")
def sdk() -> Definitions:
    return load_definitions()


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping()


def test_the_pinned_sdk_is_the_one_mapped(sdk: Definitions, mapping: Mapping) -> None:
    assert sdk.version == mapping.sdk_version == json.loads((SDK_ROOT / "package.json").read_text())[
        "devDependencies"]["@servicenow/sdk"]  # fmt: skip
    assert len(sdk.actions) == 33 and len(sdk.triggers) == 13 and "incident" in sdk.tables


def test_every_core_entry_is_mapped_or_marked(core: Catalog, mapping: Mapping) -> None:
    assert set(mapping.triggers) == set(core.triggers)
    assert set(mapping.actions) == set(core.actions)
    assert set(mapping.flow_logic) == set(core.flow_logic)
    for entry in [*mapping.triggers.values(), *mapping.actions.values(), *mapping.flow_logic.values()]:
        assert entry.sdk or entry.note, entry  # no counterpart says why


def mismatches(kind: str, entries: dict[str, StepMap]) -> set[str]:
    return {f"{step}.{name}" for step, entry in entries.items()
            for name, item in getattr(entry, kind).items() if item.mismatch}  # fmt: skip


def test_known_mismatches_are_exactly_the_marked_ones(mapping: Mapping) -> None:
    marked = set()
    for entries in (mapping.triggers, mapping.actions, mapping.flow_logic):
        marked |= mismatches("inputs", entries) | mismatches("outputs", entries)
    assert marked == KNOWN_MISMATCHES
    assert mapping.triggers["record_update"].inputs["run_trigger"].values["always"] == "every"
    assert mapping.triggers["scheduled_weekly"].inputs["day_of_week"].values["monday"] == "1"


def check_step(ours: object, entry: StepMap, theirs: Definition) -> list[str]:
    problems = []
    filled = set(entry.fixed)
    for inp in ours.inputs:  # type: ignore[attr-defined]
        item = entry.inputs.get(inp.name)
        if item is None:
            problems.append(f"input {inp.name} unmapped")
            continue
        if item.to is None:
            if not (item.drop or item.mismatch):
                problems.append(f"input {inp.name} has no counterpart and no reason")
            continue
        field = theirs.inputs.get(item.to)
        if field is None:
            problems.append(f"input {inp.name} -> {item.to}: no such input")
            continue
        filled.add(item.to)
        if field.kind not in KINDS[inp.type] and not item.template and not item.mismatch:
            problems.append(f"input {inp.name} ({inp.type}) -> {item.to} ({field.kind}): kinds differ")
        if inp.choices and field.choices:
            translated = {item.values.get(c, c) for c in inp.choices}
            if not translated <= set(field.choices):
                problems.append(f"input {inp.name}: values {sorted(translated - set(field.choices))} not in theirs")
        if inp.type == "choice" and field.kind == "DayOfWeekColumn":
            assert {int(v) for v in item.values.values()} == set(range(1, 8))
    missing = {name for name, field in theirs.inputs.items() if field.mandatory} - filled
    if missing:
        problems.append(f"mandatory ServiceNow inputs not covered: {sorted(missing)}")
    for out in ours.outputs:  # type: ignore[attr-defined]
        item = entry.outputs.get(out.name)
        if item is None:
            problems.append(f"output {out.name} unmapped")
        elif item.to is None and not item.mismatch:
            problems.append(f"output {out.name} has no counterpart and no reason")
        elif item.to is not None and item.to.split(".")[0] not in theirs.outputs:
            problems.append(f"output {out.name} -> {item.to}: no such output")
    return problems


def test_mapped_triggers_and_actions_match_their_definitions(core: Catalog, sdk: Definitions,
                                                            mapping: Mapping) -> None:  # fmt: skip
    problems = {}
    for ours, entries, theirs in ((core.triggers, mapping.triggers, sdk.triggers),
                                  (core.actions, mapping.actions, sdk.actions)):  # fmt: skip
        for step_id, entry in entries.items():
            if entry.sdk is None:
                continue
            assert entry.sdk in theirs, f"{step_id}: {entry.sdk} is not in the SDK"
            found = check_step(ours[step_id], entry, theirs[entry.sdk])
            if found:
                problems[step_id] = found
    assert not problems, problems
    counterparts = [e for e in mapping.actions.values() if e.sdk]
    assert len(counterparts) == 29  # the rest are spokes or custom actions, declared at export


def test_trigger_types_are_servicenows(core: Catalog, sdk: Definitions, mapping: Mapping) -> None:
    types = {step_id: sdk.triggers[entry.sdk].type for step_id, entry in mapping.triggers.items() if entry.sdk}
    assert types["scheduled_daily"] == "daily" and types["inbound_email"] == "email"
    assert set(types) == set(core.triggers)


def test_flow_logic_exists_in_the_sdk(mapping: Mapping) -> None:
    text = (SDK_ROOT / "node_modules/@servicenow/sdk-core/src/external/flow/flow-logic/index.ts").read_text()
    names = set(parse_literal(text[text.index("export const FlowLogic = ") + 25 :]))
    for step_id, entry in mapping.flow_logic.items():
        if entry.sdk is None:
            assert step_id == "do_until" and "doTheFollowing" not in names
            continue
        assert entry.sdk.removeprefix("wfa.flowLogic.") in names, step_id


def test_core_columns_exist_in_servicenows_table_schemas(core: Catalog, sdk: Definitions) -> None:
    missing = set()
    for table in core.tables:
        if table in sdk.tables:
            theirs = sdk.columns(table)
            missing |= {f"{table}.{column}" for column in core.columns(table) if column not in theirs}
            for name, column in core.columns(table).items():
                if column.type == "reference" and name in theirs and theirs[name].reference:
                    assert theirs[name].reference == column.reference, f"{table}.{name}"
    assert missing == KNOWN_MISSING_COLUMNS
    assert re.fullmatch(r"\d+\.\d+\.\d+", sdk.version)
