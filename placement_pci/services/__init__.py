"""Orchestration: the operations the HTTP edge and the CLI call.

A service composes repositories from ``placement_pci.store`` (the only
code that writes SQL) and the pure cores ``placement_pci.candidates`` and
``placement_pci.pci`` into one transaction.  Services know nothing of
Flask; they raise the errors in ``placement_pci.errors``.
"""
