"""SFT examples for both stages, taken from the pipeline itself so that they match inference exactly.

Each train reference runs through the real `Pipeline` with real retrieval (its suggestions, misses
included, as the paper trained) and a `Teacher` in place of the engine: the teacher records every
prompt and constrained call it is asked for and answers with the reference's own outline or inputs.
The prompts, schemas and step numbering are therefore those the served model will see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel

from flowgen.catalog import Catalog
from flowgen.evaluation.records import Reference
from flowgen.workflow import Workflow
from generation.engines import Completion, GenerationFailed
from generation.outline import Inexpressible, to_outline
from generation.pipeline import InProcess, Pipeline
from generation.prompts import Style

Stage = Literal["outline", "inputs", "edit"]
_STEP_LINE = re.compile(r"\nStep (\d+): ")


class SFTExample(BaseModel):
    id: str
    stage: Stage
    prompt: str
    completion: str


class Teacher:
    """A `Completer` that answers with the reference and records each call as an example."""

    def __init__(self, ref: Reference, catalog: Catalog, numbered: bool) -> None:
        assert isinstance(ref.expected, Workflow)
        self.ref = ref
        self.outline = to_outline(ref.expected, ref.requirement, catalog, numbered)
        parts = ([(0, ref.expected.trigger)] if ref.expected.trigger else []) + [
            (s.step, s) for s in ref.expected.components
        ]
        self.inputs = {n: {i.name: i.value for i in part.inputs} for n, part in parts}
        self.examples: list[SFTExample] = []

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        assert schema is not None
        if "$defs" in schema:  # the outline
            stage, number, answer = "outline", "outline", self.outline
        else:
            step = int(_STEP_LINE.findall(prompt)[-1])
            values = self.inputs.get(step, {})
            missing = [k for k in schema.get("required", []) if k not in values]
            if missing:
                raise GenerationFailed(f"the reference has no value for {missing}")
            stage, number = "inputs", str(step)
            answer = {k: values[k] for k in schema["properties"] if k in values}
        text = json.dumps(answer, separators=(",", ":"))
        self.examples.append(SFTExample(id=f"{self.ref.id}:{number}", stage=stage, prompt=prompt, completion=text))
        return Completion(text=text, tokens=0, finish_reason="stop")


async def examples_of(
    refs: Iterable[Reference], suggester: InProcess, style: Style, tick: Callable[[], None] = lambda: None
) -> tuple[list[SFTExample], list[str]]:
    """Both stages' examples of every reference; the references skipped, with why."""
    out: list[SFTExample] = []
    skipped: list[str] = []
    for ref in refs:
        tick()
        if not isinstance(ref.expected, Workflow):
            continue
        try:
            teacher = Teacher(ref, await suggester.catalog(ref.tenant), numbered=style == "tuned")
        except Inexpressible as error:
            skipped.append(f"{ref.id}: {error}")
            continue
        pipeline = Pipeline(teacher, suggester, style, refuse_below=0, check_answers=False)  # type: ignore[arg-type]
        result = await pipeline.run(ref.requirement, ref.tenant)
        skipped += [f"{ref.id}: {failure}" for failure in result.failures]
        out += teacher.examples
    return out, skipped
