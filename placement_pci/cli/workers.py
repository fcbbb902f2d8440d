"""The gunicorn worker ``placement-pci serve`` runs by default.

A gthread worker gives each connection a thread from the moment its first
bytes arrive: a few dozen clients that send half a request line (or half
a body) and stall hold every thread, and nobody else is served.  A gevent
worker gives each connection a greenlet instead, so stalled clients cost
little; this subclass also closes them after a bounded time:

- the request line and headers must arrive within ``client_header_timeout``
  seconds (gunicorn's own gevent worker bounds this by ``keepalive``);
- the body must arrive within ``client_body_timeout`` seconds of the
  headers, however it trickles in, and no socket read or write waits
  longer than that either.  The app answers a body read that runs out of
  time with 408 and closes the connection.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

DEFAULT_HEADER_TIMEOUT = 10
DEFAULT_BODY_TIMEOUT = 30


class BoundedGeventWorker(GeventWorker):
    """GeventWorker with header and body read timeouts from the settings
    of the application it serves (``app.settings``)."""

    wsgi: Callable

    def _setting(self, name: str, default: int) -> int:
        settings = getattr(self.app, "settings", None)
        return int(getattr(settings, name, default))

    def timeout_ctx(self) -> gevent.Timeout:
        # Around reading each request's line and headers; on expiry the
        # parser yields nothing and the connection is closed.
        return gevent.Timeout(self._setting("client_header_timeout",
                                            DEFAULT_HEADER_TIMEOUT), False)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _with_body_deadline(
            self.wsgi, self._setting("client_body_timeout", DEFAULT_BODY_TIMEOUT))

    def handle(self, listener: socket.socket, client: socket.socket, addr: object) -> None:
        # GeventWorker.handle only makes the socket blocking; a timeout
        # instead bounds every read (and write) on the connection.
        client.settimeout(self._setting("client_body_timeout", DEFAULT_BODY_TIMEOUT))
        AsyncWorker.handle(self, listener, client, addr)


class _DeadlineInput:
    """wsgi.input whose reads raise TimeoutError past ``deadline``."""

    def __init__(self, stream: IO[bytes], deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _call(self, method: Callable[..., bytes], *args: int) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request body deadline passed")
        with gevent.Timeout(remaining, TimeoutError):
            return method(*args)

    def read(self, *args: int) -> bytes:
        return self._call(self._stream.read, *args)

    def readline(self, *args: int) -> bytes:
        return self._call(self._stream.readline, *args)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _with_body_deadline(app: Callable, seconds: int) -> Callable:
    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"],
                                               time.monotonic() + seconds)
        return app(environ, start_response)
    return wsgi
