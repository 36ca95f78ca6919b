"""The ingress's HTTP API in this process, without Ray: deployment handles are replaced by local objects.

`serve.ingress` turned the Ingress methods into FastAPI routes whose `self` comes from the replica
context; here that context holds an Ingress built on `LocalHandle`s, so the real routes, validation and
error mapping run against collaborators the test chooses.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ray import serve

from flowgen.settings import Settings
from serving.ingress import Ingress, api


class LocalCall:
    """What `handle.method.remote(...)` returns: awaitable (runs the call then), cancellable."""

    def __init__(self, method: Any, args: tuple[Any, ...]) -> None:
        self.method, self.args = method, args

    def __await__(self) -> Any:
        async def call() -> Any:
            result = self.method(*self.args)
            return await result if inspect.isawaitable(result) else result

        return call().__await__()

    def cancel(self) -> None:
        pass


class LocalHandle:
    """A deployment handle whose calls go to an object in this process."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> SimpleNamespace:
        method = getattr(self._target, name)
        return SimpleNamespace(remote=lambda *args: LocalCall(method, args))


@contextmanager
def local_api(monkeypatch: pytest.MonkeyPatch, retriever: object, llm: object, settings: Settings
              ) -> Iterator[TestClient]:  # fmt: skip
    ingress = Ingress.func_or_class.__bases__[0](LocalHandle(retriever), LocalHandle(llm), settings)
    context = SimpleNamespace(servable_object=ingress,  # what @serve.batch reads too
                              _deployment_config=SimpleNamespace(max_ongoing_requests=512))  # fmt: skip
    monkeypatch.setattr(serve, "get_replica_context", lambda: context)
    try:
        with TestClient(api, raise_server_exceptions=False) as client:
            yield client
    finally:
        _forget_batch_queue(retriever)


def _forget_batch_queue(target: object) -> None:
    """A Ray batch queue's `__del__` asks for the current event loop and, on a thread without one, makes a new
    loop that nobody closes (a ResourceWarning, an error under pytest, whenever it is collected); this queue's
    loop (the test client's) is closed already, so its handler task is dropped first."""
    getter = getattr(getattr(target, "_embed", None), "_get_max_batch_size", None)
    queue = getattr(getattr(getter, "__self__", None), "_queue", None)
    if queue is not None:
        queue._handle_batch_task = None
