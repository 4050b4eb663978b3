"""A chain written only in the GS1 standard vocabulary (no critmin attribute anywhere).

Locations carry their country as ``cbvmda:countryCode`` (ISO 3166 alpha-2) and their site type
as ``cbvmda:sst`` / ``cbvmda:ssd``; the operator is the owning party's name from the Party
vocabulary. Quantities use UN/CEFACT units (KGM and TNE mixed), one input is a count of bags
with a mass per instance, and the feed mixes in events that move no material.

The chain, in tonnes:

* E-AU: the Australian mine extracts concentrate ``C-AU`` 100 t (written as 100 000 KGM).
* E-CN: the Chinese mine extracts concentrate ``C-CN`` 40 t.
* T-MY: Malaysian separation turns ``C-AU`` 100 t into oxide ``OX-MY`` 30 t.
* T-CN: Chinese separation turns ``C-CN`` 40 t into oxide ``OX-CN`` 12 t (given as 480 bags
  of 25 kg: a count, the EPC class declares its net weight ``gs1:netWeight`` 25 KGM, a
  ``gs1:QuantitativeValue`` of the GS1 Web Vocabulary -> 12 t).
* T-JP: the Japanese magnet plant blends ``OX-MY`` 21 t and ``OX-CN`` 9 t (= 360 bags) into
  magnets ``MAG`` 27 t; ``MAG-MY`` 8.1 t is made from ``OX-MY`` 9 t alone.

Origin of ``MAG`` by mass: mine AUS 21/30 = 0.7, CHN 9/30 = 0.3; refining MYS 0.7, CHN 0.3;
component JPN 1.0. ``MAG-MY``: mine AUS 1.0, refining MYS 1.0.
No-FEOC rule (China is in the ``feoc`` bloc): ``MAG`` fails with share 0.3, ``MAG-MY`` passes.
Over-consumption: a second draw of 3 t of ``OX-MY`` makes it consumed 21 + 9 + 3 = 33 t of
its 30 t: one ``over_consumed`` violation with an excess of 3 t.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from critmin.trace.service import check, import_file, origin

MDA = "urn:epcglobal:cbv:mda#"
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def _loc(n: str) -> str:
    return f"urn:epc:id:sgln:0614141.{n}.0"


def _lot(n: str) -> str:
    return f"urn:epc:class:lgtin:0614141.000001.{n}"


# location, name, cbvmda:countryCode, cbvmda:sst (a word, or CBV code 208 "production area"
# with the words in the sub-site detail cbvmda:ssd), owning party
SITES = [
    ("00001", "AU mine", "AU", "mine", None, "1"),
    ("00005", "CN mine", "CN", "mine", None, "5"),
    ("00002", "MY separation", "MY", "208", "separation plant", "2"),
    ("00006", "CN separation", "CN", "208", "separation", "6"),
    ("00003", "JP magnets", "JP", "208", "magnet plant", "3"),
]


def _site(*row: Any) -> Any:
    n, name, country, sst, ssd, owner = row
    attrs = [
        {"id": MDA + "name", "attribute": name},
        {"id": "cbvmda:countryCode", "attribute": country},  # compact IRI, cbvmda prefix
        {"id": MDA + "sst", "attribute": sst},
        {"id": MDA + "owning_party", "attribute": _party(owner)},
    ]
    if ssd:
        attrs.append({"id": MDA + "ssd", "attribute": ssd})
    return {"id": _loc(n), "attributes": attrs}


def _party(n: str) -> str:
    return f"urn:epc:id:pgln:0614141.0000{n}"


def _q(lot: str, qty: float, uom: str | None = "TNE") -> dict[str, Any]:
    d: dict[str, Any] = {"epcClass": _lot(lot), "quantity": qty}
    if uom:
        d["uom"] = uom
    return d


def _ev(kind: str, t: str, loc: str, **kw: Any) -> dict[str, Any]:
    base = {"type": kind, "eventTime": f"2027-0{t}T00:00:00Z", "eventTimeZoneOffset": "+00:00"}
    if kind == "ObjectEvent":
        base |= {"action": "ADD", "bizStep": "commissioning"}
    return {**base, "bizLocation": {"id": _loc(loc)}, **kw}


def _document(extra_draw_t: float = 0.0) -> dict[str, Any]:
    events = [
        _ev("ObjectEvent", "1-01", "00001", quantityList=[_q("C-AU", 100_000, "KGM")]),
        _ev("ObjectEvent", "1-02", "00005", quantityList=[_q("C-CN", 40)]),
        _ev(
            "TransformationEvent",
            "2-01",
            "00002",
            inputQuantityList=[_q("C-AU", 100)],
            outputQuantityList=[_q("OX-MY", 30)],
        ),
        _ev(
            "TransformationEvent",
            "2-02",
            "00006",
            inputQuantityList=[_q("C-CN", 40)],
            outputQuantityList=[_q("OX-CN", 480, None)],
        ),
        # an inspection and a sensor report move nothing: kept and counted, never refused
        {
            "type": "ObjectEvent",
            "eventTime": "2027-02-03T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "quantityList": [_q("OX-MY", 30)],
            "readPoint": {"id": _loc("00002")},
        },
        {
            "type": "ObjectEvent",
            "eventTime": "2027-02-04T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "epcList": ["urn:epc:id:sgtin:0614141.000002.1"],
            "sensorElementList": [
                {"sensorReport": [{"type": "Temperature", "value": 21.5, "uom": "CEL"}]}
            ],
        },
        _ev(
            "TransformationEvent",
            "3-01",
            "00003",
            inputQuantityList=[_q("OX-MY", 21), _q("OX-CN", 360, None)],
            outputQuantityList=[_q("MAG", 27)],
        ),
        _ev(
            "TransformationEvent",
            "3-02",
            "00003",
            inputQuantityList=[_q("OX-MY", 9)],
            outputQuantityList=[_q("MAG-MY", 8.1)],
        ),
    ]
    if extra_draw_t:
        events.append(
            _ev(
                "TransformationEvent",
                "3-03",
                "00003",
                inputQuantityList=[_q("OX-MY", extra_draw_t)],
                outputQuantityList=[_q("MAG-X", extra_draw_t * 0.9)],
            )
        )
    return {
        "@context": CTX,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2027-04-01T00:00:00Z",
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": [
                    {
                        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                        "vocabularyElementList": [_site(*row) for row in SITES],
                    },
                    {
                        "type": "urn:epcglobal:epcis:vtype:Party",
                        "vocabularyElementList": [
                            {
                                "id": _party("2"),
                                "attributes": [{"id": MDA + "name", "attribute": "MY Rare Earths"}],
                            }
                        ],
                    },
                    {
                        "type": "urn:epcglobal:epcis:vtype:EPCClass",
                        "vocabularyElementList": [
                            {
                                "id": _lot("OX-CN"),
                                # a bag's net weight as GS1's Web Vocabulary writes it
                                "attributes": [
                                    {
                                        "id": "gs1:netWeight",
                                        "attribute": {
                                            "type": "gs1:QuantitativeValue",
                                            "gs1:value": 25,
                                            "gs1:unitCode": "KGM",
                                        },
                                    }
                                ],
                            }
                        ],
                    },
                ]
            }
        },
        "epcisBody": {"eventList": events},
    }


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    p = tmp_path / "standard.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def test_imports_with_standard_master_data_only(tmp_path: Path) -> None:
    summary, net = import_file(_write(tmp_path, _document()))
    assert summary["events_used_for_origin"] == {"extraction": 2, "transformation": 4}
    assert summary["events_not_used_for_origin"] == {
        "ObjectEvent OBSERVE -: no material movement": 1,
        "ObjectEvent OBSERVE inspecting: no material movement": 1,
    }
    facs = {f.name: (f.country, f.stage.value, f.operator) for f in net.facilities}
    assert facs["MY separation"] == ("MYS", "refining", "MY Rare Earths")
    assert facs["JP magnets"] == ("JPN", "component", _party("3"))  # no Party name: its id
    assert facs["AU mine"][:2] == ("AUS", "mine")
    assert net.lot(_lot("OX-CN")).qty_t == pytest.approx(12.0)  # 480 bags x 25 kg


def test_origin_shares(tmp_path: Path) -> None:
    res = origin(_write(tmp_path, _document()), lots=[_lot("MAG"), _lot("MAG-MY")])
    got = {(r["lot"], r["stage"], r["country_iso3"]): r["share_mass"] for r in res["shares"]}
    mag, my = _lot("MAG"), _lot("MAG-MY")
    assert got == pytest.approx(
        {
            (mag, "mine", "AUS"): 0.7,
            (mag, "mine", "CHN"): 0.3,
            (mag, "refining", "MYS"): 0.7,
            (mag, "refining", "CHN"): 0.3,
            (mag, "component", "JPN"): 1.0,
            (my, "mine", "AUS"): 1.0,
            (my, "refining", "MYS"): 1.0,
            (my, "component", "JPN"): 1.0,
        }
    )


NO_FEOC = """
id: no-feoc-only
rules:
  - id: no-feoc
    kind: forbid
    stages: [mine, refining, metal, component, product]
    countries: {blocs: [feoc]}
    from: 2025-01-01
