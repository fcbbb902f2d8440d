"""Allocation candidates as a service: snapshot + solver + render.

GET /allocation_candidates calls ``stream_candidates`` with a parsed
CandidateRequest and the app's snapshot cache; the PCI scheduling services
share ``solver_options``.  Nothing here knows Flask.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import TypeVar

from placement_pci import metrics
from placement_pci.candidates.answer_cache import TooLarge, TreeAnswers
from placement_pci.candidates.feasibility import check_names, group_key
from placement_pci.candidates.render import render_stream
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.candidates.solver import (
    BREADTH_FIRST,
    ORDERS,
    SolverOptions,
    answer_bound,
    bounded_answers,
    requested_classes,
)
from placement_pci.db.engine import Database
from placement_pci.services.snapshot_cache import SnapshotCache
from placement_pci.settings import Settings

Microversion = tuple[int, int]
T = TypeVar("T")
METRICS_API = "allocation_candidates"


def solver_options(settings: Settings | None,
                   microversion: Microversion) -> SolverOptions:
    """Operator settings plus what the microversion can express."""
    nested_aware = microversion >= (1, 29)
    if settings is None:
        return SolverOptions(nested_aware=nested_aware)
    cap = settings.max_allocation_candidates
    order = settings.allocation_candidates_generation_strategy
    return SolverOptions(
        randomize=settings.randomize_allocation_candidates,
        max_candidates=cap if cap is not None and cap >= 0 else None,
        order=order if order in ORDERS else BREADTH_FIRST,
        nested_aware=nested_aware)


def stream_candidates(database: Database, snapshots: SnapshotCache,
                      request: CandidateRequest,
                      microversion: Microversion = (1, 39),
                      settings: Settings | None = None) -> Iterator[str]:
    """The GET /allocation_candidates body for ``request`` as JSON text
    chunks, generated while being sent.  Bad names raise BadRequest before
    this returns."""
    options = solver_options(settings, microversion)
    graph = snapshots.graph(database)
    if options.randomize or not options.nested_aware:
        return render_stream(graph, _counted(bounded_answers(graph, request, options)),
                             requested_classes(request), microversion,
                             options.nested_aware)
    check_names(graph, request)
    bodies: BodyCache = graph.memoized(("bodies",), BodyCache)
    key = (request_key(request), microversion, options)
    body = bodies.get(key)
    if body is not None:
        metrics.candidates_from_cache(METRICS_API)
        return iter((body,))
    # Per-tree answers outlive the snapshot: after a write only the trees
    # whose version moved are solved and rendered again.
    trees: TreeAnswers = graph.kept_answers(
        ("tree answers", key),
        lambda: TreeAnswers(request, microversion, options,
                            answer_bound(request, options)))
    if not trees.too_large:
        try:
            body = trees.body(graph)
        except TooLarge:
            pass
        else:
            bodies.put(key, body)
            metrics.candidates_computed(METRICS_API, trees.answer_count)
            return iter((body,))
    chunks = render_stream(graph, _counted(bounded_answers(graph, request, options)),
                           requested_classes(request), microversion,
                           options.nested_aware)
    return bodies.filling(key, chunks)


def _counted(answers: Iterable[T]) -> Iterator[T]:
    """``answers``, recording how many there were once all are out."""
    count = 0
    for answer in answers:
        count += 1
        yield answer
    metrics.candidates_computed(METRICS_API, count)


def request_key(request: CandidateRequest) -> tuple:
    """Everything that shapes the answer, hashable; the order of groups and
    of their classes too, since it is the order of the JSON members."""
    return (tuple((group.suffix, tuple(group.resources), group_key(group))
                  for group in request.groups),
            request.group_policy, request.limit, request.root_required,
            request.root_forbidden, tuple(sorted(
                tuple(sorted(subtree)) for subtree in request.same_subtree)))


class BodyCache:
    """Rendered response bodies of one snapshot, bounded in bytes.

    The snapshot is immutable, so the same query at the same microversion
    gets the same body until a write replaces the snapshot (and this cache
    with it).  Bodies larger than ``MAX_BODY`` are never kept.
    """

    MAX_BODY = 4 * 1024 * 1024
    MAX_TOTAL = 64 * 1024 * 1024

    def __init__(self) -> None:
        self._bodies: OrderedDict[tuple, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def filling(self, key: tuple, chunks: Iterator[str]) -> Iterator[str]:
        """Pass ``chunks`` through, keeping the body if it stays small."""
        kept: list[str] | None = []
        size = 0
        for chunk in chunks:
            if kept is not None:
                size += len(chunk)
                kept.append(chunk)
                if size > self.MAX_BODY:
                    kept = None
            yield chunk
        if kept is not None:
            self.put(key, "".join(kept))

    def put(self, key: tuple, body: str) -> None:
        if len(body) > self.MAX_BODY:
            return
        with self._lock:
            if key in self._bodies:
                return
            self._bodies[key] = body
            self._size += len(body)
            while self._size > self.MAX_TOTAL:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)
