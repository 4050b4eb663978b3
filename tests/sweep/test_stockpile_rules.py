"""Stockpile rules played on a sweep's samples (a study's ``stockpile_rules`` section).

The DP of ``critmin stockpile policy`` finds the optimal rule from one market year per state;
a study with ``stockpile_rules`` plays that rule and the simple ones on the same sampled
multi-year paths through the whole monthly market (docs/sweeps.md). Checked here: the paths
follow the policy's chain and are shared by every rule of a scenario; a rule writes the
stock changes and the moved shocks a hand derivation gives; the cost is the hand-solved sum;
a sample equals the deterministic run of its exported scenario; the command compares the
rules; bad sections are one line at their field.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from critmin.errors import InputError
from critmin.scenarios.loader import load_scenario
from critmin.scenarios.runner import run_scenario
from critmin.scenarios.sweep import load_study_file, load_study_text, prepare_study
from critmin.scenarios.sweep.rules import (
    PURCHASE_NAME,
    RELEASE_NAME,
    StockRules,
    apply_rule,
    stock_outcomes,
)

from .conftest import critmin

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "examples" / "studies" / "ndfeb_stockpile_rules.yaml"


def _rules(
    transition: list[list[float]], actions: dict[str, list[list[int]]], **kw: Any
) -> StockRules:
    fields: dict[str, Any] = {
        "policy_source": "p.yaml",
        "policy_name": "p",
        "mineral": "ndpr",
        "region": "USA",
        "product": "ndfeb_magnet",
        "levels_t": (0.0, 5000.0, 10000.0),
        "storage_usd_per_t_year": 12.0,
        "purchase_wtp_usd_per_t": 1e7,
        "discount": 0.5,
        "year_start": "2027-01",
        "states": ("normal", "ban"),
        "state_shocks": (
            (),
            (
                {
                    "kind": "export_ban",
                    "exporter": "CHN",
                    "product": "ndfeb_magnet",
                    "start": "2027-01",
                    "end": "2027-12",
                },
            ),
        ),
        "transition": np.asarray(transition, dtype=np.float64),
        "actions": {k: np.asarray(v, dtype=np.int64) for k, v in actions.items()},
    }
    fields.update(kw)
    return StockRules(**fields)


# release_on_ban with the fill at 10 kt: normal -> level 2 from anywhere, ban -> level 0
RELEASE_ON_BAN = [[2, 0], [2, 0], [2, 0]]


def test_paths_follow_the_chain() -> None:
    """Hand cases: a chain that never leaves normal, one that moves to the ban and stays,
    and one that alternates; every path starts normal (as the DP's simulation does)."""
    stay = _rules([[1, 0], [0, 1]], {"r": RELEASE_ON_BAN})
    assert stay.state_path(7, 3, 6) == [0] * 6
    absorb = _rules([[0, 1], [0, 1]], {"r": RELEASE_ON_BAN})
    assert absorb.state_path(7, 3, 6) == [0, 1, 1, 1, 1, 1]
    flip = _rules([[0, 1], [1, 0]], {"r": RELEASE_ON_BAN})
    assert flip.state_path(7, 3, 5) == [0, 1, 0, 1, 0]


def test_paths_have_the_chains_frequencies() -> None:
    """P(ban) = 0.1 from normal, persistence 0.5: the stationary share of ban years is
    0.1 / (0.1 + 0.5) = 1/6, and a ban year follows a ban year half the time. Over 4,000
    scenarios' years 5-19 (the start's effect is 0.4^5 ~ 1 %) both are within four standard
    errors. The chain's years are correlated with lag-1 correlation 1 - 0.1 - 0.5 = 0.4, so
    the share's variance is p(1-p)/N x (1 + 0.4)/(1 - 0.4) (an AR(1) mean's)."""
    chain = _rules([[0.9, 0.1], [0.5, 0.5]], {"r": RELEASE_ON_BAN})
    paths = np.array([chain.state_path(2026, s, 20) for s in range(4000)])
    tail = paths[:, 5:]
    share = tail.mean()
    assert abs(share - 1 / 6) < 4 * np.sqrt((1 / 6) * (5 / 6) / tail.size * 1.4 / 0.6)
    after_ban = tail[:, 1:][tail[:, :-1] == 1]
    assert abs(after_ban.mean() - 0.5) < 4 * np.sqrt(0.25 / after_ban.size)
    # the same seed and scenario give the same path; another scenario another stream
    assert chain.state_path(2026, 11, 20) == paths[11].tolist()
    assert not all((paths[s] == paths[0]).all() for s in range(1, 50))


def test_apply_rule_writes_the_years() -> None:
    """release_on_ban (fill 10 kt) on the path normal, ban, normal from 2027-01:
    2027 buys 10,000 t (0 -> 10 kt), 2028 releases 10,000 t with the ban moved to 2028,
    2029 buys 10,000 t again. Each change is a block over its year's twelve months."""
    rules = _rules([[0.9, 0.1], [0.5, 0.5]], {"release_on_ban": RELEASE_ON_BAN})
    data: dict[str, Any] = {"markets": [{"mineral": "ndpr", "supply": [], "demand": []}]}
    apply_rule(data, rules, "release_on_ban", [0, 1, 0])
    market = data["markets"][0]
    assert market["demand"] == [
        {
            "region": "USA",
            "product": "ndfeb_magnet",
            "start": f"{y}-01",
            "end": f"{y}-12",
            "qty_t_per_year": 10000.0,
            "wtp_usd_per_t": 1e7,
            "name": PURCHASE_NAME,
        }
        for y in (2027, 2029)
    ]
    assert market["supply"] == [
        {
            "region": "USA",
            "product": "ndfeb_magnet",
            "start": "2028-01",
            "end": "2028-12",
            "qty_t_per_year": 10000.0,
            "cost_usd_per_t": 0.0,
            "name": RELEASE_NAME,
        }
    ]
    assert [(s["start"], s["end"]) for s in data["shocks"]] == [("2028-01", "2028-12")]


def _fake_run() -> SimpleNamespace:
    months = [f"{y}-{m:02d}" for y in (2027, 2028) for m in range(1, 13)]
    cm = SimpleNamespace(
        mineral="ndpr",
        regions=["USA"],
        products=["ndfeb_magnet"],
        d_name=["oem bid", PURCHASE_NAME],
        s_name=[RELEASE_NAME],
        d_node=np.array([0, 0]),
        d_wtp=np.array([100.0, 1e7]),
        node_region=np.array([0]),
        node_product=np.array([0]),
        node_index=lambda *_: 0,
        month_labels=lambda: months,
    )
    price = np.array([[10.0]] * 12 + [[20.0]] * 12)
    demand = np.array([[1.0, 1.0]] * 12 + [[1.0, 0.0]] * 12)  # the bid; the purchase
    supply = np.array([[0.0]] * 12 + [[0.5]] * 12)  # the release
    return SimpleNamespace(cm=cm, price=price, demand=demand, supply=supply)


def test_the_cost_hand_solved() -> None:
    """Two years, discount factor 0.5, storage 12 usd/t/yr. The OEM bid (WTP 100) takes 1 t a
    month at 10 usd/t in 2027 and 20 in 2028: surplus 90 x 12 = 1,080 and 80 x 12 = 960.
    The stock buys 1 t a month in 2027 (12 t at 10: 120 usd) and releases 0.5 t a month in
    2028 (6 t at 20: 120 usd received). Storage: 12 t in 2027 (144 usd), 6 t in 2028 (72).
      2027: -1,080 + 120 + 144 = -816
      2028: (-960 - 120 + 72) x 0.5 = -504
      the 6 t left at their book value (120 / 12 t = 10 usd/t), from 2028: -60 x 0.5 = -30
    Total -1,350 usd; 6 t left, 6 t released; the path [normal, ban] has one ban year."""
    rules = _rules([[0.9, 0.1], [0.5, 0.5]], {"r": RELEASE_ON_BAN})
    got = stock_outcomes(rules, [_fake_run()], [0, 1])
    assert got == pytest.approx(
        {
            "stockpile_cost_usd": -1350.0,
            "stock_end_t": 6.0,
            "stock_released_t": 6.0,
            "disrupted_years": 1.0,
        },
        rel=1e-12,
    )


def test_the_command_compares_the_rules_on_the_same_samples(tmp_path: Path) -> None:
    """What a user runs: every rule on every scenario, the scenario's path shared by its
    rules, the comparison in summary.json and in the terminal table."""
    out = tmp_path / "rules"
    res = critmin("sweep", str(STUDY), "--out", str(out), "--samples", "4", "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert "stockpile rules on the same samples" in res.stdout
    table = pd.read_parquet(out / "samples.parquet")
    assert (table["status"] == "ok").all()
    assert len(table) == 4 * 5
    rules = ["optimal", "release_on_ban", "hold_60_days", "iea_pro_rata", "no_stockpile"]
    for _, rows in table.groupby("scenario_id"):
        assert rows["stockpile_rule"].tolist() == rules
        assert len(set(rows["disrupted_years"])) == 1  # one path per scenario
        assert len(set(rows["demand_growth"])) == 1
    assert (table.loc[table["stockpile_rule"] == "no_stockpile", "stock_end_t"] == 0).all()
    summary = json.loads((out / "summary.json").read_text())
    cmp = summary["stockpile_rules"]
    assert [e["rule"] for e in cmp["rules"]] == rules
    wide = table.pivot_table(
        index="scenario_id", columns="stockpile_rule", values="stockpile_cost_usd", aggfunc="first"
    )
    hold = next(e for e in cmp["rules"] if e["rule"] == "hold_60_days")
    assert hold["vs_optimal"]["mean_usd"] == pytest.approx(
        float((wide["hold_60_days"] - wide["optimal"]).mean()), rel=1e-12
    )
    assert (
        hold["vs_optimal"]["ci95_low_usd"]
        <= hold["vs_optimal"]["mean_usd"]
        <= hold["vs_optimal"]["ci95_high_usd"]
    )
    assert "Stockpile rules on the same samples" in (out / "report.html").read_text()


def test_a_rule_sample_equals_its_exported_scenario(tmp_path: Path) -> None:
    """``--export-sample`` writes the sample's scenario with the stock's blocks and the moved
    shocks in it; the public runner on that file gives the sample's outcomes bit for bit."""
    loaded = prepare_study(load_study_file(STUDY))
    from critmin.scenarios.sweep import make_design
    from critmin.scenarios.sweep.evaluate import (
        base_data,
        evaluate_plans,
        read_outcomes,
        stock_reader,
    )

    design = make_design(loaded.study, 3)
    base = base_data(loaded)
    # a scenario with a ban year, under the optimal rule
    sid = next(
        i
        for i in range(design.n_samples)
        if design.plan(i).values["stockpile_rule"] == "optimal"
        and evaluate_plans(loaded, base, [design.plan(i)])[0]["disrupted_years"] > 0
    )
    row = evaluate_plans(loaded, base, [design.plan(sid)])[0]
    assert row["status"] == "ok", row["error"]
    res = critmin("sweep", str(STUDY), "--samples", "3", "--export-sample", str(sid))
    assert res.returncode == 0, res.stderr
    assert PURCHASE_NAME in res.stdout
    path = tmp_path / "sample.yaml"
    path.write_text(res.stdout, encoding="utf-8")
    result = run_scenario(load_scenario(str(path)))
    again = read_outcomes(
        loaded.study.outcomes, result.runs, stock_reader(loaded, base, design.plan(sid))
    )
    for name, value in again.items():
        assert row[name] == value, name  # bit for bit


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("{policy: ../stockpile/nope.yaml}", "field 'stockpile_rules.policy': no such policy file"),
        (
            "{policy: ../stockpile/ndfeb_magnet_policy.yaml, rules: [optimal, optimal]}",
            "rule 'optimal' is listed twice",
        ),
        (
            "{policy: ../stockpile/ndfeb_magnet_policy.yaml, rules: [best]}",
            "field 'stockpile_rules.rules[0]'",
        ),
        (
            "{policy: ../stockpile/ndfeb_magnet_policy.yaml, extra: 1}",
            "field 'stockpile_rules.extra'",
        ),
    ],
)
def test_bad_sections_are_one_line(section: str, expected: str) -> None:
    text = STUDY.read_text(encoding="utf-8")
    start = text.index("stockpile_rules:")
    end = text.index("outcomes:", start)
    bad = text[:start] + f"stockpile_rules: {section}\n" + text[end:]
    with pytest.raises(InputError) as err:
        load_study_text(bad, "bad.yaml", base_dir=str(STUDY.parent))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_the_policy_year_must_be_in_the_study(tmp_path: Path) -> None:
    text = STUDY.read_text(encoding="utf-8").replace(
        "months: {start: 2027-01, end: 2036-12}", "months: {start: 2029-01, end: 2036-12}"
    )
    bad = tmp_path / "late.yaml"
    bad.write_text(
        text.replace("../stockpile/", str(STUDY.parent.parent / "stockpile") + "/"),
        encoding="utf-8",
    )
    res = critmin("sweep", str(bad), "--check")
    assert res.returncode == 2
    assert "first year 2027-01 is outside the study's months 2029-01..2036-12" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_check_solves_the_policy_and_sample_zero() -> None:
    res = critmin("sweep", str(STUDY), "--check")
    assert res.returncode == 0, res.stderr
    assert "100 scenario(s) x 5 policies = 500 sample(s)" in res.stdout


