"""critmin's EU-method supply risk against the European Commission's published 2023 values.

``python scripts/compare_eu_sr.py [--year 2024] [--wgi six-dimensions|political-stability]
[--json PATH]``: computes
``critmin risk --method eu-crm --all`` (the bottleneck SR of every mineral with EU-method
parameters), matches each to the material the 2023 assessment scored (LREE <- NdPr oxide,
HREE <- Dy oxide, PGMs <- platinum, ...), prints both, their ranks and the rank difference
material by material, the reason for each large difference, and Spearman's rank
correlation (also with the other WGI basis, for comparison).

The reason is computed, not written by hand. critmin takes the study's own EoL-RIR and SI_SR,
so F = (1 - EoL-RIR) x SI_SR is shared and the concentration term the EU's published SR
implies is C_EU = SR_EU / F; it is set beside critmin's (its SR / F, with its stage and top
producer) and beside the term the EU study's own Appendix-7 shares give through the same
formula with critmin's WGI (which separates production data from what the data here cannot
tell: the study's WGI years and scaling, t, sourcing cut-offs). The published scores are the
reference only: no parameter is fitted to them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

# A rank gap of 5 places or more (of ~39) is "large": it gets a reason. Ties share an
# average rank, so 5 is about one eighth of the list.
LARGE_RANK_GAP = 5
# the materials the EU scores as a group or under another form, and what critmin scores
PROXIES = {
    "ndpr_oxide": "NdPr oxide (the LREE group's bottleneck, neodymium's SI_SR)",
    "dysprosium_oxide": "Dy oxide (dysprosium's SI_SR)",
    "platinum": "platinum (platinum's SI_SR)",
    "ilmenite": "ilmenite (USGS ilmenite mine output)",
    "titanium": "titanium sponge",
}


# Two concentration terms "differ" when they are more than 15 % apart (ratio outside
# 1/1.15..1.15): one-decimal rounding of the published SR alone moves the implied term by up to
# 0.05 / SR (10 % at SR 0.5, 5 % at SR 1), so 15 % is more than rounding for every material
# with a large rank gap here (all have SR >= 0.5).
DIFF_RATIO = 1.15


def _differs(a: float, b: float) -> bool:
    return not (a > 0 and b > 0 and 1 / DIFF_RATIO <= a / b <= DIFF_RATIO)


def _g10(rec: dict[str, Any]) -> pd.Series:
    """critmin's 0..10 governance term on the record's WGI basis and year."""
    from critmin.catalog import governance
    from critmin.catalog import metrics as m

    wgi_year = int(rec["wgi_year"])
    w = (
        governance.political_stability(wgi_year)
        if rec["wgi_basis"].startswith("WGI political stability")
        else governance.wgi_mean(wgi_year)
    )
    return m.instability(w, scale=10.0)


def _series(tab: pd.DataFrame, col: str) -> pd.Series:
    return pd.Series(tab[col].to_numpy(dtype=float), index=tab["country_iso3"].astype(str))


def _eu_tables_term(eu_name: str, stage: str, g10: pd.Series, ir: float | None) -> float | None:
    """The concentration term GS x IR/2 + EU x (1 - IR/2) built from the EU study's own
    Appendix-7 shares (global and EU sourcing, with their t) and critmin's WGI: the same
    formula as critmin's record, only the shares changed. None without a global table."""
    from critmin.catalog import metrics as m
    from critmin.catalog.eu_crm import MIN_SOURCING_COVERAGE

    gs_tab = _table(eu_name, stage, "global")
    if gs_tab.empty:
        return None
    eu_tab = _table(eu_name, stage, "eu_sourcing")
    eu_share = (
        _series(eu_tab, "share")
        if not eu_tab.empty and float(eu_tab["share"].sum()) >= MIN_SOURCING_COVERAGE
        else None
    )
    _, _, term = m.eu_supply_risk_parts(
        _series(gs_tab, "share"),
        g10,
        sourcing_share=eu_share,
        import_reliance=ir or 0.0,
        trade_factor=_series(gs_tab, "t"),
        sourcing_trade_factor=_series(eu_tab, "t"),
    )
    return float(term)


def _top_eu(eu_name: str, stage: str) -> str:
    tab = _table_rows(eu_name, stage)
    if tab.empty:
        return "no EU table"
    top = tab.sort_values("share", ascending=False).iloc[0]
    return f"{top['country_iso3']} {float(top['share']):.0%}"


def _table(eu_name: str, stage: str, which: str) -> pd.DataFrame:
    from critmin.catalog.eu_crm import _table as table

    return table(eu_name, stage, which)


def _table_rows(eu_name: str, stage: str) -> pd.DataFrame:
    return _table(eu_name, stage, "global")


