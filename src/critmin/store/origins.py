"""Stored lot origins: composed once, when a lot is registered, from its inputs' stored origins.

A registry holding millions of lots cannot recompute the network to answer "where does this
lot come from". The composition is a row of ``X = A X + B`` (:mod:`critmin.trace.origin`): a
new lot's origin is its inputs' origins mixed by input mass, with its own stage set to its
facility's country. So each lot's origin is kept (``lot_origins``) with its recipe, and a new
lot reads only its direct inputs' rows: the cost follows the lot's inputs, not the registry.

Inputs registered late. A document may use a lot that no registered document produced (yet):
the lot is untraced (it contributes nothing, as in the batch propagation) and the pair is
kept in ``lot_inputs``. When a later document registers that lot, every stored lot downstream
of it is composed again, in topological order, in the same transaction: stored origins always
equal a full recompute over the registered documents. A registration that would make a lot
(indirectly) an input of itself is refused.

Documents are immutable once registered (a lot id is registered once), so no other event
changes a stored origin; a correction mechanism would recompose the corrected lots' downstream
closure the same way (:func:`store_origins` with the corrected recipes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from critmin import LotOrigin, Recipe, extend_lot_origins, in_topological_order, lot_recipes
from critmin.store.schema import lot_inputs, lot_origins, lots, networks

#: ids per IN (...) list: far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535
CHUNK = 500


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(ids))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def read_origins(conn: sa.Connection, ids: Iterable[str]) -> dict[str, LotOrigin]:
    """Stored origins of those of ``ids`` that have one."""
    out: dict[str, LotOrigin] = {}
    for part in _chunks(ids):
        rows = conn.execute(
            sa.select(lot_origins.c.lot_id, lot_origins.c.origin).where(
                lot_origins.c.lot_id.in_(part)
            )
        )
        for lot_id, origin in rows:
            out[lot_id] = LotOrigin.from_json(origin)
    return out


def read_origin(conn: sa.Connection, lot_id: str) -> LotOrigin | None:
    """One lot's stored origin (None: not registered)."""
    origin = conn.execute(
        sa.select(lot_origins.c.origin).where(lot_origins.c.lot_id == lot_id)
    ).scalar_one_or_none()
    return None if origin is None else LotOrigin.from_json(origin)


def _users(conn: sa.Connection, ids: Iterable[str]) -> set[str]:
    """Stored lots that take any of ``ids`` as an input."""
    out: set[str] = set()
    for part in _chunks(ids):
        out.update(
            conn.execute(
                sa.select(lot_inputs.c.lot_id).where(lot_inputs.c.input_lot_id.in_(part))
            ).scalars()
        )
    return out


def store_origins(conn: sa.Connection, recipes: Mapping[str, Recipe], at: str) -> list[str]:
    """Compose and store the origins of newly registered lots (``recipes``), and compose again
    the stored lots downstream of any of them (registered earlier, waiting for one of them as
    an input). Returns the ids of those recomposed stored lots.

    Reads: one indexed lookup of lots waiting for the new ones and the stored origins of the
    new lots' direct inputs (one query per 500); only when some lots were waiting, their
    downstream closure and its recipes. A set of lots with a cycle (a lot that would be,
    indirectly, an input of itself) is a :class:`critmin.errors.InputError` before anything
    is written to ``lot_origins`` (the caller's transaction rolls the rest back)."""
    new = set(recipes)
    waiting = _downstream(conn, new)
    todo: dict[str, Recipe] = dict(recipes)
    for part in _chunks(waiting):
        for lot_id, recipe in conn.execute(
            sa.select(lot_origins.c.lot_id, lot_origins.c.recipe).where(
                lot_origins.c.lot_id.in_(part)
            )
        ):
            todo[lot_id] = Recipe.from_json(recipe)
    ordered = in_topological_order(todo)  # a cycle through stored lots is found here
    external = {i for r in ordered.values() for i, _ in r.inputs} - set(ordered)
    origins = extend_lot_origins(ordered, read_origins(conn, external))
    conn.execute(
        lot_origins.insert(),
        [
            {"lot_id": k, "origin": origins[k].to_json(), "recipe": r.to_json(), "updated_at": at}
            for k, r in recipes.items()
        ],
    )
    pairs = [
        {"lot_id": k, "input_lot_id": i, "qty_t": q}
        for k, r in recipes.items()
        for i, q in r.inputs
    ]
    if pairs:
        conn.execute(lot_inputs.insert(), pairs)
    for lot_id in sorted(waiting):
        conn.execute(
            lot_origins.update()
            .where(lot_origins.c.lot_id == lot_id)
            .values(origin=origins[lot_id].to_json(), updated_at=at)
        )
    return sorted(waiting)


def _downstream(conn: sa.Connection, lots_: set[str]) -> set[str]:
    """Stored lots that use any of ``lots_``, directly or through other stored lots (not
    ``lots_`` themselves)."""
    closure: set[str] = set()
    frontier = _users(conn, lots_) - lots_
    while frontier:
        closure |= frontier
        frontier = _users(conn, frontier) - closure - lots_
    return closure


def document_recipes(network: Any, produced: Iterable[str]) -> dict[str, Recipe]:
    """The recipes of the lots a document registers (``produced``), in topological order."""
    keep = set(produced)
    return {k: r for k, r in lot_recipes(network).items() if k in keep}


def backfill_origins(engine: sa.Engine) -> int:
    """Store the origins of lots registered before origins were stored (migration 0004):
    document by document in registration order; a lot whose input was registered by a later
    document is recomposed when that document is reached. Returns the number of lots done."""
    from critmin import from_epcis
    from critmin.store.audit import now_iso

    with engine.connect() as conn:
        missing = conn.execute(
            sa.select(lots.c.id)
            .outerjoin(lot_origins, lot_origins.c.lot_id == lots.c.id)
            .where(lot_origins.c.lot_id.is_(None))
            .limit(1)
        ).first()
    if missing is None:
        return 0
    done = 0
    with engine.begin() as conn:
        todo = conn.execute(
            sa.select(lots.c.id, lots.c.document_id)
            .outerjoin(lot_origins, lot_origins.c.lot_id == lots.c.id)
            .where(lot_origins.c.lot_id.is_(None))
            .order_by(lots.c.document_id)
        ).all()
        by_doc: dict[int, set[str]] = {}
        for lot_id, doc_id in todo:
            by_doc.setdefault(doc_id, set()).add(lot_id)
        for doc_id, ids in sorted(by_doc.items()):
            document = conn.execute(
                sa.select(networks.c.document).where(networks.c.id == doc_id)
            ).scalar_one()
            net = from_epcis(dict(document), source=f"document {doc_id}")
            store_origins(conn, document_recipes(net, ids), now_iso())
            done += len(ids)
    return done
