"""Scenario discovery: feature scores on hand-solved cases, PRIM (EMA Workbench, optional
extra) recovering a planted box, and the sweep report as a user gets it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.scenarios.sweep.discovery import discover, ks_distance, tv_distance

from .conftest import critmin

STUDY = """\
name: report_small
base: builtin:ndpr_china_ban
months: {start: 2026-05, end: 2026-10}
seed: 11
sampler: {kind: sobol, samples: 4}
batch_size: 8
uncertainties:
  - name: chn_mines_scale
    path: "markets[mineral=ndpr].supply[region=CHN].qty_t_per_year"
    op: scale
    distribution: {kind: uniform, low: 0.7, high: 1.1}
  - name: ban_length_months
    path: "shocks[kind=export_ban].length_months"
    distribution: {kind: uniform, low: 1, high: 5}
outcomes:
  - {name: unserved_magnet_t, variable: unserved, mineral: ndpr, product: ndfeb_magnet}
  - {name: magnet_price_eu, variable: price, mineral: ndpr, product: ndfeb_magnet, region: EU,
     monthly: true}
"""


def test_ks_and_tv_hand_solved() -> None:
    """{1,2,3} vs {2,3,4}: the empirical CDFs differ by 1/3 at most (at 1 and at 3).
    Categories a,a,b vs a,b,b: frequencies 2/3,1/3 vs 1/3,2/3 -> total variation 1/3."""
    assert ks_distance(np.array([1.0, 2, 3]), np.array([2.0, 3, 4])) == pytest.approx(1 / 3)
    assert ks_distance(np.array([0.0, 1]), np.array([5.0, 6])) == 1.0
    assert tv_distance(pd.Series(list("aab")), pd.Series(list("abb"))) == pytest.approx(1 / 3)


def _planted(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "noise": rng.random(n)})
    t["c"] = rng.choice(["u", "v"], n)
    t["status"] = "ok"
    # failures (y = 10 + small noise) exactly where a > 0.7 and b < 0.3: ~12 % of samples
    t["y"] = ((t.a > 0.7) & (t.b < 0.3)).astype(float) * 10 + 0.01 * rng.random(n)
    return t


def test_feature_scores_rank_the_planted_inputs_first() -> None:
    t = _planted()
    got = discover(t, ["a", "b", "noise", "c"], ["y"])["outcomes"]["y"]["features"]["inputs"]
    ks = {k: v["ks"] for k, v in got.items()}
    assert min(ks["a"], ks["b"]) > 0.5
    assert max(ks["noise"], ks["c"]) < 0.2


def test_prim_recovers_the_planted_box() -> None:
    pytest.importorskip("ema_workbench", reason="optional discovery extra (make discovery)")
    box = discover(_planted(), ["a", "b", "noise", "c"], ["y"])["outcomes"]["y"]["prim"]
    assert set(box["limits"]) >= {"a", "b"}
    assert box["limits"]["a"]["min"] == pytest.approx(0.7, abs=0.05)
    assert box["limits"]["b"]["max"] == pytest.approx(0.3, abs=0.05)
    assert box["density"] >= 0.8
    assert box["coverage"] >= 0.5


def test_report_is_written_with_its_sections(tmp_path: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    res = critmin("sweep", str(study), "--out", str(out), "--workers", "1")
    assert res.returncode == 0, res.stderr
    page = (out / "report.html").read_text("utf-8")
    for heading in (
        "Outcome distributions",
        "Percentiles (95 % bootstrap intervals)",
        "Convergence of the running mean",
        "Sensitivity indices",
        "Scenario discovery",
        "Monthly outcomes",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<script type='text/javascript'>") == 1  # plotly.js once, inline
    assert "sobol: unserved_magnet_t" in page
    import json

    summary = json.loads((out / "summary.json").read_text())
    bands = summary["policies"][0]["monthly"]["magnet_price_eu"]
    assert len(bands["p50"]) == 6  # 2026-05..2026-10
    assert all(a <= b <= c for a, b, c in zip(bands["p5"], bands["p50"], bands["p95"], strict=True))
    assert "http://" not in page.split("<script")[0]  # nothing fetched from outside
