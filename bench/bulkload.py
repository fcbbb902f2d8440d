"""Bulk loader: writes the deployment of bench/plan.py straight into an
empty placement_pci database (PostgreSQL), for sizes the REST API would
take too long to build (10,000 hosts are ~200,000 requests).

    python -m bench.bulkload --db postgresql+psycopg://postgres@127.0.0.1/bench \\
        --hosts 10000 --gpus-per-host 2

Benchmark tooling only, never part of the service: it inserts the same
rows the API would (same UUIDs, names, inventories, traits, aggregates),
with generation 0, in a few multi-row INSERTs.  Run `placement-pci db
upgrade` on the database first (it creates the standard classes and
traits).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from placement_pci.db.engine import make_engine

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import parse_args as loadgen_args
from bench.loadgen import shape_from_args
from bench.plan import LoadPlan, build_plan
from placement_pci.db import tables

CHUNK = 5000


def _ids_by_name(connection: sa.Connection, table: sa.Table, names: set[str]
                 ) -> dict[str, int]:
    now = datetime.now(UTC).replace(tzinfo=None)
    known = dict(connection.execute(sa.select(table.c.name, table.c.id)).all())
    missing = sorted(names - known.keys())
    if missing:
        connection.execute(table.insert(), [{"name": name, "created_at": now}
                                            for name in missing])
        known = dict(connection.execute(sa.select(table.c.name, table.c.id)).all())
    return known


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start:start + CHUNK])


def bulk_load(engine: sa.Engine, plan: LoadPlan) -> int:
    """Insert every provider of ``plan``; returns the number of providers."""
    providers = plan.all_providers()
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(
                tables.resource_providers)).scalar():
            raise SystemExit("bulkload: the database already has providers")
        classes = _ids_by_name(connection, tables.resource_classes,
                               {rc for p in providers for rc in p.inventories})
        traits = _ids_by_name(connection, tables.traits,
                              {t for p in providers for t in p.traits})
        connection.execute(tables.placement_aggregates.insert(), [
            {"uuid": aggregate, "created_at": now} for aggregate in plan.aggregates])
        aggregates = dict(connection.execute(sa.select(
            tables.placement_aggregates.c.uuid, tables.placement_aggregates.c.id)).all())
        # Explicit ids so parents and roots are known before inserting.
        first = 1 + (connection.execute(sa.select(sa.func.max(
            tables.resource_providers.c.id))).scalar() or 0)
        ids = {p.uuid: first + index for index, p in enumerate(providers)}
        roots: dict[str, int] = {}
        rows = []
        for provider in providers:   # parents come before children
            provider_id = ids[provider.uuid]
            root = (roots[provider.parent_uuid] if provider.parent_uuid
                    else provider_id)
            roots[provider.uuid] = root
            rows.append({"id": provider_id, "uuid": provider.uuid,
                         "name": provider.name, "generation": 0,
                         "parent_provider_id": ids.get(provider.parent_uuid),
                         "root_provider_id": root, "created_at": now})
        _insert(connection, tables.resource_providers, rows)
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('resource_providers', 'id'), "
                "(SELECT max(id) FROM resource_providers))"))
        _insert(connection, tables.inventories, [
            {"resource_provider_id": ids[p.uuid], "resource_class_id": classes[rc],
             "created_at": now, **record}
            for p in providers for rc, record in p.inventories.items()])
        _insert(connection, tables.resource_provider_traits, [
            {"resource_provider_id": ids[p.uuid], "trait_id": traits[trait],
             "created_at": now}
            for p in providers for trait in p.traits])
        _insert(connection, tables.resource_provider_aggregates, [
            {"resource_provider_id": ids[p.uuid], "aggregate_id": aggregates[agg],
             "created_at": now}
            for p in providers for agg in p.aggregates])
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))
    return len(providers)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the database")
    known, rest = parser.parse_known_args(argv)
    # The plan options are the load generator's; it needs some --url.
    args = loadgen_args(["--url", "-", *rest])
    plan = build_plan(shape_from_args(args))
    # The service's engine: the load moves the snapshot's change marker,
    # so a worker already serving this database sees it.
    engine = make_engine(known.db)
    started = time.monotonic()
    count = bulk_load(engine, plan)
    print(f"bulk-loaded {count} providers ({len(plan.hosts)} hosts) in "
          f"{time.monotonic() - started:.1f}s")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
