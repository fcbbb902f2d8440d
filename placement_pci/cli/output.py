"""The options every command takes and the one way commands print.

``--url``, ``--token``, ``--local``, ``-f/--format`` and ``-c/--column``
are attached to every command and group by ``add_global_options`` (so they
work before or after the command name, as a user types them), and all
write to the same place; the root's defaults apply when none is given.

Commands hand ``emit`` the API's document and a view of it: a ``Listing``
(columns and rows) or a ``Record`` (field, value pairs).  ``-f table``
(default) draws the view with rich, ``-f value`` prints its cells for
scripts, ``-f json``/``-f yaml`` print the API's whole document; ``-c``
picks columns (or fields) in every format.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

TOKEN_ENV = "PLACEMENT_PCI_TOKEN"
URL_ENV = "PLACEMENT_PCI_URL"
DEFAULT_TOKEN = "admin"
FORMATS = ("table", "json", "yaml", "value")
OPTIONS_KEY = "global_options"


@dataclass
class GlobalOptions:
    url: str | None = None
    token: str | None = None
    local: bool = False
    format: str = "table"
    columns: list[str] = field(default_factory=list)


def options(context: click.Context) -> GlobalOptions:
    root = context.find_root()
    root.ensure_object(dict)
    found = root.obj.get(OPTIONS_KEY)
    if found is None:
        found = root.obj[OPTIONS_KEY] = GlobalOptions(
            url=os.environ.get(URL_ENV) or None,
            token=os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN)
    return found


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(context: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False or value == ():
            return
        chosen = options(context)
        if name == "columns":
            chosen.columns.extend(value)
        else:
            setattr(chosen, name, value)
    return callback


def _global_parameters() -> list[click.Option]:
    return [
        click.Option(["--url"], default=None, expose_value=False, callback=_store("url"),
                     help=f"service URL (env {URL_ENV})"),
        click.Option(["--token"], default=None, expose_value=False, callback=_store("token"),
                     help=f"X-Auth-Token (env {TOKEN_ENV}; default {DEFAULT_TOKEN}, "
                          "noauth2's admin)"),
        click.Option(["--local"], is_flag=True, default=False, expose_value=False,
                     callback=_store("local"),
                     help="run the API in-process on the configured database"),
        click.Option(["-f", "--format"], type=click.Choice(FORMATS), default=None,
                     expose_value=False, callback=_store("format"),
                     help="output format (default table)"),
        click.Option(["-c", "--column"], multiple=True, expose_value=False,
                     callback=_store("columns"),
                     help="show only this column or field (repeatable)"),
    ]


def add_global_options(command: click.Command) -> None:
    """Give ``command`` and every command below it the global options."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for parameter in _global_parameters():
        if not set(parameter.opts) & taken:
            command.params.append(parameter)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)


# --- views -----------------------------------------------------------------

@dataclass
class Listing:
    columns: list[str]
    rows: list[list[Any]]
    # Shown under the table (table format only): notes, generated XML.
    footer: str = ""


@dataclass
class Record:
    fields: list[tuple[str, Any]]
    footer: str = ""


View = Listing | Record


def cell_text(value: Any) -> str:
    """A cell as text: lists joined with commas, None as -, yes/no."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _select(names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    if not wanted:
        return list(range(len(names)))
    lowered = [name.lower() for name in names]
    picked = []
    for name in wanted:
        if name.lower() not in lowered:
            raise click.UsageError(
                f"no column {name!r}; choose from: {', '.join(names)}")
        picked.append(lowered.index(name.lower()))
    return picked


def render_table(headers: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """A table drawn by rich, as text (cells wrap; nothing is cut off)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, box=box.ASCII, show_lines=False)
    for row in rows:
        table.add_row(*(cell_text(value) for value in row))
    console = Console(width=_width(), color_system=None, highlight=False,
                      force_terminal=False)
    with console.capture() as captured:
        console.print(table)
    return captured.get().rstrip("\n")


def _width() -> int:
    """COLUMNS, else the terminal's width; wide when piped, so scripts
    reading tables see unwrapped cells."""
    import shutil

    try:
        return max(int(os.environ.get("COLUMNS", "")), 40)
    except ValueError:
        return max(shutil.get_terminal_size((250, 24)).columns, 40)


def emit(context: click.Context, document: Any, view: Callable[[Any], View]) -> None:
    """Print ``document`` in the chosen format (see the module docstring)."""
    chosen = options(context)
    if chosen.format in ("json", "yaml") and not chosen.columns:
        _dump(document, chosen.format)
        return
    shown = view(document)
    if isinstance(shown, Record):
        names = [name for name, _ in shown.fields]
        picked = _select(names, chosen.columns)
        pairs = [shown.fields[i] for i in picked]
        if chosen.format in ("json", "yaml"):
            _dump(dict(pairs), chosen.format)
        elif chosen.format == "value":
            for _, value in pairs:
                click.echo(cell_text(value))
        else:
            click.echo(render_table(["Field", "Value"], pairs))
            if shown.footer and not chosen.columns:
                click.echo(shown.footer)
        return
    if not shown.columns:
        # Text that is the answer itself (generated XML): printed as is.
        if chosen.format in ("json", "yaml"):
            _dump(document, chosen.format)
        else:
            click.echo(shown.footer)
        return
    picked = _select(shown.columns, chosen.columns)
    columns = [shown.columns[i] for i in picked]
    rows = [[row[i] for i in picked] for row in shown.rows]
    if chosen.format in ("json", "yaml"):
        _dump([dict(zip(columns, row)) for row in rows], chosen.format)
    elif chosen.format == "value":
        for row in rows:
            click.echo(" ".join(cell_text(value) for value in row))
    else:
        click.echo(render_table(columns, rows))
        if shown.footer and not chosen.columns:
            click.echo(shown.footer)


def _dump(data: Any, output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=True, default_flow_style=False), nl=False)
