"""The gunicorn worker ``placement-pci serve`` runs by default.

A gthread worker gives each connection a thread from the moment its first
bytes arrive: a few dozen clients that send half a request line (or half
a body) and stall hold every thread, and nobody else is served.  A gevent
worker gives each connection a greenlet instead, so stalled clients cost
little; this subclass also closes them after a bounded time:

- the request line and headers must arrive within ``client_header_timeout``
  seconds (gunicorn's own gevent worker bounds this by ``keepalive``);
- while a body arrives, no read may wait longer than
  ``client_body_timeout`` seconds (a socket timeout, which the app answers
  with 408).
"""
from __future__ import annotations

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

DEFAULT_HEADER_TIMEOUT = 10
DEFAULT_BODY_TIMEOUT = 30


class BoundedGeventWorker(GeventWorker):
    """GeventWorker with header and body read timeouts from the settings
    of the application it serves (``app.settings``)."""

    def _setting(self, name: str, default: int) -> int:
        settings = getattr(self.app, "settings", None)
        return int(getattr(settings, name, default))

    def timeout_ctx(self):  # type: ignore[no-untyped-def]
        # Around reading each request's line and headers; on expiry the
        # parser yields nothing and the connection is closed.
        return gevent.Timeout(self._setting("client_header_timeout",
                                            DEFAULT_HEADER_TIMEOUT), False)

    def handle(self, listener, client, addr):  # type: ignore[no-untyped-def]
        # GeventWorker.handle only makes the socket blocking; a timeout
        # instead bounds every read (and write) on the connection.
        client.settimeout(self._setting("client_body_timeout", DEFAULT_BODY_TIMEOUT))
        AsyncWorker.handle(self, listener, client, addr)