def test_rules_pair_within_each_value_of_the_other_levers() -> None:
    """With a lever grid beside the rules, the rules are the innermost policies and each pair
    is one scenario under one lever value: 2 scenarios x 2 lever values = 4 pairs per rule."""
    from critmin.scenarios.sweep import make_design
    from critmin.scenarios.sweep.evaluate import base_data, evaluate_plans
    from critmin.scenarios.sweep.rules import compare_rules

    text = STUDY.read_text(encoding="utf-8").replace(
        "stockpile_rules:\n  policy: ../stockpile/ndfeb_magnet_policy.yaml\n",
        "stockpile_rules:\n  policy: ../stockpile/ndfeb_magnet_policy.yaml\n"
        "  rules: [optimal, no_stockpile]\n"
        "levers:\n  - name: eu_sep_cost\n"
        '    path: "markets[mineral=ndpr].conversions[name=EU separation (Estonia, France)]'
        '.cost_usd_per_t"\n    values: [25000, 15000]\n',
    )
    text = text.replace("end: 2036-12}", "end: 2029-12}")
    loaded = prepare_study(load_study_text(text, "grid.yaml", base_dir=str(STUDY.parent)))
    design = make_design(loaded.study, 2)
    assert design.policies == [
        {"eu_sep_cost": 25000.0, "stockpile_rule": "optimal"},
        {"eu_sep_cost": 25000.0, "stockpile_rule": "no_stockpile"},
        {"eu_sep_cost": 15000.0, "stockpile_rule": "optimal"},
        {"eu_sep_cost": 15000.0, "stockpile_rule": "no_stockpile"},
    ]
    rows = evaluate_plans(loaded, base_data(loaded), [design.plan(i) for i in range(8)])
    table = pd.DataFrame(rows)
    assert (table["status"] == "ok").all()
    cmp = compare_rules(table, loaded.stock_rules, 1, ["eu_sep_cost"])
    none = next(e for e in cmp["rules"] if e["rule"] == "no_stockpile")
    assert none["pairs"] == 4
    assert none["vs_optimal"]["n"] == 4
    by = table.set_index(["scenario_id", "eu_sep_cost", "stockpile_rule"])["stockpile_cost_usd"]
    diffs = [
        by[(s, c, "no_stockpile")] - by[(s, c, "optimal")]
        for s in (0, 1)
        for c in (25000.0, 15000.0)
    ]
    assert none["vs_optimal"]["mean_usd"] == pytest.approx(float(np.mean(diffs)), rel=1e-12)


