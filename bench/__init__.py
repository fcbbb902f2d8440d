"""Load generator and benchmark for any Placement-API URL.

Everything here talks to a service through the REST API only, so the same
run measures placement_pci and upstream OpenStack Placement side by side.
See bench/README.md.
"""
