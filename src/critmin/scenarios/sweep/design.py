"""Designs: which input values each sample gets, and each sample's own seed.

Everything here runs in the driver, before any work is handed out, and depends only on the
study and its ``seed``: the table of a sweep cannot depend on the number of workers or the
order in which they finish.

* ``monte_carlo``: scenario ``s`` draws its unit point from its own stream,
  ``SeedSequence(seed, spawn_key=(0, s))``, so the first N samples of a larger run are the
  same N samples (a run can be extended).
* ``latin_hypercube``: ``scipy.stats.qmc.LatinHypercube`` (McKay, Beckman & Conover 1979),
  one design of N points from ``SeedSequence(seed, spawn_key=(0,))``.
* ``sobol``: SALib's Saltelli/Sobol' design (``SALib.sample.sobol``, first and total
  order, N x (d + 2) runs), scrambled with the study seed.
* ``enumerate``: every combination of the values of discrete and categorical inputs, once,
  with its probability (the product of the values' weights) in the ``weight`` column.
* ``morris``: SALib's Morris trajectories (``SALib.sample.morris``, N x (d + 1) runs) on
  ``levels`` levels; level ``k`` of ``L`` is read as the unit value ``(k + 0.5) / L`` (the
  middle of the k-th equal-probability bin), so unbounded distributions stay finite.

Each sample's seed (written into the scenario's ``seed``) is
``SeedSequence(seed, spawn_key=(1, sample_id))`` - numpy's documented way to give
independent streams to parallel work (numpy "Parallel Random Number Generation").
Grid levers multiply the design: every scenario runs under every policy, sample id =
``scenario_id x n_policies + policy_id``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.scenarios.sweep.distributions import unit_clip
from critmin.scenarios.sweep.evaluate import SamplePlan
from critmin.scenarios.sweep.rules import RULE_COLUMN
from critmin.scenarios.sweep.study import Study

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Design:
    """The unit points, the values they map to, the policies and the sample plans."""

    names: list[str]  # sampled inputs (uncertainties, then sampled levers)
    unit: FloatArray  # (n_scenarios, d) points in the unit hypercube
    values: dict[str, npt.NDArray[Any]]  # name -> (n_scenarios,) values
    policies: list[dict[str, float | str]]  # grid lever values (and stockpile rule) of each
    seed: int
    weights: FloatArray  # (n_scenarios,) probability of each scenario (1/n when sampled)

    @property
    def n_scenarios(self) -> int:
        return int(self.unit.shape[0])

    @property
    def n_samples(self) -> int:
        return self.n_scenarios * len(self.policies)

    def sample_seed(self, sample_id: int) -> int:
        seq = np.random.SeedSequence(self.seed, spawn_key=(1, sample_id))
        return int(seq.generate_state(1, np.uint32)[0])

    def plan(self, sample_id: int) -> SamplePlan:
        n_pol = len(self.policies)
        s, p = divmod(sample_id, n_pol)
        values: dict[str, float | str] = {}
        for name in self.names:
            v = self.values[name][s]
            values[name] = v if isinstance(v, str) else float(v)
        values.update(self.policies[p])
        weight = float(self.weights[s])
        return SamplePlan(sample_id, s, p, self.sample_seed(sample_id), values, weight)


def salib_problem(names: list[str]) -> dict[str, Any]:
    """The SALib problem of the unit hypercube (the inverse CDFs map it to the inputs)."""
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def unit_points(study: Study, n: int) -> FloatArray:
    """The ``(runs, d)`` unit points of the study's design for ``n`` samples."""
    names = [i.name for i in study.sampled_inputs()]
    d = len(names)
    kind = study.sampler.kind
    if d == 0:
        return np.zeros((n if kind in ("monte_carlo", "latin_hypercube") else 1, 0))
    if kind == "monte_carlo":
        rows = [
            np.random.default_rng(np.random.SeedSequence(study.seed, spawn_key=(0, s))).random(d)
            for s in range(n)
        ]
        return np.vstack(rows)
    if kind == "latin_hypercube":
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence(study.seed, spawn_key=(0,)))
        return np.asarray(qmc.LatinHypercube(d=d, rng=rng).random(n), dtype=np.float64)
    if kind == "sobol":
        from SALib.sample import sobol

        pts = sobol.sample(
            salib_problem(names), n, calc_second_order=False, scramble=True, seed=study.seed
        )
        return np.asarray(pts, dtype=np.float64)
    from SALib.sample import morris

    pts = morris.sample(salib_problem(names), n, num_levels=study.sampler.levels, seed=study.seed)
    return np.asarray(pts, dtype=np.float64)


