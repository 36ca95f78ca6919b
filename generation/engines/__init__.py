"""Engines behind one interface: `Engine` (complete, close), one module per runtime, built by `build_engine`.

Importing this package loads no runtime: vllm, openai and transformers load with the engine that needs them."""

from .base import Completer, Completion, Engine, EngineUnreachable, GenerationFailed
from .factory import build_engine

__all__ = ["Completer", "Completion", "Engine", "EngineUnreachable", "GenerationFailed", "build_engine"]
