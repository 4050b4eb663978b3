"""JSON bodies: a number must be a JSON number (issue 13, :class:`critmin.bounds.StrictNumbers`).

Before, pydantic's lax mode read ``"quantity_t": "10"`` as 10 t and ``true`` as 1 t. Now the
request is a 422 problem naming ``body.quantity_t``; a JSON number is accepted as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Registry
from tests.api.test_market import declare, publish


@pytest.mark.parametrize(
    ("value", "got"), [("10", "the string '10'"), (True, "true (a yes/no value)")]
)
def test_a_declared_quantity_given_as_text_is_a_422_naming_the_field(
    registry: Registry, value: Any, got: str
) -> None:
    r = declare(registry, quantity_t=value)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert f"body.quantity_t: expected a number, got {got}" in problem["detail"], problem


def test_json_numbers_still_work(registry: Registry) -> None:
    publish(registry, "ndpr_oxide", "2026-04", 62_000)
    r = declare(registry, quantity_t=10.0, customs_value_usd=500_000)
    assert r.status_code == 201, r.text
