"""A real Keystone for the test suite, on SQLite under gunicorn.

Set-up (``keystone-manage db_sync``, ``fernet_setup``, ``credential_setup``,
``bootstrap``, then the projects, users and role assignments the tests
use) happens once per test session in a directory every pytest-xdist
worker shares, under a file lock; each worker then runs its own Keystone
server on its own port over that directory, and stops it at the end.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import filelock
import requests

ADMIN_PASSWORD = "admin-secret"
PASSWORD = "user-secret"
DOMAIN = {"id": "default"}
# user -> (project or None for the system, role)
USERS = {
    "placement": ("service", "service"),   # the service user auth_token uses
    "nova": ("service", "service"),        # another service calling placement
    "alice": ("demo", "member"),           # member (implies reader) of demo
    "rita": ("demo", "reader"),            # reader of demo
    "mallory": ("other", "member"),        # member of another project
    "sysreader": (None, "reader"),         # system-scoped reader
}
PROJECTS = ("service", "demo", "other")

KEYSTONE_CONF = """\
[DEFAULT]
log_file = {dir}/keystone.log
[database]
connection = sqlite:///{dir}/keystone.sqlite
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-receipts
[credential]
key_repository = {dir}/credential-keys
"""

# keystone parses sys.argv when its WSGI application is imported.
WSGI_MODULE = """\
import sys
sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
"""

# The four keystone-manage steps in one interpreter (each command on its
# own would pay keystone's import time again).
SETUP_SCRIPT = """\
import os, sys
from keystone.cmd import cli
from keystone.conf import CONF
config, password = sys.argv[1:]
owner = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
for command in (["db_sync"], ["fernet_setup", *owner], ["credential_setup", *owner],
                ["bootstrap", "--bootstrap-password", password]):
    CONF.clear()
    CONF.reset()
    cli.main(argv=["keystone-manage", "--config-file", config, *command])
"""

# A token Keystone itself signed, for a user and project, that expired in
# 2020: what a client holding an old token sends.
EXPIRED_TOKEN_SCRIPT = """\
import base64, sys, uuid
import keystone.conf
from keystone.conf import CONF
from keystone.token import token_formatters
config, user_id, project_id = sys.argv[1:]
keystone.conf.configure()
CONF(args=[], project="keystone", default_config_files=[config])
audit_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
print(token_formatters.TokenFormatter().create_token(
    user_id, "2020-01-01T00:00:00.000000Z", [audit_id],
    token_formatters.ProjectScopedPayload, methods=["password"],
    project_id=project_id))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass
class Keystone:
    """One running Keystone server over the shared directory.  Its catalog
    entry lives in a region of its own (``region``): auth_token finds the
    Identity endpoint through the catalog, and each worker's differs."""
    directory: Path
    url: str
    process: subprocess.Popen
    ids: dict[str, str]
    region: str = ""

    @property
    def config_file(self) -> Path:
        return self.directory / "keystone.conf"

    def token(self, user: str, *, project: str | None = None, system: bool = False,
              password: str | None = None) -> str:
        """A new token for ``user``, scoped to ``project`` or the system."""
        if project is None and not system:
            project = USERS[user][0]
        scope = ({"system": {"all": True}} if system
                 else {"project": {"name": project, "domain": DOMAIN}})
        password = password or (ADMIN_PASSWORD if user == "admin" else PASSWORD)
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": DOMAIN, "password": password}}},
            "scope": scope}}
        response = requests.post(f"{self.url}/v3/auth/tokens", json=body, timeout=30)
        response.raise_for_status()
        return response.headers["X-Subject-Token"]

    def revoke(self, token: str) -> None:
        admin = self.token("admin", project="admin")
        response = requests.delete(f"{self.url}/v3/auth/tokens", timeout=30,
                                   headers={"X-Auth-Token": admin, "X-Subject-Token": token})
        response.raise_for_status()

    def expired_token(self, user: str) -> str:
        """A token Keystone signed for ``user`` that has expired."""
        project = USERS[user][0]
        output = subprocess.run(
            [sys.executable, "-c", EXPIRED_TOKEN_SCRIPT, str(self.config_file),
             self.ids[f"user:{user}"], self.ids[f"project:{project}"]],
            check=True, capture_output=True, text=True, timeout=120)
        return output.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(shared_dir: Path) -> Keystone:
    """Set the shared directory up (once, whoever comes first) and start a
    Keystone server on a free port for this process.  The server boots
    (keystone's imports take seconds) while the set-up runs."""
    shared_dir.mkdir(parents=True, exist_ok=True)
    # Replaced atomically: another worker's Keystone may be reading them.
    _write_atomically(shared_dir / "keystone.conf", KEYSTONE_CONF.format(dir=shared_dir))
    _write_atomically(shared_dir / "keystone_test_wsgi.py", WSGI_MODULE)
    ready = shared_dir / "ready.json"
    process, url, log = _launch(shared_dir)
    try:
        with filelock.FileLock(str(shared_dir / "setup.lock"), timeout=600):
            if not ready.exists():
                subprocess.run([sys.executable, "-c", SETUP_SCRIPT,
                                str(shared_dir / "keystone.conf"), ADMIN_PASSWORD],
                               check=True, capture_output=True, timeout=600)
                _wait_ready(process, url, log)
                ready.write_text(json.dumps(_create_identities(url)))
            _wait_ready(process, url, log)
            keystone = Keystone(directory=shared_dir, url=url, process=process,
                                ids=json.loads(ready.read_text()))
            return _registered(keystone)
    except BaseException:
        process.kill()
        process.wait()
        raise


