"""The edit grammar: a JSON Schema built from the workflow and the tenant's catalog.

The model can name only steps that exist (blocks where a block is needed, siblings for a wrap's range),
inputs that step has, the suggested actions of the tenant and its tables, annotations from the
instruction's own clauses, and a for_each only over a list that is in scope. Values are not written
here: stage 2 writes the inputs of new steps and of the inputs a `set` names. What the instruction's words allow
is offered: steps are deleted, replaced or unwrapped only when it asks to take something out, added only when it
does not set what it wants against what is there, wrapped in an if only when it says when, in a try only when it
talks about failing (each pattern below says what it was written against). "No change needed" and "the catalog
cannot do this" are answers of their own.

Steps are named by their words, "email the assigned to (send_email #1)", not 1 (`step_ref`): told "only send the
email when somebody is assigned", the 270M model picked the number of the step after the email; writing a step's
own words out, it picks the one whose words the instruction uses.
"""

from __future__ import annotations

import re
from itertools import takewhile
from typing import Any

from flowgen import semantics
from flowgen.catalog import Catalog
from flowgen.semantics import Scope, Tree, is_block
from flowgen.workflow import Step, Workflow
from generation.outline import spans, takes_table

from .script import CANNOT, NO_CHANGE, EditScript

MAX_OPS = 4
MAX_NEW = 3  # new steps in one place, and inside one new block
# ... and no more than the instruction has clauses: "log it as well" adds one step, not a log and an email. No
# hand-written edit adds more steps in one place than its instruction has clauses, so the bound costs no right one.
BLOCKS = ("if", "else_if", "else", "do_until", "try", "catch", "parallel", "branch")
# Words with which people ask to take something out or swap it ("don't text the manager", "drop the approval",
# "email them instead", "not just the first"). Without one, the grammar offers no delete, replace or unwrap: the
# edit-trained model deleted steps nobody asked about ("log how many got purged" took out the purge).
REMOVAL = re.compile(
    r"\b(remove|delete|drop|don'?t|do not|no longer|no need|stop|skip|take (it |them )?(out|away)|get rid|without|"
    r"instead|replace|swap|rather|not|never|cancel|undo|unwrap|scrap|forget|omit|strip|kill|ditch)\b",
    re.IGNORECASE,
)

# Words with which people ask for error handling ("if the email fails", "in case something goes wrong"). Without one,
# the grammar offers no try: told "when it's rejected also email the group's manager", the edit adapter wrapped the
# rejection's update in a try whose catch sent the email.
FAILURE = re.compile(
    r"\b(fail\w*|errors?|erroring|errors? out|errored|goes wrong|go wrong|went wrong|exceptions?|crash\w*|"
    r"(doesn'?t|does not|didn'?t|did not) work|unsuccessful\w*|breaks?|broken)\b",
    re.IGNORECASE,
)

# Words that say when something happens ("only send the email when somebody is assigned", "only for VIP callers").
# Without one, the grammar offers no if: told "otherwise log that the article had no source incident", the edit
# adapter wrapped the if's work note in a second if rather than add an else.
CONDITION = re.compile(
    r"\b(if|only|unless|when|whenever|in case|provided|as long as|except|once|should)\b", re.IGNORECASE
)

# Clauses that say what stays ("just book the pickup", "I only care about the warning", "Software Asset Mgmt is
# enough"): the steps they name are not taken out. Told "we don't print labels anymore, just book the pickup", the
# edit adapter deleted the pickup.
KEEP = re.compile(
    r"(?<!not )\b(?:just|keep|only care about|all i care about|only want)\b(?P<kept>[^,.;:!?]*)"
    r"|(?P<enough>[^,.;:!?]*)\b(?:is|are) enough\b",
    re.IGNORECASE,
)

# Words that put a new step before another ("... before deactivating them", "first look up ..."). Without one, a new
# step goes after a step or at the end of a block: the edit adapter put "also stop the production line" and "once the
# sctask is created email the requester" first in the flow. The two inserts-before of the 70 hand-written edits say
# "before".
BEFORE = re.compile(r"\b(before|beforehand|first|prior to|ahead of|start (it |them )?(by|with))\b", re.IGNORECASE)

