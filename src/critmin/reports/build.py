"""Assemble the self-contained ``report.html`` and write it atomically.

:func:`build_report` is the one entry point: check the contract, draw the figures, lay out
the sections, inline plotly.js exactly once, write to a temporary file beside
``out_path`` and rename it into place. If anything fails, no file (and no partial file)
is left at ``out_path``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from critmin.errors import InputError
from critmin.fileio import atomic_write_text
from critmin.reports import figures, fmt
from critmin.reports.contract import RunView, run_view

#: Summary metrics with their own place in the KPI strip, in display order.
STANDARD_METRICS: tuple[str, ...] = (
    "physical_shortage_months",
    "tariff_revenue_usd",
    "avg_price_usd_per_t",
    "peak_price_usd_per_t",
)
#: Metrics the comparison does not list: bookkeeping for other figures (per-node totals,
#: product bases, the ceiling list shown in its own table) and the older "unserved" figures,
#: which added priced-out bids and tonnes of different products together
HIDDEN_METRICS: frozenset[str] = frozenset(
    {
        "product_basis",
        "chains",
        "price_set_by_demand_ceiling",
        "consumption_t_by_node",
        "physical_shortage_t_by_node",
        "unserved_t",
        "unserved_t_by_region",
        "unserved_critical_t",
        "shortage_months",
        "production_change_t",
    }
)
#: The managed-market comparison block, in the order of the issue (issue 4 part 6): metric
#: (aliases: older names of the same figure), row label, one-line definition.
MANAGED_BLOCK: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("avg_price_inside_forge_usd_per_t",),
        "Price inside FORGE",
        "Mean clearing price over the months and nodes of FORGE members (that month), per "
        "product, in USD/kg.",
    ),
    (
        ("avg_price_outside_forge_usd_per_t",),
        "Price outside FORGE",
        "Mean clearing price over the months and nodes of non-members, per product, in USD/kg.",
    ),
    (
        ("physical_shortage_t_by_product",),
        "Physical shortage",
        "Demand no supply could meet: unmet critical bids and the demand still there at a "
        "demand curve's ceiling price, per product in its own tonnes, summed over months. "
        "Buyers priced out along a curve are not counted here.",
    ),
    (
        ("physical_shortage_months",),
        "Months of physical shortage",
        "Months in which some product's physical shortage exceeds 0.001 t.",
    ),
    (
        ("demand_reduction_by_price_t_by_product",),
        "Demand cut by price",
        "Consumption below the baseline run's that is not physical shortage: buyers who bought "
        "less at the higher price, per product, summed over months and regions.",
    ),
    (
        ("days_of_cover_last",),
        "Days of cover, end of run",
        "Stockpile inventory ÷ the protected consumption per day, per account "
        "(product/region), in the last month.",
    ),
    (
        ("days_of_cover_min",),
        "Days of cover, lowest month",
        "The lowest monthly days of cover per account: how far releases drew the stock down.",
    ),
    (
        ("floor_fiscal_cost_usd", "fiscal_cost_of_floors_usd"),
        "Fiscal cost of the floors",
        "Top-up and purchase-floor payments by governments, summed over the run.",
    ),
    (
        ("levy_revenue_usd",),
        "Levy revenue",
        "Border adjustment collected by members on imports from non-members, over the run.",
    ),
    (
        ("oem_security_premium_usd",),
        "Cost to OEMs (security premium)",
        "Σ (price − free-trade price, same month and node) × consumption: what buyers pay "
        "above free trade.",
    ),
    (
        ("oem_security_premium_usd_per_t_by_product", "oem_security_premium_usd_per_t"),
        "Security premium per tonne consumed",
        "Each product's security premium divided by its own tonnes consumed (tonnes of "
        "different products are not added).",
    ),
    (
        ("subsidy_kept_usd_per_t", "subsidy_usd_per_t_kept", "floor_subsidy_usd_per_t"),
        "Subsidy per tonne kept in production",
        "Fiscal cost of the floors ÷ protected output produced in months when the market "
        "price is below its cost (output a price-taker would have shut).",
    ),
)
#: Metrics of the block that show it is a managed-market run (the others are always there).
_MANAGED_MARKERS: frozenset[str] = frozenset(
    name for names, _, _ in MANAGED_BLOCK for name in names
) - {"physical_shortage_t_by_product", "physical_shortage_months",
     "demand_reduction_by_price_t_by_product"}  # fmt: skip
#: At most this many KPI tiles per scenario; everything else is in the comparison table.
MAX_KPIS = 8
#: Series variables summed over the run in the "series totals" table.
TOTAL_VARIABLES: tuple[str, ...] = (
    "production",
    "consumption",
    "physical_shortage",
    "tariff_revenue",
    "consumer_surplus",
    "producer_surplus",
)

_e = html.escape


#: plotly.js with only the trace types the report draws (scatter, bar, sankey): 1.4 MB instead
#: of the full 4.8 MB bundle (how it is built: scripts/plotly_bundle/README.md)
PLOTLY_BUNDLE = "plotly-critmin.min.js"
#: the trace types in :data:`PLOTLY_BUNDLE`; a figure of another type would not render
BUNDLED_TRACES = frozenset({"scatter", "bar", "sankey"})


def _template(name: str) -> str:
    return (resources.files("critmin.reports") / "templates" / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- cells


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _data_value(value: object) -> str:
    """The exact value in a ``data-value`` attribute (empty when missing)."""
    if _is_number(value):
        return repr(value) if isinstance(value, int) else repr(float(value))  # type: ignore[arg-type]
    return "" if value is None else str(value)


def _value_cell(
    value: object,
    scenario: str,
    text: str,
    reference: object = None,
    reference_name: str | None = None,
) -> str:
    if value is None:
        return (
            f'<td class="num missing" data-scenario="{_e(scenario)}" data-value="">{fmt.DASH}</td>'
        )
    delta = ""
    if reference_name is not None:
        change = fmt.change(value, reference)
        if change is None or change.text == "±0":
            delta = '<span class="delta"></span>'  # keeps the column aligned
        else:
            cls = {1: "up", -1: "down", 0: "flat"}[change.direction]
            delta = (
                f'<span class="delta {cls}" title="vs {_e(reference_name)}">'
                f"{_e(change.text)}</span>"
            )
    return (
        f'<td class="num" data-scenario="{_e(scenario)}" data-value="{_e(_data_value(value))}">'
        f"{_e(text)}{delta}</td>"
    )


def _metric_text(name: str, value: object, price_unit: str | None = None) -> str:
    if value is None:
        return fmt.DASH
    if not _is_number(value):
        return str(value)
    return fmt.by_quantity(value, fmt.quantity_of_metric(name), price_unit)


# --------------------------------------------------------------------------- KPI strip


def _unserved_share(view: RunView, scenario: str) -> float | None:
    series = view.series[view.series["scenario"] == scenario]
    unserved = float(series.loc[series["variable"] == "unserved", "value"].sum())
    consumed = float(series.loc[series["variable"] == "consumption", "value"].sum())
    if consumed + unserved <= 0:
        return None
    return unserved / (consumed + unserved)


def _months_in(view: RunView, scenario: str) -> int:
    return int(view.series.loc[view.series["scenario"] == scenario, "month"].nunique())


def _largest_price_rise(
    view: RunView, metrics: Mapping[str, object], reference: Mapping[str, object]
) -> tuple[float, str] | None:
    mine, ref = metrics.get("avg_price_usd_per_t"), reference.get("avg_price_usd_per_t")
    if not isinstance(mine, Mapping) or not isinstance(ref, Mapping):
        return None
    best: tuple[float, str] | None = None
    for key, value in mine.items():
        base = ref.get(key)
        if not (_is_number(value) and _is_number(base)) or float(base) <= 0:  # type: ignore[arg-type]
            continue
        rel = float(value) / float(base) - 1.0  # type: ignore[arg-type]
        if best is None or rel > best[0]:
            best = (rel, _key_label(view, str(key)))
    return best


def _baseline_index(view: RunView) -> int:
    """Position of the scenario the others are compared with: the summary's
    ``baseline_scenario`` (``critmin run --baseline``), else the first."""
    name = view.summary.get("baseline_scenario")
    names = list(view.scenario_names)
    return names.index(name) if isinstance(name, str) and name in names else 0


def _kpi(label: str, value: str, detail: str = "") -> str:
    extra = f'<div class="detail">{_e(detail)}</div>' if detail else ""
    return (
        f'<div class="kpi"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div>{extra}</div>'
    )


def _first_metric(metrics: Mapping[str, object], names: Sequence[str]) -> tuple[str, object]:
    """The first of ``names`` the scenario reports, with its value (``(names[0], None)``)."""
    for name in names:
        if name in metrics:
            return name, metrics[name]
    return names[0], None


def _present(view: RunView, names: Sequence[str]) -> bool:
    return any(name in s.metrics for s in view.scenarios for name in names)


def _cover_kpi(value: object) -> tuple[str, str]:
    """Days of cover (a ``{account: days}`` dict): the lowest account and its name."""
    if not isinstance(value, Mapping):
        return _metric_text("days_of_cover", value), ""
    numbers = {str(k): float(v) for k, v in value.items() if _is_number(v)}
    if not numbers:
        return fmt.DASH, ""
    account = min(numbers, key=lambda k: numbers[k])
    return fmt.days(numbers[account]), f"lowest account at the end: {account.replace('/', ' · ')}"


def _headline_tiles(view: RunView) -> list[tuple[tuple[str, ...], str, str]]:
    """The optional tiles (metric aliases, label, detail kind) shown for this run, in order."""
    tiles: list[tuple[tuple[str, ...], str, str]] = []
    if any(_is_number(s.metrics.get("tariff_revenue_usd")) and s.metrics["tariff_revenue_usd"]
           for s in view.scenarios):  # fmt: skip
        tiles.append((("tariff_revenue_usd",), "Tariff revenue", "over the run"))
    tiles += [
        (("oem_security_premium_usd",), "Cost to OEMs", "premium"),
        (("levy_revenue_usd",), "Levy revenue", "over the run"),
        (
            ("floor_fiscal_cost_usd", "fiscal_cost_of_floors_usd"),
            "Floor fiscal cost",
            "over the run",
        ),
        (("days_of_cover_last",), "Days of cover", "cover"),
        (
            ("subsidy_kept_usd_per_t", "subsidy_usd_per_t_kept", "floor_subsidy_usd_per_t"),
            "Subsidy per t kept",
            "",
        ),
    ]
    return [t for t in tiles if _present(view, t[0])]


def _shortage_kpi(metrics: Mapping[str, object]) -> str:
    """Physical shortage: the product with the most (in its own tonnes), the others named in
    the detail; older summaries without it fall back to their unserved demand."""
    by_product = metrics.get("physical_shortage_t_by_product")
    if not isinstance(by_product, Mapping):
        return _kpi(
            fmt.humanize("unserved_t"), fmt.tonnes(metrics.get("unserved_t")), "all products"
        )
    basis = metrics.get("product_basis")
    basis = basis if isinstance(basis, Mapping) else {}
    short = {str(k): float(v) for k, v in by_product.items() if _is_number(v) and float(v) > 1e-6}
    if not short:
        return _kpi("Physical shortage", "none", "no product short in any month")
    order = sorted(short, key=lambda k: -short[k])
    top = order[0]
    others = "; ".join(f"{fmt.tonnes(short[k])} {basis.get(k, k)}" for k in order[1:3])
    return _kpi(
        "Physical shortage",
        fmt.tonnes(short[top]),
        f"{basis.get(top, top)}" + (f"; also {others}" if others else ""),
    )


def _premium_detail(metrics: Mapping[str, object]) -> str:
    """The premium per tonne of the product that carries most of it (per tonne of *that*
    product: tonnes of different products are not added); older summaries kept one figure
    over all products."""
    by_product = metrics.get("oem_security_premium_usd_by_product")
    per_t = metrics.get("oem_security_premium_usd_per_t_by_product")
    if isinstance(by_product, Mapping) and isinstance(per_t, Mapping):
        ranked = [k for k in by_product if _is_number(by_product[k]) and _is_number(per_t.get(k))]
        if ranked:
            top = max(ranked, key=lambda k: abs(float(by_product[k])))
            if float(by_product[top]) == 0.0:
                return "vs free trade"
            return f"{fmt.price(per_t[top], 'USD/t')} of {top} consumed, vs free trade"
    old = metrics.get("oem_security_premium_usd_per_t")
    if _is_number(old):
        return f"{fmt.price(old, 'USD/t')} consumed, vs free trade"
    return "vs free trade"


def _kpi_section(view: RunView) -> str:
    first = view.scenarios[_baseline_index(view)]
    tiles = _headline_tiles(view)[: MAX_KPIS - 3]
    shown: set[str] = {
        "physical_shortage_t_by_product",
        "physical_shortage_months",
        "avg_price_usd_per_t",
    } | HIDDEN_METRICS
    shown.update(name for names, _, _ in tiles for name in names)
    rows = []
    for scenario in view.scenarios:
        m = scenario.metrics
        cards = [_shortage_kpi(m)]
        months_key = (
            "physical_shortage_months" if "physical_shortage_months" in m else "shortage_months"
        )
        if _present(view, [months_key]):
            cards.append(
                _kpi(
                    "Months of physical shortage",
                    fmt.number(m.get(months_key)),
                    f"of {_months_in(view, scenario.name)} months",
                )
            )
        if scenario is first:
            cards.append(_kpi("Largest price rise", fmt.DASH, "reference scenario"))
        else:
            rise = _largest_price_rise(view, m, first.metrics)
            cards.append(
                _kpi(
                    "Largest price rise",
                    f"{rise[0] * 100:+.1f}%" if rise is not None else fmt.DASH,
                    f"{rise[1]}, average vs {first.name}" if rise is not None else "",
                )
            )
        for names, label, detail in tiles:
            name, value = _first_metric(m, names)
            if detail == "cover":
                text, detail_text = _cover_kpi(value)
            elif detail == "premium":
                text = _metric_text(name, value)
                detail_text = _premium_detail(m)
            elif name.endswith("_per_t") or "_per_t_" in name:
                # a per-tonne figure stays per tonne (USD/kg would misread as a price)
                text, detail_text = fmt.price(value, "USD/t"), detail
            else:
                text, detail_text = _metric_text(name, value), detail
            cards.append(_kpi(label, text, detail_text if value is not None else ""))
        rows.append(
            '<div class="kpi-row"><div class="kpi-scn">'
            f'<div class="name">{_e(scenario.name)}</div>'
            f'<div class="desc" title="{_e(scenario.description)}">{_e(scenario.description)}</div>'
            f'<div class="period">{_e(scenario.start)} – {_e(scenario.end)}</div></div>'
            f'<div class="kpis">{"".join(cards)}</div></div>'
        )
    rest = {n for s in view.scenarios for n in s.metrics} - shown
    more = (
        f" The other {len(rest)} metrics of the summary are in the "
        '<a href="#comparison">side-by-side comparison</a>.'
        if rest
        else ""
    )
    return _section(
        "overview",
        "Scenarios at a glance",
        "Headline results per scenario. Changes are relative to the baseline scenario, "
        f"<b>{_e(first.name)}</b>. Physical shortage is demand no supply could meet (unmet "
        "critical bids, demand left at a demand curve's ceiling), in the product's own "
        f"tonnes.{more}",
        "".join(rows),
    )


# --------------------------------------------------------------------------- comparison


def _key_label(view: RunView, key: str) -> str:
    """``"ndpr_oxide/oxide/JPN" -> "oxide · JPN"`` (mineral kept when stages repeat)."""
    parts = key.split("/")
    if len(parts) == 3:
        mineral, stage, region = parts
        for product in view.products:
            if product.mineral == mineral and product.stage == stage:
                return f"{product.label} · {region}"
        return f"{mineral} {stage} · {region}"
    return key


def _key_sort(view: RunView) -> Callable[[str], tuple[int, int, str]]:
    product_rank = {p.key: i for i, p in enumerate(view.products)}
    region_rank = {r: i for i, r in enumerate(view.regions)}

    def sort(key: str) -> tuple[int, int, str]:
        parts = key.split("/")
        if len(parts) == 3:
            return (
                product_rank.get(f"{parts[0]}/{parts[1]}", 999),
                region_rank.get(parts[2], 999),
                key,
            )
        return (0, region_rank.get(key, 999), key)

    return sort


def _metric_names(view: RunView, scalar: bool) -> list[str]:
    names: list[str] = []
    for scenario in view.scenarios:
        for name, value in scenario.metrics.items():
            is_dict = isinstance(value, Mapping)
            if is_dict != (not scalar) or name in names or name in HIDDEN_METRICS:
                continue
            if not is_dict and not _is_number(value) and value is not None:
                continue  # lists and text have their own tables, never a repr in a cell
            names.append(name)
    standard = [n for n in STANDARD_METRICS if n in names]
    return standard + [n for n in names if n not in standard]


def _header(view: RunView, first_col: str) -> str:
    cols = "".join(
        f'<th class="num" scope="col" data-scenario="{_e(s)}">{_e(s)}</th>'
        for s in view.scenario_names
    )
    width = 70 / max(1, len(view.scenarios))
    colgroup = '<colgroup><col class="metric">' + "".join(
        f'<col style="width:{width:.2f}%">' for _ in view.scenarios
    )
    return (
        f'{colgroup}</colgroup><thead><tr><th scope="col">{_e(first_col)}</th>{cols}</tr></thead>'
    )


def _metric_row(
    view: RunView,
    metric: str,
    key: str | None,
    *,
    label: str,
    unit_label: str = "",
    price_unit: str | None = None,
) -> str:
    values: list[object] = []
    for scenario in view.scenarios:
        raw = scenario.metrics.get(metric)
        if key is not None:
            raw = raw.get(key) if isinstance(raw, Mapping) else None
        values.append(raw)
    b = _baseline_index(view)
    reference, ref_name = values[b], view.scenarios[b].name
    cells = []
    for i, (scenario, value) in enumerate(zip(view.scenarios, values, strict=True)):
        text = _metric_text(metric, value, price_unit)
        cells.append(
            _value_cell(value, scenario.name, text, reference, ref_name if i != b else None)
        )
    key_attr = f' data-key="{_e(key)}"' if key is not None else ""
    unit = f' <span class="unit">{_e(unit_label)}</span>' if unit_label else ""
    return (
        f'<tr data-metric="{_e(metric)}"{key_attr}>'
        f'<th scope="row">{_e(label)}{unit}</th>{"".join(cells)}</tr>'
    )


def _unit_label(metric: str) -> str:
    quantity = fmt.quantity_of_metric(metric)
    return {
        fmt.Quantity.MONEY: "USD",
        fmt.Quantity.TONNES: "t",
        fmt.Quantity.DAYS: "days",
        fmt.Quantity.MONTHS: "months",
        fmt.Quantity.SHARE: "%",
    }.get(quantity, "")


def _product_price_unit(view: RunView, key: str) -> str | None:
    parts = key.split("/")
    if len(parts) != 3:
        return None
    for product in view.products:
        if product.mineral == parts[0] and product.stage == parts[1]:
            return figures.price_unit_of(view, product)
    return None


def _dict_keys(view: RunView, metric: str) -> list[str]:
    keys: list[str] = []
    for scenario in view.scenarios:
        value = scenario.metrics.get(metric)
        if isinstance(value, Mapping):
            keys.extend(str(k) for k in value if str(k) not in keys)
    return sorted(set(keys), key=_key_sort(view))


def _managed_block(view: RunView) -> tuple[str, set[str]]:
    """The managed-market block (HTML) and the metrics it shows; empty for other runs."""
    if not _present(view, sorted(_MANAGED_MARKERS)):
        return "", set()
    width = len(view.scenarios) + 1
    rows: list[str] = []
    notes: list[str] = []
    used: set[str] = set()
    for names, label, definition in MANAGED_BLOCK:
        present = [n for n in names if _present(view, [n])]
        if not present:
            continue
        metric = present[0]
        used.update(present)
        notes.append(f"<li>{_e(label)}: {_e(definition)}</li>")
        ref = f'<sup class="fn">{len(notes)}</sup>'
        is_dict = any(isinstance(s.metrics.get(metric), Mapping) for s in view.scenarios)
        if not is_dict:
            row = _metric_row(
                view, metric, None, label=label, unit_label=_unit_label(metric)
            ).replace('<th scope="row">', f'<th scope="row" title="{_e(definition)}">', 1)
            rows.append(row.replace("</th>", f"{ref}</th>", 1))
            continue
        quantity = fmt.quantity_of_metric(metric)
        unit = " (USD/kg)" if quantity is fmt.Quantity.PRICE else f" ({_unit_label(metric)})"
        rows.append(
            f'<tr class="group" data-group="{_e(metric)}"><th colspan="{width}" '
            f'title="{_e(definition)}">{_e(label)}{_e(unit)}{ref}</th></tr>'
        )
        for key in _dict_keys(view, metric):
            rows.append(
                _metric_row(
                    view,
                    metric,
                    key,
                    label=key.replace("/", " · "),
                    price_unit="USD/kg" if quantity is fmt.Quantity.PRICE else None,
                ).replace("<tr ", '<tr class="sub" ', 1)
            )
    html_block = (
        '<h3>Policy figures</h3><p class="note">What the scenarios change: shortage first, then '
        "the instruments' money and stocks; hover a row name for its definition (numbered "
        "below).</p>"
        f'<table class="comparison" data-table="managed">{_header(view, "Metric")}'
        f'<tbody>{"".join(rows)}</tbody></table><ol class="defs">{"".join(notes)}</ol>'
        "<h3>All other metrics</h3>"
    )
    return html_block, used


#: a dict-metric table longer than this starts folded, the prices too (a whole-list study
#: has 6,600 node prices: an open table of them pushed the rest of the page far down)
MAX_OPEN_ROWS = 300


def _comparison_section(view: RunView) -> str:
    block, in_block = _managed_block(view)
    scalars = [n for n in _metric_names(view, scalar=True) if n not in in_block]
    body = [block] if block else []
    if scalars:
        rows = [
            _metric_row(view, name, None, label=fmt.humanize(name), unit_label=_unit_label(name))
            for name in scalars
        ]
        body.append(
            f'<table class="comparison" data-table="scalar">{_header(view, "Metric")}'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    else:
        body.append('<div class="empty">The summary has no scalar metrics.</div>')
    for name in _metric_names(view, scalar=False):
        if name in in_block:
            continue
        keys = _dict_keys(view, name)
        quantity = fmt.quantity_of_metric(name)
        rows = []
        last_group = None
        for key in keys:
            parts = key.split("/")
            price_unit = _product_price_unit(view, key) if quantity is fmt.Quantity.PRICE else None
            if len(parts) == 3:
                group = _key_label(view, key).rsplit(" · ", 1)[0]
                if group != last_group:
                    unit_note = f" ({price_unit})" if price_unit else ""
                    rows.append(
                        f'<tr class="group"><th colspan="{len(view.scenarios) + 1}">'
                        f"{_e(group)}{_e(unit_note)}</th></tr>"
                    )
                    last_group = group
                label = parts[2]
            else:
                label = key
            rows.append(_metric_row(view, name, key, label=label, price_unit=price_unit))
        # prices open unless the block already shows the prices inside/outside FORGE
        forge_prices = "avg_price_inside_forge_usd_per_t" in in_block
        wide_open = len(keys) <= 12 or (
            name == "avg_price_usd_per_t" and not forge_prices and len(keys) <= MAX_OPEN_ROWS
        )
        is_open = " open" if wide_open else ""
        note = ""
        if quantity is fmt.Quantity.PRICE:
            note = " — prices of high-value products in USD/kg (= USD/t ÷ 1,000)"
        body.append(
            f"<details{is_open}><summary>{_e(fmt.humanize(name))} "
            f'<span class="note">({len(keys)} rows{_e(note)})</span></summary>'
            f'<table class="comparison" data-table="{_e(name)}">{_header(view, "")}'
            f"<tbody>{''.join(rows)}</tbody></table></details>"
        )
    body.append(_totals_table(view))
    ref = _e(view.scenarios[_baseline_index(view)].name)
    return _section(
        "comparison",
        "Side-by-side comparison",
        f"Every metric in the run summary, one column per scenario. The small figure "
        f"beside a value is its change vs <b>{ref}</b>. “{fmt.DASH}” means the scenario does not "
        "report that metric.",
        "".join(body),
    )


def _totals_table(view: RunView) -> str:
    """Production, consumption and physical shortage per product (each in its own tonnes:
    concentrate, oxide, metal and magnet tonnes are never added), summed over months and
    regions; money totals over everything."""
    present = [v for v in TOTAL_VARIABLES if (view.series["variable"] == v).any()]
    if not present:
        return ""
    grouped = (
        view.series[view.series["variable"].isin(present)]
        .groupby(["variable", "mineral", "scenario"])["value"]
        .sum()
    )
    money = (
        view.series[view.series["variable"].isin(present)]
        .groupby(["variable", "scenario"])["value"]
        .sum()
    )
    b = _baseline_index(view)
    ref_name = view.scenario_names[b]
    rows = []

    def row(label: str, unit: str, values: list[object], attrs: str) -> str:
        quantity = fmt.quantity_of_unit(unit)
        cells = [
            _value_cell(
                v, s, fmt.by_quantity(v, quantity) if v is not None else fmt.DASH,
                values[b], ref_name if i != b else None,
            )
            for i, (s, v) in enumerate(zip(view.scenario_names, values, strict=True))
        ]  # fmt: skip
        return f'<tr {attrs}><th scope="row">{label}</th>{"".join(cells)}</tr>'

    basis: dict[str, str] = {}
    for sc in view.scenarios:
        raw = sc.metrics.get("product_basis")
        if isinstance(raw, Mapping):
            basis.update({str(k): str(v) for k, v in raw.items()})
    for variable in present:
        unit = str(view.variable(variable)["unit"].mode().iloc[0])
        if unit != "t":
            values: list[object] = [
                float(money[(variable, s)]) if (variable, s) in money.index else None
                for s in view.scenario_names
            ]
            label = (
                f'{_e(fmt.humanize(variable))} <span class="unit">{_e(fmt.unit_label(unit))}</span>'
            )
            rows.append(row(label, unit, values, f'data-variable="{_e(variable)}"'))
            continue
        for product in view.products:
            values = [
                float(grouped[(variable, product.mineral, s)])
                if (variable, product.mineral, s) in grouped.index
                else None
                for s in view.scenario_names
            ]
            if all(v is None or abs(float(v)) < 1e-9 for v in values):  # type: ignore[arg-type]
                continue
            what = basis.get(product.mineral, f"t {product.label}")
            label = (
                f"{_e(fmt.humanize(variable))}, {_e(product.label)} "
                f'<span class="unit">{_e(what)}</span>'
            )
            attrs = f'data-variable="{_e(variable)}" data-product="{_e(product.mineral)}"'
            rows.append(row(label, unit, values, attrs))
    table = (
        f'<table class="totals">{_header(view, "Variable")}<tbody>{"".join(rows)}</tbody></table>'
    )
    if len(rows) > MAX_OPEN_ROWS // 6:
        # a whole-list study has ~300 rows here: folded, as the long dict tables above
        table = (
            f'<details><summary>Every product <span class="note">({len(rows)} rows)</span>'
            f"</summary>{table}</details>"
        )
    return (
        '<h3>Totals from the series</h3><p class="note">Sums over all months and regions of the '
        "tidy series, per product in that product's own tonnes (flows excluded).</p>" + table
    )


# --------------------------------------------------------------------------- policy parameters

NO_CHANGE = "no change to the baseline parameters"


def _param_value(value: object, unit: str = "") -> str:
    """A parameter value as shown: ``110``, ``0.25 (25%)`` for a share, ``yes``, ``[A, B]``."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
        if unit == "share":
            return f"{number:g} ({number * 100:g}%)"
        return f"{number:,.0f}" if number == int(number) and abs(number) >= 1e4 else f"{number:g}"
    return str(value)


