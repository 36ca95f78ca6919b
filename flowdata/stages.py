"""The two stage tasks derived from every workflow (the paper's Table 1).

createFlow: requirement -> outline (steps, order, nesting, annotations; no inputs).
populateInputs: requirement, the flow so far and one step's annotation -> that step's inputs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from flowgen.evaluation.records import Reference
from flowgen.workflow import Input, Workflow


class CreateFlowExample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    tenant: str
    requirement: str
    outline: Workflow


class PopulateInputsExample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    tenant: str
    requirement: str
    flow: Workflow
    """The outline, with the inputs of the trigger and of every step before this one filled in."""
    step: int
    """0 for the trigger, else the step number."""
    name: str
    annotation: str
    inputs: list[Input]


def outline(workflow: Workflow) -> Workflow:
    bare = workflow.model_copy(deep=True)
    if bare.trigger:
        bare.trigger.inputs = []
    for step in bare.components:
        step.inputs = []
    return bare


def stage_examples(ref: Reference) -> tuple[CreateFlowExample | None, list[PopulateInputsExample]]:
    """Both stage tasks of one reference; an out-of-scope reference has none."""
    if not isinstance(ref.expected, Workflow):
        return None, []
    full = ref.expected
    create = CreateFlowExample(id=ref.id, tenant=ref.tenant, requirement=ref.requirement, outline=outline(full))
    flow = outline(full)
    populate = []
    targets = [(0, full.trigger)] if full.trigger else []
    targets += [(step.step, step) for step in full.components]
    for number, target in targets:
        if target.inputs:
            populate.append(
                PopulateInputsExample(
                    id=f"{ref.id}:{number}",
                    tenant=ref.tenant,
                    requirement=ref.requirement,
                    flow=flow.model_copy(deep=True),
                    step=number,
                    name=target.type if number == 0 else target.name,  # type: ignore[union-attr]
                    annotation=target.annotation,
                    inputs=target.inputs,
                )  # fmt: skip
            )
        # Later steps see this one's inputs.
        if number == 0:
            flow.trigger.inputs = target.inputs  # type: ignore[union-attr]
        else:
            flow.components[number - 1].inputs = target.inputs
    return create, populate
