"""Clients that send half a request and wait must not stop others from
being served, and are disconnected after a bounded time (a real
``placement-pci serve``: gunicorn, its workers and real sockets)."""
from __future__ import annotations

import contextlib
import socket
import time

import requests

from tests.serving import Server

SLOW_CONNECTIONS = 64
PROBES = 20
TIMEOUT_SECONDS = 3


def _half_request_line(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /resource_provi")
    return sock


def _half_body(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    body = b'{"name": "slow", "uuid": "'
    sock.sendall(b"POST /resource_providers HTTP/1.1\r\nHost: x\r\n"
                 b"X-Auth-Token: admin\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n" + body)
    return sock


def _trickled_body(port: int) -> socket.socket:
    """Headers, then a body one byte at a time, each well inside the body
    timeout (see _trickle): only a deadline for the whole body stops it."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /resource_providers HTTP/1.1\r\nHost: x\r\n"
                 b"X-Auth-Token: admin\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    return sock


def _trickle(socks: list[socket.socket], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b" ")
        time.sleep(0.5)


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes the connection before ``deadline``
    (an answer such as 408 may come first)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False


def test_stalled_clients_neither_block_others_nor_stay_open(tmp_path, sqlite_database):
    url = sqlite_database.url.render_as_string(hide_password=False)
    env = {"PLACEMENT_PCI_CLIENT_HEADER_TIMEOUT": str(TIMEOUT_SECONDS),
           "PLACEMENT_PCI_CLIENT_BODY_TIMEOUT": str(TIMEOUT_SECONDS)}
    with Server(tmp_path, database_url=url, env=env) as server:
        kinds = (_half_request_line, _half_body, _trickled_body)
        slow = [kinds[i % 3](server.port) for i in range(SLOW_CONNECTIONS)]
        trickled = slow[2::3]
        try:
            time.sleep(0.5)  # let the server take them all in
            answered = 0
            for _ in range(PROBES):
                response = requests.get(server.url + "/", timeout=2)
                answered += response.status_code == 200
            assert answered == PROBES
            # Trickling clients keep sending, each byte well inside the
            # per-read timeout, for longer than the whole-body deadline.
            _trickle(trickled, TIMEOUT_SECONDS * 2)
            # ... and were cut off meanwhile, not once they went quiet.
            soon = time.monotonic() + 0.5
            assert sum(_closed_by_server(sock, soon) for sock in trickled) == len(trickled)
            # Every stalled connection is closed by the server, in bounded time.
            deadline = time.monotonic() + TIMEOUT_SECONDS + 10
            closed = sum(_closed_by_server(sock, deadline) for sock in slow)
            assert closed == SLOW_CONNECTIONS
            # Stalled bodies get a 408, not an internal error.
            assert "Traceback" not in server.log()
            # The app's one line per request records the 408.
            assert '"POST /resource_providers" route=/resource_providers status=408' \
                in server.log()
        finally:
            for sock in slow:
                sock.close()
