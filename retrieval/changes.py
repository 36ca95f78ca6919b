"""Catalog changes: the one writer of tenants' catalogs, through the retriever that indexes and serves them.

Every change (create, replace, put or delete an entry, roll back) is checked as a whole catalog and
against the limits, indexed, committed as a new version (`flowgen.catalog.versions`), then served; a
refused or failed change leaves files, index and served catalog on the version before. Changes are
serialized by the catalog root's writer lock, and `if_match` refuses one made from a stale read (412).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from flowgen.catalog import Action, Catalog, Table
from flowgen.catalog.limits import CatalogLimits
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.names import check_tenant_name
from flowgen.catalog.store import CORE, checked, list_tenants, own_document, tenant_folder
from flowgen.catalog.versions import (
    CatalogVersion,
    VersionInfo,
    commit,
    create,
    read_version,
    record,
    version_numbers,
    writer_lock,
)
from flowgen.errors import CatalogError, StaleVersion, TenantExists, UnknownEntry

from .suggest import Retriever

EntryKind = Literal["table", "action"]


def _key(entry: Table | Action) -> str:
    return entry.name if isinstance(entry, Table) else entry.id


def _with(document: CatalogFile, entry: Table | Action) -> CatalogFile:
    section = "tables" if isinstance(entry, Table) else "actions"
    items = [i for i in getattr(document, section) if _key(i) != _key(entry)]
    return document.model_copy(update={section: [*items, entry]})


def _without(document: CatalogFile, kind: EntryKind, key: str) -> CatalogFile:
    section = "tables" if kind == "table" else "actions"
    items = getattr(document, section)
    if not any(_key(i) == key for i in items):
        raise UnknownEntry(f"the tenant's own catalog has no {kind} {key!r} (core entries cannot be deleted)")
    return document.model_copy(update={section: [i for i in items if _key(i) != key]})


def _info(version: CatalogVersion) -> VersionInfo:
    return VersionInfo.model_validate(version.model_dump(exclude={"catalog"}))


class CatalogChanges:
    def __init__(self, retriever: Retriever, limits: CatalogLimits) -> None:
        self.retriever = retriever
        self.root = retriever.catalog_root
        self.limits = limits

    def create(self, tenant: str, document: CatalogFile, author: str) -> VersionInfo:
        """Onboard a tenant from its whole catalog: visible only once checked, indexed and written."""
        check_tenant_name(tenant)
        with writer_lock(self.root):
            if tenant == CORE or tenant in list_tenants(self.root):
                raise TenantExists(f"tenant {tenant!r} exists: replace its catalog instead")
            first = record(1, author, "create", document)
            self.retriever.publish(self._checked(tenant, document), lambda: create(self.root, tenant, first))
        return _info(first)

    def replace(self, tenant: str, document: CatalogFile, author: str, if_match: int | None) -> VersionInfo:
        return self._change(tenant, author, if_match, "replace", lambda _: document)

    def put(self, tenant: str, entry: Table | Action, author: str, if_match: int | None) -> VersionInfo:
        kind = "table" if isinstance(entry, Table) else "action"
        return self._change(tenant, author, if_match, f"put {kind} {_key(entry)}", lambda doc: _with(doc, entry))

    def delete(self, tenant: str, kind: EntryKind, key: str, author: str, if_match: int | None) -> VersionInfo:
        """Refused (422, naming them) while other entries depend on it: the catalog would not check."""
        return self._change(tenant, author, if_match, f"delete {kind} {key}", lambda doc: _without(doc, kind, key))

    def rollback(self, tenant: str, version: int, author: str, if_match: int | None) -> VersionInfo:
        """A new version holding an old one's document: the history is never rewritten."""
        document = read_version(tenant_folder(tenant, self.root), version).catalog
        return self._change(tenant, author, if_match, f"rollback to {version}", lambda _: document)

    def export(self, tenant: str) -> tuple[int, CatalogFile]:
        """The tenant's own document and its version (what `replace` takes back)."""
        return own_document(tenant, self.root)

    def versions(self, tenant: str) -> list[VersionInfo]:
        folder = tenant_folder(tenant, self.root)
        return [_info(read_version(folder, n)) for n in version_numbers(folder)]

    def read(self, tenant: str, version: int) -> CatalogVersion:
        return read_version(tenant_folder(tenant, self.root), version)

    def _change(self, tenant: str, author: str, if_match: int | None, change: str,
                edit: Callable[[CatalogFile], CatalogFile]) -> VersionInfo:  # fmt: skip
        if tenant == CORE:
            raise CatalogError("the core catalog is read-only: change a tenant's catalog instead")
        with writer_lock(self.root):
            folder = tenant_folder(tenant, self.root)
            current, document = own_document(tenant, self.root)
            if if_match is not None and if_match != current:
                raise StaleVersion(f"the catalog is at version {current}, not {if_match}: read it again and redo "
                                   "the change on it")  # fmt: skip
            new = record(current + 1, author, change, edit(document))
            self.retriever.catalog(tenant)  # served before the change: what a failure puts back
            self.retriever.publish(self._checked(tenant, new.catalog), lambda: commit(folder, new))
        return _info(new)

    def _checked(self, tenant: str, document: CatalogFile) -> Catalog:
        self.limits.check(document)
        return checked(tenant, document, self.root)
