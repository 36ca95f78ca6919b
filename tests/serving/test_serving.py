"""The Ray Serve application end to end over HTTP: real Ray, real engine, real Qdrant local mode.

One application (conftest's `url`) serves the whole session; the tests that kill replicas come last here,
and wait until the application serves again.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
import ray
from prometheus_client.parser import text_string_to_metric_families
from ray import serve

from flowgen.catalog import Catalog
from flowgen.validation import ValidationReport, validate
from flowgen.workflow import Workflow
from interop.servicenow.build import build
from interop.servicenow.project import export_project
from serving.cli import APP_NAME
from tests.conftest import PAPER, max_calls

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer admin-token"}
RETAIL = {"Authorization": "Bearer retail-token"}


def post(url: str, body: Any, headers: dict[str, str] = ADMIN, path: str = "/v1/workflows") -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=300)


def events(url: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Server-sent events of one stream."""
    seen = []
    with httpx.stream("POST", f"{url}/v1/workflows:stream", json=body, headers=ADMIN, timeout=300) as response:
        assert response.status_code == 200, response.read()
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind:
                seen.append((kind, json.loads(line.removeprefix("data: "))))
    return seen


def llm_stats() -> dict[str, int]:
    return serve.get_deployment_handle("llm", APP_NAME).stats.remote().result()


def test_paper_example_over_http(url: str, core: Catalog) -> None:
    response = post(url, {"requirement": PAPER, "tenant": "core"})
    assert response.status_code == 200, response.text
    body = response.json()
    workflow = Workflow.model_validate(body["answer"])
    assert body["report"]["violations"] == []
    assert validate(workflow, core).violations == []  # the served answer checks here too
    assert 2 <= body["calls"] <= max_calls(workflow)
    assert {"retrieve", "outline", "inputs", "time_to_outline", "total"} <= set(body["timings"])
    # the served answer, exported, builds clean with ServiceNow's own SDK (issue 15)
    assert build(export_project({"generated": workflow}, core)) == []