def _top_critmin(mid: str, cst: str, year: int) -> str:
    """critmin's leading producer and its share of the USGS world total at that stage."""
    from critmin.catalog import production as prod
    from critmin.catalog.risk import _world_totals

    t = prod.production_table()
    rows = t[(t["year"] == year) & (t["mineral"] == mid) & (t["stage"].astype(str) == cst)]
    qty = pd.to_numeric(rows["qty"], errors="coerce").groupby(rows["country_iso3"]).sum()
    total = _world_totals(year).get((mid, cst), (float(qty.sum()), False))[0]
    src = str(rows["source"].iloc[0]).split(" (")[0].split(",")[0]
    return f"{qty.idxmax()} {float(qty.max()) / total:.0%} of {cst} output, {src}"


def decompose(
    mid: str, recs: dict[str, dict[str, Any]], eu_sr: float, sr_name: str, assessed: set[str]
) -> dict[str, Any]:
    """Back out the concentration term the EU's published SR implies and set it beside
    critmin's and the one the EU's own shares give through critmin's formula.

    SR = C x (1 - EoL-RIR) x SI_SR with C = HHI_WGI,t(GS) x IR/2 + HHI_WGI,t(EU) x (1 - IR/2)
    at the bottleneck stage; critmin uses the study's own EoL-RIR and SI_SR, so
    F = (1 - EoL-RIR) x SI_SR is shared and C_EU = SR_EU / F."""
    b = next(iter(recs.values()))["bottleneck_stage"]
    rb = recs[b]
    f = (1.0 - rb["eol_rir"]) * rb["si_sr"]
    g10 = _g10(rb)
    from critmin.catalog.eu_crm import parameters_table

    params = parameters_table().set_index("mineral").loc[mid]
    tab: dict[str, float] = {}
    for st in sorted(assessed):
        ir = recs[st]["import_reliance"] if st in recs else None
        if ir is None:
            v = params.get(f"ir_{st.lower()}")
            ir = None if pd.isna(v) else float(str(v))
        term = _eu_tables_term(rb["eu_name"], st, g10, ir)
        if term is not None:
            tab[st] = term
    st_tab = max(tab, key=lambda k: tab[k]) if tab else None
    return {
        "factor": f,
        "c_eu": eu_sr / f,
        "c_critmin": rb["sr"] / f,
        "stage": b,
        "critmin_stage": rb["critmin_stage"],
        "c_eu_tables": tab.get(st_tab) if st_tab else None,
        "eu_tables_stage": st_tab,
        "c_critmin_at_eu_stage": (
            recs[st_tab]["sr"] / f if st_tab in recs and recs[st_tab]["sr"] else None
        ),
        "proxy": sr_name,
    }


def _reasons(mid: str, d: dict[str, Any], rb: dict[str, Any], year: int) -> list[str]:
    """Each clause computed from the decomposition; where the data cannot tell, it says so."""
    out = [
        f"concentration term: EU implies {d['c_eu']:.2f} (SR / F, F = (1-EoL-RIR) x SI_SR = "
        f"{d['factor']:.3f}), critmin {d['c_critmin']:.2f} at {d['stage']} "
        f"({_top_critmin(mid, d['critmin_stage'], year)})"
    ]
    st = d["eu_tables_stage"]
    if st is None:
        out.append("the EU tables here give no global shares for it: the EU's side cannot be split")
        return out
    out.append(
        f"the EU's own shares at {st} ({_top_eu(rb['eu_name'], st)}) with critmin's WGI, t, IR "
        f"give {d['c_eu_tables']:.2f}"
    )
    causes = []
    if d["stage"] != st:
        at = d["c_critmin_at_eu_stage"]
        causes.append(
            f"bottleneck differs: critmin's is {d['stage']} ({d['critmin_stage']}), the EU's "
            f"tables assess {st} only, "
            + (
                f"where critmin's term is {at:.2f}"
                if at is not None
                else "for which critmin has no production data"
            )
        )
    same = d["c_critmin_at_eu_stage"] if d["stage"] != st else d["c_critmin"]
    if same is not None and _differs(same, d["c_eu_tables"]):
        causes.append(f"production data: critmin's shares and the EU's differ at {st}")
    if any(e.startswith("global supply shares") for e in rb["estimates"]):
        causes.append(f"critmin's {d['critmin_stage']} shares are catalog estimates")
    if mid in PROXIES:
        causes.append(f"critmin approximates the EU's {d['proxy']} by {PROXIES[mid]}")
    if _differs(d["c_eu_tables"], d["c_eu"]):
        gs, eu = _table_rows(rb["eu_name"], st), _table(rb["eu_name"], st, "eu_sourcing")
        same_tab = (
            not eu.empty
            and _top_eu(rb["eu_name"], st).split()[0]
            == str(eu.sort_values("share").iloc[-1]["country_iso3"])
            and abs(float(gs["share"].max()) - float(eu["share"].max())) < 0.02
        )
        causes.append(
            "the EU's own shares through the same formula miss its implied term by "
            f"{d['c_eu_tables'] / d['c_eu'] - 1:+.0%}: not determinable from the data here "
            "(the study's WGI years and scaling, t values outside the transcription, its "
            "EU-sourcing cut-off)"
            + (
                "; the transcribed EU-sourcing table repeats the global one (same leader, "
                "same share), to check against the report"
                if same_tab
                else ""
            )
        )
    if not causes:
        causes.append(
            "all terms within 15 %: near-tied scores, a rank effect"
            if not _differs(d["c_critmin"], d["c_eu"])
            else "critmin's term and the EU's implied one differ but neither the stage nor "
            "the shares explain it: not determinable from the data here"
        )
    out.extend(causes)
    return out


