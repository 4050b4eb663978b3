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

from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from critmin.errors import InputError, UnknownNameError
from critmin.trace.graph import LotGraph, build_graph, propagate_sparse, upstream_weights
from critmin.trace.model import (
    STAGES,
    Aggregation,
    Extraction,
    Facility,
    Quantity,
    Stage,
    SupplyNetwork,
    Transformation,
)

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


# --------------------------------------------------------------------------- incremental origin

#: stages whose facilities :meth:`OriginResult.upstream_facilities` lists by default
FACILITY_STAGES: tuple[str, ...] = ("mine", "refining")

_STAGE_ORDER = {s.value: i for i, s in enumerate(STAGES)}


@dataclass(frozen=True)
class LotOrigin:
    """One lot's origin in the form that composes, so a registry can store it per lot and
    derive a new lot's origin from its inputs' stored origins without reading the network.

    ``mass`` is the row of :attr:`OriginArrays.mass` keyed by (stage, country).
    ``value_raw`` is the *unnormalised* value propagation of :func:`origin_arrays` (USD/t of
    the stage's lot times mass share): shares of value are ``value_raw`` normalised per stage,
    which cannot be mixed again, so the raw form is what is kept. ``facilities`` is the mass
    share from each facility at the stages of :data:`FACILITY_STAGES` (the first such
    facility upstream, as :func:`~critmin.trace.graph.upstream_weights` stops there), with
    ``facility_info`` holding (name, operator, country) of each. ``value_missing`` lists the
    products of lots upstream of this one (itself included) that were produced at a stage but
    have no unit value: when it is not empty the value basis is unavailable for this lot.

    The batch :func:`compute_origin` decides the value basis for a whole network at once
    (any producing lot anywhere without a value switches it off for every lot); here it is
    decided per lot from its own upstream, the only part of a registry that is read.
    """

    mass: dict[tuple[str, str], float]
    value_raw: dict[tuple[str, str], float]
    facilities: dict[tuple[str, str], float]
    facility_info: dict[str, tuple[str, str, str]]
    value_missing: tuple[str, ...] = ()

    def table(self, lot_id: str) -> list[dict[str, object]]:
        """Rows as :meth:`OriginResult.table` gives them for this lot (non-zero mass shares,
        by stage upstream first, then country); ``share_value`` None without a value basis."""
        totals: dict[str, float] = {}
        for (s, _c), v in self.value_raw.items():
            totals[s] = totals.get(s, 0.0) + v
        rows: list[dict[str, object]] = []
        for s, c in sorted(self.mass, key=lambda k: (_STAGE_ORDER.get(k[0], 99), k[1])):
            share = self.mass[(s, c)]
            if share <= 1e-12:
                continue
            value: float | None = None
            if not self.value_missing:
                tot = totals.get(s, 0.0)
                value = self.value_raw.get((s, c), 0.0) / tot if tot > 0 else 0.0
            rows.append(
                {
                    "lot": lot_id,
                    "stage": s,
                    "country_iso3": c,
                    "share_mass": share,
                    "share_value": value,
                }
            )
        return rows

    def upstream_facilities(self) -> list[dict[str, object]]:
        """Rows as :meth:`OriginResult.upstream_facilities` gives them (stage upstream first,
        then the larger share first, then facility id)."""
        keys = [k for k, v in self.facilities.items() if v > 1e-12]
        keys.sort(key=lambda k: (_STAGE_ORDER.get(k[0], 99), -self.facilities[k], k[1]))
        out: list[dict[str, object]] = []
        for s, f in keys:
            name, operator, country = self.facility_info[f]
            out.append(
                {
                    "stage": s,
                    "facility": f,
                    "name": name,
                    "operator": operator,
                    "country_iso3": country,
                    "share_mass": self.facilities[(s, f)],
                }
            )
        return out

    def to_json(self) -> dict[str, object]:
        """Plain JSON (lists of [stage, key, value]) for storage."""
        return {
            "mass": [[s, c, v] for (s, c), v in sorted(self.mass.items())],
            "value_raw": [[s, c, v] for (s, c), v in sorted(self.value_raw.items())],
            "facilities": [[s, f, v] for (s, f), v in sorted(self.facilities.items())],
            "facility_info": {f: list(i) for f, i in sorted(self.facility_info.items())},
            "value_missing": list(self.value_missing),
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> LotOrigin:
        def triples(key: str) -> dict[tuple[str, str], float]:
            rows = d[key]
            assert isinstance(rows, list)
            return {(str(s), str(k)): float(v) for s, k, v in rows}

        info = d["facility_info"]
        missing = d["value_missing"]
        assert isinstance(info, dict)
        assert isinstance(missing, list)
        return cls(
            mass=triples("mass"),
            value_raw=triples("value_raw"),
            facilities=triples("facilities"),
            facility_info={str(f): (str(a), str(b), str(c)) for f, (a, b, c) in info.items()},
            value_missing=tuple(str(x) for x in missing),
        )


#: a lot no event produced (untraced): an all-zero row, as in the batch propagation
UNTRACED = LotOrigin(mass={}, value_raw={}, facilities={}, facility_info={})


def _mix(
    parts: list[tuple[float, dict[tuple[str, str], float]]], drop_stage: str | None
) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for w, row in parts:
        for k, v in row.items():
            if k[0] != drop_stage:
                out[k] = out.get(k, 0.0) + w * v
    return out


def compose_lot_origin(
    *,
    stage: str | None,
    facility: Facility | None,
    unit_value_usd_per_t: float,
    product: str,
    inputs: Sequence[tuple[float, LotOrigin]],
) -> LotOrigin:
    """Origin of a lot from its producing event and its inputs' origins: one row of
    ``X = A X + B`` (see the module docstring).

    ``stage`` is the stage the producing event sets (``mine`` for an extraction, the
    facility's stage for a transformation, None for an aggregation); ``inputs`` are
    (mass in t used, origin) of each input lot (:data:`UNTRACED` for a lot nothing produced);
    ``unit_value_usd_per_t`` is NaN when the lot has no value. Mixing is by input mass, as the
    rows of ``A``; the lot's own stage block is replaced by its facility's country (mass 1,
    value its unit value) and, for the stages of :data:`FACILITY_STAGES`, by its facility.
    """
    total = sum(q for q, _ in inputs)
    parts = [(q / total, o) for q, o in inputs] if total > 0 else []
    mass = _mix([(w, o.mass) for w, o in parts], stage)
    value_raw = _mix([(w, o.value_raw) for w, o in parts], stage)
    fac_stage = stage if stage in FACILITY_STAGES else None
    facilities = _mix([(w, o.facilities) for w, o in parts], fac_stage)
    info: dict[str, tuple[str, str, str]] = {}
    missing: set[str] = set()
    for w, o in parts:
        if w > 0:
            info.update(o.facility_info)
        missing.update(o.value_missing)
    if stage is not None:
        if facility is None:
            raise InputError(f"a lot produced at stage {stage!r} needs its facility")
        mass[(stage, facility.country)] = 1.0
        if np.isfinite(unit_value_usd_per_t):
            value_raw[(stage, facility.country)] = float(unit_value_usd_per_t)
        else:
            missing.add(product or "(no product)")
        if fac_stage is not None:
            facilities[(stage, facility.id)] = 1.0
            info[facility.id] = (facility.name, facility.operator, facility.country)
    used = {f for (_s, f) in facilities}
    return LotOrigin(
        mass=mass,
        value_raw=value_raw,
        facilities=facilities,
        facility_info={f: i for f, i in info.items() if f in used},
        value_missing=tuple(sorted(missing)),
    )


@dataclass(frozen=True)
class Recipe:
    """How one lot was produced, as :func:`compose_lot_origin` needs it: kept beside a stored
    origin so that the origin can be composed again when an input's origin becomes known."""

    lot: str
    stage: str | None
    facility: Facility | None
    unit_value_usd_per_t: float
    product: str
    inputs: tuple[tuple[str, float], ...]  # (input lot id, mass in t used)

    def compose(self, origin_of: Mapping[str, LotOrigin]) -> LotOrigin:
        """This lot's origin, its inputs looked up in ``origin_of`` (absent: untraced)."""
        return compose_lot_origin(
            stage=self.stage,
            facility=self.facility,
            unit_value_usd_per_t=self.unit_value_usd_per_t,
            product=self.product,
            inputs=[(q, origin_of.get(i, UNTRACED)) for i, q in self.inputs],
        )

    def to_json(self) -> dict[str, object]:
        return {
            "lot": self.lot,
            "stage": self.stage,
            "facility": self.facility.model_dump(mode="json") if self.facility else None,
            # NaN is not JSON: a missing unit value is stored as null
            "unit_value_usd_per_t": (
                self.unit_value_usd_per_t if np.isfinite(self.unit_value_usd_per_t) else None
            ),
            "product": self.product,
            "inputs": [[i, q] for i, q in self.inputs],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object]) -> Recipe:
        fac = d["facility"]
        uv = d["unit_value_usd_per_t"]
        inputs = d["inputs"]
        assert isinstance(inputs, list)
        return cls(
            lot=str(d["lot"]),
            stage=None if d["stage"] is None else str(d["stage"]),
            facility=Facility.model_validate(fac) if fac is not None else None,
            unit_value_usd_per_t=float("nan") if uv is None else float(uv),  # type: ignore[arg-type]
            product=str(d["product"]),
            inputs=tuple((str(i), float(q)) for i, q in inputs),
        )


