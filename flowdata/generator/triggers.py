"""Triggers and the ways people say when a flow should start."""

from __future__ import annotations

from . import lexicon as lx
from .draft import Clause, Draft, Record
from .patterns import _choice_columns, condition, pick

TIMES = (
    ("at 8am", "08:00:00"), ("at 9", "09:00:00"), ("at 9:30", "09:30:00"), ("at noon", "12:00:00"),
    ("at 6 pm", "18:00:00"), ("at 17:00", "17:00:00"), ("at midnight", "00:00:00"), ("at 7 in the morning", "07:00:00"),
    ("at 10pm", "22:00:00"), ("", "09:00:00"),
)  # fmt: skip
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEACTIVATED = "activeCHANGESTOfalse"  # the condition of a record-updated trigger on a record made inactive
EVERY = (
    ("every hour", "0 01:00:00"), ("hourly", "0 01:00:00"), ("every 15 minutes", "0 00:15:00"),
    ("every 30 min", "0 00:30:00"), ("every 4 hours", "0 04:00:00"), ("every 2h", "0 02:00:00"),
    ("every few days", "3 00:00:00"), ("every 10 minutes", "0 00:10:00"), ("each hour", "0 01:00:00"),
)  # fmt: skip
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 5: "5th", 10: "10th", 15: "15th", 20: "20th", 25: "25th", 28: "28th"}


def terse_changes(n: str, phrase: str) -> tuple[str, ...]:
    """How people note a record reaching a value, often without a verb for the change ("batch quarantined", "card
    reported stolen", "once an order is delivered", "req goes to pending approval"): words that read like a new
    record to a model that only saw "becomes" and "moves to"."""
    return (f"{n} {phrase}", f"once {lx.a(n)} is {phrase}", f"when {lx.a(n)} is {phrase}", f"{n} goes {phrase}",
            f"{n} marked as {phrase}", f"{n} goes to {phrase}", f"when {lx.a(n)} gets {phrase}")  # fmt: skip


def record_trigger(d: Draft, table: str) -> tuple[list, Record]:
    """A record created / updated trigger on `table`; returns segments and the trigger's record."""
    rng = d.rng
    n = lx.noun(rng, d.catalog, table)
    kind = rng.choices(("record_create", "record_update", "record_create_or_update"), weights=(5, 6, 2))[0]
    inputs = {"table": table}
    if kind == "record_update":
        text, inputs = _becomes(d, table, n)
    elif kind == "record_create":
        text = pick(rng, f"when a new {n} is created", f"whenever {lx.a(n)} is opened", f"every time someone logs {lx.a(n)}",
                    f"on {n} creation", f"when {lx.a(n)} gets submitted", f"as soon as {lx.a(n)} comes in", f"new {n}",
                    f"whenever somebody creates {lx.a(n)}", f"for every new {n}")  # fmt: skip
        if rng.random() < 0.5:
            phrase, query = condition(d, table, rng.choice((1, 1, 2)))
            text += " " + phrase
            inputs["condition"] = query
    else:
        text = pick(rng, f"whenever {lx.a(n)} is created or updated", f"when {lx.a(n)} is saved",
                    f"each time {lx.a(n)} is created or changed", f"any time {lx.a(n)} is inserted or modified")  # fmt: skip
        if rng.random() < 0.6:
            phrase, query = condition(d, table, 1)
            text += " " + phrase
            inputs["condition"] = query
    d.set_trigger(kind, Clause(text), **inputs)
    return [d.trigger_clause], Record(table, f"{{{{{kind}.current}}}}", n, pick(rng, "it", f"the {n}", "it"))


def _becomes(d: Draft, table: str, n: str) -> tuple[str, dict[str, str]]:
    rng = d.rng
    cols = _choice_columns(d, table)
    inputs = {"table": table}
    has_active = "active" in d.catalog.columns(table)
    if has_active and (not cols or rng.random() < 0.2):
        inputs["condition"] = DEACTIVATED
        text = pick(rng, f"when {lx.a(n)} becomes inactive", f"whenever {lx.a(n)} is deactivated",
                    f"every time {lx.a(n)} gets set to inactive", f"if {lx.a(n)} goes inactive")  # fmt: skip
    elif cols and rng.random() < 0.8:
        col = rng.choice(cols)
        value = rng.choice(col.choices).value
        phrase = lx.choice_phrase(rng, col, value)
        inputs["condition"] = f"{col.name}CHANGESTO{value}"
        text = pick(rng, f"when {lx.a(n)} becomes {phrase}", f"whenever {lx.a(n)} is set to {phrase}",
                    f"once {lx.a(n)} moves to {phrase}", f"when the {lx.column_phrase(col)} of {lx.a(n)} changes to {phrase}",
                    f"every time {lx.a(n)} gets {phrase}", f"as soon as {lx.a(n)} is {phrase}",
                    *terse_changes(n, phrase))  # fmt: skip
    else:
        text = pick(rng, f"whenever {lx.a(n)} is updated", f"when someone updates {lx.a(n)}", f"on {n} update",
                    f"each time {lx.a(n)} changes")  # fmt: skip
    return text, inputs


