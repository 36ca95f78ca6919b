from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowgen.catalog import Catalog, load_catalog
from flowgen.catalog.store import DEFAULT_ROOT
from flowgen.errors import CatalogUnavailable, UnknownTenantError

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
