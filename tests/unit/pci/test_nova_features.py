"""Flavor/image features -> request (issue 13).

Each expected value is what Nova 34's ResourceRequest and request
pre-filters (with ``[scheduler] image_metadata_prefilter`` on) put in the
request for the same flavor and image; refusals are the inputs Nova's API
refuses (flavor validators, image metadata fields, numa_get_constraints).
"""
from __future__ import annotations

import pytest

from placement_pci import errors
from placement_pci.pci.request_groups import translate_body
from placement_pci.pci.request_rendering import render_request_groups

FLAVOR = {"vcpus": 4, "memory_mb": 2048, "root_gb": 10}
UEFI = {"hw_firmware_type": "uefi"}


def translate(extra_specs=None, image=None, vcpus=4):
    body = {"alias": [], "flavor": {**FLAVOR, "vcpus": vcpus,
                                    "extra_specs": extra_specs or {}}}
    if image is not None:
        body["image"] = {"properties": image}
    return render_request_groups(translate_body(body, []))


def unsuffixed(result):
    return next(g for g in result["groups"] if g["suffix"] == "")


def refusal(extra_specs=None, image=None, vcpus=4):
    with pytest.raises(errors.BadRequest) as caught:
        translate(extra_specs, image, vcpus)
    assert caught.value.code == "placement_pci.extra_specs.invalid"
    return caught.value.detail


# --- CPU policy --------------------------------------------------------------

@pytest.mark.parametrize("extra_specs, image, vcpus, cpu, required, forbidden", [
    # no policy: the flavor's vCPUs are shared
    ({}, None, 4, {"VCPU": 4}, [], []),
    ({"hw:cpu_policy": "shared"}, None, 4, {"VCPU": 4}, [], []),
    ({"hw:cpu_policy": "dedicated"}, None, 4, {"PCPU": 4}, [], []),
    ({}, {"hw_cpu_policy": "dedicated"}, 4, {"PCPU": 4}, [], []),
    # the flavor's dedicated wins over any image policy
    ({"hw:cpu_policy": "dedicated"}, {"hw_cpu_policy": "shared"}, 4,
     {"PCPU": 4}, [], []),
    ({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"},
     None, 4, {"PCPU": 5}, [], []),
    ({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "share"},
     None, 4, {"PCPU": 4}, [], []),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"},
     None, 4, {"PCPU": 4}, [], ["HW_CPU_HYPERTHREADING"]),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"},
     None, 4, {"PCPU": 4}, ["HW_CPU_HYPERTHREADING"], []),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "prefer"},
     None, 4, {"PCPU": 4}, [], []),
    ({"hw:cpu_policy": "dedicated"}, {"hw_cpu_thread_policy": "isolate"}, 4,
     {"PCPU": 4}, [], ["HW_CPU_HYPERTHREADING"]),
    # mixed: the mask picks the dedicated vCPUs
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "2-3"}, None, 4,
     {"PCPU": 2, "VCPU": 2}, [], []),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0"}, None, 4,
     {"PCPU": 3, "VCPU": 1}, [], []),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-5,^1-4"}, None,
     8, {"PCPU": 2, "VCPU": 6}, [], []),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "1",
      "hw:emulator_threads_policy": "isolate"}, None, 4,
     {"PCPU": 2, "VCPU": 3}, [], []),
    # mixed with a realtime mask: the realtime vCPUs are the dedicated ones
    ({"hw:cpu_policy": "mixed", "hw:cpu_realtime": "yes",
      "hw:cpu_realtime_mask": "^0-1"}, None, 4, {"PCPU": 2, "VCPU": 2}, [],
     []),
    # the image's realtime mask is used ahead of the flavor's
    ({"hw:cpu_policy": "mixed", "hw:cpu_realtime": "true",
      "hw:cpu_realtime_mask": "^0"}, {"hw_cpu_realtime_mask": "3"}, 4,
     {"PCPU": 1, "VCPU": 3}, [], []),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "true",
      "hw:cpu_realtime_mask": "^0"}, None, 4, {"PCPU": 4}, [], []),
    # explicit amounts replace the policy
    ({"resources:PCPU": "4"}, None, 4, {"PCPU": 4}, [], []),
    ({"resources:PCPU": "5", "hw:emulator_threads_policy": "isolate"}, None,
     4, {"PCPU": 5}, [], []),
    ({"resources:VCPU": "2"}, None, 4, {"VCPU": 2}, [], []),
    ({"resources:PCPU": "4", "trait:HW_CPU_HYPERTHREADING": "forbidden"},
     None, 4, {"PCPU": 4}, [], ["HW_CPU_HYPERTHREADING"]),
    ({"resources:PCPU": "4"}, {"trait:HW_CPU_HYPERTHREADING": "required"}, 4,
     {"PCPU": 4}, ["HW_CPU_HYPERTHREADING"], []),
])
def test_cpu_policy(extra_specs, image, vcpus, cpu, required, forbidden):
    group = unsuffixed(translate(extra_specs, image, vcpus))
    assert {name: amount for name, amount in group["resources"].items()
            if name in ("VCPU", "PCPU")} == cpu
    assert group["required"] == required
    assert group["forbidden"] == forbidden


