"""critmin's EU-method supply risk against the European Commission's published 2023 values.

``python scripts/compare_eu_sr.py [--year 2024] [--wgi six-dimensions|political-stability]
[--json PATH]``: computes
``critmin risk --method eu-crm --all`` (the bottleneck SR of every mineral with EU-method
parameters), matches each to the material the 2023 assessment scored (LREE <- NdPr oxide,
HREE <- Dy oxide, PGMs <- platinum, ...), prints both, their ranks and the rank difference
material by material, the reason for each large difference, and Spearman's rank
correlation (also with the other WGI basis, for comparison). The published scores are the
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

LARGE_RANK_GAP = 5


def _gs_from_eu_table(rec: dict[str, Any]) -> float | None:
    """HHI_WGI,t of the EU study's own global supply shares at the record's stage, with
    critmin's WGI (the record's basis and year) and the same t: isolates the production-data
    difference."""
    from critmin.catalog import governance
    from critmin.catalog import metrics as m
    from critmin.catalog._data import read_table

    df = read_table("eu_crm_shares.csv")
    sub = df[
        (df["eu_name"] == rec["eu_name"])
        & (df["stage"] == rec["stage"])
        & (df["table"] == "global")
    ]
    if sub.empty:
        return None
    idx = sub["country_iso3"].astype(str)
    share = pd.Series(sub["share"].to_numpy(dtype=float), index=idx)
    t = pd.Series(sub["t"].to_numpy(dtype=float), index=idx)
    wgi_year = int(rec["wgi_year"])
    w = (
        governance.political_stability(wgi_year)
        if rec["wgi_basis"].startswith("WGI political stability")
        else governance.wgi_mean(wgi_year)
    )
    g = m.instability(w, scale=10.0)
    return m.hhi_wgi_t(share, g, t)


def _reasons(rec: dict[str, Any], stages_assessed: set[str]) -> list[str]:
    out = []
    gs_eu = _gs_from_eu_table(rec)
    gs = rec["hhi_wgi_t_gs"]
    if gs_eu is not None and gs and abs(gs / gs_eu - 1.0) > 0.3:
        out.append(
            f"production data: critmin's USGS shares give HHI_WGI,t {gs:.2f} at stage "
            f"{rec['stage']}, the EU study's own global shares {gs_eu:.2f} (same WGI and t)"
        )
    if rec["bottleneck_stage"] not in stages_assessed:
        out.append(
            f"critmin's bottleneck is stage {rec['bottleneck_stage']}, which the EU 2023 tables "
            f"do not assess for this material (they assess {sorted(stages_assessed) or 'none'})"
        )
    if any(e.startswith("global supply shares") for e in rec["estimates"]):
        out.append("critmin's shares at that stage are catalog estimates (refining/separation)")
    if rec["eu_sourcing_basis"].startswith("none"):
        out.append("no EU sourcing table at that stage: the global mix stands for both terms")
    if rec["eu_sourcing_basis"].startswith("EU sourcing table incomplete"):
        out.append(rec["eu_sourcing_basis"])
    if any(e.startswith("eol_rir") for e in rec["estimates"]):
        out.append("no EoL-RIR figure: 0 used")
    if any(e.startswith("si_sr") for e in rec["estimates"]):
        out.append("SI_SR is neutral (1.0): no substitution index for this material")
    if any(e.startswith("import_reliance") for e in rec["estimates"]):
        out.append("IR is critmin's approximation (the study's table gives none at that stage)")
    generic = "the rest is not traced here (possibly the study's multi-year data against one year)"
    if rec["wgi_basis"].startswith("WGI political stability"):
        generic += "; WGI is political stability only (run without --wgi for the EU's six)"
    out.append(generic)
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
    best: dict[str, dict[str, Any]] = {}
    for r in recs:
        if r["stage"] == r["bottleneck_stage"]:
            best[r["mineral"]] = r
    rows = []
    for mid, r in best.items():
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
                "_rec": r,
                "_assessed": set(assessed.get(r["eu_name"], set())),
            }
        )
    df = pd.DataFrame(rows)
    df["critmin_rank"] = df["critmin_sr"].rank(ascending=False, method="average")
    df["eu_rank"] = df["eu_sr_2023"].rank(ascending=False, method="average")
    df["rank_gap"] = df["critmin_rank"] - df["eu_rank"]
    df["reason"] = [
        "; ".join(_reasons(r, a)) if abs(g) >= LARGE_RANK_GAP else ""
        for r, a, g in zip(df["_rec"], df["_assessed"], df["rank_gap"], strict=True)
    ]
    rho = float(spearmanr(df["critmin_sr"], df["eu_sr_2023"]).statistic)
    df = df.drop(columns=["_rec", "_assessed"]).sort_values("eu_rank").reset_index(drop=True)
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
          f"{'rank':>5} {'EU rk':>5} {'gap':>5}")  # fmt: skip
    for r in res["rows"]:
        print(
            f"{r['mineral']:17} {r['eu_material']:16} {r['critmin_sr']:7.2f} {r['stage']:>2} "
            f"{r['eu_sr_2023']:7.1f} {r['critmin_rank']:5.1f} {r['eu_rank']:5.1f} "
            f"{r['rank_gap']:+5.1f}"
        )
    print()
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
