"""What each core trigger, action and flow-logic element is on ServiceNow (`mapping.json`): the SDK's name, the
names its inputs and outputs take there, value translations, or why it has no counterpart. Our ids and input
names stay ours (they are the paper's format and FlowSim compares them); the export translates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", frozen=True)
MAPPING = Path(__file__).parent / "mapping.json"


class InputMap(BaseModel):
    model_config = _STRICT
    to: str | None = None
    """The SDK input it fills; None: none (the export refuses the input, naming the step)."""
    values: dict[str, str] = {}
    """Our choice value -> ServiceNow's."""
    template: str | None = None
    """How the value sits in the SDK input: `{}` is the value, `{other}` another input's translated value
    (`{approval_rule}[{}]`); several templated inputs filling one SDK input are joined with `^`."""
    default: str | None = None
    """Our value when the input is not given, for templates that use it."""
    drop: str | None = None
    """Why the export leaves it out on purpose (ServiceNow takes that information elsewhere)."""
    mismatch: str | None = None
    """A known difference in meaning, translated at export."""
    static: str | None = None
    """Why the SDK takes only a static value here: a value with a data pill is refused at export, naming the step
    (Send Email's body: the SDK's rule TS228)."""


class OutputMap(BaseModel):
    model_config = _STRICT
    to: str | None = None
    """The SDK output, or a dot-walk from one (`task_sla_record.task`); None: none (a data pill to it is refused
    at export, naming the step)."""
    mismatch: str | None = None


def _expand(value: object) -> object:
    return {"to": value} if isinstance(value, str) else value


class StepMap(BaseModel):
    model_config = _STRICT
    sdk: str | None
    """`action.core.lookUpRecords`, `trigger.record.updated`, `wfa.flowLogic.forEach`; None: no counterpart."""
    note: str | None = None
    inputs: dict[str, InputMap] = {}
    outputs: dict[str, OutputMap] = {}
    fixed: dict[str, str] = Field(default_factory=dict, description="SDK inputs the export always sets.")

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _renames(cls, value: dict) -> dict:
        """A plain string is a rename: `"table": "table_name"`."""
        return {name: _expand(item) for name, item in value.items()}


class Mapping(BaseModel):
    model_config = _STRICT
    sdk_version: str
    triggers: dict[str, StepMap]
    actions: dict[str, StepMap]
    flow_logic: dict[str, StepMap]


@lru_cache(maxsize=1)
def load_mapping(path: Path = MAPPING) -> Mapping:
    return Mapping.model_validate_json(path.read_bytes())
