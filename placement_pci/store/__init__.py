"""Repositories: one module per table family, the only code that writes SQL.

Each public function takes a ``Database`` or a ``Connection`` already inside
a transaction, knows nothing of Flask, and raises the errors in
``placement_pci.errors``.  Orchestration across table families lives in
``placement_pci.services``.
"""
