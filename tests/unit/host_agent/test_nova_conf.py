"""Reading device_spec and mdev options from a nova.conf-style file."""
from __future__ import annotations

import json

from placement_pci.host_agent import nova_conf


def test_reads_repeated_device_spec_and_mdev_sections(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text(
        "[pci]\n"
        "# a comment\n"
        'device_spec = {"vendor_id": "10de",\n'
        '    "product_id": "25b6"}\n'
        'passthrough_whitelist = [{"vendor_id": "8086"}]\n'
        "alias = {\"name\": \"a\"}\n"
        "[devices]\n"
        "enabled_mdev_types = nvidia-35, mlx5_core-local\n"
        "[mdev_mlx5_core-local]\n"
        "device_addresses = 0000:86:00.0,0000:87:00.0\n"
        "mdev_class = CUSTOM_MLX5\n"
        "max_instances = 3\n"
        "[mdev_unused]\n"
        "mdev_class = CUSTOM_X\n")
    conf = nova_conf.read_nova_conf(path)
    assert [json.loads(entry) for entry in conf["device_spec"]] == [
        {"vendor_id": "10de", "product_id": "25b6"}, [{"vendor_id": "8086"}]]
    assert conf["mdev"] == {
        "enabled_mdev_types": ["nvidia-35", "mlx5_core-local"],
        "types": {"mlx5_core-local": {
            "device_addresses": ["0000:86:00.0", "0000:87:00.0"],
            "mdev_class": "CUSTOM_MLX5", "max_instances": 3}}}


def test_no_mdev_types(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text("[DEFAULT]\ndebug = true\n")
    assert nova_conf.read_nova_conf(path) == {"device_spec": []}
