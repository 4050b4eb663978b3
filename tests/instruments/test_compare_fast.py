"""The one-pass ``compare_to_baseline`` against the straightforward pandas version it replaced.

``_reference_compare`` below is the implementation of ``critmin.scenarios.compare`` as it was
before the rewrite for speed (commit 7a8b0ab): per scenario, pandas filters on the full tidy
table and merges on (month, region) for bloc membership. It is kept here, unchanged except for
names, as the specification of every metric; the fast version must agree with it to 1e-9
relative on every figure (dict-valued ones key by key), with the same keys and types, on the
real default study and on perturbed synthetic runs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import UnknownNameError
from critmin.market.results import upgrade_series
from critmin.policy.instruments.forge_levy import member_regions
from critmin.reports.testing import REGIONS, SCENARIOS, synthetic_run
from critmin.scenarios.compare import compare_to_baseline

REL = 1e-9
ABS = 1e-9  # differences of two equal sums (trade diversion, production change) sit near 0

# --- reference: the pre-rewrite implementation -------------------------------------------

_SHORTAGE_TOL_T = 1e-3


def _ref_membership(
    months: list[str], regions: list[str], bloc: str, overrides: Mapping[str, bool] | None
) -> pd.DataFrame:
    rows = [(m, r) for m in months for r in sorted(member_regions(bloc, regions, m, overrides))]
    return pd.DataFrame(rows, columns=["month", "region"]).assign(member=True)


def _ref_is_member(df: pd.DataFrame, members: pd.DataFrame, column: str) -> pd.Series:
    keyed = members.rename(columns={"region": column})
    merged = df[["month", column]].merge(keyed, on=["month", column], how="left")
    return merged["member"].fillna(False).astype(bool).set_axis(df.index)


def _ref_total(df: pd.DataFrame, variable: str) -> float:
    return float(df.loc[df["variable"] == variable, "value"].sum())


def _ref_imports(df: pd.DataFrame, members: pd.DataFrame) -> tuple[float, float]:
    flows = df[df["variable"] == "flow"]
    if flows.empty:
        return 0.0, 0.0
    parts = flows["region"].str.split("->", n=1, expand=True)
    f = pd.DataFrame(
        {"month": flows["month"], "exp": parts[0], "imp": parts[1], "value": flows["value"]}
    )
    into = _ref_is_member(f, members, "imp")
    from_member = _ref_is_member(f, members, "exp")
    return (
        float(f.loc[into & from_member, "value"].sum()),
        float(f.loc[into & ~from_member, "value"].sum()),
    )


def _ref_avg_prices(df: pd.DataFrame, members: pd.DataFrame) -> tuple[dict[str, float], ...]:
    price = df[df["variable"] == "price"]
    inside = _ref_is_member(price, members, "region")
    out: list[dict[str, float]] = []
    for mask in (inside, ~inside):
        grouped = price[mask].groupby("product")["value"].mean()
        out.append({str(k): round(float(v), 6) for k, v in grouped.items()})
    return out[0], out[1]


def _ref_premium(df: pd.DataFrame, base: pd.DataFrame) -> tuple[float, float, dict[str, float]]:
    keys = ["month", "product", "stage", "region"]
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
    by_product = {str(k): float(v) for k, v in merged.groupby("product")["premium"].sum().items()}
    return total, (total / tonnes if tonnes > 0 else 0.0), by_product


def _ref_cover(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    cover = df[df["variable"] == "days_of_cover"]
    if cover.empty:
        return {}
    key = cover["product"] + "/" + cover["region"]
    ordered = cover.assign(key=key).sort_values("month")
    last = ordered.groupby("key")["value"].last()
    low = ordered.groupby("key")["value"].min()
    return {
        "days_of_cover_last": {str(k): float(v) for k, v in last.items()},
        "days_of_cover_min": {str(k): float(v) for k, v in low.items()},
    }


def _reference_compare(
    series: pd.DataFrame,
    baseline: str,
    *,
    bloc: str = "forge",
    region_membership: Mapping[str, bool] | None = None,
) -> dict[str, dict[str, Any]]:
    series = upgrade_series(series)  # the synthetic runs use the earlier `mineral` column
    scenarios = [str(s) for s in pd.unique(series["scenario"])]
    if baseline not in scenarios:
        raise UnknownNameError("baseline scenario", baseline, scenarios)
    months = sorted(str(m) for m in pd.unique(series["month"]))
    node_rows = series[series["variable"] != "flow"]
    regions = sorted(str(r) for r in pd.unique(node_rows["region"]) if "->" not in str(r))
    members = _ref_membership(months, regions, bloc, region_membership)
    base = series[series["scenario"] == baseline]
    base_imports = _ref_imports(base, members)
    base_production = _ref_total(base, "production")
    out: dict[str, dict[str, Any]] = {}
    for name in scenarios:
        df = series[series["scenario"] == name]
        inside, outside = _ref_avg_prices(df, members)
        unserved = df[df["variable"] == "unserved"].groupby("month")["value"].sum()
        from_members, from_non = _ref_imports(df, members)
        premium, premium_per_t, premium_by_product = _ref_premium(df, base)
        fiscal = _ref_total(df, "floor_payment")
        kept = _ref_total(df, "floor_kept")
        metrics: dict[str, Any] = {
            "avg_price_inside_forge_usd_per_t": inside,
            "avg_price_outside_forge_usd_per_t": outside,
            "unserved_t": float(unserved.sum()),
            "shortage_months": int((unserved > _SHORTAGE_TOL_T).sum()),
            "floor_fiscal_cost_usd": fiscal,
            "levy_revenue_usd": _ref_total(df, "levy_revenue"),
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
            "production_change_t": _ref_total(df, "production") - base_production,
        }
        metrics.update(_ref_cover(df))
        out[name] = metrics
    return out


# --- comparison ---------------------------------------------------------------------------


def _assert_same(got: Any, want: Any, where: str = "") -> None:
    """Same structure, keys and leaf types; floats within 1e-9 relative (1e-9 absolute)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for key in want:
            _assert_same(got[key], want[key], f"{where}/{key}")
    elif isinstance(want, float):
        ok = math.isclose(got, want, rel_tol=REL, abs_tol=ABS)
        assert ok, f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


