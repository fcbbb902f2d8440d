"""Server-side commands: serve, db (upgrade, current, check), status, openapi."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from placement_pci.cli.context import (
    DatabaseUnavailable,
    SettingsError,
    open_database,
    settings_from,
)
from placement_pci.settings import Settings

if TYPE_CHECKING:
    import flask

# oslo.upgradecheck's exit codes.
SUCCESS, WARNING, FAILURE = 0, 1, 2
RESULT_NAMES = {SUCCESS: "Success", WARNING: "Warning", FAILURE: "Failure"}


@click.command()
@click.option("--bind", default=None, help="HOST:PORT to listen on (default 127.0.0.1:8778)")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
@click.option("--threads", type=int, default=None, help="threads per worker")
@click.option("--migrate", is_flag=True,
              help="upgrade a PostgreSQL/MariaDB schema that is behind (SQLite always is)")
@click.pass_context
def serve(context: click.Context, bind: str | None, workers: int | None,
          threads: int | None, migrate: bool) -> None:
    """Serve the API with gunicorn.

    The embedded SQLite database is migrated first.  On PostgreSQL and
    MariaDB a schema behind this code's refuses to start unless --migrate
    is given, so many API hosts never race each other's migrations: run
    `placement-pci db upgrade` once instead.
    """
    # Before anything imports prometheus_client: each worker then writes
    # its metrics to files in this instance's directory.
    metrics_dir = tempfile.mkdtemp(prefix="placement-pci-metrics-")
    previous = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _serve(context, bind, workers, threads, migrate)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if previous is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = previous


def _serve(context: click.Context, bind: str | None, workers: int | None,
           threads: int | None, migrate: bool) -> None:
    from gunicorn.app.base import BaseApplication

    from placement_pci import metrics
    from placement_pci.app import create_app
    from placement_pci.db import migrations

    settings = settings_from(context, bind=bind, workers=workers, threads=threads)
    _check_policy(settings)
    _check_auth(settings)
    database = open_database(settings)
    try:
        migrations.prepare_for_serving(database, migrate=migrate)
    except migrations.SchemaBehind as error:
        raise click.ClickException(f"{error} (or `serve --migrate`)") from None
    shown_url = database.url.render_as_string()
    database.dispose()
    control_socket = _control_socket_path(settings)

    class _Server(BaseApplication):
        # Read by the worker class for its client timeouts.
        settings: Settings | None = None

        def load_config(self) -> None:
            self.cfg.set("bind", settings.bind)
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", WORKER_CLASSES[settings.worker_class])
            self.cfg.set("threads", settings.threads)
            self.cfg.set("worker_connections", settings.worker_connections)
            self.cfg.set("timeout", 120)
            # Granular candidate queries get long; 8190 is gunicorn's
            # largest bounded request line (its default is 4094).
            self.cfg.set("limit_request_line", 8190)
            # No access log: the app logs one richer line per request.
            self.cfg.set("child_exit", _child_exit)
            if settings.metrics_bind:
                self.cfg.set("when_ready", _start_metrics_server(settings.metrics_bind))
            if "control_socket" in self.cfg.settings:  # gunicorn 25.1+
                if control_socket is None:
                    self.cfg.set("control_socket_disable", True)
                else:
                    self.cfg.set("control_socket", control_socket)

        def load(self) -> flask.Flask:
            return create_app(settings, migrate=False)

    _Server.settings = settings
    click.echo(f"placement-pci serving on http://{settings.bind} "
               f"({settings.workers} workers, database {shown_url})", err=True)
    del metrics  # imported above so the master picks multiprocess mode
    _Server().run()


def _child_exit(_server: object, worker: object) -> None:
    from placement_pci import metrics

    metrics.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def _start_metrics_server(address: str) -> Callable[[object], None]:
    host, _, port = address.rpartition(":")

    def when_ready(_server: object) -> None:
        from prometheus_client import start_http_server

        from placement_pci import metrics

        start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0",
                          registry=metrics.registry())
    return when_ready


def _control_socket_path(settings: Settings) -> str | None:
    """gunicorn's control socket: one per instance (gunicorn's default is one
    per user, so a second instance would take over and later delete the
    first's).  The bind address makes the name unique among live servers."""
    if settings.control_socket == "off":
        return None
    if settings.control_socket:
        return settings.control_socket
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".gunicorn")
    name = "".join(c if c.isalnum() or c in ".-" else "_" for c in settings.bind)
    path = str(Path(base) / f"placement-pci-{name}.ctl")
    if len(os.fsencode(path)) >= UNIX_SOCKET_PATH_MAX:
        # gunicorn would fail to bind it quietly; say so instead.
        raise click.UsageError(
            f"control socket path {path} is longer than a Unix socket path may be "
            f"({UNIX_SOCKET_PATH_MAX - 1} bytes): set control_socket to a shorter "
            "path, or off")
    return path


# sun_path of struct sockaddr_un on Linux, including the terminating NUL.
UNIX_SOCKET_PATH_MAX = 108


