"""Side-by-side comparison of scenarios against a baseline run (for summary.json and the report).

:func:`compare_to_baseline` takes the tidy run series (the run-results contract) and the name of
the baseline scenario (normally the free-trade run) and returns, per scenario, the managed-market
figures. Definitions (t = tonnes, usd; sums over every month of the run):

* ``avg_price_inside_forge_usd_per_t`` / ``avg_price_outside_forge_usd_per_t``: per product, the
  plain mean of node prices over (month, region) pairs whose region is / is not a bloc member
  that month (membership as in :func:`critmin.policy.instruments.forge_levy.member_regions`:
  before the bloc exists every region is outside).
* ``unserved_t``, ``shortage_months``: unserved demand and months with more than 0.001 t of it.
* ``days_of_cover_last`` / ``days_of_cover_min``: per ``product/region`` with ``days_of_cover``
  rows (stockpiles), the last month's and the lowest value; absent when there are none.
* ``floor_fiscal_cost_usd``: sum of ``floor_payment`` rows (top-up and purchase floors).
* ``levy_revenue_usd``: sum of ``levy_revenue`` rows.
* ``imports_from_members_t`` / ``imports_from_nonmembers_t``: flows into member regions, by the
  exporter's membership that month; ``trade_diversion_t``: the same minus the baseline's.
* ``oem_security_premium_usd``: sum over consumer nodes (rows with consumption > 0) of
  (price - baseline price, same month and node) x consumption; ``..._usd_per_t`` divides by the
  tonnes consumed; ``oem_security_premium_usd_by_product`` splits it by product.
* ``floor_kept_t``: sum of ``floor_kept`` rows; ``subsidy_kept_usd_per_t`` = floor fiscal cost /
  kept tonnes (None when nothing was kept).
* ``production_change_t``: total production minus the baseline's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from critmin.errors import UnknownNameError
from critmin.policy.instruments.forge_levy import member_regions

SHORTAGE_TOL_T = 1e-3


def _membership(
    months: list[str], regions: list[str], bloc: str, overrides: Mapping[str, bool] | None
) -> pd.DataFrame:
    rows = [(m, r) for m in months for r in sorted(member_regions(bloc, regions, m, overrides))]
    return pd.DataFrame(rows, columns=["month", "region"]).assign(member=True)


def _is_member(df: pd.DataFrame, members: pd.DataFrame, column: str) -> pd.Series:
    keyed = members.rename(columns={"region": column})
    merged = df[["month", column]].merge(keyed, on=["month", column], how="left")
    return merged["member"].fillna(False).astype(bool).set_axis(df.index)


def _total(df: pd.DataFrame, variable: str) -> float:
    return float(df.loc[df["variable"] == variable, "value"].sum())


def _imports(df: pd.DataFrame, members: pd.DataFrame) -> tuple[float, float]:
    flows = df[df["variable"] == "flow"]
    if flows.empty:
        return 0.0, 0.0
    parts = flows["region"].str.split("->", n=1, expand=True)
    f = pd.DataFrame(
        {"month": flows["month"], "exp": parts[0], "imp": parts[1], "value": flows["value"]}
    )
    into = _is_member(f, members, "imp")
    from_member = _is_member(f, members, "exp")
    return (
        float(f.loc[into & from_member, "value"].sum()),
        float(f.loc[into & ~from_member, "value"].sum()),
    )


def _avg_prices(df: pd.DataFrame, members: pd.DataFrame) -> tuple[dict[str, float], ...]:
    price = df[df["variable"] == "price"]
    inside = _is_member(price, members, "region")
    out: list[dict[str, float]] = []
    for mask in (inside, ~inside):
        grouped = price[mask].groupby("mineral")["value"].mean()
        out.append({str(k): round(float(v), 6) for k, v in grouped.items()})
    return out[0], out[1]


def _premium(df: pd.DataFrame, base: pd.DataFrame) -> tuple[float, float, dict[str, float]]:
    keys = ["month", "mineral", "stage", "region"]
    cons = df[(df["variable"] == "consumption") & (df["value"] > 0)][[*keys, "value"]]
    price = df[df["variable"] == "price"][[*keys, "value"]]
    base_price = base[base["variable"] == "price"][[*keys, "value"]]
    merged = cons.merge(price, on=keys, suffixes=("_t", "_p")).merge(
        base_price.rename(columns={"value": "value_b"}), on=keys, how="left"
    )
    merged["value_b"] = merged["value_b"].fillna(merged["value_p"])
    merged["premium"] = (merged["value_p"] - merged["value_b"]) * merged["value_t"]
    total = float(merged["premium"].sum())
    tonnes = float(merged["value_t"].sum())
    by_product = {str(k): float(v) for k, v in merged.groupby("mineral")["premium"].sum().items()}
    return total, (total / tonnes if tonnes > 0 else 0.0), by_product


def _cover(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    cover = df[df["variable"] == "days_of_cover"]
    if cover.empty:
        return {}
    key = cover["mineral"] + "/" + cover["region"]
    ordered = cover.assign(key=key).sort_values("month")
    last = ordered.groupby("key")["value"].last()
    low = ordered.groupby("key")["value"].min()
    return {
        "days_of_cover_last": {str(k): float(v) for k, v in last.items()},
        "days_of_cover_min": {str(k): float(v) for k, v in low.items()},
    }


def compare_to_baseline(
    series: pd.DataFrame,
    baseline: str,
    *,
    bloc: str = "forge",
    region_membership: Mapping[str, bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """Managed-market figures of every scenario in ``series`` against ``baseline``."""
    scenarios = [str(s) for s in pd.unique(series["scenario"])]
    if baseline not in scenarios:
        raise UnknownNameError("baseline scenario", baseline, scenarios)
    months = sorted(str(m) for m in pd.unique(series["month"]))
    node_rows = series[series["variable"] != "flow"]
    regions = sorted(str(r) for r in pd.unique(node_rows["region"]) if "->" not in str(r))
    members = _membership(months, regions, bloc, region_membership)
    base = series[series["scenario"] == baseline]
    base_imports = _imports(base, members)
    base_production = _total(base, "production")
    out: dict[str, dict[str, Any]] = {}
    for name in scenarios:
        df = series[series["scenario"] == name]
        inside, outside = _avg_prices(df, members)
        unserved = df[df["variable"] == "unserved"].groupby("month")["value"].sum()
        from_members, from_non = _imports(df, members)
        premium, premium_per_t, premium_by_product = _premium(df, base)
        fiscal = _total(df, "floor_payment")
        kept = _total(df, "floor_kept")
        metrics: dict[str, Any] = {
            "avg_price_inside_forge_usd_per_t": inside,
            "avg_price_outside_forge_usd_per_t": outside,
            "unserved_t": float(unserved.sum()),
            "shortage_months": int((unserved > SHORTAGE_TOL_T).sum()),
            "floor_fiscal_cost_usd": fiscal,
            "levy_revenue_usd": _total(df, "levy_revenue"),
            "imports_from_members_t": from_members,
            "imports_from_nonmembers_t": from_non,
            "trade_diversion_t": {
                "from_members": from_members - base_imports[0],
                "from_nonmembers": from_non - base_imports[1],
            },
            "oem_security_premium_usd": premium,
            "oem_security_premium_usd_per_t": premium_per_t,
            "oem_security_premium_usd_by_product": premium_by_product,
            "floor_kept_t": kept,
            "subsidy_kept_usd_per_t": fiscal / kept if kept > 0 else None,
            "production_change_t": _total(df, "production") - base_production,
        }
        metrics.update(_cover(df))
        out[name] = metrics
    return out
