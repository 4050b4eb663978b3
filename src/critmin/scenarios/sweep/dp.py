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

:func:`market_markov` points it at a critmin chain: the period cost of each (market state,
stock change) is a year of critmin's own market run with the change at the stockpile's node
(a release as a zero-cost supply block, a purchase as a must-buy bid); the disruption is a
list of shocks. :func:`evaluate_policy` prices a fixed rule exactly and :func:`simulate`
runs every rule on the same sampled market paths, so the optimum can be compared with the
rules of :func:`market_rules` (release on ban, hold 60 days of cover, IEA-style pro-rata)
on the same futures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    #: what the no-change market years say about the stock's product (None for a model
    #: that is not a critmin chain, such as the GAMS model's own data)
    market: MarketFacts | None = None


@dataclass(frozen=True)
class MarketFacts:
    """Consumption of the stockpile's product in the two no-change market years (t a year):
    the quantities the days-of-cover and IEA-style rules are sized by."""

    region_consumption_t: float  # the stock's region's buyers, normal year
    chain_consumption_t: float  # every region's buyers of the product, normal year
    #: the same in each disrupted state's year, in the model's order of states after normal
    chain_consumption_disrupted_t: tuple[float, ...]

    def days_of_cover_t(self, days: float) -> float:
        """``days`` of the region's normal consumption, in tonnes."""
        return self.region_consumption_t * days / 365.0

    def shortfall_t(self, k: int) -> float:
        """What disrupted state ``k`` (0 = the first after normal) takes from the chain's
        buyers of the product in a year."""
        return max(0.0, self.chain_consumption_t - self.chain_consumption_disrupted_t[k])

    @property
    def region_share(self) -> float:
        """The region's share of the chain's normal consumption (0 when nobody consumes)."""
        c = self.chain_consumption_t
        return self.region_consumption_t / c if c > 0 else 0.0

    def pro_rata_release_t(self, k: int) -> float:
        """The region's pro-rata part of state ``k``'s shortfall: its share of consumption
        times the shortfall, as IEA members share a collective action by their share of
        consumption."""
        return self.region_share * self.shortfall_t(k)


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
    # costs in usd reach 1e9 and more on a market chain, where HiGHS's simplex (through
    # scipy 1.17) stops with "Not Set" on an LP it solves once the costs are scaled to at
    # most 1; the policy does not depend on the scale, and the values scale back linearly
    cost = model.cost[allowed]
    scale = float(np.abs(cost).max()) or 1.0
    res = linprog(
        cost / scale, A_eq=a, b_eq=model.initial.ravel(), bounds=(0, None), method="highs"
    )
    if res.status != 0:
        raise ValueError(f"the Markov LP did not solve: {res.message}")
    z = np.zeros((n_s, n_i, n_s))
    z[allowed] = res.x
    action = np.argmax(z, axis=2).astype(np.int64)
    # the balance rows' duals (d objective / d beta(s, i)) are the state values V(s, i)
    value = scale * np.asarray(res.eqlin.marginals, dtype=np.float64).reshape(n_s, n_i)
    return Policy(action, value, scale * float(res.fun or 0.0))


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


# ------------------------------------------------------------------ critmin's own markets


@dataclass(frozen=True)
class MarketStock:
    """Where a stockpile acts in a critmin chain and what it costs to hold."""

    mineral: str
    region: str
    product: str
    levels_t: tuple[float, ...]  # stock levels (tonnes), ascending, the first 0
    storage_usd_per_t_year: float
    start: str  # first month of the one-year period solved for each (state, stock change)
    #: buying at this willingness to pay (usd/t) always clears: a purchase is a must-buy bid
    purchase_wtp_usd_per_t: float = 1.0e7
    #: what a message about one of its market runs names (a time limit spent while one is
    #: checked): the policy file it comes from
    source: str = "stockpile DP"


#: the name of the stockpile's purchase bid in a period's market (found by it afterwards)
_PURCHASE = "critmin stockpile DP purchase"


