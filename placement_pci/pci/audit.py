"""The audit (pure): where allocations, claims and device assignments
disagree, and the repair each disagreement gets.

``find`` compares the facts (read by store/audit_facts.py in one
transaction) and returns findings; ``plan_heals`` turns them into one
``ConsumerHeal`` per consumer, which services/audit.py applies in one
transaction per consumer.

Whose word counts: allocations are what Placement accounts; a claim (the
claims tables) is what the service assigned through /pci/claims; a device
row's ``assigned_to`` is what its host reports.  A device is assigned to
a consumer when that consumer's claim holds it, or, when no claim holds
it, when its host reports it in use by that consumer.  Repairs follow the
evidence of intent: a claim whose allocations vanished gets them back
(as the ledger last saw them, else one unit per claimed device); a device
assigned to a consumer without the allocation for it gets the allocation
(as a host sync heals a device its host reports in use); a claim whose
device vanished or was never enough gets a free device of the provider.
Over capacity, conflicting assignments and allocations of consumers
without a claim need a person (or the host's next report) and are
reported only.  Consumers with allocations on two hosts (a migration:
Nova's migration record holds the source) keep both: a repair only adds
or removes the provider entries its finding is about.
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

DeviceKey = tuple[str, str]  # (hostname, address)


@dataclass(frozen=True)
class RecordedDevice:
    """A device as a claim names it (with its request group); ``held`` is
    False once another claim took it over."""

    hostname: str
    address: str
    provider_uuid: str | None
    group: str | None = None
    alias: str | None = None
    item: int | None = None
    index: int | None = None
    held: bool = True

    @property
    def key(self) -> DeviceKey:
        return (self.hostname, self.address)


@dataclass(frozen=True)
class RecordedClaim:
    consumer_uuid: str
    request: Mapping[str, Any]
    devices: tuple[RecordedDevice, ...]


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
    """A device row a host reports, with who its host says uses it."""

    hostname: str
    address: str
    provider_uuid: str
    resource_class: str | None
    reported_to: str | None

    @property
    def key(self) -> DeviceKey:
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
    # Consumer -> what it held before its allocations were emptied (the
    # ledger's latest entry for it), for consumers whose claim lost them.
    lost_allocations: Mapping[str, Mapping[str, Mapping[str, int]]] = field(
        default_factory=dict)

    def consumer(self, uuid: str) -> ConsumerFact:
        return self.consumers.get(uuid) or ConsumerFact(uuid, None, None, None, None, {})

    def hostnames_of(self, consumer: ConsumerFact) -> list[str]:
        return sorted({self.providers[p].hostname for p in consumer.allocations
                       if p in self.providers})

    def claim_holders(self) -> dict[DeviceKey, str]:
        return {device.key: claim.consumer_uuid for claim in self.claims.values()
                for device in claim.devices if device.held}

    def assignments(self) -> dict[DeviceKey, str]:
        """Device -> the consumer it is assigned to: its claim's, else the
        one its host reports (devices a host reports)."""
        claimed = self.claim_holders()
        result = {}
        for device in self.devices:
            holder = claimed.get(device.key) or device.reported_to
            if holder:
                result[device.key] = holder
        return result

    def provider_name(self, uuid: str) -> str:
        provider = self.providers.get(uuid)
        return provider.name if provider else uuid


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


def _device_place(finding: Finding) -> tuple[str, str]:
    """The provider and resource class of a finding about a device's
    allocation (both always set on those kinds)."""
    if finding.provider_uuid is None or finding.resource_class is None:
        raise ValueError(f"{finding.kind} finding without provider or class")
    return finding.provider_uuid, finding.resource_class


def _assigned_by_consumer(facts: AuditFacts) -> dict[tuple[str, str, str], list[DeviceFact]]:
    """(consumer, provider, class) -> devices assigned to the consumer."""
    assignments = facts.assignments()
    held: dict[tuple[str, str, str], list[DeviceFact]] = defaultdict(list)
    for device in facts.devices:
        holder = assignments.get(device.key)
        if holder and device.resource_class:
            held[(holder, device.provider_uuid, device.resource_class)].append(device)
    return held


def find(facts: AuditFacts, *, hostname: str | None = None,
         live_consumers: Collection[str] | None = None) -> list[Finding]:
    """Every disagreement (on ``hostname`` only, when given); orphans only
    when the caller listed the live consumers."""
    findings = [*_allocations_without_devices(facts), *_devices_without_allocations(facts),
                *_claims_without_allocations(facts), *_over_capacity(facts),
                *_host_mismatches(facts)]
    if live_consumers is not None:
        findings.extend(_orphans(facts, hostname, set(live_consumers)))
    if hostname is not None:
        findings = [f for f in findings if f.hostname == hostname]
    return findings


def _allocations_without_devices(facts: AuditFacts) -> list[Finding]:
    device_classes: dict[str, set[str]] = defaultdict(set)
    for device in facts.devices:
        if device.resource_class:
            device_classes[device.provider_uuid].add(device.resource_class)
    assigned = _assigned_by_consumer(facts)
    findings = []
    for consumer in sorted(facts.consumers.values(), key=lambda c: c.uuid):
        for provider_uuid, resources in sorted(consumer.allocations.items()):
            for resource_class, amount in sorted(resources.items()):
                if resource_class not in device_classes.get(provider_uuid, ()):
                    continue
                devices = assigned.get((consumer.uuid, provider_uuid, resource_class), [])
                if len(devices) < amount:
                    findings.append(Finding(
                        ALLOCATION_WITHOUT_DEVICE, consumer.uuid,
                        facts.providers[provider_uuid].hostname, provider_uuid, None,
                        resource_class,
                        f"consumer {consumer.uuid} holds {amount} {resource_class} on "
                        f"{facts.provider_name(provider_uuid)} but "
                        + ("no device" if not devices else f"only {len(devices)} device(s)")
                        + " of that provider is assigned to it"))
    return findings


def _devices_without_allocations(facts: AuditFacts) -> list[Finding]:
    claimed = facts.claim_holders()
    findings = []
    for (consumer_uuid, provider_uuid, resource_class), devices in sorted(
            _assigned_by_consumer(facts).items()):
        allocated = facts.consumer(consumer_uuid).allocations.get(
            provider_uuid, {}).get(resource_class, 0)
        if len(devices) <= allocated:
            continue
        # The devices beyond the allocation: those no claim holds first.
        ordered = sorted(devices, key=lambda d: (claimed.get(d.key) == consumer_uuid, d.key))
        for device in ordered[:len(devices) - allocated]:
            how = "its claim holds" if claimed.get(device.key) == consumer_uuid \
                else "its host reports in use by"
            findings.append(Finding(
                DEVICE_WITHOUT_ALLOCATION, consumer_uuid, device.hostname, provider_uuid,
                device.address, resource_class,
                f"device {device.address} of {facts.provider_name(provider_uuid)} is "
                f"assigned to consumer {consumer_uuid} ({how} it), which holds "
                + (f"only {allocated} {resource_class} there for {len(devices)} devices"
                   if allocated else "no allocation on that provider")))
    return findings


def _claims_without_allocations(facts: AuditFacts) -> list[Finding]:
    findings = []
    for claim in sorted(facts.claims.values(), key=lambda c: c.consumer_uuid):
        if facts.consumer(claim.consumer_uuid).allocations:
            continue
        hosts: list[str | None] = [*sorted({d.hostname for d in claim.devices})] or [None]
        findings.append(Finding(
            CLAIM_WITHOUT_ALLOCATION, claim.consumer_uuid, hosts[0], None, None, None,
            f"consumer {claim.consumer_uuid} has a PCI claim ("
            + (", ".join(f"{d.hostname} {d.address}" for d in claim.devices) or "no devices")
            + ") but no allocations at all"))
    return findings


def _over_capacity(facts: AuditFacts) -> list[Finding]:
    findings = []
    for provider in sorted(facts.providers.values(), key=lambda p: p.name):
        for resource_class, used in sorted(provider.usages.items()):
            limit = provider.capacities.get(resource_class, 0)
            if used > limit:
                findings.append(Finding(
                    OVER_CAPACITY, None, provider.hostname, provider.uuid, None,
                    resource_class,
                    f"{provider.name} has {used} {resource_class} allocated but a "
                    f"capacity of {limit} (its inventory changed after the claims)"))
    return findings


def _host_mismatches(facts: AuditFacts) -> list[Finding]:
    claimed = facts.claim_holders()
    findings = []
    for device in facts.devices:
        reported = device.reported_to
        if reported is None:
            continue
        service = claimed.get(device.key)
        if service is not None and service != reported:
            detail = (f"the host reports device {device.address} of "
                      f"{facts.provider_name(device.provider_uuid)} in use by {reported}, "
                      f"but the service assigned it to {service}")
        elif service is None and reported in facts.claims:
            detail = (f"the host reports device {device.address} of "
                      f"{facts.provider_name(device.provider_uuid)} in use by {reported}, "
                      f"whose claim does not hold it (the service assigned it to no one)")
        else:
            continue
        findings.append(Finding(HOST_ASSIGNMENT_MISMATCH, reported, device.hostname,
                                device.provider_uuid, device.address, device.resource_class,
                                detail))
    return findings


def _orphans(facts: AuditFacts, hostname: str | None, live: set[str]) -> list[Finding]:
    findings = []
    for consumer in sorted(facts.consumers.values(), key=lambda c: c.uuid):
        hosts = facts.hostnames_of(consumer)
        if (consumer.uuid in live or not consumer.allocations
                or consumer.consumer_type == MIGRATION_CONSUMER_TYPE):
            continue
        if hostname is not None and (hostname not in hosts or len(hosts) > 1):
            # A consumer on this host and another one is migrating: one
            # host's list of instances cannot tell that it is gone.
            continue
        findings.append(Finding(
            ORPHAN_CONSUMER, consumer.uuid, hosts[0] if hosts else None, None, None, None,
            f"consumer {consumer.uuid} holds allocations on {', '.join(hosts) or 'no host'} "
            f"but is not a live consumer"))
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
    it is); ``claim_devices`` the claim's new device list (None: left as
    it is); ``provider_generations`` what the audit saw of every provider
    the repair touches (the repair stands down if any moved).
    """

    consumer_uuid: str
    consumer: ConsumerFact
    claim: RecordedClaim | None = None
    actions: list[Action] = field(default_factory=list)
    allocations: dict[str, dict[str, int]] | None = None
    claim_devices: list[RecordedDevice] | None = None
    delete_claim: bool = False
    provider_generations: dict[str, int] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(self.allocations is not None or self.claim_devices is not None
                    or self.delete_claim)


