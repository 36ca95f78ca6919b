"""Limits on a tenant's own catalog, so that one tenant's upload cannot exhaust what all tenants share
(the index, the outline grammar, memory). A catalog over a limit is refused as a whole, naming it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flowgen.catalog.model import CatalogFile
from flowgen.errors import CatalogLimitExceeded


class CatalogLimits(BaseModel):
    tables: int = Field(500, ge=1, description="Tables a tenant may add.")
    actions: int = Field(500, ge=1, description="Trigger types and actions a tenant may add.")
    columns_per_table: int = Field(300, ge=1)
    choices_per_column: int = Field(200, ge=1, description="Choices of one column or one choice input.")
    description_chars: int = Field(2000, ge=1, description="Length of one label or description.")

    def check(self, document: CatalogFile) -> None:
        """Raise CatalogLimitExceeded for the first limit the document passes."""
        steps = [*document.triggers, *document.actions]
        counted = [("tables", len(document.tables), "the catalog"), ("actions", len(steps), "the catalog")]
        texts: list[tuple[str, str]] = []
        for table in document.tables:
            counted.append(("columns_per_table", len(table.columns), f"table {table.name!r}"))
            texts += [(f"table {table.name!r}", table.label), (f"table {table.name!r}", table.description)]
            for column in table.columns:
                where = f"column {table.name}.{column.name}"
                counted.append(("choices_per_column", len(column.choices), where))
                texts += [
                    (where, column.label),
                    (where, column.description),
                    *((where, choice.label) for choice in column.choices),
                ]
        for step in steps:
            texts += [(f"step {step.id!r}", step.label), (f"step {step.id!r}", step.description)]
            for spec in step.inputs:
                counted.append(("choices_per_column", len(spec.choices), f"input {step.id}.{spec.name}"))
                texts.append((f"input {step.id}.{spec.name}", spec.description))
        counted += [("description_chars", len(text), where) for where, text in texts]
        for limit, count, where in counted:
            allowed = getattr(self, limit)
            if count > allowed:
                raise CatalogLimitExceeded(
                    f"{where}: {count} is over the limit {limit} = {allowed} "
                    f"(setting FLOWGEN_CATALOG_LIMITS__{limit.upper()})"
                )