def _period_cost(
    base: dict[str, Any], stock: MarketStock, change_t: float, shocks: list[dict[str, Any]]
) -> tuple[float, float, float]:
    """One year of the chain with the stock change at the node: (the protected region's
    buyers' surplus lost (negative surplus) + what the stockpile pays for a purchase (or
    receives for a release) at the node's price; the region's and the chain's consumption
    of the product in tonnes, the purchase bid left out)."""
    import copy

    from critmin.market.compile import compile_market
    from critmin.market.engine import run_market
    from critmin.periods import month_index, month_label
    from critmin.scenarios.sweep.evaluate import add_shock_set, build_scenario

    data = copy.deepcopy(base)
    start = stock.start
    data["months"] = {"start": start, "end": month_label(month_index(start) + 11)}
    add_shock_set(data, copy.deepcopy(shocks))
    market = next(m for m in data["markets"] if m["mineral"] == stock.mineral)
    if change_t < 0:
        market["supply"] = [
            *market.get("supply", []),
            {
                "region": stock.region,
                "product": stock.product,
                "qty_t_per_year": -change_t,
                "cost_usd_per_t": 0.0,
                "name": "stockpile release",
            },
        ]
    elif change_t > 0:
        market["demand"] = [
            *market.get("demand", []),
            {
                "region": stock.region,
                "product": stock.product,
                "qty_t_per_year": change_t,
                "wtp_usd_per_t": stock.purchase_wtp_usd_per_t,
                "name": _PURCHASE,
            },
        ]
    scenario = build_scenario(data, stock.source)
    spec = next(m for m in scenario.markets if m.mineral == stock.mineral)
    cm = compile_market(spec, scenario.month_labels(), scenario.shocks)
    instruments = [
        s.build() for s in scenario.instrument_specs() if s.mineral in (None, stock.mineral)
    ]
    run = run_market(cm, instruments)
    r = cm.regions.index(stock.region)
    # the purchase bid is found by its name, not its place in the market's list: validating
    # the market moves the demand curves' step blocks after every own block, so the block
    # appended last is not the last bid (taking the last bid once counted the purchase,
    # at its must-buy WTP, as the region's buyers' surplus)
    purchase = np.array([name == _PURCHASE for name in cm.d_name], dtype=bool)
    bids = np.flatnonzero((cm.node_region[cm.d_node] == r) & ~purchase)
    price_bids = run.price[:, cm.d_node[bids]]
    surplus = float(((cm.d_wtp[bids] - price_bids) * run.demand[:, bids]).sum())
    node = cm.node_index(stock.region, stock.product)
    trade = float((run.price[:, node] * change_t / 12.0).sum())
    of_product = (cm.node_product[cm.d_node] == cm.products.index(stock.product)) & ~purchase
    consumed = run.demand.sum(axis=0)
    region_t = float(consumed[of_product & (cm.node_region[cm.d_node] == r)].sum())
    return -surplus + trade, region_t, float(consumed[of_product].sum())


