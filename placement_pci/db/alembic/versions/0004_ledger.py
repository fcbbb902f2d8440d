"""allocation ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:20:00
"""
import sqlalchemy as sa

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'allocation_ledger',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('logged_at', sa.DateTime(), nullable=False),
        sa.Column('consumer_uuid', sa.String(length=36), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('allocations_before', sa.Text(), nullable=False),
        sa.Column('allocations_after', sa.Text(), nullable=False),
        sa.Column('request_id', sa.String(length=255), nullable=True),
        sa.Column('global_request_id', sa.String(length=255), nullable=True),
        sa.Column('user_id', sa.String(length=255), nullable=True),
        sa.Column('project_id', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_allocation_ledger')),
    )
    op.create_index(op.f('ix_allocation_ledger_consumer_uuid'), 'allocation_ledger',
                    ['consumer_uuid'], unique=False)
    op.create_index(op.f('ix_allocation_ledger_logged_at'), 'allocation_ledger',
                    ['logged_at'], unique=False)
    op.create_table(
        'allocation_ledger_hosts',
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hostname', sa.Unicode(length=200), nullable=False),
        sa.ForeignKeyConstraint(['seq'], ['allocation_ledger.seq'],
                                name=op.f('fk_allocation_ledger_hosts_seq_allocation_ledger')),
        sa.PrimaryKeyConstraint('seq', 'hostname', name=op.f('pk_allocation_ledger_hosts')),
    )
    op.create_index(op.f('ix_allocation_ledger_hosts_hostname'), 'allocation_ledger_hosts',
                    ['hostname'], unique=False)
    sequence = op.create_table(
        'allocation_ledger_sequence',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_ledger_sequence')),
    )
    op.bulk_insert(sequence, [{'id': 1, 'last_seq': 0}])


def downgrade() -> None:
    op.drop_table('allocation_ledger_sequence')
    op.drop_index(op.f('ix_allocation_ledger_hosts_hostname'),
                  table_name='allocation_ledger_hosts')
    op.drop_table('allocation_ledger_hosts')
    op.drop_index(op.f('ix_allocation_ledger_logged_at'), table_name='allocation_ledger')
    op.drop_index(op.f('ix_allocation_ledger_consumer_uuid'), table_name='allocation_ledger')
    op.drop_table('allocation_ledger')
