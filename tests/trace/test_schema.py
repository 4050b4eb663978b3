"""Every document critmin writes validates against GS1's EPCIS 2.0 JSON schema.

The schema is GS1's, committed with its source and licence in ``tests/trace/data/gs1``;
``format: uri`` and ``date-time`` are checked (jsonschema's format checker, rfc3987).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker

from critmin.trace.epcis import to_epcis
from critmin.trace.examples import magnet_chain
from critmin.trace.generate import random_network
from critmin.trace.templates import read_template

SCHEMA = Path(__file__).parent / "data" / "gs1" / "EPCIS-JSON-Schema.json"
EX = Path(__file__).parents[2] / "examples" / "trace"


@cache
def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=FormatChecker())


def _errors(doc: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _validator().iter_errors(doc)
    ]


def test_the_schema_catches_what_the_issue_found() -> None:
    """The checker is live: a non-URI event id and a boolean attribute value are refused."""
    doc = to_epcis(magnet_chain(0.0))
    doc["epcisBody"]["eventList"][0]["eventID"] = "E1"
    assert _errors(doc)
    doc = to_epcis(magnet_chain(0.0))
    locs = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"]
    locs[0]["attributes"].append({"id": "critmin:feoc", "attribute": False})
    assert _errors(doc)


@pytest.mark.parametrize("china_oxide_t", [0.0, 9.0])
def test_magnet_chain_export_is_schema_valid(china_oxide_t: float) -> None:
    assert _errors(to_epcis(magnet_chain(china_oxide_t))) == []


@pytest.mark.parametrize("name", ["magnet_chain.jsonld", "magnet_chain_blend.jsonld"])
def test_shipped_examples_are_schema_valid(name: str) -> None:
    assert _errors(json.loads((EX / name).read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "name", ["cmrt_6.4_example.xlsx", "emrt_2.0_example.xlsx", "amrt_1.3_example.xlsx"]
)
def test_template_networks_export_schema_valid(name: str) -> None:
    """RMI smelters (CIDs) and mines become facilities with URI ids."""
    net = read_template(EX / name).to_network()
    assert _errors(to_epcis(net)) == []


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_inputs=st.integers(1, 4))
def test_random_network_exports_are_schema_valid(seed: int, max_inputs: int) -> None:
    net = random_network(seed=seed, max_inputs=max_inputs)
    assert _errors(to_epcis(net)) == []