def market_markov(
    base: dict[str, Any],
    stock: MarketStock,
    transition: FloatArray,
    disrupted_shocks: list[dict[str, Any]] | dict[str, list[dict[str, Any]]],
    discount: float,
    *,
    no_buildup_when_disrupted: bool = True,
    on_run: Callable[[int, int], None] | None = None,
) -> MarkovModel:
    """The Markov model of a stockpile in a critmin chain: states normal and one disrupted
    state per entry of ``disrupted_shocks`` (a list of shocks: one state named "disrupted";
    a mapping: a state per name, in its order, e.g. the events of a disruption study), each
    the base with its shocks added; ``transition`` is over (normal, *disrupted) in that order;
    yearly periods; the period cost of every stock change taken from a critmin market run
    (the year from ``stock.start``) less the no-change normal year, plus storage of the new
    level.

    ``on_run(done, total)`` is called after each market run ((1 + disrupted states) x the
    number of distinct stock changes: a progress bar's hook)."""
    disrupted = (
        {"disrupted": disrupted_shocks}
        if isinstance(disrupted_shocks, list)
        else dict(disrupted_shocks)
    )
    states = ("normal", *disrupted)
    n_i = len(states)
    if np.shape(transition) != (n_i, n_i):
        raise ValueError(f"the transition matrix must be {n_i} x {n_i} (states {states})")
    levels = np.asarray(stock.levels_t, dtype=np.float64)
    changes = sorted({float(b - a) for a in levels for b in levels})
    cost_of: dict[tuple[int, float], float] = {}
    consumed: dict[int, tuple[float, float]] = {}  # (region, chain) t, no-change year by state
    total = n_i * len(changes)
    for i, shocks in enumerate(([], *disrupted.values())):
        for ch in changes:
            cost_of[(i, ch)], region_t, chain_t = _period_cost(base, stock, ch, shocks)
            if ch == 0.0:
                consumed[i] = (region_t, chain_t)
            if on_run is not None:
                on_run(len(cost_of), total)
    ref = cost_of[(0, 0.0)]
    n = len(levels)
    cost = np.empty((n, n_i, n))
    for s in range(n):
        for i in range(n_i):
            for sp in range(n):
                ch = float(levels[sp] - levels[s])
                cost[s, i, sp] = cost_of[(i, ch)] - ref + stock.storage_usd_per_t_year * levels[sp]
    if no_buildup_when_disrupted:
        up = levels[None, :] > levels[:, None]
        for i in range(1, n_i):
            cost[:, i, :][up] = np.inf
    return MarkovModel(
        levels,
        states,
        np.asarray(transition, dtype=np.float64),
        cost,
        discount,
        np.full((n, n_i), 1.0 / (n_i * n)),
        MarketFacts(consumed[0][0], consumed[0][1], tuple(consumed[i][1] for i in range(1, n_i))),
    )


def _disruption_input(study: Any) -> Any:
    """The categorical input of a study's ``disruptions:`` section (its events and weights)."""
    from critmin.scenarios.sweep.distributions import Categorical

    d = study.disruptions
    if d is None:
        raise ValueError("the study has no 'disruptions' section")
    dist = next(u.distribution for u in study.uncertainties if u.name == d.name)
    assert isinstance(dist, Categorical)
    return dist


def disruption_events(study: Any) -> list[str]:
    """The events of a disruption study (its categorical input's choices but "none")."""
    return [c for c in _disruption_input(study).choices if c != "none"]


def disruption_states(
    study: Any, events: list[str], persistence: float | None = None
) -> tuple[FloatArray, dict[str, list[dict[str, Any]]]]:
    """The market chain of some events of a disruption study, one state each after normal:
    (transition matrix over (normal, *events), each event's shocks).

    From normal, event k follows with its annual probability p_k (the study's weight) and
    normal with 1 - sum p. A disruption in force continues with probability ``persistence``
    (default: p_k, i.e. independent years, as the USGS one-year scenarios assume); otherwise
    next year is drawn as from normal without event k: P(k -> j) = (1 - s_k) P(normal -> j)
    / (1 - p_k). With one event this is the two-state chain [[1-p, p], [1-s, s]], and with
    the default persistence every row equals normal's."""
    dist = _disruption_input(study)
    known = [c for c in dist.choices if c != "none"]
    for e in events:
        if e not in known:
            raise ValueError(f"unknown disruption event {e!r}; expected one of {known}")
    if len(set(events)) != len(events):
        raise ValueError(f"an event is named twice in {events}")
    weights = np.asarray(dist.weights or [1.0] * len(dist.choices), dtype=np.float64)
    p = np.array([weights[dist.choices.index(e)] for e in events]) / weights.sum()
    first = np.concatenate([[1.0 - p.sum()], p])
    n = len(first)
    transition = np.empty((n, n))
    transition[0] = first
    for k in range(1, n):
        stay = float(first[k]) if persistence is None else persistence
        rest = 1.0 - first[k]
        row = first * ((1.0 - stay) / rest) if rest > 0 else np.zeros(n)
        row[k] = stay if rest > 0 else 1.0
        transition[k] = row
    return transition, {e: list(study.shock_sets[e]) for e in events}


