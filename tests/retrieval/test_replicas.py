"""Several retriever replicas on one catalog volume and one index (issue 13, item 4): what a Qdrant server and a
shared volume give a deployment with more than one retriever replica (deploy/gpu.yaml). One in-memory index stands
in for the server (no Qdrant server binary comes from the package registries); the code path is the same."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import retrieval.suggest
from flowgen.catalog import Column, Table
from flowgen.catalog.limits import CatalogLimits
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.store import CORE
from flowgen.settings import Settings
from retrieval.changes import CatalogChanges
from retrieval.suggest import Retriever
from serving.catalogs import writable_root
from tests.catalog_fixtures import hashed_retriever, small_root

STORE = Table(name="u_kiosk", label="Kiosk", columns=(Column(name="city", label="City", type="string"),))


def test_a_change_through_one_replica_is_served_by_the_others_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval.suggest, "REFRESH_S", 0.2)
    root = small_root(tmp_path)
    writer = hashed_retriever(root)
    other = Retriever(writer.index, root, root.parent)  # its own served catalogs, the shared index
    assert "u_kiosk" not in other.catalog("retail").tables
    changes = CatalogChanges(writer, CatalogLimits())
    changes.put("retail", STORE, "alice", None)
    changes.create("newco", CatalogFile(tables=[STORE]), "alice")
    time.sleep(0.3)
    assert "u_kiosk" in other.catalog("retail").tables
    assert other.columns("u_kiosk", "city", "retail", k=5)[0].column == "city"  # indexed once, by the writer
    assert "u_kiosk" in other.catalog("newco").tables
    changes.delete("retail", "table", "u_kiosk", "alice", None)
    time.sleep(0.3)
    assert "u_kiosk" not in other.catalog("retail").tables
    assert "u_kiosk" in other.catalog("newco").tables  # another tenant's entries are untouched


def test_a_replica_start_leaves_an_unchanged_core_in_place(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    core = writable_root(settings) / CORE
    files = sorted(core.glob("*.json"))
    for f in files:  # a mark that a rewrite (delete and copy, under running replicas) would lose
        os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    assert writable_root(settings) / CORE == core
    assert [f.stat().st_mtime_ns for f in files] == [1_000_000_000] * len(files)
    files[0].write_text("{}")  # a copy from an older release: replaced by the package's
    writable_root(settings)
    assert files[0].read_text() != "{}"
