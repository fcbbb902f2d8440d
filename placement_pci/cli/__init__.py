"""The ``placement-pci`` command.

Server-side commands (``serve``, ``db``, ``status``, ``openapi``) live in
``cli/server.py``, ``config sample`` in ``cli/config.py``; the PCI client
commands in ``cli/pci_sync.py`` and ``cli/scheduling.py``, the operator's
``audit`` and ``ledger`` in ``cli/operations.py``; all client
commands talk to the service through the one transport in
``cli/transport.py`` and print through ``cli/output.py``.  Every command is
registered here, explicitly, and every command takes the global options
(``--url``, ``--token``, ``--local``, ``-f``, ``-c``) before or after its
name.
"""
from __future__ import annotations

import sys

import click

from placement_pci import __version__
from placement_pci.cli import config, operations, output, pci_sync, scheduling, server


@click.group()
@click.version_option(__version__, prog_name="placement-pci")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="ini file with a [placement_pci] section")
@click.pass_context
def main(context: click.Context, config_file: str | None) -> None:
    """placement_pci: Placement-compatible PCI scheduling service."""
    context.ensure_object(dict)
    context.obj["config_file"] = config_file


main.add_command(server.serve)
main.add_command(server.db)
main.add_command(server.status)
main.add_command(server.openapi)
main.add_command(config.group)
main.add_command(pci_sync.group)
main.add_command(scheduling.group)
main.add_command(operations.audit_group)
main.add_command(operations.ledger_group)
output.add_global_options(main)


if __name__ == "__main__":
    sys.exit(main())
