"""The lot graph as arrays, topological levels and the vectorised propagation engine.

Let ``A`` be the lots x lots matrix of input mass fractions: ``A[o, i]`` is the mass of input
lot ``i`` used by the event that produced lot ``o``, divided by that event's total input mass.
A lot-level quantity ``X`` (n_lots x k) that is *inherited* by mass mixing and *overridden* at
some lots satisfies ``X[o] = V[o]`` where lot ``o`` overrides a column block, else
``X[o] = (A X)[o]``. Lots are processed in topological levels (Kahn's algorithm, vectorised),
one sparse-times-dense product per level; no per-lot Python recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from critmin.errors import InputError
from critmin.trace.model import (
    STAGES,
    Aggregation,
    Extraction,
    Stage,
    SupplyNetwork,
    Transformation,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

NO_PRODUCER = 0
EXTRACTED = 1
TRANSFORMED = 2
AGGREGATED = 3


@dataclass
class LotGraph:
    """Array form of a network. Lots are ``0..n-1``; edges go input lot -> output lot.

    ``stage`` / ``country`` / ``facility`` describe each lot's producing event (-1: none, or
    aggregation for stage). ``edge_w`` are the input mass fractions (rows of ``A`` sum to 1).
    """

    n: int
    producer: npt.NDArray[np.int8]
    stage: npt.NDArray[np.int8]
    country: npt.NDArray[np.int32]
    facility: npt.NDArray[np.int32]
    edge_out: IntArray
    edge_in: IntArray
    edge_w: FloatArray
    countries: list[str]
    stages: list[str]
    lot_ids: list[str] | None = None
    facility_ids: list[str] | None = None
    facility_feoc: npt.NDArray[np.bool_] | None = None
    _A: sp.csr_matrix | None = field(default=None, repr=False)
    _levels: list[IntArray] | None = field(default=None, repr=False)

    @property
    def A(self) -> sp.csr_matrix:
        if self._A is None:
            self._A = sp.csr_matrix(
                (self.edge_w, (self.edge_out, self.edge_in)), shape=(self.n, self.n)
            )
        return self._A

    @property
    def levels(self) -> list[IntArray]:
        if self._levels is None:
            self._levels = topo_levels(self.n, self.edge_out, self.edge_in, self.lot_ids)
        return self._levels

    def lot_name(self, i: int) -> str:
        return self.lot_ids[i] if self.lot_ids is not None else f"lot#{i}"


def topo_levels(
    n: int, edge_out: IntArray, edge_in: IntArray, lot_ids: list[str] | None = None
) -> list[IntArray]:
    """Lots grouped by topological level (level 0: no inputs). A cycle is an error naming lots."""
    indeg = np.bincount(edge_out, minlength=n).astype(np.int64)
    order = np.argsort(edge_in, kind="stable")
    succ = edge_out[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_in, minlength=n), out=ptr[1:])
    frontier = np.flatnonzero(indeg == 0)
    levels: list[IntArray] = []
    done = 0
    while frontier.size:
        levels.append(frontier)
        done += frontier.size
        starts = ptr[frontier]
        counts = ptr[frontier + 1] - starts
        total = int(counts.sum())
        if total == 0:
            break
        offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        targets = succ[offsets + np.arange(total)]
        dec = np.bincount(targets, minlength=n)
        touched = np.flatnonzero(dec)
        indeg[touched] -= dec[touched]
        frontier = touched[indeg[touched] == 0]
    if done < n:
        stuck = np.flatnonzero(indeg > 0)[:10]
        names = [lot_ids[i] if lot_ids is not None else f"lot#{i}" for i in stuck]
        raise InputError(
            f"the lot graph has a cycle: a lot is (indirectly) an input of itself; "
            f"lots on or after the cycle: {', '.join(names)}"
        )
    return levels


def propagate_blocks(
    graph: LotGraph,
    override: npt.NDArray[np.bool_],
    values: sp.csr_matrix,
    block_of_lot: npt.NDArray[np.integer],
    blocks: list[tuple[int, int]],
) -> FloatArray:
    """Solve ``X = A X`` with block overrides, level by level.

    ``values`` (n x k, sparse) holds the override values; ``blocks`` are column ranges. A lot
    with ``override[i]`` replaces its own block ``block_of_lot[i]`` by ``values[i]`` and
    inherits every other column from its inputs by mass.
    """
    A = graph.A
    X = values.toarray()
    X[~override] = 0.0
    for rows in graph.levels[1:]:
        Y = np.asarray(A[rows] @ X)
        ov = override[rows]
        b_rows = block_of_lot[rows]
        for b, (lo, hi) in enumerate(blocks):
            sel = ov & (b_rows == b)
            if sel.any():
                Y[sel, lo:hi] = values[rows[sel]][:, lo:hi].toarray()
        X[rows] = Y
    return X


def propagate_sparse(
    graph: LotGraph,
    own_col: npt.NDArray[np.int64],
    own_val: FloatArray,
    col_block: npt.NDArray[np.int64],
    n_cols: int,
) -> sp.csr_matrix:
    """Sparse form of :func:`propagate_blocks` for compositions that touch few columns.

    ``own_col[i]`` is the column lot ``i`` sets itself (-1: none) with value ``own_val[i]``;
    ``col_block[j]`` is the block (stage) of column ``j``. A lot inherits every column from its
    inputs by mass (``A X``) except its own column's block, which it replaces by its own
    entry. Rows are built level by level as sparse products; nothing is densified, so memory
    grows with the number of (lot, column) pairs that are non-zero, not with lots x columns.
    """
    A = graph.A
    n = graph.n
    levels = graph.levels
    first = levels[0] if levels else np.zeros(0, dtype=np.int64)
    sel = first[own_col[first] >= 0]
    # every row is written once, at its level, with no duplicate column: keep (row, col,
    # value) chunks and build the CSR once per level (coo -> csr is linear; adding CSR
    # matrices level after level would merge every earlier row again)
    i32 = np.int32  # lots and columns fit; halves the chunks' memory
    r_parts: list[npt.NDArray[np.int32]] = [sel.astype(i32)]
    c_parts: list[npt.NDArray[np.int32]] = [own_col[sel].astype(i32)]
    v_parts: list[FloatArray] = [own_val[sel]]

    def build() -> sp.csr_matrix:
        return sp.csr_matrix(
            (np.concatenate(v_parts), (np.concatenate(r_parts), np.concatenate(c_parts))),
            shape=(n, n_cols),
        )

    X: sp.csr_matrix | None = build()
    for rows in levels[1:]:
        Y = (A[rows] @ X).tocoo()  # type: ignore[operator]
        yr = rows[Y.row]
        oc = own_col[yr]
        own_block = np.where(oc >= 0, col_block[np.maximum(oc, 0)], -1)
        keep = col_block[Y.col] != own_block
        mine = rows[own_col[rows] >= 0]
        r_parts += [yr[keep].astype(i32), mine.astype(i32)]
        c_parts += [Y.col[keep].astype(i32), own_col[mine].astype(i32)]
        v_parts += [Y.data[keep], own_val[mine]]
        del Y, yr, oc, own_block, keep
        X = None  # free the previous level's matrix before building the next
        X = build()
    assert X is not None
    return X


def propagate_vector(
    graph: LotGraph, override: npt.NDArray[np.bool_], values: FloatArray
) -> FloatArray:
    """One-column form of :func:`propagate`: ``x[o] = v[o]`` where overridden, else ``(A x)[o]``."""
    A = graph.A
    x = np.where(override, values, 0.0)
    for rows in graph.levels[1:]:
        y = A[rows] @ x
        ov = override[rows]
        y[ov] = values[rows[ov]]
        x[rows] = y
    return x


def upstream_weights(graph: LotGraph, lot: int, stop: npt.NDArray[np.bool_]) -> FloatArray:
    """Mass share of ``lot`` that comes from each lot where ``stop`` holds (first one upstream).

    Backward propagation with sparse vector products (``A^T w``), stopping at ``stop`` lots.
    """
    At = graph.A.T.tocsr()
    w = np.zeros(graph.n)
    w[lot] = 1.0
    acc = np.zeros(graph.n)
    for _ in range(len(graph.levels) + 1):
        hit = stop & (w > 0)
        acc[hit] += w[hit]
        w[hit] = 0.0
        if not w.any():
            break
        w = np.asarray(At @ w, dtype=np.float64).ravel()
    return acc


# long: the five index arrays are built in one pass so the 5M-lot network is read once
def build_graph(net: SupplyNetwork) -> LotGraph:
    """The :class:`LotGraph` of a network; unknown references and double production are errors."""
    lot_index = {lot.id: i for i, lot in enumerate(net.lots)}
    fac_index = {f.id: i for i, f in enumerate(net.facilities)}
    countries = sorted({f.country for f in net.facilities})
    c_index = {c: i for i, c in enumerate(countries)}
    s_index = {s: i for i, s in enumerate(STAGES)}
    n = len(net.lots)
    producer = np.zeros(n, dtype=np.int8)
    stage = np.full(n, -1, dtype=np.int8)
    country = np.full(n, -1, dtype=np.int32)
    facility = np.full(n, -1, dtype=np.int32)
    produced_by: dict[int, str] = {}
    e_out: list[int] = []
    e_in: list[int] = []
    e_w: list[float] = []

    def lot_of(lot_id: str, event_id: str) -> int:
        if lot_id not in lot_index:
            raise InputError(f"event {event_id!r} references unknown lot {lot_id!r}")
        return lot_index[lot_id]

    def fac_of(fac_id: str, event_id: str) -> int:
        if fac_id not in fac_index:
            raise InputError(
                f"event {event_id!r} references facility {fac_id!r}, which has no (complete) "
                "master data; expected a BusinessLocation vocabulary element with "
                "cbvmda:countryCode and a site type (cbvmda:sst or cbvmda:ssd, or critmin:stage)"
            )
        return fac_index[fac_id]

    def produce(o: int, event_id: str, kind: int, st: int, f: int) -> None:
        if o in produced_by:
            raise InputError(
                f"lot {net.lots[o].id!r} is produced twice, by events "
                f"{produced_by[o]!r} and {event_id!r}"
            )
        produced_by[o] = event_id
        producer[o] = kind
        stage[o] = st
        facility[o] = f
        country[o] = c_index[net.facilities[f].country] if f >= 0 else -1

    for ev in net.events:
        if isinstance(ev, Extraction):
            f = fac_of(ev.facility, ev.id)
            for q in ev.outputs:
                produce(lot_of(q.lot, ev.id), ev.id, EXTRACTED, s_index[Stage.MINE], f)
        elif isinstance(ev, Transformation | Aggregation):
            if isinstance(ev, Transformation):
                f = fac_of(ev.facility, ev.id)
                st = s_index[net.facilities[f].stage]
                ins, kind = ev.inputs, TRANSFORMED
                out_lots = [lot_of(q.lot, ev.id) for q in ev.outputs]
            else:
                f = fac_of(ev.facility, ev.id) if ev.facility else -1
                st = -1
                ins, kind = ev.children, AGGREGATED
                out_lots = [lot_of(ev.parent, ev.id)]
            total = sum(q.qty_t for q in ins)
            in_lots = [lot_of(q.lot, ev.id) for q in ins]
            for o in out_lots:
                produce(o, ev.id, kind, st, f)
                if total > 0:
                    for i, q in zip(in_lots, ins, strict=True):
                        e_out.append(o)
                        e_in.append(i)
                        e_w.append(q.qty_t / total)
    fac_feoc = np.array([fa.feoc for fa in net.facilities], dtype=bool)
    return LotGraph(
        n=n,
        producer=producer,
        stage=stage,
        country=country,
        facility=facility,
        edge_out=np.asarray(e_out, dtype=np.int64),
        edge_in=np.asarray(e_in, dtype=np.int64),
        edge_w=np.asarray(e_w, dtype=np.float64),
        countries=countries,
        stages=[s.value for s in STAGES],
        lot_ids=[lot.id for lot in net.lots],
        facility_ids=[fa.id for fa in net.facilities],
        facility_feoc=fac_feoc,
    )