def scheduled_trigger(d: Draft) -> list:
    rng = d.rng
    kinds = ("scheduled_daily", "scheduled_weekly", "scheduled_monthly", "scheduled_repeat", "run_once")
    kind = rng.choices(kinds, weights=(5, 4, 3, 2, 1))[0]
    time_phrase, time = rng.choice(TIMES)
    if kind == "scheduled_daily":
        text = pick(rng, f"every day {time_phrase}", f"daily {time_phrase}", f"each day {time_phrase}",
                    f"once a day {time_phrase}")  # fmt: skip
        inputs = {"time": time}
    elif kind == "scheduled_weekly":
        day = rng.choice(DAYS)
        text = pick(rng, f"every {day} {time_phrase}", f"each {day} {time_phrase}", f"weekly on {day}s {time_phrase}",
                    f"once a week on {day} {time_phrase}")  # fmt: skip
        inputs = {"day_of_week": day, "time": time}
    elif kind == "scheduled_monthly":
        day_number = rng.choice(list(ORDINALS))
        text = pick(rng, f"on the {ORDINALS[day_number]} of every month {time_phrase}", f"monthly on day {day_number} {time_phrase}",
                    f"every month on the {ORDINALS[day_number]} {time_phrase}")  # fmt: skip
        inputs = {"day_of_month": str(day_number), "time": time}
    elif kind == "scheduled_repeat":
        text, interval = rng.choice(EVERY)
        inputs = {"interval": interval}
    else:
        date = f"2027-0{rng.randint(1, 9)}-{rng.randint(10, 28)}"
        text = pick(rng, f"once on {date} {time_phrase}", f"one time only, on {date} {time_phrase}")
        inputs = {"run_at": f"{date} {time}"}
    d.set_trigger(kind, Clause(" ".join(text.split())), **inputs)
    return [d.trigger_clause]


def catalog_trigger(d: Draft) -> tuple[list, str, tuple[str, ...]]:
    rng = d.rng
    item = rng.choice(list(lx.CATALOG_ITEMS))
    text = pick(rng, f"when someone requests a {item}", f"for the {item} catalog item", f"when a {item} request is submitted",
                f"whenever a {item} is ordered from the catalog", f"on a {item} request")  # fmt: skip
    d.set_trigger("service_catalog", Clause(text), catalog_item=item)
    return [d.trigger_clause], item, lx.CATALOG_ITEMS[item]


def sla_trigger(d: Draft) -> list:
    rng = d.rng
    sla = rng.choice(lx.SLA_DEFINITIONS)
    text = pick(rng, f"when the {sla} SLA fires", f"for the SLA {sla}", f"when a task hits the {sla} SLA",
                f"on the '{sla}' SLA")  # fmt: skip
    d.set_trigger("sla_task", Clause(text), sla_definition=sla)
    return [d.trigger_clause]


def email_trigger(d: Draft) -> list:
    """An inbound email, by its subject, the mailbox it was sent to, or both, as people say it ("emails to
    claims@acme.com", "if a customer emails us with 'lost card' in the subject")."""
    rng = d.rng
    word = rng.choice(lx.EMAIL_SUBJECTS)
    box, who = rng.choice(lx.MAILBOXES), rng.choice(lx.EMAIL_SENDERS)
    form = rng.random()
    if form < 0.55:
        text = pick(rng, f"when an email comes in with '{word}' in the subject", f"whenever we receive an email about {word}",
                    f"on inbound emails with subject containing {word}", f"when a mail arrives mentioning {word}",
                    f"if {who} emails us with '{word}' in the subject", f"when {who} emails in with '{word}' in the subject line",
                    f"{word} emails (subject contains {word})", f"emails with '{word}' in the subject")  # fmt: skip
        query = f"subjectLIKE{word}"
    elif form < 0.8:
        text = pick(rng, f"emails to {box}", f"{who} emails {box}", f"when {who} emails {box}", f"mail sent to {box}",
                    f"whenever something lands in {box}")  # fmt: skip
        query = f"recipientsLIKE{box}"
    else:
        text = pick(rng, f"{who} emails {box} with '{word}' in the subject", f"emails to {box} with '{word}' in the subject",
                    f"when {who} writes to {box} about {word}")  # fmt: skip
        query = f"recipientsLIKE{box}^subjectLIKE{word}"
    d.set_trigger("inbound_email", Clause(text), condition=query)
    return [d.trigger_clause]


def no_trigger_prefix(d: Draft) -> str:
    """The words of a flow with no trigger, run by hand or called by other flows: often with who runs it and why
    ("a flow HR can run by hand before audits: ", "manual flow for the supplier recall: ")."""
    rng = d.rng
    who, why = rng.choice(lx.RUNNERS), rng.choice(lx.ONE_OFF_REASONS)
    return pick(rng, "a flow I can run by hand to ", "manual flow: ", "a subflow that can ", "on demand, ",
                "make a flow (no trigger, we'll call it from other flows) to ", "run manually: ",
                f"a flow {who} can run by hand {why}: ", f"manual flow {why}: ", f"run-on-demand flow {why}: ",
                f"flow I can run {why} to ", f"a one-off flow {why}: ", f"{who} want a button to ")  # fmt: skip
