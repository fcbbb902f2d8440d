"""Live migration checks and transformations (spec §7)."""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.candidates.request_group import CandidateRequest, RequestGroup
from placement_pci.pci.hostdev_xml import PciHostdev, hostdevs_xml, pci_hostdev_addresses
from placement_pci.pci.live_migration import (
    AssignedDevice,
    address_map,
    blocking_devices,
    check_live_migratable,
    destination_request,
    rewrite_guest_xml,
)


def device(address, suffix, migratable=True, source="alias", alias="gpu",
           hostname="compute1", managed=True):
    return AssignedDevice(address=address, hostname=hostname,
                          group_suffix=suffix, live_migratable=migratable,
                          managed=managed, source=source,
                          alias=alias if source == "alias" else None)


@pytest.mark.parametrize("devices, blocking", [
    ([], []),
    ([device("0000:25:00.4", "_gpu-0")], []),
    ([device("0000:25:00.4", "_gpu-0", migratable=False)], ["0000:25:00.4"]),
    ([device("0000:25:00.4", "_gpu-0", migratable=False),
      device("0000:25:00.5", "_gpu-1"),
      device("0000:26:00.1", "port", migratable=False, source="neutron")],
     ["0000:25:00.4"]),
])
def test_blocking_devices(devices, blocking):
    assert [d.address for d in blocking_devices(devices)] == blocking


def test_check_names_every_blocking_device():
    devices = [device("0000:25:00.4", "_gpu-0", migratable=False),
               device("0000:25:00.5", "_gpu-1", migratable=False, alias="b")]
    with pytest.raises(errors.Conflict) as caught:
        check_live_migratable("c1", devices)
    assert caught.value.code == "placement_pci.live_migration.not_migratable"
    assert "compute1 0000:25:00.4 (alias 'gpu')" in caught.value.detail
    assert "0000:25:00.5 (alias 'b')" in caught.value.detail


def test_check_passes_with_neutron_devices_only():
    check_live_migratable("c1", [device("0000:26:00.1", "p", False,
                                        source="neutron")])


def test_destination_request_requires_live_migratable_on_device_groups():
    request = CandidateRequest(groups=[
        RequestGroup(suffix="", resources={"VCPU": 1}),
        RequestGroup(suffix="_gpu-0", resources={"CUSTOM_GPU": 1},
                     required_traits=[frozenset({"OWNER_NOVA"})]),
        RequestGroup(suffix="_gpu-1", resources={"CUSTOM_GPU": 1},
                     required_traits=[frozenset({"OWNER_NOVA"}),
                                      frozenset({"HW_PCI_LIVE_MIGRATABLE"})]),
    ], group_policy="none")
    result = destination_request(request, ["_gpu-0", "_gpu-1"])
    assert result.groups[0].required_traits == []
    for group in result.groups[1:]:
        assert sorted(next(iter(s)) for s in group.required_traits) == [
            "HW_PCI_LIVE_MIGRATABLE", "OWNER_NOVA"]
    assert result.group_policy == "none"
    # the original request is left as it was
    assert request.groups[1].required_traits == [frozenset({"OWNER_NOVA"})]


def test_destination_request_drops_a_forbidden_live_migratable():
    request = CandidateRequest(groups=[RequestGroup(
        suffix="_gpu-0", resources={"CUSTOM_GPU": 1},
        forbidden_traits=frozenset({"HW_PCI_LIVE_MIGRATABLE", "CUSTOM_X"}))])
    group = destination_request(request, ["_gpu-0"]).groups[0]
    assert group.forbidden_traits == {"CUSTOM_X"}


def test_address_map_pairs_by_group():
    source = [device("0000:25:00.4", "_gpu-0"), device("0000:25:00.5", "_gpu-1"),
              device("0000:26:00.1", "port", source="neutron")]
    destination = [device("0000:81:00.3", "_gpu-1", hostname="compute2"),
                   device("0000:81:00.2", "_gpu-0", hostname="compute2")]
    mapping = address_map(source, destination)
    assert {src: dst.address for src, dst in mapping.items()} == {
        "0000:25:00.4": "0000:81:00.2", "0000:25:00.5": "0000:81:00.3"}


@pytest.mark.parametrize("source, destination, reason", [
    ([device("0000:25:00.4", "_gpu-0")], [], "No destination device"),
    ([device("0000:25:00.4", "_gpu-0")],
     [device("0000:81:00.2", "_gpu-0"), device("0000:81:00.3", "_gpu-0")],
     "Two destination devices"),
    ([], [device("0000:81:00.2", "_gpu-0")], "serve no source device"),
])
def test_address_map_errors(source, destination, reason):
    with pytest.raises(errors.BadRequest) as caught:
        address_map(source, destination)
    assert reason in caught.value.detail


def test_rewrite_guest_xml_uses_destination_managed_flag():
    source = [device("0000:25:00.4", "_gpu-0", managed=False)]
    destination = [device("0000:81:00.2", "_gpu-0", managed=True)]
    xml = hostdevs_xml([PciHostdev("0000:25:00.4", managed=False)])
    rewritten = rewrite_guest_xml(xml, address_map(source, destination))
    assert pci_hostdev_addresses(rewritten) == ["0000:81:00.2"]
    assert 'managed="yes"' in rewritten
