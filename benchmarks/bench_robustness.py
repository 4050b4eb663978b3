"""What the hostile-input defences cost (issue 13), against the code a competent user writes.

* YAML: critmin's ``parse_yaml`` (line numbers, duplicate keys, depth and alias limits) on
  every shipped scenario, against plain ``yaml.load(text, CSafeLoader)``, which has none of
  them; and how fast an alias bomb is refused (PyYAML expands it: 2.5 GB in 20 s in the issue,
  not run here).
* Output: writing the default study's three files as one :class:`~critmin.fileio.OutputSet`
  (staging folder, fsync, atomic swap) against three independent atomic file writes (what the
  runner did before), into a folder that already holds a previous set.

Medians of repeated runs in one process, alternating the two variants; the machine is shared,
so the ratio within one run is the figure to read.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def _median_pair(a: Callable[[], Any], b: Callable[[], Any], n: int) -> tuple[float, float]:
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(n):
        for f, acc in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def bench_yaml() -> dict[str, float]:
    from critmin.errors import InputError
    from critmin.yamlio import parse_yaml

    files = sorted((REPO / "src/critmin/scenarios/builtin").glob("*.yaml"))
    files += sorted((REPO / "examples/scenarios").glob("*.yaml"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def plain() -> None:
        for t in texts:
            yaml.load(t, Loader=loader)

    def critmin() -> None:
        for t in texts:
            parse_yaml(t, "s.yaml")

    base, ours = _median_pair(plain, critmin, 30)
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\n"
    t0 = time.perf_counter()
    with contextlib.suppress(InputError):
        parse_yaml(bomb, "bomb.yaml")
    refused = time.perf_counter() - t0
    return {
        "yaml_files": len(texts),
        "yaml_plain_ms": round(base * 1e3, 2),
        "yaml_critmin_ms": round(ours * 1e3, 2),
        "yaml_ratio": round(ours / base, 2),
        "alias_bomb_refused_ms": round(refused * 1e3, 3),
    }


def bench_output_set() -> dict[str, float]:
    from critmin.fileio import atomic_write, atomic_write_text
    from critmin.reports import build_report
    from critmin.scenarios.loader import load_study
    from critmin.scenarios.outcome import write_outputs
    from critmin.scenarios.runner import execute

    result = execute(load_study([]))
    series, summary = result.series, result.summary
    root = Path(tempfile.mkdtemp(prefix="critmin-bench-"))
    try:

        def per_file() -> None:
            out = root / "per_file"
            atomic_write(out / "series.parquet", lambda p: series.to_parquet(p, index=False))
            atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
            atomic_write(out / "report.html", lambda p: build_report(series, summary, p))

        def output_set() -> None:
            write_outputs(root / "set", series, summary, build_report)

        per_file()
        output_set()
        base, ours = _median_pair(per_file, output_set, 7)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "write_per_file_ms": round(base * 1e3),
        "write_output_set_ms": round(ours * 1e3),
        "write_ratio": round(ours / base, 2),
    }


def bench_time_limit() -> dict[str, float]:
    """``critmin run --time-limit-s``: the same 30-year, 20-region chain (380 routes, demand
    growing every month) solved with no limit and under the default one-hour limit, every
    month through HiGHS (``reuse_basis=False``: the limit costs something per HiGHS call
    only). CPU seconds, best of 9 alternating runs."""
    from critmin.bounds import time_limit
    from critmin.market.compile import compile_market
    from critmin.market.engine import run_market
    from critmin.scenarios.spec import Scenario
    from tests.hostile.test_time_limit import huge_scenario

    with tempfile.TemporaryDirectory() as tmp:
        path = huge_scenario(Path(tmp) / "huge.yaml", years=30)
        sc = Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    cm = compile_market(sc.markets[0], sc.month_labels())
    best = {0.0: float("inf"), 3600.0: float("inf")}
    for _ in range(9):
        for limit in (0.0, 3600.0):
            with time_limit(limit):
                t0 = time.process_time()
                run_market(cm, reuse_basis=False)
                best[limit] = min(best[limit], time.process_time() - t0)
    solves = len(cm.months)
    return {
        "solve_no_limit_ms": round(best[0.0] * 1e3, 1),
        "solve_time_limit_ms": round(best[3600.0] * 1e3, 1),
        "time_limit_us_per_solve": round((best[3600.0] - best[0.0]) / solves * 1e6, 2),
        "time_limit_ratio": round(best[3600.0] / best[0.0], 3),
    }


def main() -> dict[str, float]:
    return {**bench_yaml(), **bench_output_set(), **bench_time_limit()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