# Words that set what is wanted against what is there ("use teams instead of slack", "send them a text message, not an
# email", "do it for all of them, not just one"): the step is changed or swapped, not added to. Without one, the edit
# adapter added an email beside the Slack post it was told to replace, and an update beside the email whose recipient
# it was told to change. None of the ten such hand-written edits inserts a step. "Also" and "too" add after all
# ("not just a log, email them too").
CONTRAST = re.compile(r"\b(instead|rather than|in place of|not (just|only))\b|,\s*not\b", re.IGNORECASE)
ADDING = re.compile(r"\b(also|too|as well|in addition|additionally)\b", re.IGNORECASE)
# ... and so do "make it stat", "set them to priority 4 as well", "make the work order priority 2" said alone: a value
# of what is there (the edit adapter added a `count_records` for "make it stat"). "make sure ..." and "set up ..." add.
VALUE = re.compile(r"^\W*(make|set|mark)\s+(it|them|the|this|that|these|those|its|their)\b(?!\s+(sure|up)\b)",
                   re.IGNORECASE)  # fmt: skip

# Words that say what to do rather than to what, the removal words among them: they tell no step from another.
FILLER = frozenset(
    re.findall(
        r"\S+",
        "the and but for with from its it's them they their this that these those you our any all every each just only "
        "also too well please pls anymore more longer need needs needed want does don't dont not step steps one "
        "instead rather care about when then there here are was were will should would can could have has had now "
        "again still same remove delete drop stop skip take out away get rid without replace swap never cancel undo "
        "unwrap scrap forget omit strip kill ditch",
    )
)
STEP_NUMBER = re.compile(r"\bstep\s*#?\s*(\d+)|#(\d+)\b", re.IGNORECASE)


def asks_to_remove(instruction: str) -> bool:
    """Whether the instruction asks to take out or replace something: only then may a script delete a step."""
    return REMOVAL.search(_plain(instruction)) is not None


def asks_to_put_before(instruction: str) -> bool:
    """Whether the instruction puts something before a step: only then may a script insert before one."""
    return BEFORE.search(_plain(instruction)) is not None


def changes_what_is_there(instruction: str, workflow: Workflow, catalog: Catalog) -> bool:
    """Whether the instruction sets what it wants against what is there, or asks in one clause for a value a step of
    the flow can take (one that sets field values or has an input of choices): then a script inserts no step. "set it
    inactive" of a flow with no such step asks for a new one."""
    text = _plain(instruction)
    if VALUE.search(text) and len(spans(text)) == 1 and _takes_values(workflow, catalog):
        return True
    return CONTRAST.search(text) is not None and ADDING.search(text) is None


def _takes_values(workflow: Workflow, catalog: Catalog) -> bool:
    specs = [catalog.step(s.name) for s in workflow.components]
    return any(i.type == "field_values" or i.choices for spec in specs if spec for i in spec.inputs)


def asks_for_error_handling(instruction: str) -> bool:
    """Whether the instruction talks about something failing: only then may a script wrap steps in a try."""
    return FAILURE.search(_plain(instruction)) is not None


def asks_for_a_condition(instruction: str) -> bool:
    """Whether the instruction says when something happens, adding nothing: only then may a script wrap steps in an
    if. The "if" of "if the email fails" asks for a try ("if the email fails log it and still set the state" wrapped
    the update in an if), and "also", "too" add ("if it's rejected also email the requester" wrapped the rejection's
    update in a second if). Neither hand-written wrap in an if says either."""
    text = _plain(instruction)
    for begin, end in reversed(_failing(text)):
        text = text[:begin] + text[end:]
    return CONDITION.search(text) is not None and ADDING.search(text) is None


def what_fails(instruction: str) -> str:
    """The words that say what fails: from an "if", "when" or "in case" up to the failure word after it, in one clause
    ("log the error if the update fails": "if the update"; the error logged is not what fails, and "fails" would name
    a catch "if that fails")."""
    text = _plain(instruction)
    return " ".join(text[begin:failure].strip() for begin, failure in _failing(text, words=False))


def _failing(text: str, words: bool = True) -> list[tuple[int, int]]:
    """Where each failing clause runs in `text`: from its last condition word to the end of its failure word (`words`)
    or to the start of it."""
    out = []
    for match in FAILURE.finditer(text):
        clause = re.split(r"[,.;:!?]", text[: match.start()])[-1]
        starts = [m.start() for m in CONDITION.finditer(clause)]
        if starts:
            begin = match.start() - len(clause) + starts[-1]
            out.append((begin, match.end() if words else match.start()))
    return out


