"""Host devices + device specs -> the desired provider tree (pure planning).

One provider per matched type-PCI / type-PF device, named
``<hostname>_<ADDRESS>``; matched VFs and vDPA devices are inventory of
their parent PF's provider; mdev parents get ``<hostname>_pci_...``
providers.  Everything hangs under the root provider named by the
hostname.  Whatever makes the tree ambiguous refuses the whole update.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import os_traits

from placement_pci import errors
from placement_pci.pci import address as pci_address
from placement_pci.pci import device_spec as spec_module
from placement_pci.pci import host_devices as devices_module
from placement_pci.pci import mdev as mdev_module
from placement_pci.pci import viommu
from placement_pci.pci.device_spec import DeviceSpec
from placement_pci.pci.host_devices import HostDevice

PF_VF_CONFLICT = "placement_pci.pf_vf_conflict"
MIXED_RESOURCE_CLASS = "placement_pci.mixed_resource_class"
MIXED_TRAITS = "placement_pci.mixed_traits"
HOST_INVALID = "placement_pci.host.invalid"

ALWAYS_TRAITS = frozenset({os_traits.COMPUTE_MANAGED_PCI_DEVICE,
                           os_traits.OWNER_NOVA})
LIVE_MIGRATABLE_TRAIT = os_traits.HW_PCI_LIVE_MIGRATABLE
ONE_TIME_USE_TRAIT = os_traits.HW_PCI_ONE_TIME_USE

# Provider names are at most 200 characters in Placement; the longest
# suffix we add is "_pci_dddd_bb_ss_f".
MAX_PROVIDER_NAME = 200
MAX_HOSTNAME = MAX_PROVIDER_NAME - len("_pci_0000_00_00_0")

KIND_DEVICE = "device"      # the provider is the type-PCI / type-PF itself
KIND_VFS = "vfs"            # the provider counts the VFs of a PF
KIND_MDEV = "mdev"          # the provider counts mdevs of a parent device


@dataclass
class PlannedDevice:
    """A host device selected by a spec, with the spec's metadata."""

    device: HostDevice
    spec: DeviceSpec
    provider_name: str | None = None
    resource_class: str | None = None

    @property
    def address(self) -> str:
        return str(self.device.address)

    def metadata(self) -> dict[str, Any]:
        """What is stored and returned for the device."""
        device, spec = self.device, self.spec
        return {
            "address": str(device.address),
            "dev_type": device.dev_type,
            "vendor_id": device.vendor_id,
            "product_id": device.product_id,
            "parent_addr": (str(device.parent_addr)
                            if device.parent_addr else None),
            "numa_node": device.numa_node,
            "resource_class": self.resource_class,
            "managed": spec.managed,
            "live_migratable": spec.live_migratable,
            "one_time_use": spec.one_time_use,
            "physical_network": spec.physical_network,
            "remote_managed": spec.remote_managed,
            "trusted": spec.trusted,
            "device_spec_index": spec.index,
            "assigned_to": device.assigned_to,
        }


@dataclass
class PlannedProvider:
    """One provider of the desired tree.

    ``traits`` is None for mdev providers: their traits are the
    operator's (e.g. to tell GPU models apart) and are left alone.
    """

    name: str
    kind: str
    resource_class: str
    total: int
    traits: frozenset[str] | None
    one_time_use: bool = False
    devices: list[PlannedDevice] = field(default_factory=list)
    mdev: mdev_module.MdevInventory | None = None

    def assigned_counts(self) -> dict[str, int]:
        """Devices per consumer the host reports as assigned."""
        counts: dict[str, int] = {}
        for planned in self.devices:
            consumer = planned.device.assigned_to
            if consumer:
                counts[consumer] = counts.get(consumer, 0) + 1
        return counts


@dataclass
class PlannedTree:
    """The whole desired state of one host, plus planning warnings."""

    hostname: str
    providers: list[PlannedProvider]
    devices_without_provider: list[PlannedDevice]
    root_viommu_traits: frozenset[str] | None
    warnings: list[str]

    def provider(self, name: str) -> PlannedProvider | None:
        for candidate in self.providers:
            if candidate.name == name:
                return candidate
        return None

    def all_devices(self) -> list[PlannedDevice]:
        devices = [planned for provider in self.providers
                   for planned in provider.devices]
        return sorted(devices + self.devices_without_provider,
                      key=lambda planned: planned.device.address)


