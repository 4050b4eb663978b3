"""One-year export disruptions by exporter and stage, shaped like the USGS 2025 method.

The U.S. Geological Survey's technical input for the 2025 List of Critical Minerals
(Nassar et al., "Methodology and Technical Input for the 2025 U.S. List of Critical
Minerals - Assessing the Potential Effects of Mineral Commodity Supply Chain Disruptions on
the U.S. Economy", USGS Open-File Report 2025-1047, doi:10.3133/ofr20251047) evaluates over
1,200 year-long foreign trade disruption scenarios (by commodity, exporting country and
disruption size), weights each by its probability and reports probability x impact.

A study's ``disruptions:`` section states the same shape for one critmin chain: for each
(exporter, stage), the annual probability of withholding each share of its exports for
``length_months`` from ``start``. :func:`expand_disruptions` turns it into named shock sets
and one categorical input whose weights are those probabilities (the rest of the year's
probability goes to ``none``); an ``enumerate`` design then runs each event once, and the
summary reports, per outcome, each event's probability, outcome, impact against ``none``,
probability x impact and the expected impact.

A full disruption (size 1.0) is an export ban of the stage's products. A partial one caps
the exporter's exports of each product at ``(1 - size)`` x its mean monthly exports in the
window of a run of the base scenario without the disruption (an export quota): the base is
solved once, when the study is read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from critmin.scenarios.sweep.distributions import Categorical
from critmin.scenarios.sweep.study import Disruptions, Input, LoadedStudy, Study
from critmin.yamlio import Document

NONE = "none"


def event_name(exporter: str, stage: str, size: float) -> str:
    return f"{exporter.lower()}_{stage}_{round(size * 100):d}pct"


def _window(d: Disruptions) -> tuple[str, str]:
    from critmin.periods import month_index, month_label

    start = month_index(d.start)
    return d.start, month_label(start + d.length_months - 1)


def baseline_exports(
    data: dict[str, Any], mineral: str, exporter: str, products: list[str], window: tuple[str, str]
) -> dict[str, float]:
    """Mean monthly exports (t) of each product from ``exporter`` to other regions over the
    window, in a run of the base scenario (its own shocks and instruments included)."""
    from critmin.market.compile import compile_market
    from critmin.market.engine import run_market
    from critmin.scenarios.sweep.evaluate import build_scenario

    scenario = build_scenario(data, "disruptions: base run")
    months = scenario.month_labels()
    lo, hi = window
    in_window = np.array([lo <= m <= hi for m in months])
    market = next(m for m in scenario.markets or [] if m.mineral == mineral)
    specs = scenario.instrument_specs()
    cm = compile_market(market, months, scenario.shocks)
    run = run_market(cm, [s.build() for s in specs if s.mineral in (None, mineral)])
    out: dict[str, float] = {}
    src_region = cm.node_region[cm.r_from_node]
    dst_region = cm.node_region[cm.r_to_node]
    src_product = cm.node_product[cm.r_from_node]
    e = cm.regions.index(exporter)
    for p in products:
        k = cm.products.index(p)
        routes = np.flatnonzero((src_region == e) & (dst_region != e) & (src_product == k))
        flows = run.flow[in_window][:, routes].sum(axis=1)
        out[p] = float(flows.mean()) if len(flows) else 0.0
    return out


# long: each step of the USGS-shaped generator in order, as docs/sweeps.md lists them
def expand_disruptions(study: Study, base_dir: str, doc: Document) -> Study:
    """The study with one shock set per disruption event and a categorical input choosing
    among them (weights = the events' probabilities, ``none`` the rest)."""
    from critmin.market.spec import Market
    from critmin.scenarios.sweep.evaluate import base_data

    d = study.disruptions
    assert d is not None
    loaded = LoadedStudy(study=study, source=doc.name, text="", sha256="", base_dir=base_dir)
    data = base_data(loaded)
    markets = {m["mineral"]: m for m in data.get("markets") or []}
    if d.mineral not in markets:
        raise doc.error(
            ("disruptions", "mineral"),
            f"unknown market {d.mineral!r}; expected one of {sorted(markets)}",
        )
    market = Market.model_validate(markets[d.mineral])
    stages = {p.id: p.stage for p in market.product_defs()}
    regions = market.region_list()
    window = _window(d)
    sets: dict[str, list[dict[str, Any]]] = {NONE: []}
    choices, weights = [NONE], [1.0 - sum(p for ev in d.events for p in ev.probabilities.values())]
    for i, ev in enumerate(d.events):
        where = ("disruptions", "events", i)
        if ev.exporter not in regions:
            raise doc.error(
                (*where, "exporter"), f"unknown region {ev.exporter!r}; expected one of {regions}"
            )
        products = ev.products or [p for p, st in stages.items() if st == ev.stage]
        bad = [p for p in products if stages.get(p) != ev.stage]
        if not products or bad:
            known = sorted(set(stages.values()))
            raise doc.error(
                (*where, "stage"),
                f"no product of stage {ev.stage!r} ({bad or 'none'}); stages: {known}",
            )
        exports: dict[str, float] | None = None
        for size, prob in sorted(ev.probabilities.items()):
            name = event_name(ev.exporter, ev.stage, size)
            note = {"source": ev.source, "estimate": ev.estimate} if ev.source else {}
            if size >= 1.0:
                shocks: list[dict[str, Any]] = [
                    {
                        "kind": "export_ban",
                        "mineral": d.mineral,
                        "exporter": ev.exporter,
                        "product": products,
                        "start": window[0],
                        "end": window[1],
                        **note,
                    }
                ]
            else:
                if exports is None:
                    exports = baseline_exports(data, d.mineral, ev.exporter, products, window)
                shocks = [
                    {
                        "kind": "export_quota",
                        "mineral": d.mineral,
                        "exporter": ev.exporter,
                        "product": p,
                        "qty_t": (1.0 - size) * exports[p],
                        "start": window[0],
                        "end": window[1],
                        **note,
                    }
                    for p in products
                ]
            sets[name] = shocks
            choices.append(name)
            weights.append(prob)
    weights[0] = max(weights[0], 0.0)
    choice = Input(
        name=d.name,
        distribution=Categorical(kind="categorical", choices=choices, weights=weights),
        source="study disruptions: probabilities as stated per event",
        estimate=any(ev.estimate for ev in d.events),
    )
    return study.model_copy(
        update={
            "shock_sets": {**study.shock_sets, **sets},
            "uncertainties": [choice, *study.uncertainties],
        }
    )
