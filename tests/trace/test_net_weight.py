"""Mass of instance lots from standard master data, and counts that survive a round trip.

Names checked against the published vocabularies:

* GS1 Web Vocabulary 1.16 (github.com/gs1/WebVoc, ``v1.16/gs1Voc.ttl``, Apache-2.0):
  ``gs1:netWeight`` ("net weight excludes all packaging material", range
  ``gs1:QuantitativeValue``), ``gs1:netContent`` (also a ``gs1:QuantitativeValue``, may be a
  count or a volume), ``gs1:value`` (a float) and ``gs1:unitCode`` ("a Measurement Unit from
  UN/ECE Recommendation 20 ... e.g. GRM = gram"); namespace ``https://ref.gs1.org/voc/``,
  equivalent to ``https://gs1.org/voc/`` (the ``gs1:`` of GS1's EPCIS 2.0 JSON-LD context).
* CBV master data ``urn:epcglobal:cbv:mda#netWeight``, written by GS1's own EPCIS examples
  (github.com/gs1/EPCIS 2b888be, ``XML/WithFullCombinationOfFields``) as
  ``<cbvmda:netWeight measurementUnitCode="KGM">3.5</cbvmda:netWeight>``; GS1's EPCIS 2.0
  context expands ``cbvmda:`` to ``urn:epcglobal:cbv:mda:`` (a colon).

The hand-derived chain (``test_standard_net_weights_give_instance_masses``):

* AU mine commissions two serialised drums of GTIN ``0614141.100001`` whose net weight is
  ``441 LBR``: 441 x 0.45359237 = 200.03423517 kg each, 400.06847034 kg for the two.
* CN mine commissions 3 instances of lot ``0614141.100002.L1``; the GTIN's
  ``gs1:netContent`` lists ``1 H87`` (one piece: not a mass, skipped) and ``0.2 TNE``:
  3 x 200 kg = 600 kg.
* MY separation consumes all of it (1000.06847034 kg) and makes 100 instances of oxide lot
  ``0614141.100003.OX``, whose CBV net weight is ``{"value": "5000", "measurementUnitCode":
  "GRM"}`` = 5 kg: 500 kg out, under the input (no violation).
* Origin of the oxide at stage mine: AUS 400.06847034 / 1000.06847034 = 0.4000410...,
  CHN 600 / 1000.06847034 = 0.5999589...; at refining MYS 1.0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from critmin.cli import _register, app
from critmin.errors import InputError
from critmin.trace.epcis import from_epcis, import_document, to_epcis
from critmin.trace.model import UOM_TO_T, Extraction, Lot, Quantity, SupplyNetwork

MDA = "urn:epcglobal:cbv:mda#"
CTX = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    # GS1's context: cbvmda expands with a colon, gs1 to https://gs1.org/voc/
    {"cbvmda": "urn:epcglobal:cbv:mda:"},
]
DRUM_GTIN = "urn:epc:idpat:sgtin:0614141.100001.*"
ORE_GTIN = "urn:epc:idpat:sgtin:0614141.100002.*"
ORE_LOT = "urn:epc:class:lgtin:0614141.100002.L1"
OXIDE = "urn:epc:class:lgtin:0614141.100003.OX"
runner = CliRunner()
_register()


def _loc(n: str) -> str:
    return f"urn:epc:id:sgln:0614141.{n}.0"


def _drum(s: int) -> str:
    return f"urn:epc:id:sgtin:0614141.100001.{s}"


def _site(n: str, country: str, sst: str) -> dict[str, Any]:
    return {
        "id": _loc(n),
        "attributes": [
            {"id": "cbvmda:countryCode", "attribute": country},
            {"id": "cbvmda:sst", "attribute": sst},
        ],
    }


def _ev(typ: str, minute: int, loc: str, **kw: Any) -> dict[str, Any]:
    return {
        "type": typ,
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{minute:012d}",
        "eventTime": f"2027-01-01T00:{minute:02d}:00Z",
        "eventTimeZoneOffset": "+00:00",
        "bizLocation": {"id": _loc(loc)},
        **kw,
    }


def _document(
    drum_weight: Any = None, ore_content: Any = None, oxide_weight: Any = None
) -> dict[str, Any]:
    drum_weight = drum_weight or {
        "type": "gs1:QuantitativeValue",
        "gs1:value": 441,
        "gs1:unitCode": "LBR",
    }
    ore_content = ore_content or [
        {"gs1:value": 1, "gs1:unitCode": "H87"},
        {"gs1:value": 0.2, "gs1:unitCode": "TNE"},
    ]
    oxide_weight = oxide_weight or {"value": "5000", "measurementUnitCode": "GRM"}
    events = [
        _ev(
            "ObjectEvent",
            1,
            "00001",
            action="ADD",
            bizStep="commissioning",
            epcList=[_drum(1), _drum(2)],
        ),
        _ev(
            "ObjectEvent",
            2,
            "00002",
            action="ADD",
            bizStep="commissioning",
            quantityList=[{"epcClass": ORE_LOT, "quantity": 3}],
        ),
        _ev(
            "TransformationEvent",
            3,
            "00003",
            inputEPCList=[_drum(1), _drum(2)],
            inputQuantityList=[{"epcClass": ORE_LOT, "quantity": 3}],
            outputQuantityList=[{"epcClass": OXIDE, "quantity": 100}],
        ),
    ]
    return {
        "@context": CTX,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2027-01-01T00:00:00Z",
        "epcisHeader": {
            "epcisMasterData": {
                "vocabularyList": [
                    {
                        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                        "vocabularyElementList": [
                            _site("00001", "AU", "mine"),
                            _site("00002", "CN", "mine"),
                            _site("00003", "MY", "separation plant"),
                        ],
                    },
                    {
                        "type": "urn:epcglobal:epcis:vtype:EPCClass",
                        "vocabularyElementList": [
                            # the Web Vocabulary's own namespace (equivalent to gs1:)
                            {
                                "id": DRUM_GTIN,
                                "attributes": [
                                    {
                                        "id": "https://ref.gs1.org/voc/netWeight",
                                        "attribute": drum_weight,
                                    }
                                ],
                            },
                            {
                                "id": ORE_GTIN,
                                "attributes": [{"id": "gs1:netContent", "attribute": ore_content}],
                            },
                            {
                                "id": OXIDE,
                                "attributes": [
                                    {"id": "cbvmda:netWeight", "attribute": oxide_weight}
                                ],
                            },
                        ],
                    },
                ]
            }
        },
        "epcisBody": {"eventList": events},
    }


DRUM_KG = 441 * 0.45359237  # 200.03423517 kg


def test_standard_net_weights_give_instance_masses() -> None:
    """The chain of the module docstring: masses only from GS1 / CBV net weights."""
    imp = import_document(_document())
    net = imp.network
    assert imp.summary.counts_without_mass == []
    drums, ore, _ = net.events
    assert isinstance(drums, Extraction)
    assert isinstance(ore, Extraction)
    assert sum(q.qty_t for q in drums.outputs) == pytest.approx(2 * DRUM_KG / 1e3, rel=1e-12)
    assert sum(q.qty_t for q in ore.outputs) == pytest.approx(0.6, rel=1e-12)
    assert net.check_mass_balance() == []
    oxide = {lot.id: lot for lot in net.lots}[OXIDE]
    assert (oxide.qty, oxide.uom, oxide.mass_per_instance_kg) == (100, None, 5.0)
    res = net.origin()
    total = 2 * DRUM_KG + 600
    mine = res.shares(OXIDE, "mine")
    assert mine["AUS"] == pytest.approx(2 * DRUM_KG / total, rel=1e-12)  # 0.4000410...
    assert mine["CHN"] == pytest.approx(600 / total, rel=1e-12)  # 0.5999589...
    assert res.shares(OXIDE, "refining") == {"MYS": pytest.approx(1.0)}


def test_round_trip_writes_what_it_reads(tmp_path: Path) -> None:
    """``critmin trace import X --out Y``: the export carries each mass per instance as
    ``gs1:netWeight`` in KGM, re-importing it gives the same network and the same origin."""
    src = tmp_path / "standard.jsonld"
    src.write_text(json.dumps(_document()))
    out = tmp_path / "export.jsonld"
    res = runner.invoke(app, ["trace", "import", str(src), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    weights = {
        e["id"]: a["attribute"]
        for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        for e in v["vocabularyElementList"]
        for a in e.get("attributes", [])
        if a["id"] == "gs1:netWeight"
    }
    assert weights[OXIDE] == {
        "type": "gs1:QuantitativeValue",
        "gs1:value": 5.0,
        "gs1:unitCode": "KGM",
    }
    assert weights[_drum(1)]["gs1:value"] == pytest.approx(DRUM_KG, rel=1e-12)
    assert weights[ORE_LOT]["gs1:value"] == pytest.approx(200.0)
    assert from_epcis(doc) == import_document(_document()).network
    again = runner.invoke(app, ["trace", "origin", str(out), "--lot", OXIDE, "--json"])
    assert again.exit_code == 0, again.output
    shares = {
        (r["stage"], r["country_iso3"]): r["share_mass"] for r in json.loads(again.stdout)["shares"]
    }
    total = 2 * DRUM_KG + 600
    assert shares[("mine", "AUS")] == pytest.approx(2 * DRUM_KG / total, rel=1e-12)
    assert shares[("mine", "CHN")] == pytest.approx(600 / total, rel=1e-12)


@pytest.mark.parametrize(
    ("weight", "kg"),
    [
        ({"gs1:value": 9, "gs1:unitCode": "KGM"}, 9.0),
        ({"https://gs1.org/voc/value": "9000", "https://gs1.org/voc/unitCode": "GRM"}, 9.0),
        ({"value": 2, "unitCode": "APZ"}, 2 * 31.1034768e-3),  # troy ounces (gold)
        ({"value": 1, "unitCode": "STN"}, 907.18474),  # short ton: 2000 lb
        ({"value": 1, "unitCode": "LTN"}, 1016.0469088),  # long ton: 2240 lb
        ({"value": 1.5, "unitCode": "TNE"}, 1500.0),
        ({"@value": 250, "measurementUnitCode": "MGM"}, 250e-6),
        ("11.5 KGM", 11.5),  # the Web Vocabulary's own example text
        ("11.5 kgm", 11.5),
    ],
)
def test_unit_codes_convert_to_kg(weight: Any, kg: float) -> None:
    """UN/ECE Rec 20 codes, exact by the 1959 yard and pound agreement for LBR/ONZ/APZ/STN/LTN."""
    imp = import_document(_document(drum_weight=weight))
    assert imp.network.events[0].outputs[0].mass_per_instance_kg == pytest.approx(kg, rel=1e-12)


def test_unit_table_matches_the_definitions() -> None:
    """Rec 20 mass codes against their definitions, derived independently of the table."""
    lb_kg = 0.45359237
    assert UOM_TO_T["LBR"] * 1e3 == pytest.approx(lb_kg, rel=1e-15)
    assert UOM_TO_T["ONZ"] * 1e3 == pytest.approx(lb_kg / 16, rel=1e-15)
    assert UOM_TO_T["APZ"] * 1e3 == pytest.approx(480 * 64.79891e-6, rel=1e-15)  # 480 grains
    assert UOM_TO_T["STN"] == pytest.approx(2000 * lb_kg / 1e3, rel=1e-15)
    assert UOM_TO_T["LTN"] == pytest.approx(2240 * lb_kg / 1e3, rel=1e-15)
    for code, power in {"KTN": 3, "KGM": -3, "HGM": -4, "DJ": -5, "GRM": -6}.items():
        assert UOM_TO_T[code] == pytest.approx(10.0**power, rel=1e-15)
    for code, power in {"DG": -7, "CGM": -8, "MGM": -9, "MC": -12}.items():
        assert UOM_TO_T[code] == pytest.approx(10.0**power, rel=1e-15)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ({"gs1:value": 9, "gs1:unitCode": "LTR"}, "unknown mass unit 'LTR' for a net weight"),
        ({"gs1:value": -1, "gs1:unitCode": "KGM"}, "expected a net weight > 0, got -1 KGM"),
        ({"gs1:value": "heavy", "gs1:unitCode": "KGM"}, "expected a number, got 'heavy'"),
    ],
)
def test_bad_net_weight_is_one_line_naming_the_attribute(weight: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        import_document(_document(drum_weight=weight), source="feed.jsonld")
    assert "vocabularyList[1].vocabularyElementList[0].attributes[0].attribute" in str(err.value)


@pytest.mark.parametrize("weight", [9, "9", {"gs1:value": 9}])
def test_net_weight_without_unit_is_reported_not_used(weight: Any) -> None:
    """9 could be kg, lb or t: a weight without its unit gives no mass. The import names
    where it is written and keeps the drums as counts without mass."""
    imp = import_document(_document(drum_weight=weight), source="feed.jsonld")
    assert imp.summary.counts_without_mass == [_drum(1), _drum(2)]
    (line,) = imp.summary.weights_without_unit
    assert line.startswith(
        "feed.jsonld: epcisHeader.epcisMasterData.vocabularyList[1].vocabularyElementList[0]"
        ".attributes[0].attribute: net weight"
    )
    assert "has no unit, not used as a mass" in line


def test_net_content_that_is_not_a_mass_leaves_a_count_without_mass() -> None:
    """A net content in pieces or litres says nothing about mass: the lot stays a count and
    the import lists it (origin by mass would refuse it, naming the lot)."""
    imp = import_document(_document(ore_content={"gs1:value": 20, "gs1:unitCode": "LTR"}))
    assert imp.summary.counts_without_mass == [ORE_LOT]


def test_critmin_attribute_overrides_and_nearest_element_wins() -> None:
    """``critmin:massPerInstanceKg`` on the GTIN overrides its ``gs1:netWeight``; an instance's
    own net weight overrides its GTIN's."""
    doc = _document()
    classes = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"]
    classes[0]["attributes"].append({"id": "critmin:massPerInstanceKg", "attribute": 150})
    classes.append(
        {
            "id": _drum(2),
            "attributes": [
                {"id": "gs1:netWeight", "attribute": {"gs1:value": 180, "gs1:unitCode": "KGM"}}
            ],
        }
    )
    drums = import_document(doc).network.events[0].outputs
    assert [q.mass_per_instance_kg for q in drums] == [150.0, 180.0]


