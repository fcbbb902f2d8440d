"""Benchmark: POST /pci/headroom's computation on the bench deployment.

    python -m bench.headroom --hosts 1000 --repeat 3

Builds the provider graph of bench/plan.py in memory (what the service's
snapshot holds after loadgen built it: same trees, inventories, traits,
aggregates, sharing providers), then times ``candidates.headroom.compute``
for the named queries against one full candidate generation on the same
graph (``solver.generate`` exhausted, what an unlimited GET
/allocation_candidates computes).  The ratio (headroom / one unlimited
candidates query) is the figure to watch; it does not depend on the
machine the way seconds do.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os_resource_classes
import os_traits

from bench.plan import LoadPlan, PlanShape, build_plan
from bench.queries import named_queries
from placement_pci.candidates import headroom, solver
from placement_pci.candidates.graph import InventoryRow, ProviderGraph, ProviderRow
from placement_pci.candidates.query import parse_candidate_query
from placement_pci.inventory import Inventory

QUERIES = ("perfload", "nested_pci_granular", "gpu8_isolate", "numa_same_subtree")


def graph_of(plan: LoadPlan) -> ProviderGraph:
    providers = plan.all_providers()
    ids = {provider.uuid: index for index, provider in enumerate(providers, start=1)}
    roots: dict[str, int] = {}
    rows, inventories, traits, aggregates = [], [], [], []
    for provider in providers:
        own = ids[provider.uuid]
        parent = ids[provider.parent_uuid] if provider.parent_uuid else None
        roots[provider.uuid] = roots[provider.parent_uuid] if parent else own
        rows.append(ProviderRow(own, provider.uuid, provider.name, 1, parent,
                                roots[provider.uuid]))
        inventories.extend(InventoryRow(own, name, Inventory(**fields))
                           for name, fields in provider.inventories.items())
        traits.extend((own, trait) for trait in provider.traits)
        aggregates.extend((own, aggregate) for aggregate in provider.aggregates)
    classes = [*os_resource_classes.STANDARDS, *plan.custom_resource_classes]
    trait_names = [*os_traits.get_traits(), *plan.custom_traits]
    return ProviderGraph.build(rows, inventories, (), traits, aggregates,
                               classes, trait_names)


def _median_seconds(work, repeat: int, prepare=lambda: None) -> float:
    """Median time of ``work(prepare())``, preparation not timed."""
    times = []
    for _ in range(repeat):
        prepared = prepare()
        start = time.perf_counter()
        work(prepared)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    plan = build_plan(PlanShape(host_count=options.hosts, seed=options.seed))
    graph = graph_of(plan)
    queries = named_queries(options.seed)
    print(f"{options.hosts} hosts, {len(graph)} providers, median of {options.repeat}")
    print("| query | instances that fit | hosts with room | headroom s "
          "| candidates s | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in QUERIES:
        request = parse_candidate_query(
            parse_qs(queries[name].query_string, keep_blank_values=True), (1, 39))
        solver.check_names(graph, request)
        result = headroom.compute(graph, request)
        spent = _median_seconds(lambda g, r=request: headroom.compute(g, r),
                                options.repeat, lambda: graph)
        # A fresh graph per run, so no memo of the previous run helps.
        candidates = _median_seconds(
            lambda g, r=request: sum(1 for _ in solver.generate(g, r)),
            options.repeat, lambda: graph_of(plan))
        print(f"| `{name}` | {result.total} | {len(result.hosts)} | {spent:.2f} "
              f"| {candidates:.2f} | {spent / candidates:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
