"""Golden comparison figures: ``compare_to_baseline`` of the default study (three built-in
scenarios), against the free-trade baseline with catalog and with overridden FORGE
membership, and against the managed market. Stored as ``tests/golden/compare_default_study.json``;
``python -m tests.golden --update`` rewrites it with the array files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PATH = HERE / "compare_default_study.json"
REL = 1e-9
ABS = 1e-6  # differences of two equal sums (trade diversion) sit near 0


def figures() -> dict[str, Any]:
    from critmin.scenarios.compare import compare_to_baseline
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.runner import run_study

    series, _ = run_study(load_study([]))
    overrides = {"CHN": True, "USA": False, "ZZZ": True}
    out = {
        "free_trade_catalog": compare_to_baseline(series, "baseline_free_trade"),
        "free_trade_overrides": compare_to_baseline(
            series, "baseline_free_trade", region_membership=overrides
        ),
        "managed_market": compare_to_baseline(series, "managed_market"),
    }
    # through JSON, as stored (tuples become lists, keys strings)
    result: dict[str, Any] = json.loads(json.dumps(out))
    return result


def write(now: dict[str, Any]) -> None:
    PATH.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def differences(now: dict[str, Any]) -> list[str]:
    """Where ``now`` differs from the stored figures (floats to REL/ABS, all else exactly)."""
    stored = json.loads(PATH.read_text(encoding="utf-8"))
    problems: list[str] = []
    _walk(stored, now, "", problems)
    return problems


def _walk(old: Any, new: Any, where: str, problems: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                problems.append(f"{where}/{key}: {'new' if key in new else 'missing'}")
            else:
                _walk(old[key], new[key], f"{where}/{key}", problems)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(a, b, f"{where}[{i}]", problems)
    elif isinstance(old, float) and isinstance(new, float):
        if not math.isclose(old, new, rel_tol=REL, abs_tol=ABS):
            problems.append(f"{where}: {old!r} stored, {new!r} now")
    elif old != new or type(old) is not type(new):
        problems.append(f"{where}: {old!r} stored, {new!r} now")
