from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowgen.catalog import Action, Catalog, Column, InputSpec, Table, load_catalog
from flowgen.catalog.store import DEFAULT_ROOT, put_entry
from flowgen.errors import CatalogError, CatalogUnavailable, UnknownTenantError

ITSM_TABLES = [
    "incident", "problem", "change_request", "sc_request", "sc_req_item", "sc_task", "task", "task_sla",
    "sys_user", "sys_user_group", "sys_user_grmember", "cmdb_ci", "kb_knowledge", "incident_task",
]  # fmt: skip
TRIGGERS = [
    "record_create", "record_update", "record_create_or_update", "scheduled_daily", "scheduled_weekly",
    "scheduled_monthly", "run_once", "service_catalog", "sla_task", "inbound_email",
]  # fmt: skip


def test_core_catalog_is_an_itsm_platform(core: Catalog) -> None:
    assert set(ITSM_TABLES) <= set(core.tables)
    assert set(TRIGGERS) <= set(core.triggers)
    assert len(core.actions) >= 30
    incident = core.columns("incident")
    assert incident["assigned_to"].reference == "sys_user"  # inherited from task
    assert {c.value for c in incident["state"].choices} >= {"1", "2", "3", "6", "7", "8"}  # incident's own states
    column, missing = core.resolve_path("incident", ["caller_id", "manager", "email"])
    assert missing is None and column is not None and column.type == "email"


def test_unknown_tenant_is_a_clear_error() -> None:
    with pytest.raises(UnknownTenantError, match="unknown tenant 'atlantis'"):
        load_catalog("atlantis")


def copy_root(tmp_path: Path) -> Path:
    root = tmp_path / "catalogs"
    shutil.copytree(DEFAULT_ROOT / "core", root / "core")
    return root


def test_tenant_extends_core(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    (root / "tenants" / "bank").mkdir(parents=True)
    (root / "tenants" / "bank" / "catalog.json").write_text(
        json.dumps(
            {
                "tables": [{"name": "u_card", "label": "Card", "columns": [
                    {"name": "holder", "label": "Holder", "type": "reference", "reference": "sys_user"}]}],
                "actions": [{"id": "freeze_card", "label": "Freeze card", "description": "Block a card.",
                             "inputs": [{"name": "card", "type": "record", "required": True}]}],
            }
        )
    )  # fmt: skip
    bank = load_catalog("bank", root)
    assert "u_card" in bank.tables and "incident" in bank.tables
    assert "freeze_card" in bank.actions and bank.tenant_ids == {"u_card", "freeze_card"}
    assert "freeze_card" not in load_catalog("core", root).actions


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tables": [{"name": "Bad Name", "label": "x"}]}, "not a valid catalog file"),
        ({"tables": [{"name": "u_x", "label": "x", "columns": [
            {"name": "owner", "label": "Owner", "type": "reference", "reference": "nowhere"}]}]},
         "references unknown table 'nowhere'"),
        ({"actions": [{"id": "log", "label": "Log again", "description": "dup"}]}, "action 'log' is defined twice"),
    ],
)  # fmt: skip
def test_bad_stored_catalog_is_a_server_error_whose_detail_says_why(tmp_path: Path, document: dict,
                                                                     message: str) -> None:  # fmt: skip
    root = copy_root(tmp_path)
    (root / "tenants" / "broken").mkdir(parents=True)
    (root / "tenants" / "broken" / "catalog.json").write_text(json.dumps(document))
    with pytest.raises(CatalogUnavailable, match="stored catalog of tenant 'broken'") as caught:
        load_catalog("broken", root)
    assert message in caught.value.detail and str(root) not in str(caught.value)  # the path is for the log only


def test_put_entry_adds_and_changes_only_valid_entries(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    shutil.copytree(DEFAULT_ROOT / "tenants" / "retail", root / "tenants" / "retail")
    bundled = (root / "tenants" / "retail" / "catalog.json").read_text()
    step = Action(id="notify_store", label="Notify store", description="Tell a store manager about an order.",
                  inputs=(InputSpec(name="store", type="reference", required=True),))  # fmt: skip
    assert "notify_store" in put_entry("retail", root, step).actions
    assert "notify_store" in load_catalog("retail", root).actions  # read again from disk
    assert "notify_store" in json.loads((root / "tenants" / "retail" / "custom.json").read_text())["actions"][0]["id"]

    renamed = Table.model_validate({**load_catalog("retail", root).tables["u_store"].model_dump(), "label": "Shop"})
    assert put_entry("retail", root, renamed).tables["u_store"].label == "Shop"
    assert "Shop" in (root / "tenants" / "retail" / "catalog.json").read_text()  # changed where it is defined

    before = {p.name: p.read_text() for p in (root / "tenants" / "retail").iterdir()}
    dangling = Table(
        name="u_bad", label="Bad", columns=(Column(name="x", label="X", type="reference", reference="nowhere"),)
    )
    with pytest.raises(CatalogError, match="references unknown table 'nowhere'"):
        put_entry("retail", root, dangling)
    with pytest.raises(CatalogError, match="defined twice"):
        put_entry("retail", root, load_catalog("core", root).actions["log"])
    with pytest.raises(CatalogError, match="read-only"):
        put_entry("core", root, step)
    assert {p.name: p.read_text() for p in (root / "tenants" / "retail").iterdir()} == before  # nothing written
    assert bundled != before["catalog.json"]
