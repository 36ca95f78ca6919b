"""What the index holds: one document per trigger type, action, table, column and choice value.

Flow logic is not indexed: it is always available to the outline stage. Documents are tagged with
their owner ("core" or a tenant), so that one index serves every tenant. A column's description (a
customer's words for what it holds) is part of its text; inputs' descriptions are not part of a step's
text: the shipped embedder was trained on steps as label, description and input names, within 96 tokens,
and they reach the model in the stage-2 prompt instead.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict

from flowgen.catalog import Catalog
from flowgen.catalog.store import CORE

Kind = Literal["trigger", "action", "table", "column", "value"]
STEP_KINDS: tuple[Kind, ...] = ("trigger", "action")
_NAMESPACE = uuid.UUID("6f1c2b1e-6d1a-4c35-9b7e-2f0f6a9c1d42")


class Document(BaseModel):
    model_config = ConfigDict(frozen=True)
    owner: str
    kind: Kind
    key: str
    """Step id, table name, `table.column` or `table.column=value`."""
    text: str
    table: str | None = None
    column: str | None = None
    value: str | None = None

    @property
    def point_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.owner}/{self.kind}/{self.key}"))

    @property
    def group(self) -> str:
        """Which of the owner's collections holds it: steps, tables, columns or values."""
        return "steps" if self.kind in STEP_KINDS else f"{self.kind}s"


def step_text(label: str, description: str, inputs: list[str]) -> str:
    return f"{label}: {description}" + (f" (inputs: {', '.join(inputs)})" if inputs else "")


def documents(catalog: Catalog) -> list[Document]:
    """The documents a catalog contributes: the core catalog's, or only a tenant's own entries."""
    own = (lambda key: key not in catalog.tenant_ids) if catalog.tenant == CORE else catalog.tenant_ids.__contains__
    owner = catalog.tenant
    docs: list[Document] = []
    for trigger in catalog.triggers.values():
        if own(trigger.id):
            text = step_text(trigger.label, trigger.description, [i.name for i in trigger.inputs])
            docs.append(Document(owner=owner, kind="trigger", key=trigger.id, text=text))
    for action in catalog.actions.values():
        if own(action.id):
            text = step_text(action.label, action.description, [i.name for i in action.inputs])
            docs.append(Document(owner=owner, kind="action", key=action.id, text=text))
    for table in catalog.tables.values():
        if not own(table.name):
            continue
        docs.append(
            Document(owner=owner, kind="table", key=table.name, table=table.name,
                     text=f"{table.label} ({table.name}): {table.description}")
        )  # fmt: skip
        for column in catalog.columns(table.name).values():
            target = f", reference to {column.reference}" if column.reference else ""
            described = f": {column.description}" if column.description else ""
            text = f"{table.label} {column.label} ({column.name}, {column.type}{target}){described}"
            docs.append(
                Document(owner=owner, kind="column", key=f"{table.name}.{column.name}", table=table.name,
                         column=column.name, text=text)
            )  # fmt: skip
            for choice in column.choices:
                docs.append(
                    Document(owner=owner, kind="value", key=f"{table.name}.{column.name}={choice.value}",
                             table=table.name, column=column.name, value=choice.value,
                             text=f"{table.label} {column.label}: {choice.label} ({choice.value})")
                )  # fmt: skip
    return docs
