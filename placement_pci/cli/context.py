"""What every command reads from the root command: the settings; and the
one way server-side commands open the database."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from placement_pci.settings import Settings

if TYPE_CHECKING:
    from placement_pci.db.engine import Database


class SettingsError(click.ClickException):
    """A setting that cannot be used: one line on stderr, exit status 2."""
    exit_code = 2


def settings_from(context: click.Context, **overrides: object) -> Settings:
    """Settings from the root ``--config`` file, env and ``overrides``;
    a bad setting is a one-line error, not a traceback."""
    root = context.find_root()
    config_file = (root.obj or {}).get("config_file")
    try:
        return Settings.load(config_file, environ=None, **overrides)
    except ValueError as error:
        raise SettingsError(str(error)) from None


class DatabaseUnavailable(click.ClickException):
    """One line naming the database (without its password) and why."""


def database_error_line(url: str, error: BaseException) -> str:
    import sqlalchemy as sa

    try:
        shown = sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        shown = "(unparsable URL)"
    reason = getattr(error, "orig", None) or error
    text = str(reason).strip().splitlines()
    return f"cannot open the database at {shown}: {text[0] if text else type(reason).__name__}"


def open_database(settings: Settings) -> Database:
    """The configured database, connected once so that a missing or
    unreachable one is a DatabaseUnavailable, not a traceback later."""
    import sqlalchemy as sa

    from placement_pci.db.engine import Database

    try:
        database = Database(settings.database_url, pool_size=settings.database_pool_size,
                            retries=settings.database_retries)
        with database.engine.connect():
            pass
    except (sa.exc.SQLAlchemyError, OSError, ImportError) as error:
        raise DatabaseUnavailable(database_error_line(settings.database_url, error)) from None
    return database