# --- the real default study -----------------------------------------------------------------


@pytest.fixture(scope="module")
def default_series() -> pd.DataFrame:
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.runner import run_study

    series, _ = run_study(load_study([]))
    return series


@pytest.mark.parametrize(
    "overrides", [None, {"CHN": True, "USA": False, "ZZZ": True}], ids=["catalog", "overrides"]
)
def test_default_study_matches_reference(
    default_series: pd.DataFrame, overrides: dict[str, bool] | None
) -> None:
    """Every metric of the three seed scenarios, catalog membership and overridden membership."""
    want = _reference_compare(default_series, "baseline_free_trade", region_membership=overrides)
    got = compare_to_baseline(default_series, "baseline_free_trade", region_membership=overrides)
    # the study exercises the non-trivial paths (so agreement is not agreement on zeros)
    managed = want["managed_market"]
    assert managed["floor_kept_t"] > 0
    assert managed["levy_revenue_usd"] > 0
    assert managed["oem_security_premium_usd"] != 0
    assert "days_of_cover_last" in managed
    assert managed["trade_diversion_t"]["from_members"] != 0
    _assert_same(got, want)


def test_default_study_other_baseline(default_series: pd.DataFrame) -> None:
    """Taking the managed market as the baseline flips signs; still the reference's figures."""
    want = _reference_compare(default_series, "managed_market")
    _assert_same(compare_to_baseline(default_series, "managed_market"), want)


# --- property test on perturbed synthetic runs ---------------------------------------------


@functools.cache
def _synthetic(seed: int) -> pd.DataFrame:
    series, _ = synthetic_run(seed, n_months=4)
    return series


@st.composite
def _cases(draw: st.DrawFn) -> tuple[pd.DataFrame, str, dict[str, bool] | None]:
    series = _synthetic(draw(st.integers(0, 1)))
    names = draw(st.lists(st.sampled_from(SCENARIOS), min_size=1, max_size=3, unique=True))
    baseline = draw(st.sampled_from(names))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    df = series[series["scenario"].isin(names)]
    keep = rng.random(len(df)) >= draw(st.sampled_from([0.0, 0.1, 0.5, 0.9]))
    df = df[keep].copy()
    # consumption at zero (not a consumer node) and negative prices still count as given
    zero = (df["variable"] == "consumption") & (rng.random(len(df)) < 0.2)
    df.loc[zero, "value"] = 0.0
    if draw(st.booleans()):
        df["value"] = df["value"] * rng.choice([-1.0, 1.0, 1e-3], size=len(df))
    extra = []
    for name in names:  # floor_kept is not in the synthetic run; add some for some scenarios
        for month in ("2026-01", "2026-03")[: draw(st.integers(0, 2))]:
            kept = float(draw(st.sampled_from([0.0, 2.5, 1000.0])))
            extra.append((name, month, "ndpr_oxide", "oxide", "USA", "floor_kept", kept, "t"))
    if extra:
        df = pd.concat([df, pd.DataFrame(extra, columns=df.columns)], ignore_index=True)
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    overrides = draw(
        st.none() | st.dictionaries(st.sampled_from([*REGIONS, "ZZZ"]), st.booleans(), max_size=4)
    )
    return df, baseline, overrides


@given(_cases())
def test_synthetic_runs_match_reference(
    case: tuple[pd.DataFrame, str, dict[str, bool] | None],
) -> None:
    series, baseline, overrides = case
    want = _reference_compare(series, baseline, region_membership=overrides)
    got = compare_to_baseline(series, baseline, region_membership=overrides)
    _assert_same(got, want)


def test_empty_scenario_rows_beyond_the_baseline() -> None:
    """A scenario with only non-metric rows gets zeros, empty dicts and no cover keys."""
    series = _synthetic(0)
    base = series[series["scenario"] == "baseline"]
    other = base.head(1).assign(scenario="bare", variable="tariff_revenue")
    df = pd.concat([base, other], ignore_index=True)
    want = _reference_compare(df, "baseline")
    assert want["bare"]["avg_price_inside_forge_usd_per_t"] == {}
    _assert_same(compare_to_baseline(df, "baseline"), want)
