"""``placement-pci scheduling ...``: the scheduler-facing PCI API from a shell.

Every command calls the HTTP API: at ``--url`` (env PLACEMENT_PCI_URL, with
``--token`` / PLACEMENT_PCI_TOKEN), or with ``--local`` an in-process app
on the configured database (same handlers, no server needed).  Output goes
through ``cli/output.py``: a table, ``-f value``, or the API's document
with ``-f json``/``-f yaml``; ``-c`` picks columns.
"""
from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from placement_pci.cli.output import Listing, Record, emit
from placement_pci.cli.transport import Api, api_from


def _api(context: click.Context) -> Api:
    return api_from(context)


# --- output -----------------------------------------------------------------------

def _output(context: click.Context, document: Any,
            view: Callable[[Any], Listing | Record]) -> None:
    emit(context, document, view)


# --- input helpers ------------------------------------------------------------------

def _json_argument(text: str) -> Any:
    """JSON text, or @FILE / an existing file path holding JSON."""
    path = text[1:] if text.startswith("@") else text
    if text.startswith("@") or (not text.lstrip().startswith(("{", "[", '"'))
                                and Path(path).is_file()):
        text = Path(path).read_text()
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.UsageError(f"not valid JSON: {error}") from None


def _key_values(items: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator:
            raise click.UsageError(f"{what} must be KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def flavor_options(function: Callable) -> Callable:
    """The options describing a boot request: flavor, image, aliases."""
    options = [
        click.option("--flavor", "flavor_json", default=None,
                     help="flavor as JSON (or @file): vcpus, memory_mb, "
                          "root_gb, ephemeral_gb, swap, extra_specs"),
        click.option("--vcpus", type=int, default=None),
        click.option("--memory-mb", type=int, default=None),
        click.option("--root-gb", type=int, default=None),
        click.option("--ephemeral-gb", type=int, default=None),
        click.option("--swap", type=int, default=None, help="swap in MiB"),
        click.option("--extra-spec", "extra_specs", multiple=True,
                     help="KEY=VALUE flavor extra spec (repeatable)"),
        click.option("--image-property", "image_properties", multiple=True,
                     help="KEY=VALUE image property (repeatable)"),
        click.option("--alias", "aliases", multiple=True,
                     help="alias JSON (repeatable; default: the API-managed "
                          "aliases)"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def build_request(flavor_json: str | None, vcpus: int | None,
                  memory_mb: int | None, root_gb: int | None,
                  ephemeral_gb: int | None, swap: int | None,
                  extra_specs: tuple[str, ...],
                  image_properties: tuple[str, ...],
                  aliases: tuple[str, ...]) -> dict[str, Any]:
    flavor = _json_argument(flavor_json) if flavor_json else {}
    if not isinstance(flavor, dict):
        raise click.UsageError("--flavor must be a JSON object")
    for name, value in (("vcpus", vcpus), ("memory_mb", memory_mb),
                        ("root_gb", root_gb), ("ephemeral_gb", ephemeral_gb),
                        ("swap", swap)):
        if value is not None:
            flavor[name] = value
    if extra_specs:
        flavor["extra_specs"] = {**flavor.get("extra_specs", {}),
                                 **_key_values(extra_specs, "--extra-spec")}
    body: dict[str, Any] = {"flavor": flavor}
    if image_properties:
        body["image"] = {"properties": _key_values(image_properties,
                                                   "--image-property")}
    if aliases:
        body["alias"] = [_json_argument(alias) if alias.lstrip().startswith(
            ("{", "@")) else alias for alias in aliases]
    return body


def _request_from_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("flavor_json", "vcpus", "memory_mb", "root_gb", "ephemeral_gb",
             "swap", "extra_specs", "image_properties", "aliases")
    return build_request(**{name: kwargs.pop(name) for name in names})


# --- the group -----------------------------------------------------------------------

@click.group("scheduling")
def group() -> None:
    """Aliases, request groups, candidates, claims, hostdev XML, live
    migration and "why no candidate"."""


# --- aliases --------------------------------------------------------------------------

def _alias_rows(aliases: list[dict]) -> list[list[Any]]:
    return [[a["name"], a["resource_class"], a["alias"].get("device_type"),
             a["alias"].get("numa_policy"), a["required_traits"],
             a["forbidden_traits"], a["generation"]] for a in aliases]


_ALIAS_HEADERS = ["Name", "Resource class", "Device type", "NUMA policy",
                  "Required", "Forbidden", "Generation"]


@group.group("alias")
def alias_group() -> None:
    """API-managed PCI aliases."""


@alias_group.command("list")
@click.pass_context
def alias_list(context: click.Context) -> None:
    """List the aliases."""
    document = _api(context).call("GET", "/pci/aliases")
    _output(context, document, lambda d: Listing(
        _ALIAS_HEADERS, _alias_rows(d["aliases"])))


def _alias_fields(alias: dict) -> Record:
    return Record([("name", alias["name"]),
                          ("generation", alias["generation"]),
                          ("entry", json.dumps(alias["entry"])),
                          ("resource_class", alias["resource_class"]),
                          ("required_traits", alias["required_traits"]),
                          ("forbidden_traits", alias["forbidden_traits"]),
                          ("updated_at", alias["updated_at"])])


@alias_group.command("show")
@click.argument("name")
@click.pass_context
def alias_show(context: click.Context, name: str) -> None:
    """Show one alias."""
    document = _api(context).call(
        "GET", f"/pci/aliases/{urllib.parse.quote(name, safe='')}")
    _output(context, document, _alias_fields)


@alias_group.command("create")
@click.argument("alias")
@click.pass_context
def alias_create(context: click.Context, alias: str) -> None:
    """Create an alias from JSON (object, nova.conf string or @file)."""
    entry = _json_argument(alias)
    document = _api(context).call("POST", "/pci/aliases", {"alias": entry})
    _output(context, document, _alias_fields)


@alias_group.command("set")
@click.argument("name")
@click.argument("alias")
@click.option("--generation", type=int, default=None,
              help="refuse if the alias changed since this generation")
@click.pass_context
def alias_set(context: click.Context, name: str, alias: str,
              generation: int | None) -> None:
    """Replace an alias."""
    body: dict[str, Any] = {"alias": _json_argument(alias)}
    if generation is not None:
        body["generation"] = generation
    document = _api(context).call(
        "PUT", f"/pci/aliases/{urllib.parse.quote(name, safe='')}", body)
    _output(context, document, _alias_fields)


@alias_group.command("delete")
@click.argument("name")
@click.pass_context
def alias_delete(context: click.Context, name: str) -> None:
    """Delete an alias."""
    _api(context).call("DELETE",
                       f"/pci/aliases/{urllib.parse.quote(name, safe='')}")
    click.echo(f"deleted alias {name}")


# --- device spec sets -----------------------------------------------------------------

@group.group("device-spec")
def device_spec_group() -> None:
    """API-managed device spec sets."""


def _set_fields(document: dict) -> Record:
    return Record([("name", document["name"]),
                          ("generation", document["generation"]),
                          ("entries", "\n".join(json.dumps(e)
                                                for e in document["device_spec"])
                           or "-"),
                          ("warnings", document["warnings"]),
                          ("updated_at", document["updated_at"])])


@device_spec_group.command("list")
@click.pass_context
def device_spec_list(context: click.Context) -> None:
    """List the device spec sets."""
    document = _api(context).call("GET", "/pci/device-specs")
    _output(context, document, lambda d: Listing(
        ["Name", "Entries", "Generation", "Warnings"],
        [[s["name"], len(s["device_spec"]), s["generation"], s["warnings"]]
         for s in d["device_spec_sets"]]))


@device_spec_group.command("show")
@click.argument("name")
@click.pass_context
def device_spec_show(context: click.Context, name: str) -> None:
    """Show a device spec set."""
    _output(context, _api(context).call("GET", f"/pci/device-specs/{name}"),
            _set_fields)


@device_spec_group.command("create")
@click.argument("name")
@click.argument("entries")
@click.pass_context
def device_spec_create(context: click.Context, name: str, entries: str) -> None:
    """Create a set from a JSON list of entries (or @file)."""
    document = _api(context).call("POST", "/pci/device-specs", {
        "name": name, "device_spec": _json_argument(entries)})
    _output(context, document, _set_fields)


@device_spec_group.command("set")
@click.argument("name")
@click.argument("entries")
@click.option("--generation", type=int, default=None)
@click.pass_context
def device_spec_set(context: click.Context, name: str, entries: str,
                    generation: int | None) -> None:
    """Replace a set's entries."""
    body: dict[str, Any] = {"device_spec": _json_argument(entries)}
    if generation is not None:
        body["generation"] = generation
    _output(context, _api(context).call("PUT", f"/pci/device-specs/{name}", body),
            _set_fields)


@device_spec_group.command("delete")
@click.argument("name")
@click.pass_context
def device_spec_delete(context: click.Context, name: str) -> None:
    """Delete a set."""
    _api(context).call("DELETE", f"/pci/device-specs/{name}")
    click.echo(f"deleted device spec set {name}")


def _tree_table(tree: dict) -> Listing:
    rows = []
    for provider in tree["providers"]:
        inventories = {rc: inv["total"] for rc, inv in provider["inventories"].items()}
        rows.append([provider["name"], inventories, provider["traits"],
                     [d["address"] for d in provider["devices"]]])
    footer = ""
    if tree.get("warnings"):
        footer = "warnings:\n" + "\n".join(f"  {w}" for w in tree["warnings"])
    return Listing(["Provider", "Inventory (total)", "Traits", "Devices"], rows, footer)


@device_spec_group.command("preview")
@click.option("--hostname", required=True)
@click.option("--devices", "devices_json", required=True,
              help="the host's devices as JSON (or @file)")
@click.option("--set", "set_name", default=None, help="a stored set")
@click.option("--device-spec", "entries", default=None,
              help="entries as JSON (or @file) instead of a stored set")
@click.pass_context
def device_spec_preview(context: click.Context, hostname: str,
                        devices_json: str, set_name: str | None,
                        entries: str | None) -> None:
    """Show the provider tree a set gives a host (nothing is written)."""
    body: dict[str, Any] = {"hostname": hostname,
                            "devices": _json_argument(devices_json)}
    if set_name:
        body["device_spec_set"] = set_name
    if entries:
        body["device_spec"] = _json_argument(entries)
    _output(context, _api(context).call("POST", "/pci/device-specs/preview",
                                        body), _tree_table)


# --- request groups and candidates -------------------------------------------------

def _groups_table(document: dict) -> Listing:
    def source(group: dict) -> str:
        origin = group["source"]
        if origin["kind"] == "alias":
            return f"alias {origin['alias']} item {origin['item']} #{origin['index']}"
        return origin["kind"]
    return Listing(
        ["Group", "Resources", "Required", "Forbidden", "Source"],
        [[g["suffix"] or "(unsuffixed)", g["resources"], g["required"],
          g["forbidden"], source(g)] for g in document["groups"]],
        "\n".join([
        f"group_policy:   {document['group_policy'] or '-'}",
        f"root_required:  {', '.join(document['root_required']) or '-'}",
        f"root_forbidden: {', '.join(document['root_forbidden']) or '-'}",
        f"query:          {document['query']}"]))


@group.command("request-groups")
@flavor_options
@click.pass_context
def request_groups(context: click.Context, **kwargs: Any) -> None:
    """Translate a flavor and image into request groups."""
    body = _request_from_options(kwargs)
    _output(context, _api(context).call("POST", "/pci/request-groups", body),
            _groups_table)


def _candidates_table(document: dict) -> Listing:
    rows = []
    for number, candidate in enumerate(document["candidates"]):
        rows.append([number, candidate["hostname"],
                     {uuid[:8]: ",".join(f"{rc}:{n}" for rc, n in
                                         allocation["resources"].items())
                      for uuid, allocation in
                      candidate["allocation_request"]["allocations"].items()},
                     [f"{d['alias']}#{d['index']}->{d['provider_name']}"
                      for d in candidate["devices"]]])
    return Listing(["#", "Host", "Allocations", "Alias devices"], rows)


@group.command("candidates")
@flavor_options
@click.option("--limit", type=int, default=None)
@click.option("--host", "hostname", default=None, help="only this host")
@click.pass_context
def candidates(context: click.Context, limit: int | None,
               hostname: str | None, **kwargs: Any) -> None:
    """Request groups + allocation candidates + which provider serves
    which alias item, from a flavor."""
    body = _request_from_options(kwargs)
    if limit is not None:
        body["limit"] = limit
    if hostname:
        body["hostname"] = hostname
    _output(context, _api(context).call("POST", "/pci/candidates", body),
            _candidates_table)


def _why_table(document: dict) -> Listing:
    return Listing(
        ["Host", "Candidate", "Failed groups", "Why"],
        [[h["name"], h["candidate"],
          [g or "(unsuffixed)" for g in h["failed_groups"]], h["summary"]]
         for h in document["hosts"]])


@group.command("why")
@flavor_options
@click.option("--host", "hostname", default=None, help="only this host")
@click.option("--query", default=None,
              help="a GET /allocation_candidates query string instead of a "
                   "flavor")
@click.pass_context
def why(context: click.Context, hostname: str | None, query: str | None,
        **kwargs: Any) -> None:
    """Explain why hosts are (not) candidates for a request."""
    body = _request_from_options(kwargs)
    if query:
        body = {"query": query}
    if hostname:
        body["hostname"] = hostname
    _output(context, _api(context).call("POST", "/pci/diagnosis", body),
            _why_table)


# --- claims ---------------------------------------------------------------------------

def _devices_table(document: dict) -> Listing:
    return Listing(
        ["Group", "Alias", "Host", "Address", "Type", "Managed", "Provider"],
        [[d["group"], d["alias"], d["hostname"], d["address"], d["dev_type"],
          d["managed"], d["provider_uuid"]] for d in document["devices"]],
        f"consumer {document['consumer_uuid']} (generation "
        f"{document['consumer_generation']})")


@group.command("claim")
@click.argument("consumer_uuid")
@flavor_options
@click.option("--candidate", "candidate_number", type=int, default=0,
              show_default=True,
              help="which candidate of `candidates` to claim")
@click.option("--allocation-request", "allocation_request_json", default=None,
              help="an allocation request JSON (or @file) instead of asking "
                   "for candidates")
@click.option("--host", "hostname", default=None,
              help="only candidates on this host")
@click.option("--project-id", required=True)
@click.option("--user-id", required=True)
@click.option("--consumer-generation", type=int, default=None,
              help="the consumer's generation (omit for a new consumer)")
@click.pass_context
def claim(context: click.Context, consumer_uuid: str, candidate_number: int,
          allocation_request_json: str | None, hostname: str | None,
          project_id: str, user_id: str, consumer_generation: int | None,
          **kwargs: Any) -> None:
    """Claim a candidate for a consumer and assign its devices."""
    api = _api(context)
    request = _request_from_options(kwargs)
    if allocation_request_json:
        allocation_request = _json_argument(allocation_request_json)
    else:
        asked = dict(request)
        if hostname:
            asked["hostname"] = hostname
        found = api.call("POST", "/pci/candidates", asked)["candidates"]
        if candidate_number >= len(found):
            raise click.ClickException(
                f"no candidate #{candidate_number} ({len(found)} found); try "
                f"`placement-pci scheduling why` with the same options")
        allocation_request = found[candidate_number]["allocation_request"]
    body = {**request, "allocation_request": allocation_request,
            "project_id": project_id, "user_id": user_id,
            "consumer_generation": consumer_generation}
    _output(context, api.call("PUT", f"/pci/claims/{consumer_uuid}", body),
            _devices_table)


@group.command("claims")
@click.pass_context
def claims(context: click.Context) -> None:
    """List every consumer's PCI claim."""
    document = _api(context).call("GET", "/pci/claims")
    _output(context, document, lambda d: Listing(
        ["Consumer", "Generation", "Hosts", "Devices"],
        [[c["consumer_uuid"], c["consumer_generation"], c["hostnames"],
          [f"{x['address']} ({x['alias']})" for x in c["devices"]]]
         for c in d["claims"]]))


@group.command("claim-show")
@click.argument("consumer_uuid")
@click.pass_context
def claim_show(context: click.Context, consumer_uuid: str) -> None:
    """Show a consumer's claim."""
    _output(context, _api(context).call("GET", f"/pci/claims/{consumer_uuid}"),
            _devices_table)


@group.command("release")
@click.argument("consumer_uuid")
@click.pass_context
def release(context: click.Context, consumer_uuid: str) -> None:
    """Release a claim: allocations and devices."""
    _api(context).call("DELETE", f"/pci/claims/{consumer_uuid}")
    click.echo(f"released {consumer_uuid}")


@group.command("hostdev-xml")
@click.argument("consumer_uuid")
@click.pass_context
def hostdev_xml(context: click.Context, consumer_uuid: str) -> None:
    """Print the libvirt <hostdev> XML of a consumer's devices."""
    document = _api(context).call("GET",
                                  f"/pci/claims/{consumer_uuid}/hostdev-xml")
    _output(context, document, lambda d: Listing([], [], d["xml"]))


# --- live migration ----------------------------------------------------------------

@group.group("live-migration")
def live_migration_group() -> None:
    """Live migration of a consumer with PCI devices."""


@live_migration_group.command("check")
@click.argument("consumer_uuid")
@click.pass_context
def live_migration_check(context: click.Context, consumer_uuid: str) -> None:
    """Refuse (exit 1) naming the devices that block live migration."""
    document = _api(context).call(
        "POST", f"/pci/claims/{consumer_uuid}/live-migration/check", {})
    _output(context, document, lambda d: Listing(
        ["Group", "Host", "Address", "Live migratable"],
        [[x["group"], x["hostname"], x["address"], x["live_migratable"]]
         for x in d["devices"]]))


@live_migration_group.command("destinations")
@click.argument("consumer_uuid")
@click.option("--limit", type=int, default=None)
@click.pass_context
def live_migration_destinations(context: click.Context, consumer_uuid: str,
                                limit: int | None) -> None:
    """Candidates on other hosts with live-migratable devices."""
    body = {} if limit is None else {"limit": limit}
    document = _api(context).call(
        "POST", f"/pci/claims/{consumer_uuid}/live-migration/destinations", body)
    _output(context, document, _candidates_table)


@live_migration_group.command("plan")
@click.argument("consumer_uuid")
@click.option("--destination-consumer", default=None,
              help="a consumer that already claimed the destination devices")
@click.option("--allocation-request", "allocation_request_json", default=None,
              help="a destination candidate's allocation request (JSON/@file)")
@click.option("--xml", "xml_file", default=None, type=click.Path(exists=True),
              help="the guest's domain XML to rewrite (default: its hostdevs)")
@click.pass_context
def live_migration_plan(context: click.Context, consumer_uuid: str,
                        destination_consumer: str | None,
                        allocation_request_json: str | None,
                        xml_file: str | None) -> None:
    """Source -> destination device addresses and the rewritten XML."""
    body: dict[str, Any] = {}
    if destination_consumer:
        body["destination_consumer"] = destination_consumer
    if allocation_request_json:
        body["allocation_request"] = _json_argument(allocation_request_json)
    if xml_file:
        body["xml"] = Path(xml_file).read_text()
    document = _api(context).call(
        "POST", f"/pci/claims/{consumer_uuid}/live-migration/plan", body)
    _output(context, document, lambda d: Listing(
        ["Group", "Source", "Destination", "Destination host"],
        [[m["group"], m["source_address"], m["destination_address"],
          m["destination_hostname"]] for m in d["address_map"]], d["xml"]))
