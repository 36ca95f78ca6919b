"""Feature tags for error analysis (the paper's Table 7 and Table 5).

Most tags follow from the workflow itself (`derive_features`); the rest describe the requirement's
wording (implicit steps, ambiguity, ...) and are set by whoever writes the example.
"""

from __future__ import annotations

import re

from flowgen.expressions import Term, find_pills, parse_query
from flowgen.semantics import ELEMENTS
from flowgen.workflow import Workflow

DERIVED: dict[str, str] = {
    "trigger_null": "no trigger (run by hand or from another flow)",
    "trigger_record": "record created / updated trigger",
    "trigger_scheduled_daily": "daily schedule",
    "trigger_scheduled_weekly": "weekly schedule",
    "trigger_scheduled_monthly": "monthly schedule",
    "trigger_run_once": "runs once at a given time",
    "trigger_service_catalog": "service catalog trigger",
    "trigger_sla": "SLA task trigger",
    "trigger_inbound_email": "inbound email trigger",
    "trigger_conditional": "trigger with a condition",
    "action_look_up": "look up record(s)",
    "action_create": "create record",
    "action_update": "update record(s)",
    "action_delete": "delete record(s)",
    "action_approval": "ask for approval",
    "action_catalog_variables": "get catalog variables",
    "action_slack_teams": "MS Teams / Slack message",
    "action_notification_email": "notifications / emails",
    "action_log": "log",
    "action_work_notes": "work notes / comments",
    "action_task": "create task",
    "action_wait": "wait for a condition or a duration",
    "action_custom": "a tenant's custom action",
    "logic_if": "IF / ELSE IF / ELSE",
    "logic_foreach": "FOREACH",
    "logic_dountil": "DOUNTIL",
    "logic_parallel": "PARALLEL",
    "logic_try_catch": "TRY-CATCH",
    "logic_exit_skip": "exit loop / skip iteration / end flow",
    "logic_flow_variables": "flow variables",
    "input_multiple_conditions": "multiple conditions",
    "input_datetime": "date and time values (glide date-time queries)",
    "input_dynamic_me": "dynamic filters such as 'me'",
    "input_dot_walk": "data pills with dot-walks",
    "input_complex": "complex inputs (three or more terms, OR, or several pills)",
    "input_requestor": "requestor-related values (requested for, caller, opened by)",
}
ANNOTATED: dict[str, str] = {
    "implicit_action": "steps the requirement implies but does not state",
    "ambiguous": "the requirement can be read more than one way",
    "misleading": "wording that suggests the wrong step or table",
    "draft": "a draft: simpler than a complete workflow, as users start",
    "typos": "spelling mistakes or missing punctuation",
    "out_of_scope": "asks for no workflow at all",
}
FEATURES: dict[str, str] = DERIVED | ANNOTATED

# The paper's Table 7 features, as tags.
TABLE7: tuple[str, ...] = (
    "trigger_null", "trigger_service_catalog", "action_catalog_variables", "action_approval", "input_datetime",
    "input_dynamic_me", "trigger_sla", "trigger_conditional", "trigger_scheduled_weekly", "input_requestor",
    "logic_dountil", "logic_parallel", "logic_foreach", "logic_try_catch", "action_slack_teams",
    "action_notification_email", "action_log", "action_work_notes", "input_complex",
)  # fmt: skip

# The paper's Table 5 subsets.
GROUPS: dict[str, tuple[str, ...]] = {
    "STRUCTURE": ("logic_foreach", "logic_parallel", "logic_try_catch"),
    "INPUT": ("action_work_notes", "trigger_conditional", "input_multiple_conditions"),
    "ENTERPRISE": ("trigger_service_catalog", "trigger_sla", "input_datetime"),
}

_ACTION_FEATURES: dict[str, tuple[str, ...]] = {
    "action_look_up": ("look_up_record", "look_up_records", "count_records"),
    "action_create": ("create_record", "create_or_update_record"),
    "action_update": ("update_record", "update_multiple_records", "create_or_update_record"),
    "action_delete": ("delete_record", "delete_multiple_records"),
    "action_approval": ("ask_for_approval",),
    "action_catalog_variables": ("get_catalog_variables",),
    "action_slack_teams": ("post_slack_message", "post_teams_message"),
    "action_notification_email": ("send_email", "send_notification", "send_sms"),
    "action_log": ("log",),
    "action_work_notes": ("add_work_note", "add_comment"),
    "action_task": ("create_task", "create_catalog_task"),
    "action_wait": ("wait_for_condition",),
}  # flow logic: the `feature` of its element (flowgen.semantics)
_TRIGGER_FEATURES = {
    "record_create": "trigger_record",
    "record_update": "trigger_record",
    "record_create_or_update": "trigger_record",
    "scheduled_daily": "trigger_scheduled_daily",
    "scheduled_weekly": "trigger_scheduled_weekly",
    "scheduled_monthly": "trigger_scheduled_monthly",
    "run_once": "trigger_run_once",
    "service_catalog": "trigger_service_catalog",
    "sla_task": "trigger_sla",
    "inbound_email": "trigger_inbound_email",
}
_REQUESTOR = re.compile(r"\b(requested_for|caller_id|opened_by|requested_by)\b")
_DATETIME = re.compile(r"javascript:gs\.|RELATIVE|DATEPART|BETWEEN|\d{4}-\d{2}-\d{2}|_on(ON|NOTON|<|>)|_at(ON|<|>)")


def derive_features(workflow: Workflow, custom_actions: frozenset[str] = frozenset()) -> set[str]:
    """The tags that the workflow shows by itself; `custom_actions` are the tenant's own step ids."""
    out: set[str] = set()
    trigger = workflow.trigger
    if trigger is None:
        out.add("trigger_null")
    else:
        if trigger.type in _TRIGGER_FEATURES:
            out.add(_TRIGGER_FEATURES[trigger.type])
        if any(i.name == "condition" and i.value.strip() for i in trigger.inputs):
            out.add("trigger_conditional")
    names = {step.name for step in workflow.components}
    out.update(tag for tag, ids in _ACTION_FEATURES.items() if names.intersection(ids))
    out.update(e.feature for name, e in ELEMENTS.items() if e.feature and name in names)
    if names & custom_actions:
        out.add("action_custom")
    inputs = [i for step in workflow.components for i in step.inputs] + (trigger.inputs if trigger else [])
    for inp in inputs:
        terms = [t for t in parse_query(inp.value) if isinstance(t, Term)]
        pills = find_pills(inp.value)
        if inp.name in ("conditions", "condition") and len(terms) >= 2:
            out.add("input_multiple_conditions")
        if _DATETIME.search(inp.value):
            out.add("input_datetime")
        if "DYNAMIC" in inp.value or "gs.getUserID()" in inp.value:
            out.add("input_dynamic_me")
        if any(pill.path for pill in pills):
            out.add("input_dot_walk")
        if _REQUESTOR.search(inp.value):
            out.add("input_requestor")
        if len(terms) >= 3 or "^OR" in inp.value or len(pills) >= 2:
            out.add("input_complex")
    return out
