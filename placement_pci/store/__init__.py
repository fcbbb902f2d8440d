"""Domain operations: providers, inventories, traits, resource classes,
aggregates, consumers, allocations, usages, reshaper, and the PCI model's
persistence.  Each public operation takes a ``Database`` (or a Connection
inside a transaction), knows nothing of Flask, and raises the errors in
``placement_pci.errors``."""
