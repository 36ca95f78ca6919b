"""Loading and querying catalogs: the core catalog plus, per tenant, its own tables and custom steps.

Layout on disk: `<root>/core/*.json` and `<root>/tenants/<tenant>/*.json`, each file a `CatalogFile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from flowgen.catalog.model import Action, CatalogFile, Column, FlowLogic, StepSpec, Table, TriggerType
from flowgen.catalog.names import check_tenant_name, is_tenant_name
from flowgen.catalog.versions import current_version, read_version
from flowgen.errors import CatalogError, CatalogUnavailable, UnknownTenantError
from flowgen.semantics import ELEMENTS

DEFAULT_ROOT = Path(__file__).parent / "data"
CORE = "core"


@dataclass(frozen=True)
class Catalog:
    """The resolved environment of one tenant (core entries included)."""

    tenant: str
    tables: dict[str, Table]
    triggers: dict[str, TriggerType]
    actions: dict[str, Action]
    flow_logic: dict[str, FlowLogic]
    tenant_ids: frozenset[str] = field(default_factory=frozenset)
    """Ids of tables, triggers and actions that the tenant added to the core catalog."""

    def step(self, name: str) -> Action | FlowLogic | None:
        return self.actions.get(name) or self.flow_logic.get(name)

    def lineage(self, table: str) -> list[Table]:
        """`table` and the tables it extends, nearest first (`incident`, `task`)."""
        chain: list[Table] = []
        current = self.tables.get(table)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.tables.get(current.extends) if current.extends else None
        return chain

    def columns(self, table: str) -> dict[str, Column]:
        """Columns of `table`, inherited ones included (as `incident` extends `task`)."""
        out: dict[str, Column] = {}
        for ancestor in reversed(self.lineage(table)):
            out.update({column.name: column for column in ancestor.columns})
        return out

    def related(self, one: str, other: str) -> bool:
        """Whether a record of one table can be a record of the other: the same table, or one extends the
        other (a `task` record may be an incident; an incident is a task)."""
        return any(t.name == other for t in self.lineage(one)) or any(t.name == one for t in self.lineage(other))

    def resolve_path(self, table: str, path: list[str]) -> tuple[Column | None, str | None]:
        """Follow a dot-walk (`caller_id.manager.email`) from `table`.

        Returns the last column, or None and the first name that does not exist.
        """
        column: Column | None = None
        current: str | None = table
        for name in path:
            if current is None:
                return None, name
            column = self.columns(current).get(name)
            if column is None:
                return None, name
            current = column.reference
        return column, None


def _tenant_folders(root: Path) -> dict[str, Path]:
    """The tenants' folders by name: only folders whose name is a tenant name (never "core")."""
    tenants_dir = root / "tenants"
    if not tenants_dir.is_dir():
        return {}
    return {p.name: p for p in tenants_dir.iterdir() if p.is_dir() and is_tenant_name(p.name) and p.name != CORE}


def list_tenants(root: Path = DEFAULT_ROOT) -> list[str]:
    return sorted(_tenant_folders(root))


def tenant_folder(tenant: str, root: Path) -> Path:
    """The folder of a known tenant, taken from the listing of the tenants folder (a name is never joined
    into a path): raises InvalidTenantName for a name that is no identifier, UnknownTenantError otherwise."""
    folder = _tenant_folders(root).get(check_tenant_name(tenant))
    if folder is None:
        raise UnknownTenantError(f"unknown tenant {tenant!r}: GET /v1/tenants (or `flowgen tenants list`) lists them")
    return folder


def load_catalog(tenant: str | None = None, root: Path = DEFAULT_ROOT) -> Catalog:
    """The catalog of `tenant` (None or "core": the core catalog alone); checked for consistency.

    A stored catalog that cannot be read or does not check is CatalogUnavailable: the caller cannot fix it.
    """
    return _load(check_tenant_name(CORE if tenant is None else tenant), root.resolve())


def forget_catalogs() -> None:
    """Drop loaded catalogs, so that the next load reads the files again (after a catalog change)."""
    _load.cache_clear()


@lru_cache(maxsize=64)
def _load(tenant: str, root: Path) -> Catalog:
    """Keyed by the checked name: one name, one folder, one cache entry."""
    folders = [root / CORE] if tenant == CORE else [root / CORE, tenant_folder(tenant, root)]
    layers = [_read_folder(folder, tenant) for folder in folders]
    try:
        catalog = _merge(tenant, layers)
        _check(catalog)
    except CatalogError as err:
        raise CatalogUnavailable(f"the stored catalog of tenant {tenant!r} does not check",
                                 f"{folders[-1]}: {err}") from err  # fmt: skip
    return catalog


