"""The PCI device model: pure Python, no I/O, no SQL, no Flask."""
