"""snapshot change marker

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:40:00
"""
import sqlalchemy as sa

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    markers = op.create_table(
        'snapshot_markers',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('structure_version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshot_markers')),
    )
    op.bulk_insert(markers, [{'id': 1, 'structure_version': 0}])


def downgrade() -> None:
    op.drop_table('snapshot_markers')
