"""The scheduler loop and the last-unit burst, against any Placement.

Scheduler loop: ``clients`` threads each repeat GET /allocation_candidates
-> PUT /allocations/{new consumer} of a random candidate, retrying the PUT
(after a fresh GET) on 409, for ``seconds``.  Reported: claims per second,
conflicts, errors, and afterwards the providers the loop claimed on whose
usage exceeds their capacity (must be 0).  The loop's allocations are
deleted at the end, so the deployment is as before.

Burst: a provider with one free unit of VCPU (created if missing,
``bench-burst``), and per round ``clients`` threads PUT an allocation of
that unit at the same moment (a barrier); exactly one must win.  The
winner's allocation is deleted before the next round.
"""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.client import PlacementClient
from bench.plan import stable_uuid

try:  # A candidates answer is ~0.5 MiB: orjson parses it several times faster.
    import orjson as _fast_json
except ImportError:  # pragma: no cover - the test extra installs it
    _fast_json = None

LOOP_PROJECT = "bench-loop"
BURST_PROVIDER = "bench-burst"


@dataclass
class LoopResult:
    target: str
    seconds: float
    claims: int = 0
    conflicts: int = 0
    no_candidates: int = 0
    errors: list[str] = field(default_factory=list)
    overcommitted: list[str] = field(default_factory=list)
    checked_providers: int = 0

    @property
    def claims_per_second(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0


def _allocation_body(allocations: dict) -> dict:
    return {"allocations": allocations, "project_id": LOOP_PROJECT,
            "user_id": LOOP_PROJECT, "consumer_generation": None,
            "consumer_type": "INSTANCE"}


def _loads(body: bytes) -> dict:
    return _fast_json.loads(body) if _fast_json is not None else json.loads(body)


def _dumps(value: dict) -> bytes:
    return _fast_json.dumps(value) if _fast_json is not None else json.dumps(value).encode()


class _LoopConnection:
    """One keep-alive HTTP connection of one loop client, on the standard
    library's http.client: the loop runs beside both services on the same
    machine, and requests' per-request work (proxy lookups through the
    environment, chunked body reads) cost the client as much CPU as a
    claim costs placement_pci, which then measured the client more than
    the service.  Same client for both targets."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._prefix = parsed.path.rstrip("/")
        self._headers = dict(headers)
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None
                ) -> tuple[int, bytes]:
        headers = self._headers
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout)
            try:
                self._connection.request(method, self._prefix + path, body=body,
                                         headers=headers)
                response = self._connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: once more.
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def scheduler_loop(client: PlacementClient, target: str, query_path: str, *,
                   clients: int = 8, seconds: float = 20.0, seed: int = 1,
                   timeout: float = 120.0) -> LoopResult:
    """Run the loop; see the module docstring."""
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    result = LoopResult(target=target, seconds=seconds)
    consumers: list[str] = []
    touched: set[str] = set()

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        connection = _LoopConnection(client.base_url, client.headers, timeout)
        try:
            while time.monotonic() < stop_at:
                try:
                    status, body = connection.request("GET", query_path)
                    if status != 200:
                        with lock:
                            result.errors.append(f"GET {status}")
                        continue
                    answers = _loads(body)["allocation_requests"]
                    if not answers:
                        with lock:
                            result.no_candidates += 1
                        continue
                    allocations = rng.choice(answers)["allocations"]
                    consumer = str(uuid.uuid4())
                    put_status, put_body = connection.request(
                        "PUT", f"/allocations/{consumer}",
                        _dumps(_allocation_body(allocations)))
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        result.errors.append(f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    if put_status == 204:
                        result.claims += 1
                        consumers.append(consumer)
                        touched.update(allocations)
                    elif put_status == 409:
                        result.conflicts += 1
                    else:
                        result.errors.append(f"PUT {put_status}: {put_body[:200]!r}")
        finally:
            connection.close()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(worker, range(clients)))
    result.seconds = time.monotonic() - started
    result.overcommitted = overcommitted(client, sorted(touched))
    result.checked_providers = len(touched)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda c: client.request("DELETE", f"/allocations/{c}",
                                               expected=(204, 404)), consumers))
    return result


def overcommitted(client: PlacementClient, provider_uuids: list[str]) -> list[str]:
    """Providers (of those given) with a class used beyond its capacity."""
    def check(provider: str) -> str | None:
        inventories = client.get(f"/resource_providers/{provider}/inventories"
                                 ).json()["inventories"]
        usages = client.get(f"/resource_providers/{provider}/usages").json()["usages"]
        for rc, used in usages.items():
            inventory = inventories.get(rc)
            if inventory is None:
                return f"{provider}: {rc} used {used} without inventory"
            capacity = (inventory["total"] - inventory["reserved"]) * inventory[
                "allocation_ratio"]
            if used > capacity:
                return f"{provider}: {rc} used {used} > capacity {capacity:g}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [found for found in pool.map(check, provider_uuids) if found]


@dataclass
class BurstResult:
    target: str
    rounds: int
    winners: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exactly_one_every_round(self) -> bool:
        return len(self.winners) == self.rounds and all(w == 1 for w in self.winners)


def _burst_provider(client: PlacementClient, seed: int) -> str:
    provider = stable_uuid(seed, BURST_PROVIDER)
    if client.request("GET", f"/resource_providers/{provider}",
                      expected=(200, 404)).status_code == 404:
        generation = client.post("/resource_providers", {
            "uuid": provider, "name": BURST_PROVIDER}).json()["generation"]
        client.put(f"/resource_providers/{provider}/inventories", {
            "resource_provider_generation": generation,
            "inventories": {"VCPU": {"total": 1}}})
    return provider


def last_unit_burst(client: PlacementClient, target: str, *, clients: int = 8,
                    rounds: int = 20, seed: int = 1) -> BurstResult:
    """Run the burst; see the module docstring."""
    provider = _burst_provider(client, seed)
    result = BurstResult(target=target, rounds=rounds)
    sessions = []
    for _ in range(clients):
        session = requests.Session()
        session.headers.update(client.headers)
        sessions.append(session)
    for _ in range(rounds):
        barrier = threading.Barrier(clients)
        consumers = [str(uuid.uuid4()) for _ in range(clients)]

        def put(index: int, consumers: list[str] = consumers,
                barrier: threading.Barrier = barrier) -> int:
            body = _allocation_body({provider: {"resources": {"VCPU": 1}}})
            barrier.wait()
            return sessions[index].put(
                f"{client.base_url}/allocations/{consumers[index]}", json=body,
                timeout=60).status_code

        with ThreadPoolExecutor(max_workers=clients) as pool:
            statuses = list(pool.map(put, range(clients)))
        result.winners.append(statuses.count(204))
        result.errors += [f"PUT {s}" for s in statuses if s not in (204, 409)]
        for consumer, status in zip(consumers, statuses):
            if status == 204:
                client.request("DELETE", f"/allocations/{consumer}", expected=(204, 404))
    return result
