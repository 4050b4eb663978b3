"""Bad input gives one clear error naming file, line and field; nothing is half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_contract_months_are_the_one_month_type_and_old_spellings_still_load(
    tmp_path: Path,
) -> None:
    """``start: 2026-4`` (as contract files have been written) loads as ``2026-04``; what is no
    month gets the message of every other spec's dates (critmin.periods.Month), with file,
    line and field."""
    good = tmp_path / "c.yaml"
    head = "name: x\nbuyer: b\nseller: s\nmineral: ndpr_oxide\nvolume_t_per_year: 12\n"
    good.write_text(head + "start: 2026-4\nend: 2027-01-01\n")
    contract = load_contract(good)
    assert (contract.start, contract.end) == ("2026-04", "2027-01")
    assert len(contract.months) == 10
    bad = tmp_path / "bad.yaml"
    bad.write_text(head + "start: July 2026\nend: 2027-01\n")
    with pytest.raises(InputError) as info:
        load_contract(bad)
    assert str(info.value).startswith(f"{bad}:6 field 'start': ")
    assert "expected a month YYYY-MM (e.g. 2026-07), got 'July 2026'" in str(info.value)


@given(st.one_of(st.text(max_size=9), st.from_regex(r"\A\s?\d{4}-\d{1,2}\s?\Z")))
def test_a_contract_month_is_a_month_or_refused(text: str) -> None:
    """Whatever is written, a contract's month is either refused with the month message or
    the ``YYYY-MM`` month that :data:`critmin.periods.Month` accepts unchanged (one type,
    one format); what it becomes is what ``parse_month`` (the parameter files' reader) reads."""
    from pydantic import TypeAdapter, ValidationError

    from critmin.contracts.spec import OfftakeContract
    from critmin.periods import MONTH_RE, Month
    from critmin.policy.parameters import parse_month

    fields = {"name": "x", "buyer": "b", "seller": "s", "mineral": "m", "volume_t_per_year": 1}
    try:
        expected: str | None = parse_month(text)
    except InputError:
        expected = None
    if expected is None:
        with pytest.raises(ValidationError, match="expected a month YYYY-MM"):
            OfftakeContract(**fields, start=text, end=text)
        return
    contract = OfftakeContract(**fields, start=text, end=text)
    assert contract.start == contract.end == expected
    assert MONTH_RE.match(expected)
    assert TypeAdapter(Month).validate_python(expected) == expected
