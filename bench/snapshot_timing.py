"""In-process timings of the snapshot, for the scale table of bench/README.md:
a full load of the provider graph, and the refresh after one claim and
after one release (what a worker does between two scheduling requests).

    python -m bench.snapshot_timing --db postgresql+psycopg://postgres@127.0.0.1/bench \\
        --hosts 10000 --repeat 10

Claims go through the service's own store code on one VCPU of a random
host, from a fixed consumer that is released again, so the database ends
as it started.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import PlacementClient
from bench.plan import stable_uuid
from placement_pci.db.engine import Database
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.store.provider_graph import load_graph, snapshot_read


def _ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True,
                        help="a running service on the same database, for the claims")
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    database = Database(args.db)
    client = PlacementClient(args.url)
    rng = random.Random(args.seed)

    full = []
    for _ in range(max(3, args.repeat // 3)):
        started = time.perf_counter()
        with snapshot_read(database) as connection:
            graph = load_graph(connection)
        full.append(time.perf_counter() - started)
    print(f"full load of {len(graph)} providers: {_ms(full)}")

    cache = SnapshotCache()
    cache.graph(database)
    consumer = stable_uuid(args.seed, "bench snapshot timing consumer")
    after_claim, after_release = [], []
    for _ in range(args.repeat):
        host = stable_uuid(args.seed, f"compute{rng.randrange(args.hosts):05d}")
        client.put(f"/allocations/{consumer}", {
            "allocations": {host: {"resources": {"VCPU": 1}}},
            "project_id": "bench", "user_id": "bench", "consumer_generation": None,
            "consumer_type": "INSTANCE"}, expected=(204,))
        started = time.perf_counter()
        cache.graph(database)
        after_claim.append(time.perf_counter() - started)
        client.request("DELETE", f"/allocations/{consumer}", expected=(204,))
        started = time.perf_counter()
        cache.graph(database)
        after_release.append(time.perf_counter() - started)
    print(f"refresh after one claim: {_ms(after_claim)}")
    print(f"refresh after one release: {_ms(after_release)}")
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
