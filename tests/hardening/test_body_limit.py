"""A body past max_body_bytes is refused with 413 while it arrives,
chunked or not, without the worker buffering it (a real server)."""
from __future__ import annotations

import socket
import threading
import time

from tests.serving import Server, rss_kib

UPLOAD_BYTES = 256 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)


def _chunked_upload(port: int, total: int) -> tuple[bytes, int]:
    """POST ``total`` bytes in 1 MiB chunks, reading the answer meanwhile;
    the answer and how many bytes the server took before it stopped us."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /resource_providers HTTP/1.1\r\n"
                 b"Host: x\r\nX-Auth-Token: admin\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    sent = 0
    answer = bytearray()

    def read() -> None:
        sock.settimeout(120)
        try:
            while data := sock.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    frame = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
    try:
        while sent < total and not answer:
            sock.sendall(frame)
            sent += len(CHUNK)
        if not answer:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection on us: expected
    reader.join(timeout=120)
    sock.close()
    return bytes(answer), sent


def test_chunked_body_past_the_limit_is_413_without_buffering(tmp_path, sqlite_database):
    url = sqlite_database.url.render_as_string(hide_password=False)
    with Server(tmp_path, database_url=url, args=("--workers", "1")) as server:
        (worker,) = server.worker_pids()
        before = rss_kib(worker)
        answer, sent = _chunked_upload(server.port, UPLOAD_BYTES)
        time.sleep(0.5)
        grown_kib = rss_kib(worker) - before
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"status": 413' in answer
    # Refused near the limit (1 MiB), not after taking in the whole upload.
    assert sent < UPLOAD_BYTES // 4
    assert grown_kib < UPLOAD_BYTES // 1024 // 8, f"worker grew by {grown_kib} KiB"