def provider_name(hostname: str, address: pci_address.PciAddress) -> str:
    """``compute1_0000:AF:00.0`` -- Nova's name for a PCI provider."""
    return f"{hostname}_{str(address).upper()}"


def default_resource_class(device: HostDevice) -> str:
    return f"CUSTOM_PCI_{device.vendor_id}_{device.product_id}".upper()


def validate_hostname(hostname: object) -> str:
    if (not isinstance(hostname, str) or not hostname.strip()
            or len(hostname) > MAX_HOSTNAME):
        raise errors.BadRequest(
            f"hostname must be a non-empty string of at most {MAX_HOSTNAME} "
            f"characters, got {hostname!r}", code=HOST_INVALID)
    return hostname


def _device_traits(spec: DeviceSpec) -> frozenset[str]:
    traits = set(spec.traits) | ALWAYS_TRAITS
    if spec.live_migratable:
        traits.add(LIVE_MIGRATABLE_TRAIT)
    if spec.one_time_use:
        traits.add(ONE_TIME_USE_TRAIT)
    return frozenset(traits)


def _check_remote_managed_specs(specs: list[DeviceSpec],
                                pfs: dict[pci_address.PciAddress,
                                          HostDevice]) -> None:
    """Nova's rule: a remote_managed spec naming a PF's address is only
    valid when it asks for the PF's VFs (product_id = the VF product)."""
    for spec in specs:
        if not spec.remote_managed:
            continue
        named = spec.single_address()
        pf = pfs.get(named) if named is not None else None
        if pf is None:
            continue
        if (pf.vf_product_id is not None
                and spec.product_id == pf.vf_product_id
                and spec.vendor_id in (None, pf.vendor_id)):
            continue
        if (spec.product_id in (None, pf.product_id)
                and spec.vendor_id in (None, pf.vendor_id)):
            raise spec.error(
                "remote_managed",
                f"names the PF {pf.address}; remote_managed is only valid "
                "for VFs (give the VF product_id "
                f"{pf.vf_product_id or '?'} to select its VFs)")
        raise spec.error(
            "product_id",
            f"vendor_id {spec.vendor_id or '*'} / product_id "
            f"{spec.product_id or '*'} do not match the VFs of PF "
            f"{pf.address} (VF product id {pf.vf_product_id or 'unknown'})")


def _pf_vf_conflict(pf: PlannedDevice, vfs: list[PlannedDevice]
                    ) -> errors.BadRequest:
    vf_text = ", ".join(planned.address for planned in vfs)
    detail = (
        f"PF {pf.address} and its VFs {vf_text} are both selected by "
        "device_spec; with placement reporting either the parent PF or its "
        f"VFs can be used, not both (PF selected by {pf.spec.description}, "
        f"VFs by {vfs[0].spec.description}).")
    named = vfs[0].spec.single_address()
    if named is not None and str(named) == pf.address:
        detail += (
            f" {vfs[0].spec.description} names the PF's exact address, "
            "which selects the PF and all of its VFs (Nova's rule); select "
            "the PF alone with a product_id its VFs do not have, or the VFs "
            "alone by their product_id or addresses.")
    return errors.BadRequest(detail, code=PF_VF_CONFLICT)


