"""``python -m benchmarks``: run every benchmark module found in this package.

Each module ``bench_*.py`` exposes ``main() -> dict``; its result is printed and
appended to ``out/bench/results.jsonl``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("bench_"))
    wanted = set(sys.argv[1:])
    out = Path("out/bench")
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if wanted and name not in wanted:
            continue
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", flush=True)
        result = mod.main()
        print(json.dumps(result, indent=2), flush=True)
        with (out / "results.jsonl").open("a") as fh:
            fh.write(json.dumps({"bench": name, **result}) + "\n")


__path__ = [str(Path(__file__).parent)]

if __name__ == "__main__":
    main()
