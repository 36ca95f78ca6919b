"""training/edit_data.py: edit examples derived from reference workflows, prompted as the edit stage prompts."""

from __future__ import annotations

import json
import random
from collections import Counter

import jsonschema

from flowdata.splits import handwritten
from flowgen.catalog import Catalog
from flowgen.workflow import Workflow
from generation.editing.apply import apply
from generation.editing.grammar import to_script
from generation.editing.stage import EditStage
from generation.editing.wording import asks_to_remove, mentioned, what_fails
from generation.pipeline import InProcess, Pipeline
from retrieval.suggest import Retriever
from training.edit_data import Derived, derive, edit_examples

STEPS = lambda w: [(s.name, s.parent) for s in w.components]  # noqa: E731


def _derived(core: Catalog, n: int = 400) -> list[tuple[Workflow, Derived]]:
    rng = random.Random(0)
    refs = [r for r in handwritten("test") if r.tenant == "core" and isinstance(r.expected, Workflow)]
    out = []
    for k in range(n):
        workflow = refs[k % len(refs)].expected
        found = derive(rng, workflow, core)
        if found is not None:
            out.append((workflow, found))
    return out


def test_every_kind_of_edit_is_derived_and_gives_back_what_it_claims(core: Catalog) -> None:
    """Applied to the workflow it starts from, each derived script gives the intended steps: the reference
    itself when a part was taken out, the reference less a step when one is removed."""
    derived = _derived(core)
    kinds = Counter(d.kind for _, d in derived)
    assert set(kinds) == {"add_step", "remove_step", "replace_step", "add_condition", "wrap_try", "add_else",
                          "change_value", "no_change", "impossible"}, kinds  # fmt: skip
    assert kinds["add_step"] > kinds["no_change"] and kinds["add_step"] > kinds["impossible"]
    for reference, edit in derived:
        script = to_script(edit.script)
        if script.answer is not None:
            assert edit.before == reference
            continue
        result = apply(edit.before, script, core)
        assert STEPS(result.workflow) == edit.outline
        if edit.kind == "remove_step":  # an approval goes with the branches its going decides
            assert edit.before == reference and len(edit.outline) < len(reference.components)
        else:  # the reference is the edit's result: the part taken out comes back, nothing else moves
            assert edit.outline == STEPS(reference) and edit.before != reference
            kept = [result.workflow.components[n - 1] for n in result.origin if n not in result.changed]
            assert all(step.inputs == reference.components[step.step - 1].inputs for step in kept)


def test_a_try_is_often_asked_for_by_what_fails_and_an_else_by_otherwise(core: Catalog) -> None:
    """In "if the update record step fails, log it", the words that say what fails name the first step the try
    holds, which the grammar then offers to wrap. "otherwise log it": an else after the if, not a second if."""
    named = 0
    for _, edit in _derived(core):
        op = edit.script.get("ops", [{}])[0]
        if edit.kind == "wrap_try" and (about := mentioned(edit.before, core, what_fails(edit.instruction))):
            named += 1
            assert op["first"] in about, edit.instruction
        if edit.kind == "add_else":
            assert op["op"] == "insert_after" and [n["do"] for n in op["steps"]] == ["else"], edit.script
            assert not asks_to_remove(edit.instruction) or "not" in edit.instruction
    assert named


def test_add_step_asks_for_the_step_in_the_references_own_words(core: Catalog) -> None:
    added = 0
    for reference, edit in _derived(core):
        if edit.kind == "add_step":
            result = apply(edit.before, to_script(edit.script), core)
            (new,) = result.changed
            taken = reference.components[new - 1]
            assert taken.annotation.lower().rstrip(".!?;,") in edit.instruction.lower()
            added += 1
    assert added >= 20


def test_a_swap_asks_to_take_the_old_step_out_and_a_changed_choice_names_the_value_wanted(core: Catalog) -> None:
    """A replace is offered only to an instruction that asks to take something out (`asks_to_remove`); a field set
    to another choice is asked back by that choice's value or label ("priority 2 is enough, not 1")."""
    swaps = fields = 0
    for reference, edit in _derived(core, 1200):
        (op,) = edit.script.get("ops", [{}])
        if edit.kind == "replace_step":
            old = edit.before.components[op["step"] - 1]
            assert asks_to_remove(edit.instruction) and old.name in ("log", "post_slack_message", "post_teams_message")
            swaps += 1
        elif op.get("input") == "field_values":
            wanted, was = (_inputs(w, op["step"])["field_values"].split("^") for w in (reference, edit.before))
            (changed,) = set(wanted) - set(was)
            field, choice = changed.split("=", 1)
            labels = {c.value: c.label for c in core.columns(_inputs(reference, op["step"])["table"])[field].choices}
            assert choice in edit.instruction or labels[choice] in edit.instruction, (edit.instruction, changed)
            fields += 1
    assert swaps >= 10 and fields >= 5, (swaps, fields)


def _inputs(workflow: Workflow, step: int) -> dict[str, str]:
    return {i.name: i.value for i in workflow.components[step - 1].inputs}


def test_a_plain_request_is_an_add_or_no_change_by_the_workflow_not_the_wording(core: Catalog) -> None:
    """People write "email the caller" whether the flow emails them already or not; the hand-written no-change cases
    are worded so. Both kinds must have plainly worded examples, so that the model learns to read the workflow."""
    said = lambda text: " ".join(text.lower().split()).rstrip(".!?;,")  # noqa: E731
    plain = Counter(edit.kind for reference, edit in _derived(core, 1200)
                    if said(edit.instruction) in {said(s.annotation) for s in reference.components})  # fmt: skip
    assert plain["add_step"] >= 5 and plain["no_change"] >= 3, plain


def test_edit_examples_are_the_edit_stages_calls(core_retriever: Retriever, run) -> None:
    """Each example is the edit stage's own prompt with a completion its grammar accepts; a script that the
    retrieved steps cannot express is skipped with the reason, never written."""
    refs = [r for r in handwritten("test") if r.tenant == "core" and len(getattr(r.expected, "components", [])) > 3]
    refs = refs[:12]
    stage = EditStage(Pipeline(None, InProcess(core_retriever), "tuned"))  # type: ignore[arg-type]
    found, skipped = run.run(edit_examples(refs, stage, seed=3))
    assert len(found) + len(skipped) == 12 and len(found) >= 6, skipped
    assert all("grammar" in reason or "no edit fits" in reason for reason in skipped)
    by_id = {e.id: e for e in found}
    rng = random.Random(3)  # the same edits again, in the same order
    for ref in refs:
        edit = derive(rng, ref.expected, run.run(core_retriever_catalog(core_retriever)))  # type: ignore[arg-type]
        example_ = by_id.get(f"{ref.id}:edit")
        if edit is None or example_ is None:
            continue
        call = run.run(stage.call(edit.before, edit.instruction, "core"))
        assert example_.stage == "edit" and example_.prompt == call.prompt and example_.prompt.endswith("Edit: ")
        jsonschema.validate(json.loads(example_.completion), call.schema)


async def core_retriever_catalog(retriever: Retriever) -> Catalog:
    return await InProcess(retriever).catalog("core")
