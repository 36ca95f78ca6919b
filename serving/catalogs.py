"""The service's catalog root: writable, because tenants add custom steps and tables through the API."""

from __future__ import annotations

import filecmp
import shutil
import uuid
from pathlib import Path

from flowgen.catalog.store import CORE, DEFAULT_ROOT, list_tenants
from flowgen.settings import Settings


def writable_root(settings: Settings) -> Path:
    """The configured catalog root; for the bundled one, a copy under the data folder.

    The copy's core follows the package (it is read-only through the API), replaced only when an upgrade changed
    it: another replica's start never rewrites it under running ones. A tenant folder is copied only once, so
    that its changes survive restarts and upgrades.
    """
    if settings.catalog_dir.resolve() != DEFAULT_ROOT.resolve():
        return settings.catalog_dir.resolve()
    root = settings.served_catalogs_dir.resolve()
    if not _same_files(DEFAULT_ROOT / CORE, root / CORE):
        _replace(DEFAULT_ROOT / CORE, root / CORE)
    for tenant in list_tenants(DEFAULT_ROOT):
        if not (root / "tenants" / tenant).is_dir():
            shutil.copytree(DEFAULT_ROOT / "tenants" / tenant, root / "tenants" / tenant)
    return root


def _same_files(a: Path, b: Path) -> bool:
    if not b.is_dir():
        return False
    names = sorted(p.name for p in a.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors and sorted(p.name for p in b.iterdir()) == names


def _replace(source: Path, target: Path) -> None:
    """Copy beside the target, then swap by two renames: a reader sees the old folder or the new one, never a
    half-written one (between the renames, for an instant, neither: this runs only after an upgrade)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}")
    shutil.copytree(source, fresh)
    old = target.with_name(f".{target.name}-old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
