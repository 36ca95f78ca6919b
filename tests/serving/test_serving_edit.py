"""POST /v1/workflows:edit on the running application (the session's app, shared with tests/serving/test_serving.py)."""

from __future__ import annotations

import httpx
import pytest

from flowgen.catalog import load_catalog
from flowgen.validation import validate
from flowgen.workflow import parse_workflow
from tests.generation.test_editing import reference

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer admin-token"}


def test_a_workflow_that_breaks_the_rules_is_a_422_naming_the_rule(url: str) -> None:
    broken = reference("test-002").to_json()
    broken["components"][2].pop("parent")
    response = httpx.post(f"{url}/v1/workflows:edit", headers=ADMIN, timeout=60,
                          json={"workflow": broken, "instruction": "also log it", "tenant": "core"})  # fmt: skip
    assert response.status_code == 422 and "S008" in response.json()["message"]


def test_bad_bodies_and_other_tenants_are_4xx(url: str) -> None:
    body = {"workflow": reference("test-002").to_json(), "instruction": "also log it", "tenant": "core"}
    assert httpx.post(f"{url}/v1/workflows:edit", json=body, timeout=60).status_code == 401
    retail = {"Authorization": "Bearer retail-token"}
    other = {**body, "tenant": "banking"}  # core is every tenant's; another tenant's catalog is not
    assert httpx.post(f"{url}/v1/workflows:edit", headers=retail, json=other, timeout=60).status_code == 403
    blank = {**body, "instruction": "  "}
    assert httpx.post(f"{url}/v1/workflows:edit", headers=ADMIN, json=blank, timeout=60).status_code == 400
    unknown = {**body, "colour": "red"}
    assert httpx.post(f"{url}/v1/workflows:edit", headers=ADMIN, json=unknown, timeout=60).status_code == 422


def test_an_edit_returns_the_workflow_script_diff_and_report(url: str) -> None:
    before = reference("test-002")
    body = {"workflow": before.to_json(), "instruction": "also email the assignee of each task", "tenant": "core"}
    response = httpx.post(f"{url}/v1/workflows:edit", headers=ADMIN, json=body, timeout=300)
    assert response.status_code == 200, response.text
    data = response.json()
    assert {"outcome", "workflow", "script", "diff", "report", "calls", "tokens"} <= data.keys()
    edited = parse_workflow(data["workflow"])
    if data["outcome"] == "edited":
        assert data["diff"] and validate(edited, load_catalog("core")).structure_errors == []
    else:
        assert edited == before
