"""Scripted stand-ins for the pipeline's two seams (the model and retrieval), for fast tests of what lies
between them: no engine, no index, no embedder."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from flowgen.catalog import Catalog
from flowgen.evaluation.records import Reference
from flowgen.workflow import Workflow
from generation.engines import Completion, GenerationFailed
from training.sft_data import Teacher

_STEP = re.compile(r"\nStep (\d+): ")


class Suggestions:
    """A `Suggester` that always suggests the same steps and tables, and finds every requirement in scope."""

    def __init__(self, catalog: Catalog, steps: list[str], tables: list[str]) -> None:
        self._catalog, self._steps, self._tables = catalog, steps, tables

    async def catalog(self, tenant: str) -> Catalog:
        return self._catalog

    async def steps(self, requirement: str, tenant: str, k: int) -> list[str]:
        return self._steps

    async def tables(self, query: str, tenant: str, k: int) -> list[str]:
        return self._tables

    async def columns(self, table: str, query: str, tenant: str, k: int) -> list[str]:
        return []

    async def in_scope(self, requirement: str) -> float:
        return 1.0


class Scripted:
    """A `Completer` that answers like the reference (training's `Teacher`), except where a step is scripted
    to fail or to answer some other text; later steps answer first, keys in reverse order (assembly must
    restore both orders)."""

    def __init__(
        self, ref: Reference, catalog: Catalog, answers: dict[int | str, str | Exception] | None = None
    ) -> None:
        assert isinstance(ref.expected, Workflow)
        self.teacher = Teacher(ref, catalog, numbered=False)
        self.answers = answers or {}
        self.schemas: list[dict[str, Any]] = []

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        assert schema is not None
        self.schemas.append(schema)
        key: int | str = "outline" if "$defs" in schema else int(_STEP.findall(prompt)[-1])
        if isinstance(key, int):
            await asyncio.sleep(0.01 * (10 - key))
        scripted = self.answers.get(key)
        if isinstance(scripted, Exception):
            raise scripted
        if scripted is not None:
            return Completion(text=scripted, tokens=1, finish_reason="stop")
        answer = json.loads((await self.teacher.complete(prompt, schema, max_tokens)).text)
        text = json.dumps(dict(reversed(answer.items())) if key != "outline" else answer)
        return Completion(text=text, tokens=1, finish_reason="stop")


FAILED = GenerationFailed("scripted failure")