# Settings.worker_class -> the gunicorn worker (see cli/workers.py for why
# gevent is the default).
WORKER_CLASSES = {"gevent": "placement_pci.cli.workers.BoundedGeventWorker",
                  "gthread": "gthread"}


def _check_auth(settings: Settings) -> None:
    """Refuse to start keystone auth without its configuration; warn
    when noauth2 listens beyond loopback."""
    from placement_pci.http import auth

    if settings.auth_strategy == "keystone":
        try:
            auth.keystone_config(settings)
        except ValueError as error:
            raise SettingsError(str(error)) from None
    auth.warn_if_exposed(settings)


def _check_policy(settings: Settings) -> None:
    """Refuse to start on a policy file that does not load, with its
    message, before gunicorn hides it behind worker boot failures."""
    error = _policy_error(settings)
    if error:
        raise click.UsageError(error)


def _policy_error(settings: Settings) -> str | None:
    from placement_pci import policy

    try:
        policy.enforcer_from_settings(
            settings.policy_file, enforce_new_defaults=settings.enforce_new_defaults,
            enforce_scope=settings.enforce_scope)
    except policy.PolicyError as error:
        return str(error)
    return None


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(context: click.Context) -> None:
    """Apply Alembic migrations to the configured database."""
    from placement_pci.db import migrations

    database = open_database(settings_from(context))
    migrations.upgrade(database)
    database.dispose()
    click.echo("database is at the newest schema revision")


def _revisions(context: click.Context) -> tuple[frozenset[str], frozenset[str]]:
    from placement_pci.db import migrations

    database = open_database(settings_from(context))
    try:
        return migrations.current_revisions(database), migrations.head_revisions()
    finally:
        database.dispose()


def _shown(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty database)"


@db.command("current")
@click.pass_context
def db_current(context: click.Context) -> None:
    """Print the database's schema revision and this code's newest."""
    current, head = _revisions(context)
    click.echo(f"current: {_shown(current)}")
    click.echo(f"head:    {_shown(head)}")


@db.command("check")
@click.pass_context
def db_check(context: click.Context) -> None:
    """Exit 0 when the schema is at head, 1 when migrations are pending."""
    current, head = _revisions(context)
    if current == head:
        click.echo(f"schema is at head ({_shown(head)})")
        return
    click.echo(f"migrations pending: database at {_shown(current)}, head is "
               f"{_shown(head)}; run `placement-pci db upgrade`", err=True)
    context.exit(1)


# --- status ------------------------------------------------------------------

def status_checks(context: click.Context) -> list[tuple[str, int, str]]:
    """(check, result code, details) as `placement-status upgrade check`."""
    from placement_pci.db import migrations

    checks: list[tuple[str, int, str]] = []
    try:
        settings = settings_from(context)
    except click.UsageError as error:
        return [("Settings", FAILURE, error.message)]
    checks.append(("Settings", SUCCESS, "settings load"))
    policy_error = _policy_error(settings)
    checks.append(("Policy file", FAILURE if policy_error else SUCCESS,
                   policy_error or (settings.policy_file or "defaults only")))
    try:
        database = open_database(settings)
    except DatabaseUnavailable as error:
        checks.append(("Database", FAILURE, error.message))
        return checks
    try:
        checks.append(("Database", SUCCESS, f"{database.backend} reachable"))
        current = migrations.current_revisions(database)
        head = migrations.head_revisions()
        backend = database.backend
    finally:
        database.dispose()
    if current == head:
        checks.append(("Schema", SUCCESS, f"at head {_shown(head)}"))
    elif current - migrations.known_revisions():
        checks.append(("Schema", FAILURE, f"database at {_shown(current)}, newer than "
                       f"this code ({_shown(head)})"))
    else:
        code = WARNING if backend == "sqlite" else FAILURE
        checks.append(("Schema", code, f"migrations pending: database at {_shown(current)}, "
                       f"head is {_shown(head)}; run `placement-pci db upgrade`"))
    return checks


@click.command()
@click.pass_context
def status(context: click.Context) -> None:
    """Upgrade readiness: settings, policy file, database, schema.

    Exit code as oslo.upgradecheck: 0 all fine, 1 a warning (a SQLite
    schema that `serve` will migrate), 2 a failure.
    """
    from placement_pci.cli import output

    checks = status_checks(context)
    worst = max(code for _, code, _ in checks)
    document = {"checks": [{"check": name, "result": RESULT_NAMES[code], "details": details}
                           for name, code, details in checks],
                "result": RESULT_NAMES[worst]}
    output.emit(context, document, lambda d: output.Listing(
        ["Check", "Result", "Details"],
        [[c["check"], c["result"], c["details"]] for c in d["checks"]]))
    context.exit(worst)


@click.command()
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="write to this file instead of standard output")
def openapi(output: str | None) -> None:
    """Print the OpenAPI document (api-ref/openapi.json is this output)."""
    import json

    from placement_pci.app import create_app
    from placement_pci.openapi import build_document

    app = create_app(Settings(database_url="sqlite://", log_level="WARNING"), migrate=False)
    text = json.dumps(build_document(app), indent=2, sort_keys=True) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
