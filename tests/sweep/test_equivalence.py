"""A sample equals the deterministic run of its scenario, bit for bit, batched or not.

``critmin sweep --export-sample N`` writes sample N's scenario (the base with the sampled
values written in) as a scenario file; ``critmin run`` of that file and the public runner
(``load_scenario`` + ``run_scenario``) must give exactly the sample's outcomes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import critmin.market.variants as variants_mod
from critmin.scenarios.loader import load_scenario, scenario_from_data
from critmin.scenarios.runner import run_scenario
from critmin.scenarios.sweep import load_study_file, load_study_text, make_design, run_sweep
from critmin.scenarios.sweep.evaluate import base_data, evaluate_plans, read_outcomes, scenario_data
from critmin.scenarios.sweep.study import LoadedStudy

from .conftest import SMALL, critmin


def test_samples_equal_their_deterministic_runs(tmp_path: Path) -> None:
    loaded = load_study_file(SMALL)
    run = run_sweep(loaded, tmp_path / "sweep", workers=1)
    table = pd.read_parquet(tmp_path / "sweep" / "samples.parquet")
    pd.testing.assert_frame_equal(table, run.table)
    assert (table["status"] == "ok").all()
    assert set(table["extra"]) == {"none", "mmr_outage"}  # both shock sets drawn
    for sample_id in (7, len(table) - 1):
        res = critmin("sweep", str(SMALL), "--export-sample", str(sample_id))
        assert res.returncode == 0, res.stderr
        scenario_file = tmp_path / f"sample_{sample_id}.yaml"
        scenario_file.write_text(res.stdout, encoding="utf-8")
        row = table.iloc[sample_id]
        # the public runner on the written file
        result = run_scenario(load_scenario(str(scenario_file)))
        again = read_outcomes(loaded.study.outcomes, result.runs)
        for name, value in again.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(np.asarray(row[name]), value)
            else:
                assert row[name] == value, name  # bit for bit
        # and what a user runs: critmin run on the same file
        out = tmp_path / f"run_{sample_id}"
        res = critmin("run", str(scenario_file), "--out", str(out))
        assert res.returncode == 0, res.stderr
        metrics = json.loads((out / "summary.json").read_text())["scenarios"][0]["metrics"]
        short = metrics["physical_shortage_t_by_product"]["ndfeb_magnet"]
        assert short == row["physical_shortage_magnet_t"]
        assert metrics["physical_shortage_months"] == row["physical_shortage_months"]


# -------------------------------------------------------------- the batch re-solve path

#: four policies (levy bound x floor, instruments of the NdPr chain) under two shock sets,
#: enumerated: 8 samples in one batch whose chains share one market each
LEVERS = """
name: batch_levers
base: builtin:ndpr_managed_market
months: {start: 2026-04, end: 2026-09}
seed: 3
sampler: {kind: enumerate}
batch_size: 8
shock_sets:
  none: []
  mmr_outage: [{kind: outage, mineral: ndpr, region: MMR, share: 0.5, start: 2026-05}]
uncertainties:
  - name: extra
    distribution: {kind: categorical, choices: [none, mmr_outage]}
levers:
  - name: levy_bound
    path: "instruments[name=forge_levy].bound_share"
    values: [0.1, 0.25]
  - name: floor_usd_per_t
    path: "instruments[name=dod_mp_floor].floor_usd_per_t"
    unset: ["instruments[name=dod_mp_floor].floor_parameter"]
    values: [90000, 130000]
outcomes:
  - {name: magnet_short_t, metric: physical_shortage_t_by_product.ndfeb_magnet}
  - {name: floor_fiscal_cost_usd, metric: floor_fiscal_cost_usd}
  - {name: levy_revenue_usd, metric: levy_revenue_usd}
  - {name: oxide_price_usa, variable: price, mineral: ndpr, product: ndpr_oxide, region: USA,
     monthly: true}
  - {name: dy_price_jpn_max, variable: price, mineral: dysprosium_oxide, region: JPN, reduce: max}
"""


def _rows(loaded: LoadedStudy, batch: bool) -> list[dict[str, Any]]:
    design = make_design(loaded.study)
    plans = [design.plan(i) for i in range(design.n_samples)]
    rows = evaluate_plans(loaded, base_data(loaded), plans, batch=batch)
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def _assert_same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for name, value in x.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, y[name], err_msg=name)
            else:
                assert value == y[name], (x["sample_id"], name)  # bit for bit


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(mineral, variants) of every run_variants call in this process."""
    calls: list[tuple[str, int]] = []
    real = variants_mod.run_variants

    def spy(cm: Any, variants: Any, *args: Any, **kwargs: Any) -> Any:
        variants = list(variants)
        calls.append((cm.mineral, len(variants)))
        return real(cm, variants, *args, **kwargs)

    monkeypatch.setattr(variants_mod, "run_variants", spy)
    return calls


def test_batched_lever_grid_equals_one_run_per_sample(spied: list[tuple[str, int]]) -> None:
    """Eight samples sharing the NdPr market (two shock sets x four policies): the batch
    compiles the chain once and solves all eight through ``run_variants`` (the outage as a
    variant's shock, each policy's instruments built for its own variant); every outcome
    equals one compile and run per sample, and the exported sample run by the public
    runner, bit for bit."""
    loaded = load_study_text(LEVERS, "levers.yaml", str(SMALL.parent))
    batched = _rows(loaded, batch=True)
    assert spied == [("ndpr", 8)]  # Dy and Tb: the same run for all eight, solved once
    single = _rows(loaded, batch=False)
    assert spied == [("ndpr", 8)]  # the per-sample path does not use it
    assert all(r["status"] == "ok" for r in batched), [r["error"] for r in batched]
    _assert_same_rows(batched, single)
    # the policies and the shock sets do change the outcomes (the batch is not one run)
    assert len({r["floor_fiscal_cost_usd"] for r in batched}) > 1
    assert len({r["levy_revenue_usd"] for r in batched}) > 1
    assert len({r["oxide_price_usa"].tobytes() for r in batched}) > 1
    # and the public runner on sample 5's scenario (the outage, levy 0.25, floor 90,000)
    design = make_design(loaded.study)
    plan = design.plan(5)
    data = scenario_data(loaded, base_data(loaded), plan)
    result = run_scenario(scenario_from_data(data, "sample 5"))
    again = read_outcomes(loaded.study.outcomes, result.runs)
    _assert_same_rows([{**batched[5], **again}], [batched[5]])


