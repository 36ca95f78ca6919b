"""The two-stage pipeline on the real engine and the real small model (one engine for the session)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from flowgen.errors import ClientError, UnknownTenantError
from flowgen.evaluation.edits import step_keys
from flowgen.settings import Settings
from flowgen.workflow import Workflow
from generation.editing.stage import EditStage
from generation.engines.factory import start_vllm
from generation.engines.vllm import VLLMEngine
from generation.pipeline import InProcess, Pipeline
from retrieval.suggest import Retriever
from tests.conftest import PAPER, assert_max_tokens_is_a_failure, max_calls
from tests.generation.test_editing import reference

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def engine() -> Iterator[VLLMEngine]:
    engine = start_vllm(Settings())  # as served: the edit adapter writes the edit scripts
    yield engine
    engine.shutdown()


@pytest.fixture(scope="session")
def pipeline(engine: VLLMEngine, core_retriever: Retriever) -> Pipeline:
    return Pipeline(engine, InProcess(core_retriever))


def test_paper_example_is_valid_with_n_plus_one_calls(pipeline: Pipeline, run: asyncio.Runner) -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    async def record(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))

    result = run.run(pipeline.run(PAPER, "core", record))
    assert isinstance(result.answer, Workflow)
    assert result.report is not None and result.report.violations == [], result.report
    assert result.failures == []
    assert 2 <= result.calls <= max_calls(result.answer)
    assert events[0][0] == "outline" and all(kind == "step" for kind, _ in events[1:])
    assert result.timings["time_to_outline"] < result.timings["total"]


def test_bad_input_is_a_clear_error(pipeline: Pipeline, run: asyncio.Runner) -> None:
    with pytest.raises(ClientError, match="empty requirement"):
        run.run(pipeline.run("   "))
    with pytest.raises(ClientError, match="too long"):
        run.run(pipeline.run("close incidents " * 500))
    with pytest.raises(UnknownTenantError, match="unknown tenant"):
        run.run(pipeline.run(PAPER, "atlantis"))


def test_max_tokens_is_a_failure_not_invalid_json(engine: VLLMEngine, run: asyncio.Runner) -> None:
    assert_max_tokens_is_a_failure(engine, run)


def test_the_served_model_edits_within_the_grammar(engine: VLLMEngine, pipeline: Pipeline, run: asyncio.Runner) -> None:
    """Whatever the configured model answers is one of the outcomes, the steps the diff does not name are
    kept exactly, and the cost is one script call plus one per new or changed step."""
    before = reference("test-024")
    instruction = "also post each resolved incident's number in #problems on slack"
    result = run.run(EditStage(pipeline, engine.editor).run(before, instruction, "core"))
    assert result.outcome in ("edited", "no change needed", "the catalog cannot do this", "refused")
    assert result.calls <= 1 + len(result.changed) and result.tokens > 0
    if result.outcome == "edited":
        assert result.report.structure_errors == []
        kept = (step_keys(before) & step_keys(result.workflow)).total()
        assert kept >= len(before.components) - sum(1 for line in result.diff if line[0] in "-~>")
    else:
        assert result.workflow == before
