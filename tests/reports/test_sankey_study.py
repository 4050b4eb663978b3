"""The Sankey of the seed study follows each chain and agrees with the run's results."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.reports.contract import run_view
from critmin.reports.figures import sankey_chains, sankey_links
from critmin.scenarios.loader import load_study
from critmin.scenarios.runner import run_study


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, dict]:  # type: ignore[type-arg]
    return run_study(load_study([]))


def test_links_follow_the_chain_and_add_up_to_conversion_and_consumption(
    study: tuple[pd.DataFrame, dict],  # type: ignore[type-arg]
) -> None:
    """For every scenario and chain of the default study: no link runs from a later stage to
    an earlier one (or stays in its stage); the links into each region's next-stage node
    from a product add up to that region's conversion input of it, the links into "· use" to
    its consumption and the links into "· into stockpile" to a stockpile's purchases of it
    (the model's own tonnes, within 1e-6 relative) -- wherever the region's supply covers
    them all. The managed market's USA stockpile buys magnets and oxide, so its purchases
    are drawn there."""
    series, summary = study
    view = run_view(series, summary)
    chains = sankey_chains(view)
    assert chains == [
        ["ndpr_concentrate", "ndpr_oxide", "ndpr_metal", "ndfeb_magnet"],
        ["dysprosium_oxide"],
        ["terbium_oxide"],
    ]
    label = {p.mineral: p.label for p in view.products}
    purchases_drawn: list[tuple[str, str, str]] = []
    for scenario in view.scenario_names:
        sc = series[series["scenario"] == scenario]
        for chain in chains:
            links = sankey_links(view, scenario, chain)
            assert not links.empty
            assert (
                (links["target_col"] == links["source_col"] + 1)
                .where(~links["target"].str.endswith(("· use", "· into stockpile")), True)
                .all()
            )
            assert (links["target_col"] > links["source_col"]).all()
            for k, product in enumerate(chain):
                rows = sc[sc["product"] == product]
                cons = rows[rows["variable"] == "consumption"].groupby("region")["value"].sum()
                conv = rows[rows["variable"] == "conversion_input"].groupby("region")["value"].sum()
                bought = (
                    rows[rows["variable"] == "stock_purchases"].groupby("region")["value"].sum()
                )
                from_p = links[links["source_col"] == k]
                for region, value in bought.items():
                    if value <= 1e-6:
                        continue
                    drawn_t = from_p.loc[
                        from_p["target"] == f"{region} · into stockpile", "value_t"
                    ].sum()
                    assert drawn_t == pytest.approx(value, rel=1e-6), (scenario, product, region)
                    purchases_drawn.append((scenario, product, region))
                for region, value in cons.items():
                    if value <= 1e-6:
                        continue
                    drawn = from_p.loc[from_p["target"] == f"{region} · use", "value_t"].sum()
                    assert drawn == pytest.approx(value, rel=1e-6), (scenario, product, region)
                if k + 1 < len(chain):
                    nxt = label[chain[k + 1]]
                    for region, value in conv.items():
                        if value <= 1e-6:
                            continue
                        drawn = from_p.loc[from_p["target"] == f"{region} · {nxt}", "value_t"].sum()
                        assert drawn == pytest.approx(value, rel=1e-6), (scenario, product, region)
    assert ("managed_market", "ndfeb_magnet", "USA") in purchases_drawn
    assert ("managed_market", "ndpr_oxide", "USA") in purchases_drawn
