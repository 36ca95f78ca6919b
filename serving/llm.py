"""The LLM deployment: one vLLM engine per replica, so that the stage-2 calls of every workflow in
flight on the replica are batched together by vLLM's scheduler."""

from __future__ import annotations

from typing import Any

from ray import serve

from flowgen.settings import Settings
from generation.engines import Completion
from generation.engines.factory import start_vllm


@serve.deployment(
    name="llm",
    # Everything admitted queues in vLLM's scheduler, which batches up to max_num_seqs at a time.
    max_ongoing_requests=256,
    ray_actor_options={"num_cpus": 0},
    health_check_period_s=10,
    health_check_timeout_s=30,
)
class LLMServer:
    def __init__(self, settings: Settings) -> None:
        self.engine = start_vllm(settings, ray_metrics=True)

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        return await self.engine.complete(prompt, schema, max_tokens, min_tokens)

    async def complete_edit(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        """An edit script, by the edit adapter where the engine serves one."""
        return await self.engine.editor.complete(prompt, schema, max_tokens, min_tokens)

    def stats(self) -> dict[str, int]:
        """Requests generating now, and requests aborted because their caller went away."""
        return {"running": self.engine.running, "cancelled": self.engine.cancelled}

    async def check_health(self) -> None:
        await self.engine.llm.check_health()  # raises once the engine core has died: Serve restarts us

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()
