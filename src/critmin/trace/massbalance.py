"""Mass balance: reported, never fixed.

Checks (``tol`` is a relative tolerance, default 1e-6):

* ``yield_exceeded``: a transformation's outputs exceed its inputs times the declared yield,
  ``sum(out_t) > sum(in_t) * yield_share * (1 + tol)``;
* ``over_consumed``: a lot consumed (transformation input or aggregation child) for more than
  its quantity, ``sum(consumed_t) > qty_t * (1 + tol)``; with a single full draw per lot this
  is "a lot cannot be consumed twice";
* ``produced_twice``: a lot is the output of more than one event;
* ``quantity_mismatch``: the quantity an event produces differs from the lot's quantity, or an
  aggregation's parent differs from the sum of its children;
* ``consumed_before_produced``: a lot used by an event earlier than the event producing it;
* ``unknown_lot`` / ``unknown_facility``: an event names something the network does not hold.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from critmin.trace.model import (
    Aggregation,
    Extraction,
    Lot,
    Shipment,
    SupplyNetwork,
    Transformation,
)


class Violation(BaseModel):
    """One mass-balance violation with the events and lots involved."""

    model_config = ConfigDict(frozen=True)

    kind: str
    events: tuple[str, ...]
    lots: tuple[str, ...]
    excess_t: float = 0.0
    message: str


def _exceeds(actual: float, limit: float, tol: float) -> bool:
    return actual > limit * (1.0 + tol) + 1e-12


#: per lot: (event id, event time, tonnes) of each event producing or consuming it
_Uses = dict[str, list[tuple[str, dt.datetime, float]]]


def check_mass_balance(net: SupplyNetwork, tol: float = 1e-6) -> list[Violation]:
    """All violations of ``net``: what each event states, in event order; then the lots
    produced (twice, or for another quantity); then the lots consumed (for more than they
    hold, or before they were produced)."""
    events = _Events(net, tol)
    for ev in net.events:
        events.read(ev)
    out = events.out
    out.extend(_production_problems(events.produced, events.lots, tol))
    out.extend(_consumption_problems(events.consumed, events.produced, events.lots, tol))
    return out


class _Events:
    """One pass over the events: what each produces and consumes, and the violations an
    event shows by itself (unknown lots and facilities, a yield exceeded)."""

    def __init__(self, net: SupplyNetwork, tol: float) -> None:
        self.lots = {lot.id: lot for lot in net.lots}
        self.facs = {f.id for f in net.facilities}
        self.tol = tol
        self.out: list[Violation] = []
        self.produced: _Uses = defaultdict(list)
        self.consumed: _Uses = defaultdict(list)

    def known(self, lot: str, event_id: str) -> bool:
        if lot not in self.lots:
            self.out.append(
                Violation(
                    kind="unknown_lot",
                    events=(event_id,),
                    lots=(lot,),
                    message=f"event {event_id!r} references unknown lot {lot!r}",
                )
            )
            return False
        return True

    def known_facility(self, fid: str | None, event_id: str) -> None:
        if fid is not None and fid not in self.facs:
            self.out.append(
                Violation(
                    kind="unknown_facility",
                    events=(event_id,),
                    lots=(),
                    message=f"event {event_id!r} references unknown facility {fid!r}",
                )
            )

    def read(self, ev: object) -> None:
        if isinstance(ev, Extraction):
            self.known_facility(ev.facility, ev.id)
            for q in ev.outputs:
                if self.known(q.lot, ev.id):
                    self.produced[q.lot].append((ev.id, ev.time, q.qty_t))
        elif isinstance(ev, Transformation):
            self.transformation(ev)
        elif isinstance(ev, Aggregation):
            self.aggregation(ev)
        elif isinstance(ev, Shipment):
            self.known_facility(ev.source, ev.id)
            self.known_facility(ev.destination, ev.id)
            for q in ev.lots:
                self.known(q.lot, ev.id)

    def transformation(self, ev: Transformation) -> None:
        self.known_facility(ev.facility, ev.id)
        ins = [q for q in ev.inputs if self.known(q.lot, ev.id)]
        outs = [q for q in ev.outputs if self.known(q.lot, ev.id)]
        for q in ins:
            self.consumed[q.lot].append((ev.id, ev.time, q.qty_t))
        for q in outs:
            self.produced[q.lot].append((ev.id, ev.time, q.qty_t))
        in_t = sum(q.qty_t for q in ev.inputs)
        out_t = sum(q.qty_t for q in ev.outputs)
        limit = in_t * ev.yield_share
        if _exceeds(out_t, limit, self.tol):
            self.out.append(
                Violation(
                    kind="yield_exceeded",
                    events=(ev.id,),
                    lots=tuple(q.lot for q in ev.outputs),
                    excess_t=out_t - limit,
                    message=(
                        f"transformation {ev.id!r}: outputs {out_t:.6g} t exceed inputs "
                        f"{in_t:.6g} t x yield {ev.yield_share:g} = {limit:.6g} t"
                    ),
                )
            )

    def aggregation(self, ev: Aggregation) -> None:
        self.known_facility(ev.facility, ev.id)
        kids = [q for q in ev.children if self.known(q.lot, ev.id)]
        for q in kids:
            self.consumed[q.lot].append((ev.id, ev.time, q.qty_t))
        if self.known(ev.parent, ev.id):
            kids_t = sum(q.qty_t for q in ev.children)
            self.produced[ev.parent].append((ev.id, ev.time, kids_t))


def _production_problems(produced: _Uses, lots: dict[str, Lot], tol: float) -> list[Violation]:
    """A lot produced by more than one event, or for a quantity other than its own."""
    out: list[Violation] = []
    for lot_id, prods in produced.items():
        lot = lots[lot_id]
        if len(prods) > 1:
            out.append(
                Violation(
                    kind="produced_twice",
                    events=tuple(p[0] for p in prods),
                    lots=(lot_id,),
                    message=f"lot {lot_id!r} is produced by {len(prods)} events: "
                    + ", ".join(p[0] for p in prods),
                )
            )
        for ev_id, _, qty_t in prods:
            if abs(qty_t - lot.qty_t) > tol * max(lot.qty_t, qty_t) + 1e-12:
                out.append(
                    Violation(
                        kind="quantity_mismatch",
                        events=(ev_id,),
                        lots=(lot_id,),
                        excess_t=qty_t - lot.qty_t,
                        message=f"event {ev_id!r} produces {qty_t:.6g} t of lot {lot_id!r}, "
                        f"whose quantity is {lot.qty_t:.6g} t",
                    )
                )
    return out


def _consumption_problems(
    consumed: _Uses, produced: _Uses, lots: dict[str, Lot], tol: float
) -> list[Violation]:
    """A lot consumed for more than it holds, or by an event before the one producing it."""
    out: list[Violation] = []
    for lot_id, uses in consumed.items():
        lot = lots[lot_id]
        used_t = sum(u[2] for u in uses)
        if _exceeds(used_t, lot.qty_t, tol):
            out.append(
                Violation(
                    kind="over_consumed",
                    events=tuple(u[0] for u in uses),
                    lots=(lot_id,),
                    excess_t=used_t - lot.qty_t,
                    message=f"lot {lot_id!r} ({lot.qty_t:.6g} t) is consumed for {used_t:.6g} t "
                    f"by events " + ", ".join(u[0] for u in uses),
                )
            )
        if lot_id in produced:
            t_made = min(p[1] for p in produced[lot_id])
            for ev_id, t_used, _ in uses:
                if t_used < t_made:
                    out.append(
                        Violation(
                            kind="consumed_before_produced",
                            events=(ev_id, produced[lot_id][0][0]),
                            lots=(lot_id,),
                            message=f"event {ev_id!r} at {t_used.isoformat()} uses lot "
                            f"{lot_id!r} produced at {t_made.isoformat()}",
                        )
                    )
    return out
