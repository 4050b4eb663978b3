"""Bad input gives one clear error naming file, line and field; nothing is half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from critmin.contracts import load_contract, read_prices, settle
from critmin.errors import InputError

BAD = Path(__file__).parent / "cases" / "bad"
EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"


@pytest.mark.parametrize(
    ("name", "line", "field", "words"),
    [
        ("floor_above_cap.yaml", 8, "floor_usd_per_kg", "floor 120.0 USD/kg is above cap 100.0"),
        ("negative_volume.yaml", 5, "volume_t_per_year", "greater than or equal to 0"),
        ("end_before_start.yaml", 7, "end", "end 2026-01 is before start 2026-06"),
        ("threshold_below_floor.yaml", 9, "upside_share", "below the floor"),
        ("share_above_one.yaml", 11, "upside_share.buyer_share", "less than or equal to 1"),
    ],
)
def test_bad_contract_names_file_line_and_field(
    name: str, line: int, field: str, words: str
) -> None:
    with pytest.raises(InputError) as info:
        load_contract(BAD / name)
    msg = str(info.value)
    assert msg.startswith(f"{BAD / name}:{line} field '{field}': ")
    assert words in msg


def test_unknown_and_missing_fields_are_named(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("name: x\nbuyer: b\nseller: s\nmineral: m\nvolume_t_per_year: 1\nstart: 2026-01\n")
    with pytest.raises(InputError, match=r"c.yaml:1 field 'end': missing required field 'end'"):
        load_contract(f)
    f.write_text(
        "name: x\nbuyer: b\nseller: s\nmineral: m\nvolume_t_per_year: 1\n"
        "start: 2026-01\nend: 2026-02\nflor_usd_per_kg: 3\n"
    )
    with pytest.raises(InputError, match=r"c.yaml:8 field 'flor_usd_per_kg': unknown field"):
        load_contract(f)
    f.write_text(
        "name: x\nbuyer: b\nseller: s\nmineral: m\nvolume_t_per_year: 1\n"
        "start: 2026-13\nend: 2026-02\n"
    )
    with pytest.raises(InputError, match=r"c.yaml:6 field 'start': .*YYYY-MM"):
        load_contract(f)


def test_price_gap_names_missing_month() -> None:
    contract = load_contract(EXAMPLES / "lynas_japan_ndpr.yaml").model_copy(
        update={"start": "2026-01"}
    )
    with pytest.raises(InputError, match=r"gap_prices.csv: no price for 1 contract month.*2026-03"):
        settle(contract, read_prices(BAD / "gap_prices.csv"))


def test_non_numeric_price_names_line_and_column() -> None:
    with pytest.raises(InputError, match=r"bad_price.csv:3 column 'price_usd_per_kg'.*'abc'"):
        read_prices(BAD / "bad_price.csv")


def test_prices_before_contract_start_is_an_error(tmp_path: Path) -> None:
    contract = load_contract(EXAMPLES / "lynas_japan_ndpr.yaml")  # starts 2026-04
    early = tmp_path / "early.csv"
    early.write_text("month,price_usd_per_kg\n2025-01,60\n2025-02,61\n")
    with pytest.raises(InputError, match=r"nothing to settle: the prices end 2025-02"):
        settle(contract, read_prices(early))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_error_is_one_line_exit_2_and_no_output_file(tmp_path: Path) -> None:
    out = tmp_path / "statement.csv"
    res = _cli(
        "contract",
        "settle",
        str(BAD / "floor_above_cap.yaml"),
        "--prices",
        str(EXAMPLES / "ndpr_prices_example.csv"),
        "--out",
        str(out),
    )
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "floor_above_cap.yaml:8 field 'floor_usd_per_kg'" in lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
