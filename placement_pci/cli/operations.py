"""``placement-pci audit ...`` and ``placement-pci ledger ...``: the
operator's view of what disagrees, how to heal it, and who changed what.

``audit`` and ``ledger list`` call the HTTP API (the global ``--url``/
``--token``, or ``--local`` for an in-process app on the configured
database) and print through ``cli/output.py``, like every client command;
``ledger prune`` works on the database directly, as ``db upgrade`` does,
applying the retention settings.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import click

from placement_pci.cli.context import settings_from
from placement_pci.cli.output import Listing, emit
from placement_pci.cli.transport import api_from


def _query(**values: Any) -> str:
    given = {key: value for key, value in values.items() if value is not None}
    return "?" + urllib.parse.urlencode(given) if given else ""


def _allocations_text(allocations: dict[str, Any]) -> str:
    return "; ".join(
        f"{provider[:8]}: " + ", ".join(f"{name}={amount}" for name, amount
                                        in sorted(entry["resources"].items()))
        for provider, entry in sorted(allocations.items())) or "-"


# --- ledger ---------------------------------------------------------------------------

@click.group("ledger")
def ledger_group() -> None:
    """The allocation ledger: list entries, prune old ones."""


def _ledger_view(document: dict) -> Listing:
    rows = [[e["seq"], e["time"], e["consumer_uuid"], e["action"],
             _allocations_text(e["before"]), _allocations_text(e["after"]),
             e["user_id"], e["request_id"]] for e in document["entries"]]
    return Listing(["Seq", "Time", "Consumer", "Action", "Before", "After", "User",
                    "Request id"], rows, footer=f"next since: {document['next_since']}")


@ledger_group.command("list")
@click.option("--consumer", "consumer_uuid", default=None)
@click.option("--hostname", default=None)
@click.option("--since", type=int, default=None,
              help="first sequence number (a stored next_since)")
@click.option("--limit", type=int, default=None)
@click.pass_context
def ledger_list(context: click.Context, consumer_uuid: str | None,
                hostname: str | None, since: int | None, limit: int | None) -> None:
    """Ledger entries, oldest first."""
    document = api_from(context).call("GET", "/pci/ledger" + _query(
        consumer_uuid=consumer_uuid, hostname=hostname, since=since, limit=limit))
    emit(context, document, _ledger_view)


@ledger_group.command("prune")
@click.option("--days", type=int, default=None,
              help="drop entries older than this (default: setting "
                   "ledger_retention_days)")
@click.option("--entries", type=int, default=None,
              help="keep only this many newest entries (default: setting "
                   "ledger_retention_entries)")
@click.pass_context
def ledger_prune(context: click.Context, days: int | None, entries: int | None) -> None:
    """Delete ledger entries beyond the retention (on the database)."""
    from placement_pci.db.engine import Database
    from placement_pci.store import ledger

    settings = settings_from(context)
    days = settings.ledger_retention_days if days is None else days
    entries = settings.ledger_retention_entries if entries is None else entries
    if days < 0 or entries < 0:
        raise click.UsageError("--days and --entries must not be negative")
    if not days and not entries:
        raise click.UsageError(
            "no retention: give --days or --entries, or set ledger_retention_days "
            "or ledger_retention_entries")
    database = Database(settings.database_url)
    try:
        removed = ledger.prune(database, older_than_days=days, keep_entries=entries)
    finally:
        database.dispose()
    click.echo(f"pruned {removed} ledger entries")


# --- audit ----------------------------------------------------------------------------

@click.group("audit", invoke_without_command=True)
@click.pass_context
def audit_group(context: click.Context) -> None:
    """What disagrees between allocations, claims and devices; heal it.

    Without a subcommand: list the findings (as ``audit list``)."""
    if context.invoked_subcommand is None:
        context.invoke(audit_list)


def _audit_scope_options(function: Callable) -> Callable:
    options = [
        click.option("--hostname", default=None, help="only this host"),
        click.option("--live-consumer", "live_consumers", multiple=True,
                     help="a live consumer uuid (repeatable); consumers with "
                          "allocations that are not listed are orphans"),
        click.option("--live-consumers-file", type=click.File(), default=None,
                     help="a file of live consumer uuids, one a line"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _audit_body(hostname: str | None, live_consumers: tuple[str, ...],
                live_consumers_file: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if hostname:
        body["hostname"] = hostname
    listed = list(live_consumers)
    if live_consumers_file is not None:
        listed.extend(line.strip() for line in live_consumers_file if line.strip())
    if live_consumers or live_consumers_file is not None:
        body["live_consumers"] = listed
    return body


def _findings_view(document: dict) -> Listing:
    return Listing(
        ["Kind", "Consumer", "Host", "Provider", "Address", "Class", "Detail"],
        [[f["kind"], f["consumer_uuid"], f["hostname"], f["provider_uuid"],
          f["address"], f["resource_class"], f["detail"]] for f in document["findings"]],
        footer="" if document["findings"] else
        "no findings: allocations, claims and devices agree")


@audit_group.command("list")
@_audit_scope_options
@click.pass_context
def audit_list(context: click.Context, hostname: str | None = None,
               live_consumers: tuple[str, ...] = (), live_consumers_file: Any = None) -> None:
    """Every disagreement, one finding a row."""
    body = _audit_body(hostname, live_consumers, live_consumers_file)
    emit(context, api_from(context).call("POST", "/pci/audit", body), _findings_view)


def _actions_view(document: dict) -> Listing:
    footer = "nothing to heal" if not document["actions"] else ""
    if document["dry_run"]:
        footer = (footer + "\n" if footer else "") + "dry run: nothing was changed"
    return Listing(
        ["Kind", "Consumer", "Host", "Action", "Applied", "Detail"],
        [[a["kind"], a["consumer_uuid"], a["hostname"], a["action"], a["applied"],
          a["detail"]] for a in document["actions"]], footer=footer)


@audit_group.command("heal")
@_audit_scope_options
@click.option("--dry-run", is_flag=True, help="only say what would be done")
@click.pass_context
def audit_heal(context: click.Context, hostname: str | None,
               live_consumers: tuple[str, ...], live_consumers_file: Any,
               dry_run: bool) -> None:
    """Repair the findings (one transaction per consumer)."""
    body = _audit_body(hostname, live_consumers, live_consumers_file)
    path = "/pci/audit/heal" + ("?dry_run=true" if dry_run else "")
    emit(context, api_from(context).call("POST", path, body), _actions_view)
