"""API-managed PCI configuration: aliases and device-spec sets.

Each object is a row of ``pci_config_objects`` (kind, name, JSON body,
generation).  The body keeps the entry exactly as the operator gave it
(object or nova.conf string); it is validated on every write with the same
parser the rest of the service uses, so a stored object is always valid.
Updates and deletes may name the generation the caller last saw; a stale
one is a 409 ``placement.concurrent_update``.
"""
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from placement_pci import errors
from placement_pci.db import tables
from placement_pci.db.engine import Database
from placement_pci.pci.alias import ALIAS_INVALID, PciAlias, parse_aliases
from placement_pci.pci.device_spec import DEVICE_SPEC_INVALID, parse_device_specs
from placement_pci.store.common import utcnow

CONFIG = tables.pci_config_objects

KIND_ALIAS = "alias"
KIND_DEVICE_SPEC = "device_spec"
_DESCRIPTION = {KIND_ALIAS: "PCI alias", KIND_DEVICE_SPEC: "device spec set"}

MAX_STORED_NAME_LENGTH = 255
_SET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


@dataclass(frozen=True)
class ConfigObject:
    kind: str
    name: str
    body: Any
    generation: int
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None


def _from_row(row: sa.Row) -> ConfigObject:
    return ConfigObject(kind=row.kind, name=row.name, body=json.loads(row.body),
                        generation=row.generation, created_at=row.created_at,
                        updated_at=row.updated_at)


def _not_found(kind: str, name: str) -> errors.NotFound:
    return errors.NotFound(f"No {_DESCRIPTION[kind]} named '{name}'")


def _read(connection: Connection, kind: str, name: str) -> ConfigObject:
    rows = connection.execute(sa.select(CONFIG).where(
        CONFIG.c.kind == kind, CONFIG.c.name == name)).all()
    # Exact match in Python: a case-insensitive collation (MySQL) would
    # otherwise answer for 'A1' with the object named 'a1'.
    row = next((row for row in rows if row.name == name), None)
    if row is None:
        raise _not_found(kind, name)
    return _from_row(row)


def list_objects(database: Database, kind: str) -> list[ConfigObject]:
    """Every object of a kind, sorted by name."""
    def read(connection: Connection) -> list[ConfigObject]:
        rows = connection.execute(sa.select(CONFIG).where(
            CONFIG.c.kind == kind)).all()
        # Sorted here: database collations disagree on case.
        return sorted((_from_row(row) for row in rows),
                      key=lambda stored: stored.name)
    return database.run_read(read)


def get_object(database: Database, kind: str, name: str) -> ConfigObject:
    return database.run_read(lambda connection: _read(connection, kind, name))


def _insert(database: Database, kind: str, name: str, body: Any) -> ConfigObject:
    def insert(connection: Connection) -> ConfigObject:
        exists = connection.execute(sa.select(CONFIG.c.id).where(
            CONFIG.c.kind == kind, CONFIG.c.name == name)).first()
        if exists is not None:
            raise errors.Conflict(
                f"A {_DESCRIPTION[kind]} named '{name}' already exists",
                code=errors.DUPLICATE_NAME)
        now = utcnow()
        connection.execute(sa.insert(CONFIG).values(
            kind=kind, name=name, body=json.dumps(body), generation=0,
            created_at=now, updated_at=now))
        return _read(connection, kind, name)
    try:
        return database.run_write(insert)
    except sa.exc.IntegrityError:
        # Two creators raced past the existence check; one of them lost.
        raise errors.Conflict(
            f"A {_DESCRIPTION[kind]} named '{name}' already exists",
            code=errors.DUPLICATE_NAME) from None


def _stale(kind: str, name: str, expected: int, actual: int) -> errors.Conflict:
    return errors.Conflict(
        f"{_DESCRIPTION[kind]} '{name}' has generation {actual}, not "
        f"{expected}: someone changed it; read it again and retry",
        code=errors.CONCURRENT_UPDATE)


