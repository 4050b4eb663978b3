"""No figure prints as a negative zero ("-0", "$-0/t", "-0.00 t"): a value that rounds to
zero is shown as zero whatever side of zero the float fell (solver duals give -0.0)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from critmin.reports import fmt

NEGATIVE_ZERO = re.compile(r"(?<![0-9])-\$?0(?:[.,]0*)?(?![.,]?[0-9])|\$-0(?:[.,]0*)?(?![0-9])")


@given(st.floats(min_value=-1e-3, max_value=0.0))
def test_tiny_negatives_print_without_a_sign(value: float) -> None:
    for text in (fmt.money(value), fmt.tonnes(value), fmt.price(value), fmt.price(value, "USD/kg"),
                 fmt.days(value), fmt.share(value), fmt.number(value)):  # fmt: skip
        assert not NEGATIVE_ZERO.search(text), text


def test_real_negatives_keep_their_sign() -> None:
    assert fmt.money(-4500) == "-$4.50k"
    assert fmt.price(-5000) == "-$5,000/t"
    assert fmt.number(-0.05) == "-0.05"
