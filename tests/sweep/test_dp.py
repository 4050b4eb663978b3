"""The stockpile DP reproduces the GAMS Model Library's MARKOV model (SEQ=82, Teisberg 1981):
its linear programme, solved as GAMS states it, and Bellman's equation solved by value
iteration give the same policy and values; the model's own data behave as stated."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.scenarios.sweep.dp import solve_lp, teisberg_markov, value_iteration


def test_normal_price_at_no_stock_change_is_the_models_pn() -> None:
    """No stock change in the normal state: p = (k / (q - d))^(1/e) = (342 / 240)^10
    = 34.526 US$/bbl, the model's ``pn``; so the consumers' loss term is ~0 and the
    period's cost is the storage h x level alone."""
    m = teisberg_markov()
    p = (342 / 240) ** 10
    assert p == pytest.approx(34.526, abs=5e-4)
    for s in range(8):
        assert m.cost[s, 0, s] == pytest.approx(0.32 * m.levels[s], abs=0.01)


def test_lp_and_value_iteration_agree_on_policy_and_values() -> None:
    m = teisberg_markov()
    lp, vi = solve_lp(m), value_iteration(m)
    np.testing.assert_array_equal(lp.action, vi.action)
    np.testing.assert_allclose(lp.value, vi.value, rtol=1e-9)
    # the LP's objective = sum of initial weights x values (0.0625 x 16 states)
    assert lp.expected_cost == pytest.approx(0.0625 * vi.value.sum(), rel=1e-9)


def test_policy_builds_in_normal_times_and_draws_down_in_disruptions() -> None:
    """The model forbids build-up while disrupted; the optimum also draws the reserve down
    in every disrupted state above empty, and never holds more in a disruption than in
    normal times from the same level."""
    m = teisberg_markov()
    act = solve_lp(m).action
    levels = np.arange(8)
    assert (act[:, 1] <= levels).all()
    assert (act[1:, 1] < levels[1:]).all()
    assert (act[:, 1] <= act[:, 0]).all()
    assert act[0, 0] > 0  # an empty reserve is filled in normal times
    # a monotone rule: a larger reserve never leads to a smaller next reserve
    assert (np.diff(act, axis=0) >= 0).all()


def test_market_stockpile_policy_beats_the_simple_rules_on_the_same_paths() -> None:
    """The DP pointed at critmin's NdPr chain (USA oxide stock, Chinese export ban as the
    disrupted state, yearly periods): LP and value iteration agree, and no simple rule has
    a lower expected cost, exactly (policy evaluation) or on the same 500 sampled paths."""
    from critmin.scenarios.loader import load_scenario
    from critmin.scenarios.sweep.dp import (
        MarketStock,
        evaluate_policy,
        market_markov,
        simple_rules,
        simulate,
    )

    base = load_scenario("builtin:ndpr_baseline").scenario.model_dump(
        by_alias=True, exclude_none=True
    )
    ban = [{"kind": "export_ban", "exporter": "CHN", "product": ["ndpr_oxide", "ndfeb_magnet"]}]
    stock = MarketStock(
        mineral="ndpr",
        region="USA",
        product="ndpr_oxide",
        levels_t=(0.0, 1000.0, 2000.0, 3000.0),
        storage_usd_per_t_year=1200.0,
        start="2027-01",
    )
    m = market_markov(base, stock, np.array([[0.9, 0.1], [0.5, 0.5]]), ban, 0.95)
    assert np.isinf(m.cost[0, 1, 1:]).all()  # no build-up while disrupted
    lp, vi = solve_lp(m), value_iteration(m)
    np.testing.assert_array_equal(lp.action, vi.action)
    assert lp.expected_cost == pytest.approx(vi.expected_cost, rel=1e-9)
    rules = simple_rules(4, target=2)
    for action in rules.values():
        assert evaluate_policy(m, action).expected_cost >= lp.expected_cost - 1e-6 * abs(
            lp.expected_cost
        )
    assert evaluate_policy(m, lp.action).expected_cost == pytest.approx(lp.expected_cost)
    sim = simulate(m, {"optimal": lp.action, **rules}, periods=20, paths=500, seed=3)
    assert all(sim["optimal"]["mean"] <= r["mean"] + 1e-6 for r in sim.values())


