"""Every error class of FlowGen's core, catalogs and service, in one hierarchy: client errors (bad input, 4xx)
apart from server errors (5xx, with `retryable`); the HTTP mapping is `serving/faults.py` alone.

A client error's message tells the caller what to change and is shown as it is. A server error's
message says what failed, in words safe to show anyone; what an operator needs (paths, file
contents, a library's own message) goes in `detail`, which only the log gets.
"""

from __future__ import annotations


class FlowGenError(Exception):
    """Root of every error FlowGen raises on purpose."""

    status_code = 500


class ClientError(FlowGenError):
    """The caller's input is wrong; retrying the same input fails the same way."""

    status_code = 400


class WorkflowParseError(ClientError):
    """Text that is not JSON, or JSON that is not a workflow; the message names the field."""

    status_code = 422


class InvalidTenantName(ClientError):
    """A tenant name that is not an identifier (it is never taken as a path)."""

    status_code = 422


class UnknownTenantError(ClientError):
    status_code = 404


class CatalogError(ClientError):
    """A catalog change or document that does not check: entries that point at nothing, duplicates."""

    status_code = 422


class CatalogLimitExceeded(CatalogError):
    """A catalog over one of the configured limits; the message names the limit and the setting."""


class Unauthorized(ClientError):
    """No bearer token, or an unknown one."""

    status_code = 401


class Forbidden(ClientError):
    """Another tenant's catalog, or a scope the token lacks."""

    status_code = 403


class UnknownVersion(ClientError):
    status_code = 404


class UnknownEntry(ClientError):
    """A table or action the tenant's own catalog lacks (core's cannot be deleted)."""

    status_code = 404


class TenantExists(ClientError):
    status_code = 409


class StaleVersion(ClientError):
    """The caller's If-Match names a version that is no longer the current one."""

    status_code = 412


class TooManyRequests(ClientError):
    """The request is fine but its tenant has as many workflows in flight as allowed: send it again after
    `retry_after_s` (the answer's Retry-After), when one of them has finished."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServerError(FlowGenError):
    """Our side failed. `retryable`: whether the same request may succeed later without anyone's fix."""

    status_code = 500
    retryable = False

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class CatalogUnavailable(ServerError):
    """A stored catalog that cannot be read or does not check: an operator must repair it."""

    status_code = 503


class NotReady(ServerError):
    """/readyz: the retriever or the engine did not answer in time (a replica starting, or overloaded)."""

    status_code = 503
    retryable = True


class IndexUnavailable(ServerError):
    """The vector index cannot be reached or does not hold a catalog yet."""

    status_code = 503
    retryable = True
