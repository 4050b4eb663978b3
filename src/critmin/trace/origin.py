"""Origin of every lot: composition by (stage, country), by mass and by value, at any depth.

Semantics. For each stage ``s``, the stage-``s`` composition of a lot is the share of its
material whose stage-``s`` step happened in each country. A lot produced by an event at stage
``s`` (an extraction is stage ``mine``; a transformation takes its facility's stage) is 100%
its facility's country at stage ``s`` and inherits the other stages from its inputs, mixed by
input mass; an aggregation inherits everything. This is ``X = A X + B`` solved by topological
levels (:mod:`critmin.trace.graph`).

The shares of one stage sum to the *coverage* of that stage: 1 when all of the lot's material
went through that stage, less when part of it never did (e.g. untraced inputs), 0 upstream of
the stage.

Value basis: each stage-``s`` contribution is weighted by the unit value (USD/t) of the lot
produced at stage ``s``: its declared ``value_usd / qty_t``, else the reference price of its
product (``prices_usd_per_t``). Value shares are normalised per stage (they sum to 1 where the
stage is covered).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from critmin.errors import InputError, UnknownNameError
from critmin.trace.graph import LotGraph, build_graph, propagate_sparse, upstream_weights
from critmin.trace.model import SupplyNetwork

FloatArray = npt.NDArray[np.float64]


@dataclass
class OriginArrays:
    """Origin matrices (sparse CSR): rows are lots, columns are (stage, country) pairs.

    Sparse because a lot comes from few places: memory follows the non-zero shares, not
    lots x columns (5,000,000 lots x 63 columns would be 2.5 GB per dense float64 matrix).
    """

    columns: list[tuple[str, str]]
    blocks: list[tuple[int, int]]
    mass: sp.csr_matrix
    value: sp.csr_matrix | None

    def row(self, i: int, basis: str = "mass") -> dict[int, float]:
        """Column -> share of lot ``i``."""
        mat = self.mass if basis == "mass" else self.value
        assert mat is not None
        lo, hi = mat.indptr[i], mat.indptr[i + 1]
        return dict(zip(mat.indices[lo:hi].tolist(), mat.data[lo:hi].tolist(), strict=True))


def _columns(
    graph: LotGraph,
) -> tuple[list[tuple[str, str]], list[tuple[int, int]], npt.NDArray[np.int64]]:
    """(stage, country) columns grouped in one block per stage, and each lot's column."""
    n_c = len(graph.countries)
    has = np.zeros((len(graph.stages), n_c), dtype=bool)
    ov = graph.stage >= 0
    has[graph.stage[ov], graph.country[ov]] = True
    col_of = np.full((len(graph.stages), n_c), -1, dtype=np.int64)
    columns: list[tuple[str, str]] = []
    blocks: list[tuple[int, int]] = []
    for s, name in enumerate(graph.stages):
        lo = len(columns)
        for c in np.flatnonzero(has[s]):
            col_of[s, c] = len(columns)
            columns.append((name, graph.countries[c]))
        blocks.append((lo, len(columns)))
    lot_col = np.full(graph.n, -1, dtype=np.int64)
    lot_col[ov] = col_of[graph.stage[ov], graph.country[ov]]
    return columns, blocks, lot_col


def origin_arrays(graph: LotGraph, unit_value_usd_per_t: FloatArray | None = None) -> OriginArrays:
    """Mass composition (and value composition if unit values are given) of every lot."""
    columns, blocks, lot_col = _columns(graph)
    k = len(columns)
    col_block = np.zeros(k, dtype=np.int64)
    for b, (lo, hi) in enumerate(blocks):
        col_block[lo:hi] = b
    mass = propagate_sparse(graph, lot_col, np.ones(graph.n), col_block, k)
    value = None
    if unit_value_usd_per_t is not None:
        uv = np.where(lot_col >= 0, np.nan_to_num(unit_value_usd_per_t), 0.0)
        raw = propagate_sparse(graph, lot_col, uv, col_block, k)
        # value shares are normalised per (lot, stage block), in place on the CSR data
        row_of = np.repeat(np.arange(graph.n, dtype=np.int64), np.diff(raw.indptr))
        key = row_of * len(blocks) + col_block[raw.indices]
        del row_of
        tot = np.bincount(key, weights=raw.data, minlength=graph.n * len(blocks))[key]
        del key
        np.divide(raw.data, tot, out=raw.data, where=tot > 0)
        raw.data[tot <= 0] = 0.0
        value = raw
    return OriginArrays(columns=columns, blocks=blocks, mass=mass, value=value)


