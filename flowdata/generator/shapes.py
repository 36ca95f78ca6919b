"""Whole-workflow shapes: trigger plus body, each returning the requirement's segments."""

from __future__ import annotations

from collections.abc import Callable

from flowgen.catalog import Column

from . import lexicon as lx
from .draft import Clause, Draft, Record, Segment
from .patterns import (
    _choice_columns,
    act_chat,
    act_email,
    act_log,
    act_on_record,
    actions_on_record,
    condition,
    pick,
    weighted,
)
from .style import join_actions, with_trigger
from .triggers import (
    DEACTIVATED,
    catalog_trigger,
    email_trigger,
    no_trigger_prefix,
    record_trigger,
    scheduled_trigger,
    sla_trigger,
)

Shape = Callable[[Draft, list[str]], list[Segment]]


def subject_table(d: Draft, tables: list[str]) -> str:
    return d.rng.choice(tables)


def related(d: Draft, table: str) -> list[tuple[str, Column]]:
    """Tables with a reference column pointing at `table` (incident_task.incident -> incident)."""
    out = []
    for name in sorted(d.catalog.tables):
        for col in d.catalog.columns(name).values():
            if col.reference == table and name != table and col.name not in ("sys_created_by", "sys_updated_by"):
                out.append((name, col))
    return out


def lookup_loop(d: Draft, owner: Record | None, table: str, parent: int | None = None) -> list[Segment]:
    """look_up_records -> for_each -> action(s) on each item; phrased explicitly or implicitly."""
    rng = d.rng
    links = related(d, owner.table) if owner else []
    if owner and links and rng.random() < 0.6:
        table, col = rng.choice(links)
        n = lx.plural(lx.noun(rng, d.catalog, table))
        query = f"{col.name}={owner.pill}"
        phrase = pick(rng, f"{n} where {col.label.lower()} is the {owner.noun}", f"its {n}", f"the {owner.noun}'s {n}",
                      f"all {n} linked to it", f"the related {n}")  # fmt: skip
        if rng.random() < 0.4:
            extra, extra_query = condition(d, table)
            phrase, query = f"{phrase} {extra}", f"{query}^{extra_query}"
    else:
        n = lx.plural(lx.noun(rng, d.catalog, table))
        cond, query = condition(d, table, rng.choice((1, 1, 2, 3)))
        phrase = f"{n} {cond}"
    implicit = rng.random() < 0.3
    look = d.add("look_up_records", Clause(""), parent, table=table, conditions=query)
    loop = d.add("for_each", Clause(""), parent, items=d.pill(look, "records"))
    item = Record(table, d.pill(loop, "item"), lx.noun(rng, d.catalog, table), pick(rng, "them", "each one", "it"))
    if implicit:
        # "close all its incident tasks": one clause implies the look up, the loop and the action.
        body = act_on_record(d, Record(item.table, item.pill, item.noun, f"all {phrase}"), loop)
        d.steps[look - 1].clause = d.steps[loop - 1].clause = body[0]
        d.tags.add("implicit_action")
        return body
    find = Clause(pick(rng, f"find all {phrase}", f"look up the {phrase}", f"get every {phrase[:-1] if phrase.endswith('s') else phrase}",
                       f"fetch {phrase}", f"grab all {phrase}", f"query {phrase}"))  # fmt: skip
    each = Clause(pick(rng, "for each of them", "for each one", "loop through them", "for every record found",
                       f"for each {item.noun}", "and for each"))  # fmt: skip
    d.steps[look - 1].clause, d.steps[loop - 1].clause = find, each
    return [
        find,
        pick(rng, ", ", " and ", " - ", "; "),
        each,
        pick(rng, " ", ", ", ": "),
        *actions_on_record(d, item, loop),
    ]


