"""Checking and normalising the run-results contract (``series.parquet`` + ``summary.json``).

The report is tolerant: optional variables may be missing, unknown variables and metrics
are shown generically. What it cannot work without (the series columns, the scenario list)
raises :class:`critmin.errors.InputError` naming the file and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from critmin.errors import InputError

SERIES_COLUMNS: tuple[str, ...] = (
    "scenario",
    "month",
    "mineral",
    "stage",
    "region",
    "variable",
    "value",
    "unit",
)
#: Variables the report draws in dedicated sections; anything else is an "extra".
CORE_VARIABLES: frozenset[str] = frozenset(
    {
        "price",
        "production",
        "consumption",
        "unserved",
        "unserved_critical",
        "physical_shortage",
        "conversion_input",
        "supply_capacity",
        "flow",
        "tariff_revenue",
        "consumer_surplus",
        "producer_surplus",
    }
)
#: Usual order of processing stages; unknown stages follow, by typical price.
STAGE_ORDER: tuple[str, ...] = (
    "ore",
    "mine",
    "mining",
    "concentrate",
    "intermediate",
    "carbonate",
    "chloride",
    "oxide",
    "separated",
    "refined",
    "refining",
    "chemical",
    "hydroxide",
    "sulfate",
    "metal",
    "alloy",
    "powder",
    "magnet",
    "cathode",
    "component",
    "product",
)


@dataclass(frozen=True)
class Product:
    """One priced product of the chain: a mineral (product id) at a stage."""

    mineral: str
    stage: str
    label: str

    @property
    def key(self) -> str:
        return f"{self.mineral}/{self.stage}"


@dataclass(frozen=True)
class Scenario:
    """One scenario's summary entry."""

    name: str
    description: str
    start: str
    end: str
    metrics: Mapping[str, object]
    #: parameter changes made by the scenario's reforms (``reform_changes`` of the summary)
    reform_changes: tuple[Mapping[str, object], ...] = ()
    #: baseline parameters its instruments read (``parameters_used``; None = not reported)
    parameters_used: tuple[Mapping[str, object], ...] | None = None


@dataclass(frozen=True)
class RunView:
    """The run as the report sees it: checked series, scenarios in order, metadata."""

    series: pd.DataFrame
    scenarios: tuple[Scenario, ...]
    summary: Mapping[str, object]
    regions: tuple[str, ...]
    products: tuple[Product, ...]
    assumptions: tuple[Mapping[str, object], ...] = field(default_factory=tuple)

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def variable(self, name: str) -> pd.DataFrame:
        return self.series[self.series["variable"] == name]

    @property
    def extra_variables(self) -> list[str]:
        present = self.series["variable"].unique().tolist()
        return sorted(str(v) for v in present if v not in CORE_VARIABLES)


def check_series(series: object) -> pd.DataFrame:
    """A copy of ``series`` with the contract's columns and dtypes, or an InputError."""
    if not isinstance(series, pd.DataFrame):
        raise InputError(
            f"expected a pandas DataFrame of tidy rows, got {type(series).__name__}",
            where="series.parquet",
        )
    if "product" in series.columns and "mineral" not in series.columns:
        # today's run output names the product id `product` (and adds `chain`); the report
        # keeps its own name for it
        series = series.rename(columns={"product": "mineral"})
    missing = [c for c in SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected exactly {', '.join(SERIES_COLUMNS)}",
            where="series.parquet",
        )
    out = series.loc[:, list(SERIES_COLUMNS)].copy()
    for col in SERIES_COLUMNS:
        if col != "value":
            out[col] = _sorted_categorical(out[col].astype(str))
    try:
        out["value"] = pd.to_numeric(out["value"]).astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"non-numeric value ({exc})", where="series.parquet column 'value'"
        ) from exc
    bad_month = ~out["month"].str.fullmatch(r"\d{4}-\d{2}")
    if bad_month.any():
        first = out.loc[bad_month, "month"].iloc[0]
        raise InputError(
            f"month {first!r} is not a YYYY-MM period", where="series.parquet column 'month'"
        )
    return out.reset_index(drop=True)


def _sorted_categorical(column: pd.Series) -> pd.Series:
    """``column`` as an ordered categorical: its distinct labels, sorted, are the categories
    (so ``min``/``max`` and sorting give what the strings gave).

    The report splits, filters and groups the series hundreds of times; with string columns
    each split copied every label (a 60-chain study: 5 M rows, +0.6 GiB and seconds of copying
    for one split by variable). Codes copy in a few bytes a row. Sorted categories keep every
    grouping in the order string keys gave (pandas groups categoricals in category order), and
    grouping keeps only the observed labels (the pandas 3 default), so every figure and table
    is the same."""
    codes, labels = pd.factorize(column, sort=True)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(labels, dtype=str), ordered=True),
        index=column.index,
        name=column.name,
    )