def morris_unit(points: FloatArray, levels: int) -> FloatArray:
    """Morris grid values ``k / (L - 1)`` -> bin middles ``(k + 0.5) / L``."""
    k = np.rint(points * (levels - 1))
    return (k + 0.5) / levels


def enumerate_points(study: Study) -> tuple[FloatArray, FloatArray]:
    """Every combination of the discrete/categorical inputs' values (zero-weight values
    left out) as unit points - the middle of each value's cumulative-weight bin, which the
    inverse CDF maps back to the value - and the probability of each combination."""
    axes: list[list[tuple[float, float]]] = []
    for inp in study.sampled_inputs():
        dist = inp.distribution
        items = getattr(dist, "values", None) or getattr(dist, "choices", [])
        w = np.asarray(getattr(dist, "weights", None) or [1.0] * len(items), dtype=np.float64)
        w = w / w.sum()
        cum = np.concatenate([[0.0], np.cumsum(w)])
        axes.append([((cum[j] + cum[j + 1]) / 2, w[j]) for j in range(len(items)) if w[j] > 0])
    combos = list(itertools.product(*axes))
    unit = np.array([[u for u, _ in c] for c in combos], dtype=np.float64).reshape(len(combos), -1)
    weights = np.array([float(np.prod([w for _, w in c])) for c in combos])
    return unit, weights


def design_size(study: Study, n: int | None = None) -> tuple[int, int]:
    """``(scenarios, policies)`` of the study's design for ``n`` samples, counted without
    building it: a grid of ten levers of a hundred values each is 1e20 policies, which
    :func:`make_design` would try to list (issue 13: refused up front instead)."""
    n = study.sampler.samples if n is None else n
    d = len(study.sampled_inputs())
    kind = study.sampler.kind
    if kind == "enumerate":
        scenarios = 1
        for inp in study.sampled_inputs():
            dist = inp.distribution
            items = getattr(dist, "values", None) or getattr(dist, "choices", [])
            weights = getattr(dist, "weights", None) or [1.0] * len(items)
            scenarios *= sum(1 for w in weights if w > 0)
    elif d == 0:
        scenarios = n if kind in ("monte_carlo", "latin_hypercube") else 1
    elif kind == "sobol":
        scenarios = n * (d + 2)
    elif kind == "morris":
        scenarios = n * (d + 1)
    else:
        scenarios = n
    policies = 1
    for lever in study.grid_levers():
        policies *= len(lever.values or [])
    if study.stockpile_rules is not None:
        policies *= len(study.stockpile_rules.rules)
    return scenarios, policies


def make_design(study: Study, n: int | None = None) -> Design:
    """The study's design for ``n`` samples (default: ``sampler.samples``)."""
    n = study.sampler.samples if n is None else n
    inputs = study.sampled_inputs()
    if study.sampler.kind == "enumerate":
        unit, weights = enumerate_points(study)
    else:
        unit = unit_points(study, n)
        weights = np.full(unit.shape[0], 1.0 / unit.shape[0])
    mapped = morris_unit(unit, study.sampler.levels) if study.sampler.kind == "morris" else unit
    mapped = unit_clip(mapped)
    values = {inp.name: inp.distribution.ppf(mapped[:, j]) for j, inp in enumerate(inputs)}
    grid = study.grid_levers()
    combos = itertools.product(*[lv.values or [] for lv in grid]) if grid else [()]
    policies: list[dict[str, float | str]] = [
        {lv.name: float(v) for lv, v in zip(grid, combo, strict=True)} for combo in combos
    ]
    if study.stockpile_rules is not None:  # each rule of the section, innermost
        policies = [{**p, RULE_COLUMN: r} for p in policies for r in study.stockpile_rules.rules]
    return Design([i.name for i in inputs], unit, values, policies, study.seed, weights)
