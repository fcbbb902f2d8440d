"""placement_pci: an OpenStack Placement-compatible service with a PCI device model."""

__version__ = "0.1.0"
