"""The vectorised FORGE levy gives exactly what the per-route loop gave.

:class:`tests.instruments.levy_reference.ReferenceForgeLevy` is the levy as it was before
vectorisation (a Python loop over every route, ``flow()``/``price()`` per route). Both run
the same markets; levies, revenue, rows, prices and every headline metric must agree exactly
(the same floating-point operations in the same order: the per-route sums are accumulated
in route order by ``np.bincount``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from critmin.policy.instruments.forge_levy import ForgeLevy, ForgeLevySpec
from critmin.scenarios.plugins import load_instruments
from tests.instruments.helpers import solve
from tests.instruments.levy_reference import ReferenceForgeLevy

load_instruments()

from critmin.scenarios.loader import load_scenario  # noqa: E402
from critmin.scenarios.runner import run_study  # noqa: E402


def _managed(monkeypatch: pytest.MonkeyPatch, reference: bool) -> tuple[pd.DataFrame, Any]:
    if reference:
        monkeypatch.setattr(ForgeLevySpec, "build", lambda self: ReferenceForgeLevy(self))  # noqa: PLW0108
    else:
        monkeypatch.undo()
    series, summary = run_study([load_scenario("ndpr_managed_market")])
    (scenario,) = summary["scenarios"]
    return series, scenario["metrics"]


def test_default_study_managed_market_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed study's managed market (FORGE levy on oxide, metal and magnet; 24 months;
    up to 8 levy iterations a month) with the old and the new levy: identical metrics
    (levy revenue, imports, prices, unserved, every instrument's totals) and series rows."""
    old_series, old_metrics = _managed(monkeypatch, reference=True)
    new_series, new_metrics = _managed(monkeypatch, reference=False)
    assert old_metrics["levy_revenue_usd"] > 0
    assert new_metrics == old_metrics
    pd.testing.assert_frame_equal(
        new_series.reset_index(drop=True), old_series.reset_index(drop=True)
    )


MARKET = """
mineral: x
regions: [CHN, USA, JPN, ROW]
default_route_cost_usd_per_t: 1000
supply:
  - {region: CHN, qty_t: 100, cost_usd_per_t: 40000}
  - {region: ROW, qty_t: 30, cost_usd_per_t: 60000}
  - {region: USA, qty_t: 20, cost_usd_per_t: 95000}
demand:
  - {region: USA, qty_t: 60, wtp_usd_per_t: 150000}
  - {region: JPN, qty_t: 50, wtp_usd_per_t: 130000}
  - {region: CHN, qty_t: 30, wtp_usd_per_t: 80000}
"""


@pytest.mark.parametrize(
    "fields",
    [
        {"bound_share": 0.25},
        {"bound_usd_per_t": 20000.0, "damping": 0.5},
        {"bound_usd_per_t": {"x": 5000.0}, "start": "2026-02"},
        {"bound_share": 1.0, "region_membership": {"JPN": False}},
    ],
)
def test_small_market_matches_the_reference(fields: dict[str, Any]) -> None:
    """Members USA and JPN (explicit list), reference 100,000 usd/t, CHN and ROW levied;
    every variant of bound, damping, window and membership gives the same run."""
    base = {
        "kind": "forge_levy",
        "members": ["USA", "JPN"],
        "reference_prices_usd_per_t": {"x": 100_000.0},
        "transport_usd_per_t": 1000.0,
    }
    spec = ForgeLevySpec.model_validate(base | fields)
    months = ("2026-01", "2026-02", "2026-03")
    new, old = ForgeLevy(spec), ReferenceForgeLevy(spec)
    run_new = solve(MARKET, months, [new])
    run_old = solve(MARKET, months, [old])
    assert (run_new.price == run_old.price).all()
    assert (run_new.flow == run_old.flow).all()
    assert (run_new.iterations == run_old.iterations).all()
    assert new.finalize() == old.finalize()
    assert new.finalize().metrics["levy_revenue_usd"] > 0
