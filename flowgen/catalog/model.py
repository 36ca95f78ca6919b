"""Typed catalog: the paper's data layer (tables, trigger types, actions, flow logic) of one installation.

Catalog files are JSON documents shaped by `CatalogFile`; a tenant's files extend the core ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ColumnType = Literal[
    "string",
    "integer",
    "decimal",
    "boolean",
    "choice",
    "reference",
    "glide_date_time",
    "glide_date",
    "email",
    "journal",
    "currency",
    "url",
    "sys_id",
]

InputType = Literal[
    "table",  # a table name of the tenant's environment
    "conditions",  # an encoded query on the step's table
    "field_values",  # col=value pairs (joined by ^) on the step's table
    "record",  # a data pill to one record
    "records",  # a data pill to a list of records
    "reference",  # a record, user or group: a data pill or a sys_id / name
    "string",
    "choice",  # one of the input's `choices`
    "duration",  # e.g. "1 00:00:00" (days hh:mm:ss)
    "integer",
    "boolean",
    "datetime",
    "email",  # one or more addresses or data pills
    "variables",  # name=value pairs defining flow variables
]

OutputType = Literal[
    "record",  # one record of `table` (or of the table named by input `table_from`)
    "records",  # a list of records, iterable by for_each
    "count",
    "approval_state",
    "string",
    "boolean",
    "integer",
    "datetime",
    "variables",  # catalog variables of a requested item
]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Choice(BaseModel):
    model_config = _STRICT
    value: str
    label: str


class Column(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: ColumnType
    description: str = Field("", description="What the column holds, in the customer's words (indexed for retrieval).")
    reference: str | None = Field(None, description="Target table of a reference column.")
    choices: tuple[Choice, ...] = ()

    def stored_values(self) -> list[str]:
        """The values a choice or boolean column stores (`state=6`, `active=false`), never labels; none for others."""
        if self.type == "choice":
            return [c.value for c in self.choices]
        return ["true", "false"] if self.type == "boolean" else []


class Table(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str = ""
    extends: str | None = Field(None, description="Parent table whose columns this one inherits.")
    columns: tuple[Column, ...] = ()


class InputSpec(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: InputType
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()


class OutputSpec(BaseModel):
    model_config = _STRICT
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: OutputType
    description: str = ""
    table: str | None = Field(None, description="Fixed table of a record / records output.")
    table_from: str | None = Field(
        None, description="Name of the input whose value is the table of a record / records output."
    )


class StepSpec(BaseModel):
    """What trigger types, actions and flow-logic elements have in common."""

    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()

    def input(self, name: str) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output(self, name: str) -> OutputSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)

    def own_table(self) -> str | None:
        """The fixed table of its first record output: what its conditions are about where it has no table input
        (an inbound email trigger's condition queries `sys_email`)."""
        return next((out.table for out in self.outputs if out.type == "record" and out.table), None)


class TriggerType(StepSpec):
    category: Literal["record", "scheduled", "application", "none"] = "record"


class Action(StepSpec):
    category: str = "core"


class FlowLogic(StepSpec):
    """A flow-logic element's inputs and outputs; its role (block, loop, ...) is `flowgen.semantics.ELEMENTS`."""


class CatalogFile(BaseModel):
    """One catalog document on disk; any section may be empty."""

    model_config = ConfigDict(extra="forbid")
    tables: list[Table] = []
    triggers: list[TriggerType] = []
    actions: list[Action] = []
    flow_logic: list[FlowLogic] = []