class _TreeBuilder:
    """Accumulates providers while devices are matched one by one."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.providers: dict[str, PlannedProvider] = {}

    def add_parent(self, planned: PlannedDevice) -> None:
        name = provider_name(self.hostname, planned.device.address)
        existing = self.providers.get(name)
        if existing is not None:
            raise _pf_vf_conflict(planned, existing.devices)
        planned.provider_name = name
        planned.resource_class = (planned.spec.resource_class
                                  or default_resource_class(planned.device))
        self.providers[name] = PlannedProvider(
            name=name, kind=KIND_DEVICE,
            resource_class=planned.resource_class, total=1,
            traits=_device_traits(planned.spec),
            one_time_use=planned.spec.one_time_use, devices=[planned])

    def add_child(self, planned: PlannedDevice) -> None:
        parent = planned.device.parent_addr
        assert parent is not None  # host_devices refuses orphans
        name = provider_name(self.hostname, parent)
        resource_class = (planned.spec.resource_class
                          or default_resource_class(planned.device))
        traits = _device_traits(planned.spec)
        existing = self.providers.get(name)
        if existing is None:
            planned.provider_name = name
            planned.resource_class = resource_class
            self.providers[name] = PlannedProvider(
                name=name, kind=KIND_VFS, resource_class=resource_class,
                total=1, traits=traits, devices=[planned])
            return
        if existing.kind == KIND_DEVICE:
            raise _pf_vf_conflict(existing.devices[0], [planned])
        others = ", ".join(other.address for other in existing.devices)
        if resource_class != existing.resource_class:
            raise errors.BadRequest(
                f"VFs of PF {parent} must share one resource class: "
                f"{planned.address} ({planned.spec.description}) would be "
                f"{resource_class} but {others} are "
                f"{existing.resource_class}", code=MIXED_RESOURCE_CLASS)
        if traits != existing.traits:
            raise errors.BadRequest(
                f"VFs of PF {parent} must share one set of traits "
                "(including live_migratable): "
                f"{planned.address} ({planned.spec.description}) would have "
                f"{', '.join(sorted(traits))} but {others} have "
                f"{', '.join(sorted(existing.traits or ()))}",
                code=MIXED_TRAITS)
        planned.provider_name = name
        planned.resource_class = resource_class
        existing.devices.append(planned)
        existing.total += 1


def plan_provider_tree(
    hostname: str,
    specs: list[DeviceSpec],
    devices: list[HostDevice],
    mdev_inventories: Sequence[mdev_module.MdevInventory] = (),
    root_viommu_traits: frozenset[str] | None = None,
    warnings: list[str] | None = None,
) -> PlannedTree:
    """Match devices against specs and build the desired tree.

    Raises BadRequest for the refusals of spec §3 (PF and VF both selected,
    mixed classes or traits among one PF's VFs, misused tags).
    """
    warnings = list(warnings or [])
    pfs = {device.address: device for device in devices
           if device.dev_type == devices_module.TYPE_PF}
    _check_remote_managed_specs(specs, pfs)
    pf_addresses = frozenset(pfs)
    builder = _TreeBuilder(hostname)
    without_provider: list[PlannedDevice] = []
    for device in devices:
        spec = spec_module.first_matching_spec(
            specs, device.vendor_id, device.product_id, device.address,
            device.parent_addr, pf_addresses)
        if spec is None:
            continue
        planned = PlannedDevice(device=device, spec=spec)
        if spec.remote_managed and not device.is_child:
            raise spec.error(
                "remote_managed", f"selects {device.dev_type} device "
                f"{device.address}; remote_managed is only valid for VFs")
        if spec.one_time_use and device.is_child:
            raise spec.error(
                "one_time_use", f"selects {device.dev_type} device "
                f"{device.address}; one_time_use is only valid for "
                "type-PCI and type-PF devices")
        if spec.physical_network:
            # Neutron SR-IOV devices: tracked, but not as providers.
            without_provider.append(planned)
        elif device.is_child:
            builder.add_child(planned)
        else:
            builder.add_parent(planned)
    providers = dict(builder.providers)
    for inventory in mdev_inventories:
        name = f"{hostname}_{inventory.provider_suffix()}"
        providers[name] = PlannedProvider(
            name=name, kind=KIND_MDEV, resource_class=inventory.resource_class,
            total=inventory.total, traits=None, mdev=inventory)
    for provider in providers.values():
        provider.devices.sort(key=lambda planned: planned.device.address)
    return PlannedTree(
        hostname=hostname,
        providers=sorted(providers.values(), key=lambda p: p.name),
        devices_without_provider=without_provider,
        root_viommu_traits=root_viommu_traits, warnings=warnings)


def plan_host_request(hostname: str, body: Mapping[str, Any]) -> PlannedTree:
    """Plan the tree of a PUT /pci/hosts body.

    The body's structure (an object with the required ``device_spec`` and
    ``devices`` lists, nothing unknown) is its route's schema's business
    (schemas.pci.HostReport); what the entries mean is checked here.
    """
    validate_hostname(hostname)
    specs, warnings = spec_module.parse_device_specs(body.get("device_spec"))
    devices, device_warnings = devices_module.parse_host_devices(
        body.get("devices"))
    mdev_inventories, mdev_warnings = mdev_module.plan_mdev_inventories(
        body.get("mdev"))
    root_traits = viommu.viommu_traits(body.get("capabilities"))
    return plan_provider_tree(
        hostname, specs, devices, mdev_inventories, root_traits,
        warnings + device_warnings + mdev_warnings)
