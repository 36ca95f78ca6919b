"""Predictions for a list of references (what `flowgen eval` scores), resumable, several in flight at once."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from flowgen.errors import FlowGenError
from flowgen.evaluation.records import Cost, Prediction, Reference, write_jsonl
from flowgen.workflow import Workflow

from .pipeline import Pipeline


def source_of(refs: list[Reference], perfect_rag: bool, model: str) -> str:
    """What a predictions file answers: which model, which references (their content), which RAG. A rerun resumes
    only predictions of the same source, so that a retrained adapter or rebuilt data is never scored with the
    answers of the one before (a re-run after a data rebuild once scored old answers against new references)."""
    digest = hashlib.sha256("\n".join(r.model_dump_json() for r in refs).encode()).hexdigest()[:16]
    return json.dumps({"model": model, "references": digest, "perfect_rag": perfect_rag})


def _source_file(path: Path) -> Path:
    return path.with_name(path.name + ".source")


def load_done(path: Path, source: str) -> dict[str, Prediction]:
    """Predictions an earlier run of the same source wrote (none when the file is absent or of another source)."""
    tag = _source_file(path)
    if not (path.is_file() and tag.is_file() and tag.read_text() == source):
        return {}
    return {json.loads(line)["id"]: Prediction.model_validate_json(line) for line in path.read_text().splitlines()}


async def predict_all(
    pipeline: Pipeline, refs: list[Reference], path: Path, model: str, perfect_rag: bool = False,
    concurrency: int = 1, tick: Callable[[], None] = lambda: None,
) -> dict[str, Prediction]:  # fmt: skip
    """Predict every reference not in `path` yet, `concurrency` at a time (the engine batches them); the file
    is rewritten after each answer, so an interrupted run loses nothing. Answers of another model or other
    references in `path` are replaced, not resumed (`source_of`). Timings are per answer: with concurrency above 1
    they include waiting for the others (measure cost at 1)."""
    source = source_of(refs, perfect_rag, model)
    done = load_done(path, source)
    if not done:
        path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        _source_file(path).write_text(source)
    gate = asyncio.Semaphore(concurrency)

    async def one(ref: Reference) -> None:
        expected = [s.name for s in ref.expected.components] if isinstance(ref.expected, Workflow) else []
        if isinstance(ref.expected, Workflow) and ref.expected.trigger:
            expected.append(ref.expected.trigger.type)
        perfect = expected if perfect_rag else None
        async with gate:
            try:
                result = await pipeline.run(ref.requirement, ref.tenant, perfect_steps=perfect)
                done[ref.id] = Prediction(
                    id=ref.id,
                    output=result.answer.model_dump(mode="json", exclude_none=True),
                    cost=Cost(tokens=result.tokens, calls=result.calls, seconds=result.timings),
                )
            except FlowGenError as error:
                done[ref.id] = Prediction(id=ref.id, error=str(error))
        write_jsonl(path, list(done.values()))
        tick()

    await asyncio.gather(*(one(ref) for ref in refs if ref.id not in done))
    return done
