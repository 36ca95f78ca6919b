"""The service's catalog root: writable, because tenants add custom steps and tables through the API."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowgen.catalog.store import CORE, DEFAULT_ROOT, list_tenants
from flowgen.settings import Settings


def writable_root(settings: Settings) -> Path:
    """The configured catalog root; for the bundled one, a copy under the data folder.

    The copy's core is refreshed from the package on every start (it is read-only through the API);
    a tenant folder is copied only once, so that its changes survive restarts and upgrades.
    """
    if settings.catalog_dir.resolve() != DEFAULT_ROOT.resolve():
        return settings.catalog_dir.resolve()
    root = settings.served_catalogs_dir.resolve()
    shutil.rmtree(root / CORE, ignore_errors=True)
    shutil.copytree(DEFAULT_ROOT / CORE, root / CORE)
    for tenant in list_tenants(DEFAULT_ROOT):
        if not (root / "tenants" / tenant).is_dir():
            shutil.copytree(DEFAULT_ROOT / "tenants" / tenant, root / "tenants" / tenant)
    return root
