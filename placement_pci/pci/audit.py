"""The audit (pure): where allocations, claims and device assignments
disagree, and the repair each disagreement gets.

``find`` compares the facts (read by store/audit_facts.py in one
transaction) and returns findings; ``plan_heals`` turns them into one
``ConsumerHeal`` per consumer, which services/audit.py applies in one
transaction per consumer.

Whose word counts: allocations are what Placement accounts; a device
row's ``assigned_to`` is what the host reported or the service assigned;
a claim record is what the service assigned through /pci/claims.  Repairs
follow the evidence of intent: a claim whose allocations vanished gets
them back (from the record); a device assigned to a consumer without an
allocation is given one when the consumer's claim holds it and freed
otherwise; an allocation without its device gets a free device.  Over
capacity and conflicting assignments need a person and are reported
only.  Consumers with allocations on two hosts (a migration: Nova's
migration record holds the source) keep both; a repair only ever adds or
removes the provider entries its finding is about.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

ALLOCATION_WITHOUT_DEVICE = "allocation_without_device"
DEVICE_WITHOUT_ALLOCATION = "device_without_allocation"
CLAIM_WITHOUT_ALLOCATION = "claim_without_allocation"
OVER_CAPACITY = "over_capacity"
HOST_ASSIGNMENT_MISMATCH = "host_assignment_mismatch"
ORPHAN_CONSUMER = "orphan_consumer"
KINDS = (ALLOCATION_WITHOUT_DEVICE, DEVICE_WITHOUT_ALLOCATION, CLAIM_WITHOUT_ALLOCATION,
         OVER_CAPACITY, HOST_ASSIGNMENT_MISMATCH, ORPHAN_CONSUMER)
MIGRATION_CONSUMER_TYPE = "MIGRATION"


@dataclass(frozen=True)
class RecordedDevice:
    """A device as a claim record names it (with its request group)."""

    hostname: str
    address: str
    provider_uuid: str | None
    group: str | None = None
    alias: str | None = None
    item: int | None = None
    index: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.hostname, self.address)

    def as_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "address": self.address,
                "provider_uuid": self.provider_uuid, "group": self.group,
                "alias": self.alias, "item": self.item, "index": self.index}


@dataclass(frozen=True)
class RecordedClaim:
    """One claim as the service recorded it: the devices it holds and, for
    claims recorded since the audit exists, the allocations and owner it
    was made with (None for older records)."""

    consumer_uuid: str
    devices: tuple[RecordedDevice, ...]
    allocations: Mapping[str, Mapping[str, int]] | None
    project_id: str | None
    user_id: str | None
    consumer_type: str | None
    generation: int


@dataclass(frozen=True)
class ProviderFact:
    uuid: str
    name: str
    hostname: str
    generation: int
    capacities: Mapping[str, int]
    usages: Mapping[str, int]


@dataclass(frozen=True)
class DeviceFact:
    hostname: str
    address: str
    provider_uuid: str
    resource_class: str | None
    assigned_to: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.hostname, self.address)


@dataclass(frozen=True)
class ConsumerFact:
    uuid: str
    generation: int | None  # None: no consumer row
    consumer_type: str | None
    project_id: str | None
    user_id: str | None
    allocations: Mapping[str, Mapping[str, int]]  # provider uuid -> class -> amount


@dataclass(frozen=True)
class AuditFacts:
    providers: Mapping[str, ProviderFact]
    devices: list[DeviceFact]
    consumers: Mapping[str, ConsumerFact]
    claims: Mapping[str, RecordedClaim]

    def consumer(self, uuid: str) -> ConsumerFact:
        return self.consumers.get(uuid) or ConsumerFact(uuid, None, None, None, None, {})

    def hostnames_of(self, consumer: ConsumerFact) -> list[str]:
        return sorted({self.providers[p].hostname for p in consumer.allocations
                       if p in self.providers})


@dataclass(frozen=True)
class Finding:
    kind: str
    consumer_uuid: str | None
    hostname: str | None
    provider_uuid: str | None
    address: str | None
    resource_class: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "consumer_uuid": self.consumer_uuid,
                "hostname": self.hostname, "provider_uuid": self.provider_uuid,
                "address": self.address, "resource_class": self.resource_class,
                "detail": self.detail}


def _device_classes(facts: AuditFacts) -> dict[str, set[str]]:
    classes: dict[str, set[str]] = defaultdict(set)
    for device in facts.devices:
        if device.resource_class:
            classes[device.provider_uuid].add(device.resource_class)
    return classes


def _assigned(facts: AuditFacts) -> dict[tuple[str, str, str], list[DeviceFact]]:
    """(consumer, provider, class) -> devices assigned to the consumer."""
    held: dict[tuple[str, str, str], list[DeviceFact]] = defaultdict(list)
    for device in facts.devices:
        if device.assigned_to and device.resource_class:
            held[(device.assigned_to, device.provider_uuid, device.resource_class)].append(
                device)
    return held


def _recorded_holders(facts: AuditFacts) -> dict[tuple[str, str], str]:
    return {device.key: claim.consumer_uuid
            for claim in facts.claims.values() for device in claim.devices}


def find(facts: AuditFacts, *, hostname: str | None = None,
         live_consumers: Collection[str] | None = None) -> list[Finding]:
    """Every disagreement (on ``hostname`` only, when given); orphans only
    when the caller listed the live consumers."""
    findings: list[Finding] = []
    device_classes = _device_classes(facts)
    assigned = _assigned(facts)
    recorded = _recorded_holders(facts)

    def name(provider_uuid: str) -> str:
        provider = facts.providers.get(provider_uuid)
        return provider.name if provider else provider_uuid

    def host(provider_uuid: str) -> str | None:
        provider = facts.providers.get(provider_uuid)
        return provider.hostname if provider else None

    for consumer in sorted(facts.consumers.values(), key=lambda c: c.uuid):
        for provider_uuid, resources in sorted(consumer.allocations.items()):
            for resource_class, amount in sorted(resources.items()):
                if resource_class not in device_classes.get(provider_uuid, ()):
                    continue
                devices = assigned.get((consumer.uuid, provider_uuid, resource_class), [])
                if len(devices) < amount:
                    findings.append(Finding(
                        ALLOCATION_WITHOUT_DEVICE, consumer.uuid, host(provider_uuid),
                        provider_uuid, None, resource_class,
                        f"consumer {consumer.uuid} holds {amount} {resource_class} on "
                        f"{name(provider_uuid)} but "
                        + ("no device" if not devices else f"only {len(devices)} device(s)")
                        + " of that provider is assigned to it"))

    for (consumer_uuid, provider_uuid, resource_class), devices in sorted(assigned.items()):
        allocated = facts.consumer(consumer_uuid).allocations.get(
            provider_uuid, {}).get(resource_class, 0)
        if len(devices) <= allocated:
            continue
        # The devices beyond the allocation: those no claim holds first.
        ordered = sorted(devices, key=lambda d: (recorded.get(d.key) == consumer_uuid, d.key))
        for device in ordered[:len(devices) - allocated]:
            findings.append(Finding(
                DEVICE_WITHOUT_ALLOCATION, consumer_uuid, device.hostname, provider_uuid,
                device.address, resource_class,
                f"device {device.address} of {name(provider_uuid)} is assigned to "
                f"consumer {consumer_uuid}, which holds "
                + (f"only {allocated} {resource_class} there for {len(devices)} devices"
                   if allocated else "no allocation on that provider")))

    for claim in sorted(facts.claims.values(), key=lambda c: c.consumer_uuid):
        if facts.consumer(claim.consumer_uuid).allocations:
            continue
        hosts = sorted({d.hostname for d in claim.devices}) or [None]
        findings.append(Finding(
            CLAIM_WITHOUT_ALLOCATION, claim.consumer_uuid, hosts[0], None, None, None,
            f"consumer {claim.consumer_uuid} has a PCI claim ("
            + (", ".join(f"{d.hostname} {d.address}" for d in claim.devices) or "no devices")
            + ") but no allocations at all"))

    for provider in sorted(facts.providers.values(), key=lambda p: p.name):
        for resource_class, used in sorted(provider.usages.items()):
            limit = provider.capacities.get(resource_class, 0)
            if used > limit:
                findings.append(Finding(
                    OVER_CAPACITY, None, provider.hostname, provider.uuid, None,
                    resource_class,
                    f"{provider.name} has {used} {resource_class} allocated but a "
                    f"capacity of {limit} (its inventory changed after the claims)"))

    for device in facts.devices:
        reported = device.assigned_to
        if reported is None:
            continue
        service = recorded.get(device.key)
        if service is not None and service != reported:
            detail = (f"the host reports device {device.address} of {name(device.provider_uuid)} "
                      f"assigned to {reported}, but the service assigned it to {service}")
        elif service is None and reported in facts.claims:
            detail = (f"the host reports device {device.address} of {name(device.provider_uuid)} "
                      f"assigned to {reported}, whose claim does not hold it (the service "
                      f"assigned it to no one)")
        else:
            continue
        findings.append(Finding(HOST_ASSIGNMENT_MISMATCH, reported, device.hostname,
                                device.provider_uuid, device.address, device.resource_class,
                                detail))

    if live_consumers is not None:
        live = set(live_consumers)
        for consumer in sorted(facts.consumers.values(), key=lambda c: c.uuid):
            hosts = facts.hostnames_of(consumer)
            if (consumer.uuid in live or not consumer.allocations
                    or consumer.consumer_type == MIGRATION_CONSUMER_TYPE):
                continue
            if hostname is not None and (hostname not in hosts or len(hosts) > 1):
                # A consumer on this host and another one is migrating:
                # one host's list of instances cannot tell it is gone.
                continue
            findings.append(Finding(
                ORPHAN_CONSUMER, consumer.uuid, hosts[0] if hosts else None, None, None,
                None, f"consumer {consumer.uuid} holds allocations on "
                      f"{', '.join(hosts) or 'no host'} but is not a live consumer"))

    if hostname is not None:
        findings = [f for f in findings if f.hostname == hostname]
    return findings


# --- healing -----------------------------------------------------------------------

@dataclass
class Action:
    finding: Finding
    action: str  # what the repair is, in a few words
    detail: str
    repairable: bool = True


@dataclass
class ConsumerHeal:
    """Everything one consumer's repair writes, in one transaction.

    ``allocations`` is the consumer's whole new allocation (None: left as
    it is); device moves are (device, expected holder, new holder);
    ``claim_devices`` a new device list for its claim record.
    """

    consumer_uuid: str
    consumer: ConsumerFact
    actions: list[Action] = field(default_factory=list)
    allocations: dict[str, dict[str, int]] | None = None
    device_moves: list[tuple[DeviceFact, str | None, str | None]] = field(
        default_factory=list)
    claim: RecordedClaim | None = None
    claim_devices: list[RecordedDevice] | None = None
    delete_claim: bool = False
    provider_generations: dict[str, int] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(self.allocations is not None or self.device_moves
                     or self.claim_devices is not None or self.delete_claim)


def _add(allocations: dict[str, dict[str, int]], provider: str, resource_class: str,
         amount: int) -> None:
    resources = allocations.setdefault(provider, {})
    resources[resource_class] = resources.get(resource_class, 0) + amount


def plan_heals(facts: AuditFacts, findings: list[Finding], *,
               live_consumers: Collection[str] | None = None) -> list[ConsumerHeal]:
    """One repair per consumer with findings (plus a report-only entry for
    findings that concern no consumer, such as over capacity)."""
    by_consumer: dict[str | None, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_consumer[finding.consumer_uuid].append(finding)
    heals = []
    taken: set[tuple[str, str]] = set()  # devices given away by this heal
    for consumer_uuid in sorted(by_consumer, key=lambda c: c or ""):
        own = by_consumer[consumer_uuid]
        if consumer_uuid is None:
            heal = ConsumerHeal("", facts.consumer(""))
            heal.actions = [Action(f, "none", _report_only(f), repairable=False)
                            for f in own]
            heals.append(heal)
            continue
        heals.append(_plan_consumer(facts, consumer_uuid, own, live_consumers, taken))
    return heals


def _report_only(finding: Finding) -> str:
    if finding.kind == OVER_CAPACITY:
        return ("not repaired: which consumer gives up its allocation, or whether the "
                "inventory comes back, is an operator's decision")
    return ("not repaired: the host and the service disagree on who holds the device; "
            "an operator must decide (release one claim, or detach the device)")


def _plan_consumer(facts: AuditFacts, consumer_uuid: str, findings: list[Finding],
                   live_consumers: Collection[str] | None,
                   taken: set[tuple[str, str]]) -> ConsumerHeal:
    consumer = facts.consumer(consumer_uuid)
    claim = facts.claims.get(consumer_uuid)
    heal = ConsumerHeal(consumer_uuid, consumer, claim=claim)
    dead = live_consumers is not None and consumer_uuid not in set(live_consumers)
    target = {p: dict(r) for p, r in consumer.allocations.items()}
    changed_allocations = False
    claim_devices = list(claim.devices) if claim else None
    recorded_keys = {d.key for d in claim.devices} if claim else set()
    devices_by_key = {d.key: d for d in facts.devices}
    involved: set[str] = set(consumer.allocations)

    def release(device: DeviceFact) -> None:
        heal.device_moves.append((device, consumer_uuid, None))
        involved.add(device.provider_uuid)

    for finding in findings:
        kind = finding.kind
        if kind == HOST_ASSIGNMENT_MISMATCH:
            heal.actions.append(Action(finding, "none", _report_only(finding), False))
        elif kind == ORPHAN_CONSUMER or (kind == CLAIM_WITHOUT_ALLOCATION and dead):
            target, changed_allocations = {}, True
            for device in facts.devices:
                if device.assigned_to == consumer_uuid:
                    release(device)
            if claim is not None:
                heal.delete_claim = True
            heal.actions.append(Action(
                finding, "delete allocations and release devices",
                f"consumer {consumer_uuid} is not live: its allocations, devices and "
                f"claim are released"))
        elif kind == CLAIM_WITHOUT_ALLOCATION:
            recreated: dict[str, dict[str, int]] = {}
            if claim.allocations:
                recreated = {p: dict(r) for p, r in claim.allocations.items()}
                how = "the allocations recorded with the claim"
            else:
                for recorded in claim.devices:
                    device = devices_by_key.get(recorded.key)
                    if device is not None and device.resource_class:
                        _add(recreated, device.provider_uuid, device.resource_class, 1)
                how = "one unit per claimed device"
            missing = [p for p in recreated if p not in facts.providers]
            if not recreated or missing:
                heal.actions.append(Action(
                    finding, "none", "not repaired: the claim's providers "
                    + (f"{', '.join(missing)} no longer exist" if missing
                       else "are unknown") + "; release the claim", False))
                continue
            target, changed_allocations = recreated, True
            for recorded in claim.devices:
                device = devices_by_key.get(recorded.key)
                if device is not None and device.assigned_to is None \
                        and device.key not in taken:
                    heal.device_moves.append((device, None, consumer_uuid))
                    taken.add(device.key)
                    involved.add(device.provider_uuid)
            involved.update(recreated)
            heal.actions.append(Action(
                finding, "re-create allocations",
                f"re-create the claim's allocations ({how}): "
                + _allocations_text(facts, recreated)))
        elif kind == DEVICE_WITHOUT_ALLOCATION:
            device = devices_by_key[(finding.hostname, finding.address)]
            covered = any(f.kind == CLAIM_WITHOUT_ALLOCATION for f in findings)
            if covered and not dead and device.key in recorded_keys:
                heal.actions.append(Action(
                    finding, "re-create allocations",
                    "covered by re-creating the claim's allocations"))
            elif device.key in recorded_keys and not dead:
                _add(target, device.provider_uuid, device.resource_class, 1)
                changed_allocations = True
                involved.add(device.provider_uuid)
                heal.actions.append(Action(
                    finding, "add allocation",
                    f"add 1 {device.resource_class} on "
                    f"{facts.providers[device.provider_uuid].name} for the claimed "
                    f"device {device.address}"))
            elif not any(move[0].key == device.key for move in heal.device_moves):
                release(device)
                heal.actions.append(Action(
                    finding, "release device",
                    f"free device {device.address}: no claim of {consumer_uuid} holds it"))
            else:
                heal.actions.append(Action(finding, "release device",
                                           "released with the consumer's devices"))
        elif kind == ALLOCATION_WITHOUT_DEVICE:
            _plan_device_assignment(facts, heal, finding, claim_devices, taken, involved)
    if changed_allocations:
        heal.allocations = target
    if claim is not None and claim_devices is not None \
            and list(claim.devices) != claim_devices and not heal.delete_claim:
        heal.claim_devices = claim_devices
    heal.provider_generations = {p: facts.providers[p].generation for p in sorted(involved)
                                 if p in facts.providers}
    return heal


def _plan_device_assignment(facts: AuditFacts, heal: ConsumerHeal, finding: Finding,
                            claim_devices: list[RecordedDevice] | None,
                            taken: set[tuple[str, str]], involved: set[str]) -> None:
    consumer_uuid = heal.consumer_uuid
    provider_uuid, resource_class = finding.provider_uuid, finding.resource_class
    amount = heal.consumer.allocations[provider_uuid][resource_class]
    held = [d for d in facts.devices if d.assigned_to == consumer_uuid
            and d.provider_uuid == provider_uuid and d.resource_class == resource_class]
    holders = {c.uuid: c for c in facts.consumers.values()}

    def takeable(device: DeviceFact) -> bool:
        if device.key in taken or device.provider_uuid != provider_uuid \
                or device.resource_class != resource_class:
            return False
        holder = device.assigned_to
        # Free, or held by a consumer without an allocation there (stale).
        return holder is None or (holder != consumer_uuid and provider_uuid not in
                                  (holders[holder].allocations if holder in holders else {}))

    recorded = {d.key for d in claim_devices or ()}
    # The consumer's own recorded devices first: re-assigning them needs
    # no change to its claim.
    free = sorted((d for d in facts.devices if takeable(d)),
                  key=lambda d: (d.key not in recorded, d.key))
    wanted = amount - len(held)
    chosen = free[:wanted]
    if not chosen:
        heal.actions.append(Action(
            finding, "none", f"not repaired: no free {resource_class} device on "
            f"{facts.providers[provider_uuid].name}", False))
        return
    involved.add(provider_uuid)
    for device in chosen:
        heal.device_moves.append((device, device.assigned_to, consumer_uuid))
        taken.add(device.key)
        if claim_devices is not None and device.key not in recorded:
            _record_assignment(facts, consumer_uuid, claim_devices, device)
    heal.actions.append(Action(
        finding, "assign device",
        f"assign {', '.join(d.address for d in chosen)} of "
        f"{facts.providers[provider_uuid].name} to {consumer_uuid}"
        + ("" if len(chosen) == wanted else f" ({wanted - len(chosen)} still missing: "
                                              "no more free devices)")))


def _record_assignment(facts: AuditFacts, consumer_uuid: str,
                       claim_devices: list[RecordedDevice], device: DeviceFact) -> None:
    """Put ``device`` in the claim: in place of a recorded device of the
    same provider that is lost (its row is gone, as after a host sync
    removed it, or another consumer holds it), keeping its request group;
    else as a new entry."""
    present = {d.key: d for d in facts.devices}
    for index, recorded in enumerate(claim_devices):
        current = present.get(recorded.key)
        lost = current is None or current.assigned_to not in (None, consumer_uuid)
        if recorded.provider_uuid == device.provider_uuid and lost:
            claim_devices[index] = RecordedDevice(
                device.hostname, device.address, device.provider_uuid, recorded.group,
                recorded.alias, recorded.item, recorded.index)
            return
    claim_devices.append(RecordedDevice(device.hostname, device.address,
                                        device.provider_uuid))


def _allocations_text(facts: AuditFacts, allocations: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(
        f"{facts.providers[p].name if p in facts.providers else p}: "
        + ", ".join(f"{amount} {name}" for name, amount in sorted(r.items()))
        for p, r in sorted(allocations.items()))
