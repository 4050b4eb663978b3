"""Blocs with dated membership (FORGE from the State Dept. media note of 2026-02-04,
USMCA, EU-27, FEOC)."""

from __future__ import annotations

from datetime import date

import pytest

from critmin.catalog.blocs import get_bloc, list_blocs, members
from critmin.catalog.countries import EU_DELEGATION
from critmin.errors import UnknownNameError

FORGE_DAY = date(2026, 2, 4)


def test_forge_has_55_delegations_since_2026_02_04() -> None:
    """State Dept. media note 2026-02-04: 54 countries + the European Commission = 55
    delegations, on 2026-02-04."""
    forge = get_bloc("FORGE")
    delegations = [m for m in forge.memberships if m.role == "delegation"]
    assert len(delegations) == 55
    assert len({m.member_iso3 for m in delegations}) == 55
    assert sum(m.member_iso3 == EU_DELEGATION for m in delegations) == 1
    assert all(m.since == FORGE_DAY for m in forge.memberships)
    assert members("forge", "2026-02-03") == frozenset()
    on_day = members("forge", FORGE_DAY, include_host=False)
    assert len(on_day) == 54  # the countries; the EC is not a country
    assert {"AGO", "COD", "KOR", "NLD", "CZE", "COK", "GBR", "ARE"} <= on_day
    assert "CHN" not in on_day


def test_forge_host_and_eu_expansion() -> None:
    assert "USA" in members("forge", FORGE_DAY)
    assert "USA" not in members("forge", FORGE_DAY, include_host=False)
    plain = members("forge", FORGE_DAY)
    expanded = members("forge", FORGE_DAY, expand_eu=True)
    assert "ESP" not in plain
    assert "ESP" in expanded
    assert expanded == plain | members("eu27", FORGE_DAY)


def test_usmca_eu27_feoc() -> None:
    assert members("usmca", "2024-01-01") == {"USA", "MEX", "CAN"}
    assert members("usmca", "2020-06-30") == frozenset()
    assert len(members("eu27", "2025-01-01")) == 27
    assert "GBR" in members("eu27", "2020-01-31")
    assert "GBR" not in members("eu27", "2020-02-01")
    assert "HRV" not in members("eu27", "2013-06-30")
    assert members("feoc", "2025-01-01") == {"CHN", "RUS", "IRN", "PRK"}


def test_bloc_lookup() -> None:
    assert {b.id for b in list_blocs()} == {"forge", "usmca", "eu27", "feoc", "us_fta"}
    assert get_bloc("EU-27").id == "eu27"
    with pytest.raises(UnknownNameError, match="did you mean forge"):
        get_bloc("forg")


def test_us_fta_dated_partners() -> None:
    """USTR's 20 FTA partners, each from its agreement's entry into force (Israel 1985 ..
    Panama 2012-10-31), plus Japan from 2023-03-28 (US-Japan Critical Minerals Agreement)."""
    twenty = {
        "AUS", "BHR", "CAN", "CHL", "COL", "CRI", "DOM", "SLV", "GTM", "HND",
        "ISR", "JOR", "KOR", "MEX", "MAR", "NIC", "OMN", "PAN", "PER", "SGP",
    }  # fmt: skip
    assert members("us_fta", "2023-03-27") == twenty
    assert members("us_fta", "2023-03-28") == twenty | {"JPN"}
    assert "KOR" not in members("us_fta", "2012-03-14")
    assert "KOR" in members("us_fta", "2012-03-15")
    assert members("us_fta", "1990-01-01") == {"ISR", "CAN"}


def test_trace_uses_the_catalog_blocs() -> None:
    """trace.geo has no lists of its own: every bloc and day agrees with the catalog."""
    import datetime as dt

    from critmin.trace import geo

    assert geo.known_blocs() == sorted(b.id for b in list_blocs())
    for day in (dt.date(2020, 1, 31), dt.date(2026, 3, 1)):
        for b in list_blocs():
            assert geo.bloc_members(b.id, day) == members(b.id, day)
    assert geo.bloc_members("forge", dt.date(2026, 3, 1), expand_eu=True) == members(
        "forge", dt.date(2026, 3, 1), expand_eu=True
    )
    with pytest.raises(UnknownNameError, match="did you mean us_fta"):
        geo.bloc_members("us_ft", dt.date(2026, 3, 1))
