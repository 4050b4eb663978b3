"""Months, the period of every dated thing in critmin (``"2026-07"``).

One definition of the month format, its pydantic type and the month arithmetic, shared by the
scenario, market, instrument, contract and stockpile schemas.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MONTH_RE = re.compile(MONTH_PATTERN)


def _check_month(value: object) -> object:
    """Refuse anything but ``YYYY-MM`` with a message that says what a month looks like
    (pydantic's own would quote the regular expression)."""
    if isinstance(value, str) and MONTH_RE.match(value):
        return value
    raise ValueError(f"expected a month YYYY-MM (e.g. 2026-07), got {value!r}")


#: a month as ``YYYY-MM`` in a pydantic model: the one month type of every spec's dates
Month = Annotated[
    str, BeforeValidator(_check_month), Field(pattern=MONTH_PATTERN, description="month YYYY-MM")
]


@functools.lru_cache(maxsize=4096)  # a few hundred distinct months recur in every compile
def month_index(month: str) -> int:
    """``"2026-07"`` -> an integer month count (year * 12 + month - 1)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


@functools.lru_cache(maxsize=4096)
def month_label(index: int) -> str:
    """Inverse of :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def in_window(month: str, start: str | None, end: str | None) -> bool:
    """True when ``start <= month <= end`` (None = open); months compare as strings."""
    return (start is None or month >= start) and (end is None or month <= end)
