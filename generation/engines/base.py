"""What every engine shares: the completion it returns, the interface the pipeline calls, its one failure."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, Protocol

from pydantic import BaseModel

from flowgen.errors import ServerError


class GenerationFailed(ServerError):
    """The model gave no usable answer (cut off, not JSON, not the shape asked for, or the engine refused): a 502
    with an error id at the service's edge. The message is about the answer; the engine's address and a library's
    own message go in `detail`, which only the log and the operator's terminal get."""

    status_code = 502


class EngineUnreachable(GenerationFailed):
    """The model server did not answer (down, restarting, overloaded): the same request may succeed later."""

    status_code = 503
    retryable = True


class Completion(BaseModel):
    text: str
    tokens: int
    finish_reason: str | None

    def json(self) -> Any:  # type: ignore[override]
        """The constrained answer; a cut-off one (max_tokens) is a clear failure, never half-parsed."""
        if self.finish_reason == "length":
            raise GenerationFailed(f"the answer hit max_tokens after {self.tokens} tokens (ends: {self.text[-120:]!r})")
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as err:
            raise GenerationFailed(f"the engine returned invalid JSON: {err.msg}") from err


class Completer(Protocol):
    """What the pipeline needs of a model: an `Engine`, a Serve deployment's handle, or a test's script."""

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion: ...


class Engine(ABC):
    """A runtime that runs the model (generation/engines/<runtime>.py), built by `factory.build_engine`."""

    @abstractmethod
    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        """Greedy completion, constrained to `schema` when given."""

    @property
    def editor(self) -> Completer:
        """What writes the edit stage's scripts: the engine itself, unless it serves an edit adapter (vllm.py)."""
        return self

    @abstractmethod
    async def close(self) -> None:
        """Release what the engine holds, on the loop that used it (a client's connections belong to that loop)."""
