"""The ``critmin contract`` commands on the shipped examples (JSON outputs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples" / "contracts"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_settle_json_and_csv_out(tmp_path: Path) -> None:
    """DoD-MP through 2025-12 at 69 $/kg: DoD pays 3 x 41 x 108,333.3 kg = 13,325,000 USD."""
    out = tmp_path / "st.csv"
    res = _cli(
        "contract",
        "settle",
        str(EXAMPLES / "dod_mp_ndpr_floor.yaml"),
        "--prices",
        str(EXAMPLES / "ndpr_prices_example.csv"),
        "--through",
        "2025-12",
        "--out",
        str(out),
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [line["month"] for line in doc["lines"]] == ["2025-10", "2025-11", "2025-12"]
    assert doc["totals"]["floor_payer_pays_usd"] == pytest.approx(3 * 41 * 1300 / 12 * 1000)
    assert doc["floor_payer"] == "US-DoD"
    assert out.read_text().startswith("month,volume_t,market_price_usd_per_kg")


def test_value_json_has_the_required_keys() -> None:
    res = _cli(
        "contract",
        "value",
        str(EXAMPLES / "lynas_japan_ndpr.yaml"),
        "--forward-usd-per-kg",
        "150",
        "--vol",
        "0.3",
        "--rate",
        "0.04",
        "--paths",
        "20000",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    for key in ("floor_value_usd", "share_value_usd", "net_value_usd", "zero_cost_share"):
        assert key in doc
    assert doc["method"] == "black76-strip"
    assert doc["net_value_usd"] == pytest.approx(doc["floor_value_usd"] - doc["share_value_usd"])
    # at F = threshold = 150 > floor, calls are worth more than puts: a share in (0, 1) exists
    assert 0 < doc["zero_cost_share"] < 1
    assert doc["monte_carlo"]["paths"] == 20000


def test_value_needs_exactly_one_forward_source() -> None:
    res = _cli(
        "contract",
        "value",
        str(EXAMPLES / "lynas_japan_ndpr.yaml"),
        "--vol",
        "0.3",
        "--rate",
        "0.04",
    )
    assert res.returncode == 2
    assert "exactly one of --forward-usd-per-kg" in res.stderr