def test_dedicated_cpu_query():
    result = translate({"hw:cpu_policy": "dedicated",
                        "hw:cpu_thread_policy": "require"})
    assert result["query"].startswith(
        "resources=DISK_GB:10,MEMORY_MB:2048,PCPU:4"
        "&required=HW_CPU_HYPERTHREADING&")


@pytest.mark.parametrize("extra_specs, image, key, reason", [
    ({"hw:cpu_policy": "pinned"}, None, "hw:cpu_policy", "not one of"),
    ({}, {"hw_cpu_policy": "pinned"}, "hw_cpu_policy", "not one of"),
    ({"hw:cpu_policy": "shared"}, {"hw_cpu_policy": "dedicated"},
     "hw:cpu_policy", "conflicts"),
    ({"hw:cpu_policy": "shared"}, {"hw_cpu_policy": "mixed"},
     "hw:cpu_policy", "conflicts"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "1"},
     {"hw_cpu_policy": "dedicated"}, "hw:cpu_policy", "conflicts"),
    ({"hw:cpu_thread_policy": "isolate", "hw:cpu_policy": "dedicated"},
     {"hw_cpu_thread_policy": "require"}, "hw:cpu_thread_policy",
     "conflicts"),
    ({"hw:cpu_thread_policy": "sometimes"}, None, "hw:cpu_thread_policy",
     "not one of"),
    ({"hw:emulator_threads_policy": "apart"}, None,
     "hw:emulator_threads_policy", "not one of"),
    ({"hw:cpu_policy": "dedicated", "resources:PCPU": "4"}, None,
     "resources:PCPU", "hw:cpu_policy"),
])
def test_cpu_policy_invalid_or_conflicting(extra_specs, image, key, reason):
    detail = refusal(extra_specs, image)
    assert f"'{key}'" in detail and reason in detail


@pytest.mark.parametrize("extra_specs, image, key", [
    ({"hw:cpu_policy": "dedicated", "resources:VCPU": "4"}, None,
     "resources:VCPU"),
    ({"resources:VCPU": "2", "resources:PCPU": "2"}, None, "resources:PCPU"),
    ({"resources:PCPU": "3"}, None, "resources:PCPU"),
    ({"resources:PCPU": "4", "hw:emulator_threads_policy": "isolate"}, None,
     "resources:PCPU"),
    ({"resources1:PCPU": "3"}, None, "resources:PCPU"),
    ({"hw:cpu_thread_policy": "isolate"}, None, "hw:cpu_thread_policy"),
    ({"hw:cpu_thread_policy": "prefer"}, None, "hw:cpu_thread_policy"),
    ({"hw:cpu_policy": "shared", "hw:cpu_thread_policy": "require"}, None,
     "hw:cpu_thread_policy"),
    ({"trait:HW_CPU_HYPERTHREADING": "forbidden"}, None,
     "hw:cpu_thread_policy"),
    ({"resources:VCPU": "4", "trait:HW_CPU_HYPERTHREADING": "required"},
     None, "hw:cpu_thread_policy"),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate",
      "trait:HW_CPU_HYPERTHREADING": "forbidden"}, None,
     "hw:cpu_thread_policy"),
    ({"hw:emulator_threads_policy": "isolate"}, None,
     "hw:emulator_threads_policy"),
    ({"hw:cpu_dedicated_mask": "1"}, None, "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_dedicated_mask": "1"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "mixed"}, None, "hw:cpu_policy"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "0-3"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "3-5"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "x"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "3-1"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "1",
      "hw:cpu_realtime": "yes", "hw:cpu_realtime_mask": "^0"}, None,
     "hw:cpu_dedicated_mask"),
    ({"hw:cpu_realtime": "yes", "hw:cpu_realtime_mask": "^0"}, None,
     "hw:cpu_realtime"),
    # realtime on every vCPU needs an emulator threads policy
    ({"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "yes"}, None,
     "hw:cpu_realtime_mask"),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_realtime": "maybe"}, None,
     "hw:cpu_realtime"),
])
def test_cpu_refusals(extra_specs, image, key):
    assert f"'{key}'" in refusal(extra_specs, image)


