"""Server-side commands: serve, db, openapi."""
from __future__ import annotations

import click

from placement_pci.cli.context import SettingsError, settings_from
from placement_pci.settings import Settings


@click.command()
@click.option("--bind", default=None, help="HOST:PORT to listen on (default 127.0.0.1:8778)")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
@click.option("--threads", type=int, default=None, help="threads per worker")
@click.pass_context
def serve(context: click.Context, bind: str | None, workers: int | None,
          threads: int | None) -> None:
    """Migrate the database if needed and serve the API with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from placement_pci.app import create_app
    from placement_pci.db import migrations
    from placement_pci.db.engine import Database

    settings = settings_from(context, bind=bind, workers=workers, threads=threads)
    _check_policy(settings)
    _check_auth(settings)
    database = Database(settings.database_url)
    migrations.upgrade(database)
    database.dispose()

    class _Server(BaseApplication):
        # Read by the worker class for its client timeouts.
        settings = None

        def load_config(self) -> None:
            self.cfg.set("bind", settings.bind)
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", WORKER_CLASSES[settings.worker_class])
            self.cfg.set("threads", settings.threads)
            self.cfg.set("worker_connections", settings.worker_connections)
            self.cfg.set("accesslog", "-")
            # gunicorn's control socket has one path per user: two servers
            # on a host would fight over it, and serve does not use it.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("timeout", 120)
            # Granular candidate queries get long; 8190 is gunicorn's
            # largest bounded request line (its default is 4094).
            self.cfg.set("limit_request_line", 8190)

        def load(self):  # type: ignore[no-untyped-def]
            return create_app(settings, migrate=False)

    _Server.settings = settings
    click.echo(f"placement-pci serving on http://{settings.bind} "
               f"({settings.workers} workers, database {database.url.render_as_string()})",
               err=True)
    _Server().run()


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
    from placement_pci import policy

    try:
        policy.enforcer_from_settings(
            settings.policy_file, enforce_new_defaults=settings.enforce_new_defaults,
            enforce_scope=settings.enforce_scope)
    except policy.PolicyError as error:
        raise click.UsageError(str(error)) from None


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(context: click.Context) -> None:
    """Apply Alembic migrations to the configured database."""
    from placement_pci.db import migrations
    from placement_pci.db.engine import Database

    settings = settings_from(context)
    database = Database(settings.database_url)
    migrations.upgrade(database)
    database.dispose()
    click.echo("database is at the newest schema revision")


@click.command()
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="write to this file instead of standard output")
def openapi(output: str | None) -> None:
    """Print the OpenAPI document (api-ref/openapi.json is this output)."""
    import json

    from placement_pci.app import create_app
    from placement_pci.openapi import build_document
    from placement_pci.settings import Settings

    app = create_app(Settings(database_url="sqlite://"), migrate=False)
    text = json.dumps(build_document(app), indent=2, sort_keys=True) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