def _add(allocations: dict[str, dict[str, int]], provider: str, resource_class: str,
         amount: int) -> None:
    resources = allocations.setdefault(provider, {})
    resources[resource_class] = resources.get(resource_class, 0) + amount


def _report_only(finding: Finding) -> str:
    if finding.kind == OVER_CAPACITY:
        return ("not repaired: which consumer gives up its allocation, or whether the "
                "inventory comes back, is an operator's decision")
    if finding.kind == HOST_ASSIGNMENT_MISMATCH:
        return ("not repaired: the host and the service disagree on who uses the device; "
                "an operator must decide (release the claim, or detach the device)")
    return "not repaired"


def plan_heals(facts: AuditFacts, findings: list[Finding], *,
               live_consumers: Collection[str] | None = None) -> list[ConsumerHeal]:
    """One repair per consumer with findings (plus a report-only entry for
    findings that concern no consumer, such as over capacity)."""
    by_consumer: dict[str | None, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_consumer[finding.consumer_uuid].append(finding)
    heals = []
    taken: set[DeviceKey] = set()  # devices this heal gives away
    live = set(live_consumers) if live_consumers is not None else None
    for consumer_uuid in sorted(by_consumer, key=lambda c: c or ""):
        own = by_consumer[consumer_uuid]
        if consumer_uuid is None:
            heal = ConsumerHeal("", facts.consumer(""))
            heal.actions = [Action(f, "none", _report_only(f), False) for f in own]
            heals.append(heal)
            continue
        heals.append(_ConsumerPlanner(facts, consumer_uuid, live, taken).plan(own))
    return heals


class _ConsumerPlanner:
    """The repair of one consumer's findings."""

    def __init__(self, facts: AuditFacts, consumer_uuid: str, live: set[str] | None,
                 taken: set[DeviceKey]) -> None:
        self.facts = facts
        self.consumer = facts.consumer(consumer_uuid)
        self.claim = facts.claims.get(consumer_uuid)
        self.heal = ConsumerHeal(consumer_uuid, self.consumer, claim=self.claim)
        self.dead = live is not None and consumer_uuid not in live
        self.taken = taken
        self.target = {p: dict(r) for p, r in self.consumer.allocations.items()}
        self.allocations_changed = False
        self.claim_devices = list(self.claim.devices) if self.claim else None
        self.involved: set[str] = set(self.consumer.allocations)
        self.devices = {d.key: d for d in facts.devices}

    def plan(self, findings: list[Finding]) -> ConsumerHeal:
        kinds = {f.kind for f in findings}
        # Whole-consumer repairs first: the others may be covered by them.
        first = (CLAIM_WITHOUT_ALLOCATION, ORPHAN_CONSUMER)
        for finding in sorted(findings, key=lambda f: f.kind not in first):
            self.heal.actions.append(self._repair(finding, kinds))
        if self.allocations_changed:
            self.heal.allocations = self.target
        if (self.claim is not None and not self.heal.delete_claim
                and self.claim_devices != list(self.claim.devices)):
            self.heal.claim_devices = self.claim_devices
        self.heal.provider_generations = {
            p: self.facts.providers[p].generation for p in sorted(self.involved)
            if p in self.facts.providers}
        return self.heal

    def _repair(self, finding: Finding, kinds: set[str]) -> Action:
        kind = finding.kind
        if kind in (OVER_CAPACITY, HOST_ASSIGNMENT_MISMATCH):
            return Action(finding, "none", _report_only(finding), False)
        if kind == ORPHAN_CONSUMER or (kind == CLAIM_WITHOUT_ALLOCATION and self.dead):
            return self._release(finding)
        if kind == CLAIM_WITHOUT_ALLOCATION:
            return self._recreate(finding)
        if kind == DEVICE_WITHOUT_ALLOCATION:
            if self.heal.delete_claim or (self.allocations_changed and not self.target):
                return Action(finding, "delete allocations and release devices",
                              "release it with the consumer")
            if CLAIM_WITHOUT_ALLOCATION in kinds and self.claim is not None and any(
                    d.key == (finding.hostname, finding.address) for d in self.claim.devices):
                return Action(finding, "re-create allocations",
                              "re-create its allocation with the claim's allocations",
                              self.allocations_changed)
            return self._add_allocation(finding)
        return self._assign_device(finding)

    def _release(self, finding: Finding) -> Action:
        self.target, self.allocations_changed = {}, True
        if self.claim is not None:
            self.heal.delete_claim = True
            self.involved.update(d.provider_uuid for d in self.claim.devices
                                 if d.provider_uuid)
        return Action(finding, "delete allocations and release devices",
                      f"release consumer {self.heal.consumer_uuid}, which is not live: "
                      f"its allocations and its claim's devices")

    def _recreate(self, finding: Finding) -> Action:
        lost = self.facts.lost_allocations.get(self.heal.consumer_uuid)
        if lost:
            recreated = {p: dict(r) for p, r in lost.items()}
            how = "as the ledger last saw them"
        else:
            recreated = {}
            for recorded in (self.claim.devices if self.claim else ()):
                device = self.devices.get(recorded.key)
                if recorded.held and device is not None and device.resource_class:
                    _add(recreated, device.provider_uuid, device.resource_class, 1)
            how = "one unit per device the claim holds"
        missing = sorted(p for p in recreated if p not in self.facts.providers)
        if not recreated or missing:
            return Action(finding, "none", "not repaired: "
                          + (f"the claim's providers {', '.join(missing)} no longer exist"
                             if missing else "the claim holds no device any more")
                          + "; release the claim", False)
        self.target, self.allocations_changed = recreated, True
        self.involved.update(recreated)
        return Action(finding, "re-create allocations",
                      f"re-create the claim's allocations ({how}): "
                      + _allocations_text(self.facts, recreated))

    def _add_allocation(self, finding: Finding) -> Action:
        if self.dead:
            return Action(finding, "none", "not repaired: the consumer is not live but "
                          "the device is still assigned to it; release its claim or let "
                          "its host report the device free", False)
        provider, resource_class = _device_place(finding)
        _add(self.target, provider, resource_class, 1)
        self.allocations_changed = True
        self.involved.add(provider)
        return Action(finding, "add allocation",
                      f"add 1 {resource_class} on {self.facts.provider_name(provider)} for "
                      f"device {finding.address}, which is assigned to it")

    def _assign_device(self, finding: Finding) -> Action:
        provider, resource_class = _device_place(finding)
        if self.claim is None:
            return Action(finding, "none", "not repaired: the consumer has no PCI claim, "
                          "so no device can be assigned to it here; its host reports "
                          "the devices it uses (PUT /pci/hosts), or claim through "
                          "/pci/claims", False)
        amount = self.consumer.allocations[provider][resource_class]
        assignments = self.facts.assignments()
        have = sum(1 for d in self.facts.devices if d.provider_uuid == provider
                   and d.resource_class == resource_class
                   and assignments.get(d.key) == self.heal.consumer_uuid)
        free = [d for d in self.facts.devices if self._takeable(d, provider, resource_class,
                                                                assignments)]
        chosen = free[:amount - have]
        if not chosen:
            return Action(finding, "none", f"not repaired: no free {resource_class} device "
                          f"on {self.facts.provider_name(provider)}", False)
        for device in chosen:
            self.taken.add(device.key)
            self._put_in_claim(device)
        self.involved.add(provider)
        missing = amount - have - len(chosen)
        return Action(finding, "assign device",
                      f"assign {', '.join(d.address for d in chosen)} of "
                      f"{self.facts.provider_name(provider)} to the claim of "
                      f"{self.heal.consumer_uuid}"
                      + (f" ({missing} still missing: no more free devices)" if missing else ""))

    def _takeable(self, device: DeviceFact, provider: str, resource_class: str,
                  assignments: Mapping[DeviceKey, str]) -> bool:
        """Free: assigned to no one, or to a consumer without an allocation
        on the provider (stale), and not given away by this heal."""
        if (device.key in self.taken or device.provider_uuid != provider
                or device.resource_class != resource_class):
            return False
        holder = assignments.get(device.key)
        return holder is None or (holder != self.heal.consumer_uuid
                                  and provider not in self.facts.consumer(holder).allocations)

    def _put_in_claim(self, device: DeviceFact) -> None:
        """In place of a claimed device of the same provider that is lost
        (its host no longer reports it, or another claim took it over),
        keeping its request group; else as a new entry."""
        if self.claim_devices is None:
            self.claim_devices = []
        for index, recorded in enumerate(self.claim_devices):
            lost = recorded.key not in self.devices or not recorded.held
            if recorded.provider_uuid == device.provider_uuid and lost:
                self.claim_devices[index] = RecordedDevice(
                    device.hostname, device.address, device.provider_uuid, recorded.group,
                    recorded.alias, recorded.item, recorded.index)
                return
        self.claim_devices.append(RecordedDevice(device.hostname, device.address,
                                                 device.provider_uuid, group=""))


def _allocations_text(facts: AuditFacts, allocations: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(
        f"{facts.provider_name(p)}: "
        + ", ".join(f"{amount} {name}" for name, amount in sorted(r.items()))
        for p, r in sorted(allocations.items()))
