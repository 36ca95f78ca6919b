"""Prometheus rules and the Grafana dashboard (deploy/): promtool's checks and unit tests, the dashboard's
shape, and every panel's and rule's query returning data from Debian's Prometheus scraping the running
application (conftest's `url`) while workflows run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from serving.monitoring import DASHBOARD, ROOT, RULES, LocalPrometheus, queries
from tests.conftest import PAPER
from tests.serving.conftest import TOKENS

PROMETHEUS = ROOT / "deploy" / "prometheus"
SHORT = "p1 incidents -> slack #oncall-mgrs asap"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is installed by ./dev (Debian's prometheus package)"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS)


def test_rules_pass_promtool_check() -> None:
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_rules_unit_tests_pass() -> None:
    """rules_test.yml: every alert fires on the series that should fire it, and not on healthy ones."""
    done = promtool("test", "rules", "rules_test.yml")
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_every_alert_is_unit_tested() -> None:
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    tested = {t["alertname"] for case in yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
              for t in case.get("alert_rule_test", []) if t["exp_alerts"]}  # fmt: skip
    assert alerts == tested


def test_dashboard_panels_are_laid_out_and_use_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24
        area = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area
        assert panel["targets"] and all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert dashboard["templating"]["list"][0]["name"] == "datasource"


def test_every_flowgen_metric_has_a_panel() -> None:
    """A metric recorded in serving/metrics.py that no panel shows fails here."""
    recorded = set(re.findall(r'"(flowgen_\w+)"', (ROOT / "serving" / "metrics.py").read_text()))
    shown = " ".join(q.expr for q in queries() if q.source.startswith("panel"))
    assert recorded and {m for m in recorded if f"ray_{m}" not in shown} == set()


def test_alerts_become_bool_comparisons_that_always_return_a_value() -> None:
    found = {q.source: q.expr for q in queries()}
    assert found["alert FlowGenErrorRateHigh"] == ":flowgen_errors:ratio_rate5m > bool 0.05"
    assert found["alert FlowGenStageLatencyHigh"].startswith("stage:flowgen_stage_seconds:p95_5m > bool on (stage)")
    assert all(" bool " in expr for source, expr in found.items() if source.startswith("alert"))
    assert not any("$__" in expr for expr in found.values())


def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses each expression (as a recording rule) before any Prometheus runs it."""
    rules = [{"record": f"q:{i}", "expr": q.expr} for i, q in enumerate(queries())]
    (tmp_path / "all.yml").write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    done = promtool("check", "rules", str(tmp_path / "all.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_every_panel_and_rule_returns_data_from_prometheus_scraping_the_app(url: str, tmp_path: Path) -> None:
    """A panel or rule whose query stays empty (a wrong metric or label name, a metric never recorded) fails."""
    admin = {"Authorization": f"Bearer {next(t for t, tenant in TOKENS.items() if tenant == '*')}"}
    with LocalPrometheus(f"{url}/metrics", tmp_path / "prometheus") as prometheus:
        assert prometheus.wait_for('up{job="flowgen"} == 1', 60), prometheus.log.read_text()[-2000:]
        since = time.time()

        def workflow(path: str, requirement: str) -> None:
            # twice, one after the other: a series' first observation alone gives rate() 0 (Prometheus has no
            # earlier sample to compare with), so a quantile panel over one request per endpoint stays empty
            for _ in range(2):
                body = {"requirement": requirement}
                with httpx.stream("POST", f"{url}{path}", json=body, headers=admin, timeout=300) as response:
                    answered.append((path, response.status_code, response.read()[-300:]))
                time.sleep(6)  # past one scrape (5 s), so the two observations land in different samples

        answered: list[tuple[str, int, bytes]] = []
        flights = [threading.Thread(target=workflow, args=("/v1/workflows", PAPER)),
                   threading.Thread(target=workflow, args=("/v1/workflows:stream", SHORT))]  # fmt: skip
        for flight in flights:
            flight.start()
        # errors while they run: an empty requirement (a counted ClientError), a catalog change the
        # retriever refuses (an exception inside the retriever deployment)
        empty_requirement = httpx.post(f"{url}/v1/workflows", json={"requirement": " "}, headers=admin, timeout=60)
        assert empty_requirement.status_code == 400
        broken = {"name": "u_bad", "label": "Bad", "columns": [{"name": "x", "label": "X", "type": "reference",
                                                                "reference": "nowhere"}]}  # fmt: skip
        refused = httpx.put(f"{url}/v1/tenants/retail/tables/u_bad", json=broken, headers=admin, timeout=60)
        assert refused.status_code == 422
        for flight in flights:
            flight.join(timeout=300)
        assert [status for _, status, body in answered if b"event: error" not in body] == [200] * 4, answered

        def empty() -> list[str]:
            return [f"{q.source}: {q.expr}" for q in queries() if not prometheus.has_data(q.expr, since)]

        deadline = time.monotonic() + 90  # Ray exports every 2 s, Prometheus scrapes and evaluates every 5 s
        while (missing := empty()) and time.monotonic() < deadline:
            time.sleep(5)
    assert missing == []
