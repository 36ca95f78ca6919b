"""What the model sees of a workflow it edits: the outline plan of stage 2 and the edit prompt."""

from __future__ import annotations

from flowgen.catalog import Catalog
from flowgen.workflow import Workflow
from generation.outline import OutlinePlan, takes_table
from generation.prompts import flow_so_far

EXAMPLE = (
    "Workflow:\n"
    'trigger: record_update "When an incident gets resolved" {"table": "incident", "condition": "stateCHANGESTO6"}\n'
    '1. look_up_records "lookup its incident tasks" {"table": "incident_task", '
    '"conditions": "incident={{record_update.current}}"}\n'
    '2. for_each "close them" {"items": "{{step_1.records}}"}\n'
    '  3. update_record "close them" {"record": "{{step_2.item}}", "table": "incident_task", '
    '"field_values": "state=3"}\n'
    "Change: also email the caller that it is resolved\n"
    'Edit: {"ops":[{"op":"insert_after","step":"close them (for_each #2)","steps":[{"do":"send_email",'
    '"a":"also email the caller"}]}]}\n'
)
OPERATIONS = (
    "Edit the workflow with operations on its steps, each named by its words, action and number: insert_after / "
    "insert_before a step, insert_into a block (at its end), delete, unwrap (remove a block, keep its steps), replace, "
    "wrap steps first..last in an if, a for_each or a try (with its catch), set one input of a step or the trigger. "
    'Change nothing else. If the workflow already does it, answer "no change needed"; if no listed step can do it, '
    '"the catalog cannot do this".\n'
)


def values(workflow: Workflow) -> dict[int, dict[str, str]]:
    """Input values by step number (0: the trigger)."""
    out = {step.step: {i.name: i.value for i in step.inputs} for step in workflow.components}
    if workflow.trigger is not None:
        out[0] = {i.name: i.value for i in workflow.trigger.inputs}
    return out


def plan_of(workflow: Workflow, catalog: Catalog) -> OutlinePlan:
    """The workflow as stage 2 sees an outline: steps and the tables chosen for them."""
    names = {step.step: step.name for step in workflow.components}
    if workflow.trigger is not None:
        names[0] = workflow.trigger.type
    given = values(workflow)
    tables = {n: given[n]["table"] for n in names if "table" in given[n] and takes_table(catalog, names[n])}
    trigger = workflow.trigger.model_copy(update={"inputs": []}) if workflow.trigger else None
    steps = [step.model_copy(update={"inputs": []}) for step in workflow.components]
    return OutlinePlan(trigger=trigger, steps=steps, tables=tables)


def edit_prompt(workflow: Workflow, catalog: Catalog, instruction: str, actions: list[str], tables: list[str]) -> str:
    listing = flow_so_far(plan_of(workflow, catalog), values(workflow))
    return (
        f"{OPERATIONS}\n{EXAMPLE}\nSteps: {', '.join(actions)}\nTables: {', '.join(tables)}\n"
        f"Workflow:\n{listing}\nChange: {instruction}\nEdit: "
    )