def test_realtime_on_every_vcpu_with_emulator_policy_is_allowed():
    group = unsuffixed(translate({"hw:cpu_policy": "dedicated",
                                  "hw:cpu_realtime": "yes",
                                  "hw:emulator_threads_policy": "share"}))
    assert group["resources"]["PCPU"] == 4


def test_string_suffixed_pcpu_is_not_an_explicit_cpu_request():
    # Nova only counts the unsuffixed and numbered groups.
    result = translate({"hw:cpu_policy": "dedicated",
                        "resources_X:PCPU": "1"})
    assert unsuffixed(result)["resources"]["PCPU"] == 4
    assert "resources_X=PCPU:1" in result["query"]


# --- image metadata pre-filter --------------------------------------------------

@pytest.mark.parametrize("image, traits", [
    ({"hw_disk_bus": "virtio"}, ["COMPUTE_STORAGE_BUS_VIRTIO"]),
    ({"hw_disk_bus": "scsi", "hw_cdrom_bus": "sata"},
     ["COMPUTE_STORAGE_BUS_SATA", "COMPUTE_STORAGE_BUS_SCSI"]),
    ({"hw_cdrom_bus": "ide"}, ["COMPUTE_STORAGE_BUS_IDE"]),
    ({"hw_vif_model": "virtio"}, ["COMPUTE_NET_VIF_MODEL_VIRTIO"]),
    ({"hw_vif_model": "e1000e"}, ["COMPUTE_NET_VIF_MODEL_E1000E"]),
    ({"hw_vif_model": "spapr-vlan"}, ["COMPUTE_NET_VIF_MODEL_SPAPR_VLAN"]),
    ({"hw_vif_model": "ne2k_pci"}, ["COMPUTE_NET_VIF_MODEL_NE2K_PCI"]),
    # legacy (VMware) names
    ({"hw_vif_model": "VirtualE1000"}, ["COMPUTE_NET_VIF_MODEL_E1000"]),
    ({"hw_vif_model": "virtuale1000e"}, ["COMPUTE_NET_VIF_MODEL_E1000E"]),
    ({"hw_vif_model": "VirtualPCNet32"}, ["COMPUTE_NET_VIF_MODEL_PCNET"]),
    ({"hw_vif_model": "VirtualSriovEthernetCard"},
     ["COMPUTE_NET_VIF_MODEL_SRIOV"]),
    ({"hw_vif_model": "VirtualVmxnet"}, ["COMPUTE_NET_VIF_MODEL_VMXNET"]),
    ({"hw_vif_model": "VirtualVmxnet3"}, ["COMPUTE_NET_VIF_MODEL_VMXNET3"]),
    ({"hw_video_model": "virtio"}, ["COMPUTE_GRAPHICS_MODEL_VIRTIO"]),
    ({"hw_video_model": "none"}, ["COMPUTE_GRAPHICS_MODEL_NONE"]),
    ({"hw_architecture": "x86_64"}, ["HW_ARCH_X86_64"]),
    ({"hw_architecture": "AMD64"}, ["HW_ARCH_X86_64"]),
    ({"hw_architecture": "i386"}, ["HW_ARCH_I686"]),
    ({"hw_architecture": "aarch64"}, ["HW_ARCH_AARCH64"]),
    ({"hw_architecture": "ppc64le"}, ["HW_ARCH_PPC64LE"]),
    ({"hw_emulation_architecture": "aarch64"}, ["COMPUTE_ARCH_AARCH64"]),
    ({"hw_emulation_architecture": "s390x"}, ["COMPUTE_ARCH_S390X"]),
    # a valid architecture os-traits has no trait for adds nothing
    ({"hw_architecture": "armv7l"}, []),
    ({"hw_emulation_architecture": "sparc"}, []),
    # unrelated properties add nothing
    ({"os_distro": "ubuntu", "hw_scsi_model": "virtio-scsi"}, []),
])
def test_image_metadata_root_traits(image, traits):
    result = translate(image=image)
    assert result["root_required"] == sorted(traits + ["OWNER_NOVA"])


