"""CheckpointEngine: the small model in plain transformers with a peft adapter, constrained by outlines."""

from __future__ import annotations

import asyncio
import time

import pytest

from flowgen.catalog import load_catalog
from flowgen.settings import Settings
from flowgen.workflow import Workflow
from generation.engines.transformers import CheckpointEngine, backend_for
from generation.inputs import step_schema
from generation.model import base_model
from generation.outline import outline_schema, to_plan
from generation.pipeline import InProcess, Pipeline
from retrieval.suggest import Retriever
from tests.conftest import PAPER, assert_max_tokens_is_a_failure, max_calls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> CheckpointEngine:
    """The base model with a freshly initialised LoRA adapter, saved as a training run saves one."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = base_model(Settings())
    adapter = tmp_path_factory.mktemp("checkpoint") / "adapter"
    base = AutoModelForCausalLM.from_pretrained(str(model))
    get_peft_model(base, LoraConfig(r=8, target_modules=["q_proj", "v_proj"])).save_pretrained(str(adapter))
    return CheckpointEngine(model, adapter)


def test_the_adapter_is_applied(engine: CheckpointEngine) -> None:
    from peft import PeftModel

    assert isinstance(engine.hf, PeftModel)


def test_paper_example_is_valid_with_n_plus_one_calls(
    engine: CheckpointEngine, core_retriever: Retriever, run: asyncio.Runner
) -> None:
    result = run.run(Pipeline(engine, InProcess(core_retriever), "compact").run(PAPER, "core"))  # the base model
    assert isinstance(result.answer, Workflow)
    assert result.report is not None and result.report.violations == [], result.report
    assert result.failures == []
    assert 2 <= result.calls <= max_calls(result.answer)


def test_max_tokens_is_a_failure_not_invalid_json(engine: CheckpointEngine, run: asyncio.Runner) -> None:
    assert_max_tokens_is_a_failure(engine, run)


def test_each_constraint_goes_to_its_measured_library() -> None:
    catalog = load_catalog("core")
    outline = outline_schema(catalog, PAPER, ["record_update"], ["look_up_records", "update_record"], ["incident"])
    trigger = {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"}
    step = {"do": "update_record", "a": "Assign them to their manager", "table": "sys_user"}  # the user's record
    plan = to_plan({"trigger": trigger, "steps": [step]})
    inputs, _ = step_schema(catalog, plan, 1, ["sys_user"])
    assert backend_for(outline) == "xgrammar"
    assert backend_for(inputs) == "llguidance"


def test_a_cancelled_call_stops_generating(engine: CheckpointEngine, run: asyncio.Runner) -> None:
    """The cancelled generation (2,000 tokens: minutes here) must not hold the model from the next call."""

    async def cancel_then_call() -> float:
        call = asyncio.ensure_future(engine.complete("Write a long story:", None, max_tokens=2000, min_tokens=2000))
        await asyncio.sleep(1.0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        start = time.perf_counter()
        await engine.complete("Hello", None, max_tokens=2)
        return time.perf_counter() - start

    assert run.run(cancel_then_call()) < 20
