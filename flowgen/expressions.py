"""Parsing the strings inside input values: data pills and encoded queries (spec section 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PILL = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_STEP_SOURCE = re.compile(r"^step_([1-9][0-9]*)$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# Every operator of the encoded-query syntax, with the kind of value it takes: "word" (a value or a data pill),
# "none" (nothing), or a form of its own ("list" a,b; "date" / "relative" / "range" glide expressions; "field"
# another column; "sys_id" a dynamic filter). The parser reads them all; the stage-2 grammar writes those whose
# value is a word or nothing. Order: where one is a prefix of another, the longer first (CHANGESTO, not CHANGES + TO).
OPERATORS: dict[str, str] = {
    "VALCHANGES": "none", "CHANGESFROM": "word", "CHANGESTO": "word", "ISNOTEMPTY": "none", "ISEMPTY": "none",
    "ANYTHING": "none", "NOTLIKE": "word", "STARTSWITH": "word", "ENDSWITH": "word", "NOT IN": "list",
    "NSAMEAS": "field", "SAMEAS": "field", "DYNAMIC": "sys_id", "BETWEEN": "range", "RELATIVEGT": "relative",
    "RELATIVELT": "relative", "DATEPART": "date", "NOTON": "date", "LIKE": "word", "IN": "list", "ON": "date",
    "!=": "word", ">=": "word", "<=": "word", "=": "word", ">": "word", "<": "word",
}  # fmt: skip
_TERM = re.compile(
    r"^(?P<field>\{\{[^{}]*\}\}(?:\.[a-z_][a-z0-9_]*)*|[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)"
    r"(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + r")(?P<value>.*)$",
    re.DOTALL,
)
_SEPARATORS = re.compile(r"\^NQ|\^OR|\^")
DYNAMIC_ME = "90d1921e5f510100a9ad2572f2b477fe"
"""The sys_id of the platform's "Me" dynamic filter: `assigned_toDYNAMIC<it>`, assigned to the user who runs it."""
DATE_RANGES = ("Today", "Yesterday", "Tomorrow", "This week", "Last week", "This month", "Last month", "This year")


def date_range(label: str) -> str:
    """The value of `ON` for a named range: `Today@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()`."""
    name = label.title().replace(" ", "")
    return f"{label}@javascript:gs.beginningOf{name}()@javascript:gs.endOf{name}()"


@dataclass(frozen=True)
class Pill:
    """`{{source.output.field...}}`: `source` is a trigger type id, `step_N` or `flow_variables`.

    As parsed from a value, `type` and `table` are None; a pill in scope (`flowgen.semantics`) carries the type of
    the output it names ("field" after a dot-walk) and the table of the record(s) it holds, where the workflow fixes it.
    """

    text: str
    source: str
    output: str | None
    path: tuple[str, ...] = ()
    type: str | None = None
    table: str | None = None

    @property
    def step(self) -> int | None:
        match = _STEP_SOURCE.match(self.source)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Term:
    field: str
    operator: str
    value: str


def find_pills(value: str) -> list[Pill]:
    """Every data pill in a value; a pill with an empty or malformed path has output None."""
    pills = []
    for match in PILL.finditer(value):
        parts = match.group(1).split(".")
        valid = len(parts) >= 2 and all(_NAME.match(part) for part in parts)
        pills.append(Pill(match.group(0), parts[0], parts[1] if valid else None, tuple(parts[2:]) if valid else ()))
    return pills


def parse_query(query: str) -> list[Term | str]:
    """Split an encoded query into terms; a part that is not `field OP value` is returned as text."""
    parts = [part for part in _SEPARATORS.split(query) if part != ""]
    out: list[Term | str] = []
    for part in parts:
        match = _TERM.match(part)
        out.append(Term(match["field"], match["op"], match["value"]) if match else part)
    return out


def parse_assignments(values: str) -> list[tuple[str, str] | str]:
    """`col=value^col2=value2` -> pairs; a part without `=` is returned as text."""
    out: list[tuple[str, str] | str] = []
    for part in values.split("^"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        out.append((name.strip(), value) if sep and _NAME.match(name.strip()) else part)
    return out


def drop_contradictions(query: str) -> str:
    """The query without the terms that ask a column to equal a second value in the same AND of terms.

    `assigned_to={{current}}^assigned_to={{current.manager}}` matches no record: a column has one value. The
    stage-2 grammar is a regular expression and cannot forbid a column twice, so the generator keeps the first
    such term (the model writes the one the requirement names first) and drops the later ones. A query with
    `^OR` (which binds tighter than `^`) is left as it is; `^NQ` joins queries that are each checked.
    """
    return "^NQ".join(_consistent(part) for part in query.split("^NQ"))


def _consistent(query: str) -> str:
    if "^OR" in query:
        return query
    equal: dict[str, str] = {}
    kept = []
    for part in query.split("^"):
        match = _TERM.match(part)
        if match and match["op"] == "=" and equal.setdefault(match["field"], match["value"]) != match["value"]:
            continue
        kept.append(part)
    return "^".join(kept)


def with_terms(old: str, new: str) -> str:
    """`old` with the fields that `new` names as `new` has them, every other term kept, in place: told "set them to
    priority 4 as well", stage 2 writes `priority=4` for `category=inquiry`, and the edit means both. For encoded
    queries and field values alike. Where either has `^OR` or `^NQ`, whose terms do not stand alone, `new` as it is."""
    if any(sep in old or sep in new for sep in ("^OR", "^NQ")):
        return new
    added = [part for part in new.split("^") if part]
    fields = {_field(part) for part in added} - {None}
    out: list[str] = []
    for part in (part for part in old.split("^") if part):
        field = _field(part)
        if field not in fields:
            out.append(part)
        elif not any(_field(p) == field for p in out if p in added):  # the first of the field's terms: now new's
            out += [p for p in added if _field(p) == field]
    out += [p for p in added if p not in out]
    return "^".join(out)


def _field(part: str) -> str | None:
    match = _TERM.match(part)
    return match["field"] if match else None
