"""Blocs with dated membership (FORGE from seed 002, USMCA, EU-27, FEOC)."""

from __future__ import annotations

from datetime import date

import pytest

from critmin.catalog.blocs import get_bloc, list_blocs, members
from critmin.catalog.countries import EU_DELEGATION
from critmin.errors import UnknownNameError

FORGE_DAY = date(2026, 2, 4)


def test_forge_has_55_delegations_since_2026_02_04() -> None:
    """Seed 002: 54 countries + the European Commission = 55 delegations, on 2026-02-04."""
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
    assert {b.id for b in list_blocs()} == {"forge", "usmca", "eu27", "feoc"}
    assert get_bloc("EU-27").id == "eu27"
    with pytest.raises(UnknownNameError, match="did you mean forge"):
        get_bloc("forg")
