"""The one place that turns `engine.runtime` into an engine; each runtime's libraries load only when chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowgen.console import err
from flowgen.errors import FlowGenError
from flowgen.settings import Settings
from generation.model import edit_adapter, machine_dtype, served_model

from .base import Engine

if TYPE_CHECKING:
    from .vllm import VLLMEngine


def build_engine(settings: Settings) -> Engine:
    """The engine `settings.engine.runtime` names, on the model the settings resolve to."""
    engine = settings.engine
    if engine.runtime != "vllm" and engine.edit_lora is not None:
        raise FlowGenError(f"edit_lora is served by the vllm runtime only, not by {engine.runtime}")
    if engine.runtime == "openai":
        from .openai import OpenAIEngine

        assert engine.openai_url is not None  # EngineSettings' validator
        remote = OpenAIEngine(engine.openai_url, engine.openai_model, engine.openai_api)
        err.print(f"generating with {remote.model} at {remote.url} ({remote.api} API)")
        return remote
    if engine.runtime == "transformers":  # a checkpoint as saved: its adapter applied, not merged
        from .transformers import CheckpointEngine

        model, lora = served_model(settings, merge=False)
        err.print(f"loading {model} in transformers (constraints by outlines)")
        return CheckpointEngine(model, lora, machine_dtype(engine.dtype))
    return start_vllm(settings)


def start_vllm(settings: Settings, ray_metrics: bool = False) -> VLLMEngine:
    """vLLM on the served model, with the edit adapter for the edit stage's calls where there is one."""
    from .vllm import VLLMEngine

    model, lora = served_model(settings)
    edit = edit_adapter(settings)
    also = f", edit scripts by {edit.name}" if edit is not None else ""
    err.print(f"starting the engine on {model}{also} (about two minutes on a 2-core CPU)")
    return VLLMEngine(settings.engine, model, lora, ray_metrics, edit)
