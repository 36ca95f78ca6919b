"""A Fluent project for ServiceNow's SDK from workflows of one tenant: `package.json`, `now.config.json`, one
`src/fluent/<key>.now.ts` per workflow, `src/fluent/actions.now.ts` (signature-only `Action(...)` declarations of
the actions with no `action.core` counterpart) and `@types/servicenow/tables.d.ts` (the tenant's tables that the
SDK does not ship, so that table names and dot-walks into them are type-checked)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from flowgen.catalog import Catalog
from flowgen.catalog.model import Action, Column, OutputSpec
from flowgen.workflow import Workflow
from interop.servicenow import SDK_ROOT
from interop.servicenow.definitions import Definitions, load_definitions
from interop.servicenow.fluent import FlowWriter, Origin, custom_actions, quoted
from interop.servicenow.mapping import Mapping, load_mapping

FLUENT = "src/fluent"


@dataclass
class Project:
    files: dict[str, str] = field(default_factory=dict)
    """Relative path -> text."""
    origins: dict[str, dict[int, Origin]] = field(default_factory=dict)
    """Per workflow file: line -> step and input, for tracing diagnostics back."""
    workflows: dict[str, str] = field(default_factory=dict)
    """Workflow key -> its file."""

    def write(self, out: Path) -> None:
        for path, text in self.files.items():
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def workflow_key(name: str) -> str:
    """An identifier for a workflow (its file and its `Now.ID` prefix) from a file stem or a title."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return key if key[:1].isalpha() else f"flow_{key}"


def export_project(workflows: dict[str, Workflow], catalog: Catalog, mapping: Mapping | None = None,
                   definitions: Definitions | None = None) -> Project:  # fmt: skip
    """The Fluent project of `workflows` (key -> workflow); raises ExportError naming the first step that ServiceNow
    cannot express."""
    mapping = mapping or load_mapping()
    definitions = definitions or load_definitions()
    project = Project()
    project.files["package.json"] = (SDK_ROOT / "package.json").read_text()
    scope_id = hashlib.sha256(f"flowgen/{catalog.tenant}".encode()).hexdigest()[:32]
    scope = f"x_flowgen_{catalog.tenant}"[:18]
    project.files["now.config.json"] = json.dumps(
        {"scope": scope, "scopeId": scope_id, "name": f"FlowGen {catalog.tenant}"}, indent=2
    ) + "\n"  # fmt: skip
    custom: set[str] = set()
    for key, workflow in workflows.items():
        written = FlowWriter(key, workflow, catalog, mapping, definitions).write()
        path = f"{FLUENT}/{key}.now.ts"
        project.files[path] = written.text
        project.origins[path] = written.origins
        project.workflows[key] = path
        custom |= custom_actions(workflow, catalog, mapping)
    if custom:
        project.files[f"{FLUENT}/actions.now.ts"] = action_declarations([catalog.actions[a] for a in sorted(custom)])
    missing = sorted(t for t in catalog.tables if t not in definitions.tables)
    if missing:
        project.files.update(table_declarations(catalog, missing))
    return project


def _column(name: str, kind: str, extra: str = "") -> str:
    return f"{kind}({{ label: {quoted(name)}{extra} }})"


def _output_column(output: OutputSpec) -> str:
    if output.type == "record" and output.table:
        return _column(output.name, "ReferenceColumn", f", referenceTable: {quoted(output.table)}")
    kind = {"count": "IntegerColumn", "integer": "IntegerColumn", "boolean": "BooleanColumn"}.get(output.type)
    return _column(output.name, kind or "StringColumn")


def action_declarations(actions: list[Action]) -> str:
    """Signature-only custom actions: inputs are text (values and pills as templates), outputs typed."""
    body, kinds = [], {"StringColumn"}
    for spec in actions:
        inputs = ", ".join(
            f"{i.name}: {_column(i.name, 'StringColumn', ', mandatory: true' if i.required else '')}"
            for i in spec.inputs
        )
        outputs = ", ".join(f"{o.name}: {_output_column(o)}" for o in spec.outputs)
        kinds |= {_output_column(o).split("(")[0] for o in spec.outputs}
        body.append(
            f"export const {spec.id} = Action({{\n    $id: Now.ID[{quoted('action_' + spec.id)}],\n"
            f"    name: {quoted(spec.label)},\n    inputs: {{ {inputs} }},\n    outputs: {{ {outputs} }},\n}})\n"
        )
    head = ("import { Action } from '@servicenow/sdk/automation'\n"
            f"import {{ {', '.join(sorted(kinds))} }} from '@servicenow/sdk/core'\n")  # fmt: skip
    return "\n".join([head, *body])


TABLES = "@types/servicenow/fluent"


def _schema_column(column: Column) -> str:
    if column.type == "reference" and column.reference:
        return _column(column.label, "ReferenceColumn", f", referenceTable: {quoted(column.reference)}")
    return _column(column.label, "StringColumn")


def table_declarations(catalog: Catalog, names: list[str]) -> dict[str, str]:
    """Tables as `now-sdk dependencies` downloads them (`<types>/fluent/global/data/table/<t>.d.now.ts` and the
    `tables.d.ts` that adds them to `Now.Internal.Tables`), so `table: 'incident_task'` and dot-walks into it
    type-check."""
    files, imports, schemas, tables = {}, [], [], []
    for name in names:
        table = catalog.tables[name]
        kinds = sorted({_schema_column(c).split("(")[0] for c in table.columns} | {"Table"})
        columns = "".join(f"\n        {c.name}: {_schema_column(c)}," for c in table.columns)
        parent = f"\n    extends: {quoted(table.extends)}," if table.extends else ""
        files[f"{TABLES}/global/data/table/{name}.d.now.ts"] = (
            f"import {{ {', '.join(kinds)} }} from '@servicenow/sdk/core'\n\n"
            f"export const {name} = Table({{\n    name: {quoted(name)},{parent}\n"
            f"    schema: {{{columns}\n    }},\n}})\n"
        )
        imports.append(f"import type {{ {name} }} from './global/data/table/{name}.d.now'")
        schemas.append(f"                interface {name} extends Helper<typeof {name}> {{}}")
        extends = f", '{table.extends}'" if table.extends else ""
        tables.append(f"                {name}: Table<TableSchemas.{name}{extends}>")
    files[f"{TABLES}/tables.d.ts"] = "\n".join([
        "import '@servicenow/sdk/global'", "import type { Table } from '@servicenow/sdk/core'", *imports, "",
        "declare global {", "    namespace Now {", "        namespace Internal {",
        "            namespace TableSchemas {", *schemas, "            }",
        "            interface Tables {", *tables, "            }",
        "        }", "    }", "}", "",
    ])  # fmt: skip
    return files
