"""Words people use for the catalog's things, and the stock of names, messages and channels.

Every list is a set of alternatives the generator picks from; more alternatives give more varied
requirements. Tables without an entry here (tenant tables) are named from their catalog label.
"""

from __future__ import annotations

import random
import re

from flowgen import expressions
from flowgen.catalog import Catalog, Column

NOUNS: dict[str, tuple[str, ...]] = {
    "incident": ("incident", "ticket", "inc", "incident ticket", "issue"),
    "problem": ("problem", "problem record", "prb"),
    "change_request": ("change", "change request", "chg", "CR"),
    "change_task": ("change task", "chg task"),
    "incident_task": ("incident task", "inc task"),
    "problem_task": ("problem task",),
    "sc_request": ("request", "REQ", "service request"),
    "sc_req_item": ("requested item", "RITM", "request item", "catalog item request"),
    "sc_task": ("catalog task", "fulfillment task", "SCTASK"),
    "task": ("task", "work item"),
    "task_sla": ("SLA", "task SLA"),
    "sys_user": ("user", "employee", "person", "account"),
    "sys_user_group": ("group", "team", "assignment group"),
    "sys_user_grmember": ("group membership", "group member"),
    "cmdb_ci": ("CI", "configuration item"),
    "cmdb_ci_server": ("server",),
    "kb_knowledge": ("knowledge article", "KB article", "article"),
    "alm_asset": ("asset", "hardware asset"),
    "sysapproval_approver": ("approval", "approval record"),
}

# Tables that records flows are commonly about, with a weight.
SUBJECT_TABLES: dict[str, int] = {
    "incident": 10, "change_request": 5, "problem": 4, "sc_req_item": 4, "sc_task": 2, "incident_task": 2,
    "change_task": 2, "sys_user": 3, "kb_knowledge": 2, "cmdb_ci": 1, "alm_asset": 1, "sc_request": 1,
    "problem_task": 1,
}  # fmt: skip

GROUPS = (
    "Service Desk", "Network", "Database", "Hardware", "Software", "Help Desk", "CAB Approval",
    "Application Development", "IT Securities", "Openspace", "Incident Management", "Problem Solving",
)  # fmt: skip
CHANNELS = (
    "#major-incidents", "#it-ops", "#service-desk", "#change-management", "#alerts", "#noc", "#security",
    "#helpdesk", "#infra", "#on-call",
)  # fmt: skip
TEAMS = ("IT Operations", "Service Desk", "Change Advisory Board", "Infrastructure", "Security")
CATALOG_ITEMS: dict[str, tuple[str, ...]] = {
    "New Laptop": ("model", "justification", "delivery_location"),
    "Software Access": ("software_name", "license_type"),
    "VPN Access": ("access_level", "end_date"),
    "Mobile Phone": ("phone_model", "carrier"),
    "New Hire Onboarding": ("start_date", "department", "manager"),
    "Office Supplies": ("items", "quantity"),
    "Parking Permit": ("vehicle_plate", "building"),
    "Password Reset": ("account_name",),
    "Developer Laptop": ("os", "ram"),
    "Shared Mailbox": ("mailbox_name", "members"),
}
SLA_DEFINITIONS = (
    "Priority 1 resolution (1 hour)", "Priority 2 resolution (8 hour)", "Priority 1 response (15 minutes)",
    "Request fulfillment (3 days)", "Change implementation (5 days)",
)  # fmt: skip
NOTIFICATIONS = (
    "Incident Resolved", "Incident Assigned to Me", "Approval Request", "SLA Warning", "Change Approved",
    "Request Fulfilled", "Problem Closed", "Task Overdue",
)  # fmt: skip
EMAIL_SUBJECTS = (
    "password reset", "access request", "outage", "invoice", "urgent", "new hire", "vpn", "printer",
    "refund", "complaint", "unsubscribe", "delay", "cancel my order",
)  # fmt: skip
MAILBOXES = (
    "servicedesk@example.com", "help@ourco.com", "support@acme.com", "it-requests@corp.example",
    "facilities@ourco.com", "billing@example.com", "alerts@ourco.com",
)  # fmt: skip
EMAIL_SENDERS = ("a customer", "someone", "a user", "an employee", "a supplier", "a vendor")
RUNNERS = ("HR", "the service desk", "ops", "the team lead", "finance", "admins", "we")
ONE_OFF_REASONS = (
    "before audits", "for the year-end clean-up", "after the migration", "for the supplier recall",
    "after the outage", "at quarter end", "as a goodwill gesture", "for the office move",
)  # fmt: skip
MESSAGES = (
    "this needs attention", "escalated to the team lead", "auto-closed after no response",
    "waiting on the vendor", "please review and approve", "customer was contacted", "high priority item",
    "closing as duplicate", "reminder: this is overdue", "the record was updated automatically",
    "please pick this up today", "SLA is about to breach", "the user has left the company",
    "work has started", "approval was rejected", "see the attached details", "follow up with the caller",
    "new critical ticket", "resolved by automation", "no action needed",
)  # fmt: skip
TASK_DESCRIPTIONS = (
    "Review the request", "Order the hardware", "Set up the account", "Investigate root cause",
    "Contact the customer", "Update documentation", "Verify the fix", "Collect logs",
    "Schedule the deployment", "Check warranty status", "Prepare the equipment", "Notify facilities",
)  # fmt: skip

DYNAMIC_ME = f"DYNAMIC{expressions.DYNAMIC_ME}"


def noun(rng: random.Random, catalog: Catalog, table: str) -> str:
    if table in NOUNS:
        return rng.choice(NOUNS[table])
    label = catalog.tables[table].label
    return label if label.isupper() else label.lower()


def a(word: str) -> str:
    """The word with its indefinite article."""
    vowel = word[:1].lower() in "aeiou" and not word.lower().startswith(("us", "uni", "eu"))
    return ("an " if vowel and not word.isupper() else "a ") + word


def plural(word: str) -> str:
    if word.isupper() or word.endswith("s"):
        return word + "s" if word.isupper() else word
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("ch", "sh", "x")):
        return word + "es"
    return word + "s"


def column_phrase(column: Column) -> str:
    return column.label.lower()


def choice_phrase(rng: random.Random, column: Column, value: str) -> str:
    """How people name a stored choice value: by label, and for priorities also P1 / priority 1."""
    label = next(c.label for c in column.choices if c.value == value)
    if column.name == "priority":
        number = value
        return rng.choice((f"P{number}", f"priority {number}", f"p{number}", label.split(" - ")[-1].lower()))
    return label.lower()