def lot_recipes(
    net: SupplyNetwork, prices_usd_per_t: dict[str, float] | None = None
) -> dict[str, Recipe]:
    """The recipe of every lot the network's events produce (extractions, transformation
    outputs, aggregation parents), in topological order: a lot comes after the lots of this
    network it uses. Inputs the network does not produce stay as references (registered
    elsewhere, or untraced), and need not be described in it (the batch
    :func:`~critmin.trace.graph.build_graph` calls such a lot unknown). Double production,
    undescribed produced lots, unknown facilities and cycles are errors, as there."""
    uv, _ = unit_values(net, prices_usd_per_t)
    lot_index = {lot.id: i for i, lot in enumerate(net.lots)}
    facs = {f.id: f for f in net.facilities}
    recipes: dict[str, Recipe] = {}
    by: dict[str, str] = {}

    def fac_of(fid: str, eid: str) -> Facility:
        if fid not in facs:
            raise InputError(
                f"event {eid!r} references facility {fid!r}, which has no (complete) master data"
            )
        return facs[fid]

    def add(
        lot: str, eid: str, stage: str | None, fac: Facility | None, ins: tuple[Quantity, ...]
    ) -> None:
        if lot not in lot_index:
            raise InputError(f"event {eid!r} references unknown lot {lot!r}")
        if lot in by:
            raise InputError(f"lot {lot!r} is produced twice, by events {by[lot]!r} and {eid!r}")
        by[lot] = eid
        merged: dict[str, float] = {}
        for q in ins:
            # an input the document does not describe is a reference to a lot described and
            # produced elsewhere (a registry's other documents): its mass is the event's
            merged[q.lot] = merged.get(q.lot, 0.0) + q.qty_t
        i = lot_index[lot]
        recipes[lot] = Recipe(
            lot=lot,
            stage=stage,
            facility=fac,
            unit_value_usd_per_t=float(uv[i]),
            product=net.lots[i].product,
            inputs=tuple(merged.items()),
        )

    for ev in net.events:
        if isinstance(ev, Extraction):
            f = fac_of(ev.facility, ev.id)
            for q in ev.outputs:
                add(q.lot, ev.id, Stage.MINE.value, f, ())
        elif isinstance(ev, Transformation):
            f = fac_of(ev.facility, ev.id)
            for q in ev.outputs:
                add(q.lot, ev.id, f.stage.value, f, ev.inputs)
        elif isinstance(ev, Aggregation):
            f_agg = fac_of(ev.facility, ev.id) if ev.facility else None
            add(ev.parent, ev.id, None, f_agg, ev.children)
    return in_topological_order(recipes)


