"""Locust scenarios for FlowGen's HTTP API: what an authoring tool's users send.

- short and long requirements (the hand-written test and ood sets: under 100 and over 200 characters),
- plain and streamed workflow requests (a stream also reports its time to the outline event),
- several tenants, each with its own bearer token (core with the admin token),
- a share of bad requests that must be refused with their 4xx: empty, unknown tenant, no token, another
  tenant's token, malformed JSON. A bad request answered otherwise, or a good one that fails, is a failure.

Closed loop: each user sends its next request when the last one is answered, so users = concurrency.
`python -m loadtests.run` runs it headless (see docs/serving.md); `--flowgen-tokens` is the service's
FLOWGEN_SERVING__TOKENS; `--flowgen-max-requests` stops the run after that many requests.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, events, task

HANDWRITTEN = Path(__file__).resolve().parent.parent / "flowdata" / "handwritten"
SHORT, LONG = 100, 200  # characters


def requirements() -> dict[str, list[tuple[str, str]]]:
    """(tenant, requirement) pairs: short and long, from the hand-written test and ood examples."""
    rows = [json.loads(line) for path in [HANDWRITTEN / "test.jsonl", *sorted((HANDWRITTEN / "ood").glob("*.jsonl"))]
            for line in path.read_text().splitlines() if line.strip()]  # fmt: skip
    pairs = [(row["tenant"], row["requirement"]) for row in rows]
    return {"short": [p for p in pairs if len(p[1]) < SHORT], "long": [p for p in pairs if len(p[1]) > LONG]}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--flowgen-tokens", default="{}", help="the service's tokens: JSON token -> tenant or *")
    parser.add_argument("--flowgen-max-requests", type=int, default=0, help="stop after this many (0: no limit)")
    parser.add_argument("--flowgen-seed", type=int, default=0)


@events.request.add_listener
def _bound(**kwargs: Any) -> None:
    environment = _bound.environment  # type: ignore[attr-defined]
    limit = environment.parsed_options.flowgen_max_requests
    if limit and environment.runner and environment.stats.total.num_requests >= limit:
        environment.runner.quit()


@events.init.add_listener
def _init(environment: Any, **kwargs: Any) -> None:
    _bound.environment = environment  # type: ignore[attr-defined]


class Author(HttpUser):
    """One person authoring workflows, one request at a time."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        tokens: dict[str, str] = json.loads(options.flowgen_tokens)
        self.admin = next((t for t, tenant in tokens.items() if tenant == "*"), None)
        self.own = {tenant: t for t, tenant in tokens.items() if tenant != "*"}
        self.random = random.Random(options.flowgen_seed + id(self))
        self.pool = requirements()

    def _headers(self, tenant: str) -> dict[str, str]:
        token = self.own.get(tenant, self.admin)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _pick(self, size: str) -> tuple[str, str]:
        tenant, requirement = self.random.choice(self.pool[size])
        if tenant != "core" and tenant not in self.own and self.admin is None:
            tenant = "core"
        return tenant, requirement

    def _create(self, size: str) -> None:
        tenant, requirement = self._pick(size)
        body = {"requirement": requirement, "tenant": tenant}
        with self.client.post("/v1/workflows", json=body, headers=self._headers(tenant), name="POST /v1/workflows",
                              catch_response=True) as response:  # fmt: skip
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif "answer" not in response.json():
                response.failure("no answer in the body")

    @task(4)
    def short_workflow(self) -> None:
        self._create("short")

    @task(2)
    def long_workflow(self) -> None:
        self._create("long")

    @task(3)
    def streamed_workflow(self) -> None:
        tenant, requirement = self._pick(self.random.choice(["short", "long"]))
        body = {"requirement": requirement, "tenant": tenant}
        start = time.perf_counter()
        with self.client.post("/v1/workflows:stream", json=body, headers=self._headers(tenant), stream=True,
                              name="POST /v1/workflows:stream", catch_response=True) as response:  # fmt: skip
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            kinds, last = [], ""
            for line in response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    last = line.removeprefix("data: ")
                elif line and line.startswith("event: "):
                    kinds.append(line.removeprefix("event: "))
                    if len(kinds) == 1 and kinds[0] != "done":  # "done" first: refused, no outline to time
                        events.request.fire(request_type="SSE", name="stream: time to outline",
                                            response_time=(time.perf_counter() - start) * 1000, response_length=0,
                                            exception=None if kinds[0] == "outline" else Exception(kinds[0]),
                                            context={})  # fmt: skip
            response.request_meta["response_time"] = (time.perf_counter() - start) * 1000  # the whole stream
            if kinds[-1:] == ["error"]:  # a failure after the stream started: its status is in the event
                response.failure(f"status {json.loads(last).get('status')} in the stream: {last[:200]}")
            elif kinds[-1:] != ["done"]:
                response.failure(f"stream ended with {kinds[-1:] or 'nothing'}")

    @task(1)
    def bad_request(self) -> None:
        """A request the API must refuse with exactly this status."""
        tenant, requirement = self._pick("short")
        other = next((t for t in self.own if t != tenant), "core")
        cases = [
            (400, {"requirement": "   ", "tenant": tenant}, self._headers(tenant), None),
            (404, {"requirement": requirement, "tenant": "atlantis"}, self._headers("atlantis"), None),
            (422, None, self._headers(tenant), '{"requirement": "half a body'),
        ]
        if self.own or self.admin:
            cases.append((401, {"requirement": requirement}, {}, None))
        if len(self.own) > 1:
            token = self.own[other]
            cases.append((403, {"requirement": requirement, "tenant": next(t for t in self.own if t != other)},
                          {"Authorization": f"Bearer {token}"}, None))  # fmt: skip
        status, body, headers, raw = self.random.choice(cases)
        kwargs: dict[str, Any] = {"json": body} if raw is None else {"data": raw}
        if raw is not None:
            headers = {**headers, "Content-Type": "application/json"}
        with self.client.post("/v1/workflows", headers=headers, name=f"bad request ({status})", catch_response=True,
                              **kwargs) as response:  # fmt: skip
            if response.status_code == status and "message" in response.json():
                response.success()
            else:
                response.failure(f"expected {status}, got status {response.status_code}: {response.text[:200]}")
