"""The paper's data layer: what steps, tables, columns and values an installation has."""

from flowgen.catalog.model import Action, Column, FlowLogic, InputSpec, OutputSpec, Table, TriggerType
from flowgen.catalog.store import Catalog, list_tenants, load_catalog

__all__ = [
    "Action", "Catalog", "Column", "FlowLogic", "InputSpec", "OutputSpec", "Table", "TriggerType",
    "list_tenants", "load_catalog",
]  # fmt: skip
