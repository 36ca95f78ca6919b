"""Workflow shapes and the many ways people phrase each part of them.

Each function adds steps to a `Draft` and returns the requirement segments that describe them; the
step annotations are the returned clauses. Everything reads the catalog, so the same code generates
for the core catalog and for tenant catalogs (with their own tables and custom actions).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from flowgen.catalog import Action, Column, InputSpec
from flowgen.expressions import date_range

from . import lexicon as lx
from .draft import Clause, Draft, Record, Segment

Body = list[Segment]


def pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def weighted(rng: random.Random, options: dict) -> object:
    keys = list(options)
    return rng.choices(keys, weights=[options[k] for k in keys])[0]


# -- conditions ------------------------------------------------------------------------------


def _choice_columns(d: Draft, table: str) -> list[Column]:
    cols = d.catalog.columns(table).values()
    return [c for c in cols if c.type == "choice" and 2 <= len(c.choices) <= 12]


def condition(d: Draft, table: str, count: int = 1) -> tuple[str, str]:
    """A phrase and its encoded query, `count` terms joined by AND."""
    rng = d.rng
    cols = d.catalog.columns(table)
    atoms: list[Callable[[], tuple[str, str]]] = []
    for col in rng.sample(_choice_columns(d, table), k=min(3, len(_choice_columns(d, table)))):

        def choice_atom(col: Column = col) -> tuple[str, str]:
            values = rng.sample([c.value for c in col.choices], k=min(2, len(col.choices)))
            phrase = lx.choice_phrase(rng, col, values[0])
            if rng.random() < 0.15 and len(values) == 2:
                other = lx.choice_phrase(rng, col, values[1])
                return (
                    pick(rng, f"with {lx.column_phrase(col)} {phrase} or {other}", f"that are {phrase} or {other}"),
                    f"{col.name}={values[0]}^OR{col.name}={values[1]}",
                )
            if rng.random() < 0.12:
                return pick(rng, f"that are not {phrase}", f"where {lx.column_phrase(col)} isn't {phrase}"), (
                    f"{col.name}!={values[0]}"
                )
            return (
                pick(rng, f"with {lx.column_phrase(col)} {phrase}", f"where {lx.column_phrase(col)} is {phrase}",
                     f"that are {phrase}", f"in {lx.column_phrase(col)} {phrase}", f"whose {lx.column_phrase(col)} is {phrase}"),
                f"{col.name}={values[0]}",
            )  # fmt: skip

        atoms.append(choice_atom)
    if "active" in cols:
        atoms.append(lambda: rng.choice([("that are active", "active=true"), ("still active", "active=true"),
                                         ("that are inactive", "active=false")]))  # fmt: skip
    if "assignment_group" in cols:
        group = rng.choice(lx.GROUPS)
        atoms.append(lambda: (pick(rng, f"assigned to the {group} group", f"in the {group} queue",
                                   f"owned by {group}"), f"assignment_group.name={group}"))  # fmt: skip
    if "assigned_to" in cols:
        atoms.append(
            lambda: (pick(rng, "assigned to me", "that are mine", "on my plate"), f"assigned_to{lx.DYNAMIC_ME}")
        )
        atoms.append(lambda: (pick(rng, "with nobody assigned", "that are unassigned"), "assigned_toISEMPTY"))
    for date_col in ("opened_at", "sys_created_on", "due_date", "sys_updated_on"):
        if date_col in cols:
            days = rng.choice((3, 5, 7, 14, 30, 60, 90))

            def date_atom(col: str = date_col, days: int = days) -> tuple[str, str]:
                if col == "due_date":
                    return pick(
                        rng, "that are overdue", "past their due date"
                    ), "due_date<javascript:gs.beginningOfToday()"
                if col == "sys_updated_on":
                    return (pick(rng, f"not updated in {days} days", f"untouched for {days} days",
                                 f"with no update for {days} days"), f"sys_updated_on<javascript:gs.daysAgoStart({days})")  # fmt: skip
                if rng.random() < 0.3:
                    return pick(rng, "created today", "opened today"), f"{col}ON{date_range('Today')}"
                return (pick(rng, f"older than {days} days", f"opened more than {days} days ago",
                             f"created over {days} days ago"), f"{col}<javascript:gs.daysAgoStart({days})")  # fmt: skip

            atoms.append(date_atom)
            break
    chosen = rng.sample(atoms, k=min(count, len(atoms)))
    made = [atom() for atom in chosen]
    return " and ".join(p for p, _ in made), "^".join(q for _, q in made)


# -- actions on one record -------------------------------------------------------------------


def recipients(d: Draft, rec: Record) -> list[tuple[str, str]]:
    """Who an email about `rec` can go to: (phrase, value)."""
    options = [
        ("caller_id.email", ("the caller", "the person who reported it", "the customer")),
        ("assigned_to.email", ("the assignee", "whoever it's assigned to", "the assigned engineer")),
        ("assigned_to.manager.email", ("the assignee's manager", "the manager of the assigned person")),
        ("opened_by.email", ("whoever opened it", "the person who opened it")),
        ("requested_for.email", ("the requester", "the person it was requested for", "the requested for user")),
        ("assignment_group.email", ("the assignment group", "the group")),
        ("manager.email", ("their manager", "the user's manager")),
        ("email", ("the user", "them")),
        ("author.email", ("the author",)),
    ]
    out = []
    for path, phrases in options:
        column, missing = d.catalog.resolve_path(rec.table, path.split("."))
        if missing is None and column is not None:
            out.append((d.rng.choice(phrases), rec.field(path)))
    return out or [(pick(d.rng, "the service desk", "servicedesk"), "servicedesk@example.com")]


def message(d: Draft) -> str:
    return d.rng.choice(lx.MESSAGES)


def quoted(d: Draft, text: str) -> str:
    return pick(d.rng, f"'{text}'", f'"{text}"', text)


def act_update(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    cols = _choice_columns(d, rec.table)
    table_cols = d.catalog.columns(rec.table)
    kinds = ["choice"] if cols else []
    if "assignment_group" in table_cols:
        kinds.append("group")
    if "assigned_to" in table_cols and d.catalog.resolve_path(rec.table, ["assigned_to", "manager"])[1] is None:
        kinds.append("manager")
    if "active" in table_cols:
        kinds.append("deactivate")
    if not kinds:
        return act_work_note(d, rec, parent)
    kind = rng.choice(kinds)
    it = rec.pronoun
    if kind == "choice":
        col = rng.choice(cols)
        value = rng.choice(col.choices).value
        phrase = lx.choice_phrase(rng, col, value)
        text = pick(rng, f"set {it} to {phrase}", f"set the {lx.column_phrase(col)} to {phrase}",
                    f"change {lx.column_phrase(col)} to {phrase}", f"mark {it} as {phrase}",
                    f"update the {rec.noun}'s {lx.column_phrase(col)} to {phrase}", f"move {it} to {phrase}")  # fmt: skip
        values = f"{col.name}={value}"
        if rng.random() < 0.2 and "work_notes" in table_cols:
            note = message(d)
            text += pick(rng, f" with a work note saying {quoted(d, note)}", f" and note {quoted(d, note)}")
            values += f"^work_notes={note}"
    elif kind == "group":
        group = rng.choice(lx.GROUPS)
        text = pick(rng, f"assign {it} to the {group} group", f"route {it} to {group}", f"send {it} to the {group} team",
                    f"reassign {it} to {group}")  # fmt: skip
        values = f"assignment_group={group}"
    elif kind == "manager":
        text = pick(rng, f"assign {it} to the assignee's manager", f"give {it} to the manager of the assigned person",
                    f"reassign {it} to their manager")  # fmt: skip
        values = f"assigned_to={rec.field('assigned_to.manager')}"
    else:
        text = pick(rng, f"deactivate {it}", f"set {it} inactive", f"make {it} inactive")
        values = "active=false"
    clause = Clause(text)
    d.add("update_record", clause, parent, record=rec.pill, table=rec.table, field_values=values)
    return [clause]


def act_work_note(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    note = message(d)
    if rng.random() < 0.7 or "comments" not in d.catalog.columns(rec.table):
        clause = Clause(pick(rng, f"add a work note saying {quoted(d, note)}", f"put {quoted(d, note)} in the work notes",
                             f"leave a work note {quoted(d, note)}", f"worknote: {note}", f"add the work note {quoted(d, note)}"))  # fmt: skip
        d.add("add_work_note", clause, parent, record=rec.pill, table=rec.table, work_note=note)
    else:
        clause = Clause(pick(rng, f"add a comment {quoted(d, note)}", f"comment {quoted(d, note)} on {rec.pronoun}",
                             f"post the customer comment {quoted(d, note)}"))  # fmt: skip
        d.add("add_comment", clause, parent, record=rec.pill, table=rec.table, comment=note)
    return [clause]


def act_email(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    who, to = rng.choice(recipients(d, rec))
    text = message(d)
    body = text
    phrase = pick(rng, f"email {who} saying {quoted(d, text)}", f"send {who} an email: {text}",
                  f"send an email to {who} that says {quoted(d, text)}", f"notify {who} by email ({text})",
                  f"mail {who} {quoted(d, text)}")  # fmt: skip
    if "number" in d.catalog.columns(rec.table) and rng.random() < 0.4:
        phrase += pick(rng, " with the number", f" and include the {rec.noun} number", " (include the number)")
        body = f"{text} ({rec.field('number')})"
    clause = Clause(phrase)
    d.add("send_email", clause, parent, to=to, subject=text, body=body)
    return [clause]


def act_notify(d: Draft, rec: Record, parent: int | None) -> Body:
    name = d.rng.choice(lx.NOTIFICATIONS)
    clause = Clause(pick(d.rng, f"send the {name} notification", f"fire the '{name}' notification",
                         f"trigger the {name} notification for {rec.pronoun}"))  # fmt: skip
    d.add("send_notification", clause, parent, notification=name, record=rec.pill, table=rec.table)
    return [clause]


def act_chat(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    channel = rng.choice(lx.CHANNELS)
    text = message(d)
    with_number = rec.pill and "number" in d.catalog.columns(rec.table) and rng.random() < 0.4
    value = f"{text}: {rec.field('number')}" if with_number else text
    if rng.random() < 0.5:
        clause = Clause(pick(rng, f"post {quoted(d, text)} to {channel} on slack", f"slack {channel}: {text}",
                             f"send a slack message to {channel} saying {quoted(d, text)}", f"ping {channel} in Slack ({text})"))  # fmt: skip
        d.add("post_slack_message", clause, parent, channel=channel, message=value)
    else:
        team = rng.choice(lx.TEAMS)
        with_team = rng.random() < 0.4
        where = f"the {team} team's {channel} channel" if with_team else f"{channel}"
        clause = Clause(pick(rng, f"post {quoted(d, text)} in teams to {where}", f"send a Teams message to {where}: {text}",
                             f"notify {where} on MS Teams ({text})"))  # fmt: skip
        d.add("post_teams_message", clause, parent, team=team if with_team else "", channel=channel, message=value)
    return [clause]


def act_log(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    text = message(d)
    level = weighted(rng, {"": 6, "warn": 2, "error": 1})
    word = {"": "", "warn": pick(rng, "a warning ", "warning "), "error": pick(rng, "an error ", "error ")}[level]
    clause = Clause(pick(rng, f"log {word}{quoted(d, text)}", f"write {word}{quoted(d, text)} to the log",
                         f"add a log entry {quoted(d, text)}" if not level else f"log {word}that {text}"))  # fmt: skip
    d.add("log", clause, parent, message=text, level=level)
    return [clause]


def act_task(d: Draft, rec: Record, parent: int | None) -> Body:
    rng = d.rng
    desc = rng.choice(lx.TASK_DESCRIPTIONS)
    child = {"incident": ("incident_task", "incident"), "change_request": ("change_task", "change_request"),
             "problem": ("problem_task", "problem")}.get(rec.table)  # fmt: skip
    if rec.table == "sc_req_item":
        clause = Clause(pick(rng, f"create a catalog task to {desc.lower()}", f"open an SCTASK '{desc}'",
                             f"generate a fulfillment task: {desc}"))  # fmt: skip
        d.add("create_catalog_task", clause, parent, requested_item=rec.pill, short_description=desc)
        return [clause]
    if child is None:
        return act_work_note(d, rec, parent)
    table, ref = child
    label = lx.noun(rng, d.catalog, table)
    clause = Clause(pick(rng, f"create an {label} to {desc.lower()}" if label[0] in "aeiou" else f"create a {label} to {desc.lower()}",
                         f"open a {label} '{desc}'", f"add a {label} called {desc}"))  # fmt: skip
    d.add("create_task", clause, parent, table=table, field_values=f"short_description={desc}^{ref}={rec.pill}")
    return [clause]


def act_custom(d: Draft, rec: Record, parent: int | None) -> Body:
    """A tenant's own action on `rec`: named by its label, inputs from what the requirement states."""
    rng = d.rng
    action, records = rng.choice(custom_actions_for(d, rec))
    inputs, extras = _custom_inputs(d, rec, action, records)
    phrase = _custom_phrase(d, rec, action)
    if extras:
        phrase += pick(rng, " with ", ", ", " - ") + " and ".join(extras)
    clause = Clause(phrase)
    d.add(action.id, clause, parent, **inputs)
    return [clause]