def _reform_table(changes: Sequence[Mapping[str, object]]) -> str:
    rows = []
    for ch in changes:
        unit = str(ch.get("unit") or "")
        kind = str(ch.get("kind") or "changed")
        before = "(none)" if kind == "added" else _param_value(ch.get("before"), unit)
        after = "(none)" if kind == "removed" else _param_value(ch.get("after"), unit)
        rows.append(
            f'<tr class="reform" data-parameter="{_e(str(ch.get("parameter", "")))}">'
            f'<th scope="row"><code>{_e(str(ch.get("parameter", "")))}</code></th>'
            f"<td>{_e(str(ch.get('instrument', '')))}</td>"
            f"<td>{_e(str(ch.get('from', '')))}</td>"
            f'<td class="change"><span class="before">{_e(before)}</span> → '
            f'<span class="after">{_e(after)}</span></td>'
            f"<td>{_e(fmt.unit_label(unit))}</td>"
            f'<td class="source">{_e(str(ch.get("reference", "")))}</td></tr>'
        )
    return (
        '<table class="params reforms"><colgroup><col style="width:27%"><col style="width:13%">'
        '<col style="width:10%"><col style="width:15%"><col style="width:7%"><col></colgroup>'
        "<thead><tr><th>Parameter</th><th>Instrument</th><th>From</th><th>Before → after</th>"
        f"<th>Unit</th><th>Reference</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _parameters_used_table(view: RunView) -> str:
    if all(s.parameters_used is None for s in view.scenarios):
        return '<p class="note">The summary does not list the parameters the instruments read.</p>'
    merged: dict[tuple[str, str], tuple[Mapping[str, object], list[str]]] = {}
    for scenario in view.scenarios:
        for row in scenario.parameters_used or ():
            key = (str(row.get("parameter", "")), str(row.get("from", "")))
            users = [str(i) for i in row.get("instruments") or []]  # type: ignore[attr-defined]
            who = f"{scenario.name} ({', '.join(users)})" if users else scenario.name
            merged.setdefault(key, (row, []))[1].append(who)
    if not merged:
        return '<p class="note">No instrument of this run reads a baseline parameter.</p>'
    rows = []
    for (name, start), (row, users) in sorted(merged.items()):
        unit = str(row.get("unit") or "")
        estimate = bool(row.get("estimate"))
        badge = (
            '<span class="badge est">estimate</span>'
            if estimate
            else '<span class="badge src">sourced</span>'
        )
        rows.append(
            f'<tr class="{"estimate" if estimate else "sourced"}" data-parameter="{_e(name)}">'
            f'<th scope="row" title="{_e(str(row.get("description") or ""))}"><code>{_e(name)}'
            f"</code></th>"
            f'<td class="num">{_e(_param_value(row.get("value"), unit))}</td>'
            f"<td>{_e(fmt.unit_label(unit))}</td><td>{_e(start)}</td>"
            f"<td>{_e('; '.join(users))}</td>"
            f'<td class="source">{_e(str(row.get("reference", "")))}</td><td>{badge}</td></tr>'
        )
    return (
        '<table class="params used"><colgroup><col style="width:25%"><col style="width:8%">'
        '<col style="width:7%"><col style="width:9%"><col style="width:15%"><col>'
        '<col style="width:8%"></colgroup><thead><tr><th>Parameter</th>'
        '<th class="num">Value in force</th><th>Unit</th><th>From</th><th>Used by</th>'
        f"<th>Reference</th><th>Status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _policy_section(view: RunView) -> str:
    blocks = []
    for scenario in view.scenarios:
        if scenario.reform_changes:
            content = _reform_table(scenario.reform_changes)
        else:
            content = f'<p class="no-change">{NO_CHANGE}</p>'
        blocks.append(
            f'<div class="reform-scn" data-scenario="{_e(scenario.name)}">'
            f"<h4>{_e(scenario.name)}</h4>{content}</div>"
        )
    return _section(
        "policy",
        "Policy parameters",
        "Every instrument parameter is a dated value with a unit and a reference. A scenario "
        "changes them only through a reform, which leaves the baseline untouched; the first "
        "list shows what each scenario's reforms changed, the second the baseline values "
        "the run's instruments read (values in force at some time during the run; hover a "
        "name for its description).",
        "<h3>Changes made by each scenario</h3>"
        + "".join(blocks)
        + "<h3>Baseline parameters used by the instruments</h3>"
        + _parameters_used_table(view),
    )


# --------------------------------------------------------------------------- charts


def _single_width(fig: figures.Figure, div: str) -> str:
    """A figure of one column of panels (one scenario) at about the width two columns take,
    not the page's 1,300 px.

    Stretched over the whole page a month axis of a few months and a flat price line (or
    four shortage bars) read as empty; 760 px keeps the 110 px row titles and a ~630 px plot
    (two-scenario columns are ~590 px each). The shortage chart has a column per scenario
    with shortage, so a run of several scenarios can draw one."""
    if figures.panel_columns(fig) > 1:
        return div
    return f'<div class="single-scenario">{div}</div>'


def _prices_section(view: RunView) -> str:
    fig = figures.prices_figure(view)
    content = (
        figures.left_out_note(view, "the chart")
        + figures.price_regions_note(view)
        + _single_width(fig, figures.figure_div(fig, "fig-prices"))
        if fig is not None
        else '<div class="empty">The series has no <code>price</code> rows.</div>'
    )
    return _section(
        "prices",
        "Prices by stage and region",
        "Monthly clearing price of each product (rows, in the order of the chain) per region "
        "(lines), one column per scenario; rows share their scale. High-value products are in "
        "USD/kg (market convention), others in USD/t. Shaded: months with physical shortage in "
        "that scenario. Click a region in the legend to hide or isolate it.",
        content,
    )


def _ceiling_table(view: RunView) -> str:
    """Node prices set by a demand ceiling (an assumed willingness to pay or the top of a
    demand curve): listed so that no one reads such a price as a market result."""
    rows = []
    for scenario in view.scenarios:
        hits = scenario.metrics.get("price_set_by_demand_ceiling")
        if not isinstance(hits, list):
            continue
        for hit in hits:
            if not isinstance(hit, Mapping):
                continue
            rows.append(
                f"<tr><td>{_e(scenario.name)}</td><td>{_e(str(hit.get('product', '')))}</td>"
                f"<td>{_e(str(hit.get('region', '')))}</td><td>{_e(str(hit.get('kind', '')))}"
                f' <span class="note">({_e(str(hit.get("block", "")))})</span></td>'
                f'<td class="num">{_e(fmt.price(hit.get("price_usd_per_t")))}</td>'
                f'<td class="num">{_e(str(hit.get("months", "")))}</td>'
                f"<td>{_e(str(hit.get('first_month', '')))} – {_e(str(hit.get('last_month', '')))}"
                "</td></tr>"
            )
    if not rows:
        return ""
    table = (
        '<table class="ceilings"><thead><tr><th>Scenario</th><th>Product</th><th>Region</th>'
        '<th>Set by</th><th class="num">Price</th><th class="num">Months</th><th>From – to</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if len(rows) > MAX_OPEN_ROWS // 6:  # a whole-list study lists thousands of bids
        table = (
            f'<details><summary>Every bid <span class="note">({len(rows)} rows)</span>'
            f"</summary>{table}</details>"
        )
    return (
        '<h3>Prices set by a demand ceiling</h3><p class="note">In these node-months the '
        "price is a critical bid's assumed willingness to pay or the top of a demand curve, "
        "not a supply cost: an input repeated as a result. The demand left unserved there is "
        "physical shortage.</p>" + table
    )


def _shortage_title(view: RunView) -> str:
    """The shortage section's title (and link): what its chart shows. A run written before
    ``physical_shortage`` existed charts ``unserved``, which also counts bids priced out."""
    if (view.series["variable"] == figures.SHORTAGE_VARIABLE).any():
        return "Physical shortage"
    return fmt.humanize("unserved")


def _unserved_section(view: RunView) -> str:
    fig = figures.unserved_figure(view)
    variable = figures.SHORTAGE_VARIABLE
    # a run written before physical_shortage existed charts `unserved`, which also counts bids
    # priced out: say so rather than call it shortage
    what = "physical shortage"
    lead = (
        "Demand no supply could meet, tonnes per month, stacked by region: unmet critical "
        "bids and the demand still there at a demand curve's ceiling price. One row of panels "
        "per product, each in its own tonnes. Buyers who bought less because the price rose "
        "are not shortage (see “Demand cut by price” in the comparison)."
    )
    if not (view.series["variable"] == variable).any():
        variable = "unserved"
        what = "demand not served at the price (priced out + shortage)"
        lead = (
            "Bid tonnes not bought at the clearing price, tonnes per month, stacked by region: "
            "buyers priced out and any shortage together (this run does not tell them apart). "
            "One row of panels per product, each in its own tonnes."
        )
    rows = view.series[view.series["variable"] == variable]
    total = rows.groupby("scenario")["value"].sum()
    none = [s for s in view.scenario_names if float(total.get(s, 0.0)) <= 1e-9]
    if fig is not None:
        div = figures.figure_div(fig, "fig-unserved")
        content = figures.left_out_note(view, "the chart") + _single_width(fig, div)
        if none:
            content = f'<p class="note">No {what} in {_e(", ".join(none))}.</p>' + content
    elif (view.series["variable"] == variable).any():
        content = f'<div class="empty">No {what} in any scenario.</div>'
    else:
        content = f'<div class="empty">The series has no <code>{variable}</code> rows.</div>'
    content += _ceiling_table(view)
    if variable == "unserved":
        content = (
            '<p class="note">This run has no <code>physical_shortage</code> rows (it was '
            "written before critmin reported them): the chart shows <code>unserved</code>, "
            "every bid tonne not bought at the clearing price (bids priced out plus physical "
            "shortage).</p>" + content
        )
    return _section("unserved", _shortage_title(view), lead, content)


def _tabs(group: str, names: Sequence[str], panels: Sequence[str]) -> str:
    buttons = "".join(
        f'<button type="button" class="{"active" if i == 0 else ""}" data-group="{group}" '
        f'data-tab="{i}">{_e(name)}</button>'
        for i, name in enumerate(names)
    )
    bodies = "".join(
        f'<div class="tab-panel{" active" if i == 0 else ""}" data-group="{group}" '
        f'data-tab="{i}">{panel}</div>'
        for i, panel in enumerate(panels)
    )
    return f'<div class="tabs" role="tablist">{buttons}</div>{bodies}'


def _flows_section(view: RunView) -> str:
    # a study too large to draw every chain draws those of the charted products
    drawn = {p.mineral for p in figures.indexed(view).drawn_products}
    chains = [c for c in figures.sankey_chains(view) if drawn.intersection(c)]
    names, panels = [], []
    for i, scenario in enumerate(view.scenario_names):
        parts = []
        for j, chain in enumerate(chains):
            fig = figures.sankey_figure(view, scenario, chain)
            if fig is None:
                continue
            title = " → ".join(
                next((p.label for p in view.products if p.mineral == m), m) for m in chain
            )
            parts.append(
                f"<h4>{_e(title)} → use</h4>"
                + figures.figure_div(fig, f"fig-sankey-{i}-{j}", modebar=False)
            )
        names.append(scenario)
        panels.append(
            "".join(parts) or '<div class="empty">No flows reported for this scenario.</div>'
        )
    if not (view.series["variable"].isin(["flow", "consumption"])).any():
        content = '<div class="empty">The series has no <code>flow</code> rows.</div>'
    else:
        content = figures.left_out_note(view, "this section") + _tabs("sankey", names, panels)
    return _section(
        "flows",
        "Flows along each chain",
        "Where each product went, tonnes summed over the run, one diagram per chain: columns "
        "follow the chain (mine → refining → metal → component → use). A link from “CHN · "
        "oxide” to “JPN · metal” is Chinese oxide made into metal in Japan; links into “· use” "
        "are final consumption. A region's supply of a product (its own output kept at home, "
        "imports, stock releases) is split between its conversion and its consumption in "
        "proportion. Node colour = region; each link is in tonnes of the product it carries. "
        f"A column with more than {figures.MAX_SANKEY_ROWS} nodes draws its "
        f"{figures.MAX_SANKEY_ROWS - 1} largest and merges the rest into one grey “other N "
        "regions” node per kind (hover it for their names); every flow is in "
        "<code>series.parquet</code>.",
        content,
    )


#: instrument variables drawn month by month (when a run reports them); every other extra
#: variable is only summarised in the table: 25 monthly charts said less than one table
CHARTED_EXTRAS = ("levy_revenue", "floor_payment", "stock_inventory", "days_of_cover")


def _extras_section(view: RunView) -> str:
    extras = view.extra_variables
    if not extras:
        return ""
    rows = []
    for variable in extras:
        rows.append(_extra_summary_row(view, variable))
    table = (
        f'<table class="extra-table">{_header(view, "Variable (unit; how summarised)")}'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    charts = []
    for i, variable in enumerate(v for v in CHARTED_EXTRAS if v in extras):
        unit = figures.variable_unit(view, variable)
        fig = figures.extra_figure(view, variable)
        if fig is None:
            continue
        title = (
            f'<h3>{_e(fmt.humanize(variable))} <span class="note">({_e(variable)}, '
            f"{_e(fmt.unit_label(unit))}, monthly by region)</span></h3>"
        )
        charts.append(
            f'<div class="extra" data-variable="{_e(variable)}">{title}'
            f"{figures.figure_div(fig, f'fig-extra-{i}')}</div>"
        )
    return _section(
        "more",
        "Instrument results",
        "Variables the instruments report (levies, floors, offtakes, stockpiles) beyond the "
        "core market results, one row each, summarised as the variable is declared: the total "
        "over the run for flows of money or tonnes, the monthly mean for prices and rates, the "
        "last month for stocks and days of cover. Levy revenue, "
        "floor payments, stock inventory and days of cover are also drawn month by month. "
        "Scenarios that do not report a variable show “—”; every value is in series.parquet.",
        table + "".join(charts),
    )


#: what the summary row of an extra variable shows, by its declared aggregation over months
OVER_MONTHS = {"sum": "total over the run", "mean": "monthly mean", "last": "last month"}


def _over_months(months: pd.Series, how: str) -> float:
    if how == "sum":
        return float(months.sum())
    if how == "last":
        return float(months.sort_index().iloc[-1])
    return float(months.mean())


def _extra_summary_row(view: RunView, variable: str) -> str:
    unit = figures.variable_unit(view, variable)
    quantity = fmt.quantity_of_unit(unit)
    how = figures.summarised(variable, unit)
    per_month = figures.extra_aggregate(view, variable, by_region=False)
    reporting = set(per_month.index.get_level_values(0))
    cells = []
    for scenario in view.scenario_names:
        if scenario in reporting:
            value = _over_months(per_month.loc[scenario], how.over_months)
            cells.append(_value_cell(value, scenario, fmt.by_quantity(value, quantity)))
        else:
            cells.append(_value_cell(None, scenario, fmt.DASH))
    described = f"<br>{_e(how.description)}" if how.description else ""
    label = (
        f'{_e(fmt.humanize(variable))} <span class="note">({_e(fmt.unit_label(unit))}; '
        f"{OVER_MONTHS[how.over_months]}){described}</span>"
    )
    return (
        f'<tr data-variable="{_e(variable)}" data-metric="{_e(variable)}">'
        f'<th scope="row">{label}</th>{"".join(cells)}</tr>'
    )


def _extra_table(view: RunView, variable: str, unit: str) -> str:
    quantity = fmt.quantity_of_unit(unit)
    summary = figures.summarised(variable, unit)
    per_month = figures.extra_aggregate(view, variable, by_region=False)
    stats: list[tuple[str, Callable[[pd.Series], float]]] = []
    if summary.over_months == "sum":
        stats.append(("Total over the run", lambda s: float(s.sum())))
    stats += [
        ("Monthly mean", lambda s: float(s.mean())),
        ("Monthly minimum", lambda s: float(s.min())),
        ("Monthly maximum", lambda s: float(s.max())),
        ("Last month", lambda s: float(s.sort_index().iloc[-1])),
    ]
    reporting = set(per_month.index.get_level_values(0))
    months_of = {s: per_month.loc[s] for s in view.scenario_names if s in reporting}
    body = []
    for label, stat in stats:
        cells = []
        for scenario in view.scenario_names:
            if scenario in months_of:
                value: float | None = stat(months_of[scenario])
                text = fmt.by_quantity(value, quantity)
            else:
                value, text = None, fmt.DASH
            cells.append(_value_cell(value, scenario, text))
        body.append(f'<tr><th scope="row">{_e(label)}</th>{"".join(cells)}</tr>')
    how = "summed" if summary.across == "sum" else "averaged"
    return (
        f'<table class="extra-table">{_header(view, f"All regions ({how})")}'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# --------------------------------------------------------------------------- provenance


def _assumption_value(value: object, unit: str) -> str:
    """A readable value with its unit: numbers grouped (6,000,000 not 6e+06), prices per kg
    where the market quotes them so; text (date ranges, names) as written."""
    text = str(value)
    low, sep, high = text.partition("-")
    if sep and low and high:  # a range "9250-222000" (a curve's price range)
        try:
            return f"{_assumption_value(float(low), unit)} – {_assumption_value(float(high), unit)}"
        except ValueError:
            pass
    try:
        number = float(text)
    except ValueError:
        return text
    if unit == "usd_per_t":
        return fmt.price(number)
    if unit in ("usd",):
        return fmt.money(number)
    return fmt.number(number)


def _assumption_unit(unit: str) -> str:
    if unit == "usd_per_t":
        return ""  # the formatted price says $/kg or $/t
    return {"t/yr": "t per year", "t/month": "t per month", "usd": ""}.get(
        unit, fmt.unit_label(unit)
    )


def _assumptions_section(view: RunView) -> str:
    if not view.assumptions:
        content = '<div class="empty">The summary lists no assumptions.</div>'
    else:
        # each source is written once, as a numbered note under the table: the same citation
        # repeated on forty rows made the table unreadable (and half the page's text)
        notes: dict[str, int] = {}
        rows = []
        for item in view.assumptions:
            estimate = bool(item.get("estimate"))
            badge = (
                '<span class="badge est">estimate</span>'
                if estimate
                else '<span class="badge src">sourced</span>'
            )
            source = str(item.get("source", "")).strip()
            ref = ""
            if source:
                n = notes.setdefault(source, len(notes) + 1)
                ref = f'<a href="#src-{n}">[{n}]</a>'
            unit = str(item.get("unit", ""))
            rows.append(
                f'<tr class="{"estimate" if estimate else "sourced"}">'
                f'<th scope="row">{_e(str(item.get("item", "")))}</th>'
                f'<td class="num">{_e(_assumption_value(item.get("value", ""), unit))}</td>'
                f"<td>{_e(_assumption_unit(unit))}</td>"
                f'<td class="source">{ref}</td>'
                f"<td>{badge}</td></tr>"
            )
        listing = "".join(
            f'<li id="src-{n}" value="{n}">{_e(text)}</li>' for text, n in notes.items()
        )
        content = (
            '<table class="assumptions"><colgroup><col style="width:52%"><col style="width:14%">'
            '<col style="width:14%"><col style="width:8%"><col style="width:12%"></colgroup>'
            '<thead><tr><th>Assumption</th><th class="num">Value</th><th>Unit</th>'
            "<th>Source</th><th>Status</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f'<h3>Sources</h3><ol class="sources">{listing}</ol>'
        )
    n_est = sum(1 for a in view.assumptions if a.get("estimate"))
    return _section(
        "assumptions",
        "Assumptions and sources",
        f"The inputs this run rests on. {n_est} of {len(view.assumptions)} are estimates "
        "(highlighted): analyst or scenario choices rather than published figures. Each row "
        "points to its source, listed once below the table.",
        content,
    )


def _metadata_section(view: RunView) -> str:
    summary = view.summary
    inputs = summary.get("inputs")
    items: Iterable[tuple[object, object]] = inputs.items() if isinstance(inputs, Mapping) else []
    input_rows = "".join(
        f'<tr><th scope="row">{_e(str(name))}</th><td class="mono">{_e(str(digest))}</td></tr>'
        for name, digest in items
    )
    months = sorted(view.series["month"].unique().tolist())
    seed = summary.get("seed")
    meta = [
        ("critmin version", str(summary.get("critmin_version") or fmt.DASH)),
        ("Created", str(summary.get("created") or fmt.DASH)),
        ("Seed", fmt.DASH if seed is None else str(seed)),
        ("Scenarios", ", ".join(view.scenario_names)),
        ("Months", f"{months[0]} – {months[-1]} ({len(months)})" if months else fmt.DASH),
        ("Products", ", ".join(f"{p.mineral} ({p.stage})" for p in view.products) or fmt.DASH),
        ("Regions", ", ".join(view.regions) or fmt.DASH),
        ("Series rows", f"{len(view.series):,}"),
    ]
    meta_rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in meta)
    inputs_html = (
        '<h3>Inputs (SHA-256)</h3><table class="inputs"><colgroup><col style="width:30%">'
        f"<col></colgroup><tbody>{input_rows}</tbody></table>"
        if input_rows
        else '<p class="note">No input hashes recorded.</p>'
    )
    return _section(
        "metadata",
        "Run metadata",
        "What is needed to reproduce this run: the same critmin version, seed and inputs "
        "(hashes below) give the same results.",
        '<table class="meta"><colgroup><col style="width:30%"><col></colgroup>'
        f"<tbody>{meta_rows}</tbody></table>{inputs_html}",
    )


# --------------------------------------------------------------------------- page


def _section(anchor: str, title: str, lead_html: str, body: str) -> str:
    return (
        f'<section id="{anchor}"><h2>{_e(title)}</h2><p class="lead">{lead_html}</p>'
        f"{body}</section>"
    )


def render_html(view: RunView) -> str:
    """The whole report page for a checked run."""
    view = figures.indexed(view)  # the series split by variable once
    sections = [
        ("overview", "Overview", _kpi_section(view)),
        ("comparison", "Comparison", _comparison_section(view)),
        ("policy", "Policy parameters", _policy_section(view)),
        ("prices", "Prices", _prices_section(view)),
        ("unserved", _shortage_title(view), _unserved_section(view)),
        ("flows", "Flows", _flows_section(view)),
        ("more", "Instrument results", _extras_section(view)),
        ("assumptions", "Assumptions", _assumptions_section(view)),
        ("metadata", "Run metadata", _metadata_section(view)),
    ]
    toc = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t, body in sections if body)
    months = sorted(view.series["month"].unique().tolist())
    period = f"{months[0]} – {months[-1]}" if months else fmt.DASH
    version = _e(str(view.summary.get("critmin_version") or ""))
    created = _e(str(view.summary.get("created") or ""))
    subtitle = (
        f"<b>{len(view.scenarios)}</b> scenario{'s' if len(view.scenarios) != 1 else ''} · "
        f"<b>{_e(period)}</b> · {len(view.products)} products · {len(view.regions)} regions"
        f" · critmin {version} · created {created}"
    )
    plotly_js = _template(PLOTLY_BUNDLE)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>critmin run report · {_e(', '.join(view.scenario_names))}</title>"
        f"<style>{_template('report.css')}</style>"
        f'<script type="text/javascript" id="plotly-js">{plotly_js}</script>'
        "</head><body>"
        '<header class="top"><h1>Critical-minerals market run</h1>'
        f'<div class="sub">{subtitle}</div></header>'
        f'<nav class="toc">{toc}</nav><main>'
        + "".join(body for _, _, body in sections)
        + "</main><footer>Produced by critmin from the run's series and summary. Figures are "
        "model results under the assumptions listed above, not forecasts.</footer>"
        f"<script>{_template('report.js')}</script></body></html>\n"
    )


def build_report(series: pd.DataFrame, summary: dict[str, object], out_path: Path) -> Path:
    """Write the self-contained HTML report of a run to ``out_path`` and return the path.

    ``series`` and ``summary`` follow the run-results contract (``series.parquet`` and
    ``summary.json`` of ``critmin run``). The file is written atomically: on any error no
    file, partial or complete, is left at ``out_path`` (an existing one is kept).
    Raises :class:`critmin.errors.InputError` when the contract is not met.
    """
    out_path = Path(out_path)
    if out_path.exists() and out_path.is_dir():
        raise InputError("is a directory; expected a file path for the report", where=str(out_path))
    view = run_view(series, summary)
    text = render_html(view)
    atomic_write_text(out_path, text)
    return out_path


__all__ = ["build_report", "render_html"]
