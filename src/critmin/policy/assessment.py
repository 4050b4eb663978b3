"""The FORGE levy on one import declaration, step by step: what a customs office or the
registry service (``critmin serve``) charges on a single consignment.

The rule and the dated parameters are the market run's own: the instrument of
:mod:`critmin.policy.instruments.forge_levy` (its reference price, its ad-valorem bound, its
``variable_levy`` and its membership resolution), with the baseline parameters
(``docs/parameters.md``) in force on the last day of the declaration's month. Public as
:func:`critmin.assess_levy` and :func:`critmin.parameter_in_force` (docs/api.md); the
service calls them and keeps no copy of the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from critmin import __version__
from critmin.errors import InputError

LEVY_BLOC = "forge"


def parameter_in_force(name: str, month: str) -> dict[str, Any] | None:
    """A baseline parameter's dated value in force in ``month`` (``YYYY-MM``; on its last
    day, as a market run reads it) with its unit and reference; None when the parameter does
    not exist or is not yet in force."""
    from critmin.policy.parameters import baseline, month_end

    params = baseline()
    if name not in params:
        return None
    p = params[name]
    entry = p.entry_at(month_end(month))
    if entry is None:
        return None
    return {
        "name": name,
        "value": entry.value,
        "unit": p.unit,
        "in_force_from": entry.start.isoformat(),
        "reference": entry.reference,
        "estimate": entry.estimate,
    }


@lru_cache(maxsize=256)
def _levy(product: str, reference_usd_per_t: float | None) -> Any:
    """The instrument, built once per explicit reference price (not per declaration: building
    validates its spec and reads the parameters)."""
    from critmin.policy.instruments.forge_levy import ForgeLevySpec

    explicit = {} if reference_usd_per_t is None else {product: reference_usd_per_t}
    return ForgeLevySpec(bloc=LEVY_BLOC, reference_prices_usd_per_t=explicit).build()


# long: every step of the assessment in the order the declarant reads them in the answer
def assess_levy(
    *,
    product: str,
    quantity_t: float,
    customs_value_usd: float,
    declared_on: dt.date,
    origin_shares: Mapping[str, float],
    published: Mapping[str, Any] | None = None,
    members: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The FORGE levy on one import declaration, with every step.

    ``origin_shares``: country (ISO3) -> share of the goods (a declared origin is
    ``{"CHN": 1.0}``; a traced lot gives its shares at a stage). ``published``: a reference
    price published for the product and month (``price_usd_per_t``, and ``id``, ``version``,
    ``status``, ``month`` to cite it); None = the baseline parameter
    ``forge.reference_price.<product>``. ``members``: the member countries (ISO3) on the
    month's last day; None = the catalog's bloc, as in a market run.

    The instrument's own rule (:mod:`critmin.policy.instruments.forge_levy`), per tonne::

        levy_usd_per_t = min(max(reference - landed, 0), bound)
        landed = customs value / quantity;  bound = ad-valorem share x landed

    applied to the share of the goods whose origin is outside FORGE in the declaration's
    month (members trade duty-free); parameters and membership are resolved as the
    instrument resolves them in a market run: in force on the last day of the month.
    Returns ``month``, ``levy_usd``, ``levy_usd_per_t``, ``steps`` (each with its value,
    unit, rule and the parameter or price it used) and ``critmin_version``.
    """
    from critmin.policy.instruments.forge_levy import member_regions, variable_levy
    from critmin.policy.parameters import month_end, parse_month

    if quantity_t <= 0:
        raise InputError("quantity_t must be > 0", where="field 'quantity_t'")
    month = parse_month(declared_on)
    steps: list[dict[str, Any]] = []
    levy = _levy(product, float(published["price_usd_per_t"]) if published else None)
    active = levy.active(month)
    in_force = parameter_in_force(f"{LEVY_BLOC}.in_force", month)
    steps.append(
        {
            "step": "instrument_in_force",
            "value": active,
            "rule": f"{LEVY_BLOC}.in_force on {month_end(month).isoformat()}",
            "parameter": in_force,
        }
    )
    reference = levy.reference(product, month) if active else None
    if published:
        ref_source: dict[str, Any] = {
            "source": "published reference price",
            "price_id": published["id"],
            "version": published["version"],
            "status": published["status"],
            "month": published["month"],
        }
    else:
        ref_source = {
            "source": "baseline parameter",
            "parameter": parameter_in_force(f"{LEVY_BLOC}.reference_price.{product}", month),
        }
    steps.append({"step": "reference_price", "value": reference, "unit": "usd_per_t", **ref_source})
    landed = customs_value_usd / quantity_t
    steps.append(
        {
            "step": "landed_price",
            "value": landed,
            "unit": "usd_per_t",
            "rule": "customs_value_usd / quantity_t",
        }
    )
    per_t = 0.0
    if reference is not None:
        bound = levy.bound(product, month, landed)
        steps.append(
            {
                "step": "bound",
                "value": bound,
                "unit": "usd_per_t",
                "rule": "ad-valorem share x landed price",
                "parameter": parameter_in_force(f"{LEVY_BLOC}.levy_bound.ad_valorem_share", month),
            }
        )
        per_t = variable_levy(reference, landed, bound)
        steps.append(
            {
                "step": "levy_rate",
                "value": per_t,
                "unit": "usd_per_t",
                "rule": "min(max(reference - landed, 0), bound)",
            }
        )
    inside = (
        member_regions(LEVY_BLOC, list(origin_shares), month, members=members)
        if active
        else frozenset()
    )
    total = 0.0
    by_origin = []
    for country, share in sorted(origin_shares.items()):
        member = country in inside
        amount = 0.0 if member else per_t * quantity_t * share
        total += amount
        by_origin.append(
            {
                "country_iso3": country,
                "share": share,
                "forge_member": member,
                "quantity_t": quantity_t * share,
                "levy_usd": amount,
            }
        )
    steps.append(
        {
            "step": "origin",
            "value": by_origin,
            "rule": "members trade duty-free; levy_usd = levy_rate x quantity_t x share "
            "for each non-member origin",
            "membership": "registry membership records"
            if members is not None
            else f"critmin catalog bloc {LEVY_BLOC!r}",
        }
    )
    steps.append({"step": "levy", "value": total, "unit": "usd"})
    return {
        "month": month,
        "levy_usd": total,
        "levy_usd_per_t": per_t,
        "steps": steps,
        "critmin_version": __version__,
    }
