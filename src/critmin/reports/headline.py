"""The policy figures of a run, per scenario, with their change against the baseline run.

One table for the terminal (``critmin run``) and the report: rows are figures (physical
shortage per product in its basis, months of physical shortage, demand reduction by price,
levy revenue, floor fiscal cost, subsidy per tonne kept, cost to OEMs, days of cover), columns
are scenarios; a scenario's cell carries its change against the baseline scenario of the
summary (``summary["baseline_scenario"]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from critmin.reports import fmt


@dataclass(frozen=True)
class Row:
    """One figure: its label, unit note and the formatted cell per scenario."""

    label: str
    cells: list[str]


def _get(metrics: Mapping[str, Any], key: str, sub: str | None = None) -> float | None:
    value = metrics.get(key)
    if sub is not None:
        value = value.get(sub) if isinstance(value, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _signed(formatted: str) -> str:
    return formatted if formatted.startswith(("-", fmt.DASH)) else f"+{formatted}"


def _cell(
    value: float | None,
    base: float | None,
    show: Callable[[object], str],
    is_base: bool,
    compare: bool,
) -> str:
    if value is None:
        return fmt.DASH
    text = show(value)
    if is_base or not compare or base is None:
        return text
    delta = value - base
    if abs(delta) < 1e-9 * max(1.0, abs(base)):
        return f"{text} (±0)"
    return f"{text} ({_signed(show(delta))})"


def policy_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[Row]]:
    """Scenario names (columns) and the figure rows of ``summary``.

    "demand cut by price" is consumption below the baseline's that is not physical shortage;
    "cost to OEMs vs baseline" is the price rise over the baseline times the tonnes consumed
    (``oem_security_premium_usd``); both are already differences, so they get no change note."""
    scenarios: Sequence[Mapping[str, Any]] = summary["scenarios"]
    names = [str(s["name"]) for s in scenarios]
    base_name = summary.get("baseline_scenario")
    metrics = [s["metrics"] for s in scenarios]
    base = next((s["metrics"] for s in scenarios if s["name"] == base_name), None)
    rows: list[Row] = []

    def add(
        label: str,
        key: str,
        show: Callable[[object], str],
        sub: str | None = None,
        compare: bool = True,
    ) -> None:
        values = [_get(m, key, sub) for m in metrics]
        if all(v is None for v in values):
            return
        ref = _get(base, key, sub) if base is not None else None
        cells = [
            _cell(v, ref, show, s["name"] == base_name, compare)
            for v, s in zip(values, scenarios, strict=True)
        ]
        rows.append(Row(label, cells))

    basis: dict[str, str] = {}
    for m in metrics:
        basis.update(m.get("product_basis") or {})
    products = sorted({p for m in metrics for p in m.get("physical_shortage_t_by_product") or {}})
    for product in products:
        unit = basis.get(product, f"t {product}")
        add(
            f"physical shortage, {unit}",
            "physical_shortage_t_by_product",
            fmt.tonnes,
            sub=product,
        )
    add("months of physical shortage", "physical_shortage_months", _months)
    for product in products:
        unit = basis.get(product, f"t {product}")
        add(
            f"demand cut by price, {unit}",
            "demand_reduction_by_price_t_by_product",
            fmt.tonnes,
            sub=product,
            compare=False,  # already a difference against the baseline
        )
    add("levy revenue", "levy_revenue_usd", fmt.money)
    add("floor fiscal cost", "floor_fiscal_cost_usd", fmt.money)
    add(
        "subsidy per tonne kept", "subsidy_kept_usd_per_t", _per_tonne, compare=False
    )  # a ratio: its difference means little
    add("cost to OEMs vs baseline", "oem_security_premium_usd", fmt.money, compare=False)
    covers = sorted({k for m in metrics for k in m.get("days_of_cover_last") or {}})
    for key in covers:
        add(f"days of cover at end, {key}", "days_of_cover_last", fmt.days, sub=key)
    return names, rows


def ceiling_lines(summary: Mapping[str, Any], limit: int = 6) -> list[str]:
    """Per scenario, the node-months whose price was set by a demand ceiling (an assumed
    willingness to pay or the top of a demand curve), shortest first lines."""
    lines: list[str] = []
    for s in summary["scenarios"]:
        hits = s["metrics"].get("price_set_by_demand_ceiling") or []
        if not hits:
            continue
        parts = [
            f"{h['product']} {h['region']} ({h['kind']}, {fmt.price(h['price_usd_per_t'])}, "
            f"{h['months']} mo from {h['first_month']})"
            for h in hits[:limit]
        ]
        more = f" and {len(hits) - limit} more" if len(hits) > limit else ""
        lines.append(f"{s['name']}: price set by a demand ceiling at " + "; ".join(parts) + more)
    return lines


def _months(value: object) -> str:
    return fmt.by_quantity(value, fmt.Quantity.MONTHS)


def _per_tonne(value: object) -> str:
    return fmt.price(value, "USD/t")
