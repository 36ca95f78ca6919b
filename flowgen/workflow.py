"""The workflow format (spec section 1) and the out-of-scope refusal (section 4), with strict parsing."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from flowgen.errors import WorkflowParseError

_STRICT = ConfigDict(extra="forbid")


class Input(BaseModel):
    model_config = _STRICT
    name: str
    value: str


class Trigger(BaseModel):
    model_config = _STRICT
    annotation: str
    type: str = Field(description="Trigger type id of the tenant's catalog.")
    inputs: list[Input] = []


class Step(BaseModel):
    model_config = _STRICT
    annotation: str
    name: str = Field(description="Action id of the tenant's catalog or a flow-logic id.")
    step: int = Field(description="1..N in list order.")
    parent: int | None = Field(None, description="Step number of the enclosing block.")
    inputs: list[Input] = []


class Workflow(BaseModel):
    model_config = _STRICT
    title: str | None = None
    trigger: Trigger | None
    components: list[Step]

    @model_serializer(mode="wrap")
    def _keep_trigger(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`trigger: null` means "nothing starts this flow": it stays even when None values are dropped."""
        data = handler(self)
        data["trigger"] = data.get("trigger")
        return {key: data[key] for key in ("title", "trigger", "components") if key in data}

    def to_json(self) -> dict:
        """The canonical JSON object: `parent` and `title` only where set."""
        return self.model_dump(mode="json", exclude_none=True)


class OutOfScope(BaseModel):
    """The answer to, or the reference for, a request that asks for no workflow."""

    model_config = _STRICT
    out_of_scope: Literal[True] = True
    reason: str


Answer = Annotated[Workflow | OutOfScope, Field(union_mode="smart")]
_ANSWER = TypeAdapter(Answer)


def parse_answer(data: str | bytes | dict) -> Workflow | OutOfScope:
    """Parse a workflow or a refusal from JSON text or a decoded object.

    Raises WorkflowParseError naming the offending field and what was expected.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise WorkflowParseError(f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    if not isinstance(data, dict):
        raise WorkflowParseError(f"expected a JSON object, got {type(data).__name__}")
    model = OutOfScope if "out_of_scope" in data else Workflow
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise WorkflowParseError(_describe(err, model.__name__)) from err


def parse_workflow(data: str | bytes | dict) -> Workflow:
    answer = parse_answer(data)
    if not isinstance(answer, Workflow):
        raise WorkflowParseError("expected a workflow, got an out-of-scope refusal")
    return answer


def _describe(err: ValidationError, what: str) -> str:
    lines = [f"not a valid {what}:"]
    for item in err.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def answer_schema() -> dict:
    """JSON Schema of what the system answers: a workflow or a refusal."""
    return _ANSWER.json_schema()
