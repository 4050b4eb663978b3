"""The one place where the service calls critmin's domain code, through the public API.

The service computes with the same code as the CLI, never a copy, and only through the names
``import critmin`` exports (docs/api.md; ``tests/api/test_public_imports.py`` holds the
service to it): the FORGE levy on a declaration with :func:`critmin.assess_levy` (the
instrument's rule and dated parameters), settlement with :func:`critmin.settle`, EPCIS
documents with :func:`critmin.from_epcis`, rule sets with :func:`critmin.load_rules`, the
stockpile ledger (:class:`critmin.Ledger`), the origin composition
(:func:`critmin.extend_lot_origins`) and rule evaluation (:func:`critmin.evaluate_rules`).
Everything here takes and returns plain data (dicts, floats) so the HTTP layer never touches a
domain type.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import critmin
from critmin.errors import InputError
from critmin.yamlio import error_loc, error_text

KG_PER_T = 1000.0
LEVY_BLOC = critmin.LEVY_BLOC


# --------------------------------------------------------------------------- FORGE levy


def assess_levy(**declaration: Any) -> dict[str, Any]:
    """The FORGE levy on one declaration, with every step: :func:`critmin.assess_levy`."""
    return critmin.assess_levy(**declaration)


# --------------------------------------------------------------------------- contracts


def validate_contract(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a contract's fields as the contract file format; return them normalised."""
    from pydantic import ValidationError

    try:
        contract = critmin.OfftakeContract.model_validate(dict(fields))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in error_loc(err)) or "contract"
        raise InputError(error_text(err), where=f"field {loc!r}") from None
    return contract.model_dump(mode="json", exclude_none=True)


def settle_statement(
    fields: Mapping[str, Any],
    prices_usd_per_kg: Mapping[str, float],
    first: str | None,
    through: str | None,
) -> dict[str, Any]:
    """The settlement statement (as ``critmin contract settle --json`` prints it)."""
    contract = critmin.OfftakeContract.model_validate(dict(fields))
    series = critmin.PriceSeries.from_mapping(prices_usd_per_kg, origin="registry reference prices")
    statement = critmin.settle(contract, series, first, through)
    statement.check_balance()
    return statement.to_dict()


# --------------------------------------------------------------------------- stockpile


def ledger_from_rows(rows: Iterable[Mapping[str, Any]]) -> Any:
    """Rebuild a :class:`critmin.Ledger` from stored entries, in order."""
    from critmin import EntryKind, Ledger

    ledger = Ledger()
    for r in rows:
        ledger.append(
            month=r["month"],
            holder=r["holder"],
            account=r["account"],
            kind=EntryKind(r["kind"]),
            qty_kg=r["qty_kg"],
            cash_cents=r["cash_cents"],
            cost_cents=r["cost_cents"],
            debt_cents=r["debt_cents"],
            counterparty=r["counterparty"],
            reason=r["reason"],
            price_usd_per_t=r["price_usd_per_t"],
            corrects=r["corrects"],
        )
    return ledger


def fifo_basis_cents(ledger: Any, account: str, qty_kg: int) -> int:
    """Cost basis (cents) of releasing ``qty_kg`` of ``account``, FIFO over the ledger."""
    from critmin import EntryKind, LedgerError, Lots

    lots = Lots()
    for e in ledger:
        if e.account != account:
            continue
        if e.kind in (EntryKind.PURCHASE, EntryKind.OPENING_STOCK):
            lots.add(e.qty_kg, e.cost_cents)
        elif e.kind is EntryKind.RELEASE_SALE:
            lots.take(-e.qty_kg)
    try:
        return int(lots.take(qty_kg))
    except LedgerError as exc:
        raise InputError(str(exc), where="field 'qty_t'") from None


def _entry_dict(entry: Any) -> dict[str, Any]:
    out = {
        k: getattr(entry, k)
        for k in (
            "seq",
            "month",
            "holder",
            "account",
            "qty_kg",
            "cash_cents",
            "cost_cents",
            "debt_cents",
            "counterparty",
            "reason",
            "price_usd_per_t",
            "corrects",
        )
    }
    out["kind"] = entry.kind.value
    return out


def drawn_kg(ledger: Any, account: str, member: str) -> int:
    """Kilograms of ``account`` a member has drawn on its pre-purchase right so far."""
    from critmin import EntryKind

    return sum(
        -e.qty_kg
        for e in ledger
        if e.kind is EntryKind.RELEASE_SALE
        and e.account == account
        and e.counterparty == member
        and e.reason.startswith("draw")
    )


