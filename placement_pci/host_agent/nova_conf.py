"""Read the PCI-related options of a nova.conf-style file.

nova.conf repeats ``device_spec`` once per entry, which configparser
cannot hold, so the few options we need are read line by line:
``[pci] device_spec`` (and its old name ``passthrough_whitelist``),
``[devices] enabled_mdev_types`` and the ``[mdev_<type>]`` sections with
``device_addresses``, ``mdev_class`` and ``max_instances``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<key>[A-Za-z0-9_.-]+)\s*[=:]\s*(?P<value>.*)$")
DEVICE_SPEC_OPTIONS = ("device_spec", "passthrough_whitelist")


def _options(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) in file order; indented lines continue the
    previous value, as in oslo.config files."""
    found: list[list[str]] = []
    section = "DEFAULT"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if line[:1].isspace() and found:
            found[-1][2] += " " + stripped
            continue
        match = _SECTION.match(stripped)
        if match:
            section = match["name"].strip()
            continue
        match = _OPTION.match(stripped)
        if match:
            found.append([section, match["key"], match["value"].strip()])
    return [(section, key, value) for section, key, value in found]


def read_nova_conf(path: Path | str) -> dict[str, Any]:
    """``{"device_spec": [...strings...], "mdev": {...}}`` from the file;
    ``mdev`` is omitted when no mdev types are enabled."""
    entries: list[str] = []
    enabled: list[str] = []
    types: dict[str, dict[str, Any]] = {}
    for section, key, value in _options(Path(path).read_text()):
        if section == "pci" and key in DEVICE_SPEC_OPTIONS and value:
            entries.append(value)
        elif section == "devices" and key == "enabled_mdev_types":
            enabled = [item.strip() for item in value.split(",")
                       if item.strip()]
        elif section.startswith("mdev_"):
            options = types.setdefault(section[len("mdev_"):], {})
            if key == "device_addresses":
                options[key] = [item.strip() for item in value.split(",")
                                if item.strip()]
            elif key == "max_instances":
                options[key] = int(value) if value.isdigit() else value
            elif key == "mdev_class":
                options[key] = value
    result: dict[str, Any] = {"device_spec": entries}
    if enabled:
        result["mdev"] = {"enabled_mdev_types": enabled,
                          "types": {name: options
                                    for name, options in types.items()
                                    if name in enabled}}
    return result
