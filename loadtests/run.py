"""A bounded load test of the service, headless: `python -m loadtests.run` (see docs/serving.md).

Starts the application on this machine (or uses --url), starts Debian's Prometheus scraping it, runs
loadtests/locustfile.py in phases of constant concurrency (users, seconds; each also bounded in
requests), then writes into --out: locust's CSV and HTML per phase, report.json and report.md (requests,
requests/s, p50 / p95 / p99 per endpoint, errors, workflows/s against concurrency 1, where the time
went according to the service's own metrics), and a picture of the dashboard's main panels. Exits 1
when an SLO is broken: a p95 over its bound, an unexpected answer (a bad request not refused with its
4xx, a good one that failed), or any 5xx.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from serving.monitoring import LocalPrometheus, free_port, queries

HERE = Path(__file__).resolve().parent
WORKFLOW_ENDPOINTS = ("POST /v1/workflows", "POST /v1/workflows:stream")


@dataclass(frozen=True)
class SLO:
    """Bounds for this 2-core machine (the GPU cluster's are the alert rules' objectives)."""

    p95_seconds: dict[str, float] = field(
        default_factory=lambda: {
            "POST /v1/workflows": 240.0,
            "POST /v1/workflows:stream": 240.0,
            "stream: time to outline": 120.0,
            "bad request": 5.0,  # every "bad request (4xx)" row
        }
    )
    unexpected: int = 0  # failures of any kind: a wrong status, a failed workflow, a stream without `done`
    server_errors: int = 0  # answers >= 500


@dataclass
class Phase:
    users: int
    seconds: int
    imports: int = 0
    """Tables of a new tenant's catalog imported through the API as the phase starts (0: none)."""
    started: float = 0.0
    ended: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    imported: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.users}" + (f", importing {self.imports} tables" if self.imports else "")

    @property
    def name(self) -> str:
        return f"c{self.users}" + ("-import" if self.imports else "")

    @property
    def workflows_per_s(self) -> float:
        done = sum(r["requests"] - r["failures"] for r in self.rows if r["name"] in WORKFLOW_ENDPOINTS)
        return done / (self.ended - self.started)


def parse_phases(text: str, import_tables: int = 300) -> list[Phase]:
    """`1:60,16:150`: concurrency 1 for 60 s, then 16 for 150 s; `4:150:import`: 4 users for 150 s while a
    catalog of `import_tables` tables is onboarded as a new tenant (other tenants' latency during an import)."""
    phases = []
    for part in text.split(","):
        users, seconds, *flag = part.split(":")
        if flag not in ([], ["import"]):
            raise ValueError(f"phase {part!r}: users:seconds or users:seconds:import")
        phases.append(Phase(int(users), int(seconds), import_tables if flag else 0))
    return phases


def big_catalog(tables: int) -> dict[str, Any]:
    """A tenant catalog of `tables` tables of 20 described columns: what a large customer onboards."""
    columns = [{"name": f"u_field_{j}", "label": f"Field {j}", "type": "string",
                "description": f"The record's field number {j}, as its users know it"} for j in range(20)]  # fmt: skip
    return {"tables": [{"name": f"u_table_{i}", "label": f"Table {i}", "columns": columns} for i in range(tables)]}


def _import(url: str, tokens: dict[str, str], phase: Phase) -> None:
    """Onboard a new tenant with a large catalog through the API; record how long it took and its status."""
    body = {"tenant": f"loadtest_import_{int(time.time())}", "catalog": big_catalog(phase.imports)}
    started = time.time()
    response = httpx.post(f"{url}/v1/tenants", json=body, headers=_bearer(tokens, "*"), timeout=3600)
    phase.imported = {"tables": phase.imports, "seconds": round(time.time() - started, 1),
                      "status": response.status_code}  # fmt: skip