def _plain(text: str) -> str:
    """Typographic apostrophes as typed ones, so that "Don’t" reads as "don't" to every pattern here."""
    return text.replace("’", "'")


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9']+", _plain(text.lower()))
    return {_stem(w) for w in words if len(w) >= 3 and w not in FILLER}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _shares(words: set[str], other: set[str]) -> bool:
    """A word of one is a word of the other, or its start ("logg" of "logging" and "log", "variabl" and "variable")."""
    return any(a.startswith(b) or b.startswith(a) for a in words for b in other if min(len(a), len(b)) >= 3)


def mentioned(workflow: Workflow, catalog: Catalog, instruction: str) -> set[int] | None:
    """The steps an instruction talks about: named by number ("take out step 3"), or sharing a word with the step's
    label, action or annotation ("don't text the manager": the send_sms whose annotation is "text the group's
    manager"). None when it names no step that way ("do it for every one, not just the first"): then nothing is ruled
    out."""
    numbers = {int(a or b) for a, b in STEP_NUMBER.findall(instruction)}
    words = _stems(STEP_NUMBER.sub(" ", instruction))
    found = {n for n in numbers if any(s.step == n for s in workflow.components)}
    for step in workflow.components:
        spec = catalog.step(step.name)
        own = _stems(" ".join([step.name.replace("_", " "), step.annotation, spec.label if spec else ""]))
        if _shares(words, own):
            found.add(step.step)
    return found or None


def kept_by_instruction(workflow: Workflow, catalog: Catalog, instruction: str) -> set[int]:
    """The steps a clause of the instruction says stay (`KEEP`), and the blocks around them: "just book the pickup",
    the book_carrier_pickup."""
    clauses = " ".join(m["kept"] or m["enough"] or "" for m in KEEP.finditer(_plain(instruction)))
    kept = (mentioned(workflow, catalog, clauses) or set()) if clauses.strip() else set()
    steps, tree = workflow.components, Tree.of(workflow.components)
    return kept | {steps[a].step for n in kept for a in tree.ancestors(tree.index[n])}


def _depending(workflow: Workflow, steps: set[int]) -> set[int]:
    """`steps` and what goes with them: every step that uses one of their outputs, lies inside one, or is the else of
    one of their ifs, and every block all of whose steps go ("don't text the manager": the parallel branch that only
    texts)."""
    out = set(steps)
    previous: dict[int | None, int] = {}  # the last sibling seen under each parent
    for step in workflow.components:  # in order: a step's inputs name earlier steps only
        pills = " ".join(i.value for i in step.inputs)
        uses = any(f"{{{{step_{n}." in pills or f"{{{{step_{n}}}}}" in pills for n in out)
        branch_of = step.name in ("else_if", "else") and previous.get(step.parent) in out
        if step.parent in out or uses or branch_of:
            out.add(step.step)
        previous[step.parent] = step.step
    children: dict[int, list[int]] = {}
    for step in workflow.components:
        if step.parent is not None:
            children.setdefault(step.parent, []).append(step.step)
    for block in sorted(children, reverse=True):  # inner blocks first: they come after their parents
        if all(c in out for c in children[block]):
            out.add(block)
    return out


TRIGGER = "the trigger"
REF_WORDS = 6  # of the annotation: enough to tell steps apart by what they do, the number settles the rest
REFERRING = ("step", "first", "last")  # the keys of an operation that name a step


def step_ref(step: Step) -> str:
    """How a script names a step: its annotation's first words, its action and number."""
    words = " ".join(step.annotation.split()[:REF_WORDS])
    return f"{words} ({step.name} #{step.step})".lstrip()


def _refs(workflow: Workflow) -> dict[int, str]:
    return {0: TRIGGER, **{s.step: step_ref(s) for s in workflow.components}}


def written(data: dict[str, Any], workflow: Workflow) -> dict[str, Any]:
    """A script with steps by number (as `to_script` reads it) as the model writes it: steps by `step_ref` (a
    number no step has stays, and breaks the grammar)."""
    return _renamed(data, _refs(workflow))


def numbered(data: dict[str, Any], workflow: Workflow) -> dict[str, Any]:
    """The inverse of `written`: a script as the grammar accepted it, with steps by number."""
    return _renamed(data, {ref: n for n, ref in _refs(workflow).items()})


def _renamed(data: dict[str, Any], names: dict[Any, Any]) -> dict[str, Any]:
    ops = [{k: names.get(v, v) if k in REFERRING else v for k, v in op.items()} for op in data.get("ops", [])]
    return {**data, "ops": ops} if "ops" in data else data


