"""``placement-pci pci ...``: report a host's PCI devices.

``pci sync`` builds the body of ``PUT /pci/hosts/{hostname}`` from files
(a JSON body, device list, device specs as JSON or as a nova.conf) and/or
from the local sysfs, then sends it to the service at ``--url`` or, with
``--local``, runs the same handler in-process on the configured database.
"""
from __future__ import annotations

import json
import socket
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import click

from placement_pci.cli import output, transport
from placement_pci.cli.progress import progress
from placement_pci.host_agent import nova_conf, sysfs


@click.group("pci")
def group() -> None:
    """PCI device model tools."""


def _load_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except ValueError as error:
        raise click.UsageError(f"{path} is not valid JSON: {error}") from None


def _device_spec_entries(path: str) -> tuple[list[Any], dict | None]:
    """Entries from a JSON file (a list of entries or one entry) or from a
    nova.conf file (which may also configure mdev types)."""
    text = Path(path).read_text()
    try:
        loaded = json.loads(text)
    except ValueError:
        conf = nova_conf.read_nova_conf(path)
        return conf["device_spec"], conf.get("mdev")
    return (loaded if isinstance(loaded, list) else [loaded]), None


def build_body(*, body_file: str | None, device_spec_file: str | None,
               devices_file: str | None, mdev_file: str | None,
               from_sysfs: bool, sysfs_root: str,
               viommu_models: tuple[str, ...]) -> dict[str, Any]:
    """Merge the sources into one PUT /pci/hosts body (later ones win)."""
    body: dict[str, Any] = {}
    if body_file:
        loaded = _load_json(body_file)
        if not isinstance(loaded, dict):
            raise click.UsageError(f"{body_file} must hold a JSON object")
        body.update(loaded)
    if device_spec_file:
        entries, mdev = _device_spec_entries(device_spec_file)
        body["device_spec"] = entries
        if mdev:
            body["mdev"] = {**body.get("mdev", {}), **mdev}
    if from_sysfs:
        try:
            with progress("Reading PCI devices from sysfs") as report:
                body["devices"] = sysfs.read_pci_devices(sysfs_root, report)
            capacity = sysfs.read_mdev_capacity(sysfs_root)
        except OSError as error:
            raise click.UsageError(f"cannot read sysfs: {error}") from None
        if capacity:
            body["mdev"] = {**body.get("mdev", {}), "devices": capacity}
    if devices_file:
        loaded = _load_json(devices_file)
        if not isinstance(loaded, list):
            raise click.UsageError(f"{devices_file} must hold a JSON list")
        body["devices"] = loaded
    if mdev_file:
        loaded = _load_json(mdev_file)
        if not isinstance(loaded, dict):
            raise click.UsageError(f"{mdev_file} must hold a JSON object")
        body["mdev"] = {**body.get("mdev", {}), **loaded}
    if viommu_models:
        body["capabilities"] = {"viommu_models": list(viommu_models)}
    body.setdefault("device_spec", [])
    body.setdefault("devices", [])
    return body


@group.command("sync")
@click.option("--hostname", default=None,
              help="hypervisor hostname: the root provider's name "
                   "(default: this machine's hostname)")
@click.option("--body", "body_file", type=click.Path(exists=True),
              help="a whole PUT /pci/hosts JSON body")
@click.option("--device-spec", "device_spec_file",
              type=click.Path(exists=True),
              help="device specs: a JSON list of entries, or a nova.conf "
                   "([pci] device_spec, [devices] enabled_mdev_types, "
                   "[mdev_*])")
@click.option("--devices", "devices_file", type=click.Path(exists=True),
              help="the host's devices as a JSON list")
@click.option("--mdev", "mdev_file", type=click.Path(exists=True),
              help="mdev configuration as JSON (enabled_mdev_types, types)")
@click.option("--from-sysfs", is_flag=True,
              help="read the devices and mdev capacity from sysfs")
@click.option("--sysfs-root", default=str(sysfs.DEFAULT_SYSFS_ROOT),
              show_default=True, help="where the PCI devices are in sysfs")
@click.option("--viommu-model", "viommu_models", multiple=True,
              help="a vIOMMU model the host supports (repeatable)")
@click.option("--dry-run", is_flag=True,
              help="only show the tree that would be applied")
@click.option("--print-body", is_flag=True,
              help="print the request body and stop")
@click.pass_context
def sync(context: click.Context, hostname: str | None,
         body_file: str | None, device_spec_file: str | None,
         devices_file: str | None, mdev_file: str | None, from_sysfs: bool,
         sysfs_root: str, viommu_models: tuple[str, ...], dry_run: bool,
         print_body: bool) -> None:
    """Report this host's PCI devices and apply its provider tree."""
    body = build_body(body_file=body_file,
                      device_spec_file=device_spec_file,
                      devices_file=devices_file, mdev_file=mdev_file,
                      from_sysfs=from_sysfs, sysfs_root=sysfs_root,
                      viommu_models=viommu_models)
    if print_body:
        click.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    hostname = hostname or socket.gethostname()
    send = transport.api_from(context).send
    path = f"/pci/hosts/{urllib.parse.quote(hostname, safe='')}"
    if dry_run:
        path += "?dry_run=true"
    status, document = send("PUT", path, body)
    if status < 400:
        output.emit(context, document, _summary)
    else:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    if status >= 400:
        for error in (document or {}).get("errors", []):
            click.echo(f"error: {error.get('detail')}", err=True)
        sys.exit(1)
    for warning in (document or {}).get("warnings", []):
        click.echo(f"warning: {warning}", err=True)


def _summary(document: dict) -> output.Listing:
    """One row per provider of the applied (or dry-run) tree."""
    rows = [[p["name"], {rc: inv["total"] for rc, inv in p.get("inventories", {}).items()},
             len(p.get("devices", []))] for p in document.get("providers", [])]
    verb = "would change" if document.get("dry_run") else "changed"
    state = verb if document.get("changed") else "unchanged"
    return output.Listing(["Provider", "Inventory (total)", "Devices"], rows,
                          f"host tree {state}; providers: {len(rows)}")
