"""Request bodies over the configured size are refused with 413 before they are read whole: at once by
their Content-Length, or as soon as a body sent without one passes the limit while it streams in."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .schemas import ErrorBody


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing lets it through instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(413)


class BodyLimit:
    """ASGI middleware; `limit()` gives the size in bytes (read per request: the settings live in the replica)."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        over = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            received += len(message.get("body", b""))
            over = over or received > limit
            if over:
                raise _TooLarge
            return message

        async def unless_over(message: Message) -> None:
            if not over:  # the app's own answer to the aborted read is replaced by ours
                await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted, unless_over)
        if over:
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        message = f"the request body is over {limit} bytes: send a smaller one"
        body = ErrorBody(error="RequestTooLarge", message=message).model_dump_json(exclude_none=True).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
