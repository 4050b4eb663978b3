"""A sweep with instruments gives the stored table and summary, to the bit.

``test_equivalence.py`` shows that a sample equals the deterministic run of its scenario; both
sides run today's code, so a change that moves both (an instrument's bookkeeping, the levy's
fixed point, the stockpile's ledger, how a sample is built) passes it. This file pins the
numbers themselves: the benchmark study (``benchmarks/studies/ndpr_ban_uncertainty.yaml``: the
same five uncertain inputs) on the managed-market base, over 18 months that hold the export
ban, 8 Latin-hypercube samples with a fixed seed, its outcomes including every instrument's
headline figures (levy revenue, floor cost, stock releases and cash, the ledger check). A speed
change to the sweep path, the engine or an instrument must leave ``samples.parquet`` equal
(``assert_frame_equal(check_exact=True)``) and ``summary.json`` equal apart from its date,
timings and file path.

The stored values are HiGHS's optima: a different HiGHS build may move the last bits, so the
highspy version they were made with is stored beside them, and under another version the
table is compared to a relative 1e-9 instead (the summary's statistics likewise). When a
change of results is intended, regenerate with the reason in the commit::

    PYTHONPATH=src .venv/bin/python -m tests.sweep.test_golden_sweep --update
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.scenarios.sweep import load_study_text, run_sweep
from critmin.scenarios.sweep.summary import summarize

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "sweep_managed_market.json"

STUDY = """
name: golden_managed_sweep
base: builtin:ndpr_managed_market
months: {start: 2026-04, end: 2027-09}
seed: 7
sampler: {kind: latin_hypercube, samples: 8}
batch_size: 4
uncertainties:
  - name: chn_mines_scale
    path: "markets[mineral=ndpr].supply[region=CHN].qty_t_per_year"
    op: scale
    distribution: {kind: triangular, low: 0.7, mode: 1.0, high: 1.1}
  - name: ban_length_months
    path: "shocks[kind=export_ban].length_months"
    distribution: {kind: discrete, values: [3, 6, 12]}
  - name: demand_growth
    path:
      - "markets[mineral=ndpr].demand[*].growth_per_year"
      - "markets[mineral=ndpr].demand_curves[*].growth_per_year"
    distribution: {kind: normal, mean: 0.06, sd: 0.02, low: 0.0}
  - name: magnet_wtp_scale
    path:
      - "markets[mineral=ndpr].demand[*].wtp_usd_per_t"
      - "markets[mineral=ndpr].demand_curves[*].ref_price_usd_per_t"
    op: scale
    distribution: {kind: lognormal, median: 1.0, sigma: 0.15}
  - name: dy_supply_scale
    path: "markets[mineral=dysprosium_oxide].supply[*].qty_t_per_year"
    op: scale
    distribution: {kind: uniform, low: 0.6, high: 1.2}
outcomes:
  - {name: unserved_magnet_usa_t, variable: unserved, mineral: ndpr,
     product: ndfeb_magnet, region: USA}
  - {name: magnet_spend_usa_usd, variable: expenditure, mineral: ndpr,
     product: ndfeb_magnet, region: USA}
  - {name: oxide_price_usa_peak_usd_per_t, variable: price, mineral: ndpr,
     product: ndpr_oxide, region: USA, reduce: max}
  - {name: oxide_price_usa_usd_per_t, variable: price, mineral: ndpr,
     product: ndpr_oxide, region: USA, monthly: true}
  - {name: magnet_short_t, metric: physical_shortage_t_by_product.ndfeb_magnet}
  - {name: physical_shortage_months, metric: physical_shortage_months}
  - {name: levy_revenue_usd, metric: levy_revenue_usd}
  - {name: levy_iterations_max, metric: levy_iterations_max}
  - {name: floor_fiscal_cost_usd, metric: floor_fiscal_cost_usd}
  - {name: stock_releases_magnet_t, metric: stock_releases_t_ndfeb_magnet}
  - {name: stock_purchases_magnet_t, metric: stock_purchases_t_ndfeb_magnet}
  - {name: stock_cash_usd, metric: stock_cash_usd}
  - {name: stock_ledger_balanced, metric: stock_ledger_balanced}
"""

#: summary fields that differ from run to run whatever the results
VOLATILE = ("created", "timing", "source")


def _highspy() -> str:
    return importlib.metadata.version("highspy")


def _sweep(out: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    loaded = load_study_text(STUDY, "golden_managed_sweep.yaml")
    run = run_sweep(loaded, out, workers=1)
    table = pd.read_parquet(out / "samples.parquet")
    pd.testing.assert_frame_equal(table, run.table)
    summary = {k: v for k, v in summarize(loaded, run).items() if k not in VOLATILE}
    return table, summary


def _cell(value: Any) -> Any:
    """A table cell as JSON (floats as Python writes them: ``repr`` reads back exactly)."""
    if isinstance(value, np.ndarray):
        return [_cell(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _frame(stored: dict[str, Any]) -> pd.DataFrame:
    """The stored table, with the dtypes it was written with (monthly outcomes as arrays)."""
    columns: dict[str, Any] = {}
    for name, dtype in stored["dtypes"].items():
        values = stored["columns"][name]
        if dtype == "object" and values and isinstance(values[0], list):
            columns[name] = pd.Series([np.array(v, dtype=np.float64) for v in values], dtype=object)
        else:
            columns[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(columns)


def _close(a: Any, b: Any, rtol: float) -> bool:
    """JSON values equal, numbers to ``rtol`` (0: exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return a == b or math.isclose(a, b, rel_tol=rtol) if rtol else a == b
    return bool(a == b)


def _compare_table(table: pd.DataFrame, golden: pd.DataFrame, exact: bool) -> None:
    assert list(table.columns) == list(golden.columns)
    monthly = [c for c in golden.columns if golden[c].dtype == object and c not in ("status",)]
    monthly = [c for c in monthly if isinstance(golden[c].iloc[0], np.ndarray)]
    flat = [c for c in golden.columns if c not in monthly]
    pd.testing.assert_frame_equal(
        table[flat], golden[flat], check_exact=exact, rtol=0 if exact else 1e-9
    )
    for col in monthly:
        for got, want in zip(table[col], golden[col], strict=True):
            if exact:
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-9)


def test_a_managed_market_sweep_gives_the_stored_table_and_summary(tmp_path: Path) -> None:
    table, summary = _sweep(tmp_path / "sweep")
    stored = json.loads(GOLDEN.read_text(encoding="utf-8"))
    exact = stored["highspy"] == _highspy()
    assert (table["status"] == "ok").all(), table["error"].tolist()
    # the study exercises what it pins: releases from the stock, levy revenue, a floor cost
    assert (table["stock_releases_magnet_t"] > 0).any()
    assert (table["levy_revenue_usd"] > 0).all()
    assert (table["stock_ledger_balanced"] == 1.0).all()
    _compare_table(table, _frame(stored["table"]), exact)
    assert _close(summary, stored["summary"], 0 if exact else 1e-9), "summary.json moved"


def _update() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        table, summary = _sweep(Path(tmp) / "sweep")
    stored = {
        "highspy": _highspy(),
        "table": {
            "dtypes": {c: str(table[c].dtype) for c in table.columns},
            "columns": {c: [_cell(v) for v in table[c]] for c in table.columns},
        },
        "summary": summary,
    }
    GOLDEN.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} ({len(table)} samples)")


if __name__ == "__main__":
    if "--update" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.sweep.test_golden_sweep --update")
    _update()