def _read_folder(folder: Path, tenant: str) -> CatalogFile:
    """Core's files; a tenant's current version, or its files as installed."""
    number = current_version(folder)  # core has no versions: changed only by an upgrade
    if number:
        try:
            return read_version(folder, number).catalog
        except (OSError, ValidationError) as err:
            raise CatalogUnavailable(f"the stored catalog of tenant {tenant!r} cannot be read",
                                     f"{folder} version {number}: {err}") from err  # fmt: skip
    return _combine(list(_read_files(folder, tenant).values()))


def _read_files(folder: Path, tenant: str) -> dict[Path, CatalogFile]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise CatalogUnavailable(f"the stored catalog of tenant {tenant!r} cannot be read", f"{folder}: no *.json")
    parts = {}
    for path in files:
        try:
            parts[path] = CatalogFile.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as err:
            raise CatalogUnavailable(f"the stored catalog of tenant {tenant!r} cannot be read",
                                     f"{path}: not a valid catalog file: {err}") from err  # fmt: skip
    return parts


def _combine(parts: list[CatalogFile]) -> CatalogFile:
    merged = CatalogFile()
    for part in parts:
        merged.tables += part.tables
        merged.triggers += part.triggers
        merged.actions += part.actions
        merged.flow_logic += part.flow_logic
    return merged


def own_document(tenant: str, root: Path) -> tuple[int, CatalogFile]:
    """A tenant's own entries as one document, and its version (0: as installed, before any change)."""
    folder = tenant_folder(tenant, root.resolve())
    number = current_version(folder)
    if number:
        return number, read_version(folder, number).catalog
    return 0, _read_folder(folder, tenant)


def checked(tenant: str, document: CatalogFile, root: Path) -> Catalog:
    """The catalog that `document` would make for `tenant` over core; CatalogError (422) if it does not check."""
    if tenant == CORE:
        raise CatalogError("the core catalog is read-only: change a tenant's catalog instead")
    if document.flow_logic:
        raise CatalogError("flow logic is fixed by the workflow format: remove `flow_logic` from the document")
    catalog = _merge(tenant, [_read_folder(root.resolve() / CORE, CORE), document])
    _check(catalog)
    return catalog


def _merge(tenant: str, layers: list[CatalogFile]) -> Catalog:
    tables: dict[str, Table] = {}
    triggers: dict[str, TriggerType] = {}
    actions: dict[str, Action] = {}
    flow_logic: dict[str, FlowLogic] = {}
    added: set[str] = set()
    for depth, layer in enumerate(layers):
        for kind, items, target in (
            ("table", layer.tables, tables),
            ("trigger type", layer.triggers, triggers),
            ("action", layer.actions, actions),
            ("flow logic", layer.flow_logic, flow_logic),
        ):
            for item in items:
                key = item.name if isinstance(item, Table) else item.id
                if key in target:
                    raise CatalogError(f"tenant {tenant!r}: {kind} {key!r} is defined twice")
                target[key] = item
                if depth > 0:
                    added.add(key)
    clash = set(actions) & set(flow_logic)
    if clash:
        raise CatalogError(f"tenant {tenant!r}: action ids clash with flow logic: {sorted(clash)}")
    return Catalog(tenant, tables, triggers, actions, flow_logic, frozenset(added))


def _check(catalog: Catalog) -> None:
    """Reject a catalog whose entries point at things it does not have."""
    problems: list[str] = []
    if set(catalog.flow_logic) != set(ELEMENTS):  # their roles are the format's (flowgen.semantics)
        problems.append(f"flow logic must be exactly {sorted(ELEMENTS)}")
    for table in catalog.tables.values():
        if table.extends and table.extends not in catalog.tables:
            problems.append(f"table {table.name!r} extends unknown table {table.extends!r}")
        for column in table.columns:
            if column.type == "reference" and column.reference not in catalog.tables:
                problems.append(f"column {table.name}.{column.name} references unknown table {column.reference!r}")
            if column.type == "choice" and not column.choices:
                problems.append(f"choice column {table.name}.{column.name} has no choices")
    specs: list[StepSpec] = [*catalog.triggers.values(), *catalog.actions.values()]
    for spec in [*specs, *catalog.flow_logic.values()]:
        for inp in spec.inputs:
            if inp.type == "choice" and not inp.choices:
                problems.append(f"{spec.id}: choice input {inp.name!r} has no choices")
        for out in spec.outputs:
            if out.table and out.table not in catalog.tables:
                problems.append(f"{spec.id}: output {out.name!r} names unknown table {out.table!r}")
            if out.table_from and spec.input(out.table_from) is None:
                problems.append(f"{spec.id}: output {out.name!r} takes its table from missing input")
    if problems:
        raise CatalogError(f"catalog of tenant {catalog.tenant!r} is inconsistent:\n- " + "\n- ".join(problems))
