"""ServiceNow's real definitions, read from the pinned SDK's sources in `node_modules`: the `action.core` actions,
the triggers and the tables it ships. They are what the mapping is checked against and what the export needs
to know (which tables to declare); nothing here is copied by hand.

The sources are TypeScript modules whose payload is one object literal per definition
(`export const lookUpRecords = Action({...})`); `literal.py` reads that subset.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from flowgen.errors import ServerError
from interop.servicenow import SDK_ROOT
from interop.servicenow.literal import Call, parse_literal

_STRICT = ConfigDict(extra="forbid", frozen=True)
_EXPORT = re.compile(r"export const (\w+)\s*=\s*(\w+)\(")
_IMPORT = re.compile(r"import \{ (\w+) \} from '\./([\w./-]+)'")


class Field(BaseModel):
    """One input or output of an action or trigger, or one column of a table."""

    model_config = _STRICT
    name: str
    kind: str
    """The SDK's column constructor: StringColumn, ConditionsColumn, TemplateValueColumn, ..."""
    mandatory: bool = False
    choices: tuple[str, ...] = ()
    reference: str | None = None


class Definition(BaseModel):
    model_config = _STRICT
    path: str
    """How Fluent code names it: `action.core.lookUpRecords`, `trigger.record.updated`."""
    sys_id: str
    label: str
    type: str | None = None
    """A trigger's type string (`record_update`, `daily`, `email`)."""
    inputs: dict[str, Field]
    outputs: dict[str, Field]


class TableSchema(BaseModel):
    model_config = _STRICT
    name: str
    extends: str | None
    columns: dict[str, Field]


class Definitions(BaseModel):
    model_config = _STRICT
    version: str
    actions: dict[str, Definition]
    triggers: dict[str, Definition]
    tables: dict[str, TableSchema]

    def columns(self, table: str) -> dict[str, Field]:
        """Columns of a shipped table, inherited ones included."""
        out: dict[str, Field] = {}
        chain: list[TableSchema] = []
        current = self.tables.get(table)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.tables.get(current.extends) if current.extends else None
        for schema in reversed(chain):
            out.update(schema.columns)
        return out


class SdkMissing(ServerError):
    """The SDK is not installed: `./dev` installs it (npm ci in interop/servicenow/sdk)."""

    status_code = 503


def _core(root: Path) -> Path:
    core = root / "node_modules" / "@servicenow" / "sdk-core"
    if not core.is_dir():
        raise SdkMissing(f"ServiceNow's SDK is not installed in {root}: run ./dev test (or npm ci there)")
    return core


@lru_cache(maxsize=4)
def load_definitions(root: Path = SDK_ROOT) -> Definitions:
    core = _core(root)
    built_ins = core / "src" / "external" / "flow" / "built-ins"
    return Definitions(
        version=json.loads((core / "package.json").read_text())["version"],
        actions=_registry(built_ins / "actions" / "index.ts", "action"),
        triggers=_registry(built_ins / "triggers" / "index.ts", "trigger"),
        tables=_tables(core / "src" / "fluent" / "tables"),
    )


def _registry(index: Path, root_name: str) -> dict[str, Definition]:
    """Every definition an index module exports under `root_name`, keyed by its Fluent path."""
    text = index.read_text()
    files = {name: index.parent / f"{module}.ts" for name, module in _IMPORT.findall(text)}
    tree = parse_literal(text[text.index(f"export const {root_name} = ") + len(f"export const {root_name} = ") :])
    out: dict[str, Definition] = {}

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, str) and node in files:
            out[path] = _definition(files[node], path)

    walk(tree, root_name)
    return out


def _definition(path: Path, fluent_path: str) -> Definition:
    text = path.read_text()
    match = _EXPORT.search(text)
    if match is None:
        raise ValueError(f"{path}: no exported definition")
    config = parse_literal(text[match.end() :])
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the definition is not an object literal")
    return Definition(
        path=fluent_path,
        sys_id=str(config["$id"]),
        label=str(config["name"]),
        type=config.get("type"),
        inputs=_fields(config.get("inputs", {})),
        outputs=_fields(config.get("outputs", {})),
    )


def _fields(section: dict) -> dict[str, Field]:
    out = {}
    for name, value in section.items():
        if not isinstance(value, Call):
            continue
        options = value.args[0] if value.args and isinstance(value.args[0], dict) else {}
        choices = options.get("choices", {})
        out[name] = Field(
            name=name,
            kind=value.name,
            mandatory=options.get("mandatory") is True,
            choices=tuple(choices) if isinstance(choices, dict) else (),
            reference=options.get("referenceTable"),
        )
    return out


def _tables(folder: Path) -> dict[str, TableSchema]:
    out = {}
    for path in sorted(folder.glob("*.now.ts")):
        text = path.read_text()
        match = _EXPORT.search(text)
        if match is None or match.group(2) != "Table":
            continue
        config = parse_literal(text[match.end() :])
        out[str(config["name"])] = TableSchema(
            name=str(config["name"]), extends=config.get("extends"), columns=_fields(config.get("schema", {}))
        )
    return out
