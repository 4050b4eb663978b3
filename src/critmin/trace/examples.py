"""Small hand-built networks used by the docs, the example files and the tests.

``magnet_chain(china_oxide_t)``: Australian concentrate (Mt Weld) separated in Malaysia
(Kuantan) into NdPr oxide, reduced to metal and made into magnets in Japan, magnets built into
motors in Japan and shipped to a US buyer. With ``china_oxide_t > 0`` a lot of oxide separated
in China (Baotou, from Bayan Obo concentrate) is blended in at the metal step.
Facility names are illustrative; quantities are round numbers chosen for hand derivation.
"""

from __future__ import annotations

import datetime as dt

from critmin.trace.model import (
    Extraction,
    Facility,
    Lot,
    Quantity,
    Shipment,
    SupplyNetwork,
    Transformation,
)

_T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def _t(days: int) -> dt.datetime:
    return _T0 + dt.timedelta(days=days)


def _lot(n: str) -> str:
    return f"urn:epc:class:lgtin:0614141.{n}"


def _loc(n: str) -> str:
    return f"urn:epc:id:sgln:0614141.{n}.0"


# long: a worked example written out as data: its facilities, lots and events, one per line
def magnet_chain(china_oxide_t: float = 0.0) -> SupplyNetwork:
    """Concentrate -> oxide -> metal -> magnet -> motor, optionally with Chinese oxide blended in.

    Quantities (t): 100 concentrate (AUS) -> 30 oxide (MYS, yield 0.3); the metal step takes
    30 t of oxide, ``30 - china_oxide_t`` from the MYS lot and ``china_oxide_t`` from a CHN
    lot, at yield 0.8 -> 24 t metal -> 21.6 t magnets (yield 0.9) -> motors (magnet tonnes).
    Values: concentrate 10 000 USD/t (both origins), MYS oxide
    110 000 USD/t (the seed's 110 USD/kg floor), CHN oxide 60 000 USD/t (~60 USD/kg market).
    """
    if not 0 <= china_oxide_t <= 30:
        raise ValueError("china_oxide_t must be within 0..30 t")
    fac = [
        Facility(id=_loc("00001"), name="Mt Weld", operator="Lynas", country="AUS", stage="mine"),
        Facility(
            id=_loc("00002"), name="Kuantan", operator="Lynas", country="MYS", stage="refining"
        ),
        Facility(
            id=_loc("00003"), name="Metal plant", operator="JP Metals", country="JPN", stage="metal"
        ),
        Facility(
            id=_loc("00004"),
            name="Magnet plant",
            operator="JP Magnets",
            country="JPN",
            stage="component",
        ),
        Facility(
            id=_loc("00005"),
            name="Motor plant",
            operator="JP Motors",
            country="JPN",
            stage="product",
        ),
        Facility(
            id=_loc("00006"), name="US assembly", operator="US Auto", country="USA", stage="product"
        ),
    ]
    mys_used_t = 30.0 - china_oxide_t
    metal_t = 0.8 * 30.0
    magnet_t = 0.9 * metal_t
    lots = [
        Lot(id=_lot("conc.AUS1"), product="rare_earth_concentrate", qty=100, value_usd=1_000_000),
        Lot(id=_lot("oxide.MYS1"), product="ndpr_oxide", qty=30, value_usd=3_300_000),
        Lot(id=_lot("metal.JPN1"), product="ndpr_metal", qty=metal_t, value_usd=140_000 * metal_t),
        Lot(
            id=_lot("magnet.JPN1"),
            product="ndfeb_magnet",
            qty=magnet_t,
            value_usd=160_000 * magnet_t,
        ),
        Lot(
            id=_lot("motor.JPN1"),
            product="traction_motor",
            qty=magnet_t,
            value_usd=250_000 * magnet_t,
        ),
    ]
    metal_inputs = [Quantity(lot=_lot("oxide.MYS1"), qty=mys_used_t)]
    events: list[Extraction | Transformation | Shipment] = [
        Extraction(
            id="E1",
            time=_t(0),
            facility=_loc("00001"),
            outputs=(Quantity(lot=_lot("conc.AUS1"), qty=100),),
        ),
        Transformation(
            id="T1",
            time=_t(10),
            facility=_loc("00002"),
            yield_share=0.3,
            inputs=(Quantity(lot=_lot("conc.AUS1"), qty=100),),
            outputs=(Quantity(lot=_lot("oxide.MYS1"), qty=30),),
        ),
    ]
    if china_oxide_t > 0:
        conc_t = china_oxide_t / 0.3
        fac += [
            Facility(
                id=_loc("00007"),
                name="Bayan Obo",
                operator="Baotou Steel",
                country="CHN",
                stage="mine",
            ),
            Facility(
                id=_loc("00008"),
                name="Baotou separation",
                operator="China Northern RE",
                country="CHN",
                stage="refining",
            ),
        ]
        lots += [
            Lot(
                id=_lot("conc.CHN1"),
                product="rare_earth_concentrate",
                qty=conc_t,
                value_usd=10_000 * conc_t,
            ),
            Lot(
                id=_lot("oxide.CHN1"),
                product="ndpr_oxide",
                qty=china_oxide_t,
                value_usd=60_000 * china_oxide_t,
            ),
        ]
        events += [
            Extraction(
                id="E2",
                time=_t(1),
                facility=_loc("00007"),
                outputs=(Quantity(lot=_lot("conc.CHN1"), qty=conc_t),),
            ),
            Transformation(
                id="T1b",
                time=_t(11),
                facility=_loc("00008"),
                yield_share=0.3,
                inputs=(Quantity(lot=_lot("conc.CHN1"), qty=conc_t),),
                outputs=(Quantity(lot=_lot("oxide.CHN1"), qty=china_oxide_t),),
            ),
        ]
        metal_inputs.append(Quantity(lot=_lot("oxide.CHN1"), qty=china_oxide_t))
    events += [
        Transformation(
            id="T2",
            time=_t(20),
            facility=_loc("00003"),
            yield_share=0.8,
            inputs=tuple(metal_inputs),
            outputs=(Quantity(lot=_lot("metal.JPN1"), qty=metal_t),),
        ),
        Transformation(
            id="T3",
            time=_t(30),
            facility=_loc("00004"),
            yield_share=0.9,
            inputs=(Quantity(lot=_lot("metal.JPN1"), qty=metal_t),),
            outputs=(Quantity(lot=_lot("magnet.JPN1"), qty=magnet_t),),
        ),
        Transformation(
            id="T4",
            time=_t(40),
            facility=_loc("00005"),
            yield_share=1.0,
            inputs=(Quantity(lot=_lot("magnet.JPN1"), qty=magnet_t),),
            outputs=(Quantity(lot=_lot("motor.JPN1"), qty=magnet_t),),
        ),
        Shipment(
            id="S1",
            time=_t(50),
            lots=(Quantity(lot=_lot("motor.JPN1"), qty=magnet_t),),
            source=_loc("00005"),
            destination=_loc("00006"),
        ),
    ]
    return SupplyNetwork(facilities=tuple(fac), lots=tuple(lots), events=tuple(events))


def lot_urn(name: str) -> str:
    """The LGTIN-style URN of an example lot (e.g. ``"magnet.JPN1"``)."""
    return _lot(name)


def location_urn(name: str) -> str:
    """The SGLN-style URN of an example facility (e.g. ``"00002"``)."""
    return _loc(name)
