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

# USGS Final 2025 List of Critical Minerals (90 FR 50494): added copper, silver, uranium,
# boron, lead, metallurgical coal,
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
        assert p.parent_content_t_per_t > 0
        assert p.share_of_parent_output is None or 0 < p.share_of_parent_output <= 1
        assert p.yield_from_parent is None or 0 < p.yield_from_parent <= 1
        assert p.parent_content_note, p.id
        get_mineral(p.mineral_id)
        parse_stage(p.stage)
    assert resolve_material("NdPr oxide") == "ndpr_oxide"
    assert "content_share" not in type(get_product("ndpr_oxide")).model_fields


def test_parent_content_by_stoichiometry() -> None:
    """IUPAC atomic weights: Li 6.941, C 12.011, O 15.999, H 1.008, Co 58.933, S 32.06,
    Ni 58.693, Ti 47.867, Nd 144.242.

    Li2CO3 = 73.89 -> 2 x 6.941 / 73.89 = 0.1879 t Li; LiOH.H2O = 41.96 -> 0.1654 t Li;
    CoSO4.7H2O = 281.10 -> 0.2096 t Co; NiSO4.6H2O = 262.85 -> 0.2233 t Ni;
    TiO2 = 79.866 -> 0.5993 t Ti; an oxide of rare earths is 1 t REO per t by definition;
    NdPr metal: Nd2O3 = 336.48, 2 x 144.242 / 336.48 = 0.8574 t metal per t oxide, so one
    tonne of metal is 1 / 0.8574 = 1.1663 t REO.
    """
    cases = {
        "lithium_carbonate": 2 * 6.941 / 73.89,
        "lithium_hydroxide": 6.941 / 41.96,
        "cobalt_sulfate": 58.933 / 281.10,
        "nickel_sulfate": 58.693 / 262.85,
        "ilmenite": 47.867 / 79.866,
        "ndpr_oxide": 1.0,
        "dysprosium_oxide": 1.0,
        "terbium_oxide": 1.0,
        "spherical_graphite": 1.0,
        "ndpr_metal": 336.48 / (2 * 144.242),
    }
    for pid, expected in cases.items():
        assert get_product(pid).parent_content_t_per_t == pytest.approx(expected, rel=1e-3), pid


def test_magnet_parent_content_is_rare_earth_metal_as_oxide() -> None:
    """0.31 t rare-earth metal per t of sintered NdFeB (~29-32 wt%, Gutfleisch et al. 2011)
    on the REO basis: 0.31 / 0.8574 (Nd2O3 metal fraction) = 0.3616 t REO per t magnet."""
    magnet = get_product("ndfeb_magnet")
    assert magnet.parent_content_t_per_t == pytest.approx(0.31 / (2 * 144.242 / 336.48), 1e-3)
    assert magnet.parent_content_estimate
    assert magnet.share_of_parent_output is None


def test_share_and_yield_only_where_meaningful() -> None:
    shares = {p.id for p in list_products() if p.share_of_parent_output is not None}
    assert shares == {"ndpr_oxide", "dysprosium_oxide", "terbium_oxide"}
    yields = {p.id: p.yield_from_parent for p in list_products() if p.yield_from_parent}
    assert set(yields) == {"spherical_graphite"}
    assert 0.3 <= yields["spherical_graphite"] <= 0.5
    assert get_product("spherical_graphite").yield_from_parent_estimate


def test_ree_shares_of_parent_output_are_the_weighted_world_averages() -> None:
    """share_of_parent_output(x) = world x contained in mined REO / world mined REO (2024),
    both from the production table; NdPr ~0.22, Dy ~0.011, Tb ~0.002."""
    from critmin.catalog.production import production_table

    df = production_table()
    y = df[(df["year"] == 2024) & (df["stage"] == "mine")]
    reo = y[y["mineral"] == "rare_earths"]["qty"].sum()
    for pid, lo, hi in (
        ("ndpr_oxide", 0.15, 0.30),
        ("dysprosium_oxide", 0.005, 0.02),
        ("terbium_oxide", 0.001, 0.004),
    ):
        contained = y[y["mineral"] == pid]["qty"].sum()
        share = get_product(pid).share_of_parent_output
        assert share == pytest.approx(contained / reo, abs=1e-4), pid
        assert lo < contained / reo < hi


def test_stages() -> None:
    assert parse_stage("Refining ") is Stage.REFINING
    assert parse_stage("separation") is Stage.REFINING
    with pytest.raises(UnknownNameError, match="did you mean metal"):
        parse_stage("metl")
