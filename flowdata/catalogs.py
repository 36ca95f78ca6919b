"""The catalogs the datasets are written on: the served ones (core and the ood tenants, held out) and the
training tenants (`flowdata/tenants/tenants/<name>/catalog.json`), domains only train ever sees.

Training tenants teach the model to use a tenant's own tables and custom steps, which the core catalog
has none of, without showing it any ood tenant. They are never served; the SFT data builder indexes them
in its own catalog root and Qdrant folder (`training_retrieval`).
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from flowgen.catalog import Catalog, load_catalog
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.store import CORE, DEFAULT_ROOT, checked, list_tenants
from flowgen.settings import Settings

TRAINING_TENANTS = Path(__file__).parent / "tenants"


def training_tenants() -> list[str]:
    return list(_training_names())


@lru_cache(maxsize=1)
def _training_names() -> tuple[str, ...]:
    """Listed once: `dataset_catalog` asks for every reference a build checks (thousands), and the folder is
    part of the source."""
    return tuple(list_tenants(TRAINING_TENANTS))


@lru_cache(maxsize=32)
def _training_catalog(tenant: str) -> Catalog:
    text = (TRAINING_TENANTS / "tenants" / tenant / "catalog.json").read_text(encoding="utf-8")
    return checked(tenant, CatalogFile.model_validate_json(text), DEFAULT_ROOT)


def dataset_catalog(tenant: str) -> Catalog:
    """The catalog of any tenant a reference names: a training tenant's own entries over the served core."""
    return _training_catalog(tenant) if tenant in _training_names() else load_catalog(tenant)


def training_retrieval(settings: Settings) -> Settings:
    """Settings whose catalog root holds core and the training tenants (train and dev use no other), with a
    local Qdrant folder of its own under the training folder: the retriever that builds SFT data sees every
    reference's tenant, and the served index never holds a training tenant."""
    root = settings.training_dir / "catalogs"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(settings.catalog_dir / CORE, root / CORE)
    shutil.copytree(TRAINING_TENANTS / "tenants", root / "tenants")
    retrieval = settings.retrieval.model_copy(update={"qdrant_url": None,
                                                      "qdrant_path": settings.training_dir / "qdrant"})  # fmt: skip
    return settings.model_copy(update={"catalog_dir": root, "retrieval": retrieval})
