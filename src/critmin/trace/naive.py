"""Reference implementation: origin of one lot by plain per-lot recursion (no memo, no arrays).

Used to cross-check the vectorised engine in tests and as the baseline in the benchmark. It
walks the lot graph from the lot to every source, so its cost grows with the number of paths.
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
