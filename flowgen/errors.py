"""One error hierarchy: client errors (bad input, 4xx) apart from server errors (5xx)."""

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


class UnknownTenantError(ClientError):
    status_code = 404


class CatalogError(ClientError):
    """A catalog file that does not validate, or catalog entries that point at nothing."""

    status_code = 422
