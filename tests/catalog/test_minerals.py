"""The U.S. critical minerals lists: 50 (2022) and 60 (2025), the 10 additions of FACTS.md."""

from __future__ import annotations

import pytest

from critmin.catalog.minerals import (
    get_mineral,
    get_product,
    list_minerals,
    list_products,
    resolve_material,
)
from critmin.catalog.stages import Stage, parse_stage
from critmin.errors import UnknownNameError

# FACTS.md (seed 000): added copper, silver, uranium, boron, lead, metallurgical coal,
# phosphate, potash, rhenium, silicon.
ADDED_2025 = {
    "copper",
    "silver",
    "uranium",
    "boron",
    "lead",
    "metallurgical_coal",
    "phosphate",
    "potash",
    "rhenium",
    "silicon",
}


def test_list_counts() -> None:
    listed = list_minerals(listed_only=True)
    assert len(listed) == 60
    assert sum(m.in_2022_list for m in list_minerals()) == 50
    assert {m.id for m in listed if not m.in_2022_list} == ADDED_2025
    # every 2022 mineral stayed on the 2025 list
    assert all(m.in_2025_list for m in list_minerals() if m.in_2022_list)


def test_each_mineral_has_group_hs_codes_and_unit() -> None:
    for m in list_minerals():
        assert m.group
        assert m.unit.startswith("t")
        assert m.hs_codes, m.id
        assert all(len(c) == 6 and c.isdigit() for c in m.hs_codes), m.id


@pytest.mark.parametrize(
    ("text", "mid"),
    [
        ("REE", "rare_earths"),
        ("rare earths", "rare_earths"),
        ("Rare-Earths", "rare_earths"),
        ("Lithium ", "lithium"),
        ("aluminium", "aluminum"),
        ("PGMs", "platinum_group_metals"),
        ("columbium", "niobium"),
        ("Metallurgical coal", "metallurgical_coal"),
        ("graphite (natural)", "graphite"),
    ],
)
def test_get_mineral_accepts_names_and_aliases(text: str, mid: str) -> None:
    assert get_mineral(text).id == mid


def test_unknown_mineral_suggests_nearest() -> None:
    with pytest.raises(UnknownNameError, match=r"did you mean lithium"):
        get_mineral("lithum")


def test_products() -> None:
    ids = {p.id for p in list_products()}
    expected = {
        "ndpr_oxide",
        "ndpr_metal",
        "ndfeb_magnet",
        "dysprosium_oxide",
        "terbium_oxide",
        "lithium_carbonate",
        "cobalt_sulfate",
        "nickel_sulfate",
        "natural_graphite",
        "spherical_graphite",
    }
    assert expected <= ids
    for p in list_products():
        assert 0 < p.content_share <= 1
        get_mineral(p.mineral_id)
        parse_stage(p.stage)
    # stoichiometry: Li in Li2CO3 = 2 x 6.941 / 73.89
    assert get_product("lithium_carbonate").content_share == pytest.approx(2 * 6.941 / 73.89, 1e-2)
    assert resolve_material("NdPr oxide") == "ndpr_oxide"


def test_ndpr_content_share_is_the_weighted_world_average() -> None:
    """content_share(ndpr_oxide) = world contained NdPr / world REO, both from production."""
    from critmin.catalog.production import production_table

    df = production_table()
    y = df[(df["year"] == 2024) & (df["stage"] == "mine")]
    ndpr = y[y["mineral"] == "ndpr_oxide"]["qty"].sum()
    reo = y[y["mineral"] == "rare_earths"]["qty"].sum()
    assert get_product("ndpr_oxide").content_share == pytest.approx(ndpr / reo, abs=1e-4)
    assert 0.15 < ndpr / reo < 0.30


def test_stages() -> None:
    assert parse_stage("Refining ") is Stage.REFINING
    assert parse_stage("separation") is Stage.REFINING
    with pytest.raises(UnknownNameError, match="did you mean metal"):
        parse_stage("metl")
