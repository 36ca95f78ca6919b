"""The engine and the retriever for one command: started, used on one event loop, then closed in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from flowgen.settings import Settings
from retrieval.suggest import Retriever

from .engines import Engine, build_engine

T = TypeVar("T")


def with_engine(settings: Settings, job: Callable[[Engine, Retriever], Awaitable[T]]) -> T:
    """Run `job` with the configured engine and the retriever (index synced), then close both.

    The engine closes on the loop that used it (a server client's connections cannot outlive that loop),
    and both close before the interpreter exits (their finalizers fail noisily once it is tearing down)."""
    retriever = Retriever.open(settings)
    try:
        retriever.sync_all()
        engine = build_engine(settings)

        async def run_then_close() -> T:
            try:
                return await job(engine, retriever)
            finally:
                await engine.close()

        return asyncio.run(run_then_close())
    finally:
        retriever.index.client.close()
