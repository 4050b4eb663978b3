"""Stockpile rules on a sweep's samples: the DP's optimal rule against the simple ones.

``critmin stockpile policy`` solves a stockpile's optimal fill-and-release rule over (stock
level, market state) and compares it with the simple rules on paths of its own Markov model,
whose yearly costs come from one year of the market. A study's ``stockpile_rules`` section
asks the other question: do the rules keep their order when each is played on the *same*
sampled futures through critmin's whole monthly market, over many years, with demand growth,
new capacity and the study's other uncertainties in it?

For each scenario of the design a path of yearly market states is drawn from the policy's
transition matrix (normal in the first year, as :func:`~critmin.scenarios.sweep.dp.simulate`
starts), from ``SeedSequence(study seed, spawn_key=(2, scenario id))``: every rule of a
scenario meets the same path, whatever the number of workers. The sample's scenario is the
base with, for each disrupted year, that state's shocks moved to the year, and for each year
the rule's stock change at the stock's node: a release is a zero-cost supply block over the
year's months, a purchase a must-buy bid, as in the DP's own market runs
(:func:`~critmin.scenarios.sweep.dp.market_markov`). So a sample is an ordinary scenario:
``critmin sweep --export-sample`` prints it and ``critmin run`` reproduces it.

Its cost (``stockpile_cost_usd``) is the DP's period cost summed over the path's years with
the DP's discount factor (the year of ``year_start`` undiscounted): the region's buyers'
surplus lost (the purchase bid left out), plus what the stock pays for purchases less what
it receives for releases at the node's monthly price, plus storage of each year's level;
the stock left at the end is credited at its book value (the average price paid for it),
discounted from the last year: holding stock at the end costs its interest and storage, and
gains nothing from where the last month's price happens to be. The level is what cleared
(a must-buy bid and a zero-cost release clear whole unless the market is degenerate).
The buyers' surplus is counted in full, not against a no-change year as in the DP, so the
figure is large; differences between rules on the same scenario are what it is for, and the
summary gives them (:func:`compare_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from critmin.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: the table column of the rule a sample plays (a policy's value, like a grid lever's)
RULE_COLUMN = "stockpile_rule"
#: the rules a study can compare; ``no_stockpile`` (never buy) is the reference of the summary
RULES = ("optimal", "release_on_ban", "hold_60_days", "iea_pro_rata", "no_stockpile")
#: the scalar outcomes a study with ``stockpile_rules`` gets (docs/sweeps.md)
STOCK_METRICS = ("stockpile_cost_usd", "stock_end_t", "stock_released_t", "disrupted_years")
#: the names of the stock's blocks in a sample's scenario (found by name in the compiled chain)
PURCHASE_NAME = "critmin stockpile rule purchase"
RELEASE_NAME = "critmin stockpile rule release"


@dataclass(frozen=True)
class StockRules:
    """A solved policy file: what each sample needs to play a rule, and what the DP said."""

    policy_source: str
    policy_name: str
    mineral: str
    region: str
    product: str
    levels_t: tuple[float, ...]
    storage_usd_per_t_year: float
    purchase_wtp_usd_per_t: float
    discount: float  # per year
    year_start: str
    states: tuple[str, ...]  # "normal" first
    state_shocks: tuple[tuple[dict[str, Any], ...], ...]  # per state, () for normal
    transition: FloatArray  # (n_states, n_states)
    actions: dict[str, IntArray]  # rule -> (levels, states) index of the next level
    #: the DP's expected cost of each rule (the mean of V over all states, as policy.json)
    dp_expected_cost_usd: dict[str, float] = field(default_factory=dict)
    #: the DP's V(empty stock, normal) of each rule: where every sampled path starts
    dp_value_empty_normal_usd: dict[str, float] = field(default_factory=dict)

    def state_path(self, seed: int, scenario_id: int, years: int) -> list[int]:
        """The yearly states of a scenario: normal first, then the transition matrix, from
        ``SeedSequence(seed, spawn_key=(2, scenario_id))`` (spawn key 0 draws the design's
        points and 1 the samples' own seeds: :mod:`critmin.scenarios.sweep.design`)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, scenario_id)))
        u = rng.random(years)
        cum = np.cumsum(self.transition, axis=1)
        path = [0]
        for t in range(1, years):
            nxt = int((u[t] > cum[path[-1]]).sum())
            path.append(min(nxt, len(self.states) - 1))
        return path[:years]

    def levels_on(self, rule: str, path: Sequence[int]) -> list[int]:
        """The level index held through each year of ``path`` (the stock starts empty)."""
        action = self.actions[rule]
        level, out = 0, []
        for state in path:
            level = int(action[level, state])
            out.append(level)
        return out


def prepare(
    section: Any, base_dir: str, on_run: Callable[[int, int], None] | None = None
) -> StockRules:
    """Load and solve the policy file a study's ``stockpile_rules`` section names (the DP's
    market runs: a few seconds to tens of seconds, ``on_run`` reports them)."""
    from critmin.scenarios.sweep.dp import evaluate_policy, market_rules, solve_lp
    from critmin.scenarios.sweep.dp_file import fill_index, load_policy_file, market_model

    loaded = load_policy_file(Path(base_dir) / section.policy)
    spec = loaded.spec
    st = spec.stockpile
    model = market_model(loaded, on_run)
    simple, _ = market_rules(model, fill_index(loaded), spec.rules.hold_days)
    optimal = solve_lp(model)
    n_levels, n_states = optimal.action.shape
    actions = {
        "optimal": optimal.action,
        **simple,
        "no_stockpile": np.zeros((n_levels, n_states), dtype=np.int64),
    }
    expected, empty = {}, {}
    for name, action in actions.items():
        pol = optimal if name == "optimal" else evaluate_policy(model, action)
        expected[name] = float(pol.expected_cost)
        empty[name] = float(pol.value[0, 0])
    return StockRules(
        policy_source=str(section.policy),
        policy_name=spec.name,
        mineral=loaded.mineral,
        region=st.region,
        product=st.product,
        levels_t=tuple(float(x) for x in st.levels_t),
        storage_usd_per_t_year=st.storage_usd_per_t_year,
        purchase_wtp_usd_per_t=st.purchase_wtp_usd_per_t,
        discount=spec.discount,
        year_start=loaded.year_start,
        states=("normal", *loaded.states),
        state_shocks=((), *(tuple(s) for s in loaded.states.values())),
        transition=np.asarray(loaded.transition, dtype=np.float64),
        actions={k: np.asarray(v, dtype=np.int64) for k, v in actions.items()},
        dp_expected_cost_usd=expected,
        dp_value_empty_normal_usd=empty,
    )


def path_years(rules: StockRules, end: str) -> int:
    """The years of a sample's path: from ``year_start`` to the month ``end`` (a last
    partial year counts)."""
    from critmin.periods import month_index

    return (month_index(end) - month_index(rules.year_start)) // 12 + 1


def _moved(shock: dict[str, Any], months: int) -> dict[str, Any]:
    from critmin.periods import month_index, month_label

    out = dict(shock)
    for key in ("start", "end"):
        if out.get(key):
            out[key] = month_label(month_index(str(out[key])) + months)
    return out


def apply_rule(data: dict[str, Any], rules: StockRules, rule: str, path: Sequence[int]) -> None:
    """Write a rule played on a path of yearly states into a scenario dict (in place): each
    disrupted year's shocks moved to that year, each year's stock change as a block."""
    from critmin.periods import month_index, month_label
    from critmin.scenarios.sweep.evaluate import add_shock_set

    first = month_index(rules.year_start)
    added: list[dict[str, Any]] = []
    for t, state in enumerate(path):
        added.extend(_moved(s, 12 * t) for s in rules.state_shocks[state])
    add_shock_set(data, added)
    market = next(m for m in data["markets"] if m["mineral"] == rules.mineral)
    levels = rules.levels_t
    before = 0
    for t, level in enumerate(rules.levels_on(rule, path)):
        change = levels[level] - levels[before]
        before = level
        if change == 0.0:
            continue
        window = {"start": month_label(first + 12 * t), "end": month_label(first + 12 * t + 11)}
        block = {"region": rules.region, "product": rules.product, **window}
        if change < 0:
            market["supply"] = [
                *market.get("supply", []),
                {**block, "qty_t_per_year": -change, "cost_usd_per_t": 0.0, "name": RELEASE_NAME},
            ]
        else:
            market["demand"] = [
                *market.get("demand", []),
                {
                    **block,
                    "qty_t_per_year": change,
                    "wtp_usd_per_t": rules.purchase_wtp_usd_per_t,
                    "name": PURCHASE_NAME,
                },
            ]


def stock_outcomes(rules: StockRules, runs: Sequence[Any], path: Sequence[int]) -> dict[str, float]:
    """The sample's ``STOCK_METRICS`` from its solved chains (see the module's docstring)."""
    from critmin.periods import month_index

    run = next((r for r in runs if r.cm.mineral == rules.mineral), None)
    if run is None:
        raise InputError(f"stockpile_rules: the sample has no {rules.mineral!r} chain")
    cm = run.cm
    r = cm.regions.index(rules.region)
    node = cm.node_index(rules.region, rules.product)
    purchase = np.array([n == PURCHASE_NAME for n in cm.d_name], dtype=bool)
    release = np.array([n == RELEASE_NAME for n in cm.s_name], dtype=bool)
    bids = np.flatnonzero((cm.node_region[cm.d_node] == r) & ~purchase)
    surplus = ((cm.d_wtp[bids] - run.price[:, cm.d_node[bids]]) * run.demand[:, bids]).sum(axis=1)
    bought = run.demand[:, purchase].sum(axis=1)
    released = run.supply[:, release].sum(axis=1)
    price = run.price[:, node]
    months = [month_index(m) for m in cm.month_labels()]
    first = month_index(rules.year_start)
    year = np.array([(m - first) // 12 for m in months])
    counted = year >= 0
    factor = np.where(counted, rules.discount ** np.maximum(year, 0), 0.0)
    monthly = -surplus + price * (bought - released)
    cost = float((factor * monthly).sum())
    stock = np.cumsum(np.where(counted, bought - released, 0.0))
    for t in range(int(year.max()) + 1 if counted.any() else 0):
        in_year = np.flatnonzero(year == t)
        # storage of the level the year's change reached, for the year (the DP's charge);
        # a last partial year pays for its months
        cost += (
            rules.discount**t
            * rules.storage_usd_per_t_year
            * stock[in_year[-1]]
            * len(in_year)
            / 12
        )
    # cleared flows add up to the level up to rounding (24999.999999999975 t): kept to a
    # micro-tonne, +0.0 turning a -0.0 into 0
    end_t = round(float(stock[-1]), 6) + 0.0 if len(stock) else 0.0
    paid_t = float(bought[counted].sum())
    if len(stock) and paid_t > 0:
        # the stock left is credited at its book value (the average price paid for it), not
        # at the last month's price: a growing market can end at its demand curves' ceiling
        book = float((price * bought)[counted].sum()) / paid_t
        cost -= rules.discount ** max(int(year[-1]), 0) * end_t * book
    return {
        "stockpile_cost_usd": cost,
        "stock_end_t": end_t,
        "stock_released_t": float(released[counted].sum()),
        "disrupted_years": float(sum(1 for s in path if s != 0)),
    }


def compare_rules(
    table: Any, rules: StockRules, seed: int, levers: Sequence[str] = (), n_boot: int = 1000
) -> dict[str, Any]:
    """Each rule against the optimal one and against no stock on the same samples: the mean
    paired difference of ``stockpile_cost_usd`` with a bootstrap 95 % interval (resampling
    pairs, seeded), how often the rule cost less than the optimal one, and the DP's own
    figures beside them. A pair is a scenario under one value of each of ``levers`` (the
    study's other levers); pairs where either sample failed are left out."""
    ok = table[table["status"] == "ok"]
    if RULE_COLUMN not in ok.columns or not len(ok):
        return {}
    wide = ok.pivot_table(
        index=["scenario_id", *levers],
        columns=RULE_COLUMN,
        values="stockpile_cost_usd",
        aggfunc="first",
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    out: dict[str, Any] = {
        "policy_file": rules.policy_source,
        "policy": rules.policy_name,
        "stock": {"mineral": rules.mineral, "region": rules.region, "product": rules.product},
        "levels_t": list(rules.levels_t),
        "states": list(rules.states),
        "discount_rate": 1.0 / rules.discount - 1.0,
        "year_start": rules.year_start,
        "rules": [],
    }
    for name in wide.columns:
        entry: dict[str, Any] = {
            "rule": name,
            "pairs": int(wide[name].notna().sum()),
            "mean_cost_usd": float(wide[name].mean()),
            "dp_expected_cost_usd": rules.dp_expected_cost_usd.get(name),
            "dp_value_empty_normal_usd": rules.dp_value_empty_normal_usd.get(name),
        }
        for ref, label in (("optimal", "vs_optimal"), ("no_stockpile", "vs_no_stockpile")):
            if ref not in wide.columns or ref == name:
                continue
            diff = (wide[name] - wide[ref]).dropna().to_numpy(dtype=np.float64)
            entry[label] = _paired(diff, rng, n_boot)
        if "optimal" in wide.columns and name != "optimal":
            both = wide[[name, "optimal"]].dropna()
            entry["share_cheaper_than_optimal"] = (
                float((both[name] < both["optimal"]).mean()) if len(both) else math.nan
            )
        out["rules"].append(entry)
    order = {r: i for i, r in enumerate(RULES)}
    out["rules"].sort(key=lambda e: order.get(e["rule"], len(order)))
    return out


def _paired(diff: FloatArray, rng: np.random.Generator, n_boot: int) -> dict[str, float]:
    """Mean of paired differences (usd) with a percentile-bootstrap 95 % interval."""
    if not len(diff):
        return {"mean_usd": math.nan, "ci95_low_usd": math.nan, "ci95_high_usd": math.nan, "n": 0}
    means = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(axis=1)
    return {
        "mean_usd": float(diff.mean()),
        "ci95_low_usd": float(np.percentile(means, 2.5)),
        "ci95_high_usd": float(np.percentile(means, 97.5)),
        "n": len(diff),
    }
