"""The USGS-shaped disruption generator: events with probabilities, the enumerate design,
probability x impact. The shipped example study runs as the user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.errors import InputError
from critmin.scenarios.sweep import load_study_file, run_sweep
from critmin.scenarios.sweep.stats import weighted_percentiles
from critmin.scenarios.sweep.usgs import baseline_exports

from .conftest import critmin

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "studies" / "ndpr_usgs_disruptions.yaml"
)

SMALL = """\
name: usgs_small
base: builtin:ndpr_baseline
months: {start: 2026-01, end: 2026-06}
seed: 1
sampler: {kind: enumerate}
batch_size: 2
disruptions:
  mineral: ndpr
  start: 2026-02
  length_months: 3
  events:
    - {exporter: CHN, stage: component, probabilities: {0.5: 0.1, 1.0: 0.05}, estimate: true}
    - {exporter: MMR, stage: mine, probabilities: {1.0: 0.2}, estimate: true}
outcomes:
  - {name: magnet_short_t, metric: physical_shortage_t_by_product.ndfeb_magnet}
  - {name: magnet_spend_usd, variable: expenditure, mineral: ndpr, product: ndfeb_magnet}
"""


def test_weighted_percentiles_hand_solved() -> None:
    """Values 0, 10, 100 with probabilities 0.9, 0.06, 0.04: CDF 0.9, 0.96, 1.0, so P5 and
    P50 are 0, P95 is 10; mean 0.6 + 4 = 4.6."""
    got = weighted_percentiles(np.array([100.0, 0.0, 10.0]), np.array([0.04, 0.9, 0.06]))
    assert (got["p5"], got["p50"], got["p95"]) == (0.0, 0.0, 10.0)
    assert got["mean"] == pytest.approx(4.6)


def test_generator_events_probabilities_and_impacts(tmp_path: Path) -> None:
    study_file = tmp_path / "study.yaml"
    study_file.write_text(SMALL, encoding="utf-8")
    loaded = load_study_file(study_file)
    dist = loaded.study.uncertainties[0].distribution
    assert dist.choices == [
        "none",
        "chn_component_50pct",
        "chn_component_100pct",
        "mmr_mine_100pct",
    ]
    assert dist.weights == pytest.approx([0.65, 0.1, 0.05, 0.2])
    # the partial event caps China's magnet exports at half of their base-run mean
    from critmin.scenarios.sweep.evaluate import base_data

    base = base_data(loaded)
    exports = baseline_exports(base, "ndpr", "CHN", ["ndfeb_magnet"], ("2026-02", "2026-04"))
    quota = loaded.study.shock_sets["chn_component_50pct"][0]
    assert quota["kind"] == "export_quota"
    assert quota["qty_t"] == pytest.approx(0.5 * exports["ndfeb_magnet"])
    assert exports["ndfeb_magnet"] > 0
    ban = loaded.study.shock_sets["mmr_mine_100pct"][0]
    assert (ban["kind"], ban["exporter"], ban["product"]) == (
        "export_ban",
        "MMR",
        ["ndpr_concentrate"],
    )

    res = critmin(
        "sweep", str(study_file), "--out", str(tmp_path / "o"), "--workers", "1", "--json"
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    table = pd.read_parquet(tmp_path / "o" / "samples.parquet")
    assert len(table) == 4
    assert table["weight"].sum() == pytest.approx(1.0)
    imp = summary["policies"][0]["disruptions"]
    none = table[table["disruption"] == "none"].iloc[0]
    expected = sum(
        r.weight * (r.magnet_short_t - none.magnet_short_t)
        for r in table.itertuples()
        if r.disruption != "none"
    )
    assert imp["expected_impact"]["magnet_short_t"] == pytest.approx(expected)
    # the expected outcome is the probability-weighted mean of the table
    mean = float(np.dot(table["weight"], table["magnet_short_t"]))
    assert summary["policies"][0]["outcomes"]["magnet_short_t"]["mean"] == pytest.approx(mean)
    full = table[table["disruption"] == "chn_component_100pct"].iloc[0]
    half = table[table["disruption"] == "chn_component_50pct"].iloc[0]
    assert full.magnet_short_t >= half.magnet_short_t >= none.magnet_short_t


def test_probabilities_over_one_are_refused(tmp_path: Path) -> None:
    study_file = tmp_path / "study.yaml"
    study_file.write_text(SMALL.replace("1.0: 0.2}", "1.0: 0.9}"), encoding="utf-8")
    with pytest.raises(
        InputError, match=r"study.yaml:\d+ field 'disruptions.events'.*add up to 1.05"
    ):
        load_study_file(study_file)


@pytest.mark.slow
def test_shipped_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "usgs"
    run = run_sweep(load_study_file(EXAMPLE), out, workers=2)
    assert (run.table["status"] == "ok").all()
    assert run.table["weight"].sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_shipped_lever_example_runs(tmp_path: Path) -> None:
    """examples/studies/managed_market_levers.yaml: 12 policies (floor x levy bound x vault
    target), every sample under every policy, no failures; a higher floor never costs the
    treasury less on the same future."""
    lever_example = EXAMPLE.parent / "managed_market_levers.yaml"
    run = run_sweep(load_study_file(lever_example), tmp_path / "levers", samples=4, workers=2)
    t = run.table
    assert (t["status"] == "ok").all()
    assert len(t) == 4 * 12
    by = t.pivot_table(
        index=["scenario_id", "forge_levy_bound_share", "vault_oxide_target_days"],
        columns="dod_floor_usd_per_t",
        values="floor_fiscal_cost_usd",
    )
    assert (by[110000.0] >= by[90000.0]).all()
    assert (by[130000.0] >= by[110000.0]).all()
