"""``critmin run --time-limit-s``: a valid but huge model is stopped, not run for hours (issue 13).

HiGHS had no time limit: a scenario within every per-field bound (100 years, many regions,
all routes) could hold the machine for as long as it took. The limit is a wall-clock budget
for all solves of the run; the clearing LP refuses to start a solve once it is spent and
passes what is left to HiGHS as its ``time_limit`` option, so one long solve stops too.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from critmin.bounds import TimeLimit, time_limit
from critmin.errors import InputError, SolverError
from critmin.market.compile import compile_market
from critmin.market.engine import run_market
from critmin.market.spec import Market
from tests.hostile.harness import run_in_process

# ISO3 codes of 20 producing and consuming countries (any region name would do)
REGIONS = "AUS CHN JPN USA CAN BRA CHL ARG PER MEX ZAF COD IND IDN MYS VNM KOR DEU FRA GBR"


def huge_scenario(path: Path, n_regions: int = 20, years: int = 100) -> Path:
    """A valid scenario at the horizon limit: ``n_regions`` regions with three supply blocks
    each, a growing bid each (so no month repeats the last one's answer) and every route
    between them; 1,200 months of a 380-route LP."""
    codes = REGIONS.split()[:n_regions]
    supply = [
        {"region": c, "qty_t": 50 + 7 * ((3 * i + k) % 11), "cost_usd_per_t": 30000 + 997 * k}
        for i, c in enumerate(codes)
        for k in range(3)
    ]
    demand = [
        {"region": c, "qty_t": 80 + 5 * (i % 9), "wtp_usd_per_t": 90000 + 1000 * (i % 17)}
        | {"growth_per_year": 0.01 + 0.003 * (i % 7)}
        for i, c in enumerate(codes)
    ]
    routes = [
        {"from": a, "to": b, "cost_usd_per_t": 500 + 37 * ((5 * i + 3 * j) % 29)}
        for i, a in enumerate(codes)
        for j, b in enumerate(codes)
        if a != b
    ]
    doc = {
        "name": "huge valid model",
        "months": {"start": "2026-01", "end": f"{2025 + years}-12"},
        "markets": [
            {"mineral": "ndpr_oxide", "supply": supply, "demand": demand, "routes": routes}
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_huge_valid_model_stops_at_the_time_limit_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario passes ``validate``; every HiGHS run is made 20 ms slower, so 1,200 months
    of a 380-route LP cannot be solved in the 1 s budget, while reading and compiling it
    take ~0.15 s: the run stops in the solve stage with the solver's one line naming the
    file, the chain and the month, exit 2, and the previous output set stays as it was."""
    from critmin.market.lp import ClearingLP

    scenario = huge_scenario(tmp_path / "huge.yaml")
    code, out, err = run_in_process(["validate", str(scenario)])
    assert code == 0, err
    assert "ok" in out
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "summary.json").write_text('{"old": true}', encoding="utf-8")
    highs_run = ClearingLP._run

    def slow_run(self: ClearingLP, *args: Any) -> Any:
        time.sleep(0.02)
        return highs_run(self, *args)

    monkeypatch.setattr(ClearingLP, "_run", slow_run)
    code, _out, err = run_in_process(
        ["run", str(scenario), "--out", str(folder), "--time-limit-s", "1"]
    )
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert re.fullmatch(
        rf"critmin: error: {re.escape(str(scenario))}: chain 'ndpr_oxide', month \d{{4}}-\d\d, "
        r"instrument iteration 1: solver time limit of 1 s reached \(--time-limit-s\): .*",
        lines[0],
    ), lines[0]
    assert sorted(p.name for p in folder.iterdir()) == ["summary.json"]
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.yaml", "out"]  # no staging


MARKET = """
mineral: x
supply: [{region: EXP, qty_t: 200, cost_usd_per_t: 10}]
demand: [{region: IMP, qty_t: 100, wtp_usd_per_t: 100, growth_per_year: 0.5}]
routes: [{from: EXP, to: IMP, cost_usd_per_t: 5}]
"""
MONTHS = ("2026-01", "2026-02", "2026-03")


def test_highs_is_given_what_is_left_and_its_time_limit_status_is_named() -> None:
    """A clock frozen 1 microsecond before the end of the budget: the LP may start the solve
    (time is left), so the stop can only come from HiGHS's own ``time_limit`` (status
    ``kTimeLimit``), which is reported as the time limit, naming chain and month; with a
    second left, the same solve is optimal."""
    cm = compile_market(Market.model_validate(yaml.safe_load(MARKET)), MONTHS)
    with (
        time_limit(TimeLimit(1e-6, clock=lambda: 100.0)),
        pytest.raises(SolverError, match="solver time limit of 1e-06 s reached") as exc,
    ):
        run_market(cm)
    assert (exc.value.chain, exc.value.month, exc.value.iteration) == ("x", "2026-01", 1)
    with time_limit(TimeLimit(1.0, clock=lambda: 100.0)):
        assert run_market(cm).converged.all()


def test_a_budget_spent_between_months_stops_before_the_next_solve() -> None:
    """The budget runs out while the first month is reported (the ``on_month`` callback moves
    the clock 10 s on): the second month is refused before it is solved, and named."""
    now = [0.0]
    cm = compile_market(Market.model_validate(yaml.safe_load(MARKET)), MONTHS)

    def later(_month: str) -> None:
        now[0] += 10.0

    with (
        time_limit(TimeLimit(5.0, clock=lambda: now[0])),
        pytest.raises(SolverError, match="time limit of 5 s") as exc,
    ):
        run_market(cm, on_month=later)
    assert exc.value.month == "2026-02"


def test_no_limit_and_default_limit_give_the_same_answer() -> None:
    """0 means no limit; the limit changes when a run stops, never what it computes."""
    cm = compile_market(Market.model_validate(yaml.safe_load(MARKET)), MONTHS)
    with time_limit(0):
        free = run_market(cm)
    with time_limit(3600):
        limited = run_market(cm)
    assert (free.flow == limited.flow).all()


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e8", "abc"])
def test_the_option_is_checked_before_anything_runs(value: str, tmp_path: Path) -> None:
    """Out of 0..1e7 (NaN, inf, negative) or not a number: one line naming the option."""
    code, _out, err = run_in_process(
        ["run", "two_regions", "--out", str(tmp_path / "o"), "--time-limit-s", value]
    )
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "--time-limit-s" in err
    assert not (tmp_path / "o").exists()


def test_time_limit_refuses_a_nan_budget_from_the_api() -> None:
    with (
        pytest.raises(InputError, match=r"--time-limit-s: expected 0 .* got nan"),
        time_limit(float("nan")),
    ):
        pass
