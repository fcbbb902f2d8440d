"""The seed examples every PCI test starts from (issue texts and
spec/pci-api.md): an NVIDIA A16 VF exposed as CUSTOM_A16_16A with
managed=no, and an Intel X520 PF (8086:154d)."""
from __future__ import annotations

A16_SPEC = {"vendor_id": "10de", "product_id": "25b6",
            "address": "0000:25:00.4", "resource_class": "CUSTOM_A16_16A",
            "managed": "no"}
A16_ALIAS = {"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",
             "name": "A16_16A"}
A16_PF = {"address": "0000:25:00.0", "vendor_id": "10de", "product_id": "25b6",
          "dev_type": "type-PF", "numa_node": 0, "vf_product_id": "25b6"}


def a16_vf(function: int) -> dict:
    """A VF of the A16 PF at 0000:25:00.<function>."""
    return {"address": f"0000:25:00.{function}", "vendor_id": "10de",
            "product_id": "25b6", "dev_type": "type-VF",
            "parent_addr": "0000:25:00.0", "numa_node": 0}


A16_DEVICES = [A16_PF, a16_vf(4)]

X520_SPEC = {"vendor_id": "8086", "product_id": "154d",
             "address": "0000:41:00.0"}
X520_SPEC_BY_ID = {"vendor_id": "8086", "product_id": "154d"}
X520_ALIAS = {"vendor_id": "8086", "product_id": "154d",
              "device_type": "type-PF", "name": "a1"}


def x520_pfs(functions=(0, 1), numa_node: int = 0) -> list[dict]:
    """X520 PFs at 0000:41:00.<function>."""
    return [{"address": f"0000:41:00.{function}", "vendor_id": "8086",
             "product_id": "154d", "dev_type": "type-PF", "numa_node": numa_node}
            for function in functions]
