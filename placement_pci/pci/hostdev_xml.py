"""libvirt ``<hostdev>`` XML for assigned devices, and rewriting it.

A PCI device becomes::

    <hostdev mode='subsystem' type='pci' managed='no'>
      <driver name='vfio'/>
      <source>
        <address domain='0x0000' bus='0x25' slot='0x00' function='0x4'/>
      </source>
    </hostdev>

with ``managed`` from the device spec's ``managed`` tag (default yes).  A
mediated device is always ``managed='no'`` and is addressed by its uuid.
``rewrite_hostdev_addresses`` swaps the source addresses of PCI hostdevs
in existing XML (live migration to another host's devices).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from placement_pci import errors
from placement_pci.identifiers import parse_uuid
from placement_pci.pci.address import AddressError, PciAddress, parse_address

HOSTDEV_INVALID = "placement_pci.hostdev.invalid"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WRAPPER = "hostdev-list"
MDEV_MODELS = ("vfio-pci", "vfio-ccw", "vfio-ap")


@dataclass(frozen=True)
class PciHostdev:
    """A PCI device (PF, VF or plain PCI) passed through with vfio."""

    address: str
    managed: bool = True


@dataclass(frozen=True)
class MdevHostdev:
    """A mediated device, identified by its uuid."""

    uuid: str
    model: str = "vfio-pci"


Hostdev = PciHostdev | MdevHostdev


def _address_attributes(address: PciAddress) -> str:
    return (f"domain='0x{address.domain:04x}' bus='0x{address.bus:02x}' "
            f"slot='0x{address.slot:02x}' function='0x{address.function:x}'")


def _pci_address(text: str) -> PciAddress:
    try:
        return parse_address(text)
    except AddressError as error:
        raise errors.BadRequest(f"Invalid device address: {error}",
                                code=HOSTDEV_INVALID) from None


def hostdev_xml(device: Hostdev) -> str:
    """One ``<hostdev>`` element, indented two spaces per level."""
    if isinstance(device, MdevHostdev):
        mdev_uuid = parse_uuid(device.uuid)
        if mdev_uuid is None:
            raise errors.BadRequest(
                f"Invalid mdev uuid {device.uuid!r}",
                code=HOSTDEV_INVALID)
        if device.model not in MDEV_MODELS:
            raise errors.BadRequest(
                f"Invalid mdev model {device.model!r}; expected one of "
                f"{', '.join(MDEV_MODELS)}", code=HOSTDEV_INVALID)
        return (f"<hostdev mode='subsystem' type='mdev' managed='no' "
                f"model='{device.model}'>\n"
                f"  <source>\n"
                f"    <address uuid='{mdev_uuid}'/>\n"
                f"  </source>\n"
                f"</hostdev>")
    managed = "yes" if device.managed else "no"
    return (f"<hostdev mode='subsystem' type='pci' managed='{managed}'>\n"
            f"  <driver name='vfio'/>\n"
            f"  <source>\n"
            f"    <address {_address_attributes(_pci_address(device.address))}/>\n"
            f"  </source>\n"
            f"</hostdev>")


def hostdevs_xml(devices: Iterable[Hostdev]) -> str:
    """The ``<hostdev>`` elements of several devices, one after another."""
    return "\n".join(hostdev_xml(device) for device in devices)


# A libvirt domain XML is a few levels deep; anything deeper is refused
# before code that walks the tree recursively (serialisation) sees it.
MAX_XML_DEPTH = 32


def _parse_fragment(xml_text: str) -> ElementTree.Element:
    """Parse a domain XML, a ``<devices>`` element or bare hostdevs, with
    defusedxml's parser: no DTD, no entity declarations, no external
    references."""
    body = _XML_DECLARATION.sub("", xml_text, count=1)
    parser = DefusedXMLParser(target=ElementTree.TreeBuilder(insert_comments=True),
                              forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(f"<{_WRAPPER}>{body}</{_WRAPPER}>")
        root = parser.close()
    except ElementTree.ParseError as error:
        raise errors.BadRequest(f"Invalid XML: {error}",
                                code=HOSTDEV_INVALID) from None
    except DefusedXmlException as error:
        raise errors.BadRequest(f"Invalid XML: {error}",
                                code=HOSTDEV_INVALID) from None
    _check_depth(root)
    return root


def _check_depth(root: ElementTree.Element) -> None:
    pending = [(root, 1)]
    while pending:
        element, depth = pending.pop()
        if depth > MAX_XML_DEPTH:
            raise errors.BadRequest(
                f"Invalid XML: nested deeper than {MAX_XML_DEPTH} elements",
                code=HOSTDEV_INVALID)
        pending.extend((child, depth + 1) for child in element)


def _source_address(hostdev: ElementTree.Element) -> tuple[ElementTree.Element,
                                                          PciAddress] | None:
    element = hostdev.find("source/address")
    if element is None:
        return None
    try:
        return element, PciAddress(
            *(int(element.attrib[name], 16)
              for name in ("domain", "bus", "slot", "function")))
    except (KeyError, ValueError):
        raise errors.BadRequest(
            f"hostdev source address {element.attrib} is not a PCI address",
            code=HOSTDEV_INVALID) from None


def pci_hostdev_addresses(xml_text: str) -> list[str]:
    """The source addresses of the PCI hostdevs in the XML, in order."""
    root = _parse_fragment(xml_text)
    found = []
    for hostdev in root.iter("hostdev"):
        if hostdev.get("type") != "pci":
            continue
        located = _source_address(hostdev)
        if located is not None:
            found.append(str(located[1]))
    return found


def rewrite_hostdev_addresses(xml_text: str,
                              new_devices: Mapping[str, PciHostdev]) -> str:
    """Point each PCI hostdev whose source address is a key of
    ``new_devices`` at that device (address and ``managed``).

    Other elements are kept.  Every key must occur in the XML: a device
    missing from the guest definition is an error rather than a silent
    half-rewrite.
    """
    wanted = {str(_pci_address(source)): device
              for source, device in new_devices.items()}
    root = _parse_fragment(xml_text)
    seen = set()
    for hostdev in root.iter("hostdev"):
        if hostdev.get("type") != "pci":
            continue
        located = _source_address(hostdev)
        if located is None or str(located[1]) not in wanted:
            continue
        element, address = located
        device = wanted[str(address)]
        seen.add(str(address))
        new_address = _pci_address(device.address)
        element.set("domain", f"0x{new_address.domain:04x}")
        element.set("bus", f"0x{new_address.bus:02x}")
        element.set("slot", f"0x{new_address.slot:02x}")
        element.set("function", f"0x{new_address.function:x}")
        hostdev.set("managed", "yes" if device.managed else "no")
    missing = sorted(set(wanted) - seen)
    if missing:
        raise errors.BadRequest(
            f"No PCI hostdev with source address {', '.join(missing)} in "
            f"the given XML", code=HOSTDEV_INVALID)
    parts = [root.text or ""]
    for child in root:
        parts.append(ElementTree.tostring(child, encoding="unicode"))
    return "".join(parts)
