"""Contract-shaped synthetic run results, for the report's tests, screenshots and demos.

:func:`synthetic_run` returns ``(series, summary)`` exactly as ``critmin run`` writes them
(``series.parquet`` columns and ``summary.json`` keys, see ``docs/report.md``), for a
stylised NdPr chain: four stages (concentrate -> oxide -> metal -> magnet), eight regions,
24 months from 2026-01, and three scenarios:

* ``baseline`` - free trade;
* ``chn_export_ban`` - China stops exporting oxide, metal and magnets for 12 months
  (2026-04 to 2027-03); importers outside China run short of magnets;
* ``forge_managed`` - the same ban inside a managed market: a USD 110/kg oxide floor for
  FORGE producers, an adjustment levy on Chinese-origin imports and a US stockpile that is
  drawn down during the ban. It adds the extra variables ``levy_revenue``, ``floor_payment``,
  ``stock_inventory`` and ``days_of_cover`` and extra metrics.

The numbers are *illustrative*, not model output: shares and prices are round figures in
the range of the seed documents (China ~90 % of refining, NdPr oxide ~USD 60/kg, floor
USD 110/kg). Metrics are computed from the synthetic series the same way the market engine
defines them, so the summary and the series agree.

:func:`many_regions_study` is a scenario document of one chain traded among ``n`` regions,
for the checks that the charts do not grow with the number of regions.

:func:`read_table_rows` and :func:`parse_display` read a written report back (exact
``data-value`` attributes and displayed text), :func:`figure_json` one of its figures, for
tests of anything that writes reports.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pandas as pd

REGIONS: tuple[str, ...] = ("CHN", "USA", "AUS", "MYS", "JPN", "KOR", "DEU", "VNM")
STAGES: tuple[str, ...] = ("concentrate", "oxide", "metal", "magnet")
PRODUCTS: dict[str, str] = {
    "concentrate": "ndpr_concentrate",
    "oxide": "ndpr_oxide",
    "metal": "ndpr_metal",
    "magnet": "ndfeb_magnet",
}
SCENARIOS: tuple[str, ...] = ("baseline", "chn_export_ban", "forge_managed")
FORGE: frozenset[str] = frozenset({"USA", "AUS", "MYS", "JPN", "KOR", "DEU"})

# Monthly world output per stage (t) and China's base price (USD/t).
_TOTAL_T = {"concentrate": 16_000.0, "oxide": 7_500.0, "metal": 6_800.0, "magnet": 20_000.0}
_BASE_PRICE = {"concentrate": 5_200.0, "oxide": 60_000.0, "metal": 74_000.0, "magnet": 82_000.0}
# Production shares by stage, and final-demand shares of magnets.
_PROD_SHARE = {
    "concentrate": {"CHN": 0.66, "AUS": 0.16, "USA": 0.15, "VNM": 0.03},
    "oxide": {"CHN": 0.88, "MYS": 0.08, "USA": 0.02, "VNM": 0.02},
    "metal": {"CHN": 0.90, "JPN": 0.05, "VNM": 0.04, "USA": 0.01},
    "magnet": {"CHN": 0.90, "JPN": 0.06, "DEU": 0.02, "USA": 0.01, "KOR": 0.01},
}
_DEMAND_SHARE = {"CHN": 0.58, "JPN": 0.09, "DEU": 0.10, "USA": 0.11, "KOR": 0.07, "VNM": 0.05}
_PREMIUM = {"CHN": 0.0, "USA": 0.08, "AUS": 0.05, "MYS": 0.04, "JPN": 0.06, "KOR": 0.065,
            "DEU": 0.07, "VNM": 0.03}  # fmt: skip
_BANNED_STAGES = frozenset({"oxide", "metal", "magnet"})
_BAN_START, _BAN_MONTHS = 3, 12  # 2026-04 .. 2027-03
_FLOOR_USD_PER_T = 110_000.0
_LEVY_SHARE = 0.25
_US_TARIFF_SHARE = 0.25


def _months(start: str, n: int) -> list[str]:
    return [str(p) for p in pd.period_range(start=start, periods=n, freq="M")]


def _shares(stage_shares: dict[str, float]) -> np.ndarray:
    return np.array([stage_shares.get(r, 0.0) for r in REGIONS])


def _trade_matrix(prod: np.ndarray, use: np.ndarray, home_bias: float = 4.0) -> np.ndarray:
    """Shares flow[a, b] with row sums ``prod`` and column sums ``use`` (RAS balancing)."""
    seed = np.outer(prod, use) * (1.0 + (home_bias - 1.0) * np.eye(len(prod)))
    mat = seed.copy()
    for _ in range(200):
        rows = mat.sum(axis=1)
        mat *= np.divide(prod, rows, out=np.zeros_like(prod), where=rows > 0)[:, None]
        cols = mat.sum(axis=0)
        mat *= np.divide(use, cols, out=np.zeros_like(use), where=cols > 0)[None, :]
    return mat


def _ban_profile(n_months: int) -> np.ndarray:
    """0 outside the ban; inside it, 1 for the ban's months."""
    active = np.zeros(n_months)
    active[_BAN_START : min(n_months, _BAN_START + _BAN_MONTHS)] = 1.0
    return active


