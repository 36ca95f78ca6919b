"""Which HTTP answer an exception becomes, in one place.

A client error (4xx) shows its message: what the caller must change. A server error (5xx) shows what
failed, whether to retry, and an error id; the log holds the rest under that id (paths, file contents,
a library's message, the traceback), so that no answer leaks them. A dead or overloaded replica is
503 (retry), a request past its deadline 504, any other exception 500.
"""

from __future__ import annotations

import logging
import uuid

from pydantic import BaseModel
from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError

from flowgen.errors import ClientError, ServerError, TooManyRequests

from .schemas import ErrorBody

UNAVAILABLE = (RayActorError, BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError)
log = logging.getLogger("flowgen.errors")


class Problem(BaseModel):
    status: int
    kind: str
    message: str
    retryable: bool | None = None
    """None for client errors: the same request fails the same way."""
    detail: str = ""
    retry_after_s: int | None = None
    """When to send the same request again (429), as the answer's Retry-After."""


def problem(error: BaseException) -> Problem:
    """What the error is, before anything is shown or logged (also the label of the error counter)."""
    cause = getattr(error, "cause", None)  # a replica's exception, re-raised here by Ray, wraps the original
    original = cause if isinstance(cause, BaseException) else error
    kind = type(original).__name__
    if isinstance(original, ClientError):
        retry_after_s = original.retry_after_s if isinstance(original, TooManyRequests) else None
        return Problem(status=original.status_code, kind=kind, message=str(original), retry_after_s=retry_after_s)
    if isinstance(original, ServerError):
        return Problem(status=original.status_code, kind=kind, message=str(original),
                       retryable=original.retryable, detail=original.detail)  # fmt: skip
    if isinstance(error, UNAVAILABLE):
        return Problem(status=503, kind="Unavailable", message="a replica is unavailable", retryable=True)
    if isinstance(error, TimeoutError):
        return Problem(status=504, kind="Timeout", message="the workflow took longer than the configured request "
                       "timeout", retryable=True)  # fmt: skip
    return Problem(status=500, kind="InternalError", message="the server failed to answer", retryable=False)


def headers(error: BaseException) -> dict[str, str]:
    """The answer's headers beside its body: Retry-After for a 429."""
    retry_after_s = problem(error).retry_after_s
    return {} if retry_after_s is None else {"Retry-After": str(retry_after_s)}


def answer(error: BaseException) -> tuple[int, ErrorBody]:
    """The status and body to send; a 5xx is logged in full under the error id the body carries."""
    found = problem(error)
    if found.retryable is None:
        return found.status, ErrorBody(error=found.kind, message=found.message)
    error_id = uuid.uuid4().hex[:16]
    advice = "retry shortly" if found.retryable else "retrying will not help until it is repaired"
    log.error("error %s: %s %s: %s | %s", error_id, found.status, found.kind, found.message, found.detail,
              exc_info=error)  # fmt: skip
    message = f"{found.message}; {advice} (error id {error_id})"
    return found.status, ErrorBody(error=found.kind, message=message, retryable=found.retryable, error_id=error_id)
