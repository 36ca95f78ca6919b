"""Tenant names: identifiers, never paths. Every way in (HTTP body, path, CLI) takes this one type."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints

from flowgen.errors import InvalidTenantName

TENANT_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_TENANT = re.compile(r"[a-z][a-z0-9_]{0,62}")

TenantName = Annotated[
    str,
    StringConstraints(pattern=TENANT_PATTERN),
    Field(description="A tenant: a lowercase letter, then up to 62 lowercase letters, digits or underscores.",
          examples=["core", "retail"]),
]  # fmt: skip


def is_tenant_name(name: str) -> bool:
    return _TENANT.fullmatch(name) is not None


def check_tenant_name(name: str) -> str:
    """The name itself, if it is an identifier; raises InvalidTenantName (what to change) otherwise."""
    if not is_tenant_name(name):
        raise InvalidTenantName(
            "a tenant name is a lowercase letter, then up to 62 lowercase letters, digits or underscores"
        )
    return name
