"""claims get their own tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00

Claims were JSON rows of kind 'claim' in pci_config_objects, and who held
a device lived both there and in pci_devices.assigned_to.  They move to
pci_claims and pci_claim_devices, whose UNIQUE ``device`` column makes the
database refuse two holders of one device; pci_devices.assigned_to keeps
only what hosts report.

Each claimed device is held by the most recently updated claim listing it,
unless its pci_devices row names another consumer (a claim that took the
device over, or the host's own report).  This also repairs devices a host
re-sync had shown as unassigned under a live claim.  Claims that lost the
device keep the entry, not held.
"""
import json

import sqlalchemy as sa

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

KIND_CLAIM = "claim"

# The tables as this revision knows them (never the application's
# tables.py, which moves on).
_metadata = sa.MetaData()
_config = sa.Table(
    "pci_config_objects", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32)), sa.Column("name", sa.Unicode(255)),
    sa.Column("body", sa.Text), sa.Column("generation", sa.Integer),
    sa.Column("created_at", sa.DateTime), sa.Column("updated_at", sa.DateTime))
_devices = sa.Table(
    "pci_devices", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hostname", sa.Unicode(200)), sa.Column("address", sa.String(16)),
    sa.Column("assigned_to", sa.String(36)))


def _device_key(hostname: str, address: str) -> str:
    return f"{hostname} {address}"


def upgrade() -> None:
    claims = op.create_table(
        'pci_claims',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('consumer_uuid', sa.String(length=36), nullable=False),
        sa.Column('request', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pci_claims')),
        sa.UniqueConstraint('consumer_uuid', name=op.f('uq_pci_claims_consumer_uuid')),
    )
    claim_devices = op.create_table(
        'pci_claim_devices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('group_suffix', sa.Unicode(length=255), nullable=False),
        sa.Column('alias', sa.Unicode(length=255), nullable=True),
        sa.Column('alias_item', sa.Integer(), nullable=True),
        sa.Column('alias_index', sa.Integer(), nullable=True),
        sa.Column('hostname', sa.Unicode(length=200), nullable=False),
        sa.Column('address', sa.String(length=16), nullable=False),
        sa.Column('provider_uuid', sa.String(length=36), nullable=True),
        sa.Column('device', sa.Unicode(length=217), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['claim_id'], ['pci_claims.id'],
                                name=op.f('fk_pci_claim_devices_claim_id_pci_claims')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pci_claim_devices')),
        sa.UniqueConstraint('device', name=op.f('uq_pci_claim_devices_device')),
    )
    op.create_index(op.f('ix_pci_claim_devices_claim_id'), 'pci_claim_devices',
                    ['claim_id'], unique=False)
    op.create_index(op.f('ix_pci_claim_devices_hostname_address'), 'pci_claim_devices',
                    ['hostname', 'address'], unique=False)
    _move_claims(op.get_bind(), claims, claim_devices)


def _move_claims(connection: sa.Connection, claims: sa.Table,
                 claim_devices: sa.Table) -> None:
    records = connection.execute(
        sa.select(_config).where(_config.c.kind == KIND_CLAIM)
        .order_by(_config.c.updated_at.desc(), _config.c.id.desc())).all()
    if not records:
        return
    holders = {_device_key(row.hostname, row.address): row.assigned_to
               for row in connection.execute(sa.select(_devices))}
    taken: set[str] = set()
    for record in records:
        body = json.loads(record.body)
        claim_id = connection.execute(claims.insert().values(
            consumer_uuid=record.name, request=json.dumps(body["request"], sort_keys=True),
            created_at=record.created_at, updated_at=record.updated_at)
        ).inserted_primary_key[0]  # type: ignore[index]  # one row: never None
        rows = []
        for device in body["devices"]:
            key = _device_key(device["hostname"], device["address"])
            held = key not in taken and holders.get(key) in (None, record.name)
            if held:
                taken.add(key)
            rows.append({
                "claim_id": claim_id, "group_suffix": device["group"],
                "alias": device.get("alias"), "alias_item": device.get("item"),
                "alias_index": device.get("index"), "hostname": device["hostname"],
                "address": device["address"], "provider_uuid": device.get("provider_uuid"),
                "device": key if held else None,
                "created_at": record.created_at, "updated_at": record.updated_at})
        if rows:
            connection.execute(claim_devices.insert(), rows)
            # The claim is now the record of the holding; the column keeps
            # what hosts report only.
            for row in rows:
                if row["device"] is not None:
                    connection.execute(
                        sa.update(_devices)
                        .where(_devices.c.hostname == row["hostname"],
                               _devices.c.address == row["address"],
                               _devices.c.assigned_to == record.name)
                        .values(assigned_to=None))
    connection.execute(sa.delete(_config).where(_config.c.kind == KIND_CLAIM))


def downgrade() -> None:
    connection = op.get_bind()
    metadata = sa.MetaData()
    claims = sa.Table("pci_claims", metadata, autoload_with=connection)
    claim_devices = sa.Table("pci_claim_devices", metadata, autoload_with=connection)
    for claim in connection.execute(sa.select(claims)).all():
        devices = connection.execute(
            sa.select(claim_devices).where(claim_devices.c.claim_id == claim.id)
            .order_by(claim_devices.c.id)).all()
        body = {"request": json.loads(claim.request), "devices": [
            {"group": d.group_suffix, "alias": d.alias, "item": d.alias_item,
             "index": d.alias_index, "hostname": d.hostname, "address": d.address,
             "provider_uuid": d.provider_uuid} for d in devices]}
        connection.execute(_config.insert().values(
            kind=KIND_CLAIM, name=claim.consumer_uuid, body=json.dumps(body, sort_keys=True),
            generation=0, created_at=claim.created_at, updated_at=claim.updated_at))
        for d in devices:
            if d.device is not None:
                connection.execute(
                    sa.update(_devices).where(_devices.c.hostname == d.hostname,
                                              _devices.c.address == d.address)
                    .values(assigned_to=claim.consumer_uuid))
    op.drop_index(op.f('ix_pci_claim_devices_hostname_address'), table_name='pci_claim_devices')
    op.drop_index(op.f('ix_pci_claim_devices_claim_id'), table_name='pci_claim_devices')
    op.drop_table('pci_claim_devices')
    op.drop_table('pci_claims')