# Columns through which a user or a group owns records, with how people say it ("{n}" the records).
OWNER_LINKS: dict[str, tuple[int, tuple[str, ...]]] = {
    "assigned_to": (6, ("{n} assigned to them", "their {n}", "{n} assigned to the {o}", "{n} where they are the assignee",
                        "the {n} they own", "{n} assigned to that {o}")),
    "assignment_group": (5, ("{n} assigned to the group", "the group's {n}", "{n} of that {o}", "{n} the {o} works on",
                             "{n} where the assignment group is the {o}")),
    "opened_by": (2, ("{n} they opened", "{n} opened by them", "{n} the {o} opened")),
    "caller_id": (2, ("{n} they reported", "{n} where they are the caller", "{n} raised by the {o}")),
    "requested_for": (2, ("{n} requested for them", "{n} for that {o}")),
    "owned_by": (1, ("{n} owned by them", "the {n} the {o} owns")),
    "managed_by": (1, ("{n} managed by them",)),
    "support_group": (1, ("{n} supported by the group", "{n} with the {o} as support group")),
    "author": (1, ("{n} they wrote", "{n} authored by the {o}")),
}  # fmt: skip
OWNERS = {"sys_user": 3, "sys_user_group": 2}


def _owner_trigger(d: Draft, owner: str) -> tuple[list[Segment], Record]:
    """The owner's trigger: a deactivation most often (who leaves hands over their work), else any."""
    rng = d.rng
    if "active" in d.catalog.columns(owner) and rng.random() < 0.6:
        n = lx.noun(rng, d.catalog, owner)
        text = pick(rng, f"every time {lx.a(n)} becomes inactive", f"when {lx.a(n)} is deactivated", f"{n} deactivated",
                    f"{n} goes inactive", f"on {n} deactivation", f"whenever {lx.a(n)} gets set to inactive",
                    f"if {lx.a(n)} is made inactive", f"{n} inactive")  # fmt: skip
        d.set_trigger("record_update", Clause(text), table=owner, condition=DEACTIVATED)
        return [d.trigger_clause], Record(owner, "{{record_update.current}}", n, "them")
    return record_trigger(d, owner)


def _owner_update(d: Draft, owner: Record, item: Record, parent: int) -> list[Segment] | None:
    """An update of each owned record that hands it to someone the owner names (their manager, parent group)."""
    rng = d.rng
    cols = d.catalog.columns(item.table)
    options = []
    if "assigned_to" in cols and d.catalog.resolve_path(owner.table, ["manager"])[1] is None:
        whose = "their" if owner.table == "sys_user" else f"the {owner.noun}'s"
        options.append((f"assigned_to={owner.field('manager')}",
                        (f"assign {item.pronoun} to {whose} manager", f"reassign {item.pronoun} to {whose} manager",
                         f"hand {item.pronoun} over to {whose} manager", f"give {item.pronoun} to {whose} manager",
                         f"set the assignee of {item.pronoun} to {whose} manager")))  # fmt: skip
    if "assignment_group" in cols and d.catalog.resolve_path(owner.table, ["parent"])[1] is None:
        options.append((f"assignment_group={owner.field('parent')}",
                        (f"move {item.pronoun} to the parent group", f"reassign {item.pronoun} to the group's parent group")))  # fmt: skip
    if not options:
        return None
    values, phrases = rng.choice(options)
    clause = Clause(pick(rng, *phrases))
    d.add("update_record", clause, parent, record=item.pill, table=item.table, field_values=values)
    return [clause]