@pytest.mark.parametrize("kind", ["sobol", "morris", "enumerate"])
def test_designs_that_assume_a_deterministic_model_are_refused(kind: str) -> None:
    """Each scenario draws a random path: Sobol's and Morris's estimators assume the model is
    a function of the design's inputs, and enumerate weights listed cases by probability."""
    text = STUDY.read_text(encoding="utf-8").replace(
        "sampler: {kind: latin_hypercube, samples: 100}", f"sampler: {{kind: {kind}, samples: 8}}"
    )
    with pytest.raises(InputError) as err:
        load_study_text(text, "bad.yaml", base_dir=str(STUDY.parent))
    assert f"use monte_carlo or latin_hypercube, not {kind}" in str(err.value)


def test_an_edited_policy_changes_the_folder_key(tmp_path: Path) -> None:
    """``--resume`` trusts batches whose manifest has the study's hash: with
    ``stockpile_rules`` the policy file is part of what was run, so its text is in the hash
    (an edited storage cost must not reuse the old batches)."""
    (tmp_path / "studies").mkdir()
    (tmp_path / "stockpile").mkdir()
    study = tmp_path / "studies" / STUDY.name
    study.write_text(STUDY.read_text(encoding="utf-8"), encoding="utf-8")
    policy = ROOT / "examples" / "stockpile" / "ndfeb_magnet_policy.yaml"
    copy = tmp_path / "stockpile" / policy.name
    copy.write_text(policy.read_text(encoding="utf-8"), encoding="utf-8")
    before = load_study_file(study)
    first = prepare_study(before).sha256
    assert first != before.sha256  # the policy joined the study's own hash
    copy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "storage_usd_per_t_year: 1200", "storage_usd_per_t_year: 1300"
        ),
        encoding="utf-8",
    )
    assert prepare_study(load_study_file(study)).sha256 != first
