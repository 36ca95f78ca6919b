"""Catalog changes (issue 13): versions with who and when, one serialized crash-safe writer, If-Match,
limits, and files, index and served catalog always on one version."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flowgen.catalog import Action, Column, Table, list_tenants, load_catalog
from flowgen.catalog.limits import CatalogLimits
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.store import own_document
from flowgen.catalog.versions import version_numbers
from flowgen.errors import CatalogError, CatalogLimitExceeded, StaleVersion, TenantExists
from retrieval.changes import CatalogChanges
from retrieval.suggest import Retriever
from tests.catalog_fixtures import hashed_retriever, small_root

STORE = Table(name="u_store", label="Store", columns=(Column(name="city", label="City", type="string"),))
ORDER = Table(name="u_order", label="Order", columns=(
    Column(name="store", label="Store", type="reference", reference="u_store"),))  # fmt: skip


def action(number: int) -> Action:
    return Action(id=f"gift_{number}", label=f"Gift {number}", description=f"Send gift card number {number}.")


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    return hashed_retriever(small_root(tmp_path))


@pytest.fixture
def changes(retriever: Retriever) -> CatalogChanges:
    return CatalogChanges(retriever, CatalogLimits())


def indexed_steps(retriever: Retriever, tenant: str) -> set[str]:
    return {s.key for s in retriever.steps("gift card", tenant, k=500)} - {s.key for s in retriever.steps(
        "gift card", "core", k=500)}  # fmt: skip


def test_create_makes_a_tenant_visible_whole(changes: CatalogChanges, retriever: Retriever) -> None:
    document = CatalogFile(tables=[STORE, ORDER], actions=[action(1)])
    info = changes.create("bookshop", document, "admin")
    assert (info.version, info.author, info.change) == (1, "admin", "create")
    assert "bookshop" in list_tenants(changes.root)
    assert retriever.catalog("bookshop").tenant_ids == {"u_store", "u_order", "gift_1"}
    assert indexed_steps(retriever, "bookshop") == {"gift_1"}
    assert changes.export("bookshop") == (1, document)
    with pytest.raises(TenantExists):
        changes.create("bookshop", document, "admin")


def test_a_refused_onboarding_leaves_no_trace(changes: CatalogChanges) -> None:
    with pytest.raises(CatalogError, match="references unknown table 'u_store'"):
        changes.create("bookshop", CatalogFile(tables=[ORDER]), "admin")
    assert "bookshop" not in list_tenants(changes.root)
    assert sorted(p.name for p in (changes.root / "tenants").iterdir()) == [".lock", "retail"]


def test_twenty_concurrent_changes_keep_twenty_versions(changes: CatalogChanges) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: changes.put("retail", action(n), f"editor {n}", None), range(20)))
    history = changes.versions("retail")
    assert [v.version for v in history] == list(range(1, 21))
    assert sorted(v.author for v in history) == sorted(f"editor {n}" for n in range(20))
    assert {f"gift_{n}" for n in range(20)} <= set(load_catalog("retail", changes.root).actions)


def test_a_stale_if_match_is_refused_and_writes_nothing(changes: CatalogChanges) -> None:
    first = changes.put("retail", action(1), "a", if_match=0)
    with pytest.raises(StaleVersion, match="at version 1, not 0"):
        changes.put("retail", action(2), "b", if_match=0)
    assert version_numbers(changes.root / "tenants" / "retail") == [first.version]


def test_rollback_is_a_new_version_and_history_is_kept(changes: CatalogChanges, retriever: Retriever) -> None:
    changes.put("retail", action(1), "a", None)
    changes.put("retail", action(2), "a", None)
    info = changes.rollback("retail", 1, "b", if_match=2)
    assert (info.version, info.change) == (3, "rollback to 1")
    assert "gift_2" not in retriever.catalog("retail").actions and "gift_1" in retriever.catalog("retail").actions
    assert "gift_2" in changes.read("retail", 2).catalog.actions[-1].id


def test_a_delete_others_depend_on_is_refused_naming_them(changes: CatalogChanges) -> None:
    changes.replace("retail", CatalogFile(tables=[STORE, ORDER]), "a", None)
    with pytest.raises(CatalogError, match="u_order.store references unknown table 'u_store'"):
        changes.delete("retail", "table", "u_store", "a", None)
    changes.delete("retail", "table", "u_order", "a", None)
    assert "u_order" not in load_catalog("retail", changes.root).tables


def test_limits_are_422_naming_the_limit(retriever: Retriever) -> None:
    changes = CatalogChanges(retriever, CatalogLimits())
    wide = Table(name="u_wide", label="Wide", columns=tuple(Column(name=f"c{n}", label=f"C{n}", type="string")
                                                            for n in range(301)))  # fmt: skip
    with pytest.raises(CatalogLimitExceeded, match="table 'u_wide': 301 is over the limit columns_per_table = 300"):
        changes.put("retail", wide, "a", None)
    assert version_numbers(changes.root / "tenants" / "retail") == []


def test_a_failed_reindex_leaves_files_index_and_served_catalog_as_before(changes: CatalogChanges,
                                                                          retriever: Retriever) -> None:  # fmt: skip
    changes.put("retail", action(1), "a", None)
    retriever.index.embedder.fail = True  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="embedder crashed"):
        changes.put("retail", action(2), "a", None)
    retriever.index.embedder.fail = False  # type: ignore[attr-defined]
    assert own_document("retail", changes.root)[0] == 1
    assert "gift_2" not in retriever.catalog("retail").actions
    assert "gift_2" not in indexed_steps(retriever, "retail") and "gift_1" in indexed_steps(retriever, "retail")


def test_a_failed_commit_puts_the_index_back(changes: CatalogChanges, retriever: Retriever,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("retrieval.changes.commit", disk_full)
    with pytest.raises(OSError):
        changes.put("retail", action(3), "a", None)
    assert "gift_3" not in indexed_steps(retriever, "retail") and "gift_3" not in retriever.catalog("retail").actions


@pytest.mark.parametrize("crash_in", ["fsync", "link"])
def test_a_writer_killed_mid_write_leaves_the_old_version_or_the_new(tmp_path: Path, crash_in: str) -> None:
    root = small_root(tmp_path)
    script = textwrap.dedent(f"""
        import os, sys
        from flowgen.catalog.model import CatalogFile
        from flowgen.catalog.versions import commit, record
        from flowgen.catalog.store import own_document
        folder = sys.argv[1] + "/tenants/retail"
        version, document = own_document("retail", __import__("pathlib").Path(sys.argv[1]))
        commit(__import__("pathlib").Path(folder), record(1, "a", "first", document))
        real = os.{crash_in}
        def crash(*args):
            real(*args) if "{crash_in}" == "link" else None
            os._exit(9)  # killed in the middle of the second write
        os.{crash_in} = crash
        commit(__import__("pathlib").Path(folder), record(2, "a", "second", CatalogFile()))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(root)], cwd=Path(__file__).parents[2])
    assert done.returncode == 9
    expected = 1 if crash_in == "fsync" else 2  # before the link: the old version; after it: the new one, whole
    version, document = own_document("retail", root)
    assert version == expected
    assert load_catalog("retail", root).tenant == "retail"  # readable either way
    assert (document == CatalogFile()) == (expected == 2)
