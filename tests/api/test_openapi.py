"""The committed OpenAPI document is the one the code serves."""

from __future__ import annotations

import json
from pathlib import Path

from critmin.api.openapi import openapi_document

from .conftest import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    committed = json.loads(DOC.read_text())
    assert committed == json.loads(json.dumps(openapi_document())), (
        "docs/openapi.json is stale: run "
        ".venv/bin/python -m critmin.api.openapi > docs/openapi.json"
    )


def test_served_openapi_is_the_committed_one(registry: Registry) -> None:
    assert registry.client.get("/openapi.json").json() == json.loads(DOC.read_text())


def test_every_write_documents_its_problems() -> None:
    doc = openapi_document()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in ("post", "patch"):
                assert "422" in op["responses"], (method, path)
