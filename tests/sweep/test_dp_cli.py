"""``critmin stockpile policy``: the stockpile DP as a user runs it.

* ``--teisberg`` prints and writes the GAMS Model Library MARKOV model's (SEQ=82) optimal
  policy; it must be value iteration's policy on the published data (an independent solution
  of the same Bellman equation), state by state, with the same values.
* On critmin's NdPr chain the optimal rule's exact expected cost is at most every simple
  rule's, in every state (optimality of the Bellman solution); the simulated means on the
  shared sampled paths agree with the exact values within their standard errors.
* The same seed gives the same simulation; another seed gives other paths, the same policy.
* Bad input: one line on stderr naming file, line and field, exit 2, nothing written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from critmin.scenarios.sweep.dp import horizon_periods, teisberg_markov, value_iteration
from tests.sweep.conftest import critmin

ROOT = Path(__file__).resolve().parents[2]

#: a small problem on the NdPr baseline: a USA magnet stock of 0 / 5,000 / 10,000 t, the
#: disrupted state a Chinese ban of oxide and magnets (5 distinct stock changes x 2 states =
#: 10 one-year market runs)
POLICY = """\
name: tiny_magnet_policy
base: builtin:ndpr_baseline
year_start: 2027-01
stockpile:
  region: USA
  product: ndfeb_magnet
  levels_t: [0, 5000, 10000]
  storage_usd_per_t_year: 1200
disruption:
  shocks:
    - {kind: export_ban, exporter: CHN, product: [ndpr_oxide, ndfeb_magnet]}
  probability_per_year: 0.2
  persistence: 0.5
