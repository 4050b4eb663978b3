"""Instance-level EPCs (SGTIN serials, SSCC pallets, GRAI) are lots of one object each.

GS1's EPCIS 2.0 examples (github.com/gs1/EPCIS, ``Example_9.6.1-ObjectEvent.jsonld``,
``Example_9.6.3-AggregationEvent.jsonld``, ``Example_9.6.4-TransformationEvent.jsonld``) carry
``epcList``, ``childEPCs`` and ``inputEPCList`` / ``outputEPCList`` of SGTINs and an SSCC
parent, mixed with class-level quantity lists. Their files carry GS1's disclaimer, no licence
to copy them, so the document below is written here in the same shapes;
``CRITMIN_GS1_EPCIS=<checkout>`` runs the real files (tests/trace/test_gs1_shapes.py).

The chain (hand-derived; masses from ``critmin:massPerInstanceKg`` master data):

* mines: AU extracts concentrate ``C-AU`` 100 t, CN extracts ``C-CN`` 50 t (class level, TNE);
* MY separation turns ``C-AU`` into three oxide drums, SGTINs ``0614141.100001.1-3``
  (``outputEPCList``); the drums' GTIN ``urn:epc:idpat:sgtin:0614141.100001.*`` declares
  200 kg per instance -> 0.2 t each;
* CN separation turns ``C-CN`` into drum ``.4``, whose own instance master data (vocabulary
  EPCInstance) declares 400 kg, overriding its GTIN's 200 kg;
* drums 1, 2 (MY) and 4 (CN) are packed (``AggregationEvent`` ADD, ``childEPCs``) onto pallet
  SSCC ``0614141.0000000001``: 200 + 200 + 400 = 800 kg, no master data needed;
* the pallet is shipped MY -> JP (``epcList`` [pallet], source/destination locations): 0.8 t;
* the JP magnet plant uses the pallet and drum 3 (``inputEPCList``; 0.8 + 0.2 = 1.0 t) and
  makes magnets ``urn:epc:class:lgtin:0614141.200002.JP1``: a count of 100 without ``uom``;
  their GTIN declares 9 kg each -> 0.9 t (yield 0.9 <= 1).

Origin of the magnets by mass, refining: MY = (400 kg on the pallet + 200 kg drum 3) / 1000 =
0.6, CN = 400 / 1000 = 0.4; mine: AUS 0.6, CHN 0.4 (each drum inherits its concentrate's
mine); component: JPN 1.0. The pallet alone: refining MY 0.5, CN 0.5. Mass balance: no
violation (each instance is produced once, at the mass it is consumed at).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from critmin.cli import _register, app
from critmin.errors import CritminError
from critmin.trace.epcis import epc_classes, from_epcis, import_document, to_epcis
from critmin.trace.model import Extraction, Quantity, SupplyNetwork

runner = CliRunner()
_register()
MDA = "urn:epcglobal:cbv:mda#"
CM = "https://w3id.org/critmin/trace#"
DRUM_GTIN = "urn:epc:idpat:sgtin:0614141.100001.*"
MAGNET_GTIN = "urn:epc:idpat:sgtin:0614141.200002.*"
MAGNETS = "urn:epc:class:lgtin:0614141.200002.JP1"
PALLET = "urn:epc:id:sscc:0614141.0000000001"


def _drum(n: int) -> str:
    return f"urn:epc:id:sgtin:0614141.100001.{n}"


def _loc(n: str) -> str:
    return f"urn:epc:id:sgln:0614141.{n}.0"


SITES = [
    ("00001", "AU", "mine"),
    ("00005", "CN", "mine"),
    ("00002", "MY", "separation plant"),
    ("00006", "CN", "separation"),
    ("00003", "JP", "magnet plant"),
]


def _element(ident: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {"id": ident, "attributes": [{"id": k, "attribute": v} for k, v in attrs.items()]}


def _ev(kind: str, day: int, loc: str | None, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "type": kind,
        "eventTime": f"2027-03-{day:02d}T08:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
    }
    if loc:
        d["bizLocation"] = {"id": _loc(loc)}
    return {**d, **kw}


def _document(drum_mass: bool = True) -> dict[str, Any]:
    classes = [_element(MAGNET_GTIN, {CM + "massPerInstanceKg": 9})]
    if drum_mass:
        classes.append(_element(DRUM_GTIN, {CM + "massPerInstanceKg": 200}))
    events = [
        _ev(
            "ObjectEvent",
            1,
            "00001",
            action="ADD",
            bizStep="commissioning",
            quantityList=[
                {"epcClass": "urn:epc:class:lgtin:0614141.9.CAU", "quantity": 100, "uom": "TNE"}
            ],
        ),
        _ev(
            "ObjectEvent",
            1,
            "00005",
            action="ADD",
            bizStep="commissioning",
            quantityList=[
                {"epcClass": "urn:epc:class:lgtin:0614141.9.CCN", "quantity": 50, "uom": "TNE"}
            ],
        ),
        _ev(
            "TransformationEvent",
            2,
            "00002",
            inputQuantityList=[
                {"epcClass": "urn:epc:class:lgtin:0614141.9.CAU", "quantity": 100, "uom": "TNE"}
            ],
            outputEPCList=[_drum(1), _drum(2), _drum(3)],
        ),
        _ev(
            "TransformationEvent",
            2,
            "00006",
            inputQuantityList=[
                {"epcClass": "urn:epc:class:lgtin:0614141.9.CCN", "quantity": 50, "uom": "TNE"}
            ],
            outputEPCList=[_drum(4)],
        ),
        _ev(
            "AggregationEvent",
            3,
            "00002",
            action="ADD",
            bizStep="packing",
            parentID=PALLET,
            childEPCs=[_drum(1), _drum(2), _drum(4)],
        ),
        _ev(
            "ObjectEvent",
            4,
            None,
            action="OBSERVE",
            bizStep="shipping",
            epcList=[PALLET],
            readPoint={"id": _loc("00002")},
            sourceList=[{"type": "location", "source": _loc("00002")}],
            destinationList=[{"type": "location", "destination": _loc("00003")}],
        ),
        _ev(
            "TransformationEvent",
            6,
            "00003",
            inputEPCList=[PALLET, _drum(3)],
            outputQuantityList=[{"epcClass": MAGNETS, "quantity": 100}],
        ),
    ]
    # the drums' EPC class and the magnets' GTIN carry the mass per instance; drum 4's own
    # instance-level master data overrides its class
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2027-03-07T00:00:00Z",
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": [
                    {
                        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                        "vocabularyElementList": [
                            _element(_loc(n), {MDA + "countryCode": c, MDA + "sst": s})
                            for n, c, s in SITES
                        ],
                    },
                    {
                        "type": "urn:epcglobal:epcis:vtype:EPCClass",
                        "vocabularyElementList": classes,
                    },
                    {
                        "type": "urn:epcglobal:epcis:vtype:EPCInstance",
                        "vocabularyElementList": [
                            _element(_drum(4), {CM + "massPerInstanceKg": "400"})
                        ],
                    },
                ]
            }
        },
        "epcisBody": {"eventList": events},
    }


def _write(tmp_path: Path, doc: dict[str, Any]) -> str:
    p = tmp_path / "instances.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return str(p)


def _json(args: list[str], code: int = 0) -> Any:
    res = runner.invoke(app, args)
    assert res.exit_code == code, res.stderr
    return json.loads(res.stdout)


def test_instance_chain_origin_by_hand(tmp_path: Path) -> None:
    """The shares derived in the module docstring, through the CLI a user runs."""
    path = _write(tmp_path, _document())
    s = _json(["trace", "import", path, "--json"])
    assert s["events_used_for_origin"] == {
        "aggregation": 1,
        "extraction": 2,
        "shipment": 1,
        "transformation": 3,
    }
    assert s["lots_counted_without_mass"] == []
    d = _json(["trace", "origin", path, "--lot", MAGNETS, "--json"])
    got = {(r["stage"], r["country_iso3"]): r["share_mass"] for r in d["shares"]}
    assert got == pytest.approx(
        {
            ("mine", "AUS"): 0.6,
            ("mine", "CHN"): 0.4,
            ("refining", "MYS"): 0.6,
            ("refining", "CHN"): 0.4,
            ("component", "JPN"): 1.0,
        }
    )
    d = _json(["trace", "origin", path, "--lot", PALLET, "--json"])
    got = {(r["stage"], r["country_iso3"]): r["share_mass"] for r in d["shares"]}
    assert got[("refining", "MYS")] == pytest.approx(0.5)
    assert got[("refining", "CHN")] == pytest.approx(0.5)
    net = import_document(_document()).network
    assert net.check_mass_balance() == []
    assert net.lot(_drum(4)).qty_t == pytest.approx(0.4)  # the instance's own 400 kg
    assert net.lot(_drum(1)).qty_t == pytest.approx(0.2)  # its GTIN's 200 kg
    assert net.lot(PALLET).qty_t == pytest.approx(0.8)  # what was packed onto it
    magnets = net.lot(MAGNETS)
    assert (magnets.qty, magnets.uom, magnets.qty_t) == (100, None, pytest.approx(0.9))


def test_impact_of_china_reaches_the_buyer_through_the_pallet(tmp_path: Path) -> None:
    """China's share of the shipped pallet is 400 / 800 kg: the JP plant received 0.4 t of
    affected material out of 0.8 t."""
    d = _json(["trace", "impact", _write(tmp_path, _document()), "--country", "CN", "--json"])
    buyer = d["buyers"][0]
    assert buyer["received_t"] == pytest.approx(0.8)
    assert buyer["affected_t"] == pytest.approx(0.4)


def test_instances_without_mass_are_counts_refused_by_mass(tmp_path: Path) -> None:
    """Without the drums' mass the import still reads every event and lists the drums (and
    the pallet, which holds them) as counts; origin by mass refuses with one line naming a
    lot, as for any count without a mass per instance."""
    path = _write(tmp_path, _document(drum_mass=False))
    s = _json(["trace", "import", path, "--json"])
    assert s["lots_counted_without_mass"] == [_drum(1), _drum(2), _drum(3), PALLET]
    res = subprocess.run(
        [
            str(Path(sys.executable).parent / "critmin"),
            "trace",
            "origin",
            path,
            "--lot",
            MAGNETS,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "is a count of 1 instances with no mass" in err
    assert "critmin:massPerInstanceKg" in err


def test_export_keeps_counts_and_instances(tmp_path: Path) -> None:
    """Issue 10: a count is written back as a count (no ``uom`` in events, ``critmin:uom`` H87
    in master data) with its mass per instance as ``gs1:netWeight``, instance EPCs as EPC
    lists; import -> export -> import is the same network."""
    net = import_document(_document()).network
    doc = to_epcis(net)
    events = doc["epcisBody"]["eventList"]
    magnet_out = events[-1]["outputQuantityList"]
    assert magnet_out == [{"epcClass": MAGNETS, "quantity": 100.0}]
    assert events[-1]["inputEPCList"] == [PALLET, _drum(3)]
    assert events[4]["childEPCs"] == [_drum(1), _drum(2), _drum(4)]
    assert events[5]["epcList"] == [PALLET]
    magnet_md = next(
        e
        for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        if v["type"] == "urn:epcglobal:epcis:vtype:EPCClass"
        for e in v["vocabularyElementList"]
        if e["id"] == MAGNETS
    )
    attrs = {a["id"]: a["attribute"] for a in magnet_md["attributes"]}
    # the mass per instance as the GS1 Web Vocabulary writes a trade item's net weight
    assert attrs["gs1:netWeight"] == {
        "type": "gs1:QuantitativeValue",
        "gs1:value": 9,
        "gs1:unitCode": "KGM",
    }
    assert attrs["critmin:uom"] == "H87"  # a count (UN/ECE Rec 20 "piece"), never tonnes
    instances = {
        e["id"]
        for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        if v["type"] == "urn:epcglobal:epcis:vtype:EPCInstance"
        for e in v["vocabularyElementList"]
    }
    assert instances == {_drum(1), _drum(2), _drum(3), _drum(4), PALLET}
    again = from_epcis(json.loads(json.dumps(doc)))
    assert again == net
    assert from_epcis(to_epcis(again)) == net


def test_export_of_instances_is_schema_valid() -> None:
    from tests.trace.test_schema import _errors

    assert _errors(to_epcis(import_document(_document()).network)) == []


def test_epc_classes_as_master_data_names_them() -> None:
    assert epc_classes("urn:epc:id:sgtin:0614141.107346.2017") == (
        "urn:epc:idpat:sgtin:0614141.107346.*",
    )
    assert epc_classes("urn:epc:id:grai:4012345.55555.987") == (
        "urn:epc:idpat:grai:4012345.55555.*",
    )
    assert epc_classes("urn:epc:class:lgtin:4012345.012345.998877") == (
        "urn:epc:idpat:sgtin:4012345.012345.*",
    )
    assert epc_classes("https://id.gs1.org/01/09521234543213/10/LOT1/21/abc") == (
        "https://id.gs1.org/01/09521234543213/10/LOT1",
        "https://id.gs1.org/01/09521234543213",
    )
    assert epc_classes("https://example.com/01/09521234543213/21/7") == (
        "https://example.com/01/09521234543213",
    )
    assert epc_classes("urn:epc:id:sscc:0614141.1234567890") == ()
    assert epc_classes("lot-1") == ()


def test_digital_link_serials_take_their_gtin_mass() -> None:
    """GS1 Digital Link instances (``.../01/<GTIN>/21/<serial>``) find the mass declared on
    the GTIN: 2 x 12.5 kg = 0.025 t extracted."""
    gtin = "https://id.gs1.org/01/09521234543213"
    doc = _document()
    doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"].append(
        _element(gtin, {CM + "massPerInstanceKg": 12.5})
    )
    doc["epcisBody"]["eventList"] = [
        _ev(
            "ObjectEvent",
            1,
            "00001",
            action="ADD",
            bizStep="commissioning",
            epcList=[f"{gtin}/21/1", f"{gtin}/21/2", f"{gtin}/21/2"],  # a repeat is one object
        )
    ]
    net = import_document(doc).network
    ev = net.events[0]
    assert isinstance(ev, Extraction)
    assert sum(q.qty_t for q in ev.outputs) == pytest.approx(0.025)


def test_an_instance_is_one_object() -> None:
    with pytest.raises(ValueError, match="one object"):
        Quantity(lot="x", qty=2, uom=None, instance=True)
    with pytest.raises(CritminError, match="count of 1 instances"):
        _ = Quantity(lot="x", qty=1, uom=None, instance=True).qty_t


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(1, 10_000), min_size=1, max_size=4),
    kg=st.floats(0.001, 1e4, allow_nan=False),
    serials=st.lists(st.integers(0, 999), min_size=1, max_size=5, unique=True),
)
def test_counts_and_instances_round_trip(counts: list[int], kg: float, serials: list[int]) -> None:
    """Hypothesis: any mix of counts with a mass per instance and instance EPCs survives
    export -> import unchanged (the count as written, not converted to kilograms)."""
    outs = tuple(
        Quantity(lot=f"urn:epc:class:lgtin:1.2.L{i}", qty=c, uom=None, mass_per_instance_kg=kg)
        for i, c in enumerate(counts)
    ) + tuple(
        Quantity(
            lot=f"urn:epc:id:sgtin:1.3.{s}", qty=1, uom=None, mass_per_instance_kg=kg, instance=True
        )
        for s in serials
    )
    doc = _document()
    base = import_document(doc).network
    ev = Extraction(
        id="urn:uuid:1", time="2027-01-01T00:00:00Z", facility=_loc("00001"), outputs=outs
    )
    from critmin.trace.model import Lot

    lots = tuple(Lot(id=q.lot, qty=q.qty, uom=None, mass_per_instance_kg=kg) for q in outs)
    net = SupplyNetwork(facilities=base.facilities, lots=lots, events=(ev,))
    assert from_epcis(to_epcis(net)) == net


def test_gs1_aggregation_shape_mixes_instances_and_quantities() -> None:
    """The shape of GS1's ``Example_9.6.3-AggregationEvent.jsonld`` (with ``action: ADD``: the
    example's OBSERVE packs nothing): an SSCC parent, two SGTIN ``childEPCs``, and a
    ``childQuantityList`` with a GTIN-level count (``urn:epc:idpat:sgtin:...*``, 10, no uom)
    and an LGTIN in KGM (200.5). The GTIN declares 12.5 kg per instance, which its serials
    share: the pallet holds 2 x 12.5 + 10 x 12.5 + 200.5 = 350.5 kg."""
    gtin = "urn:epc:idpat:sgtin:4012345.098765.*"
    doc = _document()
    doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"].append(
        _element(gtin, {CM + "massPerInstanceKg": 12.5})
    )
    doc["epcisBody"]["eventList"] = [
        _ev(
            "AggregationEvent",
            8,
            "00003",
            action="ADD",
            bizStep="receiving",
            disposition="in_progress",
            parentID="urn:epc:id:sscc:4012345.1234567890",
            childEPCs=[
                "urn:epc:id:sgtin:4012345.098765.2017",
                "urn:epc:id:sgtin:4012345.098765.2018",
            ],
            childQuantityList=[
                {"epcClass": gtin, "quantity": 10},
                {
                    "epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
                    "quantity": 200.5,
                    "uom": "KGM",
                },
            ],
            readPoint={"id": _loc("00003")},
        )
    ]
    imp = import_document(doc)
    assert imp.summary.to_dict()["events_used_for_origin"] == {"aggregation": 1}
    assert imp.summary.counts_without_mass == []
    net = imp.network
    assert net.lot("urn:epc:id:sscc:4012345.1234567890").qty_t == pytest.approx(0.3505)
    # named by an event: a lot, a count with its mass per instance (its stock is not given)
    assert (net.lot(gtin).uom, net.lot(gtin).mass_per_instance_kg) == (None, 12.5)
    assert net.lot("urn:epc:id:sgtin:4012345.098765.2017").mass_per_instance_kg == 12.5


@pytest.mark.parametrize(
    ("epcs", "where", "expected"),
    [
        ({"a": 1}, "eventList[2].outputEPCList", "expected a list of EPCs"),
        ([_drum(1), 7], "eventList[2].outputEPCList[1]", "expected an identifier"),
        (["  "], "eventList[2].outputEPCList[0]", "expected an identifier"),
    ],
)
def test_a_malformed_epc_list_is_one_line_naming_its_path(
    epcs: Any, where: str, expected: str, tmp_path: Path
) -> None:
    doc = _document()
    doc["epcisBody"]["eventList"][2]["outputEPCList"] = epcs
    res = subprocess.run(
        [str(Path(sys.executable).parent / "critmin"), "trace", "import", _write(tmp_path, doc)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert where in lines[0], lines[0]
    assert expected in lines[0], lines[0]
