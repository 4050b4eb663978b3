"""Reference implementations: origin by per-lot recursion over the lot graph (no arrays).

``naive_origin`` walks from one lot to every source without memory (cost grows with the number
of paths; used to cross-check the engine in tests). ``memo_origin`` is what a competent user
would write without critmin: the same recursion, each lot's composition computed once and
kept in a dict (the benchmark's baseline).
"""

from __future__ import annotations

from collections import defaultdict

from critmin.trace.graph import LotGraph


def naive_origin(graph: LotGraph, lot: int) -> dict[tuple[str, str], float]:
    """(stage, country) -> mass share for one lot, by recursion over its inputs."""
    A = graph.A
    indptr, indices, data = A.indptr, A.indices, A.data

    def comp(i: int) -> dict[tuple[int, int], float]:
        acc: dict[tuple[int, int], float] = defaultdict(float)
        for k in range(indptr[i], indptr[i + 1]):
            for key, share in comp(int(indices[k])).items():
                acc[key] += float(data[k]) * share
        s = int(graph.stage[i])
        if s >= 0:
            for key in [key for key in acc if key[0] == s]:
                del acc[key]
            acc[(s, int(graph.country[i]))] = 1.0
        return acc

    return {
        (graph.stages[s], graph.countries[c]): v for (s, c), v in comp(lot).items() if v > 1e-15
    }


def memo_origin(
    graph: LotGraph, lots: list[int] | None = None
) -> dict[int, dict[tuple[int, int], float]]:
    """(stage index, country index) -> mass share of each lot, by memoised recursion.

    Each lot's composition is computed once from its inputs' (a dict per lot); the lot graph is
    walked in topological order so no recursion depth is needed. ``lots`` limits the work to
    those lots and their ancestors.
    """
    A = graph.A
    indptr, indices, data = A.indptr, A.indices, A.data
    memo: dict[int, dict[tuple[int, int], float]] = {}
    todo = list(range(graph.n)) if lots is None else list(lots)
    stack: list[tuple[int, bool]] = [(i, False) for i in todo]
    while stack:
        i, ready = stack.pop()
        if i in memo:
            continue
        kids = indices[indptr[i] : indptr[i + 1]]
        if not ready:
            stack.append((i, True))
            stack.extend((int(k), False) for k in kids if int(k) not in memo)
            continue
        acc: dict[tuple[int, int], float] = defaultdict(float)
        for k in range(indptr[i], indptr[i + 1]):
            w = float(data[k])
            for key, share in memo[int(indices[k])].items():
                acc[key] += w * share
        s = int(graph.stage[i])
        if s >= 0:
            for key in [key for key in acc if key[0] == s]:
                del acc[key]
            acc[(s, int(graph.country[i]))] = 1.0
        memo[i] = dict(acc)
    return memo