# ---- counts without a mass per instance that no event produces ------------------------------


def _net_with_orphan_counts(counts: list[int], kg: float | None) -> SupplyNetwork:
    base = import_document(_document()).network
    lots = tuple(
        Lot(id=f"urn:epc:class:lgtin:1.2.C{i}", qty=c, uom=None, mass_per_instance_kg=kg)
        for i, c in enumerate(counts)
    )
    return SupplyNetwork(facilities=base.facilities, lots=lots, events=())


def test_count_lot_no_event_produces_stays_a_count() -> None:
    """Issue 10: a lot of 40 instances with no mass per instance that no event produces was
    written with ``critmin:quantity`` 40 and no unit, and read back as 40 t. It is now written
    with ``critmin:uom`` ``H87`` (UN/ECE Rec 20 "piece") and comes back as a count of 40,
    listed among the lots counted without mass."""
    net = _net_with_orphan_counts([40], None)
    doc = to_epcis(net)
    attrs = {
        a["id"]: a["attribute"]
        for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        for e in v["vocabularyElementList"]
        for a in e.get("attributes", [])
    }
    assert attrs["critmin:uom"] == "H87"
    imp = import_document(json.loads(json.dumps(doc)))
    lot = imp.network.lots[0]
    assert (lot.qty, lot.uom, lot.mass_per_instance_kg) == (40.0, None, None)
    assert imp.summary.counts_without_mass == ["urn:epc:class:lgtin:1.2.C0"]
    assert imp.network == net


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
    kg=st.one_of(st.none(), st.floats(0.001, 1e4, allow_nan=False)),
    produced=st.booleans(),
)
def test_counts_round_trip_with_or_without_mass(
    counts: list[int], kg: float | None, produced: bool
) -> None:
    """Hypothesis: count lots, with or without a mass per instance, produced by an event or
    only declared in master data, survive export -> import as counts."""
    net = _net_with_orphan_counts(counts, kg)
    if produced:
        ev = Extraction(
            id="urn:uuid:1",
            time="2027-01-01T00:00:00Z",
            facility=_loc("00001"),
            outputs=tuple(
                Quantity(lot=lot.id, qty=lot.qty, uom=None, mass_per_instance_kg=kg)
                for lot in net.lots
            ),
        )
        net = net.model_copy(update={"events": (ev,)})
    assert from_epcis(json.loads(json.dumps(to_epcis(net)))) == net