def shape_owner_loop(d: Draft, tables: list[str]) -> list[Segment]:
    """A user or group changes; find the records it owns and act on each ("reassign their incidents to their manager")."""
    rng = d.rng
    owner_table = weighted(rng, {t: w for t, w in OWNERS.items() if t in d.catalog.tables})
    links = [(t, c) for t, c in related(d, owner_table) if c.name in OWNER_LINKS]
    pool = [(t, c) for t, c in links if t in tables] or links  # the flows' usual tables where the owner has some
    table, col = rng.choices(pool, weights=[OWNER_LINKS[c.name][0] for _, c in pool])[0]
    trig, owner = _owner_trigger(d, owner_table)
    n = lx.plural(lx.noun(rng, d.catalog, table))
    query = f"{col.name}={owner.pill}"
    extra = rng.random()
    if extra < 0.25 and "active" in d.catalog.columns(table):
        n, query = f"{pick(rng, 'open', 'active')} {n}", f"{query}^active=true"
    phrase = pick(rng, *OWNER_LINKS[col.name][1]).format(n=n, o=owner.noun)
    if extra > 0.65:
        more, more_query = condition(d, table)
        phrase, query = f"{phrase} {more}", f"{query}^{more_query}"
    look = d.add("look_up_records", Clause(""), None, table=table, conditions=query)
    loop = d.add("for_each", Clause(""), None, items=d.pill(look, "records"))
    item_noun = lx.noun(rng, d.catalog, table)
    if rng.random() < 0.4:
        # "reassign all incidents assigned to them to their manager": one clause for the look up, loop and update.
        body = _owner_update(d, owner, Record(table, d.pill(loop, "item"), item_noun, f"all {phrase}"), loop)
        if body:
            d.steps[look - 1].clause = d.steps[loop - 1].clause = body[0]
            d.tags.add("implicit_action")
            return with_trigger(rng, trig, body)
    find = Clause(pick(rng, f"find all {phrase}", f"look up {phrase}", f"get {phrase}", f"find {phrase}",
                       f"query the {phrase}", f"grab {phrase}"))  # fmt: skip
    each = Clause(
        pick(rng, "for each", "for each of them", "loop over them", f"for each {item_noun}", "and for each one")
    )
    d.steps[look - 1].clause, d.steps[loop - 1].clause = find, each
    item = Record(table, d.pill(loop, "item"), item_noun, pick(rng, "them", "it", "each one"))
    action = (_owner_update(d, owner, item, loop) if rng.random() < 0.6 else None) or act_on_record(d, item, loop)
    body = [find, pick(rng, ", ", " and ", "; ", " - "), each, pick(rng, " ", ", ", ": "), *action]
    if rng.random() < 0.25 and d.trigger_inputs.get("condition") != DEACTIVATED:  # not "... set it inactive"
        about = Record(owner.table, owner.pill, owner.noun, f"the {owner.noun}")
        body = join_actions(rng, [body, act_on_record(d, about, None)])
    return with_trigger(rng, trig, body)


def _bulk_values(d: Draft, table: str) -> tuple[str, str] | None:
    """What a bulk update sets on every matching record: a choice value or deactivation, with its phrase."""
    rng = d.rng
    cols = _choice_columns(d, table)
    if cols and (rng.random() < 0.7 or "active" not in d.catalog.columns(table)):
        col = rng.choice(cols)
        value = rng.choice(col.choices).value
        return f"{col.name}={value}", f"{lx.column_phrase(col)} {lx.choice_phrase(rng, col, value)}"
    return ("active=false", "inactive") if "active" in d.catalog.columns(table) else None


def shape_bulk(d: Draft, tables: list[str]) -> list[Segment]:
    """One step changes or removes every matching record: a clean-up ("purge ... older than 90 days"), a mass update,
    or the trigger's related records ("close all its tasks") without a loop."""
    rng = d.rng
    owner = None
    form = rng.random()
    if form < 0.3:
        candidates = [t for t in tables if [link for link in related(d, t) if link[0] in tables or rng.random() < 0.2]]
        trig, owner = record_trigger(d, rng.choice(candidates or tables))
    elif form < 0.8:
        trig = scheduled_trigger(d)
    else:
        trig = []
    links = (
        [link for link in related(d, owner.table) if link[1].name in OWNER_LINKS or link[0] in tables] if owner else []
    )
    if links:
        table, col = rng.choice(links)
        n = lx.plural(lx.noun(rng, d.catalog, table))
        phrase = pick(rng, f"all its {n}", f"the {owner.noun}'s {n}", f"every {lx.noun(rng, d.catalog, table)} linked to it",
                      f"all related {n}")  # fmt: skip
        query = f"{col.name}={owner.pill}"
    else:
        table = subject_table(d, tables)
        n = lx.plural(lx.noun(rng, d.catalog, table))
        cond, query = condition(d, table, rng.choice((1, 1, 2)))
        phrase = f"{pick(rng, 'all ', '', 'the ')}{n} {cond}"
    values = _bulk_values(d, table)
    if values is None or rng.random() < 0.4:
        clause = Clause(pick(rng, f"delete {phrase}", f"purge {phrase}", f"clean up {phrase}", f"remove {phrase}",
                             f"bulk delete {phrase}", f"get rid of {phrase}"))  # fmt: skip
        d.add("delete_multiple_records", clause, None, table=table, conditions=query)
    else:
        field_values, value = values
        clause = Clause(pick(rng, f"set {phrase} to {value}", f"mass update {phrase} to {value}",
                             f"bulk update {phrase}: {value}", f"mark {phrase} as {value}", f"change {phrase} to {value} in one go"))  # fmt: skip
        d.add("update_multiple_records", clause, None, table=table, conditions=query, field_values=field_values)
    body: list[Segment] = [clause]
    if rng.random() < 0.3:
        body = join_actions(rng, [body, act_log(d, Record(table, "", n, "them"), None)])
    if not trig:
        return [no_trigger_prefix(d), *body]
    return with_trigger(rng, trig, body)


