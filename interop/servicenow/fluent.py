"""One workflow as Fluent code (`*.now.ts`) that ServiceNow's SDK builds: a `Flow` (or a `Subflow` when nothing
triggers it) whose trigger, actions and flow logic carry ServiceNow's names (`mapping.json`), and whose data
pills are `wfa.dataPill(...)` of the SDK's outputs. Every line that comes from a step or an input is recorded,
so that the SDK's diagnostics can be traced back to our step numbers and input names.

What the platform cannot express is an ExportError naming the step, never a silent drop.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from flowgen.catalog import Catalog
from flowgen.catalog.model import OutputSpec, StepSpec
from flowgen.errors import ClientError
from flowgen.expressions import PILL, Term, find_pills, parse_assignments, parse_query
from flowgen.workflow import Input, Step, Workflow
from interop.servicenow.definitions import Definitions
from interop.servicenow.mapping import InputMap, Mapping, StepMap

_IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")
_DURATION = re.compile(r"^(?:(\d+) )?(\d{1,2}):(\d{2}):(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_PILL_TYPES = {"record": "reference", "records": "records", "count": "integer", "integer": "integer",
               "boolean": "boolean", "datetime": "datetime", "approval_state": "choice"}  # fmt: skip
_COLUMN_PILL_TYPES = {"reference": "reference", "boolean": "boolean", "integer": "integer", "choice": "choice",
                      "glide_date_time": "glide_date_time", "glide_date": "glide_date"}  # fmt: skip


class ExportError(ClientError):
    """The workflow cannot be expressed on ServiceNow; the message names the step (or the trigger)."""

    status_code = 422


@dataclass(frozen=True)
class Origin:
    """Where a line of Fluent code comes from: a step (None: the trigger or the flow) and one of its inputs."""

    step: int | None
    input: str | None = None


@dataclass
class FluentFile:
    text: str
    origins: dict[int, Origin] = field(default_factory=dict)
    """1-based line -> the step and input it was written for."""


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _where(step: int | None) -> str:
    return "trigger" if step is None else f"step {step}"


def custom_actions(workflow: Workflow, catalog: Catalog, mapping: Mapping) -> set[str]:
    """The workflow's actions with no `action.core` counterpart (spokes, custom actions, the tenant's own): the
    project declares them by their signature (actions.now.ts), so that calls to them are checked too."""
    return {s.name for s in workflow.components if s.name in catalog.actions
            and (s.name not in mapping.actions or mapping.actions[s.name].sdk is None)}  # fmt: skip


class FlowWriter:
    """Writes one workflow as a Flow, or a Subflow when it has no trigger."""

    def __init__(self, key: str, workflow: Workflow, catalog: Catalog, mapping: Mapping,
                 definitions: Definitions) -> None:  # fmt: skip
        self.key, self.wf, self.catalog, self.mapping, self.definitions = key, workflow, catalog, mapping, definitions
        self.lines: list[str] = []
        self.origins: dict[int, Origin] = {}
        self.children: dict[int | None, list[Step]] = {}
        for step in workflow.components:
            self.children.setdefault(step.parent, []).append(step)
        self.used = self._used_sources()
        self.custom = custom_actions(workflow, catalog, mapping)

    # -- output --------------------------------------------------------------------------------

    def emit(self, depth: int, text: str, origin: Origin | None = None) -> None:
        self.lines.append("    " * depth + text)
        if origin is not None:
            self.origins[len(self.lines)] = origin

    def write(self) -> FluentFile:
        wf = self.wf
        name = quoted(wf.title or self.key)
        variables = self._flow_variables()
        core = any(s.name in self.catalog.actions and s.name not in self.custom for s in wf.components)
        names = ["Flow" if wf.trigger else "Subflow", "wfa", *(["action"] if core else []),
                 *(["trigger"] if wf.trigger else [])]  # fmt: skip
        self.emit(0, f"import {{ {', '.join(names)} }} from '@servicenow/sdk/automation'")
        if variables:
            self.emit(0, "import { StringColumn } from '@servicenow/sdk/core'")
        if self.custom:
            self.emit(0, f"import {{ {', '.join(sorted(self.custom))} }} from './actions.now'")
        self.emit(0, "")
        config = f"$id: Now.ID[{quoted(self.key)}], name: {name}"
        if variables:
            columns = ", ".join(f"{v}: StringColumn({{ label: {quoted(v)} }})" for v in variables)
            config += f", flowVariables: {{ {columns} }}"
        body_param = "params" if self.used & {"trigger", "flow_variables"} else "_params"
        if wf.trigger is None:
            self.emit(0, f"Subflow({{ {config}, inputs: {{}}, outputs: {{}} }}, ({body_param}) => {{", Origin(None))
        else:
            self.emit(0, f"Flow({{ {config} }},", Origin(None))
            self._trigger()
            self.emit(1, f"({body_param}) => {{")
        for step in self.children.get(None, []):
            self._step(step, 2 if wf.trigger else 1)
        self.emit(1 if wf.trigger else 0, "})" if wf.trigger is None else "},")
        if wf.trigger is not None:
            self.emit(0, ")")
        return FluentFile("\n".join([*self.lines, ""]), self.origins)

    # -- trigger and steps -----------------------------------------------------------------------

    def _trigger(self) -> None:
        trigger = self.wf.trigger
        assert trigger is not None
        entry = self.mapping.triggers.get(trigger.type)
        if entry is None or entry.sdk is None:
            raise ExportError(f"trigger: {trigger.type!r} has no ServiceNow trigger")
        meta = f"{{ $id: Now.ID[{quoted(self.key + '_trigger')}], annotation: {quoted(trigger.annotation)} }}"
        self.emit(1, f"wfa.trigger({entry.sdk}, {meta}, {{", Origin(None))
        self._inputs(None, self.catalog.triggers.get(trigger.type), entry, trigger.inputs, 2)
        self.emit(1, "}),")

    def _meta(self, step: Step, extra: str = "") -> str:
        return (f"{{ $id: Now.ID[{quoted(f'{self.key}_step_{step.step}')}], annotation: {quoted(step.annotation)}"
                f"{extra} }}")  # fmt: skip

    def _block(self, parent: Step, depth: int) -> None:
        for child in self.children.get(parent.step, []):
            self._step(child, depth)

    def _step(self, step: Step, depth: int) -> None:
        origin = Origin(step.step)
        values = {i.name: i.value for i in step.inputs}
        name = step.name
        if name in self.catalog.actions:
            self._action(step, depth)
        elif name in ("if", "else_if"):
            call = "if" if name == "if" else "elseIf"
            condition = self.render(step.step, "condition", values.get("condition", ""), "conditions")
            self.emit(depth, f"wfa.flowLogic.{call}({self._meta(step, f', condition: {condition}')}, () => {{",
                      Origin(step.step, "condition"))  # fmt: skip
            self._block(step, depth + 1)
            self.emit(depth, "})")
        elif name == "else":
            self.emit(depth, f"wfa.flowLogic.else({self._meta(step)}, () => {{", origin)
            self._block(step, depth + 1)
            self.emit(depth, "})")
        elif name == "for_each":
            items = self.render(step.step, "items", values.get("items", ""), "records", bare=True)
            item = f"step_{step.step}" if f"step_{step.step}" in self.used else f"_step_{step.step}"
            self.emit(depth, f"wfa.flowLogic.forEach({items}, {self._meta(step)}, ({item}) => {{",
                      Origin(step.step, "items"))  # fmt: skip
            self._block(step, depth + 1)
            self.emit(depth, "})")
        elif name == "parallel":
            self.emit(depth, f"wfa.flowLogic.doInParallel({self._meta(step)},", origin)
            for branch in self.children.get(step.step, []):
                self.emit(depth + 1, "() => {", Origin(branch.step))
                self._block(branch, depth + 2)
                self.emit(depth + 1, "},")
            self.emit(depth, ")")
        elif name == "try":
            self.emit(depth, f"wfa.flowLogic.tryCatch({self._meta(step)}, {{", origin)
            self.emit(depth + 1, "try: () => {", origin)
            self._block(step, depth + 2)
            self.emit(depth + 1, "},")
        elif name == "catch":
            self.emit(depth + 1, "catch: () => {", origin)
            self._block(step, depth + 2)
            self.emit(depth + 1, "},")
            self.emit(depth, "})")
        elif name == "set_flow_variables":
            self.emit(depth, f"wfa.flowLogic.setFlowVariables({self._meta(step)}, params.flowVariables, {{", origin)
            for pair in parse_assignments(values.get("variables", "")):
                if isinstance(pair, tuple):
                    value = self.render(step.step, "variables", pair[1], "string")
                    self.emit(depth + 1, f"{pair[0]}: {value},", Origin(step.step, "variables"))
            self.emit(depth, "})")
        elif name in ("exit_loop", "skip_iteration", "end_flow"):
            call = {"exit_loop": "exitLoop", "skip_iteration": "skipIteration", "end_flow": "endFlow"}[name]
            self.emit(depth, f"wfa.flowLogic.{call}({self._meta(step)})", origin)
        elif name == "wait_for_duration":
            duration = self.literal(step.step, "duration", values.get("duration", ""), "DurationColumn")
            extra = f", durationType: 'explicit_duration', duration: {duration}"
            self.emit(
                depth, f"wfa.flowLogic.waitForADuration({self._meta(step, extra)})", Origin(step.step, "duration")
            )
        else:
            entry = self.mapping.flow_logic.get(name)
            reason = entry.note if entry and entry.note else "no ServiceNow counterpart"
            raise ExportError(f"step {step.step}: {name!r} cannot be expressed on ServiceNow ({reason})")

    def _action(self, step: Step, depth: int) -> None:
        spec = self.catalog.actions[step.name]
        entry = self.mapping.actions.get(step.name)
        target = f"step_{step.step}"
        assign = f"const {target} = " if target in self.used else ""
        if step.name in self.custom:
            self.emit(depth, f"{assign}wfa.action({step.name}, {self._meta(step)}, {{", Origin(step.step))
            for inp in step.inputs:
                value = self.render(step.step, inp.name, inp.value, "string")
                self.emit(depth + 1, f"{inp.name}: {value},", Origin(step.step, inp.name))
        else:
            self.emit(depth, f"{assign}wfa.action({entry.sdk}, {self._meta(step)}, {{", Origin(step.step))
            self._inputs(step.step, spec, entry, step.inputs, depth + 1)
        self.emit(depth, "})")

    def _inputs(self, number: int | None, spec: StepSpec | None, entry: StepMap, inputs: list[Input],
                depth: int) -> None:  # fmt: skip
        given = {i.name: i.value for i in inputs}
        targets: dict[str, list[tuple[str, InputMap]]] = {}
        for inp in inputs:
            item = entry.inputs.get(inp.name)
            if item is None or (item.to is None and item.drop is None):
                why = item.mismatch if item and item.mismatch else "ServiceNow has no such input"
                raise ExportError(f"{_where(number)}: input {inp.name!r} cannot be expressed on ServiceNow ({why})")
            if item.static and PILL.search(inp.value):
                raise ExportError(
                    f"{_where(number)}: input {inp.name!r} takes no data pills on ServiceNow ({item.static})"
                )
            if item.to is not None:
                targets.setdefault(item.to, []).append((inp.name, item))
        for sdk_name, value in entry.fixed.items():
            self.emit(depth, f"{sdk_name}: {quoted(value)},", Origin(number))
        for sdk_name, items in targets.items():
            templated = [(name, item) for name, item in items if item.template]
            if templated:
                parts = [self._templated(number, spec, entry, given, name, item) for name, item in templated]
                value = self.render(number, templated[0][0], "^".join(parts), "string")
            else:
                name, item = items[0]
                raw = item.values.get(given[name], given[name])
                kind = spec.input(name).type if spec and spec.input(name) else "string"  # type: ignore[union-attr]
                value = self.literal(number, name, raw, self._sdk_kind(entry, sdk_name), kind)
            self.emit(depth, f"{_key(sdk_name)}: {value},", Origin(number, items[0][0]))

    def _templated(self, number: int | None, spec: StepSpec | None, entry: StepMap, given: dict[str, str],
                   name: str, item: InputMap) -> str:  # fmt: skip
        others = {}
        for other, other_item in entry.inputs.items():
            value = given.get(other, other_item.default or "")
            others[other] = other_item.values.get(value, value)
        # The value is an argument of format, never part of the template: its own braces (pills) stay as they are.
        return item.template.replace("{}", "{0}").format(given[name], **others) if item.template else given[name]

    def _sdk_kind(self, entry: StepMap, sdk_name: str) -> str:
        definitions = self.definitions
        definition = definitions.actions.get(entry.sdk or "") or definitions.triggers.get(entry.sdk or "")
        field_ = definition.inputs.get(sdk_name) if definition else None
        return field_.kind if field_ else "StringColumn"

    # -- values ----------------------------------------------------------------------------------

    def literal(self, number: int | None, name: str, raw: str, sdk_kind: str, kind: str = "string") -> str:
        """A value as the SDK input's kind takes it: numbers, booleans, Duration(...), Time(...), or text."""
        text = raw.strip()
        if not find_pills(text):
            if sdk_kind in ("IntegerColumn", "DayOfWeekColumn") and text.lstrip("-").isdigit():
                return str(int(text))
            if sdk_kind == "BooleanColumn" and text in ("true", "false"):
                return text
            if sdk_kind == "DurationColumn" and (match := _DURATION.match(text)):
                parts = dict(zip(("days", "hours", "minutes", "seconds"), (int(g or 0) for g in match.groups()),
                                 strict=True))  # fmt: skip
                fields = ", ".join(f"{k}: {v}" for k, v in parts.items() if v) or "seconds: 0"
                return f"Duration({{ {fields} }})"
            if sdk_kind == "TimeColumn" and (match := _TIME.match(text)):
                hours, minutes, seconds = (int(g or 0) for g in match.groups())
                return f"Time({{ hours: {hours}, minutes: {minutes}, seconds: {seconds} }})"
        pill_kind = {"record": "reference", "records": "records"}.get(kind)
        return self.render(number, name, raw, "string", bare=pill_kind is not None)

    def render(self, number: int | None, name: str, value: str, kind: str, *, bare: bool = False) -> str:
        """Text with data pills as a template literal; `bare`: a value that is exactly one pill stays a pill."""
        pills = find_pills(value)
        if bare and len(pills) == 1 and pills[0].text == value.strip():
            return self.pill(number, name, pills[0].text)
        if not pills:
            return quoted(value)
        if kind == "conditions":
            value = self._found_terms(number, name, value)
        out, last = [], 0
        for match in PILL.finditer(value):
            out.append(_escape(value[last : match.start()]))
            out.append("${" + self.pill(number, name, match.group(0)) + "}")
            last = match.end()
        out.append(_escape(value[last:]))
        return "`" + "".join(out) + "`"

    def _found_terms(self, number: int | None, name: str, query: str) -> str:
        """`{{step_N.found}}=true` (look_up_record) is `Record ISNOTEMPTY` on ServiceNow."""
        for term in parse_query(query):
            if isinstance(term, Term) and term.field.endswith(".found}}") and term.operator in ("=", "!="):
                found = (term.value.strip() == "true") == (term.operator == "=")
                record = term.field.replace(".found}}", ".record}}")
                query = query.replace(f"{term.field}{term.operator}{term.value}",
                                      f"{record}{'ISNOTEMPTY' if found else 'ISEMPTY'}", 1)  # fmt: skip
        return query

    def pill(self, number: int | None, name: str, text: str) -> str:
        """`{{source.output.path}}` as `wfa.dataPill(<expression>, '<type>')`."""
        pill = find_pills(text)[0]
        where = f"{_where(number)}: input {name!r}: {pill.text}"
        if pill.output is None:
            raise ExportError(f"{where} is not a data pill")
        path = "".join(f".{part}" for part in pill.path)
        if pill.source == "flow_variables":
            return f"wfa.dataPill(params.flowVariables.{pill.output}{path}, 'string')"
        trigger = self.wf.trigger
        if trigger is not None and pill.source == trigger.type:
            spec, entry, base = self.catalog.triggers.get(trigger.type), self.mapping.triggers[trigger.type], \
                "params.trigger"  # fmt: skip
            table_input = {i.name: i.value for i in trigger.inputs}
        else:
            step = next((s for s in self.wf.components if f"step_{s.step}" == pill.source), None)
            if step is None:
                raise ExportError(f"{where} names no step")
            if step.name == "for_each":
                return f"wfa.dataPill(step_{step.step}{path}, {quoted(self._item_type(step, pill.path))})"
            spec = self.catalog.step(step.name)
            entry = self.mapping.actions.get(step.name) or self.mapping.flow_logic.get(step.name)
            base = f"step_{step.step}"
            table_input = {i.name: i.value for i in step.inputs}
        output = spec.output(pill.output) if spec else None
        if output is None:
            raise ExportError(f"{where}: no such output")
        if entry is None or entry.sdk is None:
            sdk_output: str | None = pill.output
        else:
            item = entry.outputs.get(pill.output)
            sdk_output = item.to if item else None
            if sdk_output is None or (pill.output == "found" and item and item.mismatch):
                why = item.mismatch if item and item.mismatch else "ServiceNow has no such output"
                raise ExportError(f"{where} cannot be expressed on ServiceNow ({why})")
        access = "".join(f".{part}" if _IDENT.match(part) else f"[{quoted(part)}]" for part in sdk_output.split("."))
        table = output.table or (table_input.get(output.table_from) if output.table_from else None)
        return f"wfa.dataPill({base}{access}{path}, {quoted(self._type(output, table, pill.path))})"

    def _type(self, output: OutputSpec, table: str | None, path: tuple[str, ...]) -> str:
        if not path:
            return _PILL_TYPES.get(output.type, "string")
        column, _ = self.catalog.resolve_path(table, list(path)) if table else (None, None)
        return _COLUMN_PILL_TYPES.get(column.type, "string") if column else "string"

    def _item_type(self, step: Step, path: tuple[str, ...]) -> str:
        if not path:
            return "reference"
        items = find_pills(next((i.value for i in step.inputs if i.name == "items"), ""))
        table = None
        if items:
            source = next((s for s in self.wf.components if f"step_{s.step}" == items[0].source), None)
            if source is not None:
                table = {i.name: i.value for i in source.inputs}.get("table")
        column, _ = self.catalog.resolve_path(table, list(path)) if table else (None, None)
        return _COLUMN_PILL_TYPES.get(column.type, "string") if column else "string"

    # -- what the code needs declared --------------------------------------------------------------

    def _used_sources(self) -> set[str]:
        """Sources that pills name: `trigger`, `flow_variables`, `step_N`; only those get a name in the code."""
        used = set()
        trigger = self.wf.trigger
        for inp in [*(trigger.inputs if trigger else []), *(i for s in self.wf.components for i in s.inputs)]:
            for pill in find_pills(inp.value):
                used.add("trigger" if trigger and pill.source == trigger.type else pill.source)
        if any(s.name == "set_flow_variables" for s in self.wf.components):
            used.add("flow_variables")
        return used

    def _flow_variables(self) -> list[str]:
        names: list[str] = []
        for step in self.wf.components:
            if step.name == "set_flow_variables":
                for pair in parse_assignments(next((i.value for i in step.inputs if i.name == "variables"), "")):
                    if isinstance(pair, tuple) and pair[0] not in names:
                        names.append(pair[0])
        return names


def _key(name: str) -> str:
    return name if _IDENT.match(name) else quoted(name)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
