"""The parameter read tracer: summary.json lists the parameters instruments actually read.

OpenFisca records parameter access while computing; critmin does the same
(:func:`critmin.policy.parameters.trace_reads`), so the runner lists what was used without
knowing any instrument.
"""

from __future__ import annotations

import ast
from pathlib import Path

import critmin
from critmin.policy.parameters import Parameter, ParameterSet, ParameterValue, trace_reads

ROOT = Path(__file__).resolve().parents[2]


def _set() -> ParameterSet:
    values = (
        ParameterValue(start="2026-01-01", value=1.0, reference="a"),
        ParameterValue(start="2026-03-15", value=2.0, reference="b"),
    )
    return ParameterSet([Parameter(name="p", description="d", unit="t", values=values)])


def test_reads_are_recorded_per_reader_and_only_inside_the_block() -> None:
    """2026-02 resolves to the January value (in force on Feb 28); 2026-03 to the value of
    March 15 (in force on the 31st): two rows, each naming who read it."""
    params = _set()
    params.value("p", "2026-01")  # outside any block: not recorded anywhere
    with trace_reads() as reads:
        params.for_reader("floor").entry_in("p", "2026-02")
        params.for_reader("levy").value("p", "2026-03")
        with trace_reads() as inner:  # a nested block sees its own reads only
            params.for_reader("inner").value("p", "2026-02")
    rows = reads.used()
    assert [(r["from"], r["value"], r["instruments"]) for r in rows] == [
        ("2026-01-01", 1.0, ["floor"]),
        ("2026-03-15", 2.0, ["levy"]),
    ]
    assert [r["instruments"] for r in inner.used()] == [["inner"]]


def test_reform_study_lists_the_reformed_values_each_instrument_read() -> None:
    """managed_floor_130 raises the NdPr oxide floor and the FORGE reference price to 130 $/kg
    from 2027-01-01. The floor instrument reads the floor, the levy the reference price: each
    listed with both the baseline 110 and the reformed 130, under its reader only."""
    result = critmin.run(
        "ndpr_baseline", "ndpr_managed_market", ROOT / "examples/scenarios/managed_floor_130.yaml"
    )
    entry = next(s for s in result.summary["scenarios"] if s["name"] == "managed_floor_130")
    got = {
        (r["parameter"], r["from"]): (r["value"], r["instruments"])
        for r in entry["parameters_used"]
    }
    assert got[("policy.price_floor.ndpr_oxide", "2025-07-01")] == (110, ["dod_mp_floor"])
    assert got[("policy.price_floor.ndpr_oxide", "2027-01-01")] == (130, ["dod_mp_floor"])
    assert got[("forge.reference_price.ndpr_oxide", "2027-01-01")] == (130, ["forge_levy"])
    free = next(s for s in result.summary["scenarios"] if s["name"] == "baseline_free_trade")
    assert free["parameters_used"] == []  # no instrument, nothing read


def test_runner_knows_no_instrument() -> None:
    """The runner, loader and plug-in discovery import no instrument module (instruments
    are found by entry point; the comparison reads bloc membership as the levy defines it)."""
    for name in ("runner", "loader", "plugins", "study", "outcome"):
        path = ROOT / "src/critmin/scenarios" / f"{name}.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("critmin.policy.instruments"), path.name
