"""The whole side-by-side comparison in one command: the static and churn
workloads of bench/run.py, the scheduler loop and the last-unit burst of
bench/scheduler.py, against every target, one table each, written to a
markdown file and (with --readme) into bench/README.md between the
``bench-suite`` markers, with the command that produced them.

    python -m bench.suite --target upstream=http://127.0.0.1:8780 \\
        --target ours=http://127.0.0.1:8790 --hosts 1000 --repeat 15 \\
        --readme bench/README.md
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import PlacementClient
from bench.queries import named_queries
from bench.run import (
    AnswerChurn,
    Churn,
    _ms,
    measure_query,
    parse_target,
    render_markdown,
)
from bench.scheduler import BurstResult, LoopResult, last_unit_burst, scheduler_loop

START, END = "<!-- bench-suite:start -->", "<!-- bench-suite:end -->"


def loop_table(results: list[LoopResult], baseline: str) -> str:
    base = next((r for r in results if r.target == baseline), results[0])
    lines = ["| target | seconds | claims | claims/s | 409 retries | errors | "
             f"over-committed providers (of checked) | target / {baseline} |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = ("" if r is base or not base.claims_per_second
                 else f"{r.claims_per_second / base.claims_per_second:.1f}x")
        lines.append(f"| {r.target} | {r.seconds:.0f} | {r.claims} | "
                     f"{r.claims_per_second:.1f} | {r.conflicts} | {len(r.errors)} | "
                     f"{len(r.overcommitted)} (of {r.checked_providers}) | {ratio} |")
    return "\n".join(lines) + "\n"


def burst_table(results: list[BurstResult]) -> str:
    lines = ["| target | rounds | winners per round | rounds with exactly one | errors |",
             "|---|---:|---|---:|---:|"]
    for r in results:
        counts = {w: r.winners.count(w) for w in sorted(set(r.winners))}
        spread = ", ".join(f"{w} winner(s): {n}" for w, n in counts.items())
        lines.append(f"| {r.target} | {r.rounds} | {spread} | "
                     f"{sum(1 for w in r.winners if w == 1)} | {len(r.errors)} |")
    return "\n".join(lines) + "\n"


def write_readme(path: Path, text: str) -> None:
    readme = path.read_text()
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        tail = rest.split(END, 1)[1]
        readme = head + START + "\n" + text + END + tail
    else:
        readme = readme.rstrip("\n") + "\n\n" + START + "\n" + text + END + "\n"
    path.write_text(readme)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", type=parse_target, default=[])
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", default="perfload,nested_pci_granular")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--workloads", default="static,churn,churn_answer,loop,burst")
    parser.add_argument("--loop-query", default="perfload")
    parser.add_argument("--loop-seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--burst-rounds", type=int, default=20)
    parser.add_argument("--label", default="")
    parser.add_argument("--markdown", type=Path, default=Path("bench/results/suite.md"))
    parser.add_argument("--json", type=Path, default=Path("bench/results/suite.json"))
    parser.add_argument("--readme", type=Path, help="also write the tables here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.target:
        sys.exit("at least one --target NAME=URL is needed")
    queries = named_queries(args.seed)
    selected = [name.strip() for name in args.queries.split(",") if name.strip()]
    workloads = set(args.workloads.split(","))
    baseline = args.target[0][0]
    clients = {name: PlacementClient(url) for name, url in args.target}
    command = "python -m bench.suite " + " ".join(
        shlex.quote(arg) for arg in (sys.argv[1:] if argv is None else argv))
    title = args.label or f"{args.hosts} hosts"
    parts = [f"### {title}\n\n`{command}`\n\nRun at "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"]
    raw: dict[str, object] = {"command": command}
    for workload in ("static", "churn", "churn_answer"):
        if workload not in workloads:
            continue
        results = {}
        for name in selected:
            churn: Churn | None = None
            if workload == "churn":
                churn = Churn(args.seed, args.hosts)
            elif workload == "churn_answer":
                churn = AnswerChurn(args.seed, queries[name].path)
            results[name] = measure_query(clients, queries[name], args.repeat,
                                          args.timeout, 10.0, 4, churn)
            for m in results[name]:
                print(f"{workload} {name} @ {m.target}: median {_ms(m.median_ms)} ms",
                      file=sys.stderr)
        heading = {
            "static": "Unchanged data",
            "churn": "One claim or release on a random host before every timed request",
            "churn_answer": "One claim of a candidate of the current answer, or its "
                            "release, before every timed request",
        }[workload]
        parts.append(f"#### {heading}\n\n" + render_markdown(
            results, {n: queries[n] for n in selected}, baseline, args.timeout))
        raw[workload] = {name: [dict(asdict(m), median_ms=m.median_ms, p95_ms=m.p95_ms)
                                for m in ms] for name, ms in results.items()}
    if "loop" in workloads:
        loops = []
        for name, client in clients.items():
            loops.append(scheduler_loop(client, name, queries[args.loop_query].path,
                                        clients=args.clients, seconds=args.loop_seconds,
                                        seed=args.seed))
            print(f"loop @ {name}: {loops[-1].claims_per_second:.1f} claims/s",
                  file=sys.stderr)
        parts.append(f"#### Scheduler loop: {args.clients} clients, GET "
                     f"`{args.loop_query}` -> PUT a random candidate, 409 -> retry\n\n"
                     + loop_table(loops, baseline))
        raw["loop"] = [dict(asdict(r), claims_per_second=r.claims_per_second)
                       for r in loops]
    if "burst" in workloads:
        bursts = [last_unit_burst(client, name, clients=args.clients,
                                  rounds=args.burst_rounds, seed=args.seed)
                  for name, client in clients.items()]
        parts.append(f"#### Burst: {args.clients} clients PUT the same last free "
                     "unit at once\n\n" + burst_table(bursts))
        raw["burst"] = [asdict(r) for r in bursts]
    text = "\n".join(parts)
    print(text)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(raw, indent=2, default=str))
    if args.readme:
        write_readme(args.readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