def _admin_session(url: str) -> tuple[requests.Session, dict]:
    session = requests.Session()
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": DOMAIN, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": DOMAIN}}}}
    response = session.post(f"{url}/v3/auth/tokens", json=body, timeout=30)
    response.raise_for_status()
    session.headers["X-Auth-Token"] = response.headers["X-Subject-Token"]
    return session, response.json()["token"]


def _registered(keystone: Keystone) -> Keystone:
    """Add the server's Identity endpoints, in a region of its own."""
    session, _ = _admin_session(keystone.url)
    keystone.region = f"port-{keystone.url.rsplit(':', 1)[1]}"
    base = f"{keystone.url}/v3"
    session.post(f"{base}/regions", json={"region": {"id": keystone.region}},
                 timeout=30).raise_for_status()
    for interface in ("public", "internal"):
        session.post(f"{base}/endpoints", timeout=30, json={"endpoint": {
            "service_id": keystone.ids["service:identity"], "interface": interface,
            "region_id": keystone.region, "url": base}}).raise_for_status()
    return keystone


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def _launch(shared_dir: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = shared_dir / f"gunicorn-{port}.log"
    env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(shared_dir / "keystone.conf")}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [_bin("gunicorn"), "--chdir", str(shared_dir), "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "8", "--timeout", "120",
             "keystone_test_wsgi:application"],
            env=env, stdout=output, stderr=subprocess.STDOUT)
    return process, url, str(log)


def _wait_ready(process: subprocess.Popen, url: str, log: str) -> None:
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"keystone exited; see {log}")
        try:
            if requests.get(f"{url}/v3", timeout=60).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"keystone did not answer on {url}; see {log}")
        time.sleep(0.3)


def _create_identities(url: str) -> dict[str, str]:
    """The projects, users and role assignments of USERS; their ids."""
    session, admin_token = _admin_session(url)

    def call(method: str, path: str, json_body: dict | None = None) -> dict:
        answer = session.request(method, f"{url}/v3{path}", json=json_body, timeout=30)
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    ids = {f"role:{r['name']}": r["id"] for r in call("GET", "/roles")["roles"]}
    ids["user:admin"] = admin_token["user"]["id"]
    ids["project:admin"] = admin_token["project"]["id"]
    ids["service:identity"] = call("POST", "/services", {"service": {
        "type": "identity", "name": "keystone"}})["service"]["id"]
    for name in PROJECTS:
        ids[f"project:{name}"] = call("POST", "/projects", {"project": {
            "name": name, "domain_id": "default"}})["project"]["id"]
    for user, (project, role) in USERS.items():
        user_id = call("POST", "/users", {"user": {
            "name": user, "domain_id": "default", "password": PASSWORD}})["user"]["id"]
        ids[f"user:{user}"] = user_id
        target = "/system" if project is None else f"/projects/{ids[f'project:{project}']}"
        call("PUT", f"{target}/users/{user_id}/roles/{ids[f'role:{role}']}")
    return ids