def acquired_kg(ledger: Any, account: str) -> int:
    """Kilograms of ``account`` ever bought or held at opening."""
    from critmin import EntryKind

    return sum(
        e.qty_kg
        for e in ledger
        if e.account == account and e.kind in (EntryKind.PURCHASE, EntryKind.OPENING_STOCK)
    )


def _check_draw_right(
    ledger: Any, account: str, counterparty: str, kg: int, shares: Mapping[str, float]
) -> None:
    """A member draws at most ``share x`` the kilograms the account ever acquired, less what
    it drew before; anyone else holds no right."""
    if counterparty not in shares:
        raise InputError(
            f"{counterparty!r} holds no pre-purchase right on this stockpile; "
            f"members: {', '.join(sorted(shares))}",
            where="field 'counterparty'",
        )
    right = int(shares[counterparty] * acquired_kg(ledger, account))
    used = drawn_kg(ledger, account, counterparty)
    if used + kg > right:
        raise InputError(
            f"draw of {kg} kg exceeds {counterparty}'s pre-purchase right: "
            f"{shares[counterparty]:g} x {acquired_kg(ledger, account)} kg "
            f"acquired = {right} kg, {used} kg drawn already",
            where="field 'qty_t'",
        )


# long: one branch per movement kind, each building a whole ledger entry with its fields named
def book_entry(
    rows: Sequence[Mapping[str, Any]],
    movement: Mapping[str, Any],
    members: Sequence[tuple[str, float]] = (),
) -> list[dict[str, Any]]:
    """Append one movement to the holder's ledger and check the balance.

    ``movement``: ``kind`` (fund_in, purchase, release, draw), ``month``, ``account``
    (mineral), ``qty_t``, ``price_usd_per_t``, ``amount_usd``, ``counterparty``, ``reason``;
    ``members``: the stockpile's members and their pre-purchase shares (its file's
    ``members``). A **release** is allocated to the members pro rata to their shares with
    :func:`critmin.allocate_kg` (largest remainder on whole kilograms, as
    ``critmin stockpile simulate`` allocates releases), one entry per member; without
    members it goes to ``counterparty``. A **draw** is one member exercising its
    pre-purchase right: at most ``share x`` the kilograms the account ever acquired, less
    what it drew before. Returns the new entries; raises :class:`InputError` when the
    ledger would not balance or a right would be exceeded, and nothing is booked.
    """
    from critmin import (
        CASH_ACCOUNT,
        EntryKind,
        LedgerError,
        allocate_kg,
        t_to_kg,
        usd_to_cents,
        value_cents,
    )

    holder = rows[0]["holder"] if rows else movement["holder"]
    ledger = ledger_from_rows(rows)
    kind = movement["kind"]
    month = movement["month"]
    counterparty = movement.get("counterparty", "")
    reason = movement.get("reason") or kind
    entries = []
    try:
        if kind == "fund_in":
            entries.append(
                ledger.append(
                    month=month,
                    holder=holder,
                    counterparty=counterparty,
                    account=CASH_ACCOUNT,
                    kind=EntryKind.FUND_IN,
                    cash_cents=usd_to_cents(movement["amount_usd"]),
                    reason=reason,
                )
            )
        elif kind == "purchase":
            kg = t_to_kg(movement["qty_t"])
            cost = value_cents(kg, movement["price_usd_per_t"])
            entries.append(
                ledger.append(
                    month=month,
                    holder=holder,
                    counterparty=counterparty or "market",
                    account=movement["account"],
                    kind=EntryKind.PURCHASE,
                    qty_kg=kg,
                    cash_cents=-cost,
                    cost_cents=cost,
                    reason=reason,
                    price_usd_per_t=movement["price_usd_per_t"],
                )
            )
        elif kind in ("release", "draw"):
            account = movement["account"]
            kg = t_to_kg(movement["qty_t"])
            shares = dict(members)
            if kind == "draw":
                if members:
                    _check_draw_right(ledger, account, counterparty, kg, shares)
                alloc = [(counterparty, kg)]
                reason = "draw" + (f": {movement['reason']}" if movement.get("reason") else "")
            else:
                alloc = allocate_kg(kg, list(members)) if members else [(counterparty, kg)]
            for who, part in alloc:
                if part <= 0:
                    continue
                basis = fifo_basis_cents(ledger, account, part)
                entries.append(
                    ledger.append(
                        month=month,
                        holder=holder,
                        counterparty=who,
                        account=account,
                        kind=EntryKind.RELEASE_SALE,
                        qty_kg=-part,
                        cash_cents=value_cents(part, movement["price_usd_per_t"]),
                        cost_cents=-basis,
                        reason=reason,
                        price_usd_per_t=movement["price_usd_per_t"],
                    )
                )
        else:
            raise InputError(
                f"unknown movement kind {kind!r}; expected fund_in, purchase, release or draw",
                where="field 'kind'",
            )
    except LedgerError as exc:
        raise InputError(str(exc), where="field 'month'") from None
    report = ledger.check_balance()
    if not report.ok:
        raise InputError("; ".join(report.problems), where="ledger balance")
    return [_entry_dict(e) for e in entries]