def test_exports_with_net_weights_and_count_units_are_schema_valid() -> None:
    """The ``gs1:netWeight`` objects and ``critmin:uom`` H87 keep exports valid against GS1's
    EPCIS 2.0 JSON schema (committed in tests/trace/data/gs1)."""
    from tests.trace.test_schema import _errors

    assert _errors(to_epcis(import_document(_document()).network)) == []
    assert _errors(to_epcis(_net_with_orphan_counts([40, 3], None))) == []


def test_ilmd_net_weight_of_what_an_event_makes() -> None:
    """An event's instance/lot master data (``ilmd``) gives the net weight of what it
    commissions or outputs: the oxide's 5 kg now comes from the transformation's
    ``ilmd`` (``cbvmda:netWeight`` 5000 GRM) instead of class master data, and a later
    shipment of that lot, written as a count, finds the same mass: 100 x 5 kg = 0.5 t."""
    doc = _document()
    classes = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"]
    del classes[2]  # the oxide's class master data
    events = doc["epcisBody"]["eventList"]
    events[2]["ilmd"] = {
        "cbvmda:netWeight": {"value": 5000, "measurementUnitCode": "GRM"},
        "cbvmda:lotNumber": "OX",
    }
    ship = _ev(
        "ObjectEvent",
        4,
        "00003",
        action="OBSERVE",
        bizStep="shipping",
        quantityList=[{"epcClass": OXIDE, "quantity": 100}],
        sourceList=[{"type": "location", "source": _loc("00003")}],
        destinationList=[{"type": "location", "destination": _loc("00001")}],
    )
    events.append(ship)
    imp = import_document(doc)
    assert imp.summary.counts_without_mass == []
    shipped = imp.network.events[3]
    assert shipped.lots[0].qty_t == pytest.approx(0.5)
    # exported with the mass on the lot's master data; the same network comes back
    assert from_epcis(json.loads(json.dumps(to_epcis(imp.network)))) == imp.network