def test_a_request_for_no_workflow_is_refused_without_a_model_call(url: str) -> None:
    response = post(url, {"requirement": "write a haiku about change management"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"]["out_of_scope"] is True and "not a workflow request" in body["answer"]["reason"]
    assert body["calls"] == 0 and body["tokens"] == 0


def test_stream_shows_the_outline_before_the_inputs(url: str) -> None:
    seen = events(url, {"requirement": PAPER})
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "outline" and kinds[-1] == "done" and set(kinds[1:-1]) == {"step"}, kinds
    outline_steps = {c["step"] for c in seen[0][1]["components"]}
    assert {data["step"] for _, data in seen[1:-1]} <= outline_steps | {0}  # 0: the trigger
    done = seen[-1][1]
    assert ValidationReport.model_validate(done["report"]).violations == []


@pytest.mark.parametrize(
    ("request_body", "headers", "status", "message"),
    [
        ('{"requirement": "half a body', ADMIN, 422, "JSON"),
        ({"requirement": "   "}, ADMIN, 400, "empty requirement"),
        ({"requirement": "word " * 500}, ADMIN, 400, "too long"),
        ({"requirement": PAPER, "tenant": "atlantis"}, ADMIN, 404, "unknown tenant 'atlantis'"),
        ({"requirement": PAPER, "tenant": "/etc"}, ADMIN, 422, "tenant"),
        ({"requirement": PAPER, "tenant": "../retail"}, ADMIN, 422, "tenant"),
        ({"requirement": PAPER, "pinned": {"tables": ["u_nowhere"]}}, ADMIN, 400, "pinned names not in"),
        ({"requirement": PAPER, "colour": "red"}, ADMIN, 422, "colour"),
        ({"requirement": PAPER}, {}, 401, "bearer token"),
        ({"requirement": PAPER, "tenant": "banking"}, RETAIL, 403, "may not use tenant 'banking'"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/workflows", "/v1/workflows:stream"])
def test_bad_requests_are_4xx_with_a_message(url: str, path: str, request_body: Any, headers: dict[str, str],
                                             status: int, message: str) -> None:  # fmt: skip
    if isinstance(request_body, str):
        raw = {**headers, "Content-Type": "application/json"}
        response = httpx.post(f"{url}{path}", content=request_body, headers=raw)
    else:
        response = post(url, request_body, headers, path)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]


def test_catalog_changes_reach_the_next_suggestions(url: str) -> None:
    step = {"id": "send_gift_card", "label": "Send gift card", "category": "retail",
            "description": "Email a store gift card to a loyalty member as a thank-you present.",
            "inputs": [{"name": "member", "type": "reference", "required": True}]}  # fmt: skip
    ask = f"{url}/v1/tenants/retail/suggestions"
    query = {"q": "send the loyalty member a gift card as a thank-you present", "k": 5}
    assert "send_gift_card" not in httpx.get(ask, params=query, headers=RETAIL).json()["steps"]

    assert httpx.put(f"{url}/v1/tenants/retail/actions/send_gift_card", json=step, headers=RETAIL).status_code == 200
    assert "send_gift_card" in httpx.get(ask, params=query, headers=RETAIL).json()["steps"]
    catalog = httpx.get(f"{url}/v1/tenants/retail/catalog", headers=RETAIL).json()
    assert "send_gift_card" in catalog["custom"] and "incident" in catalog["tables"]

    broken = {"name": "u_bad", "label": "Bad", "columns": [{"name": "x", "label": "X", "type": "reference",
                                                            "reference": "nowhere"}]}  # fmt: skip
    refused = httpx.put(f"{url}/v1/tenants/retail/tables/u_bad", json=broken, headers=RETAIL)
    assert refused.status_code == 422 and "unknown table 'nowhere'" in refused.json()["message"]
    assert "u_bad" not in httpx.get(f"{url}/v1/tenants/retail/catalog", headers=RETAIL).json()["tables"]
    assert httpx.put(f"{url}/v1/tenants/core/actions/send_gift_card", json=step, headers=ADMIN).status_code == 422
    assert httpx.get(f"{url}/v1/tenants/banking/catalog", headers=RETAIL).status_code == 403
    assert httpx.get(f"{url}/v1/tenants", headers=RETAIL).json() == ["core", "retail"]


def test_metrics_show_stage_histograms_beside_ray_and_vllm(url: str) -> None:
    wanted = {"ray_flowgen_stage_seconds", "ray_flowgen_time_to_outline_seconds", "ray_flowgen_request_seconds"}
    deadline = time.monotonic() + 60
    while True:  # Ray's metrics agent exports every two seconds here
        text = httpx.get(f"{url}/metrics", timeout=30).text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        if wanted <= set(families) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert wanted <= set(families), sorted(n for n in families if "flowgen" in n)
    stages = {s.labels.get("stage") for s in families["ray_flowgen_stage_seconds"].samples}
    assert {"retrieve", "outline", "inputs"} <= stages
    assert any(name.startswith("ray_vllm") for name in families)
    assert any(name.startswith("ray_serve") for name in families)


def test_a_client_that_disconnects_cancels_its_generation(url: str) -> None:
    before = llm_stats()["cancelled"]
    body = {"requirement": PAPER}
    with httpx.stream("POST", f"{url}/v1/workflows:stream", json=body, headers=ADMIN, timeout=300) as response:
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event: ")) == "event: outline"
        deadline = time.monotonic() + 30
        while not llm_stats()["running"] and time.monotonic() < deadline:  # stage 2 is generating
            time.sleep(0.05)
        assert llm_stats()["running"] > 0
    # the connection is closed here, mid-stream
    deadline = time.monotonic() + 10
    while ((stats := llm_stats())["running"] or stats["cancelled"] == before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stats["cancelled"] > before and stats["running"] == 0, stats


def kill_replica(deployment: str) -> None:
    actors = ray.util.list_named_actors(all_namespaces=True)
    name = next(a["name"] for a in actors if f"{APP_NAME}#{deployment}#" in a["name"])
    ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)


def until_served(url: str, body: dict[str, Any], seconds: float) -> list[int]:
    """Statuses of repeated requests until one succeeds (Ray replaces the replica meanwhile)."""
    statuses = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses.append(post(url, body).status_code)
        if statuses[-1] == 200:
            break
        time.sleep(1)
    return statuses


def test_killed_retriever_replica_fails_fast_then_recovers(url: str) -> None:
    kill_replica("retriever")
    statuses = until_served(url, {"requirement": PAPER}, 180)
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses


def test_killed_engine_replica_fails_requests_in_flight_with_503(url: str) -> None:
    answers: list[httpx.Response] = []
    flight = threading.Thread(target=lambda: answers.append(post(url, {"requirement": PAPER})))
    flight.start()
    deadline = time.monotonic() + 60
    while not llm_stats()["running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    kill_replica("llm")
    flight.join(timeout=120)
    assert answers and answers[0].status_code == 503, answers and answers[0].text
    assert "unavailable" in answers[0].json()["message"]
    statuses = until_served(url, {"requirement": PAPER}, 400)
    # a request that reaches the new replica while it still loads the model may pass the request timeout:
    # 504, retryable, is then the documented answer (seen once on a loaded machine); never a 500
    assert statuses[-1] == 200 and set(statuses) <= {200, 503, 504}, statuses
