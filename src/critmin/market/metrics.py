"""Headline quantities that mean what their names say: physical shortage apart from demand
reduction by price, per product in that product's basis, never added across stages.

Definitions (per chain, month, demand block ``b`` at node ``n``; ``q`` = the bid in force,
``x`` = what was served, ``w`` = its willingness to pay, ``p`` = the node's cleared price;
``u = q - x`` is what the block did not get):

* **physical shortage** (t): demand that the market could not serve at any price the model
  allows -- the unmet part of

  - every *critical* bid (defence and other must-serve demand), whatever the price;
  - the top step of every demand curve (the demand still there at the curve's highest
    price), whatever the price: a price at or above a curve's ceiling is outside the curve;
  - every explicit (non-curve) bid that is rationed (``w >= p``: it would pay the price yet
    was not served). A node no supply may reach (bans, quotas) prices at its highest bid and
    leaves that bid rationed, so it counts here.

  The interior steps of a demand curve are never physical shortage: below the clearing price
  they are consumers choosing to buy less (demand reduction by price), at it the step is the
  curve's discretisation (:mod:`critmin.market.curves`).
* **demand reduction by price** (t, in a comparison with a baseline run): per product and
  region, consumption below the baseline's that is not explained by more physical shortage,
  ``max(cons_base - cons - max(short - short_base, 0), 0)``, summed over regions and months.
* **months of physical shortage**: months in which some product's physical shortage exceeds
  :data:`SHORTAGE_TOL_T`.
* **price set by a demand ceiling**: a node-month whose price equals the bid of a critical,
  ceiling or explicit block that is left (partly) unserved -- the price is then an assumed
  willingness to pay or the end of a curve, not a supply cost; the outputs list such cases.

Every quantity is reported per product in the product's basis (``ProductDef.basis``, e.g.
``t NdPr oxide eq.``; default ``t <product>``): tonnes of concentrate, oxide, metal and magnet
are different goods and are never summed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.market.engine import MarketRun
from critmin.market.spec import Market

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SHORTAGE_TOL_T = 1e-3
#: relative tolerance for "the price equals this bid" (HiGHS duals are exact to ~1e-9)
PRICE_REL_TOL = 1e-6

ROLE_CRITICAL, ROLE_CEILING, ROLE_STEP = "critical bid", "curve ceiling", "curve step"
ROLE_BID = "bid"


def _market(run: MarketRun) -> Market | None:
    # compile keeps the validated market beside the arrays (for the assumptions rows); the
    # demand blocks are in the same order as the ``d_*`` arrays
    cited = getattr(run.cm, "_cited", None)
    return cited[0] if cited else None


def block_roles(run: MarketRun) -> list[str]:
    """Per demand block of the chain: critical bid, curve ceiling, curve step or (explicit) bid."""
    return _roles(run.cm).tolist()


def _roles(cm: Any) -> npt.NDArray[np.str_]:
    """:func:`block_roles` as an array, cached on the compiled market as
    :func:`~critmin.market.curves.curve_step_mask` is (the roles are a function of the
    market's blocks): a sweep reads them for every chain of every sample, three times (the
    node table's shortage and the physical figures), and building them walks every block."""
    cached = cm.__dict__.get("_block_roles")
    if cached is None:
        cited = getattr(cm, "_cited", None)
        # compile keeps the validated market beside the arrays; its demand blocks are in
        # the same order as the ``d_*`` arrays
        blocks = list(cited[0].demand) if cited else []
        roles: list[str] = []
        for j in range(len(cm.d_wtp)):
            if bool(cm.d_critical[j]):
                roles.append(ROLE_CRITICAL)
            elif j < len(blocks) and blocks[j].curve is not None:
                roles.append(ROLE_CEILING if blocks[j].curve_ceiling else ROLE_STEP)
            else:
                roles.append(ROLE_BID)
        cached = np.array(roles)
        cached.flags.writeable = False
        cm.__dict__["_block_roles"] = cached
    return cached


def product_basis(run: MarketRun) -> dict[str, str]:
    """What a tonne of each product of the chain counts (``ProductDef.basis``)."""
    market = _market(run)
    basis: dict[str, str] = {}
    if market is not None:
        for pdef in market.product_defs():
            basis[pdef.id] = pdef.basis or f"t {pdef.id}"
    for pid in run.cm.products:
        basis.setdefault(pid, f"t {pid}")
    return basis


def shortage_by_block(run: MarketRun) -> tuple[FloatArray, BoolArray]:
    """``(n_months, n_blocks)`` physical shortage in t, and where a block's bid sets the price."""
    cm = run.cm
    roles = _roles(cm)
    unserved = np.maximum(run.d_qty - run.demand, 0.0)
    price = run.price[:, cm.d_node]
    wtp = np.broadcast_to(cm.d_wtp, price.shape)
    at_price = np.abs(price - wtp) <= PRICE_REL_TOL * np.maximum(1.0, wtp)
    rationed = (wtp >= price) | at_price
    ceiling_like = (roles == ROLE_CEILING) | (roles == ROLE_BID)
    # a critical bid and a curve's ceiling count whatever the price: above the ceiling the
    # curve is not defined (the model's price there is a neighbour's plus transport, not a
    # willingness to pay); an explicit bid counts only when rationed at its own price
    always = (roles == ROLE_CRITICAL) | (roles == ROLE_CEILING)
    counted = always[None, :] | ((roles == ROLE_BID)[None, :] & rationed)
    short = np.where(counted, unserved, 0.0)
    critical = roles == ROLE_CRITICAL
    sets_price = at_price & (unserved > SHORTAGE_TOL_T) & (critical | ceiling_like)[None, :]
    return short, sets_price


#: the figures :func:`physical_metrics` returns (a sweep computes them only when an outcome
#: names one of them; a test checks the two agree)
PHYSICAL_FIGURES = frozenset(
    {
        "product_basis",
        "physical_shortage_t_by_product",
        "physical_shortage_critical_t_by_product",
        "physical_shortage_months",
        "physical_shortage_months_by_product",
        "consumption_t_by_product",
        "physical_shortage_t_by_node",
        "consumption_t_by_node",
        "price_set_by_demand_ceiling",
        "chains",
    }
)


def physical_metrics(runs: Sequence[MarketRun]) -> dict[str, Any]:
    """Physical shortage, consumption and demand-ceiling prices of one scenario's chains."""
    short_by_product: dict[str, float] = {}
    crit_by_product: dict[str, float] = {}
    cons_by_product: dict[str, float] = {}
    short_by_node: dict[str, float] = {}
    cons_by_node: dict[str, float] = {}
    months_by_product: dict[str, int] = {}
    basis: dict[str, str] = {}
    ceilings: list[dict[str, Any]] = []
    chains: dict[str, list[str]] = {}
    any_month: BoolArray | None = None
    for run in runs:
        cm = run.cm
        chains[cm.mineral] = list(cm.products)
        months = cm.month_labels()
        basis.update(product_basis(run))
        short, sets_price = shortage_by_block(run)
        roles = block_roles(run)
        node_prod = cm.node_product[cm.d_node]
        node_reg = cm.node_region[cm.d_node]
        crit = np.asarray(cm.d_critical, dtype=bool)
        for pi, product in enumerate(cm.products):
            cols = node_prod == pi
            if not cols.any():
                continue
            per_month = short[:, cols].sum(axis=1)
            short_by_product[product] = short_by_product.get(product, 0.0) + float(per_month.sum())
            crit_by_product[product] = crit_by_product.get(product, 0.0) + float(
                short[:, cols & crit].sum()
            )
            cons_by_product[product] = cons_by_product.get(product, 0.0) + float(
                run.demand[:, cols].sum()
            )
            flagged = per_month > SHORTAGE_TOL_T
            months_by_product[product] = months_by_product.get(product, 0) + int(flagged.sum())
            any_month = flagged if any_month is None else (any_month | flagged)
            for ri in np.unique(node_reg[cols]):
                sel = cols & (node_reg == ri)
                key = f"{product}/{cm.regions[int(ri)]}"
                short_by_node[key] = short_by_node.get(key, 0.0) + float(short[:, sel].sum())
                cons_by_node[key] = cons_by_node.get(key, 0.0) + float(run.demand[:, sel].sum())
        for j in np.flatnonzero(sets_price.any(axis=0)):
            hit = np.flatnonzero(sets_price[:, j])
            ceilings.append(
                {
                    "product": cm.products[int(node_prod[j])],
                    "region": cm.regions[int(node_reg[j])],
                    "block": cm.d_name[j],
                    "kind": roles[j],
                    "price_usd_per_t": float(cm.d_wtp[j]),
                    "months": len(hit),
                    "first_month": months[int(hit[0])],
                    "last_month": months[int(hit[-1])],
                }
            )
    ceilings.sort(key=lambda c: (c["product"], c["region"], c["first_month"], c["block"]))
    return {
        "product_basis": dict(sorted(basis.items())),
        "physical_shortage_t_by_product": _clean(short_by_product),
        "physical_shortage_critical_t_by_product": _clean(crit_by_product),
        "physical_shortage_months": int(any_month.sum()) if any_month is not None else 0,
        "physical_shortage_months_by_product": dict(sorted(months_by_product.items())),
        "consumption_t_by_product": _clean(cons_by_product),
        "physical_shortage_t_by_node": _clean(short_by_node),
        "consumption_t_by_node": _clean(cons_by_node),
        "price_set_by_demand_ceiling": ceilings,
        # each market's products in chain order (the report's Sankey follows it)
        "chains": chains,
    }


def compare_physical(base: Mapping[str, Any], scenario: Mapping[str, Any]) -> dict[str, Any]:
    """Demand reduction by price and the change of physical shortage against ``base``
    (both :func:`physical_metrics` dicts), per product."""
    b_cons, s_cons = base["consumption_t_by_node"], scenario["consumption_t_by_node"]
    b_short, s_short = base["physical_shortage_t_by_node"], scenario["physical_shortage_t_by_node"]
    reduction: dict[str, float] = {}
    # only products both runs model: a scenario of another market has no "reduction"
    shared = set(base["consumption_t_by_product"]) & set(scenario["consumption_t_by_product"])
    for node in sorted(set(b_cons) | set(s_cons)):
        product = node.rsplit("/", 1)[0]
        if product not in shared:
            continue
        more_short = max(s_short.get(node, 0.0) - b_short.get(node, 0.0), 0.0)
        cut = max(b_cons.get(node, 0.0) - s_cons.get(node, 0.0) - more_short, 0.0)
        reduction[product] = reduction.get(product, 0.0) + cut
    key = "physical_shortage_t_by_product"
    b_prod, s_prod = base[key], scenario[key]
    change = {p: s_prod.get(p, 0.0) - b_prod.get(p, 0.0) for p in sorted(set(b_prod) & set(s_prod))}
    return {
        "demand_reduction_by_price_t_by_product": _clean(reduction),
        "physical_shortage_change_t_by_product": _clean(change),
    }


def _clean(values: Mapping[str, float]) -> dict[str, float]:
    """Sorted, rounded to the gram, and never ``-0.0`` (which prints as a negative zero)."""
    return {k: round(v, 6) + 0.0 for k, v in sorted(values.items())}
