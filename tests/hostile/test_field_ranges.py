"""Numeric ranges per field where the unit-suffix rule of :mod:`critmin.bounds` is too loose
(issue 13): a field without a unit could hold anything up to 1e15.

Through ``critmin validate`` on a copy of ``examples/scenarios/two_regions.yaml`` (150 t a month
of NdPr oxide bid in JPN, horizon 2026-01..2026-06) with one field changed: exit 2 and one
line naming the file line and field. Before, ``growth_per_year: 1e15`` passed ``validate`` and
``run`` reached the catch-all (inf bids: "Out of range float values are not JSON compliant"),
``growth_per_year: 1000`` handed the solver bids of 1e300 t, and ``demand_surge`` shares and
conversion ratios had no upper bound.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.hostile.harness import REPO, run_in_process

TWO = REPO / "examples" / "scenarios" / "two_regions.yaml"
MAGNET = REPO / "examples" / "scenarios" / "magnet_chain_tariff.yaml"


def _scenario(tmp_path: Path, source: Path, edit: dict[str, object]) -> Path:
    """``source`` with dotted paths set (``markets.0.demand.0.growth_per_year``)."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for path, value in edit.items():
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    out = tmp_path / "s.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def refused(path: Path, field: str, pattern: str) -> str:
    code, _out, err = run_in_process(["validate", str(path)])
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}: {err}"
    assert len(lines) == 1, err
    assert f"field '{field}'" in lines[0], lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("label", "edit", "field", "pattern"),
    [
        (
            "growth-1e15",
            {"markets.0.demand.0.growth_per_year": 1e15},
            "markets[0].demand[0].growth_per_year",
            "less than or equal to 1",
        ),
        (
            "growth-1000",
            {"markets.0.demand.0.growth_per_year": 1000},
            "markets[0].demand[0].growth_per_year",
            "less than or equal to 1",
        ),
        (
            "growth-minus-1",
            {"markets.0.demand.0.growth_per_year": -1},
            "markets[0].demand[0].growth_per_year",
            "greater than -1",
        ),
        (
            "surge-share-1e15",
            {
                "shocks": [
                    {"kind": "demand_surge", "region": "JPN", "share": 1e15, "start": "2026-02"}
                ]
            },
            "shocks[0].share",
            "less than or equal to 10",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_field_without_a_unit_has_its_own_range(
    label: str, edit: dict[str, object], field: str, pattern: str, tmp_path: Path
) -> None:
    refused(_scenario(tmp_path, TWO, edit), field, pattern)


@pytest.mark.parametrize(("value", "words"), [(1e7, "less than or equal to"), (1e-9, "greater")])
def test_a_conversion_ratio_within_1e_minus_6_to_1e6(
    value: float, words: str, tmp_path: Path
) -> None:
    """``input_t_per_t`` of 1e7 or 1e-9 t/t puts coefficients into the LP that its 1e-7
    tolerances cannot tell apart (the shipped values are 0.188 to 8.5)."""
    doc = yaml.safe_load(MAGNET.read_text(encoding="utf-8"))
    k = next(i for i, m in enumerate(doc["markets"]) if m.get("conversions"))
    path = _scenario(tmp_path, MAGNET, {f"markets.{k}.conversions.0.input_t_per_t": value})
    refused(path, f"markets[{k}].conversions[0].input_t_per_t", words)


def test_a_bid_grown_over_the_horizon_stays_within_1e10_t_a_month(tmp_path: Path) -> None:
    """Each field in range, their product not: 150 t a month at +50 % a year for 100 years
    is 150 x 1.5**99.9 = 1.7e19.6 -> about 1e20 t a month by 2125-12, over the 1e10 t bound
    on any quantity (the solver got it before). Ten years of the same growth (150 x 1.5**9.9
    = 8.7e3 t) are fine."""
    edit = {"markets.0.demand.0.growth_per_year": 0.5, "months.end": "2125-12"}
    line = refused(
        _scenario(tmp_path, TWO, edit),
        "markets[0].demand[0].growth_per_year",
        r"150 t a month growing \+50% a year from 2026-01 is 1e20 t a month by 2125-12, "
        r"over 1e\+10 t",
    )
    assert re.match(r"critmin: error: .*s\.yaml:\d+ field", line), line
    edit["months.end"] = "2035-12"
    code, out, err = run_in_process(["validate", str(_scenario(tmp_path, TWO, edit))])
    assert code == 0, err
    assert "ok" in out


def test_shrinking_towards_a_late_base_month_is_bounded_too(tmp_path: Path) -> None:
    """-90 % a year counted from a base month 50 years after the start: at the start the bid
    is 150 x 0.1**-50 = 1.5e52 t a month (the power runs backwards); refused as well."""
    edit = {
        "markets.0.demand.0.growth_per_year": -0.9,
        "markets.0.base_month": "2076-01",
        "months.end": "2076-12",
    }
    refused(
        _scenario(tmp_path, TWO, edit),
        "markets[0].demand[0].growth_per_year",
        r"is 1e52 t a month by 2026-01",
    )


@pytest.mark.parametrize(("value", "words"), [(1.5, "less than or equal to 1"), (-0.1, "greater")])
def test_the_levy_bound_share_is_a_share(value: float, words: str, tmp_path: Path) -> None:
    """``forge_levy.bound_share`` is the levy's bound as a share of the landed price: 0..1
    (before, anything up to 1e15 passed). On the built-in managed-market scenario, whose levy
    otherwise takes the dated parameter (0.25)."""
    src = REPO / "src" / "critmin" / "scenarios" / "builtin" / "ndpr_managed_market.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    k = next(i for i, ins in enumerate(doc["instruments"]) if ins["kind"] == "forge_levy")
    path = _scenario(tmp_path, src, {f"instruments.{k}.bound_share": value})
    refused(path, f"instruments[{k}].bound_share", words)
