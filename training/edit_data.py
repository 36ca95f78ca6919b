"""SFT examples for the edit stage (issue 18), derived from the train split's workflows.

A reference workflow is the result of an edit made to the same workflow with one part less: take a step
out and the instruction asks for it back ("also <its annotation>"); unwrap an `if` and it asks for the
condition; take the catch away and unwrap the try and it asks for the error handling. Or the reference
is the workflow before the edit: a step to remove, a value to change, a request it already fulfils (no
change needed) or one that no step can do. The prompt and grammar are the edit stage's own
(`EditStage.call`, real retrieval, misses included), and an example is kept only if its script conforms
to that grammar and, applied, gives the workflow intended.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema

from flowdata.generator.lexicon import CHANNELS, MESSAGES
from flowgen.catalog import Catalog, Column
from flowgen.errors import ClientError
from flowgen.evaluation.records import Reference
from flowgen.expressions import parse_assignments
from flowgen.semantics import is_block
from flowgen.workflow import Input, Step, Workflow
from generation.editing.apply import Applied, apply
from generation.editing.grammar import to_script, written
from generation.editing.script import CANNOT, NO_CHANGE, Delete, EditScript, Unwrap
from generation.editing.stage import EditStage
from generation.outline import spans, takes_table

from .sft_data import SFTExample

# "{a}" alone in both ADD and ALREADY: people state what they want plainly whether the workflow does it already or
# not, so the wording must not give the answer away (the workflow does)
ADD = ("also {a}", "{a}", "{a} too", "and {a}", "one more thing: {a}", "can you also {a}?", "pls add: {a}",
       "it should also {a}",
       "{a} as well please", "missing step - {a}", "forgot to say, {a}", "add this: {a}")  # fmt: skip
REMOVE = ("don't {a}", "no need to {a} anymore", "remove the step '{a}'", "drop the {label}", "skip the {label} step",
          "take out step {n}", "we stopped doing this, remove it: {a}", "get rid of the {label}")  # fmt: skip
ONLY = ("only {a}", "do that only {a}", "but only {a}", "{a}, otherwise do nothing", "should only happen {a}")
FAILS = ("if that fails", "if any of it fails", "in case something goes wrong", "if it errors out", "on error")
# ... or with what fails, the first step the try holds ("if unlocking a user fails, log the error"): the edit adapter
# wrapped the step after the one that fails
FAILS_NAMED = ("if {a} fails", "in case {a} fails", "if the {label} step fails", "when {a} errors out",
               "if {a} goes wrong", "if the {label} fails")  # fmt: skip
# an else for an if that has none: "otherwise log that the article had no source incident"
ELSE = ("otherwise {a}", "if not, {a}", "else {a}", "and if not, {a}", "{a} otherwise", "otherwise just {a}")
ALREADY = ("make sure it {a}", "{a}", "it should {a}", "{a} - is that in there?", "does this {a}? if not add it")
TEXT = ("change the {input} of step {n} to '{value}'", "the {label} should say: {value}",
        "make the {input} '{value}' instead", "reword the {label}: {value}")  # fmt: skip
AT = ("run it {when} instead", "make it {when}", "move it to {when}", "change the time: {when}")
# a field's value or an input's choice, as people ask to change it: the value the workflow has ("not 1") is often said
CHOICE = ("make the {name} {value} instead of {was}", "{name} should be {value}, not {was}",
          "set the {name} to {value}", "{name} {value} please", "use {value} for the {name}",
          "{value} is enough, not {was}", "change the {name} from {was} to {value}", "actually {value}")  # fmt: skip
BOOLEAN = {"true": ("turn on {name}", "set {name} to true", "{name}: yes", "and {name} please"),
           "false": ("turn off {name}", "set {name} to false", "{name}: no", "no {name}")}  # fmt: skip
# one step for another: a message said in other ways ("use teams instead of slack", "an email, not a log")
SWAP = ("{a} instead of the {was}", "use {label} instead of {was}", "not the {was}: {a}", "replace the {was} with: {a}",
        "swap the {was} for {label}", "{a}, not a {was}", "actually {a} rather than the {was}",
        "{label} instead of the {was} please")  # fmt: skip
NOUN = {"log": "log", "post_slack_message": "slack message", "post_teams_message": "teams message",
        "send_email": "email", "send_sms": "text", "add_work_note": "work note", "add_comment": "comment"}  # fmt: skip
# the text input of each step that carries a message
MESSAGE_OF = {"log": "message", "post_slack_message": "message", "post_teams_message": "message", "send_email": "body",
              "send_sms": "message", "add_work_note": "work_note", "add_comment": "comment"}  # fmt: skip
# a step added inside an if or else, said with its condition: "when it's rejected also email the group's manager"
IN_BRANCH = ("{c}, also {a}", "{c} also {a}", "and {c}, {a} too", "{a} as well {c}", "{c}: {a} too")
BRANCHES = ("if", "else_if", "else")
CONDITIONAL = ("if ", "when ", "for ", "unless ", "in case ", "only ", "once ")
BEFORE = ("{a} before {b}", "before {b}, {a}", "first {a}, then {b}")
# an ask no step does -> the word of a step that could do it (a tenant with such a step gets no such example)
IMPOSSIBLE = {"order a taxi for the caller": "taxi", "print the record and post it by mail": "print",
              "book a meeting room for the team": "room", "fax the form to the vendor": "fax",
              "make a pie chart of them": "chart", "order pizza for the team": "pizza",
              "water the office plants": "plant",
              "translate the description into german": "translat", "3d print a replacement part": "print",
              "play a sound in the office": "sound", "ring the office bell": "bell",
              "order new chairs for the office": "chair", "tweet about it": "tweet",
              "buy the customer a gift card": "gift", "reserve a parking space for them": "parking"}  # fmt: skip
TEXT_INPUTS = ("message", "body", "subject", "work_note", "comment", "short_description", "log_message")
WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Derived:
    """An edit: the workflow it starts from, the instruction, the script (as the grammar writes it, steps by
    number: `written` names them as the model does) and the outline it must give, (name, parent) per step."""

    kind: str
    before: Workflow
    instruction: str
    script: dict[str, Any]
    outline: list[tuple[str, int | None]]


def derive(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    """One edit, its kind chosen by weight; a change that does not fit the workflow falls back to another
    change, a structural one first (never to an answer, which fits every workflow and would crowd the changes out,
    nor to a swap, which fits most workflows and would crowd out the additions)."""
    structural = [_add_step, _add_step, _add_step, _remove_step, _remove_step, _add_condition, _add_try, _add_else]
    values = [_change_text, _change_time, _change_choice]
    answers = [_already_done, _impossible]
    make = rng.choice(structural + [_replace_step] + values + answers)
    fallback = rng.sample(structural, len(structural)) + (values if rng.random() < 0.4 else [])
    order = [make] + ([] if make in answers else fallback)
    for kind in dict.fromkeys(order):
        found = kind(rng, workflow, catalog)
        if found is not None:
            return found
    return None


async def edit_examples(
    refs: Iterable[Reference], stage: EditStage, seed: int, tick: Callable[[], None] = lambda: None
) -> tuple[list[SFTExample], list[str]]:
    """One edit example per reference workflow where one fits; the references skipped, with why."""
    rng = random.Random(seed)
    out: list[SFTExample] = []
    skipped: list[str] = []
    for ref in refs:
        tick()
        if not isinstance(ref.expected, Workflow):
            continue
        catalog = await stage.pipeline.retriever.catalog(ref.tenant)
        edit = derive(rng, ref.expected, catalog)
        if edit is None:
            skipped.append(f"{ref.id}: no edit fits")
            continue
        call = await stage.call(edit.before, edit.instruction, ref.tenant)
        if problem := _check(edit, call.schema, catalog):
            skipped.append(f"{ref.id} ({edit.kind}): {problem}")
            continue
        completion = json.dumps(written(edit.script, edit.before), separators=(",", ":"))
        out.append(SFTExample(id=f"{ref.id}:edit", stage="edit", prompt=call.prompt, completion=completion))
    return out, skipped


def _check(edit: Derived, schema: dict[str, Any], catalog: Catalog) -> str | None:
    try:
        jsonschema.validate(written(edit.script, edit.before), schema)
    except jsonschema.ValidationError:
        return "the grammar does not offer the script (a step or table retrieval did not find)"
    script = to_script(edit.script)
    if script.answer is not None:
        return None
    try:
        result = apply(edit.before, script, catalog).workflow
    except ClientError as refused:
        return str(refused)
    return None if _outline(result) == edit.outline else "applied, the script gives another outline"


def _outline(workflow: Workflow) -> list[tuple[str, int | None]]:
    return [(s.name, s.parent) for s in workflow.components]


def _without(workflow: Workflow, catalog: Catalog, *ops: Delete | Unwrap) -> Applied | None:
    try:
        return apply(workflow, EditScript(ops=list(ops)), catalog)
    except ClientError:
        return None


def _phrase(annotation: str) -> str:
    """An annotation as it reads inside a sentence: no end punctuation, a lower-case first word."""
    text = " ".join(annotation.split()).rstrip(".!?;,")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _span(instruction: str, target: str) -> str:
    """The grammar's annotation (a clause of the instruction) that best matches `target`."""
    want = set(WORDS.findall(target.lower()))

    def overlap(span: str) -> float:
        words = set(WORDS.findall(span.lower()))
        return len(words & want) / len(words | want) if words | want else 0.0

    return max(spans(instruction) or [instruction], key=overlap)


