"""Designs and distributions: inverse CDFs against scipy's own, Latin-hypercube strata,
seeds that depend on the sample id only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from critmin.scenarios.sweep import load_study_file, make_design
from critmin.scenarios.sweep.distributions import Discrete, LogNormal, Normal, Triangular

from .conftest import SMALL


def test_triangular_quantiles_hand_solved() -> None:
    """Triangular(0, 1, 4): F(x) = x^2/4 on [0, 1] (F(1) = 1/4), so the 1/16 quantile is
    x = 1/2, and on [1, 4] 1 - F(x) = (4 - x)^2 / 12, so the 2/3 quantile is x = 2."""
    d = Triangular(kind="triangular", low=0, mode=1, high=4)
    np.testing.assert_allclose(d.ppf(np.array([1 / 16, 0.25, 2 / 3])), [0.5, 1.0, 2.0])


def test_normal_and_lognormal_match_scipy() -> None:
    u = np.linspace(0.01, 0.99, 25)
    n = Normal(kind="normal", mean=3, sd=2)
    np.testing.assert_array_equal(n.ppf(u), stats.norm(3, 2).ppf(u))
    ln = LogNormal(kind="lognormal", median=5, sigma=0.5)
    np.testing.assert_allclose(ln.ppf(np.array([0.5])), [5.0])
    np.testing.assert_array_equal(ln.ppf(u), stats.lognorm(0.5, scale=5).ppf(u))
    t = Normal(kind="normal", mean=0.06, sd=0.02, low=0.0)
    assert (t.ppf(u) >= 0).all()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.01, 10), min_size=1, max_size=6),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=30),
)
def test_discrete_is_the_inverse_cdf(weights: list[float], u: list[float]) -> None:
    """Value k is drawn exactly for u in [W_{k-1}, W_k) (W = cumulative normalised weights)."""
    values = [float(10 * i) for i in range(len(weights))]
    d = Discrete(kind="discrete", values=values, weights=weights)
    cum = np.cumsum(weights) / sum(weights)
    got = d.ppf(np.array(u))
    for ui, g in zip(u, got, strict=True):
        k = int(np.searchsorted(cum, ui, side="right"))
        assert g == values[min(k, len(values) - 1)]


def test_latin_hypercube_has_one_point_per_stratum() -> None:
    loaded = load_study_file(SMALL)
    design = make_design(loaded.study, 20)
    strata = np.floor(design.unit * 20).astype(int)
    for j in range(design.unit.shape[1]):
        assert sorted(strata[:, j]) == list(range(20))


def test_monte_carlo_prefix_and_seeds_do_not_depend_on_n() -> None:
    """Sample s of a Monte Carlo design draws from SeedSequence(seed, spawn_key=(0, s)):
    the first 5 samples of a 12-sample run are the 5 samples of a 5-sample run."""
    loaded = load_study_file(SMALL)
    study = loaded.study.model_copy(
        update={"sampler": loaded.study.sampler.model_copy(update={"kind": "monte_carlo"})}
    )
    small, big = make_design(study, 5), make_design(study, 12)
    np.testing.assert_array_equal(small.unit, big.unit[:5])
    for i in range(10):
        a, b = small.plan(i), big.plan(i)
        assert (a.values, a.seed) == (b.values, b.seed)
    first = np.random.default_rng(np.random.SeedSequence(42, spawn_key=(0, 3))).random(4)
    np.testing.assert_array_equal(big.unit[3], first)


def test_sample_seed_is_seedsequence_spawn() -> None:
    """numpy's SeedSequence(seed).spawn(n)[i] has spawn_key (i,); the sweep uses the
    sub-tree (1, sample_id), so its seeds equal SeedSequence(seed, spawn_key=(1,)).spawn."""
    design = make_design(load_study_file(SMALL).study)
    children = np.random.SeedSequence(42, spawn_key=(1,)).spawn(design.n_samples)
    assert [design.plan(i).seed for i in range(design.n_samples)] == [
        int(c.generate_state(1, np.uint32)[0]) for c in children
    ]
    assert len({design.plan(i).seed for i in range(design.n_samples)}) == design.n_samples


@pytest.mark.parametrize("kind", ["sobol", "morris"])
def test_salib_designs_have_the_published_sizes(kind: str) -> None:
    """Saltelli without second order: N (d + 2) runs; Morris: N (d + 1) runs (SALib docs)."""
    loaded = load_study_file(SMALL)
    sampler = loaded.study.sampler.model_copy(update={"kind": kind})
    study = loaded.study.model_copy(update={"sampler": sampler})
    d = len(study.sampled_inputs())
    design = make_design(study, 8)
    assert design.n_scenarios == 8 * (d + 2 if kind == "sobol" else d + 1)
    assert design.n_samples == design.n_scenarios * 2  # two lever values


def test_bootstrap_interval_of_the_median_matches_its_asymptotic_width() -> None:
    """The median of n standard-normal draws has standard error 1 / (2 phi(0) sqrt(n)) =
    sqrt(2 pi) / (2 sqrt(n)) (asymptotic variance of a sample quantile); its 95 % interval
    is ~3.92 standard errors wide. n = 5000: 0.0695. The percentile bootstrap must agree
    within 15 % and hold the estimate."""
    from critmin.scenarios.sweep.stats import percentiles

    x = np.random.default_rng(0).normal(size=5000)
    got = percentiles(x, seed=1)
    lo, hi = got["p50_ci95"]
    assert lo <= got["p50"] <= hi
    expected = 3.92 * np.sqrt(2 * np.pi) / (2 * np.sqrt(5000))
    assert hi - lo == pytest.approx(expected, rel=0.15)
    assert percentiles(x, seed=1) == got  # seeded: the same intervals every time
