"""The HTTP edge: one module per API resource, each exposing ``blueprint``.

Handlers parse and validate input, call a domain operation in
``placement_pci.store`` and render the result.  They never build SQL.
Modules in this package that define a module-level ``blueprint`` are
registered by ``placement_pci.app.create_app``.
"""
