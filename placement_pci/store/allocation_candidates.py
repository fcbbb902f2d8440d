"""Allocation candidates as a domain operation: snapshot + solver + render.

The HTTP handler and the PCI scheduling code both call ``find_candidates``
with a parsed CandidateRequest; it knows nothing of Flask.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from placement_pci.candidates.render import render_candidates, render_stream
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.candidates.solver import (
    BREADTH_FIRST, ORDERS, CandidateResult, SolverOptions, bounded_answers,
    requested_classes, solve)
from placement_pci.db.engine import Database
from placement_pci.settings import Settings
from placement_pci.store.snapshot import SnapshotCache, current_graph

Microversion = tuple[int, int]


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


def solve_candidates(database: Database, request: CandidateRequest,
                     options: SolverOptions,
                     cache: SnapshotCache | None = None
                     ) -> tuple[Any, CandidateResult]:
    """(graph, result): for callers that render or inspect themselves."""
    graph = current_graph(database, cache)
    return graph, solve(graph, request, options)


def find_candidates(database: Database, request: CandidateRequest,
                    microversion: Microversion = (1, 39),
                    settings: Settings | None = None,
                    cache: SnapshotCache | None = None) -> dict[str, Any]:
    """The GET /allocation_candidates response body for ``request``.

    Raises BadRequest for resource classes or traits the database lacks.
    """
    graph, result = solve_candidates(
        database, request, solver_options(settings, microversion), cache)
    return render_candidates(graph, result, microversion)


def stream_candidates(database: Database, request: CandidateRequest,
                      microversion: Microversion = (1, 39),
                      settings: Settings | None = None,
                      cache: SnapshotCache | None = None) -> Iterator[str]:
    """The same body as ``find_candidates`` as JSON text chunks, generated
    while being sent.  Bad names raise BadRequest before this returns."""
    options = solver_options(settings, microversion)
    graph = current_graph(database, cache)
    answers = bounded_answers(graph, request, options)
    return render_stream(graph, answers, requested_classes(request),
                         microversion, options.nested_aware)
