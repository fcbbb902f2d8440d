"""``placement-pci config sample``: the settings, documented from their
declarations, as a commented ini file or as the README's Markdown table."""
from __future__ import annotations

import click

from placement_pci import config_docs


@click.group("config")
def group() -> None:
    """Configuration helpers."""


@group.command("sample")
@click.option("--markdown", is_flag=True,
              help="the README's settings table instead of the commented ini file")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="write to this file instead of standard output")
def sample(markdown: bool, output: str | None) -> None:
    """Print every setting with its default and meaning."""
    text = config_docs.markdown_table() if markdown else config_docs.sample_ini()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)
