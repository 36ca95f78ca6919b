"""A model's answer is used only in the shape the pipeline asked for.

Constrained decoding makes this hold for our engines, but a hosted model (an OpenAI-compatible server
that ignores or half-enforces the schema) may answer anything: without this check a wrong shape
surfaces later as a KeyError (a 500 in the service, an aborted `flowgen predict`)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .engines import Completion, GenerationFailed

MAX_REASON_CHARS = 200  # an enum's message lists every allowed value


def conforming(completion: Completion, schema: dict[str, Any]) -> Any:
    """The answer's JSON when it validates against `schema`; else `GenerationFailed` saying where it does not."""
    data = completion.json()
    error = best_match(Draft202012Validator(schema).iter_errors(data))
    if error is None:
        return data
    at = "/".join(str(part) for part in error.absolute_path) or "the top level"
    reason = error.message if len(error.message) <= MAX_REASON_CHARS else error.message[:MAX_REASON_CHARS] + "..."
    raise GenerationFailed(f"the answer is not the shape asked for (at {at}: {reason})")