@pytest.mark.parametrize("image, key", [
    ({"hw_disk_bus": "nvme"}, "hw_disk_bus"),
    ({"hw_disk_bus": "VIRTIO"}, "hw_disk_bus"),
    ({"hw_cdrom_bus": "floppy"}, "hw_cdrom_bus"),
    ({"hw_vif_model": "virtio-net"}, "hw_vif_model"),
    ({"hw_video_model": "VGA"}, "hw_video_model"),
    ({"hw_video_model": "nvidia"}, "hw_video_model"),
    ({"hw_architecture": "x86"}, "hw_architecture"),
    ({"hw_emulation_architecture": "arm64"}, "hw_emulation_architecture"),
])
def test_image_metadata_values_nova_rejects(image, key):
    detail = refusal(image=image)
    assert f"image property '{key}'" in detail and "not one of" in detail


@pytest.mark.parametrize("extra_specs, image, viommu", [
    ({}, {"hw_viommu_model": "virtio"}, "COMPUTE_VIOMMU_MODEL_VIRTIO"),
    ({"hw:viommu_model": "intel"}, {"hw_viommu_model": "virtio"},
     "COMPUTE_VIOMMU_MODEL_INTEL"),
])
def test_image_metadata_traits_combine_with_viommu(extra_specs, image,
                                                   viommu):
    result = translate(extra_specs, {**image, "hw_disk_bus": "virtio",
                                     "hw_vif_model": "virtio"})
    assert result["root_required"] == sorted([
        viommu, "COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_NET_VIF_MODEL_VIRTIO",
        "OWNER_NOVA"])


# --- image traits_required --------------------------------------------------------

@pytest.mark.parametrize("image, required", [
    ({"traits_required": ["HW_CPU_X86_AVX2"]}, ["HW_CPU_X86_AVX2"]),
    ({"traits_required": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"],
      "trait:CUSTOM_GOLD": "required"}, ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]),
    ({"traits_required": []}, []),
])
def test_image_traits_required_list(image, required):
    assert unsuffixed(translate(image=image))["required"] == required


@pytest.mark.parametrize("value", [
    "HW_CPU_X86_AVX2", ["gold"], [1], ["CUSTOM_"]])
def test_image_traits_required_invalid(value):
    detail = refusal(image={"traits_required": value})
    assert "image property 'traits_required'" in detail


def test_image_trait_list_conflicting_with_flavor_forbidden():
    detail = refusal({"trait:CUSTOM_GOLD": "forbidden"},
                     {"traits_required": ["CUSTOM_GOLD"]})
    assert "CUSTOM_GOLD" in detail and "both required and forbidden" in detail


# --- other features -----------------------------------------------------------------

