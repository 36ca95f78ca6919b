"""Turning segments into a requirement that reads like a person typed it: order, connectors, case, typos."""

from __future__ import annotations

import random
import re

from .draft import Clause, Segment

PREFIXES = (
    "", "", "", "", "", "", "I need a flow that ", "Create a workflow: ", "we want to automate this: ",
    "pls automate: ", "Build a flow - ", "Flow: ", "Can you set up a flow? ", "Requirement: ",
    "hey, ", "Need automation: ", "Workflow request: ", "so basically ", "Goal: ",
)  # fmt: skip
AND_THEN = (", then ", " and ", ". ", "; ", ", and then ", ". Then ", ", after that ", " & ", ", ", ". Also ", "\n")
WORD = re.compile(r"(?<![{\w'])([A-Za-z]{4,})(?![\w}])")
# The slips people make that a letter-level typo does not: a homophone, a dropped apostrophe.
SLIPS = {"their": "there", "it's": "its", "they're": "their", "until": "till", "and": "+", "to": "2", "you": "u",
         "please": "pls", "with": "w/", "because": "bc"}  # fmt: skip
SLIP = re.compile(r"(?<![{\w'])(" + "|".join(re.escape(w) for w in SLIPS) + r")(?![\w}'])")


def join_actions(rng: random.Random, parts: list[list[Segment]]) -> list[Segment]:
    out: list[Segment] = []
    for i, part in enumerate(parts):
        if i:
            out.append(
                rng.choice(AND_THEN)
                if i < len(parts) - 1
                else rng.choice((" and ", ", then ", ". ", " and then ", ", finally "))
            )
        out += part
    return out


def with_trigger(rng: random.Random, trigger: list[Segment], body: list[Segment]) -> list[Segment]:
    """Put the trigger before the actions (mostly) or after them."""
    if not trigger:
        return body
    form = rng.random()
    if form < 0.55:
        return [*trigger, rng.choice((", ", ", ", " -> ", ": ", ". ", " ", " then ")), *body]
    if form < 0.8:
        return [*body, rng.choice((" ", " ", ", ", " - ")), *trigger]
    return [*trigger, rng.choice((". ", ".\n", "; ")), *body]


def render(rng: random.Random, segments: list[Segment], typos: bool) -> tuple[str, bool]:
    """Style the segments in place and return the requirement text (and whether typos went in)."""
    prefix = rng.choice(PREFIXES)
    case = rng.random()
    for i, seg in enumerate(segments):
        text = seg.text if isinstance(seg, Clause) else seg
        if case < 0.25:
            text = text.lower()
        if isinstance(seg, Clause):
            seg.text = text
        else:
            segments[i] = text
    typo_made = False
    if typos:
        clauses = [s for s in segments if isinstance(s, Clause) and WORD.search(s.text)]
        for clause in rng.sample(clauses, k=min(len(clauses), rng.randint(1, 2))):
            clause.text = _typo(rng, clause.text)
            typo_made = True
    text = prefix + "".join(s.text if isinstance(s, Clause) else s for s in segments)
    if case >= 0.25 and text[:1].islower() and not prefix:
        text = text[0].upper() + text[1:]
    ending = rng.random()
    if ending < 0.45 and not text.endswith((".", "?", "!")):
        text += "."
    elif ending < 0.5:
        text += "!"
    return text, typo_made


def _typo(rng: random.Random, text: str) -> str:
    slips = list(SLIP.finditer(text))
    if slips and rng.random() < 0.3:
        match = rng.choice(slips)
        return text[: match.start(1)] + SLIPS[match.group(1)] + text[match.end(1) :]
    words = list(WORD.finditer(text))
    match = rng.choice(words)
    word = match.group(1)
    k = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.35:
        new = word[:k] + word[k + 1] + word[k] + word[k + 2 :]  # swap two letters
    elif kind < 0.7:
        new = word[:k] + word[k + 1 :]  # drop one
    else:
        new = word[:k] + word[k] + word[k:]  # double one
    return text[: match.start(1)] + new + text[match.end(1) :]
