"""Leading-producer share from the world data agrees with USGS table T5 within 1 point.

T5 (MCS2025_T5_Critical_Minerals_Salient.csv) gives, per critical mineral, the leading
producing country, its 2024 production and its percent of world production. We recompute
it from MCS2025_World_Data.csv as built into ``production.csv``: the largest single country
(not "Other countries") over the USGS world total.

Skipped T5 rows, and why:
- Germanium, Scandium, Yttrium: T5 gives "NA" for the leading country's production and share
  (USGS withholds or does not estimate world output); nothing to compare.
"""

from __future__ import annotations

import pytest

from critmin.catalog.countries import to_iso3
from critmin.catalog.production import leading_producer, production
from critmin.catalog.usgs import parse_value
from tests.t5 import SKIPPED, T5_MAP, t5_rows


def test_every_t5_row_is_compared_or_skipped_with_a_reason() -> None:
    names = {r["Critical_mineral"] for r in t5_rows()}
    assert names == set(T5_MAP) | SKIPPED
    for r in t5_rows():
        if r["Critical_mineral"] in SKIPPED:
            assert parse_value(r["Leading_source_precent_world"]).is_missing


@pytest.mark.parametrize("row", t5_rows(), ids=lambda r: r["Critical_mineral"])
def test_leading_share_matches_t5(row: dict[str, str]) -> None:
    name = row["Critical_mineral"]
    if name in SKIPPED:
        pytest.skip(f"T5 gives NA for {name}")
    mineral, stage = T5_MAP[name]
    iso3, share = leading_producer(mineral, stage, 2024)
    assert iso3 == to_iso3(row["Leading_source_country"])
    t5_pct = parse_value(row["Leading_source_precent_world"]).value
    assert abs(100 * share - t5_pct) <= 1.0, (name, 100 * share, t5_pct)
    # and the leader's own tonnage is the one T5 prints
    rows = production(mineral, stage, 2024)
    qty = rows.loc[rows["country_iso3"] == iso3, "qty"].iloc[0]
    assert qty == pytest.approx(parse_value(row["Leading_country_prod"]).value, rel=1e-9)