@pytest.mark.parametrize("extra_specs, image, resources, required, root", [
    ({"hw:mem_encryption": "true"}, UEFI, {"MEM_ENCRYPTION_CONTEXT": 1},
     ["HW_CPU_X86_AMD_SEV"], []),
    ({}, {**UEFI, "hw_mem_encryption": "true",
          "hw_machine_type": "pc-q35-8.2"},
     {"MEM_ENCRYPTION_CONTEXT": 1}, ["HW_CPU_X86_AMD_SEV"], []),
    ({"hw:mem_encryption": "true", "hw:mem_encryption_model": "amd-sev-es"},
     UEFI, {"MEM_ENCRYPTION_CONTEXT": 1}, ["HW_CPU_X86_AMD_SEV_ES"], []),
    ({"hw:mem_encryption": "yes"},
     {**UEFI, "hw_mem_encryption_model": "amd-sev-snp"},
     {"MEM_ENCRYPTION_CONTEXT": 1}, ["HW_CPU_X86_AMD_SEV_SNP"], []),
    ({"hw:mem_encryption": "false"}, {}, {}, [], []),
    ({"hw:pmem": "4GB,4GB, SMALL"}, None,
     {"CUSTOM_PMEM_NAMESPACE_4GB": 2, "CUSTOM_PMEM_NAMESPACE_SMALL": 1},
     [], []),
    ({"hw:tpm_version": "2.0"}, None, {},
     ["COMPUTE_SECURITY_TPM_2_0", "COMPUTE_SECURITY_TPM_TIS"],
     ["COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER"]),
    ({}, {"hw_tpm_version": "1.2"}, {},
     ["COMPUTE_SECURITY_TPM_1_2", "COMPUTE_SECURITY_TPM_TIS"],
     ["COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER"]),
    ({"hw:tpm_version": "2.0", "hw:tpm_model": "tpm-crb",
      "hw:tpm_secret_security": "host"}, None, {},
     ["COMPUTE_SECURITY_TPM_2_0", "COMPUTE_SECURITY_TPM_CRB"],
     ["COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST"]),
    ({"hw:secure_boot": "required"}, None, {},
     ["COMPUTE_SECURITY_UEFI_SECURE_BOOT"], []),
    ({}, {"os_secure_boot": "required"}, {},
     ["COMPUTE_SECURITY_UEFI_SECURE_BOOT"], []),
    ({"hw:secure_boot": "optional"}, None, {}, [], []),
    ({}, {"hw_firmware_stateless": "true"}, {},
     ["COMPUTE_SECURITY_STATELESS_FIRMWARE"], []),
    ({"hw:maxphysaddr_mode": "passthrough"}, None, {},
     ["COMPUTE_ADDRESS_SPACE_PASSTHROUGH"], []),
    ({}, {"hw_maxphysaddr_mode": "emulate"}, {},
     ["COMPUTE_ADDRESS_SPACE_EMULATED"], []),
    ({"hw:virtio_packed_ring": "true"}, None, {}, [],
     ["COMPUTE_NET_VIRTIO_PACKED"]),
    ({}, {"hw_sound_model": "virtio"}, {}, [],
     ["COMPUTE_SOUND_MODEL_VIRTIO"]),
    ({"hw:sound_model": "ich9"}, None, {}, [], []),
    ({"hw:ephemeral_encryption": "true"},
     {"hw_ephemeral_encryption_format": "luks"}, {}, [],
     ["COMPUTE_EPHEMERAL_ENCRYPTION", "COMPUTE_EPHEMERAL_ENCRYPTION_LUKS"]),
    ({"resources:VGPU": "1"}, None, {"VGPU": 1}, [], []),
    ({"trait:HW_CPU_X86_AVX512F": "required",
      "trait:COMPUTE_STATUS_DISABLED": "forbidden"}, None, {},
     ["HW_CPU_X86_AVX512F"], []),
])
def test_features(extra_specs, image, resources, required, root):
    result = translate(extra_specs, image)
    group = unsuffixed(result)
    assert {name: amount for name, amount in group["resources"].items()
            if name not in ("VCPU", "MEMORY_MB", "DISK_GB")} == resources
    assert group["required"] == required
    assert result["root_required"] == sorted(root + ["OWNER_NOVA"])


@pytest.mark.parametrize("extra_specs, image, key", [
    ({"hw:mem_encryption": "true"}, {}, "hw:mem_encryption"),
    ({}, {"hw_mem_encryption": "true", "hw_firmware_type": "bios"},
     "hw_mem_encryption"),
    ({"hw:mem_encryption": "true"}, {**UEFI, "hw_machine_type": "pc"},
     "hw_machine_type"),
    ({"hw:mem_encryption": "true"}, {**UEFI, "hw_mem_encryption": "false"},
     "hw:mem_encryption"),
    ({"hw:mem_encryption": "true", "hw:mem_encryption_model": "intel-tdx"},
     UEFI, "hw:mem_encryption_model"),
    ({"hw:mem_encryption": "sometimes"}, UEFI, "hw:mem_encryption"),
    ({"hw:pmem": " , "}, None, "hw:pmem"),
    ({"hw:tpm_version": "3.0"}, None, "hw:tpm_version"),
    ({"hw:tpm_version": "1.2", "hw:tpm_model": "tpm-crb"}, None,
     "hw:tpm_model"),
    ({"hw:tpm_version": "2.0"}, {"hw_tpm_version": "1.2"}, "hw:tpm_version"),
    ({"hw:tpm_version": "2.0", "hw:tpm_secret_security": "cloud"}, None,
     "hw:tpm_secret_security"),
    ({"hw:secure_boot": "always"}, None, "hw:secure_boot"),
    ({"hw:secure_boot": "required"}, {"os_secure_boot": "disabled"},
     "hw:secure_boot"),
    ({"hw:maxphysaddr_mode": "host"}, None, "hw:maxphysaddr_mode"),
    ({"hw:sound_model": "hda"}, None, "hw:sound_model"),
    ({"hw:ephemeral_encryption_format": "zip"}, None,
     "hw:ephemeral_encryption_format"),
    ({"hw:virtio_packed_ring": "true"}, {"hw_virtio_packed_ring": "false"},
     "hw:virtio_packed_ring"),
])
def test_feature_refusals(extra_specs, image, key):
    assert f"'{key}'" in refusal(extra_specs, image)