def disruption_chain(
    study: Any, event: str, persistence: float | None = None
) -> tuple[FloatArray, list[dict[str, Any]]]:
    """The two-state market chain of one event of a disruption study: (transition matrix,
    the event's shocks) (:func:`disruption_states` with one event)."""
    transition, shocks = disruption_states(study, [event], persistence)
    return transition, shocks[event]


def evaluate_policy(model: MarkovModel, action: IntArray) -> Policy:
    """Exact discounted expected cost of a fixed rule: V = (I - b P_rule)^-1 c_rule."""
    n_s, n_i = model.initial.shape
    size = n_s * n_i
    p = np.zeros((size, size))
    c = np.zeros(size)
    for s in range(n_s):
        for i in range(n_i):
            sp = int(action[s, i])
            c[s * n_i + i] = model.cost[s, i, sp]
            for j in range(n_i):
                p[s * n_i + i, sp * n_i + j] += model.transition[i, j]
    if not np.isfinite(c).all():
        raise ValueError("the rule takes an action the model forbids")
    v = np.asarray(np.linalg.solve(np.eye(size) - model.discount * p, c), dtype=np.float64)
    v = v.reshape(n_s, n_i)
    return Policy(np.asarray(action, dtype=np.int64), v, float((model.initial * v).sum()))


