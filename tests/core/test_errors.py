"""Errors in one place (issue 13, item 7): the error classes of the core, catalogs and service live in
flowgen.errors, each in the client (4xx) or the server (5xx, with `retryable`) family; /readyz past its own
timeout is a 503, not a workflow's 504."""

from __future__ import annotations

import asyncio

import pytest

import flowgen.errors
import serving.ingress  # loads every error class the service can raise
from flowgen.errors import ClientError, FlowGenError, ServerError
from flowgen.settings import Settings
from tests.local_serving import local_api


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_core_catalog_and_service_errors_are_in_one_module_and_one_family() -> None:
    errors = _subclasses(FlowGenError)
    stray = [e.__qualname__ for e in errors if e.__module__.startswith(("flowgen.", "serving."))
             and e.__module__ != flowgen.errors.__name__]  # fmt: skip
    assert stray == []
    for error in (e for e in errors if e.__module__ == flowgen.errors.__name__):
        if issubclass(error, ClientError):
            assert 400 <= error.status_code < 500, error
        else:
            assert issubclass(error, ServerError) and 500 <= error.status_code < 600, error
            assert isinstance(error.retryable, bool)


class Retriever:
    def tenants(self) -> list[str]:
        return ["core"]

    def unavailable_tenants(self) -> list[str]:
        return []


class StuckEngine:
    async def stats(self) -> dict[str, int]:
        await asyncio.sleep(30)
        return {}


def test_readyz_past_its_own_timeout_is_a_retryable_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving.ingress, "READY_TIMEOUT_S", 0.05)
    with local_api(monkeypatch, Retriever(), StuckEngine(), Settings()) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["error"] == "NotReady" and ready.json()["retryable"] is True


def test_a_model_failure_is_a_502_and_an_unreachable_model_server_a_retryable_503() -> None:
    from generation.engines import EngineUnreachable, GenerationFailed
    from serving.faults import answer

    status, body = answer(GenerationFailed("outline: the engine returned invalid JSON", "http://10.0.0.7:8000/v1"))
    assert (status, body.error, body.retryable) == (502, "GenerationFailed", False)
    assert "invalid JSON" in body.message and "10.0.0.7" not in body.message and body.error_id in body.message
    status, body = answer(EngineUnreachable("the model server did not answer", "http://10.0.0.7:8000/v1"))
    assert (status, body.retryable) == (503, True) and "10.0.0.7" not in body.model_dump_json()
