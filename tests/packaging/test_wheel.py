"""A wheel built from a clean clone installs into a fresh virtualenv and
runs: `db upgrade` on a new SQLite file, then `serve` answers / and
/healthcheck.  Dependencies come from the package index (pip's cache makes
a repeat quick)."""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from tests.functional.test_serve import free_port, get

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_wheel_from_a_clean_clone_installs_and_serves(tmp_path):
    clone = tmp_path / "clone"
    # The committed tree only: what a user's clone holds.
    run("git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
        "--wheel-dir", str(tmp_path / "dist"), str(clone))
    [wheel] = (tmp_path / "dist").glob("placement_pci-*.whl")
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    bin_dir = environment / "bin"
    run(str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel))
    env = {**os.environ, "PLACEMENT_PCI_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Run from elsewhere, so nothing is imported from the source tree.
    run(str(bin_dir / "placement-pci"), "db", "upgrade", env=env, cwd=tmp_path)
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen([str(bin_dir / "placement-pci"), "serve", "--bind",
                               f"127.0.0.1:{port}", "--workers", "1"],
                              env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        import time
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                status, _ = get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
        assert status == 200
        assert get(f"http://127.0.0.1:{port}/healthcheck") == (200, "OK")
    finally:
        server.terminate()
        server.wait(30)
        log.close()
