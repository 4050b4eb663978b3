"""A stochastic dynamic programme for a strategic stockpile, in Teisberg's manner.

State: (stockpile level s, market state i); action: the next level s'. Each period costs
``c(s, s', i)`` (consumers' loss from the price, the purchase or sale of s' - s at that
price, storage of s') and the market moves i -> j with probability ``P[i, j]``,
independently of the stockpile. The optimal policy minimises the discounted expected cost:

    V(s, i) = min_{s' allowed} c(s, s', i) + b * sum_j P[i, j] V(s', j)

:func:`solve_lp` solves it as the linear programme of the GAMS Model Library's ``MARKOV``
model (SEQ=82, "Strategic Petroleum Reserve", after Teisberg, T. J. (1981), "A Dynamic
Programming Model of the U.S. Strategic Petroleum Reserve", Bell Journal of Economics 12(2),
526-546, doi:10.2307/3003570): variables ``z(s, i, s') >= 0`` (discounted state-action
frequencies), one balance row per state, ``sum_s' z(s', j, s'') - b sum_{s,i} P[i, j]
z(s, i, s') = beta`` (``beta`` the initial weight of each state), and the objective
``sum c z``; the policy is the action with ``z > 0``. :func:`value_iteration` solves the same
Bellman equation directly; the two must agree (tests/sweep/test_dp.py).
:func:`teisberg_markov` builds the GAMS model's own data.

Not done yet: pointing it at critmin's markets (the disruption chain of a disruption study,
the price response from critmin runs) and comparing its rule with the simple release rules
on the same samples (docs/sweeps.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MarkovModel:
    """Levels (n_s), market states (n_i), transition (n_i, n_i), cost (n_s, n_i, n_s) with
    ``inf`` for a forbidden action, discount factor, initial weights (n_s, n_i)."""

    levels: FloatArray
    states: tuple[str, ...]
    transition: FloatArray
    cost: FloatArray
    discount: float
    initial: FloatArray


@dataclass(frozen=True)
class Policy:
    """The optimal next level index per (level, state), its value and expected cost."""

    action: IntArray  # (n_s, n_i) index of the next level
    value: FloatArray  # (n_s, n_i) present value of expected cost
    expected_cost: float  # sum of initial weight x value (the LP's objective)


def teisberg_markov() -> MarkovModel:
    """The data of the GAMS Model Library's MARKOV model (SEQ=82).

    Reserve levels 0, 3, ..., 21 (million barrels); market normal or disrupted (supply
    11 lower); P = [[.8, .2], [.5, .5]]; supply q = 110; demand d(p) = d + k p^-e with
    d = -130, k = 342, e = 0.1, so the price after a stock change D is
    p = (k / (q - dis - d - D))^(1/e); cost = g (d (p - pn) + k (p^(1-e) - pn^(1-e)) /
    (1 - e)) + p D + h s' with g = 0.25 (the U.S. share), pn = 34.526, h = 0.32; discount
    0.95; initial weight 0.0625 per state; no build-up while disrupted.
    """
    levels = 3.0 * np.arange(8, dtype=np.float64)
    b, beta, g, e, q, d, k, pn, h = 0.95, 0.0625, 0.25, 0.1, 110.0, -130.0, 342.0, 34.526, 0.32
    dis = np.array([0.0, 11.0])
    change = levels[None, :] - levels[:, None]  # (s, s') = lev(s') - lev(s)
    cost = np.empty((8, 2, 8))
    for i in range(2):
        p = (k / (q - dis[i] - d - change)) ** (1 / e)
        loss = g * (d * (p - pn) + k * (p ** (1 - e) - pn ** (1 - e)) / (1 - e))
        cost[:, i, :] = loss + p * change + h * levels[None, :]
    cost[:, 1, :][change > 0] = np.inf  # GAMS equil: z(s, disrupted, s') = 0 when s' > s
    transition = np.array([[0.8, 0.2], [0.5, 0.5]])
    return MarkovModel(levels, ("normal", "disrupted"), transition, cost, b, np.full((8, 2), beta))


def solve_lp(model: MarkovModel) -> Policy:
    """The GAMS MARKOV linear programme (HiGHS through scipy), and the policy it implies."""
    from scipy.optimize import linprog

    n_s, n_i = model.initial.shape
    allowed = np.isfinite(model.cost)  # (s, i, s')
    cols = np.argwhere(allowed)  # each column: (s, i, s')
    n = len(cols)
    # row (s', j): + z(s', j, .) - b P[i, j] z(s, i, s')  = beta(s', j)
    a = np.zeros((n_s * n_i, n))
    for c, (s, i, sp) in enumerate(cols):
        a[s * n_i + i, c] += 1.0
        for j in range(n_i):
            a[sp * n_i + j, c] -= model.discount * model.transition[i, j]
    cost = model.cost[allowed]
    res = linprog(cost, A_eq=a, b_eq=model.initial.ravel(), bounds=(0, None), method="highs")
    if res.status != 0:
        raise ValueError(f"the Markov LP did not solve: {res.message}")
    z = np.zeros((n_s, n_i, n_s))
    z[allowed] = res.x
    action = np.argmax(z, axis=2).astype(np.int64)
    # the balance rows' duals (d objective / d beta(s, i)) are the state values V(s, i)
    value = np.asarray(res.eqlin.marginals, dtype=np.float64).reshape(n_s, n_i)
    return Policy(action, value, float(res.fun or 0.0))


def value_iteration(model: MarkovModel, tol: float = 1e-12, max_iter: int = 100_000) -> Policy:
    """Bellman's equation iterated to a fixed point (a contraction with factor b)."""
    n_s, n_i = model.initial.shape
    v = np.zeros((n_s, n_i))
    for _ in range(max_iter):
        # future[s', i] = sum_j P[i, j] v[s', j]; q[s, i, s'] = c + b future[s', i]
        future = v @ model.transition.T
        q = model.cost + model.discount * future.T[None, :, :]
        new = q.min(axis=2)
        if np.max(np.abs(new - v)) < tol:
            v = new
            break
        v = new
    q = model.cost + model.discount * (v @ model.transition.T).T[None, :, :]
    action = np.argmin(q, axis=2).astype(np.int64)
    return Policy(action, v, float((model.initial * v).sum()))
