"""SQLAlchemy Core table definitions: the one declaration of the schema.

Alembic migrations must build exactly this schema (tests/db checks it).
Names follow Placement's data model so operators recognise them.

Identifiers compare exactly, case and trailing spaces included, on every
backend: project and user external ids, consumer type names, provider
names, PCI host names (devices and claim devices) and
alias/device-spec-set names.  PostgreSQL and
SQLite do so by default; on MySQL/MariaDB migration 0003 gives those
columns a binary collation.  (Upstream Placement leaves them at the
server's default collation, case-insensitive on MySQL, so its provider
names there are unique regardless of case; here ``cn1`` and ``CN1`` are two
providers on every backend, as on upstream's PostgreSQL.)  Trait and
resource class names are upper-case by validation and keep the default.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
    ]


resource_providers = sa.Table(
    "resource_providers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("name", sa.Unicode(200), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    sa.Column("root_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), nullable=True),
    sa.Column("parent_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("uuid"),
    sa.UniqueConstraint("name"),
    sa.Index(None, "root_provider_id"),
    sa.Index(None, "parent_provider_id"),
)

resource_classes = sa.Table(
    "resource_classes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("name"),
)

traits = sa.Table(
    "traits", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Unicode(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("name"),
)

inventories = sa.Table(
    "inventories", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("resource_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), nullable=False),
    sa.Column("resource_class_id", sa.Integer,
              sa.ForeignKey("resource_classes.id"), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    sa.Column("min_unit", sa.Integer, nullable=False),
    sa.Column("max_unit", sa.Integer, nullable=False),
    sa.Column("step_size", sa.Integer, nullable=False),
    sa.Column("allocation_ratio", sa.Float, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("resource_provider_id", "resource_class_id"),
    sa.Index(None, "resource_class_id"),
)

projects = sa.Table(
    "projects", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("external_id"),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("external_id"),
)

consumer_types = sa.Table(
    "consumer_types", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Unicode(255), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("name"),
)

consumers = sa.Table(
    "consumers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"),
              nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"),
              nullable=False),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    sa.Column("consumer_type_id", sa.Integer,
              sa.ForeignKey("consumer_types.id"), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("uuid"),
    sa.Index(None, "project_id", "user_id"),
)

allocations = sa.Table(
    "allocations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("resource_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), nullable=False),
    sa.Column("consumer_id", sa.String(36), nullable=False),
    sa.Column("resource_class_id", sa.Integer,
              sa.ForeignKey("resource_classes.id"), nullable=False),
    sa.Column("used", sa.Integer, nullable=False),
    *_timestamps(),
    sa.Index(None, "resource_provider_id", "resource_class_id"),
    sa.Index(None, "consumer_id"),
)

placement_aggregates = sa.Table(
    "placement_aggregates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uuid", sa.String(36), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("uuid"),
)

resource_provider_aggregates = sa.Table(
    "resource_provider_aggregates", metadata,
    sa.Column("resource_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), primary_key=True),
    sa.Column("aggregate_id", sa.Integer,
              sa.ForeignKey("placement_aggregates.id"), primary_key=True),
    *_timestamps(),
    sa.Index(None, "aggregate_id"),
)

resource_provider_traits = sa.Table(
    "resource_provider_traits", metadata,
    sa.Column("resource_provider_id", sa.Integer,
              sa.ForeignKey("resource_providers.id"), primary_key=True),
    sa.Column("trait_id", sa.Integer, sa.ForeignKey("traits.id"),
              primary_key=True),
    *_timestamps(),
    sa.Index(None, "trait_id"),
)

# --- placement_pci's own device model -------------------------------------

pci_devices = sa.Table(
    "pci_devices", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hostname", sa.Unicode(200), nullable=False),
    sa.Column("address", sa.String(16), nullable=False),
    sa.Column("vendor_id", sa.String(4), nullable=False),
    sa.Column("product_id", sa.String(4), nullable=False),
    sa.Column("dev_type", sa.String(16), nullable=False),
    sa.Column("parent_addr", sa.String(16), nullable=True),
    sa.Column("numa_node", sa.Integer, nullable=True),
    sa.Column("provider_uuid", sa.String(36), nullable=True),
    sa.Column("resource_class", sa.String(255), nullable=True),
    # JSON text of the tags from the device spec that matched the device
    # (managed, live_migratable, physical_network, remote_managed, trusted).
    sa.Column("tags", sa.Text, nullable=False, default="{}"),
    # The consumer the HOST reports as using the device (it drives the
    # healing of allocations), kept while that consumer still has an
    # allocation on the device's provider.  Who holds a device through the
    # API is recorded only in pci_claim_devices (the one source of truth
    # for claims); views show the claim holder first.
    sa.Column("assigned_to", sa.String(36), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("hostname", "address"),
    sa.Index(None, "provider_uuid"),
    sa.Index(None, "assigned_to"),
)

# Named, API-managed configuration objects (aliases, device spec sets).
pci_config_objects = sa.Table(
    "pci_config_objects", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.Unicode(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    *_timestamps(),
    sa.UniqueConstraint("kind", "name"),
)

# Claims: the PCI devices a consumer was given for a request.  One row per
# consumer; ``request`` is the JSON of the flavor/image/alias input the
# request groups were translated from (kept so the claim can be
# re-examined later, whatever happens to the stored aliases).
pci_claims = sa.Table(
    "pci_claims", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("consumer_uuid", sa.String(36), nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("consumer_uuid"),
)

# The device serving each alias request group of a claim.  A device is
# identified by (hostname, address): its pci_devices row comes and goes
# with host reports, the claim outlives that.  ``device`` is
# "<hostname> <address>" while the claim holds the device and NULL once
# another claim took it over (its consumer had lost its allocation); being
# UNIQUE, it lets the database itself refuse two holders of one device.
pci_claim_devices = sa.Table(
    "pci_claim_devices", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("claim_id", sa.Integer, sa.ForeignKey("pci_claims.id"), nullable=False),
    sa.Column("group_suffix", sa.Unicode(255), nullable=False),
    sa.Column("alias", sa.Unicode(255), nullable=True),
    sa.Column("alias_item", sa.Integer, nullable=True),
    sa.Column("alias_index", sa.Integer, nullable=True),
    sa.Column("hostname", sa.Unicode(200), nullable=False),
    sa.Column("address", sa.String(16), nullable=False),
    sa.Column("provider_uuid", sa.String(36), nullable=True),
    sa.Column("device", sa.Unicode(217), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("device"),
    sa.Index(None, "claim_id"),
    sa.Index(None, "hostname", "address"),
)

# --- the allocation ledger (who changed which allocations) ----------------

# One entry per consumer per allocation write, appended in the writing
# transaction.  ``seq`` comes from allocation_ledger_sequence, whose single
# row every writer updates just before committing: sequence numbers are
# handed out in commit order without gaps, so a reader that saw N has seen
# every entry below N.
allocation_ledger = sa.Table(
    "allocation_ledger", metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("logged_at", sa.DateTime, nullable=False),
    sa.Column("consumer_uuid", sa.String(36), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    # JSON: provider uuid -> {"resources": {class: amount}}
    sa.Column("allocations_before", sa.Text, nullable=False),
    sa.Column("allocations_after", sa.Text, nullable=False),
    sa.Column("request_id", sa.String(255), nullable=True),
    sa.Column("global_request_id", sa.String(255), nullable=True),
    sa.Column("user_id", sa.String(255), nullable=True),
    sa.Column("project_id", sa.String(255), nullable=True),
    sa.Index(None, "consumer_uuid"),
    sa.Index(None, "logged_at"),
)

# The hosts (root provider names) an entry's before/after touch, for
# GET /pci/ledger?hostname=.
allocation_ledger_hosts = sa.Table(
    "allocation_ledger_hosts", metadata,
    sa.Column("seq", sa.BigInteger,
              sa.ForeignKey("allocation_ledger.seq"),
              primary_key=True),
    sa.Column("hostname", sa.Unicode(200), primary_key=True),
    sa.Index(None, "hostname"),
)

allocation_ledger_sequence = sa.Table(
    "allocation_ledger_sequence", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

# --- the candidate snapshot's change marker ----------------------------------

# One row.  Every committed transaction that wrote a table the candidate
# snapshot is read from bumps ``structure_version`` just before it commits
# (db/engine.py does it for every connection of the engine), except for
# allocation writes recorded in the ledger, which the ledger's sequence
# already numbers.  A worker compares (structure_version, ledger last_seq)
# with what its snapshot was read at: one primary-key read instead of
# aggregating the snapshot's tables on every request.
snapshot_markers = sa.Table(
    "snapshot_markers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("structure_version", sa.BigInteger, nullable=False),
)

# The tables ``store.provider_graph`` builds the snapshot from.
SNAPSHOT_TABLES = frozenset({
    "resource_providers", "inventories", "allocations", "resource_classes",
    "traits", "placement_aggregates", "resource_provider_aggregates",
    "resource_provider_traits",
})
