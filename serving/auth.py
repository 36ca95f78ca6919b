"""Optional bearer-token auth: each token belongs to one tenant ("*": all), and the core catalog,
read-only, is open to every token. One tenant's token never reads or changes another's catalog."""

from __future__ import annotations

from flowgen.catalog.store import CORE
from flowgen.errors import ClientError


class Unauthorized(ClientError):
    status_code = 401


class Forbidden(ClientError):
    status_code = 403


class Access:
    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def tenant_of(self, authorization: str | None) -> str | None:
        """The caller's tenant ("*" for all); None when authentication is off."""
        if not self.tokens:
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise Unauthorized("missing or unknown bearer token (send 'Authorization: Bearer <token>')")
        return self.tokens[token]

    def name_of(self, authorization: str | None) -> str:
        """Who makes a catalog change, for its version history: "anonymous" when authentication is off."""
        allowed = self.tenant_of(authorization)
        return "anonymous" if allowed is None else "admin" if allowed == "*" else f"token of {allowed}"

    def check(self, authorization: str | None, tenant: str) -> None:
        allowed = self.tenant_of(authorization)
        if allowed not in (None, "*", tenant) and tenant != CORE:
            raise Forbidden(f"this token may not use tenant {tenant!r}")

    def visible(self, authorization: str | None, tenants: list[str]) -> list[str]:
        allowed = self.tenant_of(authorization)
        return tenants if allowed in (None, "*") else [t for t in tenants if t in (CORE, allowed)]
