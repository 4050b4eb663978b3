"""Invariants of the catalog, checked over many inputs (hypothesis) or over every group."""

from __future__ import annotations

from datetime import date

import pycountry
from hypothesis import given
from hypothesis import strategies as st

from critmin.catalog.blocs import get_bloc, members
from critmin.catalog.countries import resolve_country, to_iso3
from critmin.catalog.production import production, production_table, world_totals_table

_COUNTRIES = list(pycountry.countries)


@given(st.sampled_from(_COUNTRIES), st.sampled_from(["name", "alpha_2", "alpha_3"]))
def test_pycountry_names_and_codes_round_trip(country: object, field: str) -> None:
    text = getattr(country, field)
    expected = country.alpha_3  # type: ignore[attr-defined]
    if field == "name":
        assert to_iso3(text) == expected
    assert resolve_country(text.lower()) == expected


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2035, 12, 31)))
def test_membership_follows_the_dates(day: date) -> None:
    """A member is in the set exactly when since <= day <= until (EU-27 incl. the UK era)."""
    bloc = get_bloc("eu27")
    expected = {
        m.member_iso3
        for m in bloc.memberships
        if m.since <= day and (m.until is None or day <= m.until)
    }
    assert members("eu27", day) == expected
    assert len(expected) <= 28
    assert ("GBR" in expected) == (date(1973, 1, 1) <= day <= date(2020, 1, 31))
    forge = members("forge", day)
    assert (len(forge) > 0) == (day >= date(2026, 2, 4))


def _groups() -> list[tuple[str, str, int]]:
    df = production_table()
    keys = df[["mineral", "stage", "year"]].drop_duplicates()
    return [(str(m), str(s), int(y)) for m, s, y in keys.itertuples(index=False)]


@given(st.sampled_from(_groups()))
def test_production_shares_are_fractions(key: tuple[str, str, int]) -> None:
    rows = production(*key)
    shares = rows["share"].dropna()
    assert (shares >= 0).all()
    assert shares.sum() <= 1.05  # USGS world totals are rounded
    assert rows["qty"].is_monotonic_decreasing or rows["qty"].isna().any()


def test_usgs_countries_add_up_to_the_world_total() -> None:
    """Sum of countries + 'Other countries' is within 5% of USGS 'World total (rounded)'.

    Catches unit slips (kg vs t, thousand t) and double counting. Widest gaps in MCS 2025:
    magnesium metal 2024 (+4.5%), antimony 2024 (+4%), from USGS rounding of the total.
    """
    df = production_table()
    usgs = df[df["source_id"] == "usgs_mcs2025"]
    totals = world_totals_table().set_index(["mineral", "stage", "year"])["qty"]
    sums = usgs.groupby(["mineral", "stage", "year"])["qty"].sum()
    checked = 0
    for key, value in sums.items():
        if key not in totals.index:
            continue  # boron: USGS withholds the world total
        assert abs(value / totals[key] - 1) <= 0.05, (key, value, totals[key])
        checked += 1
    assert checked >= 80
