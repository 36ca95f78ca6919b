"""The edit script: what the model writes instead of a new workflow.

Steps are named by their numbers in the workflow as it was before the edit (0: the trigger), for every
operation of a script, so that the model never has to track renumbering. Data pills in values written
by the script use the same numbers; `{{new_K.output}}` names the K-th step the script creates (in the
order the operations create them, pre-order inside each).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid")
NO_CHANGE = "no change needed"
CANNOT = "the catalog cannot do this"
WRAPPERS = ("if", "for_each", "try")


class NewStep(BaseModel):
    """A step the script adds; `inputs` None: stage 2 writes them (a given `table` is kept)."""

    model_config = _STRICT
    do: str = Field(description="Action id of the tenant's catalog or a flow-logic id.")
    a: str = Field("", description="Annotation: the part of the instruction this step implements.")
    table: str | None = None
    inputs: dict[str, str] | None = None
    then: list[NewStep] = Field([], description="Steps inside, for a block.")


class InsertAfter(BaseModel):
    """New steps right after step `step` (after its block's children, at its own level)."""

    model_config = _STRICT
    op: Literal["insert_after"] = "insert_after"
    step: int = Field(ge=1)
    steps: list[NewStep] = Field(min_length=1)


class InsertBefore(BaseModel):
    model_config = _STRICT
    op: Literal["insert_before"] = "insert_before"
    step: int = Field(ge=1)
    steps: list[NewStep] = Field(min_length=1)


class InsertInto(BaseModel):
    """New steps at the end of block `step`."""

    model_config = _STRICT
    op: Literal["insert_into"] = "insert_into"
    step: int = Field(ge=1)
    steps: list[NewStep] = Field(min_length=1)


class Delete(BaseModel):
    """Remove step `step` with every step inside it."""

    model_config = _STRICT
    op: Literal["delete"] = "delete"
    step: int = Field(ge=1)


class Unwrap(BaseModel):
    """Remove block `step` but keep the steps inside it, one level up."""

    model_config = _STRICT
    op: Literal["unwrap"] = "unwrap"
    step: int = Field(ge=1)


class Replace(BaseModel):
    """Put new steps in place of step `step`; pills to it then name the first new step. A block replaced by
    one block written without steps inside keeps the old block's steps."""

    model_config = _STRICT
    op: Literal["replace"] = "replace"
    step: int = Field(ge=1)
    steps: list[NewStep] = Field(min_length=1)


class Wrap(BaseModel):
    """Put steps `first`..`last` (siblings) inside a new block; a `try` also gets its `catch` steps."""

    model_config = _STRICT
    op: Literal["wrap"] = "wrap"
    first: int = Field(ge=1)
    last: int = Field(ge=1)
    block: Literal["if", "for_each", "try"]
    a: str = ""
    inputs: dict[str, str] | None = None
    catch: list[NewStep] = []


class SetInput(BaseModel):
    """Change (or add) input `input` of step `step` (0: the trigger); `value` None: stage 2 writes it."""

    model_config = _STRICT
    op: Literal["set"] = "set"
    step: int = Field(ge=0)
    input: str
    value: str | None = None


EditOp = Annotated[
    InsertAfter | InsertBefore | InsertInto | Delete | Unwrap | Replace | Wrap | SetInput, Field(discriminator="op")
]


class EditScript(BaseModel):
    """Operations, applied in order; or an answer saying why the workflow stays as it is."""

    model_config = _STRICT
    ops: list[EditOp] = []
    answer: Literal["no change needed", "the catalog cannot do this"] | None = None
