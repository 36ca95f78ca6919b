"""The monitoring files of deploy/ as queries, and a Prometheus on this machine to run them against.

`queries()` lists every PromQL expression a person relies on: each Grafana panel's target
(deploy/grafana/flowgen.json) and each rule's expression (deploy/prometheus/rules.yml), alerts turned
into `bool` comparisons so that they return a value whether or not they fire. `LocalPrometheus` runs
Debian's `prometheus` binary scraping one target, with those rules loaded, in a folder of its own;
tests/serving/test_serving.py proves the queries return data from the real application, and the load test
draws the dashboard from it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "flowgen.json"
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
COMPARISON = re.compile(r"\s(==|!=|>=|<=|>|<)\s(?!\s*bool\b)")


@dataclass(frozen=True)
class Query:
    source: str  # "panel <title> <refId>", "record <name>" or "alert <name>"
    expr: str


def queries(rate_window: str = "5m", dashboard: Path = DASHBOARD, rules: Path = RULES) -> list[Query]:
    """Every panel target (Grafana's $__rate_interval as `rate_window`) and every rule expression."""
    found = []
    for panel in json.loads(dashboard.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", rate_window)
            found.append(Query(f"panel {panel['title']} {target['refId']}", expr))
    for group in yaml.safe_load(rules.read_text())["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                found.append(Query(f"record {rule['record']}", rule["expr"]))
            else:  # `a > b` keeps only firing series; `a > bool b` gives 0 or 1 for every series
                found.append(Query(f"alert {rule['alert']}", COMPARISON.sub(r" \1 bool ", rule["expr"])))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPrometheus:
    """Prometheus scraping `target` (a /metrics URL on this machine) every `interval`, with `rules` loaded
    and evaluated at the same pace. Use as a context manager; `query` asks its HTTP API."""

    def __init__(self, target: str, folder: Path, rules: Path = RULES, interval: str = "5s") -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed (./dev installs Debian's package)")
        parts = urlsplit(target)
        folder.mkdir(parents=True, exist_ok=True)
        groups = yaml.safe_load(rules.read_text())["groups"]
        for group in groups:  # evaluate at the scrape pace, not the production one
            group["interval"] = interval
        (folder / "rules.yml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        config = {
            # /metrics gathers every replica's metrics through Ray's agent: a second or two on a busy machine
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": [str(folder / "rules.yml")],
            "scrape_configs": [
                {"job_name": "flowgen", "metrics_path": parts.path or "/metrics",
                 "static_configs": [{"targets": [parts.netloc]}]}
            ],
        }  # fmt: skip
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.step = float(interval.removesuffix("s"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1d",
        ]  # fmt: skip
        self.log = folder / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalPrometheus:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"prometheus did not start: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's samples: [{"metric": {...}, "value": [time, "value"]}, ...]."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(f"{expr}: {body.get('error', response.text)}")
        return body["data"]["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": start, "end": end, "step": step}
        body = httpx.get(f"{self.url}/api/v1/query_range", params=params, timeout=60).json()
        if body.get("status") != "success":
            raise ValueError(f"{expr}: {body.get('error')}")
        return body["data"]["result"]

    def has_data(self, expr: str, since: float | None = None) -> bool:
        """At least one finite value (a quantile over no observations is NaN: no data): now, or at any
        evaluation since `since` (a panel over a time range; gauges such as vLLM's exist only while it works)."""
        if since is None:
            return any(math.isfinite(float(sample["value"][1])) for sample in self.query(expr))
        series = self.query_range(expr, since, time.time(), self.step)
        return any(math.isfinite(float(value)) for s in series for _, value in s["values"])

    def wait_for(self, expr: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.has_data(expr):
                return True
            time.sleep(1)
        return False