def test_samples_that_cannot_be_batched_run_one_by_one(spied: list[tuple[str, int]]) -> None:
    """The small study samples NdPr market numbers (Chinese mine output, demand growth) and
    a conversion cost lever: no two samples share the NdPr market, so its chains are
    compiled per sample (a variant's ``scale`` rounds differently from writing the number
    into the market); only the Dy and Tb chains, which the study does not change, share runs.
    The table equals one run per sample."""
    loaded = load_study_file(SMALL)
    batched = _rows(loaded, batch=True)
    assert spied  # Dy and Tb batched
    assert all(mineral != "ndpr" for mineral, _ in spied)
    _assert_same_rows(batched, _rows(loaded, batch=False))


def test_a_batch_stopped_halfway_finishes_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the batch's generator fails at its third variant (here: an injected engine
    error), that sample and the rest are solved one by one: the same table, no sample lost
    or failed."""
    loaded = load_study_text(LEVERS, "levers.yaml", str(SMALL.parent))
    real = variants_mod.run_market
    count = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        count["n"] += 1
        if count["n"] == 3:
            raise RuntimeError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(variants_mod, "run_market", flaky)
    batched = _rows(loaded, batch=True)
    assert count["n"] == 3
    assert all(r["status"] == "ok" for r in batched)
    _assert_same_rows(batched, _rows(loaded, batch=False))


def test_chains_compiled_by_the_scenario_check_run_as_compiled_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scenario check compiles every instrumented chain to initialise its instruments
    (``scenario_from_data``); the evaluator runs those compiled chains instead of compiling
    them again. On the managed-market base (instruments on all three chains; the NdPr
    market sampled, so each sample's NdPr chain runs on its own) the shortcut is taken
    (no compile in the run) and every outcome equals the run that compiles each chain
    afresh, bit for bit."""
    import critmin.market.compile as compile_mod
    from critmin.scenarios.sweep.evaluate import build_scenario, run_samples

    text = SMALL.read_text("utf-8").replace(
        "base: builtin:ndpr_china_ban", "base: builtin:ndpr_managed_market"
    )
    loaded = load_study_text(text, "managed_small.yaml", str(SMALL.parent))
    base = base_data(loaded)
    plans = [make_design(loaded.study).plan(i) for i in range(4)]
    scenarios, compiled = [], []
    for plan in plans:
        done: dict[int, Any] = {}
        scenarios.append(build_scenario(scenario_data(loaded, base, plan), "s", done))
        compiled.append(done)
    assert all(sorted(c) == [0, 1, 2] for c in compiled)
    counted = {"n": 0}
    real = compile_mod.compile_market

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(compile_mod, "compile_market", counting)
    shared = run_samples(loaded.study, scenarios, batch=False, compiled=compiled)
    assert counted["n"] == 0
    fresh = run_samples(loaded.study, scenarios, batch=False)
    assert counted["n"] == 3 * len(plans)
    for a, b in zip(shared, fresh, strict=True):
        assert not isinstance(a, BaseException)
        assert not isinstance(b, BaseException)
        _assert_same_rows([a.outcomes], [b.outcomes])


def test_runs_a_batch_shared_serve_the_next_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker keeps the runs its last batch shared between samples (``SharedRuns``) and the
    next batch takes them instead of solving them again. The small study changes nothing of
    the Dy and Tb markets and draws the export ban's length from a few values: its second
    half solves no Dy or Tb chain whose run the first half shared, and every row equals one
    compile and run per sample, bit for bit."""
    import critmin.market.engine as engine_mod
    from critmin.scenarios.sweep.evaluate import SharedRuns

    loaded = load_study_file(SMALL)
    design = make_design(loaded.study)
    plans = [design.plan(i) for i in range(design.n_samples)]
    half = len(plans) // 2
    base = base_data(loaded)
    solved: list[str] = []  # the chain of every run_market call
    real = engine_mod.run_market

    def counting(cm: Any, *args: Any, **kwargs: Any) -> Any:
        solved.append(cm.mineral)
        return real(cm, *args, **kwargs)

    monkeypatch.setattr(engine_mod, "run_market", counting)
    monkeypatch.setattr(variants_mod, "run_market", counting)
    shared = SharedRuns()
    first = evaluate_plans(loaded, base, plans[:half], shared=shared)
    kept = {json.loads(key[0][0])["mineral"] for key in shared.runs}  # key: (market, months)
    assert kept == {"dysprosium_oxide", "terbium_oxide"}, kept

    def dy_tb_solved(shared: SharedRuns) -> tuple[list[dict[str, Any]], int]:
        solved.clear()
        rows = evaluate_plans(loaded, base, plans[half:], shared=shared)
        return rows, sum(1 for mineral in solved if mineral != "ndpr")

    second, n_carried = dy_tb_solved(shared)
    _, n_alone = dy_tb_solved(SharedRuns())
    assert n_carried < n_alone, (n_carried, n_alone)
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in first + second]
    _assert_same_rows(rows, _rows(loaded, batch=False))