def test_ilmd_weight_without_unit_is_reported_at_its_path() -> None:
    """GS1's JSON examples carry ``"cbvmda:netWeight": "3.5"`` in ILMD (the XML's
    measurementUnitCode lost in conversion): the document imports, the weight is reported
    where it is written, and the oxide is a count without mass."""
    doc = _document()
    del doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"][2]
    doc["epcisBody"]["eventList"][2]["ilmd"] = {"cbvmda:netWeight": "3.5"}
    imp = import_document(doc, source="feed.jsonld")
    (line,) = imp.summary.weights_without_unit
    assert line.startswith("feed.jsonld: epcisBody.eventList[2].ilmd.cbvmda:netWeight: ")
    assert imp.summary.counts_without_mass == [OXIDE]


@pytest.mark.parametrize("uom", [{}, [], 3])
def test_quantity_unit_that_is_not_a_string_is_one_line(uom: Any) -> None:
    """Found by the fuzz contract: an object as ``uom`` is refused at its path, never a
    TypeError from the count-unit lookup."""
    doc = _document()
    doc["epcisBody"]["eventList"][1]["quantityList"][0]["uom"] = uom
    with pytest.raises(InputError, match="unknown unit") as err:
        import_document(doc, source="feed.jsonld")
    assert "epcisBody.eventList[1].quantityList[0].uom" in str(err.value)
