"""Bodies of the /pci routes (see api-ref/pci-scheduling.md, pci-hosts.md).

The structure of every body (which keys, of which JSON type, within which
bounds) is checked here, with the same mechanism and wording as the
Placement routes.  What an alias, a device spec or an extra spec means is
checked by the pure parsers in ``placement_pci.pci`` that the values are
given to.
"""
from __future__ import annotations

from typing import Any

from placement_pci.pci import extra_specs
from placement_pci.schemas import base
from placement_pci.schemas.allocations import CONSUMER_TYPE_PATTERN
from placement_pci.services import pci_candidates

MAX_LIMIT = pci_candidates.MAX_LIMIT
HOSTNAME_MAX_LENGTH = 200
CANONICAL_UUID_PATTERN = (r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                          r"[0-9a-fA-F]{12}$")
# A hostname is one path segment and one line: no "/", no control
# characters, not "." or "..".
HOSTNAME_PATTERN = r"^(?!\.\.?$)[^/\x00-\x1f\x7f]+$"
SET_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,255}$"
EXTERNAL_ID_MAX_LENGTH = 255


def _informational() -> base.JsonValue:
    """Descriptive keys a caller may pass along with a flavor or image."""
    return base.JsonValue()


class FlavorInput(base.StrictSchema):
    vcpus = base.Integer(minimum=0, maximum=extra_specs.MAX_AMOUNT)
    memory_mb = base.Integer(minimum=0, maximum=extra_specs.MAX_AMOUNT)
    root_gb = base.Integer(minimum=0, maximum=extra_specs.MAX_AMOUNT)
    ephemeral_gb = base.Integer(minimum=0, maximum=extra_specs.MAX_AMOUNT)
    swap = base.Integer(minimum=0, maximum=extra_specs.MAX_AMOUNT)
    extra_specs = base.KeyedObject(base.String(max_length=255), key_pattern=r"^.{1,255}$",
                                   allow_none=True)
    id = _informational()
    name = _informational()
    flavorid = _informational()
    description = _informational()


class ImageInput(base.StrictSchema):
    properties = base.KeyedObject(base.JsonValue(), key_pattern=r"^.{1,255}$",
                                  allow_none=True)
    id = _informational()
    name = _informational()
    flavorid = _informational()
    description = _informational()


def _aliases() -> base.Array:
    """Alias objects or nova.conf alias strings (checked by pci.alias)."""
    return base.Array(base.JsonValue(), allow_none=True)


class FlavorRequest(base.StrictSchema):
    """POST /pci/request-groups: a flavor, image and aliases."""
    flavor = base.Object(FlavorInput, required=True)
    image = base.Object(ImageInput, allow_none=True)
    alias = _aliases()


def _limit() -> base.Integer:
    return base.Integer(minimum=1, maximum=MAX_LIMIT, allow_none=True)


def _hostname(**kwargs: Any) -> base.String:
    return base.String(min_length=1, max_length=HOSTNAME_MAX_LENGTH,
                       pattern=HOSTNAME_PATTERN, **kwargs)


# The {hostname} of /pci/hosts/{hostname}.
HOSTNAME = _hostname()


class PostCandidates(FlavorRequest):
    """POST /pci/candidates."""
    limit = _limit()
    hostname = _hostname(allow_none=True)


class PostHeadroom(FlavorRequest):
    """POST /pci/headroom."""
    hostname = _hostname(allow_none=True)


class PostDiagnosis(base.StrictSchema):
    """POST /pci/diagnosis: a flavor or a GET /allocation_candidates query."""
    flavor = base.Object(FlavorInput)
    image = base.Object(ImageInput, allow_none=True)
    alias = _aliases()
    query = base.String(max_length=65536)
    hostname = _hostname(allow_none=True)


# --- aliases and device spec sets -----------------------------------------

class CreateAlias(base.StrictSchema):
    alias = base.JsonValue(required=True)


class ReplaceAlias(CreateAlias):
    generation = base.Integer(minimum=0, allow_none=True)


class PreviewAliases(base.StrictSchema):
    aliases = _aliases()
    flavor = base.Object(FlavorInput)
    image = base.Object(ImageInput, allow_none=True)


def _device_specs(**kwargs: Any) -> base.Array:
    """Device spec objects or nova.conf strings (checked by pci.device_spec)."""
    return base.Array(base.JsonValue(), **kwargs)


class CreateDeviceSpecSet(base.StrictSchema):
    name = base.String(pattern=SET_NAME_PATTERN, required=True)
    device_spec = _device_specs(required=True)


class ReplaceDeviceSpecSet(base.StrictSchema):
    device_spec = _device_specs(required=True)
    generation = base.Integer(minimum=0, allow_none=True)


class PreviewDeviceSpecs(base.StrictSchema):
    hostname = _hostname(required=True)
    devices = base.Array(base.JsonValue())
    device_spec = _device_specs()
    device_spec_set = base.String(pattern=SET_NAME_PATTERN)
    mdev = base.JsonValue()
    capabilities = base.JsonValue()


# --- claims and live migration ---------------------------------------------

class ProviderResources(base.StrictSchema):
    resources = base.KeyedObject(base.Integer(minimum=1), key_pattern=r"^[A-Z0-9_]+$",
                                 min_properties=1, required=True)


class AllocationRequestInput(base.StrictSchema):
    """One allocation request of GET /allocation_candidates (1.34+)."""
    allocations = base.KeyedObject(base.Object(ProviderResources),
                                   key_pattern=CANONICAL_UUID_PATTERN, min_properties=1,
                                   required=True)
    mappings = base.KeyedObject(base.Array(base.String(uuid=True), min_items=1),
                                key_pattern="", refuse_other_keys=False)


def _external_id() -> base.String:
    return base.String(min_length=1, max_length=EXTERNAL_ID_MAX_LENGTH, required=True)


class PutClaim(FlavorRequest):
    """PUT /pci/claims/{consumer_uuid}."""
    allocation_request = base.Object(AllocationRequestInput, required=True)
    project_id = _external_id()
    user_id = _external_id()
    consumer_generation = base.Integer(minimum=0, allow_none=True, required=True)
    consumer_type = base.String(min_length=1, max_length=255, pattern=CONSUMER_TYPE_PATTERN,
                                allow_none=True)


class PostMigrationDestinations(base.StrictSchema):
    limit = _limit()


class PostMigrationPlan(base.StrictSchema):
    destination_consumer = base.String(uuid=True, allow_none=True)
    allocation_request = base.JsonValue(allow_none=True)
    # The guest's domain XML: parsed by a safe parser (no entities, depth bounded).
    xml = base.String(max_length=1048576, allow_none=True)


class HostReport(base.StrictSchema):
    """PUT /pci/hosts/{hostname}: both lists are required (may be empty), so
    a body that forgot them never reads as "this host has no devices"."""
    device_spec = _device_specs(required=True)
    devices = base.Array(base.JsonValue(), required=True)
    mdev = base.JsonValue()
    capabilities = base.JsonValue()
