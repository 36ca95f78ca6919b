"""An OpenAI-compatible server (runtime `openai`), so hosted models (GPT-4o, a 70B behind vLLM) run the same pipeline.

Nothing here imports vllm: a machine that only calls a server needs neither vllm nor a GPU.
"""

from __future__ import annotations

import os
from typing import Any

from openai import APIConnectionError, APIError, AsyncOpenAI, InternalServerError, OpenAI, RateLimitError

from flowgen.settings import OpenAIApi

from .base import Completion, Engine, EngineUnreachable, GenerationFailed


class OpenAIEngine(Engine):
    def __init__(
        self, url: str, model: str | None = None, api: OpenAIApi = "completions", max_retries: int = 2
    ) -> None:
        """`model` unset: the server's first listed model (what a one-model vLLM server serves)."""
        key = os.environ.get("OPENAI_API_KEY", "EMPTY")  # vLLM accepts any key unless started with --api-key
        self.url = url
        self.api = api
        if model is None:
            try:
                with OpenAI(base_url=url, api_key=key, max_retries=max_retries) as sync:
                    model = sync.models.list().data[0].id
            except (APIError, IndexError) as error:
                where = f"{url}: {_reason(error)}"
                raise EngineUnreachable("no model to use at the configured model server", where) from error
        self.model = model
        self.client = AsyncOpenAI(base_url=url, api_key=key, max_retries=max_retries)

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        """Greedy completion, constrained server-side to `schema` when given."""
        extra: dict[str, Any] = {"min_tokens": min_tokens} if min_tokens else {}  # vLLM only; OpenAI rejects it
        try:
            if self.api == "completions":
                if schema is not None:  # vLLM's own field; the legacy guided_json is ignored by vLLM 0.32
                    extra["structured_outputs"] = {"json": schema}
                out = await self.client.completions.create(
                    model=self.model, prompt=prompt, max_tokens=max_tokens, temperature=0.0, extra_body=extra or None
                )
                text, reason, usage = out.choices[0].text, out.choices[0].finish_reason, out.usage
            else:
                fmt: Any = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": False}}
                chat = await self.client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": prompt}],
                    max_completion_tokens=max_tokens,
                    temperature=0.0,
                    response_format=fmt if schema is not None else {"type": "text"},
                    extra_body=extra or None,
                )
                answer = chat.choices[0]
                text, reason, usage = answer.message.content or "", answer.finish_reason, chat.usage
        except RateLimitError as error:
            raise EngineUnreachable("the model server is over its rate limit", self._where(error)) from error
        except (APIConnectionError, InternalServerError) as error:  # a timeout is a connection error
            raise EngineUnreachable("the model server did not answer", self._where(error)) from error
        except APIError as error:
            raise GenerationFailed("the model server refused the request", self._where(error)) from error
        return Completion(text=text, tokens=usage.completion_tokens if usage else 0, finish_reason=reason)

    def _where(self, error: Exception) -> str:
        return f"{self.url} ({self.model}): {_reason(error)}"

    async def close(self) -> None:
        """Close the HTTP connections on the loop that opened them (after that loop ends they would leak)."""
        await self.client.close()


def _reason(error: Exception) -> str:
    """An HTTP error's message names its status ("Error code: 404 - ..."); a connection error has none."""
    return error.message if isinstance(error, APIError) else "the server lists no model"