def _node(catalog: Catalog, step: Step, instruction: str) -> dict[str, Any]:
    node: dict[str, Any] = {"do": step.name, "a": _span(instruction, step.annotation)}
    table = next((i.value for i in step.inputs if i.name == "table"), None)
    if takes_table(catalog, step.name) and table:
        node["table"] = table
    return node


def _siblings(workflow: Workflow, step: Step) -> list[Step]:
    return [s for s in workflow.components if s.parent == step.parent]


def _children(workflow: Workflow, number: int) -> list[Step]:
    return [s for s in workflow.components if s.parent == number]


def _actions(workflow: Workflow, catalog: Catalog) -> list[Step]:
    return [s for s in workflow.components if s.name in catalog.actions and not is_block(s.name)]


def _taken_out(rng: random.Random, workflow: Workflow, catalog: Catalog,
               consequences: bool = False) -> tuple[Step, Applied] | None:  # fmt: skip
    """An action step that can go (it has siblings, nothing depends on it) and the workflow without it.
    `consequences`: or one whose going takes more along, as `apply` does (`Applied.notes`: "drop the approval" keeps
    the approved branch)."""
    candidates = [s for s in _actions(workflow, catalog) if len(_siblings(workflow, s)) > 1]
    if not candidates:
        return None
    step = rng.choice(candidates)
    applied = _without(workflow, catalog, Delete(step=step.step))
    if applied is None or not catalog.step(step.name) or (applied.notes and not consequences):
        return None
    return step, applied