def _object_list(raw: object, where: str) -> tuple[Mapping[str, object], ...] | None:
    """A summary field that is a list of objects (None when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InputError(f"expected a list of objects, got {type(raw).__name__}", where=where)
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise InputError(
                f"expected an object, got {type(item).__name__}", where=f"{where}[{i}]"
            )
    return tuple(raw)


def _scenarios(summary: Mapping[str, object], series: pd.DataFrame) -> tuple[Scenario, ...]:
    raw = summary.get("scenarios")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InputError(
            f"expected a list of scenario objects, got {type(raw).__name__}",
            where="summary.json field 'scenarios'",
        )
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        where = f"summary.json field 'scenarios[{i}]'"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InputError("expected an object with a string 'name'", where=where)
        name = str(entry["name"])
        if name in seen:
            raise InputError(f"scenario {name!r} appears twice", where=where)
        seen.add(name)
        metrics = entry.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise InputError("'metrics' must be an object", where=f"{where}.metrics")
        months = entry.get("months") or {}
        months = months if isinstance(months, Mapping) else {}
        sc_months = series.loc[series["scenario"] == name, "month"]
        start = str(months.get("start") or (sc_months.min() if len(sc_months) else "—"))
        end = str(months.get("end") or (sc_months.max() if len(sc_months) else "—"))
        out.append(
            Scenario(
                name,
                str(entry.get("description") or ""),
                start,
                end,
                dict(metrics),
                _object_list(entry.get("reform_changes"), f"{where}.reform_changes") or (),
                _object_list(entry.get("parameters_used"), f"{where}.parameters_used"),
            )
        )
    # Scenarios in the series but not in the summary still get their charts.
    for name in series["scenario"].drop_duplicates().tolist():
        if name not in seen:
            sc_months = series.loc[series["scenario"] == name, "month"]
            out.append(Scenario(name, "", str(sc_months.min()), str(sc_months.max()), {}))
            seen.add(name)
    if not out:
        raise InputError("no scenarios in the summary or the series", where="summary.json")
    return tuple(out)


def _stage_rank(stage: str) -> int:
    lowered = stage.lower()
    for i, known in enumerate(STAGE_ORDER):
        if known in lowered:
            return i
    return len(STAGE_ORDER)


def _products(series: pd.DataFrame) -> tuple[Product, ...]:
    rows = series[series["variable"].isin(["price", "production", "flow", "consumption"])]
    pairs = rows[["mineral", "stage"]].drop_duplicates()
    prices = series[series["variable"] == "price"].groupby(["mineral", "stage"])["value"].median()
    pair_list = [(str(m), str(s)) for m, s in pairs.itertuples(index=False)]
    stage_count: dict[str, int] = {}
    for _, stage in pair_list:
        stage_count[stage] = stage_count.get(stage, 0) + 1

    def sort_key(pair: tuple[str, str]) -> tuple[int, float, str, str]:
        mineral, stage = pair
        typical = float(prices.get((mineral, stage), np.nan))
        return (_stage_rank(stage), typical if np.isfinite(typical) else 0.0, stage, mineral)

    out = []
    for mineral, stage in sorted(pair_list, key=sort_key):
        label = stage if stage_count[stage] == 1 else f"{mineral} · {stage}"
        out.append(Product(mineral, stage, label))
    return tuple(out)


def _regions(series: pd.DataFrame) -> tuple[str, ...]:
    """Node regions, the largest producer-consumer first (China usually leads)."""
    # the string tests run on the few distinct labels, not on every row (a 60-chain study
    # has 5 M rows and a few thousand labels)
    labels = series["region"].unique().tolist()
    names = {r for r in labels if "->" not in r}
    rows = series[series["variable"].isin(["production", "consumption"])]
    weight = rows[rows["region"].isin(names)].groupby("region")["value"].sum()
    flows = series[series["variable"] == "flow"]["region"]
    for route in flows.unique().tolist():
        names.update(p.strip() for p in str(route).split("->", 1))
    return tuple(sorted(names, key=lambda r: (-float(weight.get(r, 0.0)), r)))


def run_view(series: object, summary: object) -> RunView:
    """Check both halves of the contract and return the report's view of the run."""
    checked = check_series(series)
    if not isinstance(summary, Mapping):
        raise InputError(
            f"expected a JSON object, got {type(summary).__name__}", where="summary.json"
        )
    scenarios = _scenarios(summary, checked)
    raw_assumptions = summary.get("assumptions") or []
    if not isinstance(raw_assumptions, Sequence) or isinstance(raw_assumptions, str):
        raise InputError("expected a list", where="summary.json field 'assumptions'")
    assumptions = []
    for i, item in enumerate(raw_assumptions):
        if not isinstance(item, Mapping):
            raise InputError("expected an object", where=f"summary.json field 'assumptions[{i}]'")
        assumptions.append(item)
    return RunView(
        series=checked,
        scenarios=scenarios,
        summary=summary,
        regions=_regions(checked),
        products=_products(checked),
        assumptions=tuple(assumptions),
    )


def split_route(route: str) -> tuple[str, str]:
    """``"CHN->JPN" -> ("CHN", "JPN")``; a route without an arrow raises InputError."""
    if "->" not in route:
        raise InputError(
            f"flow region {route!r} is not 'FROM->TO'", where="series.parquet column 'region'"
        )
    src, dst = route.split("->", 1)
    return src.strip(), dst.strip()
