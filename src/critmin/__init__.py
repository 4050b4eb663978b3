"""critmin: the managed critical-minerals market, modelled and operated.

Layers (see docs/architecture.md): catalog -> policy -> engines (market, contracts,
stockpile, trace) -> scenarios -> reports -> the faces (:mod:`critmin.facade`, cli).

The public Python API (docs/api.md) is importable from here; names resolve on first use
(PEP 562), so ``import critmin`` and ``critmin --help`` do not load pandas, HiGHS or SciPy::

    import critmin
    result = critmin.run("ndpr_baseline", "ndpr_managed_market")
    result.metrics("managed_market").physical_shortage_t_by_product["ndfeb_magnet"]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_WHERE = {
    # scenarios and runs
    "load": "critmin.facade",
    "run": "critmin.facade",
    "write": "critmin.facade",
    "validate": "critmin.facade",
    "ScenarioCheck": "critmin.facade",
    "Study": "critmin.scenarios.study",
    "StudyResult": "critmin.scenarios.outcome",
    "ScenarioOutcome": "critmin.scenarios.outcome",
    "Scenario": "critmin.scenarios.spec",
    "Months": "critmin.scenarios.spec",
    "BASELINE_SCENARIO": "critmin.scenarios.runner",
    "compare": "critmin.scenarios.compare",
    "BaselineComparison": "critmin.scenarios.compare",
    "Market": "critmin.market.spec",
    "HeadlineMetrics": "critmin.scenarios.headline",
    "MonthSolve": "critmin.market.engine",
    "MonthStatus": "critmin.market.engine",
    "read_series": "critmin.market.results",
    "join_solve_status": "critmin.scenarios.outcome",
    "VARIABLES": "critmin.market.results",
    # uncertainty sweeps
    "sweep": "critmin.facade",
    "SweepResult": "critmin.facade",
    "load_sweep": "critmin.scenarios.sweep",
    # the stockpile policy (stochastic DP)
    "load_stockpile_policy": "critmin.scenarios.sweep.dp_file",
    "solve_stockpile_policy": "critmin.scenarios.sweep.dp_file",
    "stockpile_policy_frame": "critmin.facade",
    "write_stockpile_policy": "critmin.facade",
    # risk and exposure (catalog)
    "risk_record": "critmin.catalog.risk",
    "risk_records": "critmin.catalog.risk",
    "RiskRecord": "critmin.catalog.risk",
    "eu_crm_records": "critmin.catalog.eu_crm",
    "EuCrmRecord": "critmin.catalog.eu_crm",
    "exposure": "critmin.catalog.exposure",
    "load_bom": "critmin.catalog.exposure",
    "Exposure": "critmin.catalog.exposure",
    "get_bloc": "critmin.catalog.blocs",
    # the FORGE levy on one declaration
    "assess_levy": "critmin.policy.assessment",
    "parameter_in_force": "critmin.policy.assessment",
    "LEVY_BLOC": "critmin.policy.assessment",
    "month_end": "critmin.policy.parameters",
    # contracts
    "load_contract": "critmin.contracts",
    "read_prices": "critmin.contracts",
    "settle": "critmin.contracts",
    "value_contract": "critmin.contracts",
    "OfftakeContract": "critmin.contracts.spec",
    "PriceSeries": "critmin.contracts.prices",
    "read_forward_curve": "critmin.contracts.prices",
    # stockpile
    "load_stockpile": "critmin.stockpile",
    "load_signals": "critmin.stockpile",
    "simulate_stockpile": "critmin.stockpile",
    "Ledger": "critmin.stockpile.ledger",
    "EntryKind": "critmin.stockpile.ledger",
    "LedgerError": "critmin.stockpile.ledger",
    "Lots": "critmin.stockpile.ledger",
    "CASH_ACCOUNT": "critmin.stockpile.ledger",
    "t_to_kg": "critmin.stockpile.ledger",
    "usd_to_cents": "critmin.stockpile.ledger",
    "allocate_kg": "critmin.stockpile.state",
    "value_cents": "critmin.stockpile.state",
    # trace
    "read_epcis": "critmin.trace.epcis",
    "from_epcis": "critmin.trace.epcis",
    "write_epcis": "critmin.trace.epcis",
    "check_mass_balance": "critmin.trace.massbalance",
    "load_rules": "critmin.trace.rules",
    "read_template": "critmin.trace.templates",
    "LotOrigin": "critmin.trace.origin",
    "compose_lot_origin": "critmin.trace.origin",
    "extend_lot_origins": "critmin.trace.origin",
    "RuleSet": "critmin.trace.rules",
    "evaluate_rules": "critmin.trace.rules",
    "Recipe": "critmin.trace.origin",
    "lot_recipes": "critmin.trace.origin",
    "in_topological_order": "critmin.trace.origin",
    "SupplyNetwork": "critmin.trace.model",
    "Extraction": "critmin.trace.model",
    "Transformation": "critmin.trace.model",
    "Aggregation": "critmin.trace.model",
    "Shipment": "critmin.trace.model",
}
#: public names whose name in their module differs
_RENAMED = {
    "load_stockpile": "load_spec",
    "simulate_stockpile": "simulate",
    "evaluate_rules": "evaluate",
    "load_sweep": "load_study_file",
    "load_stockpile_policy": "load_policy_file",
    "solve_stockpile_policy": "solve_policy_file",
    "stockpile_policy_frame": "policy_frame",
    "write_stockpile_policy": "write_policy",
}

__all__ = [
    "BASELINE_SCENARIO",
    "CASH_ACCOUNT",
    "LEVY_BLOC",
    "VARIABLES",
    "Aggregation",
    "BaselineComparison",
    "EntryKind",
    "EuCrmRecord",
    "Exposure",
    "Extraction",
    "HeadlineMetrics",
    "Ledger",
    "LedgerError",
    "LotOrigin",
    "Lots",
    "Market",
    "MonthSolve",
    "MonthStatus",
    "Months",
    "OfftakeContract",
    "PriceSeries",
    "Recipe",
    "RiskRecord",
    "RuleSet",
    "Scenario",
    "ScenarioCheck",
    "ScenarioOutcome",
    "Shipment",
    "Study",
    "StudyResult",
    "SupplyNetwork",
    "SweepResult",
    "Transformation",
    "__version__",
    "allocate_kg",
    "assess_levy",
    "check_mass_balance",
    "compare",
    "compose_lot_origin",
    "eu_crm_records",
    "evaluate_rules",
    "exposure",
    "extend_lot_origins",
    "from_epcis",
    "get_bloc",
    "in_topological_order",
    "join_solve_status",
    "load",
    "load_bom",
    "load_contract",
    "load_rules",
    "load_signals",
    "load_stockpile",
    "load_stockpile_policy",
    "load_sweep",
    "lot_recipes",
    "month_end",
    "parameter_in_force",
    "read_epcis",
    "read_forward_curve",
    "read_prices",
    "read_series",
    "read_template",
    "risk_record",
    "risk_records",
    "run",
    "settle",
    "simulate_stockpile",
    "solve_stockpile_policy",
    "stockpile_policy_frame",
    "sweep",
    "t_to_kg",
    "usd_to_cents",
    "validate",
    "value_cents",
    "value_contract",
    "write",
    "write_epcis",
    "write_stockpile_policy",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'critmin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:  # what type checkers and IDEs see: the eager imports
    from critmin.catalog.blocs import get_bloc
    from critmin.catalog.eu_crm import EuCrmRecord, eu_crm_records
    from critmin.catalog.exposure import Exposure, exposure, load_bom
    from critmin.catalog.risk import RiskRecord, risk_record, risk_records
    from critmin.contracts import load_contract, read_prices, settle, value_contract
    from critmin.contracts.prices import PriceSeries, read_forward_curve
    from critmin.contracts.spec import OfftakeContract
    from critmin.facade import ScenarioCheck, SweepResult, load, run, sweep, validate, write
    from critmin.facade import policy_frame as stockpile_policy_frame
    from critmin.facade import write_policy as write_stockpile_policy
    from critmin.market.engine import MonthSolve, MonthStatus
    from critmin.market.results import VARIABLES, read_series
    from critmin.market.spec import Market
    from critmin.policy.assessment import LEVY_BLOC, assess_levy, parameter_in_force
    from critmin.policy.parameters import month_end
    from critmin.scenarios.compare import BaselineComparison, compare
    from critmin.scenarios.headline import HeadlineMetrics
    from critmin.scenarios.outcome import ScenarioOutcome, StudyResult, join_solve_status
    from critmin.scenarios.runner import BASELINE_SCENARIO
    from critmin.scenarios.spec import Months, Scenario
    from critmin.scenarios.study import Study
    from critmin.scenarios.sweep import load_study_file as load_sweep
    from critmin.scenarios.sweep.dp_file import load_policy_file as load_stockpile_policy
    from critmin.scenarios.sweep.dp_file import solve_policy_file as solve_stockpile_policy
    from critmin.stockpile import load_signals
    from critmin.stockpile import load_spec as load_stockpile
    from critmin.stockpile import simulate as simulate_stockpile
    from critmin.stockpile.ledger import (
        CASH_ACCOUNT,
        EntryKind,
        Ledger,
        LedgerError,
        Lots,
        t_to_kg,
        usd_to_cents,
    )
    from critmin.stockpile.state import allocate_kg, value_cents
    from critmin.trace.epcis import from_epcis, read_epcis, write_epcis
    from critmin.trace.massbalance import check_mass_balance
    from critmin.trace.model import (
        Aggregation,
        Extraction,
        Shipment,
        SupplyNetwork,
        Transformation,
    )
    from critmin.trace.origin import (
        LotOrigin,
        Recipe,
        compose_lot_origin,
        extend_lot_origins,
        in_topological_order,
        lot_recipes,
    )
    from critmin.trace.rules import RuleSet, load_rules
    from critmin.trace.rules import evaluate as evaluate_rules
    from critmin.trace.templates import read_template