def locust(url: str, phase: Phase, tokens: dict[str, str], max_requests: int, out: Path) -> None:
    name = phase.name
    command = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", url,
        "-u", str(phase.users), "-r", str(phase.users), "-t", f"{phase.seconds}s", "--stop-timeout", "0",
        "--csv", str(out / name), "--html", str(out / f"{name}.html"), "--only-summary", "--exit-code-on-error", "0",
        "--flowgen-tokens", json.dumps(tokens), "--flowgen-max-requests", str(max_requests),
    ]  # fmt: skip
    phase.started = time.time()
    importing = threading.Thread(target=_import, args=(url, tokens, phase)) if phase.imports else None
    if importing:
        importing.start()
    subprocess.run(command, check=True, timeout=phase.seconds + 120)
    phase.ended = time.time()
    if importing:
        importing.join()
    with (out / f"{name}_stats.csv").open() as f:
        phase.rows = [
            {"name": r["Name"], "requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
             "rps": float(r["Requests/s"]), "p50_s": _s(r["50%"]), "p95_s": _s(r["95%"]), "p99_s": _s(r["99%"])}
            for r in csv.DictReader(f) if r["Name"] != "Aggregated"
        ]  # fmt: skip
    with (out / f"{name}_failures.csv").open() as f:
        phase.failures = [{"name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
                          for r in csv.DictReader(f)]  # fmt: skip


def _s(milliseconds: str) -> float | None:
    return None if milliseconds in ("", "N/A") else float(milliseconds) / 1000


def broken_slos(phases: list[Phase], slo: SLO) -> list[str]:
    broken = []
    for phase in phases:
        for row in phase.rows:
            bound = slo.p95_seconds.get(row["name"]) or slo.p95_seconds.get(row["name"].split(" (")[0])
            if bound is not None and row["p95_s"] is not None and row["p95_s"] > bound:
                broken.append(f"{phase.name} {row['name']}: p95 {row['p95_s']:.1f} s > {bound:.0f} s")
        unexpected = sum(f["count"] for f in phase.failures)
        server = sum(f["count"] for f in phase.failures if _status(f["error"]).startswith("5"))
        if unexpected > slo.unexpected:
            broken.append(f"{phase.name}: {unexpected} unexpected answers: {phase.failures}")
        if server > slo.server_errors:
            broken.append(f"{phase.name}: {server} answers >= 500")
        if phase.imports and phase.imported.get("status") != 201:
            broken.append(f"{phase.name}: the import answered {phase.imported}")
    return broken


def _status(error: str) -> str:
    """The HTTP status a failure names: the locustfile writes `status 503: ...` or `expected 400, got status 503`."""
    found = re.search(r"status (\d{3})", error)
    return found[1] if found else ""


# Where the time went, from the service's metrics over the last phase (the busiest).
BOTTLENECK = {
    "mean seconds per stage": "sum by (stage) (increase(ray_flowgen_stage_seconds_sum[{w}])) "
    "/ sum by (stage) (increase(ray_flowgen_stage_seconds_count[{w}]))",
    "mean ms per call, by deployment": "sum by (deployment) "
    "(increase(ray_serve_deployment_processing_latency_ms_sum[{w}])) / sum by (deployment) "
    "(increase(ray_serve_deployment_processing_latency_ms_count[{w}]))",
    "workflows in flight (mean)": "avg_over_time(sum(ray_flowgen_requests_in_flight)[{w}:5s])",
    "vLLM requests running (mean)": "avg_over_time(sum(ray_vllm_num_requests_running)[{w}:5s])",
    "vLLM requests running (max)": "max_over_time(sum(ray_vllm_num_requests_running)[{w}:5s])",
    "vLLM requests waiting (max)": "max_over_time(sum(ray_vllm_num_requests_waiting)[{w}:5s])",
    "vLLM KV cache use (max)": "max_over_time(max(ray_vllm_kv_cache_usage_perc)[{w}:5s])",
    "stage-2 calls per workflow batch (mean)": "sum(increase(ray_flowgen_stage2_batch_size_sum[{w}])) "
    "/ sum(increase(ray_flowgen_stage2_batch_size_count[{w}]))",
    "tokens generated/s": "sum(increase(ray_flowgen_tokens_generated_total[{w}])) / {s}",
}


def bottleneck(prometheus: LocalPrometheus, phase: Phase) -> dict[str, Any]:
    seconds = int(phase.ended - phase.started)
    found: dict[str, Any] = {}
    for label, expr in BOTTLENECK.items():
        samples = prometheus.query(expr.format(w=f"{seconds}s", s=seconds))
        values = {next(iter(s["metric"].values()), "") if s["metric"] else "": float(s["value"][1]) for s in samples}
        found[label] = values.get("") if set(values) <= {""} else values
    return found


def extremes(phases: list[Phase]) -> tuple[Phase, Phase]:
    """The phases with the fewest and the most users, leaving out import phases (the first of equals): the
    concurrency ratio and the bottleneck are read there."""
    plain = [p for p in phases if not p.imports] or phases
    return min(plain, key=lambda p: p.users), max(plain, key=lambda p: p.users)


def report(phases: list[Phase], slo: SLO, broken: list[str], where: dict[str, Any], command: str) -> str:
    lines = [f"`{command}`", "", "| users | endpoint | requests | failed | requests/s | p50 s | p95 s | p99 s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for phase in phases:
        for r in phase.rows:
            p = [f"{r[k]:.2f}" if r[k] is not None else "-" for k in ("p50_s", "p95_s", "p99_s")]
            lines.append(f"| {phase.label} | {r['name']} | {r['requests']} | {r['failures']} | {r['rps']:.3f} | "
                         + " | ".join(p) + " |")  # fmt: skip
    lines += ["", "| users | seconds | workflows/s |", "| --- | --- | --- |"]
    lines += [f"| {p.label} | {p.ended - p.started:.0f} | {p.workflows_per_s:.3f} |" for p in phases]
    lines += [f"\nImport during the {p.label} phase: {p.imported}" for p in phases if p.imports]
    least, most = extremes(phases)
    if most is not least and least.workflows_per_s:
        ratio = most.workflows_per_s / least.workflows_per_s
        lines += ["", f"workflows/s at {most.users} users / at {least.users}: **{ratio:.2f}x**"]
    if where:
        lines += ["", f"Where the time went at {most.users} users (Prometheus, the service's metrics):", ""]
        for label, value in where.items():
            shown = value if not isinstance(value, dict) else {k: round(v, 3) for k, v in value.items()}
            lines.append(f"- {label}: {round(value, 3) if isinstance(value, float) else shown}")
    lines += ["", "SLOs: " + ("all met" if not broken else "BROKEN: " + "; ".join(broken))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.run", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service (its tokens in --tokens); default: start one here")
    parser.add_argument("--tokens", default="{}", help="JSON token -> tenant of the service given by --url")
    parser.add_argument("--phases", default="1:60,4:150", help="users:seconds,... (default %(default)s)")
    parser.add_argument("--max-requests", type=int, default=500, help="per phase (default %(default)s)")
    parser.add_argument(
        "--import-tables",
        type=int,
        default=300,
        help="tables of the catalog a `users:seconds:import` phase onboards (default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=Path("out/loadtest"))
    parser.add_argument("--picture", type=Path, help="also write the dashboard picture here (PNG)")
    args = parser.parse_args(argv)
    url = args.url and args.url.rstrip("/")
    if url and not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("--url must be on this machine (loopback)")
    args.out.mkdir(parents=True, exist_ok=True)
    phases, slo = parse_phases(args.phases, args.import_tables), SLO()
    with ExitStack() as stack:
        tokens = json.loads(args.tokens)
        if url is None:
            url, tokens = _start_service(args.out, stack)
        print("warm-up: one workflow, not recorded", file=sys.stderr, flush=True)
        _warm_up(url, tokens)
        prometheus = None
        if shutil.which("prometheus"):
            prometheus = stack.enter_context(LocalPrometheus(f"{url}/metrics", args.out / "prometheus"))
        for phase in phases:
            print(f"phase: {phase.label} users for {phase.seconds} s", file=sys.stderr, flush=True)
            locust(url, phase, tokens, args.max_requests, args.out)
            time.sleep(5)  # cancelled requests drain; Ray and Prometheus catch up
        where = bottleneck(prometheus, extremes(phases)[1]) if prometheus else {}
        if prometheus:  # a panel or rule that stayed empty through the whole run
            where["empty panels and rules"] = [
                q.source for q in queries() if not prometheus.has_data(q.expr, phases[0].started)
            ]
        if prometheus:
            from loadtests.dashboard import draw

            draw(prometheus, phases[0].started, phases[-1].ended, args.out / "dashboard.png")
            if args.picture:
                shutil.copyfile(args.out / "dashboard.png", args.picture)
    broken = broken_slos(phases, slo)
    command = "python -m loadtests.run " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(phases, slo, broken, where, command.strip())
    (args.out / "report.md").write_text(text)
    (args.out / "report.json").write_text(json.dumps(
        {"phases": [asdict(p) | {"workflows_per_s": p.workflows_per_s} for p in phases], "slo": asdict(slo),
         "broken": broken, "bottleneck": where}, indent=2))  # fmt: skip
    print(text)
    return 1 if broken else 0


def _warm_up(url: str, tokens: dict[str, str]) -> None:
    """One workflow before the phases: the first after a start pays for cold caches and the engine's first
    compilations, which is not the latency a load test is after."""
    body = {"requirement": "When an incident is resolved, close its incident tasks.", "tenant": "core"}
    httpx.post(f"{url}/v1/workflows", json=body, headers=_bearer(tokens, "*", "core"), timeout=600).raise_for_status()


def _bearer(tokens: dict[str, str], *tenants: str) -> dict[str, str]:
    """The Authorization header of the first token for one of `tenants` (none on a service without tokens)."""
    token = next((t for t, tenant in tokens.items() if tenant in tenants), None)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _start_service(out: Path, stack: ExitStack) -> tuple[str, dict[str, str]]:
    """The application on its embedded defaults, with a token per tenant (and an admin one), its own index
    under `out` (indexed on the first run, reused after) and a fresh copy of the bundled catalogs there (a
    tenant an import phase onboards is the run's, not the installation's)."""
    from flowgen.catalog import list_tenants
    from flowgen.catalog.store import DEFAULT_ROOT
    from flowgen.settings import RetrievalSettings, ServingSettings, Settings
    from serving.cli import start, stop

    catalogs = (out / "catalogs").resolve()
    shutil.rmtree(catalogs, ignore_errors=True)
    shutil.copytree(DEFAULT_ROOT, catalogs)
    tenants = list_tenants(catalogs)
    tokens = {"loadtest-admin": "*"} | {f"loadtest-{tenant}": tenant for tenant in tenants}
    settings = Settings(
        catalog_dir=catalogs,
        retrieval=RetrievalSettings(qdrant_path=(out / "qdrant").resolve()),
        serving=ServingSettings(port=free_port(), tokens=tokens),
    )
    url = start(settings)
    stack.callback(stop)
    assert httpx.get(f"{url}/readyz", timeout=60).status_code == 200
    return url, tokens


if __name__ == "__main__":
    sys.exit(main())