def ledger_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Balance check of the holder's ledger (``Ledger.check_balance``) as JSON."""
    if not rows:
        return {"ok": True, "entries": 0, "inventory_t": {}, "cash_usd": 0.0}
    report = ledger_from_rows(rows).check_balance()
    return {
        "ok": report.ok,
        "problems": list(report.problems),
        "entries": len(rows),
        "inventory_t": {k: v / KG_PER_T for k, v in sorted(report.inventory_kg.items())},
        **report.summary(),
    }


# --------------------------------------------------------------------------- traceability


def read_network(document: Mapping[str, Any], source: str) -> Any:
    """Parse an EPCIS 2.0 JSON-LD document with critmin's trace import."""
    return critmin.from_epcis(dict(document), source=source)


def registered_lots(
    document: Mapping[str, Any], source: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The lots an EPCIS document registers (those its events produce: extractions,
    transformation outputs, aggregation parents; lots it only uses or describes belong to the
    document that produced them) and their recipes for
    the stored origin (:func:`critmin.lot_recipes`), from one parse."""
    from critmin.store.origins import document_recipes

    net = read_network(document, source)
    produced, _ = _produced_and_used(net)
    found = [
        {"id": lot.id, "product": lot.product or None, "quantity_t": lot.qty_t}
        for lot in net.lots
        if lot.id in produced
    ]
    return found, document_recipes(net, produced)


def stored_lot_origin(origin: Any, lot_id: str) -> dict[str, Any]:
    """A stored :class:`critmin.LotOrigin` as ``critmin trace origin --json
    --lot`` reports a lot (shares by stage and country, mines and refineries)."""
    return {
        "lot": lot_id,
        "value_basis_missing_for": list(origin.value_missing),
        "shares": origin.table(lot_id),
        "upstream_facilities": origin.upstream_facilities(),
    }


def origin_from_documents(documents: Sequence[tuple[str, Mapping[str, Any]]], lot_id: str) -> Any:
    """The :class:`critmin.LotOrigin` of ``lot_id`` composed over exactly these
    registered documents (the lot's own and those upstream of it), as the registry composes
    and stores origins: each document's produced lots with their recipes
    (:func:`critmin.lot_recipes`), composed in topological order; a lot no
    document here produces is untraced. Over the documents registered by a day, this is the
    origin the registry stored for the lot on that day."""
    from critmin import extend_lot_origins, in_topological_order
    from critmin.store.origins import document_recipes

    recipes: dict[str, Any] = {}
    for source, document in documents:
        net = read_network(document, source)
        produced, _ = _produced_and_used(net)
        recipes.update(document_recipes(net, produced))
    return extend_lot_origins(in_topological_order(recipes), {})[lot_id]


def _network(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Any:
    """The network of a lot's documents (its own first, then those upstream of it)."""
    if len(documents) == 1:
        source, document = documents[0]
        return read_network(document, source)
    return merged_network(documents)


def origin_shares_at_stage(origin: Mapping[str, Any], stage: str) -> dict[str, float]:
    """Country -> mass share of a lot at ``stage`` (normalised to the covered share)."""
    acc: dict[str, float] = defaultdict(float)
    for row in origin["shares"]:
        if row["stage"] == stage:
            acc[row["country_iso3"]] += float(row["share_mass"])
    total = sum(acc.values())
    if total <= 0:
        raise InputError(
            f"lot {origin['lot']!r} has no traced origin at stage {stage!r}",
            where="field 'lot_id'",
        )
    return {c: s / total for c, s in sorted(acc.items())}


def lot_events(
    documents: Sequence[tuple[str, Mapping[str, Any]]], lot_id: str
) -> list[dict[str, Any]]:
    """The events of a lot's chain: every event that made, moved or packed the lot or any
    lot upstream of it (transformation outputs -> inputs, aggregation parent -> children),
    in time order, as JSON."""
    from critmin import Aggregation, Extraction, Shipment, Transformation

    net = _network(documents)
    chain = {lot_id}
    grew = True
    while grew:
        grew = False
        for ev in net.events:
            if isinstance(ev, Transformation) and {q.lot for q in ev.outputs} & chain:
                new = {q.lot for q in ev.inputs} - chain
            elif isinstance(ev, Aggregation) and ev.parent in chain:
                new = {q.lot for q in ev.children} - chain
            else:
                continue
            if new:
                chain |= new
                grew = True

    def lots_of(ev: Any) -> set[str]:
        if isinstance(ev, Transformation):
            return {q.lot for q in (*ev.inputs, *ev.outputs)}
        if isinstance(ev, Aggregation):
            return {ev.parent, *(q.lot for q in ev.children)}
        if isinstance(ev, Shipment):
            return {q.lot for q in ev.lots}
        if isinstance(ev, Extraction):
            return {q.lot for q in ev.outputs}
        return set()

    hits = [ev for ev in net.events if lots_of(ev) & chain]
    hits.sort(key=lambda ev: ev.time)
    names = {f.id: f"{f.name} ({f.country})" for f in net.facilities}
    out = []
    for ev in hits:
        d = ev.model_dump(mode="json")
        for key in ("facility", "source", "destination"):
            if d.get(key) in names:
                d[f"{key}_name"] = names[d[key]]
        out.append(d)
    return out


def validate_ruleset(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a rule set with critmin's own reader (:func:`critmin.load_rules`,
    the reader of ``critmin trace check --rules``): the fields go through a temporary YAML
    file so every check of the file format applies. Returns the fields as given."""
    import json
    import tempfile
    from pathlib import Path

    from critmin import load_rules

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ruleset.yaml"
        path.write_text(json.dumps(dict(fields)), encoding="utf-8")  # JSON is YAML
        try:
            load_rules(path)
        except InputError as exc:
            msg = str(exc).replace(str(path), "ruleset")
            raise InputError(msg, where="field 'ruleset'") from None
    return dict(fields)


def _ruleset(fields: Mapping[str, Any]) -> Any:
    from critmin import RuleSet

    return RuleSet.model_validate(dict(fields))


def lot_verdicts(
    documents: Sequence[tuple[str, Mapping[str, Any]]],
    lot_id: str,
    ruleset: Mapping[str, Any],
    on: dt.date,
) -> dict[str, Any]:
    """Mass balance and every rule on one lot on ``on``, as ``critmin trace check --json``
    reports them (the rows of that lot), with the lot's tariff treatment."""
    from critmin import evaluate_rules

    net = _network(documents)
    report = evaluate_rules(net, _ruleset(ruleset), on=on)
    results = [r.model_dump(mode="json") for r in report.results if r.lot == lot_id]
    violations = [v.model_dump(mode="json") for v in report.violations if lot_id in v.lots]
    return {
        "lot": lot_id,
        "on": on.isoformat(),
        "ok": not violations and all(r["status"] != "fail" for r in results),
        "violations": violations,
        "results": results,
        "treatment": report.treatment.get(lot_id),
    }


def _produced_and_used(net: Any) -> tuple[set[str], set[str]]:
    """Lots a network's events produce, and lots they take as inputs (or pack as children)."""
    from critmin import Aggregation, Extraction, Transformation

    produced: set[str] = set()
    used: set[str] = set()
    for ev in net.events:
        if isinstance(ev, Extraction | Transformation):
            produced |= {q.lot for q in ev.outputs}
        if isinstance(ev, Transformation):
            used |= {q.lot for q in ev.inputs}
        if isinstance(ev, Aggregation):
            produced.add(ev.parent)
            used |= {q.lot for q in ev.children}
    return produced, used


def untraced_inputs(document: Mapping[str, Any], source: str) -> set[str]:
    """Lots a document uses but does not produce: registered elsewhere, or untraced."""
    produced, used = _produced_and_used(read_network(document, source))
    return used - produced


def merged_network(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Any:
    """One :class:`critmin.SupplyNetwork` from several EPCIS documents (a lot's
    own and those that produced its inputs): facilities and events united by id; a lot
    described twice keeps the description of the document that produced it."""
    from critmin import SupplyNetwork

    facilities: dict[str, Any] = {}
    lots: dict[str, Any] = {}
    owner: dict[str, bool] = {}
    events: dict[str, Any] = {}
    for source, document in documents:
        net = read_network(document, source)
        produced, _ = _produced_and_used(net)
        for f in net.facilities:
            facilities.setdefault(f.id, f)
        for lot in net.lots:
            if lot.id not in lots or (lot.id in produced and not owner[lot.id]):
                lots[lot.id] = lot
                owner[lot.id] = lot.id in produced
        for ev in net.events:
            events.setdefault(ev.id, ev)
    return SupplyNetwork(
        facilities=tuple(facilities.values()),
        lots=tuple(lots.values()),
        events=tuple(events.values()),
    )
