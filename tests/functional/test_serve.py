"""A real `placement-pci serve` with two gunicorn workers: /healthcheck,
/metrics counted over both workers, the per-instance control socket."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PLACEMENT_PCI = str(Path(sys.executable).parent / "placement-pci")
ADMIN = {"X-Auth-Token": "admin"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class Server:
    def __init__(self, tmp_path: Path, workers: int, runtime_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ,
               "PLACEMENT_PCI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
               "XDG_RUNTIME_DIR": str(runtime_dir)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = open(tmp_path / f"serve-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [PLACEMENT_PCI, "serve", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", "2"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text()
            try:
                if get(self.url + "/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("serve did not answer in 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    started = Server(tmp_path, workers=2, runtime_dir=Path(tempfile.mkdtemp(prefix="ppci-run-")))
    yield started
    started.stop()


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            found.append((labels, float(match.group(2))))
    return found


def test_two_workers_count_into_one_metrics_answer(server):
    assert get(server.url + "/healthcheck") == (200, "OK")
    assert get(server.url + "/metrics")[0] == 401
    # Concurrent requests until both workers have answered some (bounded).
    sent = 0
    pids: set[str] = set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            statuses = list(pool.map(lambda _: get(server.url + "/resource_providers",
                                                   ADMIN)[0], range(50)))
            assert statuses == [200] * 50
            sent += 50
            status, text = get(server.url + "/metrics", ADMIN)
            assert status == 200
            pids = {labels["pid"] for labels, value in
                    _samples(text, "placement_pci_worker_requests") if value > 0}
            if len(pids) == 2:
                break
    assert len(pids) == 2, "one worker answered every request"
    status, text = get(server.url + "/metrics", ADMIN)
    listed = [value for labels, value in _samples(text, "placement_pci_http_requests_total")
              if labels == {"route": "/resource_providers", "method": "GET",
                            "status": "200"}]
    assert listed == [sent]
    per_worker = _samples(text, "placement_pci_worker_requests")
    total = sum(value for _, value in _samples(text, "placement_pci_http_requests_total"))
    assert sum(value for _, value in per_worker) == total
    assert len({labels["pid"] for labels, _ in per_worker}) >= 2


def test_two_instances_keep_their_own_control_sockets(tmp_path):
    # A Unix socket path has at most 107 bytes: pytest's tmp_path under
    # xdist can be longer, so the runtime directory is a short one.
    runtime = Path(tempfile.mkdtemp(prefix="ppci-run-"))
    first = Server(tmp_path, workers=1, runtime_dir=runtime)
    try:
        second = Server(tmp_path, workers=1, runtime_dir=runtime)
        try:
            # The arbiter opens its socket from a thread: wait for both.
            deadline = time.monotonic() + 30
            while len(list(runtime.glob("*.ctl"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            sockets = sorted(path.name for path in runtime.glob("*.ctl"))
            assert sockets == sorted([f"placement-pci-127.0.0.1_{first.port}.ctl",
                                      f"placement-pci-127.0.0.1_{second.port}.ctl"])
            first.stop()
            assert (runtime / f"placement-pci-127.0.0.1_{second.port}.ctl").exists()
            assert get(second.url + "/healthcheck") == (200, "OK")
        finally:
            second.stop()
    finally:
        first.stop()
