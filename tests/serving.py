"""A real ``placement-pci serve`` in a subprocess, for tests that need the
production server (gunicorn, its workers, real sockets)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``placement-pci [--config FILE] serve`` on a free port of ``host``;
    the tests talk to it on loopback only."""

    def __init__(self, tmp_path: Path, *, database_url: str, config_file: str | None = None,
                 args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"serve-{self.port}.log"
        command = [str(Path(sys.executable).with_name("placement-pci"))]
        if config_file:
            command += ["--config", config_file]
        command += ["serve", "--bind", f"{host}:{self.port}", *args]
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith("PLACEMENT_PCI_")}
        environment.update({"PLACEMENT_PCI_DATABASE_URL": database_url, **(env or {})})
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=environment, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited:\n{self.log()}")
            try:
                if requests.get(self.url + "/", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve did not answer:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the serve process's children."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self.wait_ready()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")
