"""Candidate answers kept per tree across snapshots.

A write changes one tree (a claim bumps its provider's generation), so
after it most of an answer is still right: ``TreeAnswers`` keeps, for one
request shape, each tree's options, its allocation requests already
rendered as JSON and the trees they use, and after a new snapshot it
recomputes only the trees whose version moved (``ProviderGraph.
tree_version``).  A change to a sharing provider also moves the trees it
serves, unless what they see of it stays the same
(``sharing_signature``).  A response is then mostly a concatenation of
cached fragments; provider summaries are cached per tree the same way.

The body equals what ``render.render_stream`` makes of
``solver.bounded_answers`` on the same graph, byte for byte: the same
anchors in the same order, the same answers per tree, the same
breadth-first (or depth-first) interleaving, ``limit`` and de-duplication
of answers made only of sharing providers.  Only nested-aware (>= 1.29),
non-random requests come here.
"""
from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from placement_pci.candidates.feasibility import (
    AnchorOptions,
    all_anchor_options,
    anchor_options,
    sharing_signature,
)
from placement_pci.candidates.graph import ProviderGraph
from placement_pci.candidates.render import (
    Microversion,
    allocation_request_json,
    provider_summary_json,
    quoted_uuid,
    quoted_uuids,
    summary_mode,
)
from placement_pci.candidates.request_group import CandidateRequest
from placement_pci.candidates.solver import (
    DEPTH_FIRST,
    SolverOptions,
    anchor_steps,
    answer_key,
    tree_answers,
)

# Beyond this many changed trees a whole-graph pass is cheaper than
# asking each tree alone.
WHOLE_GRAPH_SHARE = 0.05
# Past this many characters of rendered answers a request shape is not
# kept: it is streamed as before, and asked again from scratch.  With
# graph.KEPT_ANSWERS_SIZE shapes this bounds a worker's kept answers.
MAX_KEPT_CHARS = 8 * 1024 * 1024


class TooLarge(Exception):
    """The answers of a request shape outgrew MAX_KEPT_CHARS."""


@dataclass
class _Tree:
    """One anchor's part of the answer."""
    options: AnchorOptions
    # Rendered allocation requests, in the solver's order; at most
    # ``cap`` of them unless ``complete``.
    rendered: list[str] | None = None
    # Per answer: the roots of the trees it uses, None for just the anchor.
    roots: list[frozenset[int] | None] = field(default_factory=list)
    # Per answer made only of sharing providers: its identity, else None.
    shared_keys: list[tuple | None] = field(default_factory=list)
    complete: bool = False
    chars: int = 0
    has_shared_only: bool = False
    # Trees other than the anchor's that the answers use.
    other_roots: frozenset[int] = frozenset()

    @property
    def answers(self) -> list[str]:
        """``rendered``, once ``TreeAnswers._answers_of`` has filled it."""
        assert self.rendered is not None
        return self.rendered