def act_custom_by_case(d: Draft, rec: Record, parent: int | None) -> Body:
    """A tenant's action whose choice input depends on the record, said in passing as people do ("check their
    background (enhanced package for agency hires, standard otherwise)"): an if and an else, the action in each."""
    rng = d.rng
    action, records, spec = rng.choice(_cased_actions(d, rec))
    col = rng.choice(_choice_columns(d, rec.table))
    test = rng.choice(col.choices).value
    first, other = rng.sample(spec.choices, k=2)
    inputs, _ = _custom_inputs(d, rec, action, records, skip=spec.name)
    said = lx.choice_phrase(rng, col, test)
    cond = Clause(pick(rng, f"if it's {said}", f"for {said} ones", f"when the {lx.column_phrase(col)} is {said}",
                       f"if {lx.column_phrase(col)} is {said}"))  # fmt: skip
    word, other_word = first.replace("_", " "), other.replace("_", " ")
    act = Clause(_custom_phrase(d, rec, action))
    rest = Clause(pick(rng, f"{other_word} otherwise", f"otherwise {other_word}", f"{other_word} for the rest",
                       f"else {other_word}"))  # fmt: skip
    block = d.add("if", cond, parent, condition=f"{rec.field(col.name)}={test}")
    d.add(action.id, act, block, **inputs, **{spec.name: first})
    block = d.add("else", rest, parent)
    d.add(action.id, rest, block, **inputs, **{spec.name: other})
    opening, closing = rng.choice(((" (", ")"), (": ", ""), (" - ", "")))
    return [act, f"{opening}{word} ", cond, ", ", rest, closing]


