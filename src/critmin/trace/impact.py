""" "Who is hit if X stops": downstream lots, products and buyers of a facility or a country.

The *affected share* of a lot is the share of its material that passed through the stopped
facility (or any facility in the stopped country, optionally only at one stage), by mass, at
any depth: ``x[o] = 1`` where lot ``o`` was produced there, else ``(A x)[o]``. Affected
tonnes are ``share x qty_t``. Buyers are the destinations of shipments of affected lots
(grouped by the destination facility's operator), with the affected tonnes they received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from critmin.errors import InputError
from critmin.trace.geo import resolve_country
from critmin.trace.graph import build_graph, propagate_vector
from critmin.trace.model import Shipment, SupplyNetwork, parse_stage


@dataclass
class ImpactReport:
    """Affected lots, products and buyers, each with tonnes and shares."""

    target: str
    lots: pd.DataFrame
    products: pd.DataFrame
    buyers: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "lots": self.lots.to_dict(orient="records"),
            "products": self.products.to_dict(orient="records"),
            "buyers": self.buyers.to_dict(orient="records"),
        }


def impact(
    net: SupplyNetwork,
    facility: str | None = None,
    country: str | None = None,
    stage: str | None = None,
) -> ImpactReport:
    """Downstream exposure of every lot to a facility or a country that stops."""
    if (facility is None) == (country is None):
        raise InputError("give exactly one of a facility id or a country")
    graph = build_graph(net)
    if facility is not None:
        fac = net.facility(facility)  # raises UnknownNameError with suggestions
        fi = [f.id for f in net.facilities].index(fac.id)
        hit = graph.facility == fi
        target = f"facility {fac.id} ({fac.name or fac.operator}, {fac.country})"
    else:
        iso3 = resolve_country(str(country))
        ci = graph.countries.index(iso3) if iso3 in graph.countries else -2
        hit = graph.country == ci
        target = f"country {iso3}"
    if stage is not None:
        st = parse_stage(stage)
        hit &= graph.stage == graph.stages.index(st.value)
        target += f" at stage {st.value}"
    share = propagate_vector(graph, hit, np.ones(graph.n))
    qty_t = np.array([lot.qty_t for lot in net.lots])
    lots = pd.DataFrame(
        {
            "lot": [lot.id for lot in net.lots],
            "product": [lot.product for lot in net.lots],
            "qty_t": qty_t,
            "share": share,
            "affected_t": share * qty_t,
        }
    )
    lots = lots[lots["share"] > 1e-12].sort_values(["share", "lot"], ascending=[False, True])
    all_lots = pd.DataFrame({"product": [lot.product for lot in net.lots], "qty_t": qty_t})
    totals = all_lots.groupby("product")["qty_t"].sum()
    affected = lots.groupby("product")["affected_t"].sum()
    prod = pd.DataFrame(
        {
            "product": list(affected.index),
            "affected_t": affected.to_numpy(dtype=float),
            "total_t": totals.reindex(affected.index).to_numpy(dtype=float),
        }
    )
    prod["share"] = prod["affected_t"] / prod["total_t"]
    share_of = dict(zip([lot.id for lot in net.lots], share.tolist(), strict=True))
    rows = []
    for ev in net.events:
        if isinstance(ev, Shipment) and ev.biz_step == "shipping":
            dest = next((f for f in net.facilities if f.id == ev.destination), None)
            buyer = (dest.operator or dest.name or dest.id) if dest else ev.destination
            for q in ev.lots:
                s = share_of.get(q.lot, 0.0)
                rows.append({"buyer": buyer, "received_t": q.qty_t, "affected_t": s * q.qty_t})
    buyers = pd.DataFrame(rows, columns=["buyer", "received_t", "affected_t"])
    buyers = buyers.groupby("buyer", as_index=False)[["received_t", "affected_t"]].sum()
    buyers["share"] = np.where(
        buyers["received_t"] > 0, buyers["affected_t"] / buyers["received_t"], 0.0
    )
    buyers = buyers[buyers["affected_t"] > 1e-12].sort_values("affected_t", ascending=False)
    return ImpactReport(
        target=target,
        lots=lots.reset_index(drop=True),
        products=prod.sort_values("affected_t", ascending=False).reset_index(drop=True),
        buyers=buyers.reset_index(drop=True),
    )