def _price_shock(n_months: int, peak: float) -> np.ndarray:
    """Multiplier on prices outside China: rises to ``peak`` during the ban, decays after."""
    mult = np.ones(n_months)
    end = min(n_months, _BAN_START + _BAN_MONTHS)
    for m in range(_BAN_START, n_months):
        if m < end:
            ramp = min(1.0, (m - _BAN_START + 1) / 3.0)
            mult[m] = 1.0 + (peak - 1.0) * ramp
        else:
            mult[m] = 1.0 + (mult[m - 1] - 1.0) * 0.45
    return mult


class _Rows:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(  # noqa: PLR0917 - one tidy row block, positional like the columns
        self,
        scenario: str,
        months: Sequence[str],
        stage: str,
        region: str,
        variable: str,
        values: np.ndarray,
        unit: str,
    ) -> None:
        n = len(months)
        self.parts.append(
            pd.DataFrame(
                {
                    "scenario": [scenario] * n,
                    "month": list(months),
                    "mineral": [PRODUCTS[stage]] * n,
                    "stage": [stage] * n,
                    "region": [region] * n,
                    "variable": [variable] * n,
                    "value": np.asarray(values, dtype=float),
                    "unit": [unit] * n,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        out = pd.concat(self.parts, ignore_index=True)
        for col in ("scenario", "month", "mineral", "stage", "region", "variable", "unit"):
            out[col] = out[col].astype(str)
        return out


# long: one synthetic scenario, stage by stage and region by region as the engine writes its
# rows; split, the rng draws (whose order fixes every test figure) would cross functions
def _scenario(  # noqa: PLR0912, PLR0915 - see "long:" above
    rows: _Rows, name: str, months: list[str], rng: np.random.Generator
) -> dict[str, float]:
    """Append one scenario's rows; return its scalar extras (for the managed scenario)."""
    n = len(months)
    ban = _ban_profile(n) if name != "baseline" else np.zeros(n)
    managed = name == "forge_managed"
    extras: dict[str, float] = {}
    demand_share = _shares(_DEMAND_SHARE)
    # Common random shocks per scenario keep prices from looking like ruler lines.
    noise = np.exp(np.cumsum(rng.normal(0.0, 0.018, size=(len(STAGES), n)), axis=1))
    us_stock = 9_000.0 if managed else 0.0
    us_monthly_magnet_use = _TOTAL_T["magnet"] * _DEMAND_SHARE["USA"]

    for k, stage in enumerate(STAGES):
        prod = _shares(_PROD_SHARE[stage])
        use = _shares(_PROD_SHARE[STAGES[k + 1]]) if k + 1 < len(STAGES) else demand_share.copy()
        trade = _trade_matrix(prod, use) * _TOTAL_T[stage]
        banned = stage in _BANNED_STAGES
        peak = {"oxide": 2.1, "metal": 1.9, "magnet": 1.7}.get(stage, 1.15)
        if managed:
            peak = 1.0 + (peak - 1.0) * 0.6
        shock = _price_shock(n, peak) if name != "baseline" else np.ones(n)
        for i, region in enumerate(REGIONS):
            base = _BASE_PRICE[stage] * (1.0 + _PREMIUM[region])
            if region == "CHN":
                price = base * noise[k] * (1.0 - 0.12 * ban * (1.0 if banned else 0.3))
            else:
                price = base * noise[k] * shock
                if managed and region in FORGE:
                    price = price * (1.0 + 0.06 * (1.0 - ban))  # levy passes through
            rows.add(name, months, stage, region, "price", price, "usd_per_t")

            production = np.full(n, trade[i].sum())
            if region != "CHN" and banned:
                production = production * (1.0 + 0.12 * ban)  # outside producers stretch
            if region == "CHN" and banned:
                production = production * (1.0 - 0.08 * ban)
            production = production * rng.normal(1.0, 0.01, size=n)
            rows.add(name, months, stage, region, "production", production, "t")
            rows.add(name, months, stage, region, "supply_capacity", production / 0.85, "t")

            for j, dest in enumerate(REGIONS):
                qty = np.full(n, trade[i, j])
                if qty[0] < 0.5:
                    continue
                if banned and region == "CHN" and dest != "CHN":
                    qty = qty * (1.0 - ban)
                rows.add(name, months, stage, f"{region}->{dest}", "flow", qty, "t")
                if stage == "magnet" and region == "CHN" and dest == "USA":
                    tariff = qty * base * _US_TARIFF_SHARE
                    rows.add(name, months, stage, "USA", "tariff_revenue", tariff, "usd")
                if managed and region == "CHN" and dest in FORGE and stage != "concentrate":
                    levy = qty * base * _LEVY_SHARE * (1.0 - ban)
                    rows.add(name, months, stage, dest, "levy_revenue", levy, "usd")

            if managed and stage == "oxide" and region in FORGE and prod[i] > 0:
                market = base * noise[k] * shock
                gap = np.maximum(0.0, _FLOOR_USD_PER_T - market)
                rows.add(name, months, stage, region, "floor_payment", gap * production, "usd")

            if k == len(STAGES) - 1:
                demand = np.full(n, _TOTAL_T[stage] * demand_share[i])
                lost_imports = trade[0, i] if region != "CHN" else 0.0
                fade = np.linspace(0.75, 0.45, n)
                unserved = lost_imports * ban * fade
                if managed and region == "USA":
                    release = np.zeros(n)
                    stock = np.zeros(n)
                    level = us_stock
                    for m in range(n):
                        if ban[m] > 0:
                            take = min(level, unserved[m] * 0.6)
                            release[m] = take
                            level -= take
                        else:
                            level = min(us_stock, level + 300.0)
                        stock[m] = level
                    unserved = unserved - release
                    rows.add(name, months, stage, region, "stock_inventory", stock, "t")
                    rows.add(
                        name, months, stage, region, "days_of_cover",
                        stock / us_monthly_magnet_use * 30.0, "days",
                    )  # fmt: skip
                    extras["days_of_cover_min"] = float((stock / us_monthly_magnet_use * 30).min())
                elif managed and region in FORGE:
                    unserved = unserved * 0.85
                consumption = demand - unserved
                rows.add(name, months, stage, region, "consumption", consumption, "t")
                rows.add(name, months, stage, region, "unserved", unserved, "t")
                wtp = 2.5 * base
                rows.add(name, months, stage, region, "consumer_surplus",
                         (wtp - price) * consumption, "usd")  # fmt: skip
            rows.add(name, months, stage, region, "producer_surplus",
                     np.maximum(0.0, price - 0.7 * base) * production, "usd")  # fmt: skip
    return extras


def _metrics(series: pd.DataFrame, scenario: str) -> dict[str, object]:
    sc = series[series["scenario"] == scenario]
    price = sc[sc["variable"] == "price"]
    keys = price["mineral"] + "/" + price["stage"] + "/" + price["region"]
    grouped = price.groupby(keys, sort=True)["value"]
    unserved = sc[sc["variable"] == "unserved"]
    per_month = unserved.groupby("month")["value"].sum()
    metrics: dict[str, object] = {
        "avg_price_usd_per_t": {k: float(v) for k, v in grouped.mean().items()},
        "peak_price_usd_per_t": {k: float(v) for k, v in grouped.max().items()},
        "tariff_revenue_usd": float(sc.loc[sc["variable"] == "tariff_revenue", "value"].sum()),
    }
    # the physical-shortage figures of critmin.market.metrics, taking the synthetic unserved
    # rows as physical shortage and the first scenario as the baseline
    short = unserved.groupby("mineral", sort=True)["value"].sum()
    cons = sc[sc["variable"] == "consumption"].groupby("mineral", sort=True)["value"].sum()
    first = series[series["scenario"] == series["scenario"].iloc[0]]
    base_cons = first[first["variable"] == "consumption"].groupby("mineral")["value"].sum()
    base_short = first[first["variable"] == "unserved"].groupby("mineral")["value"].sum()
    metrics["physical_shortage_t_by_product"] = {str(k): float(v) for k, v in short.items()}
    metrics["physical_shortage_months"] = int((per_month > 1e-6).sum())
    metrics["demand_reduction_by_price_t_by_product"] = {
        str(k): max(
            float(base_cons.get(k, 0.0)) - float(v)
            - max(float(short.get(k, 0.0)) - float(base_short.get(k, 0.0)), 0.0),
            0.0,
        )
        for k, v in cons.items()
    }  # fmt: skip
    if scenario == "forge_managed":
        levy = float(sc.loc[sc["variable"] == "levy_revenue", "value"].sum())
        floor = float(sc.loc[sc["variable"] == "floor_payment", "value"].sum())
        protected = sc[
            (sc["variable"] == "production")
            & (sc["stage"] == "oxide")
            & sc["region"].isin(sorted(FORGE))
        ]["value"].sum()
        metrics["levy_revenue_usd"] = levy
        metrics["floor_fiscal_cost_usd"] = floor
        metrics["subsidy_kept_usd_per_t"] = floor / float(protected) if protected else None
    return metrics


def synthetic_run(
    seed: int, *, n_months: int = 24, scenarios: Sequence[str] = SCENARIOS
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Synthetic ``(series, summary)`` shaped like ``critmin run`` output (see module doc).

    Same seed, same data, bit for bit. ``scenarios`` is any subset of :data:`SCENARIOS`.
    """
    rng = np.random.default_rng(seed)
    months = _months("2026-01", n_months)
    rows = _Rows()
    extras: dict[str, dict[str, float]] = {}
    for name in scenarios:
        if name not in SCENARIOS:
            from critmin.errors import UnknownNameError

            raise UnknownNameError("synthetic scenario", name, SCENARIOS)
        extras[name] = _scenario(rows, name, months, rng)
    series = rows.frame()
    descriptions = {
        "baseline": "Free trade; no export controls (synthetic).",
        "chn_export_ban": "China bans exports of NdPr oxide, metal and magnets for 12 months "
        "from 2026-04 (synthetic).",
        "forge_managed": "Same ban inside a FORGE managed market: USD 110/kg oxide floor, 25 % "
        "adjustment levy on Chinese-origin imports, US magnet stockpile (synthetic).",
    }
    scen_entries = []
    for name in scenarios:
        metrics = _metrics(series, name)
        metrics.update(extras[name])
        scen_entries.append(
            {
                "name": name,
                "description": descriptions[name],
                "months": {"start": months[0], "end": months[-1]},
                "metrics": metrics,
                "reform_changes": list(_REFORMS.get(name, [])),
                "parameters_used": list(_PARAMETERS_USED if name == "forge_managed" else []),
            }
        )
    digest = hashlib.sha256(f"critmin-synthetic-{seed}".encode()).hexdigest()
    summary: dict[str, object] = {
        "critmin_version": _version(),
        "created": "2026-03-15T09:30:00+00:00",
        "seed": seed,
        "inputs": {
            "synthetic:ndpr_chain": digest,
            "builtin:forge_members_2026": hashlib.sha256(b"forge").hexdigest(),
        },
        "scenarios": scen_entries,
        "assumptions": _ASSUMPTIONS,
    }
    return series, summary


def _version() -> str:
    from critmin import __version__

    return __version__


_ASSUMPTIONS: list[dict[str, object]] = [
    {"item": "NdPr oxide price floor (DoD-MP Materials)", "value": "110", "unit": "USD/kg",
     "source": "MP Materials/DoD release, 2025-07-10", "estimate": False},
    {"item": "Upside-sharing threshold (Lynas-Japan)", "value": "150", "unit": "USD/kg",
     "source": "managed-market analysis, 2026-03 (Lynas-Japan revision)", "estimate": False},
    {"item": "China share of rare-earth refining", "value": "90", "unit": "%",
     "source": "IEA Global Critical Minerals Outlook 2024", "estimate": False},
    {"item": "Chinese NdPr oxide market price, 2026-01", "value": "60", "unit": "USD/kg",
     "source": "MP Materials/DoD release: price quoted against the floor", "estimate": True},
    {"item": "Adjustment levy on Chinese-origin imports", "value": "25", "unit": "% ad valorem",
     "source": "scenario assumption (FORGE border measures)", "estimate": True},
    {"item": "US magnet stockpile at start", "value": "9,000", "unit": "t",
     "source": "illustrative, sized near the NDS antimony plan", "estimate": True},
    {"item": "Transport and insurance", "value": "3-8", "unit": "% of price",
     "source": "analyst estimate", "estimate": True},
]  # fmt: skip


#: Illustrative reform of the synthetic managed scenario (summary.json ``reform_changes``).
_REFORMS: dict[str, list[dict[str, object]]] = {
    "forge_managed": [
        {
            "instrument": "dod_mp_floor",
            "parameter": "policy.price_floor.ndpr_oxide",
            "from": "2027-01-01",
            "before": 110,
            "after": 130,
            "unit": "usd_per_kg",
            "reference": "synthetic reform: floor raised in 2027",
            "kind": "changed",
        },
    ],
}
#: Baseline parameters the synthetic managed scenario's instruments read.
_PARAMETERS_USED: list[dict[str, object]] = [
    {"parameter": "forge.levy_bound.ad_valorem_share", "description": "FORGE levy bound",
     "from": "2026-02-04", "value": 0.25, "unit": "share", "estimate": True,
     "reference": "assumption (order of US Section 301 duties)", "instruments": ["forge_levy"]},
    {"parameter": "policy.price_floor.ndpr_oxide", "description": "DoD-MP NdPr oxide floor",
     "from": "2025-07-01", "value": 110, "unit": "usd_per_kg", "estimate": False,
     "reference": "MP Materials/DoD release, 2025-07-10", "instruments": ["dod_mp_floor"]},
]  # fmt: skip


# --------------------------------------------------------------------------- reading reports


@dataclass
class Cell:
    """One value cell of a report table: its scenario, exact ``data-value`` and shown text."""

    scenario: str
    value: str
    text: str


@dataclass
class Row:
    """One row of a report table (``metric``/``key`` from ``data-metric``/``data-key``)."""

    table: str
    metric: str | None
    key: str | None
    cells: list[Cell] = field(default_factory=list)


class TableReader(HTMLParser):
    """Collects rows of ``<table class="...">`` with their ``data-*`` cell attributes."""

    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.rows: list[Row] = []
        self._table: str | None = None
        self._row: Row | None = None
        self._cell: Cell | None = None
        self._delta_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and self.table_class in a.get("class", "").split():
            self._table = a.get("data-table", "")
        elif self._table is not None and tag == "tr":
            self._row = Row(self._table, a.get("data-metric"), a.get("data-key"))
        elif self._row is not None and tag == "td" and "data-scenario" in a:
            self._cell = Cell(a["data-scenario"], a.get("data-value", ""), "")
        elif self._cell is not None and tag == "span" and "delta" in a.get("class", ""):
            self._delta_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._delta_depth:
            self._delta_depth -= 1
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.cells.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row.cells:
                self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._delta_depth:
            self._cell.text += data


def figure_json(html: str, div_id: str) -> dict[str, object]:
    """The plotly figure a report draws in ``<div id=div_id>``: ``{"data": [...],
    "layout": {...}}`` as written in its ``Plotly.newPlot("div_id", data, layout, config)``
    call (KeyError when the report has no such figure)."""
    call = f'Plotly.newPlot(\n                        "{div_id}",'
    start = html.find(call)
    if start < 0:
        call = f'"{div_id}",'
        start = html.find(call, html.find(f'id="{div_id}"'))
    if start < 0:
        raise KeyError(div_id)
    decoder = json.JSONDecoder()
    pos = start + len(call)
    parts = []
    for _ in range(2):
        while html[pos] in " \n\t,":
            pos += 1
        value, pos = decoder.raw_decode(html, pos)
        parts.append(value)
    return {"data": parts[0], "layout": parts[1]}


def read_table_rows(html: str, table_class: str = "comparison") -> list[Row]:
    """The value rows of every ``<table class=table_class>`` of a report, in page order."""
    reader = TableReader(table_class)
    reader.feed(html)
    return reader.rows


_SCALE = {"k": 1e3, "M": 1e6, "B": 1e9}


def parse_display(text: str) -> float:
    """Turn a displayed figure back into base units (USD, USD/t, t, days, months).

    ``"$1.23B" -> 1.23e9``, ``"$82.40/kg" -> 82400``, ``"12.3 kt" -> 12300``.
    """
    t = text.strip().replace(",", "")
    m = re.fullmatch(r"(-?)\$([\d.]+)([kMB]?)", t)
    if m:
        return float(f"{m.group(1)}{m.group(2)}") * _SCALE.get(m.group(3), 1.0)
    m = re.fullmatch(r"(-?)\$([\d.]+)/(kg|t)", t)
    if m:
        return float(m.group(1) + m.group(2)) * (1000.0 if m.group(3) == "kg" else 1.0)
    m = re.fullmatch(r"(-?[\d.]+) (t|kt|Mt)", t)
    if m:
        return float(m.group(1)) * {"t": 1.0, "kt": 1e3, "Mt": 1e6}[m.group(2)]
    m = re.fullmatch(r"(-?[\d.]+) (days|mo)", t)
    if m:
        return float(m.group(1))
    m = re.fullmatch(r"(-?[\d.]+)%", t)
    if m:
        return float(m.group(1)) / 100.0
    return float(t)


def many_regions_study(n: int) -> dict[str, object]:
    """A scenario document (``critmin run`` input) of one chain over ``n`` synthetic regions
    ``R00``.. (at most 100), three months: ore mined in every region (120 + 12 i t a year
    in region i, so node sizes differ), refined in the first four (1.1 t ore a t), bought by
    one critical bid in every region (60 + 6 i t a year at 20,000 USD/t), default routes."""
    names = [f"R{i:02d}" for i in range(n)]
    market = {
        "mineral": "x",
        "products": [{"id": "x_ore", "stage": "mine"}, {"id": "x_ref", "stage": "refining"}],
        "regions": names,
        "aggregates": {r: f"synthetic region {r}" for r in names},
        "base_month": "2026-01",
        "supply": [
            {
                "region": r,
                "product": "x_ore",
                "qty_t_per_year": 120.0 + 12 * i,
                "cost_usd_per_t": 1000.0 + 10 * i,
            }
            for i, r in enumerate(names)
        ],
        "conversions": [
            {
                "region": r,
                "input": "x_ore",
                "output": "x_ref",
                "input_t_per_t": 1.1,
                "qty_t_per_year": 100_000.0,
                "cost_usd_per_t": 500.0,
            }
            for r in names[:4]
        ],
        "demand": [
            {
                "region": r,
                "product": "x_ref",
                "qty_t_per_year": 60.0 + 6 * i,
                "wtp_usd_per_t": 20_000.0,
                "critical": True,
            }
            for i, r in enumerate(names)
        ],
        "default_route_cost_usd_per_t": {"x_ore": 20.0, "x_ref": 10.0},
    }
    return {"name": "wide", "months": {"start": "2026-01", "end": "2026-03"}, "markets": [market]}
