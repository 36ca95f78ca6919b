"""Workflows in flight per tenant, so that one tenant's burst cannot take every slot of an ingress replica
(and with them the engine's batch) from the others: over the limit, a request is a 429 with Retry-After."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flowgen.errors import TooManyRequests

RETRY_AFTER_S = 2
"""A workflow takes seconds here: by then one of the tenant's is likely done."""


class TenantSlots:
    """Counts on one replica's event loop (no lock needed: taking and releasing never await)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy: Counter[str] = Counter()

    def take(self, tenant: str) -> Callable[[], None]:
        """A slot for one workflow of `tenant`, or TooManyRequests; returns what releases it (call it once)."""
        if self.busy[tenant] >= self.limit:
            raise TooManyRequests(
                f"tenant {tenant!r} has {self.limit} workflows in flight, the most allowed: retry after "
                f"{RETRY_AFTER_S} s (setting FLOWGEN_SERVING__MAX_WORKFLOWS_PER_TENANT)",
                RETRY_AFTER_S,
            )
        self.busy[tenant] += 1

        def release() -> None:
            self.busy[tenant] -= 1
            if not self.busy[tenant]:
                del self.busy[tenant]

        return release

    @contextmanager
    def held(self, tenant: str) -> Iterator[None]:
        """A slot for the duration of the block (a request answered at once; a stream releases on its own)."""
        release = self.take(tenant)
        try:
            yield
        finally:
            release()