class TreeAnswers:
    """The answers of one request shape, per tree, across snapshots."""

    whole_graph_share = WHOLE_GRAPH_SHARE

    def __init__(self, request: CandidateRequest, microversion: Microversion,
                 options: SolverOptions, bound: int | None) -> None:
        self.request = request
        self.microversion = microversion
        self.options = options
        self.bound = bound
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._versions: Mapping[int, int] = {}
        # The graph ``_versions`` came from, to ask which trees moved since.
        self._synced_id: int | None = None
        self._trees: dict[int, _Tree] = {}
        self._anchors: list[int] = []      # sorted keys of _trees
        # sharing provider -> what other trees see of it (sharing_signature)
        self._signatures: dict[int, tuple | None] = {}
        self._chars = 0
        self.too_large = False
        # The last body, and the trees its answers and summaries came
        # from: kept while no write touches them.
        self._body: str | None = None
        self._used_roots: frozenset[int] = frozenset()
        # How many allocation requests the last body held (for metrics).
        self.answer_count = 0

    def body(self, graph: ProviderGraph) -> str:
        """The whole response body for ``graph``; raises TooLarge."""
        with self._lock:
            if not self._sync(graph) and self._body is not None:
                return self._body
            self._body = None
            answers, used_roots = self._assemble(graph)
            self.answer_count = len(answers)
            summaries = tree_summaries(graph, sorted(used_roots), self.request,
                                       self.microversion)
            self._body = ('{"allocation_requests": [' + ", ".join(answers)
                          + '], "provider_summaries": {' + ", ".join(summaries) + "}}")
            self._used_roots = frozenset(used_roots)
            return self._body

    # -- keeping trees current ------------------------------------------------

    def _sync(self, graph: ProviderGraph) -> bool:
        """Bring the trees up to ``graph``; whether the body may differ
        from the last one (False: no tree this shape answers from or
        summarises moved, and none became able to answer)."""
        versions = graph.root_versions
        if self._epoch != graph.epoch:
            self._reset(graph)
            return True
        changed = (graph.roots_changed_since(self._synced_id)
                   if self._synced_id is not None else None)
        if changed is None:
            changed = {root for root, version in versions.items()
                       if self._versions.get(root) != version}
            changed |= self._versions.keys() - versions.keys()
        if not changed:
            self._synced_id = graph.snapshot_id
            return False
        limit = self.whole_graph_share * max(len(versions), 1)
        if len(changed) > limit:
            self._reset(graph)
            return True
        for root in list(changed):
            for provider_id in graph.tree_of(root):
                if provider_id in graph.sharing_ids:
                    changed |= self._served_anew(graph, provider_id)
        if len(changed) > limit:
            self._reset(graph)
            return True
        moved = bool(changed & self._used_roots)
        for root in changed:
            old = self._trees.pop(root, None)
            if old is not None:
                moved = True
                self._chars -= old.chars
                del self._anchors[bisect.bisect_left(self._anchors, root)]
            options = anchor_options(graph, self.request, root)
            if options is not None:
                moved = True
                self._trees[root] = _Tree(options)
                bisect.insort(self._anchors, root)
        # Graphs never change: holding the mapping is holding a copy.
        self._versions = versions
        self._synced_id = graph.snapshot_id
        return moved

    def _served_anew(self, graph: ProviderGraph, provider_id: int) -> frozenset[int]:
        """The trees to look at again after a sharing provider changed:
        none when what they see of it is as before."""
        signature = sharing_signature(graph, self.request, provider_id)
        before = self._signatures.get(provider_id)
        self._signatures[provider_id] = signature
        if signature is not None and signature == before:
            return frozenset()
        return graph.sharing_anchors(provider_id)

    def _reset(self, graph: ProviderGraph) -> None:
        self._trees = {anchor: _Tree(options) for anchor, options
                       in all_anchor_options(graph, self.request).items()}
        self._anchors = sorted(self._trees)
        self._chars = 0
        self._epoch = graph.epoch
        self._versions = graph.root_versions
        self._synced_id = graph.snapshot_id
        self._signatures = {provider_id: sharing_signature(graph, self.request, provider_id)
                            for provider_id in graph.sharing_ids}

    # -- answers ----------------------------------------------------------------

    def _answers_of(self, graph: ProviderGraph, anchor: int, wanted: int) -> _Tree:
        """The tree's entry with at least ``wanted`` answers rendered (or
        all it has)."""
        tree = self._trees[anchor]
        if tree.rendered is not None and (tree.complete or len(tree.rendered) >= wanted):
            return tree
        cap = self.bound
        if tree.rendered is not None and cap is not None:
            cap = max(wanted, 2 * len(tree.rendered))
        steps = anchor_steps(self.request, tree.options)
        found = tree_answers(graph, self.request, steps, self.options, None)
        if cap is not None:
            found = itertools.islice(found, cap)
        rendered, roots, shared_keys = [], [], []
        quoted = quoted_uuids(graph)
        sharing = graph.sharing_ids
        chars = 0
        for answer in found:
            text = allocation_request_json(graph, answer, self.microversion, quoted)
            chars += len(text)
            rendered.append(text)
            answer_roots = frozenset(graph.providers[pid].root_id
                                     for pid, _, _ in answer.resources)
            roots.append(None if answer_roots == {anchor} else answer_roots)
            shared_keys.append(
                answer_key(answer) if sharing and all(
                    pid in sharing for pid, _, _ in answer.resources) else None)
            if self._chars + chars - tree.chars > MAX_KEPT_CHARS:
                self.too_large = True
                raise TooLarge
        self._chars += chars - tree.chars
        tree.rendered, tree.roots, tree.shared_keys = rendered, roots, shared_keys
        tree.has_shared_only = any(key is not None for key in shared_keys)
        tree.other_roots = frozenset().union(*(r for r in roots if r is not None))
        tree.chars = chars
        tree.complete = cap is None or len(rendered) < cap
        return tree

    def _assemble(self, graph: ProviderGraph) -> tuple[list[str], set[int]]:
        """The answers in the solver's order, and the trees they use."""
        bound = self.bound
        if bound is None:
            trees = [(anchor, self._answers_of(graph, anchor, 0))
                     for anchor in self._anchors]
            if not any(tree.has_shared_only for _, tree in trees):
                return self._everything(trees)
        answers: list[str] = []
        used_roots: set[int] = set()
        seen_shared: set[tuple] = set()

        def take(anchor: int, tree: _Tree, index: int) -> None:
            shared_key = tree.shared_keys[index]
            if shared_key is not None:
                if shared_key in seen_shared:
                    return
                seen_shared.add(shared_key)
            answers.append(tree.answers[index])
            roots = tree.roots[index]
            if roots is None:
                used_roots.add(anchor)
            else:
                used_roots.update(roots)

        if self.options.order == DEPTH_FIRST:
            for anchor in self._anchors:
                index = 0
                while bound is None or len(answers) < bound:
                    tree = self._answers_of(graph, anchor, index + 1)
                    if index >= len(tree.answers):
                        break
                    take(anchor, tree, index)
                    index += 1
                if bound is not None and len(answers) >= bound:
                    break
            return answers, used_roots
        active = list(self._anchors)
        index = 0
        while active and (bound is None or len(answers) < bound):
            still_active = []
            for anchor in active:
                if bound is not None and len(answers) >= bound:
                    break
                tree = self._answers_of(graph, anchor, index + 1)
                if index < len(tree.answers):
                    take(anchor, tree, index)
                    still_active.append(anchor)
            active = still_active
            index += 1
        return answers, used_roots

    def _everything(self, trees: list[tuple[int, _Tree]]) -> tuple[list[str], set[int]]:
        """Every answer of every tree, none to drop as a duplicate: the
        interleaving at C speed."""
        used_roots: set[int] = set()
        for anchor, tree in trees:
            if tree.rendered:
                used_roots.add(anchor)
                used_roots.update(tree.other_roots)
        lists = [tree.rendered for _, tree in trees if tree.rendered]
        if self.options.order == DEPTH_FIRST:
            return list(itertools.chain.from_iterable(lists)), used_roots
        gap = None
        return ([text for text in itertools.chain.from_iterable(
            itertools.zip_longest(*lists, fillvalue=gap)) if text is not gap],
                used_roots)


def tree_summaries(graph: ProviderGraph, roots: list[int],
                   request: CandidateRequest, microversion: Microversion
                   ) -> Iterator[str]:
    """The provider summaries of whole trees as JSON members, one text per
    tree, cached per tree version across snapshots."""
    requested = frozenset(rc for group in request.groups for rc in group.resources)
    mode = summary_mode(requested, microversion)
    cache: dict[int, tuple[int | None, str]] = graph.lineage_memoized(
        ("tree summaries", graph.epoch, mode), dict)
    quoted = quoted_uuids(graph)
    for root in roots:
        version = graph.tree_version(root)
        cached = cache.get(root)
        if cached is not None and cached[0] == version:
            yield cached[1]
            continue
        text = ", ".join(
            f"{quoted_uuid(graph, quoted, pid)}: "
            f"{provider_summary_json(graph, pid, requested, microversion)}"
            for pid in graph.tree_of(root))
        cache[root] = (version, text)
        yield text
