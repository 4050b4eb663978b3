"""``python -m tests.golden [--update]``: compare today's results with the golden files, or
rewrite them (see :mod:`tests.golden`)."""

from __future__ import annotations

import sys

import numpy as np

from tests.golden import arrays, cases, compare, differences, max_abs_difference, path_of


def main(argv: list[str]) -> int:
    update = "--update" in argv
    failed = 0
    for case, loaded in cases().items():
        now = arrays(loaded)
        if update:
            np.savez_compressed(path_of(case), **now)  # type: ignore[arg-type]
            print(f"{case}: wrote {path_of(case).name} ({len(now)} arrays)")
            continue
        if not path_of(case).exists():
            print(f"{case}: no golden file (run with --update)")
            failed += 1
            continue
        problems = differences(case, now)
        worst = max_abs_difference(case, now) if not problems else float("nan")
        print(f"{case}: {'same' if not problems else 'DIFFERS'}, max |diff| {worst:.3g}")
        for p in problems[:20]:
            print(f"  {p}")
        failed += bool(problems)
    now = compare.figures()
    if update:
        compare.write(now)
        print(f"comparison figures: wrote {compare.PATH.name}")
    else:
        problems = compare.differences(now)
        print(f"comparison figures: {'same' if not problems else 'DIFFERS'}")
        for p in problems[:20]:
            print(f"  {p}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
