"""`critmin risk --all --json` agrees with USGS MCS 2025 table T5 within one point.

T5 (MCS2025_T5_Critical_Minerals_Salient.csv, a file nobody on the project wrote) gives,
per critical mineral, the leading producing country and its percent of world production in
2024. The test runs the command a user runs, parses what it prints, and compares each T5
mineral's ``top1_iso3`` / ``top1_share`` with T5. It also checks the one share definition:
top-1 + the other named countries + ``unallocated_share`` add up to the world total.

Skipped T5 rows: Germanium, Scandium, Yttrium (T5 prints "NA" for the leader's share).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.catalog.countries import to_iso3
from critmin.catalog.usgs import parse_value
from tests.t5 import SKIPPED, T5_MAP, t5_rows


@pytest.fixture(scope="module")
def printed() -> dict[tuple[str, str], dict[str, Any]]:
    """What `critmin risk --all --json` prints, keyed by (mineral, stage)."""
    from critmin.cli import app
    from critmin.cli import commands as _commands  # noqa: F401  (registers the commands)

    result = CliRunner().invoke(app, ["risk", "--all", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    return {(r["mineral"], r["stage"]): r for r in records}


def test_all_covers_every_t5_mineral(printed: dict[tuple[str, str], dict[str, Any]]) -> None:
    names = {r["Critical_mineral"] for r in t5_rows()}
    assert names == set(T5_MAP) | SKIPPED
    assert set(T5_MAP.values()) <= set(printed)


@pytest.mark.parametrize("row", t5_rows(), ids=lambda r: r["Critical_mineral"])
def test_risk_all_json_top1_matches_t5(
    row: dict[str, str], printed: dict[tuple[str, str], dict[str, Any]]
) -> None:
    name = row["Critical_mineral"]
    if name in SKIPPED:
        pytest.skip(f"T5 gives NA for {name}")
    rec = printed[T5_MAP[name]]
    assert rec["top1_iso3"] == to_iso3(row["Leading_source_country"])
    t5_pct = parse_value(row["Leading_source_precent_world"]).value
    assert abs(100 * rec["top1_share"] - t5_pct) <= 1.0, (name, rec["top1_share"], t5_pct)
    assert rec["share_basis"] == "world total"


def test_hhi_and_remainder_on_the_same_shares(
    printed: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """HHI >= 10,000 x top1^2 and <= the upper bound that adds the remainder as one producer;
    the remainder is 1 - the named shares (so top-3 + remainder <= 1 up to rounding)."""
    checked = 0
    for rec in printed.values():
        if rec["hhi"] is None:
            continue
        top1, rest = rec["top1_share"], rec["unallocated_share"]
        assert rec["hhi"] >= 10_000 * top1**2 - 0.1
        assert rec["hhi_upper"] == pytest.approx(rec["hhi"] + 10_000 * max(rest, 0.0) ** 2, abs=0.2)
        assert rec["top3_share"] + rest <= 1.0 + 1e-3
        checked += 1
    assert checked > 60
