"""Request bodies from clients that send too much or stall.

- A body larger than ``max_body_bytes`` is refused with 413 as soon as the
  reader passes the limit, whether it came with a Content-Length or
  chunked: nothing past the limit is read, let alone buffered.
- Under ``placement-pci serve`` every socket read has a timeout
  (``client_body_timeout``); a body read that runs into it answers 408
  instead of failing the handler with a 500.

The app closes the connection after either answer rather than draining
the rest of the body.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import flask
import werkzeug.exceptions

READ_SIZE = 64 * 1024


class TimedOutBody(werkzeug.exceptions.RequestTimeout):
    description = "The client did not send the request body in time."


class BodyTooLarge(werkzeug.exceptions.RequestEntityTooLarge):
    pass


class LimitedInput:
    """wsgi.input that stops at ``limit`` bytes: reading past it raises
    413, and a read timeout raises 408."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._consumed = 0

    def _take(self, data: bytes) -> bytes:
        self._consumed += len(data)
        if self._consumed > self._limit:
            raise BodyTooLarge(
                f"Request body is larger than the limit of {self._limit} bytes.")
        return data

    def _read_at_most(self, reader: Callable[[int], bytes], size: int) -> bytes:
        # One byte past what is allowed is enough to know the body is too large.
        wanted = min(size, self._limit - self._consumed + 1)
        try:
            return self._take(reader(wanted))
        except TimeoutError:
            raise TimedOutBody() from None

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while part := self._read_at_most(self._stream.read, READ_SIZE):
                parts.append(part)
            return b"".join(parts)
        return self._read_at_most(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._limit + 1
        return self._read_at_most(self._stream.readline, size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install(app: flask.Flask, max_body_bytes: int) -> None:
    """Wrap ``app.wsgi_app`` so every body read is limited and timed."""
    inner: Callable = app.wsgi_app

    def wsgi_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = LimitedInput(environ["wsgi.input"], max_body_bytes)
        return inner(environ, start_response)

    # Flask documents wrapping wsgi_app as its middleware hook; its stubs
    # declare a method.
    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
