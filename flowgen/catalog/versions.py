"""A tenant's catalog as a history of immutable versions, written crash-safely by one writer at a time.

Layout: `<root>/tenants/<tenant>/versions/<n>.json`, each a `CatalogVersion` (the tenant's whole
document, who made it, when and why); the highest number is the current one. A tenant folder without
versions (as installed: its `*.json` files) is version 0. A new version is written under a unique
temporary name, fsynced, then linked to its final name, which fails if that name exists: the link is
the commit point, so a writer killed at any moment leaves the old version or the new one, and two
writers can never overwrite each other's version. A new tenant is staged in a hidden folder and renamed
into place whole. Writers are serialized by a lock per process and a file lock across processes.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from flowgen.catalog.model import CatalogFile
from flowgen.errors import StaleVersion, TenantExists, UnknownVersion

VERSIONS = "versions"
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class VersionInfo(BaseModel):
    version: int = Field(ge=0)
    author: str
    created_at: datetime
    change: str = Field(description="What the change did, e.g. `create`, `put table u_store`, `rollback to 3`.")


class CatalogVersion(VersionInfo):
    catalog: CatalogFile


def _name(version: int) -> str:
    return f"{version:06d}.json"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(folder: Path, record: CatalogVersion) -> None:
    """Write the record as `<folder>/<n>.json`: temporary file, fsync, link (never replaces a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(record.model_dump_json(indent=1, exclude_defaults=True).encode())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, folder / _name(record.version))
        except FileExistsError as err:
            raise StaleVersion(f"version {record.version} was written by another change: read it and retry") from err
    finally:
        os.unlink(tmp)
    _fsync_dir(folder)


def version_numbers(tenant_folder: Path) -> list[int]:
    folder = tenant_folder / VERSIONS
    names = folder.glob("[0-9]*.json") if folder.is_dir() else []
    return sorted(int(p.stem) for p in names if p.stem.isdigit())


def read_version(tenant_folder: Path, version: int) -> CatalogVersion:
    path = tenant_folder / VERSIONS / _name(version)
    if version not in version_numbers(tenant_folder):
        raise UnknownVersion(f"no version {version}: GET .../versions lists them")
    return CatalogVersion.model_validate_json(path.read_bytes())


def current_version(tenant_folder: Path) -> int:
    numbers = version_numbers(tenant_folder)
    return numbers[-1] if numbers else 0


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time per catalog root: threads of this process, and other processes (the CLI)."""
    root = root.resolve()
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(root, threading.Lock())
    with lock:
        (root / "tenants").mkdir(parents=True, exist_ok=True)
        with open(root / "tenants" / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def record(version: int, author: str, change: str, catalog: CatalogFile) -> CatalogVersion:
    return CatalogVersion(version=version, author=author, created_at=datetime.now(UTC), change=change,
                          catalog=catalog)  # fmt: skip


def commit(tenant_folder: Path, new: CatalogVersion) -> None:
    """Make `new` the tenant's current version (the previous one must be `new.version - 1`)."""
    _write_new(tenant_folder / VERSIONS, new)


def create(root: Path, tenant: str, first: CatalogVersion) -> Path:
    """A new tenant folder holding its first version, visible all at once (a folder renamed into place)."""
    tenants = root / "tenants"
    staging = tenants / f".new-{uuid.uuid4().hex}"
    _write_new(staging / VERSIONS, first)
    try:
        os.rename(staging, tenants / tenant)  # fails if the tenant exists: nothing is replaced
    except OSError as err:
        raise TenantExists(f"tenant {tenant!r} exists: replace its catalog instead") from err
    finally:
        if staging.exists():
            for path in (staging / VERSIONS).iterdir():
                path.unlink()
            (staging / VERSIONS).rmdir()
            staging.rmdir()
    _fsync_dir(tenants)
    return tenants / tenant
