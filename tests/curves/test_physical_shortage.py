"""Physical shortage apart from demand reduction by price, on hand-solved two-region cases.

Both cases have region A (producer, 100 t/month at 1,000 usd/t) and region B (no supply; route
A->B costs 100 usd/t). B has a critical bid of 10 t/month (WTP 1,000,000 usd/t) and a demand
curve of Q0 = 60 t/month at p0 = 2,000 usd/t, e = -0.5, range 0.25..6 x p0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from critmin.cli import main

BASE = """\
name: {name}
months: {{start: 2026-01, end: 2026-03}}
markets:
  - mineral: widget
    regions: [A, B]
    aggregates: {{A: "producer", B: "importer"}}
    default_route_cost_usd_per_t: 100
    supply:
      - {{region: A, qty_t: {supply}, cost_usd_per_t: 1000, name: "A mine"}}
    demand:
      - {{region: B, qty_t: 10, wtp_usd_per_t: 1000000, critical: true, name: "B critical"}}
    demand_curves:
      - {{region: B, qty_t: 60, ref_price_usd_per_t: 2000, elasticity: -0.5, price_max_ratio: 6,
         elasticity_source: "test value", name: "B curve"}}
{shocks}
"""
BAN = """\
shocks:
  - {kind: export_ban, exporter: A, start: 2026-02, end: 2026-02}
"""


def _summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[Path]) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["critmin", "run", *map(str, files), "--out", str(out)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    return json.loads((out / "summary.json").read_text())  # type: ignore[no-any-return]


def test_ban_leaving_critical_demand_unmet_is_physical_shortage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bans exports in 2026-02: B has no supply that month, so its critical 10 t and the
    curve's ceiling demand Q0 x 6 ** -0.5 = 60 x 0.40825 = 24.49 t are unmet: physical
    shortage 34.49 t, in exactly one month; the critical bid sets B's price (flagged)."""
    free = tmp_path / "free.yaml"
    free.write_text(BASE.format(name="free", supply=100, shocks=""))
    ban = tmp_path / "ban.yaml"
    ban.write_text(BASE.format(name="ban", supply=100, shocks=BAN))
    summary = _summary(tmp_path, monkeypatch, [free, ban])
    capsys.readouterr()
    m = summary["scenarios"][1]["metrics"]
    assert m["physical_shortage_t_by_product"]["widget"] == pytest.approx(10 + 60 * 6**-0.5)
    assert m["physical_shortage_critical_t_by_product"]["widget"] == pytest.approx(10)
    assert m["physical_shortage_months"] == 1
    flags = m["price_set_by_demand_ceiling"]
    assert [(f["region"], f["kind"], f["first_month"]) for f in flags] == [
        ("B", "critical bid", "2026-02")
    ]


def test_price_rise_trimming_curve_demand_is_not_physical_shortage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Free trade with 100 t of supply: B's price is 1,000 + 100 = 1,100 usd/t (A's supply is
    marginal), and B buys its curve's steps above 1,100. With only 30 t of supply the curve
    must ration 20 t (30 - critical 10): the price rises to about p0 (20/60) ** (1/-0.5) =
    18,000 usd/t -- above the ceiling 12,000, so the ceiling binds and 60 x 6 ** -0.5 - 20 =
    4.49 t/month are physically short; the rest of the drop in consumption against the
    100 t run is demand reduction by price, not shortage."""
    free = tmp_path / "free.yaml"
    free.write_text(BASE.format(name="free", supply=100, shocks=""))
    tight = tmp_path / "tight.yaml"
    tight.write_text(BASE.format(name="tight", supply=30, shocks=""))
    summary = _summary(tmp_path, monkeypatch, [free, tight])
    capsys.readouterr()
    base, m = (s["metrics"] for s in summary["scenarios"])
    assert base["physical_shortage_t_by_product"]["widget"] == 0
    assert base["avg_price_usd_per_t"]["widget/market/B"] == pytest.approx(1100)
    ceiling_q = 60 * 6**-0.5
    assert m["physical_shortage_t_by_product"]["widget"] == pytest.approx(3 * (ceiling_q - 20))
    cut = base["consumption_t_by_product"]["widget"] - m["consumption_t_by_product"]["widget"]
    assert m["demand_reduction_by_price_t_by_product"]["widget"] == pytest.approx(
        cut - 3 * (ceiling_q - 20)
    )
    assert m["physical_shortage_critical_t_by_product"]["widget"] == 0
