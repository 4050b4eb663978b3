"""The comparison figures of the default study equal the golden ones
(:mod:`tests.golden.compare`): every metric of ``compare_to_baseline`` against the free-trade
baseline (catalog FORGE membership and overridden membership) and against the managed market.

This replaces the test that pinned the one-pass comparison to a frozen copy of the pandas
implementation it replaced; the golden file was written by that verified version and today's
code reproduces it. Intended changes: ``.venv/bin/python -m tests.golden --update``.
"""

from __future__ import annotations

from tests.golden import compare


def test_default_study_comparison_is_golden() -> None:
    now = compare.figures()
    managed = now["free_trade_catalog"]["managed_market"]
    # the study exercises the non-trivial paths (agreement is not agreement on zeros)
    assert managed["floor_kept_t"] > 0
    assert managed["levy_revenue_usd"] > 0
    assert any(v != 0 for v in managed["trade_diversion_from_members_t_by_product"].values())
    problems = compare.differences(now)
    assert not problems, "\n".join(problems[:20])