def compare(year: int, wgi: str = "six-dimensions") -> dict[str, Any]:
    """The comparison table and Spearman's rho."""
    from critmin.catalog._data import read_table
    from critmin.catalog.eu_crm import eu_crm_records, parameters_table, published_sr

    recs = [r.as_json() for r in eu_crm_records(year=year, wgi=wgi)]
    params = parameters_table().set_index("mineral")
    pub = published_sr(2023)
    shares = read_table("eu_crm_shares.csv")
    assessed = shares[shares["table"] == "global"].groupby("eu_name")["stage"].agg(set)
    by_stage: dict[str, dict[str, dict[str, Any]]] = {}
    for r in recs:
        by_stage.setdefault(r["mineral"], {})[r["stage"]] = r
    rows = []
    for mid, stages in by_stage.items():
        r = next(iter(stages.values()))
        name = str(params.loc[mid, "sr_name"])
        if name not in pub.index or r["sr_bottleneck"] is None:
            continue
        rows.append(
            {
                "mineral": mid,
                "eu_material": name,
                "critmin_sr": r["sr_bottleneck"],
                "stage": r["bottleneck_stage"],
                "eu_sr_2023": float(pub[name]),
                "_recs": stages,
                "_assessed": set(assessed.get(r["eu_name"], set())),
            }
        )
    df = pd.DataFrame(rows)
    df["critmin_rank"] = df["critmin_sr"].rank(ascending=False, method="average")
    df["eu_rank"] = df["eu_sr_2023"].rank(ascending=False, method="average")
    df["rank_gap"] = df["critmin_rank"] - df["eu_rank"]
    parts, reasons = [], []
    for row in df.to_dict("records"):
        mid, stages = str(row["mineral"]), row["_recs"]
        d = decompose(
            mid, stages, float(row["eu_sr_2023"]), str(row["eu_material"]), row["_assessed"]
        )
        parts.append({k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()})
        large = abs(float(row["rank_gap"])) >= LARGE_RANK_GAP
        rb = stages[d["stage"]]
        reasons.append("; ".join(_reasons(mid, d, rb, year)) if large else "")
    df["decomposition"] = pd.Series(parts, index=df.index, dtype=object)
    df["reason"] = reasons
    rho = float(spearmanr(df["critmin_sr"], df["eu_sr_2023"]).statistic)
    df = df.drop(columns=["_recs", "_assessed"]).sort_values("eu_rank").reset_index(drop=True)
    return {
        "year": year,
        "wgi": wgi,
        "n": len(df),
        "spearman": rho,
        "rows": df.to_dict("records"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2024, help="production year of critmin's data")
    ap.add_argument(
        "--wgi",
        choices=("six-dimensions", "political-stability"),
        default="six-dimensions",
        help="country governance term: the EU's mean of six WGI dimensions (default) or "
        "political stability alone (critmin's earlier term)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    res = compare(args.year, args.wgi)
    other = "political-stability" if args.wgi == "six-dimensions" else "six-dimensions"
    res["spearman_other_wgi"] = {"wgi": other, "spearman": compare(args.year, other)["spearman"]}
    print(f"{'mineral':17} {'EU material':16} {'critmin':>7} {'st':>2} {'EU 2023':>7} "
          f"{'rank':>5} {'EU rk':>5} {'gap':>5} {'C EU':>5} {'C cm':>5}")  # fmt: skip
    for r in res["rows"]:
        print(
            f"{r['mineral']:17} {r['eu_material']:16} {r['critmin_sr']:7.2f} {r['stage']:>2} "
            f"{r['eu_sr_2023']:7.1f} {r['critmin_rank']:5.1f} {r['eu_rank']:5.1f} "
            f"{r['rank_gap']:+5.1f} {r['decomposition']['c_eu']:5.2f} "
            f"{r['decomposition']['c_critmin']:5.2f}"
        )
    print(
        "\nC: the concentration term GS x IR/2 + EU x (1 - IR/2) = SR / ((1 - EoL-RIR) x SI_SR),"
        "\nthe EU's backed out of its published SR, critmin's of its own (same EoL-RIR, SI_SR)."
        f"\nReasons for rank gaps of {LARGE_RANK_GAP} places or more:"
    )
    for r in res["rows"]:
        if r["reason"]:
            print(f"{r['mineral']} (rank gap {r['rank_gap']:+.1f}): {r['reason']}")
    print(
        f"\nSpearman rank correlation over {res['n']} materials: {res['spearman']:.3f} "
        f"(WGI: {res['wgi']}; with {other}: {res['spearman_other_wgi']['spearman']:.3f})"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
