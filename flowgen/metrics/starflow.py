"""FlowSim as ServiceNow's own StarFlow code computes it (`starvlm/dataset/metric/flow_similarity.py`), so that
our scores can be compared with ServiceNow's.

It differs from ours (spec section 3) in the tree and the costs: `flow -> trigger -> <type> -> inputs` and
`flow -> components -> <category>___<definition>___global -> inputs, child components`; container nodes (flow,
trigger, components, inputs, and condition / field-value input names) are free to insert or delete and are not
counted in a tree's size; relabelling a trigger type or a component costs 2; condition and field-value inputs are
decomposed into (field, operator, value) parts joined by logical operators, parts and operators sorted.
Similarity = 1 - TED / (|a| + |b|). Their quirks are kept on purpose (a query part they cannot split makes the
whole query one empty node; `OR` splits even inside words); the point is their number, not a better one.
"""

from __future__ import annotations

import re

from flowgen.metrics.flowsim import FREE, HEAVY, FlowSim, Node, Tree, postorder, tree_edit_distance
from flowgen.semantics import ELEMENTS
from flowgen.workflow import Input, Workflow

CONDITION_INPUTS = frozenset({"condition", "conditions", "email_conditions"})
VALUE_INPUTS = frozenset({"values", "fields", "field_values"})
FREE_LABELS = frozenset({"flow", "trigger", "components", "inputs", "outputs"}) | CONDITION_INPUTS | VALUE_INPUTS
TRIGGER_TYPES = frozenset({
    "record_create", "record_update", "record_create_or_update", "daily", "weekly", "monthly", "repeat", "run_once",
    "email", "sla_task", "service_catalog", "metric", "rest_async",
})  # fmt: skip
COMPONENT_PREFIXES = ("action", "flowlogic", "subflow")
# Our trigger ids that StarFlow (ServiceNow's trigger `type`) spells otherwise; the rest are the same.
TRIGGER_NAMES = {
    "scheduled_daily": "daily", "scheduled_weekly": "weekly", "scheduled_monthly": "monthly",
    "scheduled_repeat": "repeat", "inbound_email": "email",
}  # fmt: skip

LOGICAL = ("^EQ", "^OR", "^NQ", "^", "OR")
COMPARISON = (
    "VALCHANGES", "RELATIVEGT", "RELATIVEGE", "RELATIVELE", "RELATIVELT", "BETWEEN", "CHANGESTO", "CHANGESFROM",
    "EMPTYSTRING", "ISEMPTY", "ISNOTEMPTY", "STARTSWITH", "ENDSWITH", "SAMEAS", "NOTON", "NOT LIKE", "NOT IN",
    "LIKE", "NOT", "IN", "ON", "!=", ">=", "<=", "=", ">", "<",
)  # fmt: skip
_LOGICAL = re.compile("|".join(re.escape(op) for op in LOGICAL))
_COMPARISON = re.compile("(?<![A-Z=,])(" + "|".join(re.escape(op) for op in COMPARISON) + ")")


def _node(label: str, children: list[Node] | None = None) -> Node:
    free = label in FREE_LABELS or label == ""
    heavy = label in TRIGGER_TYPES or label.startswith(COMPONENT_PREFIXES)
    return Node(label, children, (FREE if free else 0) | (HEAVY if heavy else 0))


def _split(text: str, pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    found = pattern.findall(text)
    return [part for part in pattern.split(text) if part.strip() not in found], found


def query_tree(query: str) -> Node:
    """An encoded query as StarFlow decomposes it: one empty node when any part is not `field OP value`."""
    if query in ("^EQ", "a to z"):  # StarFlow's known exceptions
        return _node("")
    parts, logical = _split(query, _LOGICAL)
    terms: list[tuple[str, str, str]] = []
    for part in parts:
        sides, ops = _split(part, _COMPARISON)
        if len(sides) != 2 or len(ops) != 1:
            return _node("")
        terms.append((sides[0], ops[0], sides[1]))
    terms.sort(key=lambda term: term[0])
    logical.sort()

    def build(k: int) -> Node:
        field, op, value = terms[k]
        term = _node(field, [_node(op), _node(value)])
        return term if k == len(logical) else _node(logical[k], [term, build(k + 1)])

    return build(0)


def _inputs(inputs: list[Input], decompose: bool) -> Node:
    kids = []
    for inp in sorted(inputs, key=lambda i: i.name):
        if decompose and inp.name in CONDITION_INPUTS | VALUE_INPUTS:
            kids.append(_node(inp.name, [query_tree(inp.value)]))
        else:
            kids.append(_node(f"{inp.name}: {inp.value}"))
    return _node("inputs", kids)


def starflow_tree(workflow: Workflow, *, with_inputs: bool) -> Tree:
    """StarFlow's tree of a workflow (inputs decomposed when they are in it, as StarFlow scores them).

    A step whose `parent` is no earlier step is left out, as StarFlow leaves out a component whose `block`
    matches no component before it.
    """
    trigger = _node("trigger")
    if workflow.trigger is not None:
        kind = workflow.trigger.type
        trigger.children.append(_node(TRIGGER_NAMES.get(kind, kind)))
        if with_inputs:
            trigger.children[0].children.append(_inputs(workflow.trigger.inputs, True))
    nodes: dict[int, Node] = {}
    components = _node("components")
    for step in workflow.components:
        category = "flowlogic" if step.name in ELEMENTS else "action"
        definition = step.name.upper() if category == "flowlogic" else step.name
        node = _node(f"{category}___{definition}___global", [_inputs(step.inputs, True)] if with_inputs else [])
        holder = components if step.parent is None else nodes.get(step.parent)
        if holder is not None:
            holder.children.append(node)
        nodes.setdefault(step.step, node)
    return postorder(_node("flow", [trigger, components]))


def size(tree: Tree) -> int:
    """StarFlow's size: nodes whose label, up to its first colon, is not a container's (its `__len__`)."""
    return sum(1 for label in tree.labels if label.split(":")[0] not in FREE_LABELS)


def similarity(a: Tree, b: Tree) -> float:
    """100 * (1 - TED / (|a| + |b|)); two empty trees are equal."""
    total = size(a) + size(b)
    return 100.0 if total == 0 else 100.0 * (1.0 - tree_edit_distance(a, b) / total)


def starflow(generated: Workflow, expected: Workflow) -> FlowSim:
    return FlowSim(
        outline=similarity(starflow_tree(generated, with_inputs=False), starflow_tree(expected, with_inputs=False)),
        inputs=similarity(starflow_tree(generated, with_inputs=True), starflow_tree(expected, with_inputs=True)),
    )
