"""Broken and hostile input to ``critmin trace``, one named test per kind of failure (issue 13).

Each case is the command a user runs (``critmin trace import|origin|check|impact``, through the
real entry point :func:`critmin.cli.main`) on a copy of the shipped example network with one
thing broken. Every one must end with exit code 2 and one line on stderr naming the file and
the JSON path (or the file line of a YAML file) of what is wrong, and what was expected; never
a traceback, never the catch-all's exit 70. Before this round each of these kinds of input
reached the catch-all (KeyError 'id', AttributeError 'str' object has no attribute 'get',
TypeError 'float' object is not iterable, ValueError of a 5,000-digit integer) or was
accepted (an infinite or 1e308 quantity, a bare string read letter by letter as a list of
blocs).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from critmin.cli import main

EX = Path(__file__).parents[2] / "examples" / "trace"
NETWORK = EX / "magnet_chain.jsonld"
RULES = EX / "rules.yaml"
BASE: dict[str, Any] = json.loads(NETWORK.read_text(encoding="utf-8"))

# the four commands that read a network, with the options each needs
COMMANDS: dict[str, list[str]] = {
    "import": [],
    "origin": [],
    "check": ["--rules", str(RULES), "--on", "2027-06-01"],
    "impact": ["--country", "CN"],
}
MD = "epcisHeader.epcisMasterData.vocabularyList"


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    """``critmin args`` through the real entry point: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    monkeypatch.delenv("CRITMIN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        main()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


def refused(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any, *parts: str) -> str:
    """Exit 2 with one line on stderr that holds every one of ``parts``."""
    code, err = run(args, monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def _location(d: dict[str, Any]) -> dict[str, Any]:
    return d["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"][0]


def _lot_class(d: dict[str, Any]) -> dict[str, Any]:
    return d["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"][0]


def _events(d: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = d["epcisBody"]["eventList"]
    return events


def _set(get: Callable[[dict[str, Any]], Any], key: Any, value: Any) -> Callable[[Any], None]:
    def mutate(d: dict[str, Any]) -> None:
        get(d)[key] = value

    return mutate


def _del_attr_id(d: dict[str, Any]) -> None:
    del _location(d)["attributes"][1]["id"]


# (label, mutation of the example document, the JSON path and the words expected)
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # master data: an attribute deleted or of the wrong type (KeyError 'id', AttributeError
    # 'str' has no 'get', 'bool'/'dict' has no 'startswith', TypeError string indices)
    (
        "attribute-without-id",
        _del_attr_id,
        f"{MD}[0].vocabularyElementList[0].attributes[1]",
        "expected an object with an 'id'",
    ),
    (
        "attribute-a-string",
        _set(lambda d: _location(d)["attributes"], 0, "Mt Weld"),
        f"{MD}[0].vocabularyElementList[0].attributes[0]",
        "expected an object with an 'id', got 'Mt Weld'",
    ),
    (
        "attributes-an-object",
        _set(_location, "attributes", {"name": "Mt Weld"}),
        f"{MD}[0].vocabularyElementList[0].attributes",
        "expected a list of {id, attribute}",
    ),
    (
        "stage-a-boolean",
        _set(lambda d: _location(d)["attributes"][4], "attribute", True),
        f"{MD}[0].vocabularyElementList[0].attributes[4].attribute",
        "expected a string, got True",
    ),
    (
        "country-an-object",
        _set(lambda d: _location(d)["attributes"][1], "attribute", {"code": "AU"}),
        f"{MD}[0].vocabularyElementList[0].attributes[1].attribute",
        "expected a string, got {'code': 'AU'}",
    ),
    (
        "location-id-a-boolean",
        _set(_location, "id", True),
        f"{MD}[0].vocabularyElementList[0].id",
        "expected an identifier (a URI string), got True",
    ),
    (
        "vocabulary-type-an-object",
        _set(lambda d: d["epcisHeader"]["epcisMasterData"]["vocabularyList"][0], "type", {}),
        f"{MD}[0].type",
        "expected a vocabulary type URI",
    ),
    (
        "master-data-a-string",
        _set(lambda d: d["epcisHeader"], "epcisMasterData", "none"),
        "epcisHeader.epcisMasterData",
        "expected an object, got 'none'",
    ),
    (
        "lot-quantity-a-word",
        _set(lambda d: _lot_class(d)["attributes"][1], "attribute", "lots"),
        f"{MD}[1].vocabularyElementList[0].attributes[1].attribute",
        "expected a number, got 'lots'",
    ),
    (
        "lot-value-1e308",
        _set(lambda d: _lot_class(d)["attributes"][3], "attribute", 1e308),
        f"{MD}[1].vocabularyElementList[0].attributes[3].attribute",
        "1e+308 is out of range (at most 1e+15 in size)",
    ),
    # values the Lot and Facility models refused, named by class and model field
    # ("master data class '...': qty: Input should be greater than or equal to 0") before:
    # now named by the attribute's JSON path, as every other trace message is
    (
        "lot-quantity-negative",
        _set(lambda d: _lot_class(d)["attributes"][1], "attribute", -5),
        f"{MD}[1].vocabularyElementList[0].attributes[1].attribute",
        "expected a number >= 0, got -5",
    ),
    (
        "lot-value-negative",
        _set(lambda d: _lot_class(d)["attributes"][3], "attribute", -1.5),
        f"{MD}[1].vocabularyElementList[0].attributes[3].attribute",
        "expected a number >= 0, got -1.5",
    ),
    (
        "lot-unit-unknown",
        _set(lambda d: _lot_class(d)["attributes"][2], "attribute", "tonnes"),
        f"{MD}[1].vocabularyElementList[0].attributes[2].attribute",
        "unknown unit 'tonnes'; expected one of ['APZ', 'CGM', 'DG', 'DJ', 'GRM'",
    ),
    (
        "lot-unit-a-number",
        _set(lambda d: _lot_class(d)["attributes"][2], "attribute", 1000),
        f"{MD}[1].vocabularyElementList[0].attributes[2].attribute",
        "expected a unit code (a string), got 1000",
    ),
    (
        # 1e15 is within the generic number bound; in kilotonnes it is 1e18 t (accepted before)
        "lot-quantity-above-1e10-t",
        lambda d: (
            _set(lambda d: _lot_class(d)["attributes"][1], "attribute", 1e15)(d),
            _set(lambda d: _lot_class(d)["attributes"][2], "attribute", "KTN")(d),
        ),
        f"{MD}[1].vocabularyElementList[0].attributes[1].attribute",
        "1e+15 KTN is out of range (at most 1e+10 t",
    ),
    (
        # a negative mass per instance turned a count into a negative mass before
        "lot-mass-per-instance-negative",
        lambda d: _lot_class(d)["attributes"].append(
            {"id": "critmin:massPerInstanceKg", "attribute": -2}
        ),
        f"{MD}[1].vocabularyElementList[0].attributes[4].attribute",
        "expected a mass per instance > 0 kg, got -2",
    ),
    (
        "location-country-unknown",
        _set(lambda d: _location(d)["attributes"][3], "attribute", "Atlantis"),
        f"{MD}[0].vocabularyElementList[0].attributes[3].attribute",
        "unknown country 'Atlantis'",
    ),
    (
        "location-stage-unknown",
        _set(lambda d: _location(d)["attributes"][4], "attribute", "moon"),
        f"{MD}[0].vocabularyElementList[0].attributes[4].attribute",
        "unknown stage 'moon'",
    ),
    # events: a quantity or yieldShare that is a string, a boolean, out of range
    (
        "quantity-a-string",
        _set(lambda d: _events(d)[0]["quantityList"][0], "quantity", "100"),
        "epcisBody.eventList[0].quantityList[0].quantity",
        "expected a JSON number (EPCIS 2.0 JSON schema), got the string '100'",
    ),
    (
        "quantity-a-boolean",
        _set(lambda d: _events(d)[0]["quantityList"][0], "quantity", True),
        "epcisBody.eventList[0].quantityList[0].quantity",
        "expected a number, got True",
    ),
    (
        "quantity-1e308",
        _set(lambda d: _events(d)[0]["quantityList"][0], "quantity", 1e308),
        "epcisBody.eventList[0].quantityList[0].quantity",
        "out of range",
    ),
    (
        "quantity-above-1e10-t",
        _set(lambda d: _events(d)[0]["quantityList"][0], "quantity", 2e13),
        "epcisBody.eventList[0].quantityList[0].quantity",
        "2e+13 TNE is out of range (at most 1e+10 t",
    ),
    (
        "yield-share-a-word",
        _set(lambda d: _events(d)[1], "critmin:yieldShare", "high"),
        "epcisBody.eventList[1].critmin:yieldShare",
        "expected a number, got 'high'",
    ),
    (
        # a yield above 1 let outputs exceed inputs with no yield_exceeded violation: mass
        # created from nothing passed trace check (1e15 hid any amount)
        "yield-share-above-1",
        _set(lambda d: _events(d)[1], "critmin:yieldShare", 1e15),
        "epcisBody.eventList[1].critmin:yieldShare",
        "expected a yield share 0 < y <= 1 (output/input mass), got 1e+15",
    ),
    (
        "yield-share-a-boolean",
        _set(lambda d: _events(d)[1], "critmin:yieldShare", False),
        "epcisBody.eventList[1].critmin:yieldShare",
        "expected a number, got False",
    ),
    # events: identifiers and fields of the wrong type (str() of a dict became a lot id)
    (
        "epc-class-an-object",
        _set(lambda d: _events(d)[0]["quantityList"][0], "epcClass", {"id": "x"}),
        "epcisBody.eventList[0].quantityList[0].epcClass",
        "expected an identifier (a URI string)",
    ),
    (
        "event-id-a-list",
        _set(lambda d: _events(d)[0], "eventID", ["urn:uuid:1"]),
        "epcisBody.eventList[0].eventID",
        "expected an identifier (a URI string), got ['urn:uuid:1']",
    ),
    (
        "biz-location-id-an-object",
        _set(lambda d: _events(d)[0], "bizLocation", {"id": {"sgln": 1}}),
        "epcisBody.eventList[0].bizLocation.id",
        "expected an identifier (a URI string)",
    ),
    (
        "biz-step-an-object",
        _set(lambda d: _events(d)[0], "bizStep", {"step": "commissioning"}),
        "epcisBody.eventList[0].bizStep",
        "expected a bizStep (a string)",
    ),
    (
        "error-declaration-a-string",
        _set(lambda d: _events(d)[0], "errorDeclaration", "wrong"),
        "epcisBody.eventList[0].errorDeclaration",
        "expected an object {declarationTime, reason}",
    ),
]


@pytest.mark.parametrize("cmd", list(COMMANDS))
@pytest.mark.parametrize("case", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_field_is_one_line_naming_its_json_path(
    case: tuple[str, Callable[[dict[str, Any]], None], str, str],
    cmd: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    label, mutate, path, expected = case
    doc = copy.deepcopy(BASE)
    mutate(doc)
    p = tmp_path / f"{label}.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    refused(["trace", cmd, str(p), *COMMANDS[cmd]], monkeypatch, capsys, f"{p}: {path}", expected)


@pytest.mark.parametrize("cmd", list(COMMANDS))
@pytest.mark.parametrize(
    "case",
    [
        # latin-1 and binary bytes: UnicodeDecodeError before
        ("latin-1", "latin-1", "cannot read EPCIS file: not UTF-8 text (byte 0xe9 at line 1)"),
        ("binary", "binary", "cannot read EPCIS file: not UTF-8 text (byte 0x80"),
        # Python's parser takes NaN and Infinity, which are not JSON: inf reached the model
        ("infinity-literal", "Infinity", "not valid JSON: Infinity is not a JSON number"),
        ("nan-literal", "NaN", "not valid JSON: NaN is not a JSON number"),
        # a 5,000-digit integer: ValueError (int max str digits) at the catch-all before
        ("huge-integer", "1" * 5000, "not valid JSON: Exceeds the limit (4300 digits)"),
        # 50,000 nested arrays inside an event, and nested objects: RecursionError before
        ("deep-arrays", "deep-arrays", "not valid JSON: nested deeper than 100 levels"),
        ("deep-objects", "deep-objects", "not valid JSON: nested deeper than 100 levels"),
    ],
    ids=lambda c: c[0],
)
def test_unreadable_json_is_one_line(
    case: tuple[str, str, str],
    cmd: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    label, raw, expected = case
    text = json.dumps(BASE)
    p = tmp_path / f"{label}.jsonld"
    if raw == "latin-1":
        data = text.replace("Mt Weld", "Mt Wéld").encode("latin-1")
    elif raw == "binary":
        data = bytes(range(256)) * 16
    elif raw == "deep-arrays":
        data = text.replace(
            '"action": "ADD"', '"x": ' + "[" * 50_000 + "]" * 50_000 + ', "action": "ADD"', 1
        ).encode()
    elif raw == "deep-objects":
        data = ('{"a": ' * 50_000 + "1" + "}" * 50_000).encode()
    else:  # the first event's quantity 100.0 written as the literal
        assert '"quantity": 100.0' in text
        data = text.replace('"quantity": 100.0', f'"quantity": {raw}', 1).encode()
    p.write_bytes(data)
    refused(["trace", cmd, str(p), *COMMANDS[cmd]], monkeypatch, capsys, str(p), expected)


def test_a_refused_import_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``trace import --out``: a bad document leaves the earlier export as it was."""
    out = tmp_path / "network.jsonld"
    out.write_text("earlier export\n", encoding="utf-8")
    doc = copy.deepcopy(BASE)
    _events(doc)[-1]["quantityList"][0]["quantity"] = "lots"
    p = tmp_path / "bad.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    refused(["trace", "import", str(p), "--out", str(out)], monkeypatch, capsys, "quantity")
    assert out.read_text(encoding="utf-8") == "earlier export\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["bad.jsonld", "network.jsonld"]


def test_duplicate_keys_in_epcis_json_keep_the_last_as_gs1_examples_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GS1's own example ``AssociationEvent-h.jsonld`` (github.com/gs1/EPCIS, JSON/) writes
    ``eventID`` twice in one event; JSON-LD processors keep the last, and so does critmin
    (unlike its YAML formats, where a duplicate key is an error)."""
    text = json.dumps(BASE).replace(
        '"eventID": "https://w3id.org/critmin/id/event/E1"',
        '"eventID": "urn:uuid:first", "eventID": "https://w3id.org/critmin/id/event/E1"',
        1,
    )
    assert text.count('"urn:uuid:first"') == 1
    p = tmp_path / "dup.jsonld"
    p.write_text(text, encoding="utf-8")
    code, err = run(["trace", "import", str(p), "--json"], monkeypatch, capsys)
    assert (code, err) == (0, "")


RULE_CASES = [
    # a number where a list is expected: TypeError 'float' object is not iterable before
    (
        "stages-a-number",
        ("stages: [refining]", "stages: -1e308"),
        "rules[2].stages",
        "expected a list of stages",
    ),
    # a bare string was iterated letter by letter: "unknown bloc 'f'"
    (
        "blocs-a-string",
        ("blocs: [forge]", "blocs: forge"),
        "rules[2].allowed.blocs",
        "expected a list of bloc ids (got 'forge')",
    ),
    (
        "unknown-bloc",
        ("blocs: [forge]", "blocs: [forj]"),
        "rules[2].allowed.blocs",
        "unknown bloc 'forj'",
    ),
    (
        "reference-price-inf",
        ("ndpr_oxide: 110000", "ndpr_oxide: .inf"),
        "reference_prices_usd_per_t.ndpr_oxide",
        "Input should be a finite number",
    ),
    (
        "min-share-nan",
        ("min_share: 0.8", "min_share: .nan"),
        "rules[0].min_share",
        "Input should be a finite number",
    ),
]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_a_broken_rules_file_is_one_line_naming_its_line_and_field(
    case: tuple[str, tuple[str, str], str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _label, swap, field, expected = case
    text = RULES.read_text(encoding="utf-8")
    assert swap[0] in text
    p = tmp_path / "rules.yaml"
    p.write_text(text.replace(swap[0], swap[1], 1), encoding="utf-8")
    line = next(i for i, ln in enumerate(p.read_text().splitlines(), 1) if swap[1] in ln)
    args = ["trace", "check", str(NETWORK), "--rules", str(p), "--on", "2027-06-01"]
    refused(args, monkeypatch, capsys, f"{p}:{line} field '{field}'", expected)


@pytest.mark.parametrize(
    "case",
    [
        (
            "duplicate-key",
            "ndpr_oxide: 1\nndpr_oxide: 2\n",
            ":2: duplicate key 'ndpr_oxide' (first at line 1)",
        ),
        ("infinite", "ndpr_oxide: .inf\n", ":1 field 'ndpr_oxide': expected a finite price"),
        (
            "alias-bomb",
            'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
            + "".join(
                f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "YAML aliases expand to more than 1,000,000 nodes",
        ),
    ],
    ids=lambda c: c[0],
)
def test_origin_prices_file_has_the_yaml_limits(
    case: tuple[str, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``trace origin --prices`` reads through critmin.yamlio (it used yaml.safe_load)."""
    _label, text, expected = case
    p = tmp_path / "prices.yaml"
    p.write_text(text, encoding="utf-8")
    refused(
        ["trace", "origin", str(NETWORK), "--prices", str(p)], monkeypatch, capsys, str(p), expected
    )