def test_disruption_chain_from_the_usgs_example_feeds_the_dp() -> None:
    """The NdPr example study's Myanmar concentrate ban (p = 0.03 a year) as the disrupted
    state: transition [[0.97, 0.03], [0.97, 0.03]] for independent years; its shocks run
    through critmin's market in the DP, and the DP's policy never does worse than holding."""
    from pathlib import Path

    from critmin.scenarios.sweep import load_study_file
    from critmin.scenarios.sweep.dp import (
        MarketStock,
        disruption_chain,
        evaluate_policy,
        market_markov,
        market_rules,
    )
    from critmin.scenarios.sweep.evaluate import base_data

    example = Path(__file__).resolve().parents[2] / "examples" / "studies"
    loaded = load_study_file(example / "ndpr_usgs_disruptions.yaml")
    transition, shocks = disruption_chain(loaded.study, "mmr_mine_100pct")
    np.testing.assert_allclose(transition, [[0.97, 0.03], [0.97, 0.03]])
    assert shocks[0]["kind"] == "export_ban"
    stock = MarketStock(
        mineral="ndpr",
        region="CHN",
        product="ndpr_concentrate",
        levels_t=(0.0, 2000.0, 4000.0),
        storage_usd_per_t_year=600.0,
        start="2027-01",
    )
    m = market_markov(base_data(loaded), stock, transition, shocks, 0.95)
    best = solve_lp(m)
    hold = evaluate_policy(m, market_rules(m, 1)[0]["hold_60_days"])
    assert best.expected_cost <= hold.expected_cost + 1e-6 * abs(hold.expected_cost)
    with pytest.raises(ValueError, match="unknown disruption event"):
        disruption_chain(loaded.study, "none")


def test_market_rules_hand_case() -> None:
    """Levels 0..4,000 t by 1,000. The region consumes 7,300 t a year, the chain 73,000 t
    (share 0.1); the disruption cuts the chain to 57,000 t, a shortfall of 16,000 t, so the
    pro-rata release is 0.1 x 16,000 = 1,600 t a year. 60 days of cover = 7,300 x 60 / 365 =
    1,200 t, nearest level 1,000 t. Disrupted next levels:
    release on ban 0 everywhere; hold 60 days min(level, 1,000 t) = 0, 1, 1, 1, 1 (indices);
    pro-rata nearest(level - 1,600): 4,000 -> 2,400 -> 2,000 (2); 3,000 -> 1,400 -> 1,000 (1);
    2,000 -> 400 -> 0; 1,000 and 0 -> 0. Normal times fill to the target (index 3)."""
    from critmin.scenarios.sweep.dp import MarketFacts, MarkovModel, market_rules

    levels = 1000.0 * np.arange(5)
    model = MarkovModel(
        levels,
        ("normal", "disrupted"),
        np.array([[0.9, 0.1], [0.5, 0.5]]),
        np.zeros((5, 2, 5)),
        0.95,
        np.full((5, 2), 0.1),
        MarketFacts(7300.0, 73000.0, (57000.0,)),
    )
    rules, par = market_rules(model, target=3)
    assert par["cover_t"] == pytest.approx(1200.0)
    assert par["cover_level_t"] == 1000.0
    assert par["pro_rata_release_t_per_year"] == pytest.approx([1600.0])
    for act in rules.values():
        assert (act[:, 0] == 3).all()
    assert rules["release_on_ban"][:, 1].tolist() == [0, 0, 0, 0, 0]
    assert rules["hold_60_days"][:, 1].tolist() == [0, 1, 1, 1, 1]
    assert rules["iea_pro_rata"][:, 1].tolist() == [0, 0, 0, 1, 2]
    # 30 days: 600 t, nearest level 1,000 t (600 is nearer 1,000 than 0)
    assert market_rules(model, 3, hold_days=30)[1]["cover_level_t"] == 1000.0
    # a model without market quantities (the GAMS data) has no market rules
    with pytest.raises(ValueError, match="no market quantities"):
        market_rules(teisberg_markov(), 3)
