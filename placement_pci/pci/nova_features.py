"""Flavor and image settings Nova turns into resources and traits.

Besides the granular ``resources``/``trait`` keys and PCI aliases
(``extra_specs``), Nova 34 changes a boot request for:

- the CPU policy (``hw:cpu_policy``/``hw_cpu_policy``, the dedicated and
  realtime masks, the emulator threads and thread policies, explicit
  ``resources:VCPU``/``resources:PCPU``): shared vCPUs become ``PCPU``,
  all or some of them, and ``HW_CPU_HYPERTHREADING`` is required or
  forbidden;
- memory encryption (``MEM_ENCRYPTION_CONTEXT`` plus the model's trait),
  vPMEM namespaces (``CUSTOM_PMEM_NAMESPACE_<LABEL>``), the emulated TPM,
  UEFI secure boot, stateless firmware and the guest address-space mode
  (traits of the unsuffixed group);
- its request pre-filters: image metadata (disk/cdrom bus, VIF and video
  model, architecture, emulation architecture), packed virtqueues, virtio
  sound, ephemeral encryption and TPM secret security (root traits).

``translate`` reads the validated string maps and returns what to add.
Values Nova refuses (its flavor validators, image-metadata field types and
``hardware.numa_get_constraints``) are ``BadRequest`` naming the key.
Trait names always come from os-traits.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import os_resource_classes as orc
import os_traits

from placement_pci import errors, names
from placement_pci.pci.device_spec import parse_strict_boolean
from placement_pci.pci.extra_specs import extra_specs_error, image_property_error

DEDICATED, SHARED, MIXED = "dedicated", "shared", "mixed"
CPU_POLICIES = (DEDICATED, SHARED, MIXED)
PREFER, ISOLATE, REQUIRE = "prefer", "isolate", "require"
THREAD_POLICIES = (PREFER, ISOLATE, REQUIRE)
EMULATOR_POLICIES = ("share", "isolate")

# Nova only counts explicit VCPU/PCPU and the hyperthreading trait in the
# unsuffixed group and numbered groups (resources1:, trait2:, ...).
_NUMBERED_SUFFIX = re.compile(r"^([1-9][0-9]*)?$")

# --- image metadata pre-filter ---------------------------------------------

DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc",
              "uml")
VIDEO_MODELS = ("cirrus", "qxl", "vga", "vmvga", "xen", "virtio", "gop",
                "none", "bochs")
VIF_MODELS = ("virtio", "ne2k_pci", "pcnet", "rtl8139", "e1000", "e1000e",
              "netfront", "spapr-vlan", "lan9118", "sriov", "vmxnet",
              "vmxnet3", "igb")
# Names the VMware driver once wrote into hw_vif_model.
LEGACY_VIF_MODELS = {"virtuale1000": "e1000", "virtuale1000e": "e1000e",
                     "virtualpcnet32": "pcnet",
                     "virtualsriovethernetcard": "sriov",
                     "virtualvmxnet": "vmxnet", "virtualvmxnet3": "vmxnet3"}
ARCHITECTURES = ("alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris",
                 "i686", "ia64", "lm32", "m68k", "microblaze",
                 "microblazeel", "mips", "mipsel", "mips64", "mips64el",
                 "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64",
                 "ppc64le", "ppcemb", "s390", "s390x", "sh4", "sh4eb",
                 "sparc", "sparc64", "unicore32", "x86_64", "xtensa",
                 "xtensaeb")
_ARCH_ALIASES = {"i386": "i686", "i486": "i686", "i586": "i686",
                 "x86_32": "i686", "x86_32p": "i686", "amd64": "x86_64"}


def _exact(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda value: value if value in choices else None


def _vif_model(value: str) -> str | None:
    lowered = value.lower()
    lowered = LEGACY_VIF_MODELS.get(lowered, lowered)
    return lowered if lowered in VIF_MODELS else None


def _architecture(value: str) -> str | None:
    lowered = value.lower()
    lowered = _ARCH_ALIASES.get(lowered, lowered)
    return lowered if lowered in ARCHITECTURES else None


@dataclass(frozen=True)
class ImageTraitProperty:
    key: str
    prefix: str
    canonical: Callable[[str], str | None]
    choices: tuple[str, ...]


# The properties Nova's transform_image_metadata pre-filter maps to root
# traits (hw_viommu_model is handled with the flavor key, see viommu.py).
IMAGE_TRAIT_PROPERTIES = (
    ImageTraitProperty("hw_cdrom_bus", "COMPUTE_STORAGE_BUS",
                       _exact(DISK_BUSES), DISK_BUSES),
    ImageTraitProperty("hw_disk_bus", "COMPUTE_STORAGE_BUS",
                       _exact(DISK_BUSES), DISK_BUSES),
    ImageTraitProperty("hw_video_model", "COMPUTE_GRAPHICS_MODEL",
                       _exact(VIDEO_MODELS), VIDEO_MODELS),
    ImageTraitProperty("hw_vif_model", "COMPUTE_NET_VIF_MODEL", _vif_model,
                       VIF_MODELS),
    ImageTraitProperty("hw_architecture", "HW_ARCH", _architecture,
                       ARCHITECTURES),
    ImageTraitProperty("hw_emulation_architecture", "COMPUTE_ARCH",
                       _architecture, ARCHITECTURES),
)

# --- other features ----------------------------------------------------------

MEM_ENCRYPTION_MODEL_TRAITS = {
    "amd-sev": os_traits.HW_CPU_X86_AMD_SEV,
    "amd-sev-es": os_traits.HW_CPU_X86_AMD_SEV_ES,
    "amd-sev-snp": os_traits.HW_CPU_X86_AMD_SEV_SNP,
}
DEFAULT_MEM_ENCRYPTION_MODEL = "amd-sev"
TPM_VERSION_TRAITS = {"1.2": os_traits.COMPUTE_SECURITY_TPM_1_2,
                      "2.0": os_traits.COMPUTE_SECURITY_TPM_2_0}
TPM_MODEL_TRAITS = {"tpm-tis": os_traits.COMPUTE_SECURITY_TPM_TIS,
                    "tpm-crb": os_traits.COMPUTE_SECURITY_TPM_CRB}
TPM_SECRET_SECURITY_TRAITS = {
    "user": os_traits.COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER,
    "host": os_traits.COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST,
    "deployment": os_traits.COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT,
}
SECURE_BOOT_POLICIES = ("required", "disabled", "optional")
MAXPHYSADDR_TRAITS = {
    "passthrough": os_traits.COMPUTE_ADDRESS_SPACE_PASSTHROUGH,
    "emulate": os_traits.COMPUTE_ADDRESS_SPACE_EMULATED,
}
EPHEMERAL_ENCRYPTION_FORMATS = ("luks", "plain")
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb",
                "virtio")


@dataclass
class FeatureRequest:
    """What the flavor's and image's features add to the request."""

    # Amounts set in the unsuffixed group (they replace a granular amount
    # of the same class, as in Nova).
    resources: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    root_required: set[str] = field(default_factory=set)
    cpu_policy: str | None = None


@dataclass(frozen=True)
class _Sources:
    specs: Mapping[str, str]
    props: Mapping[str, str]
    image_traits: frozenset[str]


def _flavor_key(name: str) -> str:
    return f"hw:{name}"


def _image_key(name: str) -> str:
    return f"hw_{name}"


def _choice(value: str, choices, key: str, error) -> str:
    if value not in choices:
        raise error(key, f"'{value}' is not one of {', '.join(choices)}")
    return value


def _bool(value: str, key: str, error) -> bool:
    try:
        return parse_strict_boolean(value)
    except ValueError as exc:
        raise error(key, str(exc)) from None


def _conflict(name: str, flavor_value: str | None, image_value: str | None,
              what: str = "") -> errors.BadRequest:
    return extra_specs_error(
        _flavor_key(name),
        f"'{flavor_value}' conflicts with image property "
        f"{_image_key(name)}='{image_value}'{what}; set one, or the same "
        f"value in both")


def _flavor_and_image(src: _Sources, name: str,
                      choices=None) -> tuple[str | None, str | None]:
    """Flavor ``hw:<name>`` and image ``hw_<name>``, each checked against
    ``choices`` (when given) where set."""
    flavor_value = src.specs.get(_flavor_key(name))
    image_value = src.props.get(_image_key(name))
    if choices is not None:
        if flavor_value is not None:
            _choice(flavor_value, choices, _flavor_key(name),
                    extra_specs_error)
        if image_value is not None:
            _choice(image_value, choices, _image_key(name),
                    image_property_error)
    return flavor_value, image_value


def _unique(src: _Sources, name: str, choices=None) -> str | None:
    """Flavor ``hw:<name>`` or image ``hw_<name>``; both set must agree."""
    flavor_value, image_value = _flavor_and_image(src, name, choices)
    if flavor_value and image_value and flavor_value != image_value:
        raise _conflict(name, flavor_value, image_value)
    return flavor_value or image_value


def _unique_bool(src: _Sources, name: str) -> bool | None:
    flavor_text = src.specs.get(_flavor_key(name))
    image_text = src.props.get(_image_key(name))
    flavor_value = (None if flavor_text is None
                    else _bool(flavor_text, _flavor_key(name),
                               extra_specs_error))
    image_value = (None if image_text is None
                   else _bool(image_text, _image_key(name),
                              image_property_error))
    if (flavor_value is not None and image_value is not None
            and flavor_value != image_value):
        raise _conflict(name, flavor_text, image_text)
    return flavor_value if flavor_value is not None else image_value


# --- CPU sets ----------------------------------------------------------------

def parse_cpu_set(text: str, key: str, error=extra_specs_error) -> set[int]:
    """``0-3,^2,5`` -> {0, 1, 3, 5} (ranges, exclusions, single CPUs)."""
    wanted: set[int] = set()
    excluded: set[int] = set()

    def number(part: str, rule: str) -> int:
        part = part.strip()
        if not part.isdigit():
            raise error(key, f"'{rule}' in '{text}' is not a CPU number, a "
                             f"range such as 0-3 or an exclusion such as ^2")
        return int(part)

    for rule in text.split(","):
        rule = rule.strip()
        if not rule:
            continue
        negate = rule.startswith("^")
        body = rule[1:] if negate else rule
        if "-" in body:
            low_text, high_text = body.split("-", 1)
            low, high = number(low_text, rule), number(high_text, rule)
            if low > high:
                raise error(key, f"range '{rule}' in '{text}' runs "
                                 f"backwards")
            cpus = set(range(low, high + 1))
        else:
            cpus = {number(body, rule)}
        (excluded if negate else wanted).update(cpus)
    return wanted - excluded


def _mask(text: str, vcpus: int, key: str, error=extra_specs_error
          ) -> set[int]:
    if text.strip().startswith("^"):
        return parse_cpu_set(f"0-{vcpus - 1},{text}" if vcpus else text,
                             key, error)
    return parse_cpu_set(text, key, error)


def _dedicated_cpus(src: _Sources, vcpus: int) -> set[int] | None:
    key = "hw:cpu_dedicated_mask"
    text = src.specs.get(key)
    if not text:
        return None
    dedicated = _mask(text, vcpus, key)
    every = set(range(vcpus))
    if not dedicated or not every - dedicated:
        raise extra_specs_error(
            key, f"'{text}' must leave at least one dedicated and one "
                 f"shared vCPU of the flavor's {vcpus}")
    if not dedicated <= every:
        raise extra_specs_error(
            key, f"'{text}' names vCPUs outside 0-{vcpus - 1}")
    return dedicated


def _realtime_cpus(src: _Sources, vcpus: int,
                   emulator_policy: str | None) -> set[int] | None:
    realtime_text = src.specs.get("hw:cpu_realtime")
    if realtime_text is None or not _bool(realtime_text, "hw:cpu_realtime",
                                          extra_specs_error):
        return None
    image_mask = src.props.get("hw_cpu_realtime_mask")
    flavor_mask = src.specs.get("hw:cpu_realtime_mask")
    text: str | None
    if image_mask:
        key, error, text = ("hw_cpu_realtime_mask", image_property_error,
                            image_mask)
    else:
        key, error, text = ("hw:cpu_realtime_mask", extra_specs_error,
                            flavor_mask)
    every = set(range(vcpus))
    realtime = _mask(text, vcpus, key, error) if text else set(every)
    if not realtime:
        raise error(key, f"'{text}' selects no realtime vCPU")
    if realtime == every and not emulator_policy:
        raise error(key or "hw:cpu_realtime",
                    "at least one vCPU must stay non-realtime (give a mask "
                    "such as ^0), unless hw:emulator_threads_policy is set")
    if not realtime <= every:
        raise error(key, f"'{text}' names vCPUs outside 0-{vcpus - 1}")
    return realtime


def _numbered(suffix: str) -> bool:
    return bool(_NUMBERED_SUFFIX.match(suffix))


def _explicit_cpu_amounts(groups) -> tuple[int, int]:
    vcpu = pcpu = 0
    for suffix, wanted in groups.items():
        if not _numbered(suffix):
            continue
        vcpu += wanted.resources.get(orc.VCPU, 0)
        pcpu += wanted.resources.get(orc.PCPU, 0)
    return vcpu, pcpu


def _hyperthreading_trait(src: _Sources, groups) -> str | None:
    trait = os_traits.HW_CPU_HYPERTHREADING
    for suffix, wanted in groups.items():
        if not _numbered(suffix):
            continue
        if trait in wanted.required:
            return "required"
        if trait in wanted.forbidden:
            return "forbidden"
    return "required" if trait in src.image_traits else None


def _cpu_policy(src: _Sources) -> str | None:
    flavor_policy, image_policy = _flavor_and_image(src, "cpu_policy", CPU_POLICIES)
    if flavor_policy == DEDICATED:
        return flavor_policy
    if flavor_policy in (SHARED, MIXED):
        refused = (DEDICATED,) if flavor_policy == MIXED else (DEDICATED,
                                                               MIXED)
        if image_policy in refused:
            raise _conflict("cpu_policy", flavor_policy, image_policy,
                            " (an image may not ask for more pinning than "
                            "its flavor)")
        return flavor_policy
    return image_policy


def _thread_policy(src: _Sources) -> str | None:
    flavor_policy, image_policy = _flavor_and_image(src, "cpu_thread_policy",
                                                    THREAD_POLICIES)
    if flavor_policy in (None, PREFER):
        return flavor_policy or image_policy
    if image_policy and image_policy != flavor_policy:
        raise _conflict("cpu_thread_policy", flavor_policy, image_policy)
    return flavor_policy


def _translate_cpu(src: _Sources, groups, vcpus: int,
                   result: FeatureRequest) -> None:
    policy = _cpu_policy(src)
    thread_policy = _thread_policy(src)
    emulator = src.specs.get("hw:emulator_threads_policy")
    if emulator is not None:
        _choice(emulator, EMULATOR_POLICIES, "hw:emulator_threads_policy",
                extra_specs_error)
    realtime = _realtime_cpus(src, vcpus, emulator)
    dedicated = _dedicated_cpus(src, vcpus)

    # Nova's consistency rules (hardware.numa_get_constraints).
    explicit_vcpu, explicit_pcpu = _explicit_cpu_amounts(groups)
    effective = policy
    if policy and (explicit_vcpu or explicit_pcpu):
        raise extra_specs_error(
            "resources:VCPU" if explicit_vcpu else "resources:PCPU",
            "cannot be combined with hw:cpu_policy or the image's "
            "hw_cpu_policy; use one or the other")
    if explicit_vcpu and explicit_pcpu:
        raise extra_specs_error(
            "resources:PCPU", "cannot be combined with resources:VCPU; use "
                              "one or the other")
    if explicit_pcpu:
        wanted = vcpus + 1 if emulator == ISOLATE else vcpus
        if explicit_pcpu != wanted:
            detail = (" (the flavor's vCPUs + 1 for "
                      "hw:emulator_threads_policy=isolate)"
                      if emulator == ISOLATE else " (the flavor's vCPUs)")
            raise extra_specs_error(
                "resources:PCPU", f"asks for {explicit_pcpu} PCPU but must "
                                  f"ask for exactly {wanted}{detail}")
        effective = DEDICATED
    if explicit_vcpu:
        effective = SHARED
    ht_trait = _hyperthreading_trait(src, groups)
    if thread_policy and ht_trait:
        raise extra_specs_error(
            "hw:cpu_thread_policy",
            f"cannot be combined with trait:{os_traits.HW_CPU_HYPERTHREADING} "
            f"(flavor or image); use one or the other")
    effective_thread = thread_policy or (
        {"forbidden": ISOLATE, "required": REQUIRE}.get(ht_trait) if ht_trait else None)
    if effective in (SHARED, None):
        if effective_thread:
            raise extra_specs_error(
                "hw:cpu_thread_policy",
                "a CPU thread policy (or a required/forbidden "
                f"{os_traits.HW_CPU_HYPERTHREADING} trait) needs "
                "hw:cpu_policy=dedicated or mixed")
        if emulator == ISOLATE:
            raise extra_specs_error(
                "hw:emulator_threads_policy",
                "'isolate' needs hw:cpu_policy=dedicated or mixed")
        if dedicated:
            raise extra_specs_error(
                "hw:cpu_dedicated_mask", "needs hw:cpu_policy=mixed")
        if realtime:
            raise extra_specs_error(
                "hw:cpu_realtime", "needs hw:cpu_policy=dedicated or mixed")
    elif effective == DEDICATED:
        if dedicated:
            raise extra_specs_error(
                "hw:cpu_dedicated_mask",
                "needs hw:cpu_policy=mixed, not dedicated")
    else:
        if realtime and dedicated:
            raise extra_specs_error(
                "hw:cpu_dedicated_mask",
                "cannot be combined with hw:cpu_realtime_mask; a mixed "
                "policy takes one of them")
        if not (realtime or dedicated):
            raise extra_specs_error(
                "hw:cpu_policy",
                "'mixed' needs hw:cpu_dedicated_mask (or hw:cpu_realtime "
                "with a mask) to tell dedicated from shared vCPUs")

    # The translation itself (ResourceRequest._translate_pinning_policies)
    # works on the policy of the flavor/image keys.
    result.cpu_policy = effective
    pcpus = None
    if policy == DEDICATED:
        pcpus = vcpus
    elif policy == MIXED:
        pcpus = len(dedicated or realtime or ())
        result.resources[orc.VCPU] = vcpus - pcpus
    if pcpus is not None:
        if emulator == ISOLATE:
            pcpus += 1
        result.resources[orc.PCPU] = pcpus
    if thread_policy == ISOLATE:
        result.forbidden.add(os_traits.HW_CPU_HYPERTHREADING)
    elif thread_policy == REQUIRE:
        result.required.add(os_traits.HW_CPU_HYPERTHREADING)


# --- other features -----------------------------------------------------------

def _translate_mem_encryption(src: _Sources, result: FeatureRequest) -> None:
    model = _unique(src, "mem_encryption_model",
                    tuple(MEM_ENCRYPTION_MODEL_TRAITS))
    if not _unique_bool(src, "mem_encryption"):
        return
    key = ("hw:mem_encryption" if "hw:mem_encryption" in src.specs
           else "hw_mem_encryption")
    error = extra_specs_error if key.startswith("hw:") else image_property_error
    if src.props.get("hw_firmware_type") != "uefi":
        raise error(key, "memory encryption needs an image with "
                         "hw_firmware_type=uefi")
    machine = src.props.get("hw_machine_type")
    if machine is not None and "q35" not in machine:
        raise image_property_error(
            "hw_machine_type", f"'{machine}' is not a q35 machine type, "
                               f"which memory encryption needs")
    result.resources[orc.MEM_ENCRYPTION_CONTEXT] = 1
    result.required.add(MEM_ENCRYPTION_MODEL_TRAITS[
        model or DEFAULT_MEM_ENCRYPTION_MODEL])


def _translate_pmem(src: _Sources, result: FeatureRequest) -> None:
    text = src.specs.get("hw:pmem")
    if text is None:
        return
    labels = [label.strip() for label in text.split(",") if label.strip()]
    if not labels:
        raise extra_specs_error("hw:pmem", "names no namespace label")
    for label in labels:
        try:
            resource_class = names.normalize_resource_class(
                f"PMEM_NAMESPACE_{label}")
        except ValueError as exc:
            raise extra_specs_error("hw:pmem", str(exc)) from None
        result.resources[resource_class] = (
            result.resources.get(resource_class, 0) + 1)


def _translate_vtpm(src: _Sources, result: FeatureRequest) -> None:
    version = _unique(src, "tpm_version", tuple(TPM_VERSION_TRAITS))
    model = _unique(src, "tpm_model", tuple(TPM_MODEL_TRAITS))
    security = src.specs.get("hw:tpm_secret_security")
    if security is not None:
        _choice(security, tuple(TPM_SECRET_SECURITY_TRAITS),
                "hw:tpm_secret_security", extra_specs_error)
    if version is None:
        return
    model = model or "tpm-tis"
    if model == "tpm-crb" and version != "2.0":
        key = ("hw:tpm_model" if src.specs.get("hw:tpm_model")
               else "hw_tpm_model")
        error = (extra_specs_error if key.startswith("hw:")
                 else image_property_error)
        raise error(key, "'tpm-crb' needs TPM version 2.0")
    result.required.add(TPM_VERSION_TRAITS[version])
    result.required.add(TPM_MODEL_TRAITS[model])
    result.root_required.add(TPM_SECRET_SECURITY_TRAITS[security or "user"])


def _translate_firmware(src: _Sources, result: FeatureRequest) -> None:
    flavor_policy = src.specs.get("hw:secure_boot")
    image_policy = src.props.get("os_secure_boot")
    if flavor_policy is not None:
        _choice(flavor_policy, SECURE_BOOT_POLICIES, "hw:secure_boot",
                extra_specs_error)
    if image_policy is not None:
        _choice(image_policy, SECURE_BOOT_POLICIES, "os_secure_boot",
                image_property_error)
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise extra_specs_error(
            "hw:secure_boot", f"'{flavor_policy}' conflicts with image "
                              f"property os_secure_boot='{image_policy}'")
    if (flavor_policy or image_policy) == "required":
        result.required.add(os_traits.COMPUTE_SECURITY_UEFI_SECURE_BOOT)
    stateless = src.props.get("hw_firmware_stateless")
    if stateless is not None and _bool(stateless, "hw_firmware_stateless",
                                       image_property_error):
        result.required.add(os_traits.COMPUTE_SECURITY_STATELESS_FIRMWARE)
    mode = _unique(src, "maxphysaddr_mode", tuple(MAXPHYSADDR_TRAITS))
    if mode:
        result.required.add(MAXPHYSADDR_TRAITS[mode])


def _translate_root_filters(src: _Sources, result: FeatureRequest) -> None:
    if _unique_bool(src, "virtio_packed_ring"):
        result.root_required.add(os_traits.COMPUTE_NET_VIRTIO_PACKED)
    sound = _unique(src, "sound_model", SOUND_MODELS)
    if sound == "virtio":
        result.root_required.add(os_traits.COMPUTE_SOUND_MODEL_VIRTIO)
    encryption_format = _unique(src, "ephemeral_encryption_format",
                                EPHEMERAL_ENCRYPTION_FORMATS)
    if _unique_bool(src, "ephemeral_encryption"):
        result.root_required.add(os_traits.COMPUTE_EPHEMERAL_ENCRYPTION)
        if encryption_format:
            result.root_required.add(
                f"{os_traits.COMPUTE_EPHEMERAL_ENCRYPTION}_"
                f"{encryption_format.upper()}")


def image_metadata_traits(props: Mapping[str, str]) -> set[str]:
    """Root traits of Nova's image-metadata pre-filter.

    A value Nova's image metadata fields refuse is an error; a valid value
    os-traits has no trait for (e.g. ``armv7l``) adds nothing.
    """
    traits = set()
    for prop in IMAGE_TRAIT_PROPERTIES:
        value = props.get(prop.key)
        if value is None:
            continue
        canonical = prop.canonical(value)
        if canonical is None:
            raise image_property_error(
                prop.key, f"'{value}' is not one of "
                          f"{', '.join(prop.choices)}")
        trait = f"{prop.prefix}_{canonical.replace('-', '_').upper()}"
        if names.is_standard_trait(trait):
            traits.add(trait)
    return traits


def translate(specs: Mapping[str, str], props: Mapping[str, str],
              image_traits: frozenset[str], groups, vcpus: int
              ) -> FeatureRequest:
    """Everything the flavor's and image's features add to the request.

    ``groups`` are the flavor's granular groups by suffix (read-only);
    ``image_traits`` the image's required traits (``trait:`` properties and
    ``traits_required``).
    """
    src = _Sources(specs=specs, props=props, image_traits=image_traits)
    result = FeatureRequest()
    _translate_cpu(src, groups, vcpus, result)
    _translate_mem_encryption(src, result)
    _translate_pmem(src, result)
    _translate_vtpm(src, result)
    _translate_firmware(src, result)
    _translate_root_filters(src, result)
    result.root_required |= image_metadata_traits(props)
    return result
