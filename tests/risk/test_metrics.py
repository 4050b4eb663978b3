"""Hand-computed cases and invariants of critmin.catalog.metrics."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.catalog import metrics as m
from critmin.errors import InputError


def q(**kw: float) -> pd.Series:
    return pd.Series(kw, dtype=float)


def test_hhi_three_producers() -> None:
    """Shares 0.5, 0.3, 0.2 -> HHI = (0.25 + 0.09 + 0.04) * 10,000 = 3,800."""
    s = m.shares(q(CHN=50, AUS=30, USA=20))
    assert s.to_dict() == pytest.approx({"CHN": 0.5, "AUS": 0.3, "USA": 0.2})
    assert m.hhi(s) == pytest.approx(3800.0)


def test_hhi_other_countries_bounds_and_withheld() -> None:
    """CHN 60, AUS 20, Other 20, USA withheld (NaN, not counted in the total).

    Shares 0.6, 0.2, 0.2. Other as fragmented: (0.36 + 0.04) * 1e4 = 4,000 (lower bound);
    other as one producer: (0.36 + 0.04 + 0.04) * 1e4 = 4,400 (upper bound).
    """
    s = m.shares(pd.Series({"CHN": 60.0, "AUS": 20.0, m.OTHER_ISO3: 20.0, "USA": float("nan")}))
    assert "USA" not in s.index
    assert m.hhi(s) == pytest.approx(4000.0)
    assert m.hhi(s, other_as="one") == pytest.approx(4400.0)
    # the remainder is never reported as the top producer
    assert m.top1(s) == ("CHN", pytest.approx(0.6))


def test_top_shares_and_china_share() -> None:
    """40, 25, 15, 10, 10 of 100: top-1 = 0.40 (CHN), top-3 = 0.40 + 0.25 + 0.15 = 0.80."""
    s = m.shares(q(CHN=40, AUS=25, CHL=15, ARG=10, BRA=10))
    assert m.top1(s) == ("CHN", pytest.approx(0.40))
    assert m.top_n_share(s, 3) == pytest.approx(0.80)
    assert m.country_share(s, "CHN") == pytest.approx(0.40)
    assert m.country_share(s, "USA") == 0.0
    assert m.bloc_share(s, {"AUS", "ARG", "USA"}) == pytest.approx(0.35)


def test_empty_table_gives_nan_not_zero() -> None:
    """No reported quantity: every metric is unknown (nan -> null), never 0."""
    s = m.shares(pd.Series({"USA": float("nan")}))
    assert s.empty
    assert math.isnan(m.hhi(s))
    assert m.top1(s)[0] is None
    assert math.isnan(m.top_n_share(s, 3))
    assert math.isnan(m.country_share(s, "CHN"))
    assert math.isnan(m.bloc_share(s, {"USA"}))


def test_negative_quantity_is_an_input_error() -> None:
    with pytest.raises(InputError, match="negative"):
        m.shares(q(CHN=10, AUS=-1))


def test_instability_scale() -> None:
    """g = (2.5 - w) / 5 * 10: w=2.5 -> 0, w=-2.5 -> 10, w=0 -> 5, w=-0.5 -> 6; w=3 clips to 0."""
    g = m.instability(q(A=2.5, B=-2.5, C=0.0, D=-0.5, E=3.0, F=-2.8))
    assert g.to_dict() == pytest.approx({"A": 0, "B": 10, "C": 5, "D": 6, "E": 0, "F": 10})
    assert m.instability(q(D=-0.5), scale=1.0)["D"] == pytest.approx(0.6)


def test_eu_supply_risk_global_only() -> None:
    """CHN 0.8 (WGI -0.5 -> g 6), AUS 0.2 (WGI 1.0 -> g 3).

    HHI_WGI = 0.8**2 * 6 + 0.2**2 * 3 = 3.84 + 0.12 = 3.96; with IR=0, EoL-RIR=0, SI=1 the
    EU 2017 formula reduces to it.
    """
    g = m.instability(q(CHN=-0.5, AUS=1.0))
    s = m.shares(q(CHN=80, AUS=20))
    value, coverage = m.hhi_wgi(s, g)
    assert value == pytest.approx(3.96)
    assert coverage == pytest.approx(1.0)
    assert m.eu_supply_risk(s, g) == pytest.approx(3.96)


def test_eu_supply_risk_full_formula() -> None:
    """EU 2017: SR = (HHI_WGI,GS * IR/2 + HHI_WGI,EU * (1 - IR/2)) * (1 - EoL_RIR) * SI.

    Global 0.8/0.2 as above -> 3.96. EU sourcing CHN 0.5, AUS 0.5 -> 0.25*6 + 0.25*3 = 2.25.
    IR = 0.6: 3.96 * 0.3 + 2.25 * 0.7 = 1.188 + 1.575 = 2.763; EoL-RIR 0.1, SI 0.9:
    2.763 * 0.9 * 0.9 = 2.23803.
    """
    g = m.instability(q(CHN=-0.5, AUS=1.0))
    sr = m.eu_supply_risk(
        m.shares(q(CHN=80, AUS=20)),
        g,
        sourcing_share=m.shares(q(CHN=1, AUS=1)),
        import_reliance=0.6,
        eol_rir=0.1,
        substitution_index=0.9,
    )
    assert sr == pytest.approx(2.23803)
    with pytest.raises(InputError, match="import_reliance"):
        m.eu_supply_risk(m.shares(q(CHN=1)), g, import_reliance=1.5)


def test_hhi_wgi_missing_score_is_a_lower_bound() -> None:
    """CHN 0.5 (g 6), XKX 0.5 without score: value 0.25 * 6 = 1.5, coverage 0.5."""
    value, coverage = m.hhi_wgi(m.shares(q(CHN=1, XKX=1)), m.instability(q(CHN=-0.5)))
    assert value == pytest.approx(1.5)
    assert coverage == pytest.approx(0.5)


def test_geopolrisk_bloc() -> None:
    """Bloc {USA, CAN}, production 100 t; HHI 5,000; imports CHN 200 t (WGI -0.5 -> g 0.6),
    AUS 100 t (WGI 1.0 -> g 0.3), CAN 50 t (intra-bloc: dropped).

    P = 100 + 200 + 100 = 400; sum g*f = 0.6*200 + 0.3*100 = 150;
    GPR = 0.5 * 150 / 400 = 0.1875.
    """
    g = m.instability(q(CHN=-0.5, AUS=1.0, CAN=1.0), scale=1.0)
    gpr = m.geopolrisk(5000.0, q(CHN=200, AUS=100, CAN=50), g, 100.0, {"USA", "CAN"})
    assert gpr == pytest.approx(0.1875)


def test_geopolrisk_single_country_gemechu_form() -> None:
    """One importer, no domestic production, all from one exporter with g=1 and HHI 10,000:
    GPR = 1 * 1 * f / f = 1 (the maximum)."""
    gpr = m.geopolrisk(10_000.0, q(PRK=10), m.instability(q(PRK=-2.5), scale=1.0), 0.0)
    assert gpr == pytest.approx(1.0)
    assert math.isnan(m.geopolrisk(float("nan"), q(PRK=10), pd.Series(dtype=float), 0.0))
    assert math.isnan(m.geopolrisk(5000.0, pd.Series(dtype=float), pd.Series(dtype=float), 0.0))


quantities = st.dictionaries(
    st.sampled_from(["CHN", "AUS", "USA", "CHL", "ARG", "COD", "IDN", m.OTHER_ISO3]),
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
    min_size=1,
).filter(lambda d: sum(d.values()) > 1e-6)


@given(quantities, st.floats(min_value=1e-3, max_value=1e3))
def test_shares_properties(d: dict[str, float], k: float) -> None:
    """Shares sum to 1; HHI in [1e4/n, 1e4] with other-as-one; scale invariant; top1<=top3<=1."""
    s = m.shares(pd.Series(d))
    assert s.sum() == pytest.approx(1.0)
    positive = int((s > 0).sum())
    assert 10_000.0 / positive - 1e-6 <= m.hhi(s, other_as="one") <= 10_000.0 + 1e-6
    assert m.hhi(s) <= m.hhi(s, other_as="one") + 1e-9
    assert m.hhi(m.shares(pd.Series(d) * k)) == pytest.approx(m.hhi(s), rel=1e-9, abs=1e-9)
    if m.top1(s)[0] is not None:
        assert m.top1(s)[1] <= m.top_n_share(s, 3) + 1e-12 <= 1.0 + 1e-9
    assert m.bloc_share(s, set(d)) == pytest.approx(1.0)


@given(quantities, st.floats(min_value=-3.0, max_value=3.0))
def test_supply_risk_bounds(d: dict[str, float], w: float) -> None:
    """0 <= SR <= 10 * HHI/1e4; with one common WGI score SR = g * HHI/1e4 exactly."""
    s = m.shares(pd.Series(d))
    g = m.instability(pd.Series(w, index=list(d)))
    sr = m.eu_supply_risk(s, g)
    gval = float(g.iloc[0])
    assert 0.0 <= sr <= 10.0 * m.hhi(s) / 1e4 + 1e-9
    assert sr == pytest.approx(gval * m.hhi(s) / 1e4, abs=1e-9)


@given(quantities, st.floats(min_value=1.0, max_value=3.0))
def test_world_total_shares_properties(d: dict[str, float], excess: float) -> None:
    """Shares of a published world total W >= the sum of the rows: named shares + unallocated
    = 1, unallocated >= the "Other countries" share, HHI on these shares <= HHI on shares of
    the row sum (the remainder is fragmented), and top-1 <= top-3."""
    qty = pd.Series(d)
    total = float(qty.sum()) * excess
    s = m.shares(qty, total=total)
    rest = m.unallocated(s)
    assert float(m.named(s).sum()) + rest == pytest.approx(1.0)
    assert rest >= m.country_share(s, m.OTHER_ISO3) - 1e-12
    assert m.hhi(s) <= m.hhi(m.shares(qty)) + 1e-6
    if m.top1(s)[0] is not None:
        assert m.top1(s)[1] <= m.top_n_share(s, 3) + 1e-12


imports = st.dictionaries(
    st.sampled_from(["CHN", "AUS", "CAN", "MEX", "COD", "IDN", "XKX"]),
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    min_size=1,
)


@given(
    imports,
    st.floats(min_value=0.0, max_value=1e6),
    st.sets(st.sampled_from(["CAN", "MEX", "AUS"]), min_size=1),
    st.floats(min_value=0.0, max_value=10_000.0),
)
def test_geopolrisk_conventions(
    f: dict[str, float], domestic: float, members: set[str], hhi: float
) -> None:
    """Keeping intra-bloc imports at zero risk (as-imports) never raises the import term above
    dropping them (as-domestic): same numerator, larger denominator. Both lie in [0, 1], and
    the score is HHI/1e4 times the term."""
    g = m.instability(pd.Series({"CHN": -0.5, "AUS": 1.0, "CAN": 1.2, "COD": -2.0}), scale=1.0)
    dom = m.geopolrisk_parts(hhi, pd.Series(f), g, domestic, members, intra_bloc="as-domestic")
    imp = m.geopolrisk_parts(hhi, pd.Series(f), g, domestic, members, intra_bloc="as-imports")
    if math.isnan(dom[1]) or math.isnan(imp[1]):
        return
    assert 0.0 <= imp[1] <= dom[1] + 1e-12 <= 1.0 + 1e-9
    assert dom[0] == pytest.approx(hhi / 1e4 * dom[1])