def simple_rules(n_levels: int, target: int) -> dict[str, IntArray]:
    """Fixed-shape rules for a model without market quantities (the GAMS model's data;
    :func:`market_rules` sizes them by a chain's consumption), as indices of the next level
    per (level, state):

    * ``release_on_ban``: fill to ``target`` in normal times, release everything in a
      disruption (the Project Vault rule of releasing on an export ban);
    * ``hold``: fill to ``target`` and never release (stock held as insurance);
    * ``pro_rata``: fill to ``target``; in a disruption release half the stock, rounded
      down to a level (IEA-style sharing of a shortfall, here a fixed share).
    """
    levels = np.arange(n_levels)
    fill = np.full(n_levels, target, dtype=np.int64)
    return {
        "release_on_ban": np.stack([fill, np.zeros(n_levels, dtype=np.int64)], axis=1),
        "hold": np.stack([fill, levels], axis=1),
        "pro_rata": np.stack([fill, levels // 2], axis=1),
    }


def _nearest_level(levels: FloatArray, tonnes: float) -> int:
    """The index of the level nearest ``tonnes`` (the higher one on a tie)."""
    gaps = np.abs(levels - tonnes)
    return int(np.flatnonzero(gaps == gaps.min())[-1])


def market_rules(
    model: MarkovModel, target: int, hold_days: float = 60.0
) -> tuple[dict[str, IntArray], dict[str, Any]]:
    """The rules the issue names, sized by the chain's own consumption (``model.market``),
    with the parameters they were sized by. Each fills to level ``target`` in normal times
    and never builds up while disrupted; in each disrupted state:

    * ``release_on_ban`` releases everything (Project Vault's release on an export ban);
    * ``hold_60_days`` (``hold_days``) releases down to the level nearest ``hold_days`` of
      the region's normal consumption and keeps that cover, never releasing below it;
    * ``iea_pro_rata`` releases the region's pro-rata part of the chain's shortfall in that
      state (its share of normal consumption x the consumption the state takes away), to the level
      nearest the stock less that release (IEA members share a collective action by their
      share of consumption; here the stock's region is the one member holding stock).

    Levels are a grid, so the held cover and the release are rounded to the nearest level;
    the parameters returned say by how much.
    """
    facts = model.market
    if facts is None:
        raise ValueError("the model has no market quantities (not a critmin chain)")
    levels = model.levels
    n = len(levels)
    fill = np.full(n, target, dtype=np.int64)
    here = np.arange(n, dtype=np.int64)
    n_dis = len(facts.chain_consumption_disrupted_t)
    cover_t = facts.days_of_cover_t(hold_days)
    floor = _nearest_level(levels, cover_t)
    releases = [facts.pro_rata_release_t(k) for k in range(n_dis)]
    after = [
        np.minimum(here, [_nearest_level(levels, max(0.0, lv - r)) for lv in levels])
        for r in releases
    ]
    zeros = np.zeros(n, dtype=np.int64)
    rules = {
        "release_on_ban": np.stack([fill, *[zeros] * n_dis], axis=1),
        "hold_60_days": np.stack([fill, *[np.minimum(here, floor)] * n_dis], axis=1),
        "iea_pro_rata": np.stack([fill, *after], axis=1),
    }
    params: dict[str, Any] = {
        "hold_days": hold_days,
        "region_consumption_t_per_year": facts.region_consumption_t,
        "chain_consumption_t_per_year": facts.chain_consumption_t,
        "cover_t": cover_t,
        "cover_level_t": float(levels[floor]),
        "region_share": facts.region_share,
        # one entry per disrupted state, in the model's order
        "chain_consumption_disrupted_t_per_year": list(facts.chain_consumption_disrupted_t),
        "shortfall_t_per_year": [facts.shortfall_t(k) for k in range(n_dis)],
        "pro_rata_release_t_per_year": releases,
    }
    return rules, params


def simulate(
    model: MarkovModel, rules: dict[str, IntArray], periods: int, paths: int, seed: int
) -> dict[str, dict[str, float]]:
    """Every rule on the same sampled market paths (from ``SeedSequence(seed)``), starting
    empty in normal times: mean, standard error of the mean and P95 of the discounted cost
    over the paths. The mean estimates ``V(0, normal)`` of :func:`evaluate_policy` less the
    discounted cost after ``periods`` (see :func:`horizon_periods`)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n_i = len(model.states)
    states = np.zeros((paths, periods), dtype=np.int64)
    u = rng.random((paths, periods))
    cum = np.cumsum(model.transition, axis=1)
    for t in range(1, periods):
        prev = states[:, t - 1]
        states[:, t] = np.minimum((u[:, t, None] > cum[prev]).sum(axis=1), n_i - 1)
    disc = model.discount ** np.arange(periods)
    out: dict[str, dict[str, float]] = {}
    for name, action in rules.items():
        level = np.zeros(paths, dtype=np.int64)
        total = np.zeros(paths)
        for t in range(periods):
            i = states[:, t]
            nxt = action[level, i]
            total += disc[t] * model.cost[level, i, nxt]
            level = nxt
        out[name] = {
            "mean": float(total.mean()),
            "std_error": float(total.std(ddof=1) / math.sqrt(paths)) if paths > 1 else math.nan,
            "p95": float(np.percentile(total, 95)),
        }
    return out


def horizon_periods(discount: float, tail: float = 1e-3) -> int:
    """Periods after which the discount factor is below ``tail``: a simulation that long
    leaves out at most ``tail / (1 - b)`` times the largest period cost."""
    if not 0 < discount < 1:
        raise ValueError(f"discount factor {discount} is not in (0, 1)")
    return max(1, math.ceil(math.log(tail) / math.log(discount)))


def policy_rows(model: MarkovModel, policy: Policy, rule: str = "optimal") -> list[dict[str, Any]]:
    """The policy as rows (one per level x market state): level, state, next level,
    change, this period's cost and the state's value (present value of expected cost)."""
    rows: list[dict[str, Any]] = []
    for s, level in enumerate(model.levels):
        for i, state in enumerate(model.states):
            nxt = int(policy.action[s, i])
            rows.append(
                {
                    "rule": rule,
                    "level": float(level),
                    "state": state,
                    "next_level": float(model.levels[nxt]),
                    "change": float(model.levels[nxt] - level),
                    "period_cost": float(model.cost[s, i, nxt]),
                    "value": float(policy.value[s, i]),
                }
            )
    return rows
