"""Benchmark: runs the named queries of bench/queries.py against one or
more Placement services and reports latency, candidates and errors.

    python -m bench.run --target upstream=http://127.0.0.1:8780 \\
        --target ours=http://127.0.0.1:8790 --repeat 10 --timeout 300 \\
        --label "1000 hosts" --json bench/results/1000.json

For each query: one first request per target (not in the statistics; it
also warms caches and gives the answer that is compared across targets),
then `--repeat` rounds asking every target once each, interleaved so that
other load on the machine hits all targets alike.  A request that times
out is recorded as a timeout and that target is asked that query no more,
so a pathological case cannot hang the run.  Ratios are the baseline
target's median over each other target's median (higher is faster).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import PlacementClient
from bench.plan import stable_uuid
from bench.queries import NamedQuery, named_queries

CHURN_PROJECT = "bench-churn"

# Warming every worker only matters where a cold worker is a visible part
# of the time; a query that takes longer than this is not warmed further.
WARMUP_MAX_FIRST_MS = 5000.0

DEFAULT_QUERIES = ("perfload", "nested_pci_granular", "gpu8_isolate_limit10",
                   "gpu8_isolate", "forbidden_live_migratable",
                   "numa_same_subtree")


@dataclass
class Measurement:
    """Everything observed for one query against one target."""

    query: str
    target: str
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: float | None = None
    candidates: int | None = None
    response_bytes: int | None = None
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    skipped_requests: int = 0
    # Digest of the set of allocation requests of the first answer, to
    # tell whether two services gave the same answer.
    answer_digest: str | None = None

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.latencies_ms, 0.95)

    @property
    def error_count(self) -> int:
        return len(self.errors)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least
    `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def answer_digest(body: dict) -> str:
    """Order-independent digest of the allocation requests of an answer."""
    canonical = sorted(
        json.dumps(request.get("allocations"), sort_keys=True)
        for request in body.get("allocation_requests", []))
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


def request_once(client: PlacementClient, query: NamedQuery,
                 measurement: Measurement, timeout: float, *,
                 timed: bool) -> None:
    """Send the query once and record the outcome in `measurement`; the
    first good answer gives the candidate count and the answer digest."""
    started = time.perf_counter()
    try:
        response = client.session.get(client.base_url + query.path,
                                      timeout=(10, timeout))
        elapsed_ms = (time.perf_counter() - started) * 1000
    except requests.Timeout:
        measurement.timed_out = True
        measurement.errors.append(f"timeout after {timeout:g}s")
        return
    except requests.ConnectionError as error:
        measurement.errors.append(f"connection error: {error}")
        return
    if response.status_code != 200:
        measurement.errors.append(
            f"HTTP {response.status_code}: {response.text[:300]}")
        return
    if measurement.candidates is None:
        body = response.json()
        measurement.candidates = len(body.get("allocation_requests", []))
        measurement.response_bytes = len(response.content)
        measurement.answer_digest = answer_digest(body)
    if timed:
        measurement.latencies_ms.append(elapsed_ms)
    else:
        measurement.first_ms = elapsed_ms


def _churn_claim(allocations: dict) -> dict:
    """The body of a churn claim for a new consumer."""
    return {"allocations": allocations, "project_id": CHURN_PROJECT,
            "user_id": CHURN_PROJECT, "consumer_generation": None,
            "consumer_type": "INSTANCE"}


class Churn:
    """An untimed write before each timed request, as claims land between
    scheduling requests in a real cloud: it alternately claims one VCPU on
    a random host (seeded) for a fixed consumer and frees it, so a
    service cannot answer the next request from what it computed for the
    previous one."""

    def __init__(self, seed: int, host_count: int = 1):
        self.seed = seed
        self.host_count = max(1, host_count)
        self.rng = random.Random(seed)
        self.consumer_uuid = stable_uuid(seed, "bench churn consumer")
        self.claimed: dict[str, bool] = {}

    def write(self, client: PlacementClient) -> None:
        path = f"/allocations/{self.consumer_uuid}"
        if self.claimed.get(client.base_url):
            client.request("DELETE", path, expected=(204, 404))
        else:
            host = f"compute{self.rng.randrange(self.host_count):05d}"
            client.put(path, _churn_claim(
                {stable_uuid(self.seed, host): {"resources": {"VCPU": 1}}}), expected=(204,))
        self.claimed[client.base_url] = not self.claimed.get(client.base_url)

    def clean_up(self, client: PlacementClient) -> None:
        if self.claimed.get(client.base_url):
            self.write(client)


class AnswerChurn(Churn):
    """Like Churn, but the write lands in the answer: it claims a random
    candidate of the query's current answer (read untimed just before)
    and frees it on the next round, so the trees the answer uses change
    before every timed request, as they do for a scheduler whose claims
    follow its own queries."""

    def __init__(self, seed: int, query_path: str):
        super().__init__(seed)
        self.query_path = query_path

    def write(self, client: PlacementClient) -> None:
        path = f"/allocations/{self.consumer_uuid}"
        if self.claimed.get(client.base_url):
            client.request("DELETE", path, expected=(204, 404))
        else:
            answers = client.request("GET", self.query_path).json()["allocation_requests"]
            client.put(path, _churn_claim(self.rng.choice(answers)["allocations"]),
                       expected=(204,))
        self.claimed[client.base_url] = not self.claimed.get(client.base_url)


def warm_up(client: PlacementClient, query: NamedQuery, parallel: int,
            timeout: float) -> None:
    """Send `parallel` untimed requests at once, on separate connections,
    so that every worker process of the service has answered the query
    (built its caches) before the timed rounds."""
    def one(_: int) -> None:
        with requests.Session() as session:
            session.headers.update(client.headers)
            # The timed rounds record what goes wrong.
            with contextlib.suppress(requests.RequestException):
                session.get(client.base_url + query.path, timeout=(10, timeout))

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, range(parallel)))


def measure_query(clients: dict[str, PlacementClient], query: NamedQuery,
                  repeat: int, timeout: float,
                  after_timeout_wait: float = 0.0,
                  warmup_parallel: int = 0,
                  churn: Churn | None = None) -> list[Measurement]:
    """One untimed first request per target (and, where that was quick,
    `warmup_parallel` more at once), then `repeat` rounds that each ask
    every target once, so load from elsewhere on the machine hits all
    targets alike.  A target that timed out is asked no more."""
    measurements = {target: Measurement(query=query.name, target=target)
                    for target in clients}
    for round_number in range(repeat + 1):
        for target, client in clients.items():
            measurement = measurements[target]
            if measurement.timed_out:
                continue
            if churn is not None and round_number > 0:
                churn.write(client)
            request_once(client, query, measurement, timeout,
                         timed=round_number > 0)
            if (round_number == 0 and warmup_parallel > 0
                    and measurement.first_ms is not None
                    and measurement.first_ms < WARMUP_MAX_FIRST_MS):
                warm_up(client, query, warmup_parallel, timeout)
            if measurement.timed_out:
                measurement.skipped_requests = repeat - round_number
                wait_until_responsive(client, after_timeout_wait,
                                      max_wait=timeout)
    if churn is not None:
        for client in clients.values():
            churn.clean_up(client)
    return list(measurements.values())


def wait_until_responsive(client: PlacementClient, pause: float,
                          max_wait: float) -> None:
    """After a timeout the server is still working on the abandoned
    request; give it `pause` seconds (its worker timeout should kill it)
    and then wait until it answers GET / again, so the next measurement
    does not queue behind it."""
    time.sleep(pause)
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        try:
            client.session.get(client.base_url + "/", timeout=5)
            return
        except requests.RequestException:
            time.sleep(1)


def ratio_text(baseline: Measurement, other: Measurement,
               timeout: float) -> str:
    if other is baseline:
        return ""
    if other.median_ms is None:
        return "timeout" if other.timed_out else "n/a"
    if baseline.median_ms is not None:
        return f"{baseline.median_ms / other.median_ms:.1f}x"
    if baseline.timed_out:
        # The baseline took longer than the timeout, so the real ratio is
        # at least this.
        return f">{timeout * 1000 / other.median_ms:.0f}x"
    return "n/a"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def same_answers_text(query: NamedQuery, measurements: list[Measurement],
                      measurement: Measurement) -> str:
    counts = {m.candidates for m in measurements if m.candidates is not None}
    if measurement.candidates is None or len(counts) == 0:
        return "—"
    if query.limited:
        return "same count" if len(counts) == 1 else "count differs"
    digests = {m.answer_digest for m in measurements if m.answer_digest}
    return "yes" if len(digests) == 1 else "NO"


def render_markdown(results: dict[str, list[Measurement]],
                    queries: dict[str, NamedQuery], baseline: str,
                    timeout: float, label: str = "") -> str:
    title = f"### {label}\n\n" if label else ""
    lines = [
        (f"| query | target | candidates | first ms | median ms | p95 ms | "
        f"KiB | errors | same answers | {baseline} / target |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for query_name, measurements in results.items():
        by_target = {m.target: m for m in measurements}
        base = by_target.get(baseline, measurements[0])
        for m in measurements:
            size = ("—" if m.response_bytes is None
                    else f"{m.response_bytes / 1024:.0f}")
            errors = str(m.error_count)
            if m.timed_out:
                errors += " (timeout)"
            candidates = "—" if m.candidates is None else str(m.candidates)
            lines.append(
                f"| {query_name} | {m.target} | {candidates} | "
                f"{_ms(m.first_ms)} | {_ms(m.median_ms)} | {_ms(m.p95_ms)} | "
                f"{size} | {errors} | "
                f"{same_answers_text(queries[query_name], measurements, m)} | "
                f"{ratio_text(base, m, timeout)} |")
    return title + "\n".join(lines) + "\n"


def parse_target(text: str) -> tuple[str, str]:
    name, separator, url = text.partition("=")
    if not separator or not name or not url:
        raise argparse.ArgumentTypeError(
            f"target must be NAME=URL, got {text!r}")
    return name, url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", type=parse_target,
                        default=[], help="NAME=URL, repeatable")
    parser.add_argument("--baseline",
                        help="target the ratios are relative to "
                             "(default: the first target)")
    parser.add_argument("--queries", default=",".join(DEFAULT_QUERIES),
                        help="comma-separated query names")
    parser.add_argument("--seed", type=int, default=1,
                        help="the seed the load generator used")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="per-request timeout in seconds")
    parser.add_argument("--churn", action="store_true",
                        help="claim or free one VCPU on a random host "
                             "(untimed) before every timed request, so no "
                             "answer can be reused")
    parser.add_argument("--hosts", type=int, default=1,
                        help="hosts in the deployment (churn picks among them)")
    parser.add_argument("--warmup-parallel", type=int, default=4,
                        help="untimed requests sent at once after the first "
                             "one, so every server worker is warm")
    parser.add_argument("--after-timeout-wait", type=float, default=0.0,
                        help="seconds to let a server that timed out finish "
                             "or kill the abandoned request before going on "
                             "(set it to the server's worker timeout minus "
                             "--timeout)")
    parser.add_argument("--label", default="",
                        help="heading of the table, e.g. '1000 hosts'")
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--markdown", type=Path,
                        help="also write the table here")
    parser.add_argument("--token", default="admin")
    parser.add_argument("--list", action="store_true",
                        help="print the named queries and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    queries = named_queries(args.seed)
    if args.list:
        for query in queries.values():
            print(f"{query.name}: {query.description}\n  {query.path}")
        return 0
    if not args.target:
        sys.exit("at least one --target NAME=URL is needed")
    selected = [name.strip() for name in args.queries.split(",") if name.strip()]
    unknown = [name for name in selected if name not in queries]
    if unknown:
        sys.exit(f"unknown queries {unknown}; known: {sorted(queries)}")
    targets = dict(args.target)
    baseline = args.baseline or args.target[0][0]
    if baseline not in targets:
        sys.exit(f"baseline {baseline!r} is not a target")
    clients = {name: PlacementClient(url, token=args.token)
               for name, url in targets.items()}

    results: dict[str, list[Measurement]] = {}
    for query_name in selected:
        results[query_name] = measure_query(
            clients, queries[query_name], args.repeat, args.timeout,
            args.after_timeout_wait, args.warmup_parallel,
            Churn(args.seed, args.hosts) if args.churn else None)
        for measurement in results[query_name]:
            print(f"{query_name} @ {measurement.target}: median "
                  f"{_ms(measurement.median_ms)} ms, {measurement.candidates} "
                  f"candidates, {measurement.error_count} errors",
                  file=sys.stderr)

    table = render_markdown(results, {n: queries[n] for n in selected},
                            baseline, args.timeout, args.label)
    print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "label": args.label, "targets": targets, "baseline": baseline,
            "repeat": args.repeat, "timeout_seconds": args.timeout,
            "seed": args.seed,
            "queries": {name: queries[name].path for name in selected},
            "results": {name: [dict(asdict(m), median_ms=m.median_ms,
                                    p95_ms=m.p95_ms) for m in ms]
                        for name, ms in results.items()},
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
