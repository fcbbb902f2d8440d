"""What every command reads from the root command: the settings."""
from __future__ import annotations

import click

from placement_pci.settings import Settings


class SettingsError(click.ClickException):
    """A setting that cannot be used: one line on stderr, exit status 2."""
    exit_code = 2


def settings_from(context: click.Context, **overrides: object) -> Settings:
    """Settings from the root ``--config`` file, env and ``overrides``;
    a bad setting is a one-line error, not a traceback."""
    root = context.find_root()
    config_file = (root.obj or {}).get("config_file")
    try:
        return Settings.load(config_file, **overrides)
    except ValueError as error:
        raise SettingsError(str(error)) from None
