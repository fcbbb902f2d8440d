"""Load generator: builds the deployment of bench/plan.py in any
Placement service, through the REST API only.

    python -m bench.loadgen --url http://127.0.0.1:8780 --hosts 1000

Custom traits and resource classes are created first, then the sharing
providers, then the hosts, each host by one thread (a tree is built parents
first), many hosts at once.  Run it against an empty database: providers
that already exist make it stop with the service's 409.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import PlacementClient
from bench.plan import HostPlan, LoadPlan, PlanShape, ProviderPlan, build_plan


def create_provider(client: PlacementClient, provider: ProviderPlan) -> int:
    """Create one provider with its inventories, traits and aggregates;
    return the number of requests it took."""
    body: dict = {"uuid": provider.uuid, "name": provider.name}
    if provider.parent_uuid:
        body["parent_provider_uuid"] = provider.parent_uuid
    generation = client.post("/resource_providers", body).json()["generation"]
    path = f"/resource_providers/{provider.uuid}"
    requests_made = 1
    if provider.inventories:
        generation = client.put(f"{path}/inventories", {
            "resource_provider_generation": generation,
            "inventories": provider.inventories,
        }).json()["resource_provider_generation"]
        requests_made += 1
    if provider.traits:
        generation = client.put(f"{path}/traits", {
            "resource_provider_generation": generation,
            "traits": list(provider.traits),
        }).json()["resource_provider_generation"]
        requests_made += 1
    if provider.aggregates:
        client.put(f"{path}/aggregates", {
            "resource_provider_generation": generation,
            "aggregates": list(provider.aggregates),
        })
        requests_made += 1
    return requests_made


def create_host(client: PlacementClient, host: HostPlan) -> int:
    return sum(create_provider(client, provider) for provider in host.providers)


def create_custom_names(client: PlacementClient, plan: LoadPlan) -> int:
    # PUT is idempotent for both (201 created, 204 already there).
    for resource_class in plan.custom_resource_classes:
        client.put(f"/resource_classes/{resource_class}", None,
                   expected=(201, 204))
    for trait in plan.custom_traits:
        client.put(f"/traits/{trait}", None, expected=(201, 204))
    return len(plan.custom_resource_classes) + len(plan.custom_traits)


def apply_plan(client: PlacementClient, plan: LoadPlan, *,
               concurrency: int = 8, progress=print) -> int:
    """Build `plan` in the service behind `client`; return requests made."""
    requests_made = create_custom_names(client, plan)
    for provider in plan.sharing_providers:
        requests_made += create_provider(client, provider)
    started = time.monotonic()
    report_every = max(1, len(plan.hosts) // 10)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(create_host, client, host) for host in plan.hosts]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                requests_made += future.result()
                if done % report_every == 0 or done == len(futures):
                    elapsed = time.monotonic() - started
                    progress(f"  {done}/{len(futures)} hosts, {requests_made} "
                             f"requests, {elapsed:.1f}s")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return requests_made


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = PlanShape()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Placement API base URL")
    parser.add_argument("--hosts", type=int, default=defaults.host_count)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--gpus-per-host", type=int,
                        default=defaults.gpus_per_host)
    parser.add_argument("--nics-per-host", type=int,
                        default=defaults.nics_per_host)
    parser.add_argument("--vfs-per-nic", type=int, default=defaults.vfs_per_nic)
    parser.add_argument("--numa-nodes", type=int,
                        default=defaults.numa_nodes_per_host)
    parser.add_argument("--aggregates", type=int,
                        default=defaults.aggregate_count)
    parser.add_argument("--avx2-fraction", type=float,
                        default=defaults.avx2_fraction)
    parser.add_argument("--live-migratable-fraction", type=float,
                        default=defaults.live_migratable_fraction)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="hosts built at once (threads)")
    parser.add_argument("--token", default="admin")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="per-request timeout in seconds")
    return parser.parse_args(argv)


def shape_from_args(args: argparse.Namespace) -> PlanShape:
    return PlanShape(
        host_count=args.hosts, seed=args.seed,
        numa_nodes_per_host=args.numa_nodes, gpus_per_host=args.gpus_per_host,
        nics_per_host=args.nics_per_host, vfs_per_nic=args.vfs_per_nic,
        aggregate_count=args.aggregates, avx2_fraction=args.avx2_fraction,
        live_migratable_fraction=args.live_migratable_fraction)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = build_plan(shape_from_args(args))
    client = PlacementClient(args.url, token=args.token, timeout=args.timeout)
    provider_count = len(plan.all_providers())
    print(f"loading {len(plan.hosts)} hosts ({provider_count} providers) "
          f"into {args.url}")
    started = time.monotonic()
    requests_made = apply_plan(client, plan, concurrency=args.concurrency)
    elapsed = time.monotonic() - started
    print(f"done: {provider_count} providers, {requests_made} requests in "
          f"{elapsed:.1f}s ({requests_made / max(elapsed, 1e-9):.0f} req/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
