"""The one place that turns `engine.runtime` into an engine; each runtime's libraries load only when chosen."""

from __future__ import annotations

from flowgen.console import err
from flowgen.settings import Settings
from generation.model import machine_dtype, served_model

from .base import Engine


def build_engine(settings: Settings) -> Engine:
    """The engine `settings.engine.runtime` names, on the model the settings resolve to."""
    engine = settings.engine
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
    from .vllm import VLLMEngine

    model, lora = served_model(settings)
    err.print(f"starting the engine on {model} (about two minutes on a 2-core CPU)")
    return VLLMEngine(engine, model, lora)
