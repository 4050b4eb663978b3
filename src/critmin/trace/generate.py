"""Random supply networks: small ones as :class:`SupplyNetwork` (property tests), large ones
directly as :class:`LotGraph` arrays (the benchmark). Seeds are explicit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from critmin.trace.graph import EXTRACTED, TRANSFORMED, LotGraph
from critmin.trace.model import (
    STAGES,
    Extraction,
    Facility,
    Lot,
    Quantity,
    SupplyNetwork,
    Transformation,
)

_COUNTRY_POOL = [
    "AUS",
    "CHN",
    "USA",
    "CAN",
    "MEX",
    "BRA",
    "CHL",
    "ARG",
    "PER",
    "COD",
    "ZMB",
    "ZAF",
    "IDN",
    "PHL",
    "MYS",
    "VNM",
    "THA",
    "IND",
    "JPN",
    "KOR",
    "DEU",
    "FRA",
    "GBR",
    "NOR",
    "SWE",
    "FIN",
    "POL",
    "KAZ",
    "MNG",
    "RUS",
    "MAR",
    "SAU",
    "ARE",
    "TUR",
    "NZL",
]


# long: one stage after the other from one rng stream; the draw order fixes each seed's network
def random_network(
    seed: int,
    lots_per_stage: tuple[int, ...] = (6, 4, 3, 3, 2),
    max_inputs: int = 3,
    n_countries: int = 6,
) -> SupplyNetwork:
    """A layered network, mass-consistent by construction.

    Stage ``k`` lots are made from 1..``max_inputs`` draws of stage ``k-1`` lots, never drawing
    more than what remains of a lot; each transformation has a random yield in [0.5, 1].
    """
    rng = np.random.default_rng(seed)
    countries = _COUNTRY_POOL[:n_countries]
    t0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    facilities: list[Facility] = []
    fac_by_stage: list[list[str]] = []
    for s, st in enumerate(STAGES[: len(lots_per_stage)]):
        ids = []
        for c in rng.choice(countries, size=min(3, n_countries), replace=False):
            fid = f"urn:epc:id:sgln:0000001.{s}{c}.0"
            facilities.append(
                Facility(id=fid, name=f"{st.value} {c}", operator=f"op-{c}", country=c, stage=st)
            )
            ids.append(fid)
        fac_by_stage.append(ids)
    lots: list[Lot] = []
    events: list[Extraction | Transformation] = []
    remaining: dict[str, float] = {}
    prev: list[str] = []
    for s, n in enumerate(lots_per_stage):
        cur: list[str] = []
        for j in range(n):
            lid = f"urn:epc:class:lgtin:0000001.s{s}.{j}"
            fid = str(rng.choice(fac_by_stage[s]))
            t = t0 + dt.timedelta(days=10 * s, hours=j)
            if s == 0:
                q = float(rng.integers(10, 100))
                events.append(
                    Extraction(
                        id=f"E{s}.{j}", time=t, facility=fid, outputs=(Quantity(lot=lid, qty=q),)
                    )
                )
            else:
                avail = [p for p in prev if remaining[p] > 1e-9]
                if not avail:
                    continue
                k = int(rng.integers(1, max_inputs + 1))
                picks = list(
                    dict.fromkeys(
                        rng.choice(avail, size=min(k, len(avail)), replace=False).tolist()
                    )
                )
                ins = []
                for p in picks:
                    draw = float(np.floor(remaining[p] * rng.uniform(0.2, 1.0) * 1e6) / 1e6)
                    if draw <= 0:
                        continue
                    remaining[p] -= draw
                    ins.append(Quantity(lot=p, qty=draw))
                if not ins:
                    continue
                y = float(np.round(rng.uniform(0.5, 1.0), 3))
                q = float(np.floor(sum(x.qty for x in ins) * y * 1e6) / 1e6)
                events.append(
                    Transformation(
                        id=f"T{s}.{j}",
                        time=t,
                        facility=fid,
                        yield_share=y,
                        inputs=tuple(ins),
                        outputs=(Quantity(lot=lid, qty=q),),
                    )
                )
            lots.append(
                Lot(
                    id=lid,
                    product=f"product-{s}",
                    qty=q,
                    value_usd=q * float(rng.integers(1, 50)) * 1000,
                )
            )
            remaining[lid] = q
            cur.append(lid)
        prev = cur
    return SupplyNetwork(facilities=tuple(facilities), lots=tuple(lots), events=tuple(events))


def random_graph(
    n_lots: int,
    n_edges: int,
    seed: int,
    countries_per_stage: tuple[int, ...] = (25, 12, 8, 8, 10),
    facilities_per_stage: int | None = None,
) -> LotGraph:
    """A large layered lot graph built directly as arrays (no Python objects per lot).

    20 % of lots are mined; the rest are split evenly over the later stages; input fractions
    are random and sum to 1 per lot. Without ``facilities_per_stage`` every lot draws its inputs
    uniformly from the whole previous stage (every lot ends up with material from nearly every
    country). With it, lots belong to facilities (a facility sits in one country), each facility
    buys from one supplier facility of the previous stage (30 %: two), and a lot draws its
    inputs from its facility's suppliers' lots: most lots come from few places, as in real
    chains.
    """
    if facilities_per_stage:
        return _facility_graph(n_lots, n_edges, seed, countries_per_stage, facilities_per_stage)
    rng = np.random.default_rng(seed)
    n_st = len(countries_per_stage)
    n_mine = n_lots // 5
    per = (n_lots - n_mine) // (n_st - 1)
    sizes = [n_mine] + [per] * (n_st - 2) + [n_lots - n_mine - per * (n_st - 2)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    stage = np.repeat(np.arange(n_st, dtype=np.int8), sizes)
    pool = _COUNTRY_POOL
    country_names = sorted({c for k in countries_per_stage for c in pool[:k]})
    c_index = {c: i for i, c in enumerate(country_names)}
    country = np.empty(n_lots, dtype=np.int32)
    for s in range(n_st):
        local = np.array([c_index[c] for c in pool[: countries_per_stage[s]]], dtype=np.int32)
        country[starts[s] : starts[s + 1]] = local[rng.integers(0, local.size, sizes[s])]
    n_out = n_lots - n_mine
    k = np.full(n_out, n_edges // n_out, dtype=np.int64)
    k[: n_edges - int(k.sum())] += 1
    out = np.repeat(np.arange(n_mine, n_lots, dtype=np.int64), k)
    out_stage = stage[out].astype(np.int64)
    lo = starts[out_stage - 1]
    hi = starts[out_stage]
    inp = lo + (rng.random(out.size) * (hi - lo)).astype(np.int64)
    return _lot_graph(rng, stage, country, out=out, inp=inp, country_names=country_names, n_st=n_st)


def _lot_graph(
    rng: np.random.Generator,
    stage: npt.NDArray[np.int8],
    country: npt.NDArray[np.int32],
    *,
    out: npt.NDArray[np.int64],
    inp: npt.NDArray[np.int64],
    country_names: list[str],
    n_st: int,
) -> LotGraph:
    """The graph of both generators: random input weights (drawn last, so each generator's
    draws stay in their order), normalised to sum to one per output lot."""
    n_lots = len(stage)
    w = rng.uniform(0.1, 1.0, out.size)
    w /= np.bincount(out, weights=w, minlength=n_lots)[out]
    producer = np.where(stage == 0, EXTRACTED, TRANSFORMED).astype(np.int8)
    return LotGraph(
        n=n_lots,
        producer=producer,
        stage=stage,
        country=country,
        facility=np.full(n_lots, -1, dtype=np.int32),
        edge_out=out,
        edge_in=inp,
        edge_w=w,
        countries=country_names,
        stages=[st.value for st in STAGES[:n_st]],
    )


def _facility_graph(
    n_lots: int,
    n_edges: int,
    seed: int,
    countries_per_stage: tuple[int, ...],
    n_fac: int,
) -> LotGraph:
    rng = np.random.default_rng(seed)
    n_st = len(countries_per_stage)
    n_mine = n_lots // 5
    per = (n_lots - n_mine) // (n_st - 1)
    sizes = [n_mine] + [per] * (n_st - 2) + [n_lots - n_mine - per * (n_st - 2)]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    stage = np.repeat(np.arange(n_st, dtype=np.int8), sizes)
    pool = _COUNTRY_POOL
    country_names = sorted({c for k in countries_per_stage for c in pool[:k]})
    c_index = {c: i for i, c in enumerate(country_names)}
    # facility f of stage s owns the lots [f_lo, f_hi) of that stage (contiguous, by facility)
    fac_country = []
    fac_lo = []
    fac_hi = []
    lot_fac = np.empty(n_lots, dtype=np.int64)
    country = np.empty(n_lots, dtype=np.int32)
    for s in range(n_st):
        local = np.array([c_index[c] for c in pool[: countries_per_stage[s]]], dtype=np.int32)
        fc = local[rng.integers(0, local.size, n_fac)]
        cuts = np.sort(rng.integers(0, sizes[s] + 1, n_fac - 1))
        lo = starts[s] + np.concatenate([[0], cuts])
        hi = starts[s] + np.concatenate([cuts, [sizes[s]]])
        fac_country.append(fc)
        fac_lo.append(lo)
        fac_hi.append(hi)
        owner = np.repeat(np.arange(n_fac), hi - lo)
        lot_fac[starts[s] : starts[s + 1]] = owner
        country[starts[s] : starts[s + 1]] = fc[owner]
    # suppliers: each facility of stage s >= 1 buys from 1 (70 %) or 2 (30 %) facilities of
    # stage s-1 that own at least one lot
    n_out = n_lots - n_mine
    k = np.full(n_out, n_edges // n_out, dtype=np.int64)
    k[: n_edges - int(k.sum())] += 1
    out = np.repeat(np.arange(n_mine, n_lots, dtype=np.int64), k)
    out_stage = stage[out].astype(np.int64)
    inp = np.empty(out.size, dtype=np.int64)
    for s in range(1, n_st):
        sel = np.flatnonzero(out_stage == s)
        prev_lo, prev_hi = fac_lo[s - 1], fac_hi[s - 1]
        nonempty = np.flatnonzero(prev_hi > prev_lo)
        sup = nonempty[rng.integers(0, nonempty.size, (n_fac, 2))]
        two = rng.random(n_fac) < 0.3
        f = lot_fac[out[sel]]
        pick = np.where(two[f] & (rng.random(sel.size) < 0.5), sup[f, 1], sup[f, 0])
        lo, hi = prev_lo[pick], prev_hi[pick]
        inp[sel] = lo + (rng.random(sel.size) * (hi - lo)).astype(np.int64)
    return _lot_graph(rng, stage, country, out=out, inp=inp, country_names=country_names, n_st=n_st)
