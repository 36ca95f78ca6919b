"""The files evaluation reads: references (dataset examples) and predictions, one JSON object a line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowgen.errors import ClientError
from flowgen.workflow import OutOfScope, Workflow


class Reference(BaseModel):
    """One labelled example: a requirement and the workflow (or refusal) it should produce."""

    model_config = ConfigDict(extra="forbid")
    id: str
    tenant: str = "core"
    requirement: str
    expected: Workflow | OutOfScope
    features: list[str] = []
    source: str = Field("generated", description="'generated' or 'handwritten'.")


class Cost(BaseModel):
    """What producing one answer took on the machine that ran it."""

    model_config = ConfigDict(extra="forbid")
    tokens: int = Field(ge=0, description="Tokens generated, both stages.")
    calls: int = Field(ge=0, description="Model calls, both stages.")
    seconds: dict[str, float] = Field(description="retrieve, outline, inputs, time_to_outline, total.")


class Prediction(BaseModel):
    """What a system answered for a reference id: a workflow or refusal object, or raw model text."""

    model_config = ConfigDict(extra="forbid")
    id: str
    output: dict[str, Any] | str | None = None
    error: str | None = Field(None, description="Why generation produced no output, if it did not.")
    cost: Cost | None = None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise ClientError(f"{path}:{number}: not valid JSON ({err.msg})") from err
            yield item


T = TypeVar("T", bound=BaseModel)


def load_models(path: Path, model: type[T]) -> list[T]:
    if not path.is_file():
        raise ClientError(f"{path}: no such file")
    out = []
    for number, item in enumerate(read_jsonl(path), 1):
        try:
            out.append(model.model_validate(item))
        except ValidationError as err:
            raise ClientError(f"{path}: record {number} is not a {model.__name__}:\n{err}") from err
    return out


def load_references(path: Path) -> list[Reference]:
    refs = load_models(path, Reference)
    seen: set[str] = set()
    for ref in refs:
        if ref.id in seen:
            raise ClientError(f"{path}: reference id {ref.id!r} appears twice")
        seen.add(ref.id)
    return refs


def load_predictions(path: Path) -> dict[str, Prediction]:
    return {pred.id: pred for pred in load_models(path, Prediction)}


def write_jsonl(path: Path, items: list[BaseModel]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(item.model_dump_json(exclude_none=True) + "\n")
    tmp.replace(path)
