"""Golden results (:mod:`tests.golden`): every built-in and example market, compiled and
solved today, against the stored arrays. A change that moves any compiled array or any solved
series fails here; when it is intended, ``.venv/bin/python -m tests.golden --update``
rewrites the files (commit them with the reason)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.golden import arrays, cases, differences, path_of

CASES = cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    assert path_of(case).exists(), f"no golden file for {case}: python -m tests.golden --update"
    problems = differences(case, arrays(CASES[case]))
    assert not problems, "\n".join(problems[:20])


def test_golden_comparison_catches_a_moved_value() -> None:
    """The comparison itself can fail: one price moved by 1e-3 USD/t, one compiled capacity
    by one ulp, and an array gone are each reported."""
    case = "builtin_ndpr_china_ban"
    now = arrays(CASES[case])
    price_key = next(k for k in now if k.endswith("/solved/price"))
    cap_key = next(k for k in now if k.endswith("/compiled/s_cap"))
    now[price_key] = now[price_key].copy()
    now[price_key][3, 0] += 1e-3
    now[cap_key] = now[cap_key].copy()
    now[cap_key][0, 0] = float(np.nextafter(now[cap_key][0, 0], 1e300))
    gone = next(k for k in now if k.endswith("/solved/flow"))
    del now[gone]
    problems = differences(case, now)
    assert any(p.startswith(price_key) for p in problems)
    assert any(p.startswith(cap_key) for p in problems)
    assert any(p.startswith(gone) and "missing" in p for p in problems)