"""


def _rules(tmp_path: Path) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(NO_FEOC, encoding="utf-8")
    return p


def test_no_feoc_verdict(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _document()), _rules(tmp_path), on=dt.date(2027, 6, 1))
    assert rep["violations"] == []
    feoc = {r["lot"]: r for r in rep["results"] if r["rule"] == "no-feoc"}
    assert feoc[_lot("MAG")]["status"] == "fail"
    assert feoc[_lot("MAG")]["share"] == pytest.approx(0.3)
    assert feoc[_lot("MAG-MY")]["status"] == "pass"


def test_over_consumed_lot(tmp_path: Path) -> None:
    rep = check(_write(tmp_path, _document(3.0)), _rules(tmp_path), on=dt.date(2027, 6, 1))
    over = [v for v in rep["violations"] if v["kind"] == "over_consumed"]
    assert len(over) == 1
    assert over[0]["lots"] == [_lot("OX-MY")]
    assert over[0]["excess_t"] == pytest.approx(3.0)
    assert rep["ok"] is False


def test_a_count_without_mass_is_never_tonnes(tmp_path: Path) -> None:
    """Without the mass per instance, 480 bags stay a count: import names the lot, and
    origin by mass refuses it with a clear error (never 480 t)."""
    doc = _document()
    doc["epcisHeader"]["epcisMasterData"]["vocabularyList"].pop()  # the EPC class master data
    p = _write(tmp_path, doc)
    summary, _ = import_file(p)
    assert summary["lots_counted_without_mass"] == [_lot("OX-CN")]
    from critmin.errors import InputError

    with pytest.raises(InputError, match=r"OX-CN' is a count of \d+ instances with no mass"):
        origin(p)


def test_error_declaration_excludes_the_erroneous_event(tmp_path: Path) -> None:
    """MAG-MY's transformation is declared erroneous (a copy with errorDeclaration) and a
    corrective event makes MAG-MY from 9 t of Chinese oxide instead: MAG-MY is then 100 %
    CHN at mine and refining; the erroneous event is excluded, the correction counts."""
    doc = _document()
    events = doc["epcisBody"]["eventList"]
    wrong = events[7]
    wrong["eventID"] = "urn:uuid:0d3c2f1e-0000-4000-8000-000000000001"
    declared = json.loads(json.dumps(wrong))
    declared["errorDeclaration"] = {
        "declarationTime": "2027-03-05T00:00:00Z",
        "reason": "incorrect_data",
        "correctiveEventIDs": ["urn:uuid:0d3c2f1e-0000-4000-8000-000000000002"],
    }
    fixed = json.loads(json.dumps(wrong))
    fixed["eventID"] = "urn:uuid:0d3c2f1e-0000-4000-8000-000000000002"
    fixed["inputQuantityList"] = [_q("OX-CN", 360, None)]
    events[6]["inputQuantityList"] = [_q("OX-MY", 21)]  # MAG: MY oxide only
    events[6]["outputQuantityList"] = [_q("MAG", 18.9)]
    events += [declared, fixed]
    p = _write(tmp_path, doc)
    summary, net = import_file(p)
    assert summary["events_declared_erroneous"] == 1
    assert summary["events_not_used_for_origin"]["error declaration"] == 1
    assert wrong["eventID"] not in {e.id for e in net.events}
    res = origin(p, lots=[_lot("MAG-MY")])
    got = {(r["stage"], r["country_iso3"]): r["share_mass"] for r in res["shares"]}
    assert got == pytest.approx(
        {("mine", "CHN"): 1.0, ("refining", "CHN"): 1.0, ("component", "JPN"): 1.0}
    )


def test_a_cbv_area_code_alone_names_no_stage(tmp_path: Path) -> None:
    """CBV sub-site type 208 is "production area": it says where inside a site, not which
    production stage; without words in ssd the error names the location, the file and the
    attributes looked for."""
    doc = _document()
    sites = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"]
    sites[2]["attributes"] = [a for a in sites[2]["attributes"] if not a["id"].endswith("#ssd")]
    p = _write(tmp_path, doc)
    from critmin.errors import InputError

    with pytest.raises(InputError) as exc:
        import_file(p)
    msg = str(exc.value)
    assert msg.startswith(
        f"{p}: epcisHeader.epcisMasterData.vocabularyList[0].vocabularyElementList[2] "
        f"(location '{_loc('00002')}'): needs a site type"
    )
    assert "its sst '208' names no production stage" in msg
    assert "cbvmda:sst or cbvmda:ssd" in msg


@pytest.mark.parametrize(
    ("word", "stage"),
    [
        ("Mine Site", "mine"),
        ("separation_plant", "refining"),
        ("SMELTER", "refining"),
        ("metal-plant", "metal"),
        ("Magnet plant", "component"),
        ("assembly plant", "product"),
        ("warehouse", None),
        ("208", None),
    ],
)
def test_site_type_words(word: str, stage: str | None) -> None:
    from critmin.trace.epcis import site_stage

    got = site_stage(word)
    assert (got.value if got else None) == stage