def shape_simple(d: Draft, tables: list[str]) -> list[Segment]:
    trig, rec = record_trigger(d, subject_table(d, tables))
    used: set = set()
    actions = [act_on_record(d, rec, None, used) for _ in range(d.rng.choice((1, 1, 2, 2, 3)))]
    return with_trigger(d.rng, trig, join_actions(d.rng, actions))


def shape_loop(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    form = rng.random()
    if form < 0.45:
        trig, rec = record_trigger(d, subject_table(d, tables))
        body = [lookup_loop(d, rec, subject_table(d, tables))]
        if rng.random() < 0.3:
            body.append(act_on_record(d, rec, None))
        return with_trigger(rng, trig, join_actions(rng, body))
    if form < 0.75:
        trig = scheduled_trigger(d)
        return with_trigger(rng, trig, lookup_loop(d, None, subject_table(d, tables)))
    prefix = no_trigger_prefix(d)
    return [prefix, *lookup_loop(d, None, subject_table(d, tables))]


def shape_branch(d: Draft, tables: list[str]) -> list[Segment]:
    trig, rec = record_trigger(d, subject_table(d, [t for t in tables if _choice_columns(d, t)]))
    return with_trigger(d.rng, trig, branches(d, rec))


ROUTE_JOINTS = (" -> ", ": ", " => ", " - ", " -> ")


def branches(d: Draft, rec: Record) -> list[Segment]:
    """if / else if / else on one choice column of `rec`, one or two actions in each; written as sentences ("if it's
    P1 ...; otherwise ...") or, as people write routing rules, as a list ("P1 -> ... . P2: ... . Anything else, ...")."""
    rng = d.rng
    col = rng.choice(_choice_columns(d, rec.table))
    values = rng.sample([c.value for c in col.choices], k=min(len(col.choices), rng.choice((1, 2, 2, 3))))
    routing = rng.random() < 0.35
    parts: list[Segment] = []
    field = rec.field(col.name)
    for i, value in enumerate(values):
        phrase = lx.choice_phrase(rng, col, value)
        name = "if" if i == 0 else "else_if"
        if routing:
            test = Clause(pick(rng, phrase, f"{phrase} ones", f"{lx.column_phrase(col)} {phrase}", f"if {phrase}"))
            joint, sep = rng.choice(ROUTE_JOINTS), pick(rng, ". ", "; ", "\n", ". ")
        else:
            test = Clause(pick(rng, f"if it's {phrase}", f"if the {lx.column_phrase(col)} is {phrase}", f"when it is {phrase}",
                               f"for {phrase} ones") if i == 0 else pick(rng, f"if it's {phrase} instead", f"else if {phrase}",
                               f"for {phrase}", f"when {lx.column_phrase(col)} is {phrase}"))  # fmt: skip
            joint, sep = pick(rng, " ", ", ", " then ", ": "), ". "
        block = d.add(name, test, None, condition=f"{field}={value}")
        parts += [(sep if i else ""), test, joint, *actions_on_record(d, rec, block)]
    if rng.random() < (0.75 if routing else 0.6):
        other = Clause(pick(rng, "anything else", "everything else", "all others", "the rest", "otherwise") if routing
                       else pick(rng, "otherwise", "else", "in all other cases", "if not"))  # fmt: skip
        block = d.add("else", other, None)
        joint = pick(rng, ", ", " -> ", ": ") if routing else pick(rng, " ", ", ", " just ")
        parts += [pick(rng, ". ", ", ", "; "), other, joint, *actions_on_record(d, rec, block)]
    return parts


def shape_parallel(d: Draft, tables: list[str]) -> list[Segment]:
    trig, rec = record_trigger(d, subject_table(d, tables))
    return with_trigger(d.rng, trig, parallel(d, rec))


COUNTS = {2: "two", 3: "three"}


def parallel(d: Draft, rec: Record) -> list[Segment]:
    """Two or three actions on `rec` at the same time, announced first ("in parallel: ...", "do three things at once:
    ...") or after them ("... and ..., all in parallel")."""
    rng = d.rng
    count = rng.choice((2, 2, 3))
    intro = Clause(pick(rng, "at the same time", "in parallel", "simultaneously", "all at once", "concurrently",
                        f"do {COUNTS[count]} things in parallel", f"{COUNTS[count]} things at once"))  # fmt: skip
    par = d.add("parallel", intro, None)
    parts: list[list[Segment]] = []
    for _ in range(count):
        start = len(d.steps)
        branch = d.add("branch", Clause(""), par)
        body = act_on_record(d, rec, branch)
        d.steps[start].clause = body[0]
        parts.append(body)
    if rng.random() < 0.25:
        return [*join_actions(rng, parts), pick(rng, ", ", " ", " - "), intro]
    return [intro, pick(rng, ", ", " ", ": "), *join_actions(rng, parts)]


def shape_try(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig, rec = record_trigger(d, subject_table(d, tables))
    attempt = Clause(pick(rng, "try to", "attempt to", "try and"))
    block = d.add("try", attempt, None)
    action = act_on_record(d, rec, block)
    failed = Clause(
        pick(rng, "if that fails", "if it errors", "on failure", "if anything goes wrong", "in case of an error")
    )
    catch = d.add("catch", failed, None)
    handler = rng.choice((act_log, act_chat, act_email))(d, rec, catch)
    return with_trigger(
        rng, trig, [attempt, " ", *action, pick(rng, ", ", "; ", ". "), failed, pick(rng, " ", ", "), *handler]
    )


def shape_approval(d: Draft, tables: list[str]) -> list[Segment]:
    approvable = [t for t in tables if "approval" in d.catalog.columns(t) or t in ("change_request", "sc_req_item")]
    trig, rec = record_trigger(d, d.rng.choice(approvable or tables))
    return with_trigger(d.rng, trig, approval(d, rec))


def approval(d: Draft, rec: Record) -> list[Segment]:
    """Ask someone to approve `rec`, then one or two actions if approved and, mostly, if rejected."""
    rng = d.rng
    manager = d.catalog.resolve_path(rec.table, ["assigned_to", "manager"])[1] is None
    if manager and rng.random() < 0.5:
        who, approvers = pick(rng, "the assignee's manager", "their manager"), rec.field("assigned_to.manager")
    else:
        group = rng.choice(lx.GROUPS)
        who, approvers = f"the {group} group", group
    ask = Clause(pick(rng, f"ask {who} for approval", f"get approval from {who}", f"send it to {who} to approve",
                      f"request approval from {who}", f"it needs {who} to sign off", f"{who} has to approve"))  # fmt: skip
    step = d.add("ask_for_approval", ask, None, record=rec.pill, table=rec.table, approvers=approvers)
    approved = Clause(pick(rng, "if approved", "once approved", "if they approve", "when it's approved", "approved"))
    block = d.add("if", approved, None, condition=f"{d.pill(step, 'approval_state')}=approved")
    joint = ": " if approved.text == "approved" else pick(rng, " ", ", ")
    parts: list[Segment] = [ask, pick(rng, ". ", ", ", "; "), approved, joint, *actions_on_record(d, rec, block)]
    if rng.random() < 0.7:
        rejected = Clause(pick(rng, "if rejected", "otherwise", "if they reject it", "if not", "rejected"))
        block = d.add("else", rejected, None)
        joint = ": " if rejected.text == "rejected" else pick(rng, " ", ", ")
        parts += [pick(rng, ", ", ". ", "; "), rejected, joint, *actions_on_record(d, rec, block)]
    return parts


def shape_catalog(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig, item, variables = catalog_trigger(d)
    ritm = Record("sc_req_item", "{{service_catalog.requested_item}}", pick(rng, "request", "RITM", "requested item"))
    chosen = rng.sample(variables, k=rng.randint(1, len(variables)))
    get = Clause(pick(rng, f"get the {' and '.join(v.replace('_', ' ') for v in chosen)} from the form",
                      f"read the catalog variables ({', '.join(chosen)})", f"grab the {', '.join(v.replace('_', ' ') for v in chosen)} variables"))  # fmt: skip
    d.add("get_catalog_variables", get, None, requested_item=ritm.pill, catalog_item=item, variables=",".join(chosen))
    parts: list[list[Segment]] = [[get]]
    if rng.random() < 0.6:
        ask = Clause(pick(rng, "ask the requester's manager to approve", "get manager approval",
                          "send it to the requested for user's manager for approval"))  # fmt: skip
        step = d.add("ask_for_approval", ask, None, record=ritm.pill, table="sc_req_item",
                     approvers="{{service_catalog.requested_item.requested_for.manager}}")  # fmt: skip
        approved = Clause(pick(rng, "if approved", "once it's approved", "if the manager approves"))
        block = d.add("if", approved, None, condition=f"{d.pill(step, 'approval_state')}=approved")
        task = _catalog_task(d, ritm, block)
        parts.append([ask, pick(rng, ", ", "; "), approved, " ", *task])
    else:
        parts.append(_catalog_task(d, ritm, None))
    if rng.random() < 0.4:
        parts.append(act_email(d, ritm, None))
    return with_trigger(rng, trig, join_actions(rng, parts))


def _catalog_task(d: Draft, ritm: Record, parent: int | None) -> list[Segment]:
    desc = d.rng.choice(lx.TASK_DESCRIPTIONS)
    group = d.rng.choice(lx.GROUPS)
    with_group = d.rng.random() < 0.5
    clause = Clause(pick(d.rng, f"create a catalog task '{desc}'", f"open a fulfillment task to {desc.lower()}",
                         f"make an SCTASK: {desc}") + (f" for the {group} group" if with_group else ""))  # fmt: skip
    d.add("create_catalog_task", clause, parent, requested_item=ritm.pill, short_description=desc,
          assignment_group=group if with_group else "")  # fmt: skip
    return [clause]


def shape_sla(d: Draft, tables: list[str]) -> list[Segment]:
    trig = sla_trigger(d)
    rec = Record(
        "task", "{{sla_task.task}}", pick(d.rng, "task", "ticket"), pick(d.rng, "the task", "it", "the ticket")
    )
    used: set = set()
    actions = [act_on_record(d, rec, None, used) for _ in range(d.rng.choice((1, 2, 2)))]
    return with_trigger(d.rng, trig, join_actions(d.rng, actions))


def shape_email(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig = email_trigger(d)
    senders = [t for t in tables if _sender_match(d, t)]
    if senders and rng.random() < 0.6:
        return with_trigger(rng, trig, _sender_record(d, rng.choice(senders)))
    create = Clause(pick(rng, "create an incident from it", "open a ticket with the email subject",
                         "log an incident for the sender", "turn it into an incident"))  # fmt: skip
    step = d.add("create_record", create, None, table="incident",
                 field_values="short_description={{inbound_email.subject}}^description={{inbound_email.body_text}}"
                 "^caller_id={{inbound_email.user}}")  # fmt: skip
    if rng.random() < 0.3:
        return with_trigger(rng, trig, [create])
    rec = Record("incident", d.pill(step, "record"), "incident")
    reply = Clause(pick(rng, "reply to the sender with the incident number", "email the sender back with the ticket number",
                        "let the sender know the number"))  # fmt: skip
    d.add("send_email", reply, None, to="{{inbound_email.from_address}}", subject="We received your email",
          body=f"Your incident is {rec.field('number')}")  # fmt: skip
    return with_trigger(rng, trig, join_actions(rng, [[create], [reply]]))


SENDER_COLUMNS = ("caller_id", "requested_for", "opened_by", "employee", "user")  # whose record it is


def _sender_match(d: Draft, table: str) -> tuple[str, str] | None:
    """How a record of `table` is found from an email's sender: its email column, or its user column and the
    sender's user (with the words for it)."""
    cols = d.catalog.columns(table)
    email = next((c.name for c in cols.values() if c.type == "email"), None)
    if email:
        return f"{email}={{{{inbound_email.from_address}}}}", "email"
    users = [c for c in cols.values() if c.reference == "sys_user" and not c.name.startswith("sys_")]
    user = min(users, key=lambda c: (c.name not in SENDER_COLUMNS, c.name), default=None)
    return (f"{user.name}={{{{inbound_email.user}}}}", user.label.lower()) if user else None


def _sender_record(d: Draft, table: str) -> list[Segment]:
    """The record the email is about, found from its sender ("match the sender to a policyholder"), then one or two
    actions on it, and sometimes the email attached to it, as the hand-written email flows do."""
    rng = d.rng
    query, said = _sender_match(d, table)  # type: ignore[misc]
    n = lx.noun(rng, d.catalog, table)
    find = Clause(pick(rng, f"match the sender to {lx.a(n)}", f"find the {n} by the sender's email", f"look up the sender's {n}",
                       f"find the {n} whose {said} is the sender") if said == "email" else
                  pick(rng, f"find the sender's {n}", f"look up the {n} where the sender is the {said}",
                       f"get the {n} of whoever sent it"))  # fmt: skip
    step = d.add("look_up_record", find, None, table=table, conditions=query)
    rec = Record(table, d.pill(step, "record"), n, pick(rng, "it", f"the {n}", "them"))
    parts: list[Segment] = [find, pick(rng, ", ", " and ", ", then ", ". ")]
    if rng.random() < 0.35:
        attach = Clause(pick(rng, "attach the email to it", f"link the email to the {n}", "associate the mail with it"))
        d.add("associate_record_to_email", attach, None, email="{{inbound_email.inbound_email}}", record=rec.pill,
              table=table)  # fmt: skip
        parts += [attach, pick(rng, ", ", " and ", ", then ")]
    return parts + actions_on_record(d, rec, None)


def shape_wait(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig, rec = record_trigger(d, subject_table(d, [t for t in tables if _choice_columns(d, t)]))
    choices = _choice_columns(d, rec.table)
    col = rng.choice(choices)
    value = rng.choice(col.choices).value
    phrase = lx.choice_phrase(rng, col, value)
    hours = rng.choice((1, 2, 4, 12, 24))
    if rng.random() < 0.5:
        until = Clause(pick(rng, f"wait until it is {phrase}", f"hold until the {rec.noun} is {phrase}",
                            f"wait for it to become {phrase}"))  # fmt: skip
        d.add("wait_for_condition", until, None, record=rec.pill, table=rec.table, conditions=f"{col.name}={value}")
        parts: list[Segment] = [until]
    else:
        loop = Clause(pick(rng, f"keep checking every {hours} hours until it is {phrase}",
                           f"check every {hours}h until the {rec.noun} is {phrase}"))  # fmt: skip
        block = d.add("do_until", loop, None)
        d.add("wait_for_duration", loop, block, duration=f"0 {hours:02d}:00:00" if hours < 24 else "1 00:00:00")
        look = d.add("look_up_record", loop, block, table=rec.table, conditions=f"sys_id={rec.field('sys_id')}")
        d.steps[block - 1].inputs["condition"] = f"{d.pill(look, 'record')[:-2]}.{col.name}}}}}={value}"
        parts = [loop]
    after = act_on_record(d, rec, None)
    return with_trigger(rng, trig, [*parts, pick(rng, ", then ", " and then ", ". After that "), *after])


def shape_scheduled_count(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig = scheduled_trigger(d)
    table = subject_table(d, tables)
    n = lx.plural(lx.noun(rng, d.catalog, table))
    cond, query = condition(d, table, rng.choice((1, 2)))
    count = Clause(pick(rng, f"count the {n} {cond}", f"check how many {n} are {cond}", f"count {n} {cond}"))
    step = d.add("count_records", count, None, table=table, conditions=query)
    any_found = Clause(pick(rng, "if there are any", "if the count is above zero", "if any exist"))
    block = d.add("if", any_found, None, condition=f"{d.pill(step, 'count')}>0")
    rec = Record(table, "", n)
    handler = rng.choice((act_chat, act_log))(d, rec, block)
    return with_trigger(rng, trig, [count, pick(rng, ", ", " and "), any_found, " ", *handler])


def shape_skip(d: Draft, tables: list[str]) -> list[Segment]:
    """A loop that skips or stops on some items."""
    rng = d.rng
    trig = scheduled_trigger(d)
    table = subject_table(d, tables)
    cols = _choice_columns(d, table)
    if not cols:
        return with_trigger(rng, trig, lookup_loop(d, None, table))
    n = lx.plural(lx.noun(rng, d.catalog, table))
    cond, query = condition(d, table)
    find = Clause(pick(rng, f"go through all {n} {cond}", f"loop over the {n} {cond}"))
    look = d.add("look_up_records", find, None, table=table, conditions=query)
    loop = d.add("for_each", find, None, items=d.pill(look, "records"))
    col = rng.choice(cols)
    value = rng.choice(col.choices).value
    item = Record(table, d.pill(loop, "item"), lx.noun(rng, d.catalog, table), "it")
    stop = rng.random() < 0.4
    check = Clause(pick(rng, f"skip any that are {lx.choice_phrase(rng, col, value)}", f"ignore the {lx.choice_phrase(rng, col, value)} ones")
                   if not stop else f"stop as soon as one is {lx.choice_phrase(rng, col, value)}")  # fmt: skip
    block = d.add("if", check, loop, condition=f"{item.field(col.name)}={value}")
    d.add("exit_loop" if stop else "skip_iteration", check, block)
    rest = act_on_record(d, item, loop)
    return with_trigger(rng, trig, [find, pick(rng, ", ", "; "), check, pick(rng, ", ", ", otherwise "), *rest])


def shape_variables(d: Draft, tables: list[str]) -> list[Segment]:
    rng = d.rng
    trig, rec = record_trigger(d, subject_table(d, tables))
    group = rng.choice(lx.GROUPS)
    remember = Clause(
        pick(
            rng,
            f"remember {group} as the escalation group",
            f"store '{group}' in a flow variable called escalation_group",
        )
    )
    d.add("set_flow_variables", remember, None, variables=f"escalation_group={group}")
    if "assignment_group" not in d.catalog.columns(rec.table):
        return with_trigger(rng, trig, [remember, ", ", *act_on_record(d, rec, None)])
    assign = Clause(pick(rng, "assign it to that group", "route it to the escalation group"))
    d.add("update_record", assign, None, record=rec.pill, table=rec.table,
          field_values="assignment_group={{flow_variables.escalation_group}}")  # fmt: skip
    return with_trigger(rng, trig, [remember, pick(rng, " and ", ", then "), assign])


def shape_compound(d: Draft, tables: list[str]) -> list[Segment]:
    """A longer request with several outcomes, as people write them: an action or two, then a branch, an approval or
    a parallel block with its own actions, then often a closing action ("..., then log that the alert went out")."""
    rng = d.rng
    trig, rec = record_trigger(d, subject_table(d, tables))
    used: set = set()
    parts = [act_on_record(d, rec, None, used) for _ in range(rng.choice((0, 1, 1, 2)))]
    blocks = {approval: 2, parallel: 2} | ({branches: 3} if _choice_columns(d, rec.table) else {})
    block = weighted(rng, blocks)
    parts.append(block(d, rec))  # type: ignore[operator]
    if rng.random() < 0.5:
        parts.append(act_on_record(d, rec, None, used))
    return with_trigger(rng, trig, join_actions(rng, parts))


SHAPES: dict[Shape, int] = {
    shape_simple: 14, shape_loop: 12, shape_branch: 8, shape_parallel: 5, shape_try: 4, shape_approval: 5,
    shape_catalog: 5, shape_sla: 3, shape_email: 5, shape_wait: 3, shape_scheduled_count: 3, shape_skip: 2,
    shape_variables: 2, shape_owner_loop: 4, shape_bulk: 3, shape_compound: 10,
}  # fmt: skip