def _cased_actions(d: Draft, rec: Record) -> list[tuple[Action, dict[str, tuple[str, str | None]], InputSpec]]:
    """The tenant's actions on `rec` with a choice input of two or more values, with that input."""
    return [(action, records, spec) for action, records in custom_actions_for(d, rec) for spec in action.inputs
            if spec.type == "choice" and len(spec.choices) >= 2]  # fmt: skip


def _custom_phrase(d: Draft, rec: Record, action: Action) -> str:
    words = " ".join(w if w.isupper() else w.lower() for w in action.label.split())
    return pick(d.rng, f"{words} for {rec.pronoun}", words, f"{words} for the {rec.noun}")


def _custom_inputs(
    d: Draft, rec: Record, action: Action, records: dict[str, tuple[str, str | None]], skip: str = ""
) -> tuple[dict[str, str], list[str]]:
    """A custom action's inputs: its records, and some of its other inputs with the words that state them."""
    rng = d.rng
    inputs = {name: pill for name, (pill, _) in records.items()}
    extras = [f"{name.replace('_', ' ')}: the {said}" for name, (_, said) in records.items() if said]
    for spec in action.inputs:
        if (
            spec.name in inputs
            or spec.name == skip
            or spec.type in ("record", "reference")
            or (not spec.required and rng.random() < 0.7)
        ):
            continue
        spoken = spec.name.replace("_", " ")
        if spec.type == "table":
            inputs[spec.name] = rec.table
        elif spec.type == "choice":
            value = rng.choice(spec.choices)
            inputs[spec.name] = value
            extras.append(f"{spoken} {value.replace('_', ' ')}")
        elif spec.type == "duration":
            days = rng.randint(1, 5)
            inputs[spec.name] = f"{days} 00:00:00"
            extras.append(f"for {days} day{'s' if days > 1 else ''}")
        elif spec.type == "integer":
            number = rng.randint(1, 10)
            inputs[spec.name] = str(number)
            extras.append(f"{spoken} {number}")
        elif spec.type == "boolean":
            inputs[spec.name] = "true"
            extras.append(spoken)
        elif spec.type in ("string", "email"):
            text = message(d)
            inputs[spec.name] = text
            extras.append(f"{spoken} {quoted(d, text)}")
    return inputs, extras


