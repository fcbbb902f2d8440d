"""Property tests: address rendering and re-applying a planned tree."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from placement_pci import errors
from placement_pci.pci import address as pci_address
from placement_pci.pci import provider_diff, provider_tree

addresses = st.builds(
    pci_address.PciAddress,
    st.integers(0, pci_address.MAX_DOMAIN), st.integers(0, pci_address.MAX_BUS),
    st.integers(0, pci_address.MAX_SLOT),
    st.integers(0, pci_address.MAX_FUNCTION))


@given(addresses, addresses)
def test_exact_glob_matches_only_its_address(address, other):
    glob = pci_address.parse_address_glob(str(address))
    assert pci_address.parse_address(str(address)) == address
    assert glob.single_address() == address
    assert glob.matches(other) is (other == address)


@given(addresses)
def test_upper_case_and_short_forms_parse_to_the_same_address(address):
    short = (f"{address.domain:x}:{address.bus:x}:{address.slot:x}"
             f".{address.function:x}")
    assert pci_address.parse_address(short.upper()) == address


def _device(bus, function, kind):
    address = f"0000:{bus:02x}:00.{function}"
    device = {"address": address, "vendor_id": "10de",
              "product_id": "25b6" if kind != "vf" else "101e",
              "dev_type": {"pci": "type-PCI", "pf": "type-PF",
                           "vf": "type-VF"}[kind]}
    if kind == "vf":
        device["parent_addr"] = f"0000:{bus:02x}:00.0"
    return device


devices = st.lists(
    st.tuples(st.integers(1, 4), st.integers(0, 7),
              st.sampled_from(["pci", "pf", "vf"])),
    max_size=12, unique_by=lambda item: (item[0], item[1]))
specs = st.lists(st.fixed_dictionaries({}, optional={
    "product_id": st.sampled_from(["25b6", "101e"]),
    "address": st.sampled_from(["*:01:*.*", "0000:02:00.0", ".3", ""]),
    "live_migratable": st.sampled_from(["yes", "no"]),
    "resource_class": st.sampled_from(["a", "b", ""]),
}), max_size=3)


@settings(max_examples=200, deadline=None)
@given(specs, devices)
def test_applying_a_plan_twice_changes_nothing(spec_list, device_items):
    body = {"device_spec": spec_list,
            "devices": [_device(*item) for item in device_items]}
    try:
        planned = provider_tree.plan_host_request("host", body)
    except errors.BadRequest:
        return   # refused input: nothing to apply
    first = provider_diff.compute_changes(planned, [], None)
    stored = [provider_diff.ExistingProvider(
        uuid=f"uuid-{change.name}", name=change.name, generation=1,
        inventories=change.inventories, traits=change.traits or frozenset())
        for change in first.providers]
    second = provider_diff.compute_changes(planned, stored, first.root_traits)
    assert not second.changed
    assert [p.name for p in planned.providers] == sorted(
        p.name for p in planned.providers)
    for provider in planned.providers:
        assert provider.total == len(provider.devices) >= 1
