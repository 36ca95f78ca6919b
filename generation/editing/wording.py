"""What an edit instruction's words say: which steps it names, and which kinds of change it asks for or rules out.

Each pattern says what it was written against: an answer of the edit adapter the words rule out, and the hand-written
edits it was checked on (`flowdata/handwritten/edits.jsonl`: no expected script is ruled out). The grammar
(`grammar.py`) offers only what they allow.
"""

from __future__ import annotations

import re

from flowgen.catalog import Catalog
from flowgen.semantics import Tree
from flowgen.workflow import Workflow
from generation.outline import spans

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

# Words that go over many ("do it for all their open incidents, not just one"). Without one, the grammar offers no
# for_each: told "if an email fails, log it and keep going", the edit adapter wrapped the update in a loop over the
# records the loop around it already goes over. The one hand-written wrap in a for_each says "all".
EACH = re.compile(r"\b(each|every|all|any|loop|one by one|every one)\b", re.IGNORECASE)

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


def asks_for_each(instruction: str) -> bool:
    """Whether the instruction talks about doing something for many: only then may a script wrap steps in a for_each."""
    return EACH.search(_plain(instruction)) is not None


def asks_for_error_handling(instruction: str) -> bool:
    """Whether the instruction talks about something failing: only then may a script wrap steps in a try."""
    return FAILURE.search(_plain(instruction)) is not None


def asks_for_a_condition(instruction: str) -> bool:
    """Whether the instruction says when something happens, adding nothing: only then may a script wrap steps in an
    if. The "if" of "if the email fails" asks for a try ("if the email fails log it and still set the state" wrapped
    the update in an if), and "also", "too" add ("if it's rejected also email the requester" wrapped the rejection's
    update in a second if). Neither hand-written wrap in an if says either."""
    text = _plain(instruction)
    for begin, failure in reversed(_failing(text)):
        text = text[:begin] + text[failure.end() :]
    return CONDITION.search(text) is not None and ADDING.search(text) is None


def what_fails(instruction: str) -> str:
    """The words that say what fails: from an "if", "when" or "in case" up to the failure word after it, in one clause
    ("log the error if the update fails": "if the update"; the error logged is not what fails, and "fails" would name
    a catch "if that fails")."""
    text = _plain(instruction)
    return " ".join(text[begin : failure.start()].strip() for begin, failure in _failing(text))


def _failing(text: str) -> list[tuple[int, re.Match[str]]]:
    """Each failing clause of `text`: where its last condition word starts, and its failure word."""
    out: list[tuple[int, re.Match[str]]] = []
    for match in FAILURE.finditer(text):
        clause = re.split(r"[,.;:!?]", text[: match.start()])[-1]
        starts = [m.start() for m in CONDITION.finditer(clause)]
        if starts:
            begin = match.start() - len(clause) + starts[-1]
            out.append((begin, match))
    return out


def _plain(text: str) -> str:
    """Typographic apostrophes as typed ones, so that "Don’t" reads as "don't" to every pattern here."""
    return text.replace("’", "'")


def stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9']+", _plain(text.lower()))
    return {_stem(w) for w in words if len(w) >= 3 and w not in FILLER}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def shares(words: set[str], other: set[str]) -> bool:
    """A word of one is a word of the other, or its start ("logg" of "logging" and "log", "variabl" and "variable")."""
    return any(a.startswith(b) or b.startswith(a) for a in words for b in other if min(len(a), len(b)) >= 3)


def mentioned(workflow: Workflow, catalog: Catalog, instruction: str) -> set[int] | None:
    """The steps an instruction talks about: named by number ("take out step 3"), or sharing a word with the step's
    label, action or annotation ("don't text the manager": the send_sms whose annotation is "text the group's
    manager"). None when it names no step that way ("do it for every one, not just the first"): then nothing is ruled
    out."""
    numbers = {int(a or b) for a, b in STEP_NUMBER.findall(instruction)}
    words = stems(STEP_NUMBER.sub(" ", instruction))
    found = {n for n in numbers if any(s.step == n for s in workflow.components)}
    for step in workflow.components:
        spec = catalog.step(step.name)
        own = stems(" ".join([step.name.replace("_", " "), step.annotation, spec.label if spec else ""]))
        if shares(words, own):
            found.add(step.step)
    return found or None


def kept_by_instruction(workflow: Workflow, catalog: Catalog, instruction: str) -> set[int]:
    """The steps a clause of the instruction says stay (`KEEP`), and the blocks around them: "just book the pickup",
    the book_carrier_pickup."""
    clauses = " ".join(m["kept"] or m["enough"] or "" for m in KEEP.finditer(_plain(instruction)))
    kept = (mentioned(workflow, catalog, clauses) or set()) if clauses.strip() else set()
    steps, tree = workflow.components, Tree.of(workflow.components)
    return kept | {steps[a].step for n in kept for a in tree.ancestors(tree.index[n])}