_TABLE_NAME = re.compile(r"\(([a-z][a-z0-9_]*)\)")


def custom_actions_for(d: Draft, rec: Record) -> list[tuple[Action, dict[str, tuple[str, str | None]]]]:
    """The tenant's actions whose required record / reference inputs `rec` can fill.

    Each comes with those inputs: a pill to `rec` itself, or a dot-walk from it (with the words for it).
    """
    out = []
    for action in d.catalog.actions.values():
        if action.id not in d.catalog.tenant_ids:
            continue
        records: dict[str, tuple[str, str | None]] | None = {}
        for spec in action.inputs:
            if spec.type not in ("record", "reference") or not spec.required:
                continue
            table = _input_table(d, spec.name, spec.description)
            reached = _reach(d, rec, table) if table else None
            if reached is None:
                records = None
                break
            records[spec.name] = reached
        if records:
            out.append((action, records))
    return out


def _input_table(d: Draft, name: str, description: str) -> str | None:
    """The table a record input takes, as its description names it ("the card (u_card)")."""
    for match in _TABLE_NAME.finditer(description):
        if match.group(1) in d.catalog.tables:
            return match.group(1)
    return f"u_{name}" if f"u_{name}" in d.catalog.tables else None


def _reach(d: Draft, rec: Record, table: str) -> tuple[str, str | None] | None:
    if rec.table == table:
        return rec.pill, None
    for col in d.catalog.columns(rec.table).values():
        if col.reference == table and not col.name.startswith("sys_"):
            return rec.field(col.name), f"{rec.noun}'s {col.label.lower()}"
    return None