discount_rate: 0.05
rules: {fill_to_t: 5000}
simulation: {paths: 400, seed: 11}
"""


def _json(res: Any) -> dict[str, Any]:
    assert res.returncode == 0, res.stderr
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _actions(result: dict[str, Any], rule: str = "optimal") -> np.ndarray[Any, Any]:
    """(level, state) -> index of the next level, from the printed policy rows."""
    levels = result["model"]["levels"]
    states = result["model"]["states"]
    act = np.zeros((len(levels), len(states)), dtype=np.int64)
    for row in result["rules"][rule]["policy"]:
        act[levels.index(row["level"]), states.index(row["state"])] = levels.index(
            row["next_level"]
        )
    return act


def _values(result: dict[str, Any], rule: str) -> np.ndarray[Any, Any]:
    levels = result["model"]["levels"]
    states = result["model"]["states"]
    v = np.zeros((len(levels), len(states)))
    for row in result["rules"][rule]["policy"]:
        v[levels.index(row["level"]), states.index(row["state"])] = row["value"]
    return v


@pytest.fixture(scope="module")
def market_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    folder = tmp_path_factory.mktemp("policy")
    spec = folder / "policy.yaml"
    spec.write_text(POLICY, "utf-8")
    out = folder / "out"
    return _json(critmin("stockpile", "policy", str(spec), "--out", str(out), "--json")), spec, out


def test_teisberg_reproduction_is_value_iterations_policy(tmp_path: Path) -> None:
    """The command's policy (the LP as GAMS states it) = value iteration's on the GAMS data,
    and its values agree to 1e-9; the table and the written files say the same."""
    result = _json(critmin("stockpile", "policy", "--teisberg", "--json"))
    vi = value_iteration(teisberg_markov())
    np.testing.assert_array_equal(_actions(result), vi.action)
    np.testing.assert_allclose(_values(result, "optimal"), vi.value, rtol=1e-9)
    assert result["lp_equals_value_iteration"] is True
    assert result["model"]["levels"] == [3.0 * k for k in range(8)]
    assert result["model"]["transition"] == [[0.8, 0.2], [0.5, 0.5]]

    out = tmp_path / "t"
    res = critmin("stockpile", "policy", "--teisberg", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "value iteration's: yes" in res.stdout
    assert "MARKOV (SEQ=82)" in res.stdout
    df = pd.read_parquet(out / "policy.parquet")
    opt = df[df["rule"] == "optimal"]
    assert len(opt) == 16
    assert set(df.columns) >= {"level_mbbl", "next_level_mbbl", "value_model_units"}
    for row in opt.itertuples(index=False):
        s, i = int(row.level_mbbl // 3), ["normal", "disrupted"].index(row.state)
        assert row.next_level_mbbl == 3.0 * vi.action[s, i]
    assert json.loads((out / "policy.json").read_text("utf-8"))["rules"].keys() == {
        "optimal",
        "release_on_ban",
        "hold",
        "pro_rata",
    }
    csv = pd.read_csv(out / "policy.csv")
    assert len(csv) == len(df)


def test_market_policy_is_no_worse_than_every_simple_rule(
    market_run: tuple[dict[str, Any], Path, Path],
) -> None:
    """Optimality: V_opt(s, i) <= V_rule(s, i) in every state, hence also the expected cost
    and the cost from an empty stock; the LP and value iteration agree on the market model."""
    result, _, _ = market_run
    assert result["lp_equals_value_iteration"] is True
    rules = result["rules"]
    v_opt = _values(result, "optimal")
    assert rules.keys() == {"optimal", "release_on_ban", "hold_60_days", "iea_pro_rata"}
    for name in ("release_on_ban", "hold_60_days", "iea_pro_rata"):
        tol = 1e-9 * abs(rules["optimal"]["expected_cost"])
        assert rules[name]["expected_cost"] >= rules["optimal"]["expected_cost"] - tol
        assert rules[name]["excess_over_optimal"] >= -tol
        assert rules[name]["cost_from_empty_normal"] >= rules["optimal"]["cost_from_empty_normal"]
        assert (_values(result, name) >= v_opt - tol).all()
    # the simple rules are what they say: fill to 5,000 t in normal times
    assert (_actions(result, "hold_60_days")[:, 0] == 1).all()
    assert (_actions(result, "release_on_ban")[:, 1] == 0).all()
    # no build-up while disrupted (the GAMS model's rule, kept by default)
    act = _actions(result)
    assert (act[:, 1] <= np.arange(3)).all()


def test_simulated_means_agree_with_the_exact_values(
    market_run: tuple[dict[str, Any], Path, Path],
) -> None:
    """Monte Carlo vs the linear solve: each rule's simulated mean from an empty stock in
    normal times estimates V(0, normal) less the discounted cost after the horizon T, which
    is at most b^T max|c| / (1 - b) with b^T < 0.001; so |mean - V(0, normal)| <= 5 standard
    errors + that tail."""
    result, _, _ = market_run
    model = result["model"]
    b = model["discount_factor"]
    years = result["simulation"]["years"]
    assert years == horizon_periods(b)
    assert b**years < 1e-3 <= b ** (years - 1)
    costs = [c for per_level in model["period_cost"] for row in per_level for c in row]
    tail = b**years * max(abs(c) for c in costs if c is not None) / (1 - b)
    for name, r in result["rules"].items():
        exact = r["cost_from_empty_normal"]
        se = r["simulated_std_error"]
        assert math.isfinite(se)
        assert se > 0
        assert abs(r["simulated_mean"] - exact) <= 5 * se + tail, name
        assert r["simulated_p95"] >= r["simulated_mean"]


def test_written_files_are_the_printed_result(
    market_run: tuple[dict[str, Any], Path, Path],
) -> None:
    result, _, out = market_run
    assert sorted(p.name for p in out.iterdir()) == ["policy.csv", "policy.json", "policy.parquet"]
    assert json.loads((out / "policy.json").read_text("utf-8")) == json.loads(json.dumps(result))
    df = pd.read_parquet(out / "policy.parquet")
    assert len(df) == 4 * 3 * 2  # rules x levels x states
    assert {"level_t", "next_level_t", "change_t", "period_cost_usd", "value_usd"} <= set(df)


def test_seed_makes_the_simulation_reproducible(
    market_run: tuple[dict[str, Any], Path, Path],
) -> None:
    """Same seed: the same simulated figures to the bit; another seed: other paths (other
    simulated figures), the same exact policy and costs."""
    first, spec, _ = market_run
    again = _json(critmin("stockpile", "policy", str(spec), "--json"))
    other = _json(critmin("stockpile", "policy", str(spec), "--json", "--seed", "12"))
    for name, r in first["rules"].items():
        for key in ("simulated_mean", "simulated_std_error", "simulated_p95"):
            assert again["rules"][name][key] == r[key]
        assert other["rules"][name]["simulated_mean"] != r["simulated_mean"]
        assert other["rules"][name]["expected_cost"] == r["expected_cost"]
        assert other["rules"][name]["policy"] == r["policy"]
    assert other["simulation"]["seed"] == 12


def _bad(tmp_path: Path, text: str, *extra: str) -> str:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, "utf-8")
    out = tmp_path / "out"
    res = critmin("stockpile", "policy", str(spec), "--out", str(out), *extra)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()  # nothing half-written
    return res.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("region: USA", "region: USX"),
            "bad.yaml:5 field 'stockpile.region': unknown region 'USX'",
        ),
        (
            ("levels_t: [0, 5000, 10000]", "levels_t: [100, 5000]"),
            "bad.yaml:7 field 'stockpile.levels_t'",
        ),
        (("levels_t: [0, 5000, 10000]", "levels_t: [0, 5000, 4000]"), "strictly ascending"),
        (("{fill_to_t: 5000}", "{fill_to_t: 7000}"), "field 'rules.fill_to_t': 7000 t is not one"),
        (
            ("probability_per_year: 0.2", "probability_per_year: 1.5"),
            "'disruption.probability_per_year'",
        ),
        (
            ("exporter: CHN", "exporter: CHX"),
            "bad.yaml:11 field 'disruption.shocks[0]': unknown region 'CHX'",
        ),
        (("year_start: 2027-01", "year_start: 2027-13"), "bad.yaml:3 field 'year_start'"),
        (("discount_rate: 0.05", "discount_rat: 0.05"), "discount_rat"),
    ],
)
def test_bad_policy_file_is_one_line_exit_2(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in POLICY
    assert expected in _bad(tmp_path, POLICY.replace(*change))


def test_disruption_outside_the_solved_year_is_refused(tmp_path: Path) -> None:
    text = POLICY.replace(
        "product: [ndpr_oxide, ndfeb_magnet]}",
        "product: [ndpr_oxide, ndfeb_magnet], start: 2029-01, end: 2029-12}",
    )
    err = _bad(tmp_path, text)
    assert "field 'year_start'" in err
    assert "outside the solved year 2027-01..2027-12" in err


def test_a_disruption_study_event_is_checked(tmp_path: Path) -> None:
    study = ROOT / "examples" / "studies" / "ndpr_usgs_disruptions.yaml"
    text = POLICY.replace(
        """  shocks:
    - {kind: export_ban, exporter: CHN, product: [ndpr_oxide, ndfeb_magnet]}
  probability_per_year: 0.2
