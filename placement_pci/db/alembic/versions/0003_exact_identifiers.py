"""exact identifiers: binary collation for names and ids on MySQL/MariaDB

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:50:00

MySQL and MariaDB compare text with the column's collation, and their
default (utf8mb4_general_ci) ignores case: project ``VICTIMPROJ`` matched
``victimproj``'s rows, and host ``CASEHOST`` replaced host ``casehost``'s
devices.  The identifiers below change to a binary collation that also
keeps trailing spaces significant (NO PAD where the server has one), so
they compare as PostgreSQL and SQLite already compare them.  Nothing to do
on those two backends.  See placement_pci.db.tables for the choice per
column.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# (table, column, VARCHAR length, nullable)
EXACT_COLUMNS = (
    ("projects", "external_id", 255, False),
    ("users", "external_id", 255, False),
    ("consumer_types", "name", 255, False),
    ("resource_providers", "name", 200, False),
    ("pci_devices", "hostname", 200, False),
    ("pci_config_objects", "name", 255, False),
    # The claim tables (0002) name hosts too; ``device`` is UNIQUE, so
    # hosts ``CASEHOST`` and ``casehost`` must not collide there.
    ("pci_claim_devices", "hostname", 200, False),
    ("pci_claim_devices", "device", 217, True),
)
# Binary, NO PAD collations first (MariaDB, MySQL 8), then the PAD SPACE one.
PREFERRED_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")


def _exact_collation(connection: Connection) -> str:
    available = {row[0] for row in connection.exec_driver_sql(
        "SHOW COLLATION WHERE Charset = 'utf8mb4'")}
    return next(name for name in PREFERRED_COLLATIONS if name in available)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name not in ("mysql", "mariadb"):
        return
    collation = _exact_collation(connection)
    for table, column, length, nullable in EXACT_COLUMNS:
        op.execute(f"ALTER TABLE {table} MODIFY {column} VARCHAR({length}) "
                   f"CHARACTER SET utf8mb4 COLLATE {collation} "
                   f"{'NULL' if nullable else 'NOT NULL'}")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name not in ("mysql", "mariadb"):
        return
    for table, column, length, nullable in EXACT_COLUMNS:
        op.execute(f"ALTER TABLE {table} MODIFY {column} VARCHAR({length}) "
                   f"{'NULL' if nullable else 'NOT NULL'}")