def unit_values(
    net: SupplyNetwork, prices_usd_per_t: dict[str, float] | None
) -> tuple[FloatArray, list[str]]:
    """USD/t of every lot (declared value first, then reference price); products lacking both."""
    prices = {k.lower(): v for k, v in (prices_usd_per_t or {}).items()}
    out = np.full(len(net.lots), np.nan)
    missing: set[str] = set()
    for i, lot in enumerate(net.lots):
        if lot.value_usd is not None:
            # an empty lot (0 t) carries no material, so any finite unit value weighs nothing
            out[i] = lot.value_usd / lot.qty_t if lot.qty_t > 0 else 0.0
        elif lot.product.lower() in prices:
            out[i] = prices[lot.product.lower()]
        else:
            missing.add(lot.product or "(no product)")
    return out, sorted(missing)


@dataclass
class OriginResult:
    """Origin of every lot of a network, with tidy-table accessors."""

    net: SupplyNetwork
    graph: LotGraph
    arrays: OriginArrays
    value_missing: list[str]

    def _row(self, lot_id: str) -> int:
        ids = self.graph.lot_ids or []
        try:
            return ids.index(lot_id)
        except ValueError:
            raise UnknownNameError("lot", lot_id, ids) from None

    def table(self, lots: list[str] | None = None) -> pd.DataFrame:
        """Tidy shares: lot, stage, country_iso3, share_mass, share_value (non-zero rows)."""
        ids = self.graph.lot_ids or []
        rows = [self._row(x) for x in lots] if lots is not None else list(range(self.graph.n))
        m = self.arrays.mass[rows].tocoo()
        keep = m.data > 1e-12
        order = np.lexsort((m.col[keep], m.row[keep]))  # by lot, then column
        r, c, share = m.row[keep][order], m.col[keep][order], m.data[keep][order]
        if self.arrays.value is not None and r.size:
            val = np.asarray(self.arrays.value[rows][r, c]).ravel()
        else:
            val = np.full(r.size, np.nan)
        df = pd.DataFrame(
            {
                "lot": [ids[rows[i]] for i in r],
                "stage": [self.arrays.columns[j][0] for j in c],
                "country_iso3": [self.arrays.columns[j][1] for j in c],
                "share_mass": share,
                "share_value": val,
            }
        )
        return df.reset_index(drop=True)

    def shares(self, lot_id: str, stage: str, basis: str = "mass") -> dict[str, float]:
        """Country -> share of one lot at one stage."""
        i = self._row(lot_id)
        if basis != "mass" and self.arrays.value is None:
            raise InputError(
                "value basis unavailable: no declared value or reference price for products "
                + ", ".join(self.value_missing)
            )
        row = self.arrays.row(i, basis)
        return {
            c: float(row[j])
            for j, (s, c) in enumerate(self.arrays.columns)
            if s == stage and row.get(j, 0.0) > 1e-12
        }

    def coverage(self, lot_id: str, stage: str) -> float:
        """Share of the lot's material that went through ``stage`` (0..1)."""
        return float(sum(self.shares(lot_id, stage).values()))

    def upstream_facilities(
        self, lot_id: str, stages: tuple[str, ...] = ("mine", "refining")
    ) -> pd.DataFrame:
        """The mines and refineries (or any stage's facilities) a lot came from, by mass."""
        i = self._row(lot_id)
        rows: list[dict[str, object]] = []
        for st in stages:
            s = self.graph.stages.index(st)
            w = upstream_weights(self.graph, i, self.graph.stage == s)
            for j in np.flatnonzero(w > 1e-12):
                f = self.net.facilities[int(self.graph.facility[j])]
                rows.append(
                    {
                        "stage": st,
                        "facility": f.id,
                        "name": f.name,
                        "operator": f.operator,
                        "country_iso3": f.country,
                        "lot": self.net.lots[j].id,
                        "share_mass": float(w[j]),
                    }
                )
        df = pd.DataFrame(
            rows,
            columns=["stage", "facility", "name", "operator", "country_iso3", "lot", "share_mass"],
        )
        if df.empty:
            return df
        return (
            df.groupby(["stage", "facility", "name", "operator", "country_iso3"], sort=False)[
                "share_mass"
            ]
            .sum()
            .reset_index()
        )


def compute_origin(
    net: SupplyNetwork, prices_usd_per_t: dict[str, float] | None = None
) -> OriginResult:
    """Origin of every lot of ``net`` (mass always; value when every produced lot has a value)."""
    graph = build_graph(net)
    uv, missing = unit_values(net, prices_usd_per_t)
    needed = graph.stage >= 0
    have_values = bool(np.all(np.isfinite(uv[needed])))
    arrays = origin_arrays(graph, uv if have_values else None)
    return OriginResult(
        net=net, graph=graph, arrays=arrays, value_missing=[] if have_values else missing
    )