RECORD_ACTIONS: dict[Callable[[Draft, Record, int | None], Body], int] = {
    act_update: 8, act_work_note: 4, act_email: 5, act_notify: 2, act_chat: 3, act_log: 2, act_task: 2,
}  # fmt: skip


def act_on_record(d: Draft, rec: Record, parent: int | None, used: set | None = None) -> Body:
    """One action on `rec`, of a kind not in `used` (which records the kind taken)."""
    options = dict(RECORD_ACTIONS)
    if rec.pill and custom_actions_for(d, rec):
        options[act_custom] = 25
        if parent is None and _choice_columns(d, rec.table) and _cased_actions(d, rec):
            options[act_custom_by_case] = 6
    for kind in used or ():
        options.pop(kind, None)
    action = weighted(d.rng, options)
    if used is not None:
        used.add(action)
    return action(d, rec, parent)  # type: ignore[operator]


def actions_on_record(d: Draft, rec: Record, parent: int | None, most: int = 2) -> Body:
    count = d.rng.choice([1, 1, 1, 2] if most >= 2 else [1])
    parts: Body = []
    used: set = set()
    for i in range(count):
        if i:
            parts.append(pick(d.rng, " and ", ", then ", ", ", " and also "))
        parts += act_on_record(d, Record(rec.table, rec.pill, rec.noun, "it" if i else rec.pronoun), parent, used)
    return parts
