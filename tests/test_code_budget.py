"""Function length budget (issue 9): no function over 80 lines without a reason beside it.

A longer function states why on its ``def`` line or the line above, as a comment starting
``# long:``. Functions that were longer before the budget are listed in :data:`KNOWN` with
their length then: they may shrink, not grow (split them and remove the entry). Branch,
statement and return counts are ruff's (``[tool.ruff.lint.pylint]`` in pyproject.toml).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "critmin"
LIMIT = 80

#: (module path under src/critmin, function) -> lines when the budget was introduced
KNOWN = {
    ("catalog/exposure.py", "compute_exposure"): 90,
    ("catalog/risk.py", "risk_record"): 82,
    ("cli/contract.py", "settle_cmd"): 81,
    ("cli/contract.py", "value_cmd"): 87,
    ("cli/exposure.py", "exposure_cmd"): 83,
    ("reports/figures.py", "prices_figure"): 81,
    ("reports/testing.py", "_scenario"): 96,
    ("scenarios/runner.py", "summary_dict"): 88,
    ("stockpile/simulate.py", "simulate"): 115,
    ("trace/epcis.py", "to_epcis"): 100,
    ("trace/epcis.py", "from_epcis"): 137,
    ("trace/examples.py", "magnet_chain"): 157,
    ("trace/generate.py", "random_network"): 85,
    ("trace/massbalance.py", "check_mass_balance"): 137,
    ("trace/rules.py", "evaluate"): 107,
}


def _long_functions() -> list[tuple[str, str, int, bool]]:
    """(module, function, lines, has a ``# long:`` reason) of every function over LIMIT."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > LIMIT:
                    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                    near = lines[max(first - 2, 0) : node.lineno]
                    reason = any("# long:" in line for line in near)
                    rel = path.relative_to(SRC).as_posix()
                    out.append((rel, node.name, n, reason))
    return out


def test_no_function_over_80_lines_without_a_reason() -> None:
    problems = []
    for module, name, n, reason in _long_functions():
        known = KNOWN.get((module, name))
        if reason:
            continue
        if known is None:
            problems.append(f"{module}:{name} has {n} lines (> {LIMIT}); split it or say why")
        elif n > known:
            problems.append(f"{module}:{name} grew to {n} lines (was {known}); split it")
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_long_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter itself works: an 81-line function is found, and its ``# long:`` reason."""
    body = "\n".join(f"    x{i} = {i}" for i in range(80))
    (tmp_path / "a.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    (tmp_path / "b.py").write_text(f"# long: a table\ndef g():\n{body}\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert _long_functions() == [("a.py", "f", 81, False), ("b.py", "g", 81, True)]
