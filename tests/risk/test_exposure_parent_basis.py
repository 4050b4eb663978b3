"""``annual_mineral_t`` is on the parent mineral's basis for every kind of product.

Hand computations (IUPAC atomic weights; product factors as documented in docs/data.md).
"""

from __future__ import annotations

import pytest

from critmin.catalog.exposure import ExposureLine, compute_exposure, parse_bom_text

# Nd2O3 = 336.48 g/mol, 2 Nd = 288.484: metal is 0.8574 of the oxide's mass
ND_METAL_PER_OXIDE = 2 * 144.242 / 336.48


def _line(product: str, kg_per_unit: float, units: float) -> ExposureLine:
    text = (
        f"name: hand case\nunits_per_year: {units}\nitems:\n"
        f"  - product: {product}\n    kg_per_unit: {kg_per_unit}\n    source: hand\n"
    )
    bom, lines = parse_bom_text(text, "hand.yaml")
    return compute_exposure(bom, lines, path="hand.yaml").lines[0]


def test_lithium_carbonate_is_counted_as_lithium_content() -> None:
    """38.5 kg Li2CO3 per pack x 1,000 packs = 38.5 t Li2CO3;
    x 2 x 6.941 / 73.89 (Li in Li2CO3) = 38.5 x 0.18787 = 7.233 t Li (USGS lithium basis)."""
    line = _line("lithium_carbonate", 38.5, 1000)
    assert line.annual_product_t == pytest.approx(38.5)
    assert line.mineral == "lithium"
    assert line.annual_mineral_t == pytest.approx(7.233, rel=1e-3)
    assert line.annual_mineral_input_t == pytest.approx(line.annual_mineral_t)


def test_ndpr_oxide_is_counted_one_to_one_as_reo() -> None:
    """0.494 kg NdPr oxide per motor x 100,000 motors = 49.4 t NdPr oxide; an oxide of rare
    earths is REO, so 49.4 t REO — not 49.4 x 0.22 = 10.9 t (its share of REO output), which
    the old single ``content_share`` gave."""
    line = _line("ndpr_oxide", 0.494, 100_000)
    assert line.mineral == "rare_earths"
    assert line.mineral_unit == "t REO"
    assert line.annual_mineral_t == pytest.approx(49.4)


def test_magnet_is_counted_as_its_rare_earth_content_in_reo() -> None:
    """1.5 kg sintered NdFeB per motor x 100,000 = 150 t magnet; 31 wt% rare-earth metal =
    46.5 t RE metal; as oxide 46.5 / 0.8574 = 54.23 t REO."""
    line = _line("ndfeb_magnet", 1.5, 100_000)
    assert line.annual_product_t == pytest.approx(150.0)
    assert line.annual_mineral_t == pytest.approx(150 * 0.31 / ND_METAL_PER_OXIDE, rel=1e-3)
    assert line.annual_mineral_t == pytest.approx(54.23, rel=1e-3)


def test_spherical_graphite_needs_concentrate_over_the_yield() -> None:
    """66 kg spherical graphite per car x 1,000 cars = 66 t graphite contained; at a 0.4 t/t
    spheronisation yield the flake concentrate fed is 66 / 0.4 = 165 t."""
    line = _line("spherical_graphite", 66, 1000)
    assert line.annual_mineral_t == pytest.approx(66.0)
    assert line.yield_from_parent == pytest.approx(0.4)
    assert line.annual_mineral_input_t == pytest.approx(165.0)


def test_a_mineral_id_is_its_own_basis() -> None:
    """A BOM line naming the mineral itself: 2 kg x 500 = 1 t, factor 1."""
    line = _line("cobalt", 2.0, 500)
    assert line.annual_mineral_t == pytest.approx(1.0)
    assert line.parent_content_t_per_t == 1.0
