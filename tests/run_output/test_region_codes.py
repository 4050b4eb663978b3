"""Region codes in scenario files: ISO 3166 alpha-3, catalog aggregates or declared ones.

Checked against the ISO 3166-1 table as pycountry ships it (not a list written here)."""

from __future__ import annotations

from pathlib import Path

import pycountry
import pytest

from critmin.errors import InputError
from critmin.market.regions import region_problem
from critmin.scenarios.loader import load_scenario

TEXT = """\
name: regions
months: {{start: 2026-01, end: 2026-01}}
markets:
  - mineral: widget
{extra}    supply:
      - {{region: {supplier}, qty_t: 10, cost_usd_per_t: 5}}
    demand:
      - {{region: JPN, qty_t: 10, wtp_usd_per_t: 50}}
"""


def _load(tmp_path: Path, supplier: str, extra: str = "") -> None:
    path = tmp_path / "s.yaml"
    path.write_text(TEXT.format(supplier=supplier, extra=extra))
    load_scenario(str(path))


@pytest.mark.parametrize(
    ("code", "suggestion"), [("AUSTRALIA", "AUS"), ("AUZ", "AUS"), ("DE", "DEU"), ("Japan", "JPN")]
)
def test_unknown_code_names_file_line_field_and_a_suggestion(
    tmp_path: Path, code: str, suggestion: str
) -> None:
    with pytest.raises(InputError) as info:
        _load(tmp_path, code)
    msg = str(info.value)
    assert "s.yaml:6 field 'markets[0].supply[0].region'" in msg
    assert f"did you mean {suggestion}?" in msg


def test_every_iso_3166_alpha3_code_and_the_catalog_aggregates_pass() -> None:
    for country in pycountry.countries:
        assert region_problem(str(country.alpha_3)) is None, country.alpha_3
    assert region_problem("EU") is None
    assert region_problem("ROW") is None


def test_declared_aggregates_pass(tmp_path: Path) -> None:
    _load(tmp_path, "MEM", extra='    aggregates: {MEM: "members of a test bloc"}\n')
    with pytest.raises(InputError, match="unknown region code 'MEM'"):
        _load(tmp_path, "MEM")
