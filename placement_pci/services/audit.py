"""Audit and heal: what disagrees between allocations, claims and device
assignments, and its repair (pci-api.md "Audit and heal").

The audit reads everything in one transaction and compares it with the
pure ``pci.audit``.  A heal runs that audit, plans one repair per
consumer, and applies each in its own write transaction that first
compare-and-swaps the consumer's and every involved provider's generation
from what the audit saw: a finding that changed meanwhile (a concurrent
claim, a host sync) is skipped and reported, never overwritten.
Allocation changes go through the allocation store's claim (capacity is
checked, the ledger records ``pci.audit.heal``).
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.context import RequestContext
from placement_pci.db.engine import Database
from placement_pci.pci import audit
from placement_pci.store import allocations as allocation_store
from placement_pci.store import audit_facts, claim_records, ledger


def find(database: Database, *, hostname: str | None = None,
         live_consumers: Collection[str] | None = None) -> list[audit.Finding]:
    facts = database.run_read(audit_facts.read_facts)
    return audit.find(facts, hostname=hostname, live_consumers=live_consumers)


def heal(database: Database, *, context: RequestContext, hostname: str | None = None,
         live_consumers: Collection[str] | None = None,
         dry_run: bool = False) -> list[dict[str, Any]]:
    """Repair what the audit finds (or with ``dry_run`` only say how)."""
    facts = database.run_read(audit_facts.read_facts)
    findings = audit.find(facts, hostname=hostname, live_consumers=live_consumers)
    results = []
    for planned in audit.plan_heals(facts, findings, live_consumers=live_consumers):
        outcome = None
        if planned.writes and not dry_run and any(a.repairable for a in planned.actions):
            outcome = _apply(database, planned, context)
        for action in planned.actions:
            applied = outcome is None and not dry_run and action.repairable \
                and planned.writes
            if dry_run and action.repairable:
                detail = f"would {action.detail}"
            elif outcome is not None and action.repairable:
                detail = f"skipped, nothing written: {outcome}"
            else:
                detail = action.detail
            results.append({**action.finding.as_dict(), "action": action.action,
                            "applied": applied, "detail": detail})
    return results


def _apply(database: Database, planned: audit.ConsumerHeal,
           context: RequestContext) -> str | None:
    """Write one consumer's repair; None when done, else why it was not."""
    try:
        database.run_write(lambda connection: _write(connection, planned, context))
    except allocation_store.AllocationRefused as error:
        return f"the re-created allocation does not fit any more ({error.reason})"
    except errors.Conflict as error:
        return f"{error.detail}; audit again"
    return None


def _write(connection: Connection, planned: audit.ConsumerHeal,
           context: RequestContext) -> None:
    consumer = planned.consumer
    if planned.allocations is not None:
        plan = allocation_store.prepare_claim(connection, [
            allocation_store.ConsumerAllocations(
                consumer_uuid=planned.consumer_uuid, allocations=planned.allocations,
                project_id=consumer.project_id, user_id=consumer.user_id,
                consumer_type=consumer.consumer_type,
                expected_generation=consumer.generation, check_generation=True)],
            context=context, action=ledger.AUDIT_HEAL)
        audit_facts.lock_providers_at(connection, planned.provider_generations)
        allocation_store.check_and_write(connection, plan)
    else:
        audit_facts.bump_consumer_at(connection, planned.consumer_uuid, consumer.generation)
        audit_facts.lock_providers_at(connection, planned.provider_generations)
    if planned.claim is not None:
        if planned.delete_claim:
            claim_records.delete(connection, planned.claim)
        elif planned.claim_devices is not None:
            claim_records.set_devices(connection, planned.claim, planned.claim_devices)
