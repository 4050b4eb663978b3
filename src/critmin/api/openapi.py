"""The service's OpenAPI document, as committed in ``docs/openapi.json``.

Regenerate after changing an endpoint::

    .venv/bin/python -m critmin.api.openapi > docs/openapi.json

``tests/api/test_openapi.py`` fails when the committed document and the code disagree.
"""

from __future__ import annotations

import json
from typing import Any


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (built on an in-memory engine; no database use)."""
    import sqlalchemy as sa

    from critmin.api.app import create_app

    doc: dict[str, Any] = create_app(sa.create_engine("sqlite://")).openapi()
    return doc


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
