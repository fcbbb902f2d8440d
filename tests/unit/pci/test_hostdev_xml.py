"""libvirt <hostdev> XML (spec §8)."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from placement_pci import errors
from placement_pci.pci.hostdev_xml import (
    MdevHostdev,
    PciHostdev,
    hostdev_xml,
    hostdevs_xml,
    pci_hostdev_addresses,
    rewrite_hostdev_addresses,
)

SEED_XML = """<hostdev mode='subsystem' type='pci' managed='no'>
  <driver name='vfio'/>
  <source>
    <address domain='0x0000' bus='0x25' slot='0x00' function='0x4'/>
  </source>
</hostdev>"""


def test_seed_vf_unmanaged():
    assert hostdev_xml(PciHostdev("0000:25:00.4", managed=False)) == SEED_XML


@pytest.mark.parametrize("address, managed, expected_attributes, managed_text", [
    ("0000:41:00.0", True,
     {"domain": "0x0000", "bus": "0x41", "slot": "0x00", "function": "0x0"},
     "yes"),
    ("0:81:1f.7", True,
     {"domain": "0x0000", "bus": "0x81", "slot": "0x1f", "function": "0x7"},
     "yes"),
    ("ABCD:FF:0A.3", False,
     {"domain": "0xabcd", "bus": "0xff", "slot": "0x0a", "function": "0x3"},
     "no"),
])
def test_pci_hostdev(address, managed, expected_attributes, managed_text):
    element = ElementTree.fromstring(hostdev_xml(PciHostdev(address, managed)))
    assert element.attrib == {"mode": "subsystem", "type": "pci",
                              "managed": managed_text}
    assert element.find("driver").attrib == {"name": "vfio"}
    assert element.find("source/address").attrib == expected_attributes


def test_managed_defaults_to_yes():
    assert "managed='yes'" in hostdev_xml(PciHostdev("0000:41:00.0"))


def test_mdev_is_always_unmanaged():
    element = ElementTree.fromstring(
        hostdev_xml(MdevHostdev("C2177883-F1BB-47F0-914D-32A22E3A8804")))
    assert element.attrib == {"mode": "subsystem", "type": "mdev",
                              "managed": "no", "model": "vfio-pci"}
    assert element.find("source/address").attrib == {
        "uuid": "c2177883-f1bb-47f0-914d-32a22e3a8804"}


@pytest.mark.parametrize("device", [
    PciHostdev("0000:25:00"),
    PciHostdev("0000:25:20.0"),  # slot above 0x1f
    PciHostdev("zz"),
    MdevHostdev("not-a-uuid"),
    MdevHostdev("c2177883-f1bb-47f0-914d-32a22e3a8804", model="x'/>"),
])
def test_invalid_devices(device):
    with pytest.raises(errors.BadRequest) as caught:
        hostdev_xml(device)
    assert caught.value.code == "placement_pci.hostdev.invalid"


def test_several_devices():
    text = hostdevs_xml([PciHostdev("0000:41:00.0"),
                         PciHostdev("0000:41:00.1", managed=False)])
    assert pci_hostdev_addresses(text) == ["0000:41:00.0", "0000:41:00.1"]
    assert hostdevs_xml([]) == ""


def test_rewrite_bare_hostdevs():
    text = hostdevs_xml([PciHostdev("0000:25:00.4", managed=False),
                         PciHostdev("0000:25:00.5", managed=False)])
    rewritten = rewrite_hostdev_addresses(
        text, {"0000:25:00.4": PciHostdev("0000:81:00.2", managed=True)})
    assert pci_hostdev_addresses(rewritten) == ["0000:81:00.2",
                                                "0000:25:00.5"]
    first, second = ElementTree.fromstring(
        f"<r>{rewritten}</r>").findall("hostdev")
    assert first.get("managed") == "yes"
    assert second.get("managed") == "no"


def test_rewrite_inside_domain_xml_keeps_the_rest():
    domain = ("<?xml version='1.0'?>\n<domain type='kvm'><name>vm1</name>"
              "<devices><!-- keep me --><disk type='file'/>"
              + SEED_XML + "<hostdev mode='subsystem' type='mdev' "
              "managed='no' model='vfio-pci'/></devices></domain>")
    rewritten = rewrite_hostdev_addresses(
        domain, {"0000:25:00.4": PciHostdev("0001:26:01.5", managed=False)})
    parsed = ElementTree.fromstring(rewritten)
    assert parsed.tag == "domain" and parsed.findtext("name") == "vm1"
    assert parsed.find("devices/disk") is not None
    assert "keep me" in rewritten
    assert parsed.find("devices/hostdev[@type='pci']/source/address").attrib \
        == {"domain": "0x0001", "bus": "0x26", "slot": "0x01",
            "function": "0x5"}
    assert len(parsed.findall("devices/hostdev")) == 2


@pytest.mark.parametrize("text, mapping, reason", [
    (SEED_XML, {"0000:99:00.0": PciHostdev("0000:81:00.0")},
     "No PCI hostdev with source address 0000:99:00.0"),
    ("<hostdev", {}, "Invalid XML"),
    ("<hostdev type='pci'><source><address bus='0x1'/></source></hostdev>",
     {"0000:01:00.0": PciHostdev("0000:02:00.0")}, "not a PCI address"),
    (SEED_XML, {"bad": PciHostdev("0000:81:00.0")}, "Invalid device address"),
])
def test_rewrite_errors(text, mapping, reason):
    with pytest.raises(errors.BadRequest) as caught:
        rewrite_hostdev_addresses(text, mapping)
    assert reason in caught.value.detail
