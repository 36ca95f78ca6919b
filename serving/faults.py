"""Which HTTP status an exception becomes: our own errors carry theirs; a dead or overloaded
replica is 503 (retry later); a request past its deadline is 504; anything else is a 500."""

from __future__ import annotations

from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError

from flowgen.errors import FlowGenError

UNAVAILABLE = (RayActorError, BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError)


def status_of(error: BaseException) -> tuple[int, str, str]:
    """(HTTP status, kind of error, message) for the response body and the error counter."""
    cause = getattr(error, "cause", None)  # a replica's exception, re-raised here by Ray, wraps the original
    original = cause if isinstance(cause, BaseException) else error
    if isinstance(original, FlowGenError):
        return original.status_code, type(original).__name__, str(original)
    if isinstance(error, UNAVAILABLE):
        return 503, "Unavailable", f"a replica is unavailable, retry shortly ({type(error).__name__})"
    if isinstance(error, TimeoutError):
        return 504, "Timeout", "the workflow took longer than the configured request timeout"
    return 500, "InternalError", f"{type(original).__name__}: {original}"