""",
        f"  study: {study}\n  event: chn_refining_200pct\n",
    )
    err = _bad(tmp_path, text)
    assert "field 'disruption.event': unknown disruption event 'chn_refining_200pct'" in err
    both = text.replace(
        "  event: chn_refining_200pct\n", "  event: x\n  probability_per_year: 0.1\n"
    )
    assert "give either 'study' and 'event'" in _bad(tmp_path, both)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "give a stockpile policy file"),
        (("--teisberg", "x.yaml"), "not both"),
        (("--teisberg", "--paths", "1"), "--paths 1: expected a whole number from 2 to 1,000,000"),
        (("--teisberg", "--paths", "100000"), "100,000 paths x 135 years"),
        (("nowhere.yaml",), "nowhere.yaml"),
    ],
)
def test_bad_command_line_is_one_line_exit_2(args: tuple[str, ...], expected: str) -> None:
    res = critmin("stockpile", "policy", *args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert expected in res.stderr
    assert res.stderr.count("\n") == 1


def test_progress_hook_counts_the_market_runs(tmp_path: Path) -> None:
    """``on_run(done, total)`` (the progress bar's hook) is called once per market run:
    2 states x 5 distinct stock changes of levels 0 / 5,000 / 10,000."""
    from critmin.scenarios.sweep.dp_file import load_policy_file, solve_policy_file

    calls: list[tuple[int, int]] = []
    spec = tmp_path / "policy.yaml"
    spec.write_text(POLICY, "utf-8")
    loaded = load_policy_file(spec)
    solve_policy_file(loaded, paths=10, on_run=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 10) for k in range(1, 11)]


@pytest.mark.slow
def test_shipped_example_runs() -> None:
    example = ROOT / "examples" / "stockpile" / "ndfeb_magnet_policy.yaml"
    result = _json(critmin("stockpile", "policy", str(example), "--json", "--paths", "200"))
    best = result["rules"]["optimal"]["expected_cost"]
    assert all(r["expected_cost"] >= best - 1e-9 * abs(best) for r in result["rules"].values())


def test_rules_are_sized_by_the_chains_own_consumption(
    market_run: tuple[dict[str, Any], Path, Path],
) -> None:
    """The hold and pro-rata rules follow from the stated quantities: 60 days of cover =
    region consumption x 60 / 365; the pro-rata release = the region's share of the chain's
    normal consumption x the consumption the ban takes away; each disrupted next level is the
    level nearest what that leaves (never above the current one). The quantities come from the
    no-change market years, so the USA consumes some magnets and the ban takes some away."""
    result, _, _ = market_run
    par = result["rule_parameters"]
    levels = np.array(result["model"]["levels"])
    region, chain = par["region_consumption_t_per_year"], par["chain_consumption_t_per_year"]
    assert 0 < region < chain
    assert par["hold_days"] == 60
    assert par["cover_t"] == pytest.approx(region * 60 / 365, rel=1e-12)
    (disrupted,) = par["chain_consumption_disrupted_t_per_year"]  # one disrupted state
    shortfall = chain - disrupted
    assert shortfall > 0
    assert par["shortfall_t_per_year"] == pytest.approx([shortfall], rel=1e-12)
    release = region / chain * shortfall
    assert par["pro_rata_release_t_per_year"] == pytest.approx([release], rel=1e-12)

    def nearest(t: float) -> int:
        gaps = np.abs(levels - t)
        return int(np.flatnonzero(gaps == gaps.min())[-1])

    hold, pro = _actions(result, "hold_60_days"), _actions(result, "iea_pro_rata")
    for s, lv in enumerate(levels):
        assert hold[s, 1] == min(s, nearest(par["cover_t"]))
        assert pro[s, 1] == min(s, nearest(max(0.0, lv - release)))
    assert par["cover_level_t"] == levels[nearest(par["cover_t"])]


#: two events of the USGS-shaped study as two disrupted states (3 levels: 5 distinct stock
#: changes x 3 states = 15 one-year market runs)
EVENTS_POLICY = """\
name: two_events
year_start: 2027-01
stockpile:
  {region: USA, product: ndfeb_magnet, levels_t: [0, 5000, 10000], storage_usd_per_t_year: 1200}
disruption:
  study: STUDY
  events: [chn_component_100pct, mmr_mine_100pct]
  persistence: 0.5
discount_rate: 0.05
rules: {fill_to_t: 5000}
simulation: {paths: 300, seed: 3}
"""


def test_several_events_are_a_market_state_each(tmp_path: Path) -> None:
    """Two events of the disruption study, probabilities p1 = 0.01 (CHN magnets, 100 %) and
    p2 = 0.03 (MMR mine, 100 %) in the study: from normal P = [0.96, 0.01, 0.03]; with
    persistence 0.5 a disruption continues with 0.5, else next year is drawn as from normal
    without it: P(1 -> 0) = 0.5 x 0.96 / 0.99, P(1 -> 2) = 0.5 x 0.03 / 0.99, and likewise
    for state 2. The optimum is no worse than any rule in any of the three states, the LP
    and value iteration agree, and the pro-rata release of each state is its own share x
    shortfall (the magnet ban takes magnets away, so its release is the larger)."""
    study = (ROOT / "examples" / "studies" / "ndpr_usgs_disruptions.yaml").resolve()
    spec = tmp_path / "p.yaml"
    spec.write_text(EVENTS_POLICY.replace("STUDY", str(study)), "utf-8")
    check = critmin("stockpile", "policy", str(spec), "--check")
    assert check.returncode == 0, check.stderr
    assert "3 levels x 3 market states: 15 market runs" in check.stdout
    result = _json(critmin("stockpile", "policy", str(spec), "--json"))
    assert result["model"]["states"] == ["normal", "chn_component_100pct", "mmr_mine_100pct"]
    p = np.array(result["model"]["transition"])
    np.testing.assert_allclose(p[0], [0.96, 0.01, 0.03], rtol=1e-12)
    np.testing.assert_allclose(p[1], [0.5 * 0.96 / 0.99, 0.5, 0.5 * 0.03 / 0.99], rtol=1e-12)
    np.testing.assert_allclose(p[2], [0.5 * 0.96 / 0.97, 0.5 * 0.01 / 0.97, 0.5], rtol=1e-12)
    assert result["lp_equals_value_iteration"] is True
    v_opt = _values(result, "optimal")
    for name in ("release_on_ban", "hold_60_days", "iea_pro_rata"):
        assert (_values(result, name) >= v_opt - 1e-9 * abs(v_opt).max()).all()
    par = result["rule_parameters"]
    short, rel = par["shortfall_t_per_year"], par["pro_rata_release_t_per_year"]
    assert len(short) == len(rel) == 2
    np.testing.assert_allclose(rel, [par["region_share"] * x for x in short], rtol=1e-12)
    assert short[0] > short[1] >= 0
    states = result["disruption"]["states"]
    assert list(states) == ["chn_component_100pct", "mmr_mine_100pct"]
    assert states["mmr_mine_100pct"]["probability_per_year"] == pytest.approx(0.03)

    out = critmin("stockpile", "policy", str(spec))
    assert out.returncode == 0, out.stderr
    assert "P(some disruption) 0.04/yr over 2 events" in out.stdout
    assert "chn_component_100pct" in out.stdout


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ("[chn_component_100pct, nope]", "unknown disruption event 'nope'"),
        ("[]", "name at least one event, or 'all'"),
        ("[mmr_mine_100pct, mmr_mine_100pct]", "named twice"),
        ("every", "'all'"),
    ],
)
def test_bad_events_are_one_line_at_the_field(tmp_path: Path, events: str, message: str) -> None:
    study = (ROOT / "examples" / "studies" / "ndpr_usgs_disruptions.yaml").resolve()
    spec = tmp_path / "p.yaml"
    text = EVENTS_POLICY.replace("STUDY", str(study))
    spec.write_text(text.replace("[chn_component_100pct, mmr_mine_100pct]", events), "utf-8")
    res = critmin("stockpile", "policy", str(spec), "--check")
    assert res.returncode == 2, res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"{spec}:7" in lines[0], lines[0]
    assert "events" in lines[0], lines[0]
    assert message in lines[0], lines[0]