def in_topological_order(recipes: Mapping[str, Recipe]) -> dict[str, Recipe]:
    """The recipes in an order where each lot comes after the lots of ``recipes`` it uses
    (Kahn's algorithm); a cycle is an error naming lots."""
    users: dict[str, list[str]] = {}
    indeg = dict.fromkeys(recipes, 0)
    for lot, r in recipes.items():
        for i, _q in r.inputs:
            if i in recipes:
                users.setdefault(i, []).append(lot)
                indeg[lot] += 1
    ready = [lot for lot, d in indeg.items() if d == 0]
    order: list[str] = []
    while ready:
        lot = ready.pop()
        order.append(lot)
        for u in users.get(lot, ()):
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(order) < len(recipes):
        stuck = sorted(lot for lot, d in indeg.items() if d > 0)[:10]
        raise InputError(
            "the lot graph has a cycle: a lot is (indirectly) an input of itself; "
            f"lots on or after the cycle: {', '.join(stuck)}"
        )
    return {lot: recipes[lot] for lot in order}


def extend_lot_origins(
    recipes: Mapping[str, Recipe], known: Mapping[str, LotOrigin]
) -> dict[str, LotOrigin]:
    """Origins of the lots of ``recipes`` (in topological order, as :func:`lot_recipes` gives
    them) composed from ``known`` origins of lots produced elsewhere: the incremental step a
    registry runs when a document registers new lots. Inputs neither in ``recipes`` nor in
    ``known`` are untraced (they contribute nothing, as in the batch propagation)."""
    out: dict[str, LotOrigin] = {}
    lookup = ChainMap(out, dict(known))
    for lot, r in recipes.items():
        out[lot] = r.compose(lookup)
    return out


def lot_origins(
    net: SupplyNetwork, prices_usd_per_t: dict[str, float] | None = None
) -> dict[str, LotOrigin]:
    """Origin of every lot the network produces, composed lot by lot (equal to
    :func:`compute_origin` up to rounding; see :class:`LotOrigin` for the value basis)."""
    return extend_lot_origins(lot_recipes(net, prices_usd_per_t), {})
