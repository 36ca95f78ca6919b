"""A hosted model that ignores the schema: a fake OpenAI-compatible server answering invalid JSON or the wrong
shape gives a clear failure for that step, and `flowgen predict` records it and goes on."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flowgen.catalog import Catalog
from flowgen.evaluation.records import Reference
from flowgen.workflow import Workflow
from generation.engines import GenerationFailed
from generation.engines.openai import OpenAIEngine
from generation.outline import to_outline
from generation.pipeline import Pipeline
from generation.predict import predict_all
from tests.conftest import PAPER
from tests.fakes import Suggestions


class FakeServer:
    """Answers /v1/models with one model and each /v1/completions with the next scripted text: an outline
    (a schema with $defs) from `outlines`, a step's inputs from `steps`; it records the schemas it was sent."""

    def __init__(self) -> None:
        self.outlines: list[str] = []
        self.steps: list[str] = []
        self.schemas: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "hosted", "object": "model", "owned_by": "x"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                schema = body["structured_outputs"]["json"]
                server.schemas.append(schema)
                text = server.outlines.pop(0) if "$defs" in schema else server.steps.pop(0)
                self._send({"id": "c", "object": "text_completion", "created": 0, "model": "hosted",
                            "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})  # fmt: skip

            def _send(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    thread = threading.Thread(target=fake.http.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.http.shutdown()
        fake.http.server_close()


@pytest.fixture
def outline(example: dict, core: Catalog) -> str:
    """The paper example's outline, as a model that obeys the schema would answer it."""
    return json.dumps(to_outline(Workflow.model_validate(example), PAPER, core))


def pipeline(server: FakeServer, core: Catalog) -> tuple[Pipeline, OpenAIEngine]:
    engine = OpenAIEngine(server.url, max_retries=0)  # no model name: the server's listed one
    suggestions = Suggestions(core, ["record_update", "look_up_records", "for_each", "update_record"],
                              ["incident", "sys_user"])  # fmt: skip
    return Pipeline(engine, suggestions, "compact", refuse_below=0), engine


async def closing(engine: OpenAIEngine, job: Any) -> Any:
    try:
        return await job
    finally:
        await engine.close()


def test_wrong_shapes_and_invalid_json_fail_their_steps(server: FakeServer, core: Catalog, outline: str) -> None:
    server.outlines = [outline]
    server.steps = ["{oops", '{"tabel": "incident"}', "[]", '"incident"']
    runner, engine = pipeline(server, core)
    result = asyncio.run(closing(engine, runner.run(PAPER)))
    assert isinstance(result.answer, Workflow) and [s.name for s in result.answer.components] == [
        "look_up_records", "for_each", "update_record"]  # fmt: skip
    reasons = sorted(f.split(": ", 1)[1] for f in result.failures)
    assert len(result.failures) == result.calls - 1 == len(server.schemas) - 1
    assert all(r.startswith(("the engine returned invalid JSON", "the answer is not the shape asked for"))
               for r in reasons), reasons  # fmt: skip
    assert all(f.startswith("step ") for f in result.failures)


@pytest.mark.parametrize(("answer", "reason"), [("{oops", "invalid JSON"), ('{"trigger": 1}', "not the shape")])
def test_an_unusable_outline_is_a_generation_failure(server: FakeServer, core: Catalog, answer: str,
                                                     reason: str) -> None:  # fmt: skip
    server.outlines = [answer]
    runner, engine = pipeline(server, core)
    with pytest.raises(GenerationFailed, match=f"outline: .*{reason}"):
        asyncio.run(closing(engine, runner.run(PAPER)))


def test_predict_records_the_failure_and_goes_on(server: FakeServer, core: Catalog, outline: str, example: dict,
                                                 tmp_path: Path) -> None:  # fmt: skip
    refs = [Reference(id=f"r{n}", requirement=PAPER, expected=example) for n in (1, 2)]
    server.outlines = ['{"steps": [{"wrong": true}]}', outline]
    server.steps = ['{"x": 1}'] * 10
    runner, engine = pipeline(server, core)
    done = asyncio.run(closing(engine, predict_all(runner, refs, tmp_path / "p.jsonl", "fake")))
    assert (
        done["r1"].output is None and done["r1"].error is not None and "outline: the answer is not" in done["r1"].error
    )
    assert done["r2"].error is None and done["r2"].output is not None
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 2


def test_predict_resumes_only_answers_of_the_same_model_and_references(server: FakeServer, core: Catalog,
                                                                      outline: str, example: dict,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "p.jsonl"
    refs = [Reference(id=f"r{n}", requirement=PAPER, expected=example) for n in (1, 2)]

    def predict(references: list[Reference], model: str) -> dict:
        server.outlines, server.steps = [outline] * 2, ['{"x": 1}'] * 50
        runner, engine = pipeline(server, core)
        return asyncio.run(closing(engine, predict_all(runner, references, path, model)))

    first = predict(refs, "model-a")
    assert len(server.outlines) == 0 and all(p.error is None for p in first.values())
    assert predict(refs, "model-a") == first and len(server.outlines) == 2  # the same source: resumed, nothing asked
    predict(refs, "model-b")
    assert len(server.outlines) == 0  # another model: both answered again
    changed = [refs[0].model_copy(update={"requirement": PAPER + " Also log it."}), refs[1]]
    predict(changed, "model-b")
    assert len(server.outlines) == 0  # other references (a rebuilt split): answered again
    assert len(path.read_text().splitlines()) == 2