def _add_step(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    if (found := _taken_out(rng, workflow, catalog)) is None:
        return None
    step, applied = found
    siblings = _siblings(workflow, step)
    k = siblings.index(step)
    later = siblings[k + 1] if k + 1 < len(siblings) else None
    instruction = rng.choice(ADD).format(a=_phrase(step.annotation))
    branch = next((s for s in workflow.components if s.step == step.parent and s.name in BRANCHES), None)
    if branch is not None and rng.random() < 0.5:  # said with the branch's condition: an add, not a new if
        when = "otherwise" if branch.name == "else" else _condition(branch.annotation)
        instruction = rng.choice(IN_BRANCH).format(a=_phrase(step.annotation), c=when)
    if later is None and branch is not None and rng.random() < 0.5:  # at the end of its block
        op: dict[str, Any] = {"op": "insert_into", "step": branch.step}
    elif k and (later is None or rng.random() < 0.7):  # after the previous sibling (its number is unchanged)
        op = {"op": "insert_after", "step": siblings[k - 1].step}
    else:  # before the next one, whose number drops by one, said so ("... before deactivating them")
        assert later is not None
        op = {"op": "insert_before", "step": later.step - 1}
        instruction = rng.choice(BEFORE).format(a=_phrase(step.annotation), b=_phrase(later.annotation))
    op["steps"] = [_node(catalog, step, instruction)]
    return Derived("add_step", applied.workflow, instruction, {"ops": [op]}, _outline(workflow))


def _condition(annotation: str) -> str:
    """A block's annotation as a condition clause: "If it times out" -> "if it times out", "approved" -> "if
    approved"."""
    said = _phrase(annotation)
    return said if said.lower().startswith(CONDITIONAL) else "if " + said


def _remove_step(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    if (found := _taken_out(rng, workflow, catalog, consequences=True)) is None:
        return None
    step, applied = found
    label = catalog.actions[step.name].label.lower()
    instruction = rng.choice(REMOVE).format(a=_phrase(step.annotation), label=label, n=step.step)
    script = {"ops": [{"op": "delete", "step": step.step}]}
    return Derived("remove_step", workflow, instruction, script, _outline(applied.workflow))


def _replace_step(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    """The reference's message step was another kind of message step (a Slack post for an email, a log for a work
    note), with the same text."""
    steps = [s for s in _actions(workflow, catalog) if s.name in MESSAGE_OF and _text(s)]
    if not steps:
        return None
    step = rng.choice(steps)
    others = [a for a in ("log", "post_slack_message", "post_teams_message") if a != step.name and a in catalog.actions]
    if not others:
        return None
    was = rng.choice(others)
    inputs = [Input(name="channel", value=rng.choice(CHANNELS))] if was != "log" else []
    inputs.append(Input(name="message", value=_text(step)))
    annotation = rng.choice((step.annotation, catalog.actions[was].label))
    swapped = step.model_copy(update={"name": was, "inputs": inputs, "annotation": annotation})
    before = workflow.model_copy(update={"components": [swapped if s is step else s for s in workflow.components]})
    instruction = rng.choice(SWAP).format(a=_phrase(step.annotation), was=NOUN[was], label=NOUN[step.name])
    script = {"ops": [{"op": "replace", "step": step.step, "steps": [_node(catalog, step, instruction)]}]}
    return Derived("replace_step", before, instruction, script, _outline(workflow))


def _text(step: Step) -> str:
    value = next((i.value for i in step.inputs if i.name == MESSAGE_OF.get(step.name)), "")
    return value.strip()


def _unwrapped(workflow: Workflow, catalog: Catalog, block: Step, *first: Delete) -> tuple[Workflow, int, int] | None:
    """The workflow without `block` (its steps one level up, after the `first` deletions), and the new
    numbers of its first and last direct children."""
    children = _children(workflow, block.step)
    applied = _without(workflow, catalog, *first, Unwrap(step=block.step))
    if applied is None or not children:
        return None
    new = {old: after for after, old in applied.origin.items()}
    return applied.workflow, new[children[0].step], new[children[-1].step]


def _add_condition(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    ifs = [s for s in workflow.components if s.name == "if"]
    if not ifs:
        return None
    block = rng.choice(ifs)
    siblings = _siblings(workflow, block)
    after = siblings[siblings.index(block) + 1 :]
    if after and after[0].name in ("else_if", "else"):
        return None
    found = _unwrapped(workflow, catalog, block)
    if found is None:
        return None
    before, first, last = found
    condition = _condition(block.annotation)
    instruction = rng.choice(ONLY).format(a=condition)
    script = {"ops": [{"op": "wrap", "first": first, "last": last, "block": "if", "a": _span(instruction, condition)}]}
    return Derived("add_condition", before, instruction, script, _outline(workflow))


def _add_try(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    for block in workflow.components:
        siblings = _siblings(workflow, block)
        after = siblings[siblings.index(block) + 1 :]
        if block.name != "try" or not after or after[0].name != "catch":
            continue
        handlers = _children(workflow, after[0].step)
        if not handlers or any(is_block(h.name) or h.name not in catalog.actions for h in handlers):
            return None
        found = _unwrapped(workflow, catalog, block, Delete(step=after[0].step))
        if found is None:
            return None
        before, first, last = found
        held = _children(workflow, block.step)[0]
        if rng.random() < 0.5 and held.name in catalog.actions:
            label = catalog.actions[held.name].label.lower()
            head = rng.choice(FAILS_NAMED).format(a=_phrase(held.annotation), label=label)
        else:
            head = rng.choice(FAILS)
        instruction = f"{head}, " + " and ".join(_phrase(h.annotation) for h in handlers)
        catch = [_node(catalog, h, instruction) for h in handlers]
        op = {"op": "wrap", "first": first, "last": last, "block": "try", "a": _span(instruction, head), "catch": catch}
        return Derived("wrap_try", before, instruction, {"ops": [op]}, _outline(workflow))
    return None


def _add_else(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    """The reference's else, asked for once its if is there: told "otherwise log that the article had no source
    incident", the edit adapter wrapped the if's steps in a second if."""
    for block in workflow.components:
        handlers = _children(workflow, block.step)
        if block.name != "else" or not handlers or any(is_block(h.name) for h in handlers):
            continue
        applied = _without(workflow, catalog, Delete(step=block.step))
        siblings = _siblings(workflow, block)
        if applied is None or any(h.name not in catalog.actions for h in handlers):
            continue
        instruction = rng.choice(ELSE).format(a=" and ".join(_phrase(h.annotation) for h in handlers))
        branch = {"do": "else", "a": _span(instruction, "otherwise"), "then": [_node(catalog, h, instruction)
                                                                                for h in handlers]}  # fmt: skip
        op = {"op": "insert_after", "step": siblings[siblings.index(block) - 1].step, "steps": [branch]}
        return Derived("add_else", applied.workflow, instruction, {"ops": [op]}, _outline(workflow))
    return None


def _change_text(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    texts = [(s, i) for s in _actions(workflow, catalog) for i in s.inputs
             if i.name in TEXT_INPUTS and "{{" not in i.value and i.value.strip()]  # fmt: skip
    if not texts:
        return None
    step, chosen = rng.choice(texts)
    spec = catalog.step(step.name)
    other = rng.choice([m for m in MESSAGES if m != chosen.value])
    inputs = [Input(name=i.name, value=other) if i is chosen else i for i in step.inputs]
    steps = [s.model_copy(update={"inputs": inputs}) if s is step else s for s in workflow.components]
    before = workflow.model_copy(update={"components": steps})
    label = spec.label.lower() if spec else step.name
    instruction = rng.choice(TEXT).format(input=chosen.name.replace("_", " "), n=step.step, label=label,
                                          value=chosen.value)  # fmt: skip
    script = {"ops": [{"op": "set", "step": step.step, "input": chosen.name}]}
    return Derived("change_value", before, instruction, script, _outline(workflow))


def _change_time(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    trigger = workflow.trigger
    time = next((i for i in trigger.inputs if i.name == "time"), None) if trigger else None
    if trigger is None or time is None or not re.fullmatch(r"\d\d:\d\d:\d\d", time.value):
        return None
    hour, minute = int(time.value[:2]), time.value[3:5]
    other = f"{(hour + rng.randint(1, 23)) % 24:02d}:{minute}:00"
    inputs = [Input(name="time", value=other) if i is time else i for i in trigger.inputs]
    before = workflow.model_copy(update={"trigger": trigger.model_copy(update={"inputs": inputs})})
    clock = f"{hour % 12 or 12}{'' if minute == '00' else ':' + minute}{'am' if hour < 12 else 'pm'}"
    when = rng.choice((f"at {clock}", f"at {time.value[:5]}", f"{clock}"))
    script = {"ops": [{"op": "set", "step": 0, "input": "time"}]}
    return Derived("change_value", before, rng.choice(AT).format(when=when), script, _outline(workflow))


def _change_choice(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    """A choice the reference made, asked for by a workflow that made another: a field set to a choice of its
    column ("priority 2 is enough, not 1"), or an input with choices or a yes / no ("send it by sms and email")."""
    found: list[tuple[Step, Input, str, str]] = []  # the step, its input, the input's value before, the instruction
    for step in _actions(workflow, catalog):
        spec = catalog.step(step.name)
        table = next((i.value for i in step.inputs if i.name == "table"), "")
        columns = catalog.columns(table) if table in catalog.tables else {}
        for given in step.inputs:
            kind = spec.input(given.name) if spec else None
            name = given.name.replace("_", " ")
            if kind is None or "{{" in given.value:
                continue
            if kind.type == "boolean" and given.value in BOOLEAN:
                flipped = "false" if given.value == "true" else "true"
                found.append((step, given, flipped, rng.choice(BOOLEAN[given.value]).format(name=name)))
            elif kind.choices and given.value in kind.choices and len(kind.choices) > 1:
                other = rng.choice([c for c in kind.choices if c != given.value])
                said, was = given.value.replace("_", " "), other.replace("_", " ")
                found.append((step, given, other, rng.choice(CHOICE).format(name=name, value=said, was=was)))
            elif kind.type == "field_values":
                found += _field_choices(rng, step, given, columns)
    if not found:
        return None
    step, given, value, instruction = rng.choice(found)
    inputs = [Input(name=i.name, value=value) if i is given else i for i in step.inputs]
    steps = [s.model_copy(update={"inputs": inputs}) if s is step else s for s in workflow.components]
    before = workflow.model_copy(update={"components": steps})
    script = {"ops": [{"op": "set", "step": step.step, "input": given.name}]}
    return Derived("change_value", before, instruction, script, _outline(workflow))


def _field_choices(rng: random.Random, step: Step, given: Input,
                   columns: dict[str, Column]) -> list[tuple[Step, Input, str, str]]:  # fmt: skip
    """Each field of `given` (field values) set to a choice of its column, with the value set to another choice and
    the instruction that asks for it back, by the choices' labels or values."""
    parts = given.value.split("^")
    out = []
    for k, part in enumerate(parts):
        pair = next(iter(parse_assignments(part)), None)
        column = columns.get(pair[0]) if isinstance(pair, tuple) else None
        if column is None or not isinstance(pair, tuple):
            continue
        labels = {c.value: c.label for c in column.choices}
        if pair[1] not in labels or len(labels) < 2:
            continue
        other = rng.choice([v for v in labels if v != pair[1]])
        value = "^".join(f"{pair[0]}={other}" if j == k else part for j, part in enumerate(parts))
        said, was = (pair[1], other) if rng.random() < 0.4 else (labels[pair[1]], labels[other])
        out.append((step, given, value, rng.choice(CHOICE).format(name=column.label.lower(), value=said, was=was)))
    return out


def _already_done(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    """A step asked for again, at times with the condition it already runs under, its if's or its trigger's ("freeze
    the card when it's reported stolen"): the edit-trained model wrapped such steps in an if of their own."""
    steps = _actions(workflow, catalog)
    if not steps:
        return None
    step = rng.choice(steps)
    said = _phrase(step.annotation)
    under = [s.annotation for s in workflow.components if s.step == step.parent and s.name == "if"]
    under += [workflow.trigger.annotation] if workflow.trigger and workflow.trigger.annotation else []
    if under and rng.random() < 0.5:
        said = f"{said} {_phrase(under[0])}"
    instruction = rng.choice(ALREADY).format(a=said)
    return Derived("no_change", workflow, instruction, {"answer": NO_CHANGE}, _outline(workflow))


def _impossible(rng: random.Random, workflow: Workflow, catalog: Catalog) -> Derived | None:
    ask = rng.choice(list(IMPOSSIBLE))
    steps = " ".join(f"{name} {spec.label} {spec.description}" for name, spec in catalog.actions.items()).lower()
    if IMPOSSIBLE[ask] in steps:
        return None  # the tenant may have a step for it
    instruction = rng.choice(("also {a}", "{a} too", "and {a}", "can it {a}?")).format(a=ask)
    return Derived("impossible", workflow, instruction, {"answer": CANNOT}, _outline(workflow))