def edit_schema(workflow: Workflow, catalog: Catalog, instruction: str, actions: list[str],
                tables: list[str]) -> dict[str, Any]:  # fmt: skip
    """JSON Schema of an edit of `workflow`: operations, or one of the two answers."""
    clauses = spans(instruction) or [instruction]
    span = {"enum": clauses}
    new_at_most = min(MAX_NEW, len(clauses))
    steps = workflow.components
    numbers = [s.step for s in steps]
    blocks = [s.step for s in steps if is_block(s.name)]
    with_table = [a for a in actions if takes_table(catalog, a)]
    plain = [a for a in actions if a not in with_table] + semantics.leaves(inside_loop=True)

    def new_steps(unlike: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """New steps, and the leaves a new block holds; none of them a `unlike` (`replace`)."""
        leaves = [_object({"do": {"enum": [a for a in plain if a != unlike]}, "a": span})]
        if tables and (table_actions := [a for a in with_table if a != unlike]):
            leaves.append(_object({"do": {"enum": table_actions}, "a": span, "table": {"enum": tables}}))
        inner = {"type": "array", "items": {"anyOf": leaves}, "minItems": 1, "maxItems": new_at_most}
        nodes = [*leaves, _object({"do": {"enum": [b for b in BLOCKS if b != unlike]}, "a": span, "then": inner})]
        if tables and unlike not in ("look_up_records", "for_each"):
            nodes.append(_object({"for_each": span, "find": span, "table": {"enum": tables}, "then": inner}))
        return {"type": "array", "items": {"anyOf": nodes}, "minItems": 1, "maxItems": new_at_most}, inner

    new, inner = new_steps()

    about = mentioned(workflow, catalog, instruction)
    near = None if about is None else _depending(workflow, about)  # what it talks about, and what goes with that
    # a step is taken out, swapped or unwrapped only if the instruction talks about it (or it goes with one that is)
    removable = (set(numbers) if near is None else near) - kept_by_instruction(workflow, catalog, instruction)
    inserts = ["insert_after", "insert_before"] if asks_to_put_before(instruction) else ["insert_after"]
    adds = not changes_what_is_there(instruction, workflow, catalog)
    ops = [_object({"op": {"enum": inserts}, "step": {"enum": numbers}, "steps": new})] if adds else []
    top = [s.step for s in steps if s.parent is None]
    deletable = [n for n in numbers if top != [n] and n in removable]  # never the only step: "run it at 2am
    # instead" emptied a flow
    if asks_to_remove(instruction):
        # a swap is for a step of another kind ("send them a text message, not an email"): a step of the same kind is
        # changed by `set`, which keeps what it is not told (the edit adapter swapped the email for a new email)
        replaceable: dict[str, list[int]] = {}
        for step in steps:
            if step.step in removable:
                replaceable.setdefault(step.name, []).append(step.step)
        for name, same in replaceable.items():
            ops.append(_object({"op": {"enum": ["replace"]}, "step": {"enum": same}, "steps": new_steps(name)[0]}))
        if deletable:
            ops.append(_object({"op": {"enum": ["delete"]}, "step": {"enum": deletable}}))
        if unwrappable := [b for b in blocks if b in removable]:
            ops.append(_object({"op": {"enum": ["unwrap"]}, "step": {"enum": unwrappable}}))
    if blocks and adds:
        ops.append(_object({"op": {"enum": ["insert_into"]}, "step": {"enum": blocks}, "steps": new}))
    failing = None
    if asks_for_error_handling(instruction):  # a try around what the failing clause names, or any steps
        named = mentioned(workflow, catalog, what_fails(instruction))
        failing = (set(numbers) if named is None else _depending(workflow, named)) - _caught(workflow)
    ops += _wraps(workflow, catalog, span, inner, failing, asks_for_a_condition(instruction))
    ops += _sets(workflow, catalog, instruction, near)
    refs = _refs(workflow)
    for op in ops:  # built by number, written by reference
        for key in REFERRING:
            if key in op["properties"]:
                op["properties"][key] = {"enum": [refs[n] for n in op["properties"][key]["enum"]]}
    answer = _object({"answer": {"enum": [NO_CHANGE, CANNOT]}})
    if not ops:  # nothing it may do to a flow with no steps but add one, and it was told not to add
        return {"anyOf": [answer]}
    edit = _object({"ops": {"type": "array", "items": {"anyOf": ops}, "minItems": 1, "maxItems": MAX_OPS}})
    return {"anyOf": [edit, answer]}


def _caught(workflow: Workflow) -> set[int]:
    """Tries and the steps inside one: their failures are handled already. Told "log the error if creating the change
    fails" of a flow whose try around the creation logs it, the edit adapter wrapped the creation in a second try."""
    steps, tree = workflow.components, Tree.of(workflow.components)
    return {
        s.step for s in steps
        if s.name == "try" or any(steps[a].name == "try" for a in tree.ancestors(tree.index[s.step]))
    }  # fmt: skip


def _wraps(workflow: Workflow, catalog: Catalog, span: dict[str, Any], catch: dict[str, Any],
           failing: set[int] | None, conditional: bool) -> list[dict[str, Any]]:  # fmt: skip
    """One alternative per first step: the last one is a later sibling; a for_each's list is one in scope. A try
    only if the instruction talks about failing, and around the steps that may fail (`failing`: those its failing
    clause names and what goes with them, "if the email fails": the email). An if only if the instruction says when
    (`conditional`), around any steps: its condition often names another step ("only if it is approved"); but not
    around the whole flow where the trigger has a condition, which says that ("only for critical results": the
    edit adapter wrapped the flow's one step in an if on the lab result)."""
    children: dict[int | None, list[int]] = {}
    for step in workflow.components:
        children.setdefault(step.parent, []).append(step.step)
    trigger = catalog.triggers.get(workflow.trigger.type) if workflow.trigger else None
    whole = children.get(None, [])[:1] if trigger and trigger.input("condition") else []  # its first step: the flow
    scope = Scope(catalog, workflow)
    out = []
    for siblings in children.values():
        for k, first in enumerate(siblings):
            head = {"op": {"enum": ["wrap"]}, "first": {"enum": [first]}, "last": {"enum": siblings[k:]}}
            ends = siblings[k:-1] if first in whole else siblings[k:]
            if conditional and ends:
                out.append(_object({**head, "last": {"enum": ends}, "block": {"enum": ["if"]}, "a": span}))
            tried = list(takewhile(lambda n: n in failing, siblings[k:])) if failing else []
            if tried:
                out.append(_object({**head, "last": {"enum": tried}, "block": {"enum": ["try"]}, "a": span,
                                    "catch": catch}))  # fmt: skip
            lists = [p.text for p in scope.visible(first - 1, "items") if p.type == "records"]
            if lists:
                items = _object({"items": {"enum": lists}})
                out.append(_object({**head, "block": {"enum": ["for_each"]}, "a": span, "inputs": items}))
    return out


def _sets(workflow: Workflow, catalog: Catalog, instruction: str, near: set[int] | None) -> list[dict[str, Any]]:
    """`set`: steps grouped by the inputs they have, so that the schema stays small. Of the steps, unless the
    instruction names none (`near` None): the trigger, those it talks about and what goes with them (`near`), and those
    with an input or a value it names ("make the priority 2", "60 days instead of 30" for a subject that says "30
    days")."""
    parts = [(0, catalog.triggers.get(workflow.trigger.type))] if workflow.trigger else []
    parts += [(s.step, catalog.step(s.name)) for s in workflow.components]
    words = _stems(instruction)
    values = {s.step: _stems(" ".join(i.value for i in s.inputs)) for s in workflow.components}
    groups: dict[tuple[str, ...], list[int]] = {}
    for number, spec in parts:
        names = _stems(" ".join(i.name.replace("_", " ") for i in spec.inputs)) if spec is not None else set()
        said = _shares(words, names | values.get(number, set()))
        talked_about = near is None or number == 0 or number in near or said
        if spec is not None and spec.inputs and talked_about:
            groups.setdefault(tuple(i.name for i in spec.inputs), []).append(number)
    return [
        _object({"op": {"enum": ["set"]}, "step": {"enum": numbers}, "input": {"enum": list(names)}})
        for names, numbers in groups.items()
    ]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def to_script(data: dict[str, Any]) -> EditScript:
    """The script of an answer the grammar accepted: a `find` + `for_each` node is a look-up and its loop."""

    def expand(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for node in nodes:
            if "for_each" in node:
                out.append({"do": "look_up_records", "a": node["find"], "table": node["table"]})
                out.append({"do": "for_each", "a": node["for_each"], "then": expand(node["then"])})
            else:
                out.append({**node, "then": expand(node.get("then", []))})
        return out

    ops = [{**op, "steps": expand(op["steps"])} if "steps" in op else op for op in data.get("ops", [])]
    ops = [{**op, "catch": expand(op["catch"])} if "catch" in op else op for op in ops]
    return EditScript.model_validate({**data, "ops": ops} if ops else data)
