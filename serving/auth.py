"""Optional bearer-token auth: each token has a grant (`flowgen.tokens`): one tenant ("*": all), the scopes
of what it may do, and a name. The core catalog, read-only, is open to every token. One tenant's token never
reads or changes another's catalog, and a token without a scope is refused what needs it (403)."""

from __future__ import annotations

from flowgen.catalog.store import CORE
from flowgen.errors import Forbidden, Unauthorized
from flowgen.tokens import Scope, TokenGrant


class Access:
    def __init__(self, tokens: dict[str, TokenGrant]) -> None:
        self.tokens = tokens

    def grant_of(self, authorization: str | None) -> TokenGrant | None:
        """The caller's grant; None when authentication is off."""
        if not self.tokens:
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise Unauthorized("missing or unknown bearer token (send 'Authorization: Bearer <token>')")
        return self.tokens[token]

    def name_of(self, authorization: str | None) -> str:
        """Who makes a catalog change, for its version history: "anonymous" when authentication is off."""
        grant = self.grant_of(authorization)
        return "anonymous" if grant is None else grant.name

    def require(self, authorization: str | None, scope: Scope) -> TokenGrant | None:
        """The caller's grant if it has `scope`; Forbidden (naming the scope) otherwise."""
        grant = self.grant_of(authorization)
        if grant is not None and scope not in grant.scopes:
            raise Forbidden(f"token {grant.name!r} lacks the {scope!r} scope this request needs")
        return grant

    def check(self, authorization: str | None, tenant: str, scope: Scope = "generate") -> None:
        """May the caller do `scope` on `tenant`'s catalog (generating with it by default)?"""
        grant = self.require(authorization, scope)
        if grant is not None and grant.tenant not in ("*", tenant) and tenant != CORE:
            raise Forbidden(f"this token may not use tenant {tenant!r}")

    def visible(self, authorization: str | None, tenants: list[str]) -> list[str]:
        grant = self.grant_of(authorization)
        return tenants if grant is None or grant.tenant == "*" else [t for t in tenants if t in (CORE, grant.tenant)]