def _replace(database: Database, kind: str, name: str, body: Any,
             expected_generation: int | None) -> ConfigObject:
    def replace(connection: Connection) -> ConfigObject:
        current = _read(connection, kind, name)
        generation = (current.generation if expected_generation is None
                      else expected_generation)
        result = connection.execute(
            sa.update(CONFIG)
            .where(CONFIG.c.kind == kind, CONFIG.c.name == name,
                   CONFIG.c.generation == generation)
            .values(body=json.dumps(body), generation=generation + 1,
                    updated_at=utcnow()))
        if result.rowcount != 1:
            raise _stale(kind, name, generation, current.generation)
        return _read(connection, kind, name)
    return database.run_write(replace)


def delete_object(database: Database, kind: str, name: str,
                  expected_generation: int | None = None) -> None:
    def delete(connection: Connection) -> None:
        current = _read(connection, kind, name)
        condition = [CONFIG.c.kind == kind, CONFIG.c.name == name]
        if expected_generation is not None:
            condition.append(CONFIG.c.generation == expected_generation)
        result = connection.execute(sa.delete(CONFIG).where(*condition))
        if result.rowcount != 1:
            raise _stale(kind, name, expected_generation or 0,
                         current.generation)
    database.run_write(delete)


# --- aliases ----------------------------------------------------------------

def parse_alias(entry: Any) -> PciAlias:
    """Validate one alias entry as stored objects must be (placement rules)."""
    alias = next(iter(parse_aliases([entry]).values()))
    if len(alias.name) > MAX_STORED_NAME_LENGTH:
        raise errors.BadRequest(
            f"Invalid PCI alias '{alias.name[:40]}...': names of API-managed "
            f"aliases are limited to {MAX_STORED_NAME_LENGTH} characters",
            code=ALIAS_INVALID)
    return alias


def create_alias(database: Database, entry: Any) -> ConfigObject:
    alias = parse_alias(entry)
    return _insert(database, KIND_ALIAS, alias.name, entry)


def update_alias(database: Database, name: str, entry: Any,
                 expected_generation: int | None) -> ConfigObject:
    alias = parse_alias(entry)
    if alias.name != name:
        raise errors.BadRequest(
            f"The alias in the body is named '{alias.name}', not '{name}'; "
            f"renaming is delete + create", code=ALIAS_INVALID)
    return _replace(database, KIND_ALIAS, name, entry, expected_generation)


def alias_entries(database: Database) -> list[Any]:
    """The stored alias entries, as POST /pci/request-groups uses them."""
    return [stored.body for stored in list_objects(database, KIND_ALIAS)]


# --- device spec sets -------------------------------------------------------

def check_set_name(name: object) -> str:
    if not isinstance(name, str) or not _SET_NAME.match(name):
        raise errors.BadRequest(
            f"Invalid device spec set name {name!r}: use 1 to 255 characters "
            f"from A-Z a-z 0-9 _ . -", code=DEVICE_SPEC_INVALID)
    return name


def check_device_specs(entries: Any) -> list[str]:
    """Validate a device spec list; return its warnings."""
    if not isinstance(entries, list):
        raise errors.BadRequest(
            "device_spec must be a list of entries (objects or nova.conf "
            "strings)", code=DEVICE_SPEC_INVALID)
    _, warnings = parse_device_specs(entries)
    return warnings


def create_device_spec_set(database: Database, name: str,
                           entries: Any) -> tuple[ConfigObject, list[str]]:
    check_set_name(name)
    warnings = check_device_specs(entries)
    return _insert(database, KIND_DEVICE_SPEC, name, entries), warnings


def update_device_spec_set(database: Database, name: str, entries: Any,
                           expected_generation: int | None
                           ) -> tuple[ConfigObject, list[str]]:
    warnings = check_device_specs(entries)
    return (_replace(database, KIND_DEVICE_SPEC, name, entries,
                     expected_generation), warnings)


def device_spec_entries(database: Database, name: str) -> list[Any]:
    """The entries of a stored set (what a host's PUT may refer to)."""
    return get_object(database, KIND_DEVICE_SPEC, name).body
