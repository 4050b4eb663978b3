"""Instruments register themselves: entry points, a base class with the lifecycle's defaults,
and the one month type for their dates."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import critmin
from critmin.errors import InputError
from critmin.market import DemandBlock, Market, Route, SupplyBlock
from critmin.policy.instrument import ENTRY_POINT_GROUP, REGISTRY, discover

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
from typing import Literal

from critmin.policy.instrument import BaseInstrument, InstrumentSpec


class DemandCutSpec(InstrumentSpec):
    kind: Literal["demand_cut"] = "demand_cut"
    factor: float

    def build(self) -> "DemandCut":
        return DemandCut(self)


class DemandCut(BaseInstrument):
    """Only before_solve is written; the rest are BaseInstrument's defaults."""

    def __init__(self, spec: DemandCutSpec) -> None:
        super().__init__(spec.name or "demand_cut")
        self.factor = spec.factor

    def before_solve(self, month, view):
        view.scale_demand(self.factor)
        self.record(month, "ndpr_oxide", "JPN", "demand_cut_factor", self.factor, "share")
'''


@pytest.fixture
def plugin_package(tmp_path: Path) -> Iterator[None]:
    """A third-party package as pip installs it: a module and a dist-info folder whose
    entry_points.txt declares one instrument kind (critmin's code lists nothing)."""
    (tmp_path / "critmin_demand_cut.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "critmin_demand_cut-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: critmin-demand-cut\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ndemand_cut = critmin_demand_cut:DemandCutSpec\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("critmin_demand_cut", None)
        REGISTRY.pop("demand_cut", None)


def test_critmin_declares_every_registered_kind_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    declared = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert (
        set(discover())
        >= declared
        >= {
            "import_tariff",
            "forge_levy",
            "topup_floor",
            "purchase_floor",
            "offtake",
            "stockpile",
        }
    )


def test_an_installed_plugin_instrument_runs_with_the_base_class_defaults(
    plugin_package: None,
) -> None:
    """Demand 150 t cut to 0.5 x 150 = 75 t: Japan takes 75 t of China's 300 t at China's
    cost + freight (42 000 $/t), nothing is unserved (the cut bids are gone, not short)."""
    assert "demand_cut" in discover()
    market = Market(
        mineral="ndpr_oxide",
        supply=[SupplyBlock(region="CHN", qty_t=300, cost_usd_per_t=40_000)],
        demand=[DemandBlock(region="JPN", qty_t=150, wtp_usd_per_t=200_000)],
        routes=[Route(from_="CHN", to="JPN", cost_usd_per_t=2_000)],
    )
    scenario = critmin.Scenario(
        name="cut",
        months=critmin.Months(start="2026-01", end="2026-01"),
        markets=[market],
        instruments=[{"kind": "demand_cut", "factor": 0.5}],
    )
    result = critmin.run(scenario)
    assert result.variable("consumption")["value"].sum() == pytest.approx(75)
    assert result.variable("demand_cut_factor")["value"].tolist() == [0.5]


def test_instrument_dates_use_the_month_type(tmp_path: Path) -> None:
    bad = tmp_path / "tariff.yaml"
    bad.write_text(
        "name: t\nbase: builtin:ndpr_baseline\ninstruments:\n"
        "  - kind: import_tariff\n    specific_usd_per_t: 1000\n    start: July 2026\n"
    )
    with pytest.raises(
        InputError,
        match=r"tariff\.yaml:6 field 'instruments\[0\]\.start'.*"
        r"expected a month YYYY-MM",
    ):
        critmin.validate(bad)


def _route_cap_kind() -> type:
    """An instrument kind defined the way a user writes one: a subclass, nothing else (no
    entry point, no decorator, no list)."""
    from typing import Literal

    from critmin.policy.instrument import BaseInstrument, InstrumentSpec, MonthView

    class RouteCap(BaseInstrument):
        def __init__(self, spec: RouteCapSpec) -> None:
            super().__init__(spec.name or "route_cap_test")
            self.spec = spec

        def before_solve(self, month: str, view: MonthView) -> None:  # noqa: ARG002  (the same cap every month)
            view.cap_routes(self.spec.cap_t, exporters=[self.spec.exporter])

    class RouteCapSpec(InstrumentSpec):
        kind: Literal["route_cap_test"] = "route_cap_test"
        exporter: str
        cap_t: float

        def build(self) -> RouteCap:
            return RouteCap(self)

    return RouteCapSpec


@pytest.fixture
def route_cap() -> Iterator[type]:
    try:
        yield _route_cap_kind()
    finally:
        REGISTRY.pop("route_cap_test", None)


def test_a_subclass_is_a_kind_scenario_files_can_use(route_cap: type, tmp_path: Path) -> None:
    """China's exports capped at 50 t a month: Japan (150 t bid at 200 000 $/t) gets 50 t,
    100 t stay unserved each month and Japan's price is its own bid (the unserved bid sets
    it), 200 000 $/t; China's price stays its cost, 40 000 $/t."""
    assert REGISTRY["route_cap_test"] is route_cap
    scenario = tmp_path / "cap.yaml"
    scenario.write_text(
        textwrap.dedent(
            """\
            name: cap
            months: {start: 2026-01, end: 2026-02}
            markets:
              - mineral: ndpr_oxide
                supply: [{region: CHN, qty_t: 300, cost_usd_per_t: 40000}]
                demand: [{region: JPN, qty_t: 150, wtp_usd_per_t: 200000}]
                routes: [{from: CHN, to: JPN, cost_usd_per_t: 2000}]
            instruments:
              - {kind: route_cap_test, exporter: CHN, cap_t: 50}
            """
        ),
        encoding="utf-8",
    )
    assert critmin.validate(scenario).line()
    result = critmin.run(str(scenario))
    assert result.flows()["value"].tolist() == pytest.approx([50, 50])
    assert result.metrics("cap").physical_shortage_t_by_product["ndpr_oxide"] == pytest.approx(200)
    prices = result.prices("cap").set_index(["month", "region"])["value"]
    assert prices[("2026-01", "JPN")] == pytest.approx(200_000)
    assert prices[("2026-02", "CHN")] == pytest.approx(40_000)


def test_two_classes_cannot_claim_one_kind(route_cap: type) -> None:
    from typing import Literal

    from critmin.policy.instrument import InstrumentSpec

    with pytest.raises(TypeError, match="'route_cap_test' is declared by both"):

        class Impostor(InstrumentSpec):
            kind: Literal["route_cap_test"] = "route_cap_test"

    assert REGISTRY["route_cap_test"] is route_cap


def test_a_base_without_a_kind_is_not_registered() -> None:
    from critmin.policy.instrument import InstrumentSpec

    before = dict(REGISTRY)

    class Intermediate(InstrumentSpec):
        shared_option: float = 1.0

    assert before == REGISTRY
    assert Intermediate.model_fields["shared_option"].default == 1.0


@pytest.fixture
def restless() -> Iterator[None]:
    from critmin.policy.instrument import BaseInstrument, InstrumentSpec

    class Restless(BaseInstrument):
        def is_converged(self, month: str, result: object) -> bool:  # noqa: ARG002
            return False  # never settles: every month hits the engine's cap

    class RestlessSpec(InstrumentSpec):
        kind: str = "restless_test"

        def build(self) -> Restless:
            return Restless("restless_test")

    try:
        yield
    finally:
        REGISTRY.pop("restless_test", None)


def test_months_at_the_iteration_cap_say_so_in_the_summary(restless: None) -> None:
    """An instrument that never settles: both months stop at the engine's cap of solves and
    are ``iteration_limit`` in ``solve_status`` (and counted in ``non_converged_months``)."""
    market = Market(
        mineral="ndpr_oxide",
        supply=[SupplyBlock(region="CHN", qty_t=300, cost_usd_per_t=40_000)],
        demand=[DemandBlock(region="JPN", qty_t=150, wtp_usd_per_t=200_000)],
        routes=[Route(from_="CHN", to="JPN", cost_usd_per_t=2_000)],
    )
    scenario = critmin.Scenario(
        name="restless",
        months=critmin.Months(start="2026-01", end="2026-02"),
        markets=[market],
        instruments=[{"kind": "restless_test"}],
    )
    result = critmin.run(scenario)
    outcome = result.scenario("restless")
    assert outcome.solve_status == {"ndpr_oxide": ("iteration_limit", "iteration_limit")}
    assert result.summary["scenarios"][0]["solve_status"] == {"ndpr_oxide": {"iteration_limit": 2}}
    assert outcome.metrics.non_converged_months == 2
