"""critmin's EU-method supply risk against the European Commission's published 2023 values.

``python scripts/compare_eu_sr.py [--year 2024] [--wgi six-dimensions|political-stability]
[--json PATH]``: computes
``critmin risk --method eu-crm --all`` (the bottleneck SR of every mineral with EU-method
parameters), matches each to the material the 2023 assessment scored (LREE <- NdPr oxide,
HREE <- Dy oxide, PGMs <- platinum, ...), prints both, their ranks and the rank difference
material by material, the reason for each large difference and for each level difference
of the concentration term, and Spearman's rank correlation (also with the other WGI basis).

The reason is computed, not written by hand. critmin takes the study's own EoL-RIR and SI_SR,
so F = (1 - EoL-RIR) x SI_SR is shared and the concentration term the EU's published SR
implies is C_EU = SR_EU / F. critmin's term C_critmin is walked to C_EU one term at a time:

  stage            critmin's bottleneck stage -> the stage the EU took (its results table)
  supply basis     critmin's GS x IR/2 + EU x (1 - IR/2) -> the EU's basis at that stage
                   ("GS only", "EU only" or both, its results table)
  production data  critmin's shares (USGS etc.) -> the EU study's Appendix-7 shares
  EU side          that term, built with critmin's WGI and the transcribed t -> C_EU

The step that moves the term most (largest |log ratio|) is the "driver". Where the EU side
does not reproduce C_EU, the script tries single changes (the other supply bases, t = 1,
earlier WGI years) and solves for the one value of each term (EU-sourcing term, global term,
IR, EoL-RIR) that would reproduce it, beside the 2017 study's published figure for the same
material, and names the figure that is missing. The published scores (total and per stage)
are the reference only: no parameter is fitted to them and critmin's SR does not change.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
# The 2023 study's results table as transcribed by meyerdata/CritMAT (data/raw/.../README.md):
# for each material the stage the EU assessed ("eu_used_stage") and, per stage, which supply
# it used in SR ("GS+EU", "GSonly", "EUonly"). Methodological choices, not scores: this script
# reads them to compare like with like; critmin's SR does not use them.
RESULTS_CSV = ROOT / "data" / "raw" / "eu_crm_2023_critmat" / "eureport_results.csv"

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
# WGI years tried for the EU side: the 2023 study's vintage is not known here (its methodology
# guideline could not be opened), and the 2024 WGI update re-estimated every year.
EARLIER_WGI_YEARS = (2019, 2020, 2021)

# The Commission's 2017 criticality study, as published: Deloitte Sustainability, BGS, BRGM,
# TNO for the European Commission (DG GROW), *Study on the review of the list of Critical Raw
# Materials - Criticality Assessments*, June 2017, doi:10.2873/876644; read from the copy in
# github.com/erikemilsson/EU-Critical-Raw-Materials-CRM-Reports-Datasets ("EU CRM pdf
# copies/CRM 2017.pdf", commit 5938350). Table 3 (p. 33-35): stage assessed, SR, IR (%),
# EoL-RIR (%), supply used in SR; Table 18 (p. 79-80): SI_SR, (HHI_WGI-t)GS, (HHI_WGI-t)EU28.
# Only the materials whose 2023 gap needs them (large rank gaps, and cobalt); arsenic and
# titanium metal were not assessed in 2017. Evidence beside the 2023 figures, never an input.
# EU material (2023 name): (stage, supply used, IR, EoL-RIR, SI_SR, HHI GS, HHI EU28, SR)
EU_2017: dict[str, tuple[str, str, float | None, float, float, float, float | None, float]] = {
    "Cobalt": ("E", "GS+EU", 0.32, 0.0, 1.0, 3.6, 1.3, 1.6),
    "Germanium": ("P", "GS+EU", 0.64, 0.02, 1.0, 2.9, 1.5, 1.9),
    "Natural graphite": ("E", "GS+EU", 0.99, 0.03, 1.0, 3.2, 2.9, 2.9),
    "Phosphate rock": ("E", "GS+EU", 0.88, 0.17, 1.0, 1.8, 0.8, 1.0),
    "Scandium": ("P", "GSonly", 1.0, 0.0, 1.0, 3.0, 3.4, 2.9),
    "Tin": ("P", "GS+EU", 0.78, 0.32, 0.9, 2.0, 0.8, 0.8),
    "Titanium": ("E", "GS+EU", 1.0, 0.19, 0.9, 0.4, 0.5, 0.3),
}
BASES = ("GS+EU", "GSonly", "EUonly")
BASIS_TEXT = {
    "GS+EU": "global supply and EU sourcing",
    "GSonly": "global supply only",
    "EUonly": "EU sourcing only",
}
STEPS = ("stage", "supply basis", "production data", "EU side")


def _differs(a: float, b: float) -> bool:
    return not (a > 0 and b > 0 and 1 / DIFF_RATIO <= a / b <= DIFF_RATIO)


def _pct(a: float, b: float) -> str:
    """a against b as a signed percentage."""
    return f"{a / b - 1:+.0%}"


def _g10(rec: dict[str, Any], year: int | None = None) -> pd.Series:
    """critmin's 0..10 governance term on the record's WGI basis (its year, or ``year``)."""
    from critmin.catalog import governance
    from critmin.catalog import metrics as m

    wgi_year = int(rec["wgi_year"]) if year is None else year
    w = (
        governance.political_stability(wgi_year)
        if rec["wgi_basis"].startswith("WGI political stability")
        else governance.wgi_mean(wgi_year)
    )
    return m.instability(w, scale=10.0)


def _series(tab: pd.DataFrame, col: str) -> pd.Series:
    return pd.Series(tab[col].to_numpy(dtype=float), index=tab["country_iso3"].astype(str))


def _table(eu_name: str, stage: str, which: str) -> pd.DataFrame:
    from critmin.catalog.eu_crm import _table as table

    return table(eu_name, stage, which)


def _sourcing(eu_name: str, stage: str) -> pd.DataFrame:
    """The EU-sourcing table critmin uses (empty where it has none or it is incomplete)."""
    from critmin.catalog.eu_crm import MIN_SOURCING_COVERAGE

    tab = _table(eu_name, stage, "eu_sourcing")
    if tab.empty or float(tab["share"].sum()) < MIN_SOURCING_COVERAGE:
        return tab.iloc[0:0]
    return tab


def _combine(gs: float, eu: float | None, ir: float, basis: str) -> float:
    """The concentration term of the EU formula under one supply basis; without an
    EU-sourcing term the global one stands for both (as critmin does)."""
    if eu is None or basis == "GSonly":
        return gs
    if basis == "EUonly":
        return eu
    return gs * ir / 2 + eu * (1 - ir / 2)


def _tables_terms(
    eu_name: str, stage: str, g10: pd.Series, *, t_one: bool = False
) -> tuple[float, float | None] | None:
    """(HHI_WGI,t global, HHI_WGI,t EU sourcing or None) of the EU study's Appendix-7 tables
    with critmin's governance term; None without a global table."""
    from critmin.catalog import metrics as m

    gs_tab = _table(eu_name, stage, "global")
    if gs_tab.empty:
        return None
    eu_tab = _sourcing(eu_name, stage)
    gs = m.hhi_wgi_t(_series(gs_tab, "share"), g10, None if t_one else _series(gs_tab, "t"))
    eu = (
        None
        if eu_tab.empty
        else m.hhi_wgi_t(_series(eu_tab, "share"), g10, None if t_one else _series(eu_tab, "t"))
    )
    return gs, eu


@cache
def _results() -> pd.DataFrame:
    df = pd.read_csv(RESULTS_CSV).drop_duplicates("material_name")
    return df.set_index(df["material_name"].str.lower())


def eu_rule(sr_name: str, eu_name: str) -> tuple[str, str, str] | None:
    """(stage, supply basis, which row) the 2023 study took for the material, from its
    results table (CritMAT's transcription): the scored material's row (a group's, e.g.
    "LREEs" -> "LREE"), else the member whose tables critmin uses. None if neither is there
    or the row names no basis for its stage."""
    res = _results()
    for name in (sr_name, sr_name.removesuffix("s"), eu_name):
        key = name.lower()
        if key not in res.index:
            continue
        row = res.loc[key]
        stage = {"Extraction": "E", "Processing": "P"}.get(str(row["eu_used_stage"]))
        col = "eu_used_supply_primary" if stage == "E" else "eu_used_supply_refined"
        basis = str(row[col]) if stage and pd.notna(row[col]) else ""
        if stage and basis in BASES:
            return stage, basis, str(row["material_name"])
    return None


def _critmin_shares(mid: str, cst: str, year: int) -> tuple[pd.Series, str]:
    """critmin's shares of the USGS world total at its stage, and their source."""
    from critmin.catalog import production as prod
    from critmin.catalog.risk import _world_totals

    t = prod.production_table()
    rows = t[(t["year"] == year) & (t["mineral"] == mid) & (t["stage"].astype(str) == cst)]
    qty = pd.to_numeric(rows["qty"], errors="coerce").groupby(rows["country_iso3"]).sum()
    total = _world_totals(year).get((mid, cst), (float(qty.sum()), False))[0]
    src = str(rows["source"].iloc[0]).split(" (")[0].split(",")[0]
    return qty / total, src


def _lead(share: pd.Series, g10: pd.Series, t: pd.Series) -> dict[str, Any]:
    """The country with the largest s^2 x WGI x t: share, governance term, t, contribution."""
    from critmin.catalog import metrics as m

    s = m.named(share)
    g = g10.groupby(level=0).mean().reindex(s.index)
    tt = t.groupby(level=0).max().reindex(s.index).fillna(1.0)
    c = (s**2 * g * tt).dropna()
    if c.empty:
        return {}
    iso = str(c.idxmax())
    return {
        "iso3": iso,
        "share": float(s[iso]),
        "wgi_scaled": float(g[iso]),
        "t": float(tt[iso]),
        "contribution": float(c[iso]),
    }


def _eu_side(d: dict[str, Any], rb: dict[str, Any], sr_eu: float, g10: pd.Series) -> dict[str, Any]:
    """What would make the EU's own tables give its implied term, one term at a time.

    ``alternatives``: other supply bases, t = 1, earlier WGI years (term, and whether it is
    within 15 % of C_EU). ``needed``: the single value of the EU-sourcing term, the global
    term, IR or EoL-RIR that reproduces C_EU, the others held (None where no admissible
    value does; EoL-RIR as a range for the published SR's rounding, +-0.05)."""
    eu_name, st, basis = rb["eu_name"], d["eu_stage"], d["eu_basis"]
    terms = _tables_terms(eu_name, st, g10)
    assert terms is not None  # only called when the EU tables gave a term
    gs, eu = terms
    ir, c_eu, c3 = d["eu_ir"], d["c_eu"], d["c_eu_tables"]
    alt: dict[str, float] = {}
    if eu is not None:
        for b in BASES:
            if b != basis:
                alt[f"{BASIS_TEXT[b]}"] = _combine(gs, eu, ir, b)
    t1 = _tables_terms(eu_name, st, g10, t_one=True)
    if t1 is not None:
        alt["t = 1 for every country"] = _combine(*t1, ir, basis)
    for y in EARLIER_WGI_YEARS:
        ty = _tables_terms(eu_name, st, _g10(rb, y))
        if ty is not None:
            alt[f"WGI {y}"] = _combine(*ty, ir, basis)
    needed: dict[str, Any] = {}
    # a table's term cannot exceed its shares at the worst governance (10) for every country
    top = {
        "EU-sourcing term": _max_term(_sourcing(eu_name, st)),
        "global term": _max_term(_table(eu_name, st, "global")),
    }
    # the weights of the two terms in C under the EU's basis (no EU table: global for both)
    w_gs, w_eu = {"GS+EU": (ir / 2, 1 - ir / 2), "GSonly": (1.0, 0.0), "EUonly": (0.0, 1.0)}[
        basis if eu is not None else "GSonly"
    ]
    if w_eu > 0 and eu is not None:
        v = (c_eu - gs * w_gs) / w_eu
        ok = 0 <= v <= top["EU-sourcing term"]
        needed["EU-sourcing term"] = {"needed": v if ok else None, "table": eu}
    if w_gs > 0:
        v = (c_eu - (eu or 0.0) * w_eu) / w_gs
        ok = 0 <= v <= top["global term"]
        needed["global term"] = {"needed": v if ok else None, "table": gs}
    if basis == "GS+EU" and eu is not None and abs(gs - eu) > 1e-9:
        v = 2 * (c_eu - eu) / (gs - eu)
        needed["IR"] = {"needed": v if 0 <= v <= 1 else None, "table": ir}
    si = rb["si_sr"]
    lo, hi = 1 - (sr_eu + 0.05) / (c3 * si), 1 - max(sr_eu - 0.05, 0.0) / (c3 * si)
    needed["EoL-RIR"] = {
        "needed": (max(lo, 0.0), min(hi, 1.0)) if hi >= 0 and lo <= 1 else None,
        "table": rb["eol_rir"],
    }
    # which needed value the 2017 study's own figure for the material matches (within 15 %,
    # or inside the EoL-RIR range): the same assessment method three years earlier
    e17 = EU_2017.get(d["proxy"])
    keys17 = {"EU-sourcing term": 6, "global term": 5, "IR": 2, "EoL-RIR": 3}
    match17 = []
    for term, v in needed.items():
        ref = None if e17 is None else e17[keys17[term]]
        got = v["needed"]
        if ref is None or got is None:
            continue
        if (isinstance(got, tuple) and got[0] <= ref <= got[1]) or (
            not isinstance(got, tuple) and not _differs(float(got), float(ref))
        ):
            match17.append(term)
    return {
        "alternatives": {k: round(v, 4) for k, v in alt.items()},
        "matches_2017": match17,
        "reproduce": [k for k, v in alt.items() if not _differs(v, c_eu)],
        "needed": needed,
        "sourcing_repeats_global": _repeats_global(eu_name, st),
    }


def _max_term(tab: pd.DataFrame) -> float:
    """sum s^2 x 10 x t over a table's countries: its term with the worst governance."""
    if tab.empty:
        return 0.0
    s, t = _series(tab, "share"), _series(tab, "t")
    return float((s**2 * 10.0 * t.groupby(level=0).max().reindex(s.index).fillna(1.0)).sum())


def _repeats_global(eu_name: str, stage: str) -> bool:
    """True when the transcribed EU-sourcing table has the global table's leader at the
    same share (within 2 points): what a copied table looks like."""
    gs, eu = _table(eu_name, stage, "global"), _sourcing(eu_name, stage)
    if gs.empty or eu.empty:
        return False
    a = gs.sort_values("share").iloc[-1]
    b = eu.sort_values("share").iloc[-1]
    return bool(
        a["country_iso3"] == b["country_iso3"] and abs(float(a["share"]) - float(b["share"])) < 0.02
    )


def decompose(
    mid: str,
    recs: dict[str, dict[str, Any]],
    eu_sr: float,
    sr_name: str,
    assessed: set[str],
    *,
    year: int = 2024,
) -> dict[str, Any]:
    """Walk critmin's concentration term to the one the EU's published SR implies.

    SR = C x (1 - EoL-RIR) x SI_SR with C = HHI_WGI,t(GS) x IR/2 + HHI_WGI,t(EU) x (1 - IR/2)
    at the bottleneck stage; critmin uses the study's own EoL-RIR and SI_SR, so
    F = (1 - EoL-RIR) x SI_SR is shared and C_EU = SR_EU / F. The walk:
    c0 = C_critmin -> c1 (critmin at the EU's stage) -> c2 (and the EU's supply basis) ->
    c3 = c_eu_tables (the EU's Appendix-7 shares, critmin's WGI and t) -> c4 = C_EU."""
    from critmin.catalog.eu_crm import parameters_table

    b = next(iter(recs.values()))["bottleneck_stage"]
    rb = recs[b]
    f = (1.0 - rb["eol_rir"]) * rb["si_sr"]
    g10 = _g10(rb)
    params = parameters_table().set_index("mineral").loc[mid]

    def ir_at(st: str) -> float:
        if st in recs and recs[st]["import_reliance"] is not None:
            return float(recs[st]["import_reliance"])
        v = params.get(f"ir_{st.lower()}")
        return 0.0 if v is None or pd.isna(v) else float(str(v))

    rule = eu_rule(sr_name, rb["eu_name"])
    if rule is not None:
        st, basis, rule_row = rule
        rule_src = f"2023 results table, row '{rule_row}'"
    else:
        # no results row: the stage whose tables give the larger term, both supplies
        cand = {
            s: _combine(*tt, ir_at(s), "GS+EU")
            for s in sorted(assessed)
            if (tt := _tables_terms(rb["eu_name"], s, g10)) is not None
        }
        st = max(cand, key=lambda k: cand[k]) if cand else b
        basis, rule_src = "GS+EU", "no results row: the larger of the EU tables' stage terms"
    ir = ir_at(st)
    tt = _tables_terms(rb["eu_name"], st, g10)
    c3 = None if tt is None else _combine(*tt, ir, basis)
    c0 = rb["sr"] / f
    rs = recs.get(st)
    c1 = rs["sr"] / f if rs is not None and rs["sr"] is not None else None
    c2 = None
    if rs is not None and rs["hhi_wgi_t_gs"] is not None:
        gs_c, eu_c = rs["hhi_wgi_t_gs"], rs["hhi_wgi_t_eu"]
        has_src = rs["eu_sourcing_basis"].startswith(("EU 2023 study", "parameter file"))
        c2 = _combine(gs_c, eu_c if has_src else None, ir, basis)
    c_eu = eu_sr / f
    chain: list[tuple[str, float | None]] = [
        ("start", c0),
        ("stage", c1),
        ("supply basis", c2),
        ("production data", c3),
        ("EU side", c_eu),
    ]
    steps: dict[str, float] = {}
    prev = c0
    for name, val in chain[1:]:
        if val is None or prev is None or val <= 0 or prev <= 0:
            continue
        steps[name] = val / prev
        prev = val
    if c1 is None and c3 is not None:
        # critmin has no production data at the EU's stage: stage and shares cannot be
        # split; the move from critmin's stage to the EU tables' term counts as the stage
        steps.pop("production data", None)
        steps["stage"] = c3 / c0
    driver = max(steps, key=lambda k: abs(math.log(steps[k]))) if steps else None
    # the term moves by more than 15 % in this one step (else several small steps add up)
    driver_alone = driver is not None and _differs(steps[driver], 1.0)
    d: dict[str, Any] = {
        "factor": f,
        "c_eu": c_eu,
        "c_critmin": c0,
        "stage": b,
        "critmin_stage": rb["critmin_stage"],
        "eu_stage": st,
        "eu_basis": basis,
        "eu_rule_source": rule_src,
        "eu_ir": ir,
        "c_critmin_at_eu_stage": c1,
        "c_critmin_eu_basis": c2,
        "c_eu_tables": c3,
        "eu_tables_stage": st,
        "steps": {k: round(v, 4) for k, v in steps.items()},
        "driver": driver,
        "driver_alone": driver_alone,
        "reproduced": c3 is not None and not _differs(c3, c_eu),
        "proxy": sr_name,
    }
    # the leading contributors of critmin's term and of the EU tables' term at the EU's stage
    if rs is not None and tt is not None:
        share, src = _critmin_shares(mid, rs["critmin_stage"], year)
        t_gs = _series(_table(rb["eu_name"], st, "global"), "t")
        d["lead_critmin"] = {**_lead(share, g10, t_gs), "source": src}
        d["lead_eu"] = _lead(_series(_table(rb["eu_name"], st, "global"), "share"), g10, t_gs)
    if c3 is not None and _differs(c3, c_eu):
        d["eu_side"] = _eu_side(d, rb, eu_sr, g10)
    elif c3 is not None and d.get("lead_eu") and (basis == "GSonly" or tt is None or tt[1] is None):
        # reproduced on global supply alone: the leading country's governance term the
        # published SR implies, the whole small residual put on that one country
        lead = d["lead_eu"]
        lead["wgi_implied"] = lead["wgi_scaled"] * (1 + (c_eu - c3) / lead["contribution"])
    e17 = EU_2017.get(sr_name)
    if e17 is not None:
        d["eu_2017"] = dict(
            zip(("stage", "basis", "ir", "eol_rir", "si_sr", "gs", "eu", "sr"), e17, strict=True)
        )
    return d


def _fmt_lead(lead: dict[str, Any]) -> str:
    if not lead:
        return "no scored country"
    return (
        f"{lead['iso3']} {lead['share']:.0%} x WGI {lead['wgi_scaled']:.2f} x t {lead['t']:g} "
        f"-> {lead['contribution']:.2f}"
    )


def _needed_text(d: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The clauses for the single values that would reproduce C_EU, and the figures missing."""
    es, e17 = d["eu_side"], d.get("eu_2017") or {}
    out, missing = [], []
    n = es["needed"]
    labels = {
        "EU-sourcing term": ("eu", "EU-sourcing table"),
        "global term": ("gs", "global supply table"),
        "IR": ("ir", "import reliance"),
        "EoL-RIR": ("eol_rir", "end-of-life recycling input rate"),
    }
    for term, v in n.items():
        key17, fig = labels[term]
        got = v["needed"]
        if got is None:
            continue
        val = f"{got[0]:.2f}-{got[1]:.2f}" if isinstance(got, tuple) else f"{got:.2f}"
        extra = f", 2017 study {e17[key17]:g}" if e17.get(key17) is not None else ""
        mark = " - matches the 2017 study" if term in es["matches_2017"] else ""
        out.append(f"{term} {val} (used here {v['table']:.2f}{extra}){mark}")
        missing.append(fig)
    none = [t for t, v in n.items() if v["needed"] is None]
    if none:
        out.append(f"no admissible {' or '.join(none)} does")
    for alt in es["reproduce"]:
        fig = (
            "supply basis"
            if alt in BASIS_TEXT.values()
            else "t values"
            if alt.startswith("t = 1")
            else "WGI vintage"
        )
        missing.append(fig)
    # the figure whose needed value the 2017 study's own matches comes first
    first = [labels[t][1] for t in es["matches_2017"]]
    return out, first + [x for x in missing if x not in first]


def _named(share: pd.Series) -> pd.Series:
    from critmin.catalog import metrics as m

    return m.named(share)


def _reasons(mid: str, d: dict[str, Any], rb: dict[str, Any], year: int) -> list[str]:
    """Each clause computed from the walk; where the data cannot tell, it says which figure
    is missing."""
    lc = d.get("lead_critmin") or {}
    drv = d["driver"]
    share, src = _critmin_shares(mid, d["critmin_stage"], year)
    top = _named(share)
    out = [
        f"driver: {drv} ({d['steps'][drv] - 1:+.0%}"
        + ("" if d["driver_alone"] else "; no single step beyond 15 %, several add up")
        + ")",
        f"concentration term: EU implies {d['c_eu']:.2f} (SR / F, F = (1-EoL-RIR) x SI_SR = "
        f"{d['factor']:.3f}), critmin {d['c_critmin']:.2f} at {d['stage']} "
        f"({top.idxmax()} {top.max():.0%} of {d['critmin_stage']} output, {src})",
    ]
    st, basis = d["eu_stage"], d["eu_basis"]
    out.append(
        f"the EU takes {st} with {BASIS_TEXT[basis]} ({d['eu_rule_source']}; study IR at "
        f"{st} {d['eu_ir']:.2f})"
    )
    steps = d["steps"]
    if "stage" in steps and d["stage"] != st:
        c1 = d["c_critmin_at_eu_stage"]
        out.append(
            f"stage: bottleneck differs: critmin's is {d['stage']} ({d['critmin_stage']}), "
            + (
                f"at {st} critmin's term is {c1:.2f} ({_pct(c1, d['c_critmin'])})"
                if c1 is not None
                else f"critmin has no production data at {st}: the EU tables' term there is "
                f"{d['c_eu_tables']:.2f}"
            )
        )
    if "supply basis" in steps and _differs(steps["supply basis"], 1.0):
        out.append(
            f"supply basis: critmin mixes global supply and EU sourcing where the EU uses "
            f"{BASIS_TEXT[basis]}: critmin's term at {st} goes "
            f"{d['c_critmin_at_eu_stage']:.2f} -> {d['c_critmin_eu_basis']:.2f}"
        )
    if "production data" in steps:
        le = d.get("lead_eu") or {}
        out.append(
            f"production data: critmin's shares give {d['c_critmin_eu_basis']:.2f}, the EU's "
            f"Appendix-7 shares {d['c_eu_tables']:.2f} "
            f"({_pct(d['c_eu_tables'], d['c_critmin_eu_basis'])}); leading term critmin "
            f"{_fmt_lead(lc)} ({lc.get('source', '')}), EU {_fmt_lead(le)}"
        )
    if any(e.startswith("global supply shares") for e in rb["estimates"]):
        out.append(f"critmin's {d['critmin_stage']} shares are catalog estimates")
    if mid in PROXIES:
        out.append(f"critmin approximates the EU's {d['proxy']} by {PROXIES[mid]}")
    if d["c_eu_tables"] is None:
        out.append("the EU tables here give no global shares for it: the EU's side cannot be split")
    elif d["reproduced"]:
        le = d.get("lead_eu") or {}
        imp = (
            f"; the {le['iso3']} governance term the published SR implies: "
            f"{le['wgi_implied']:.2f} (critmin's {le['wgi_scaled']:.2f})"
            if "wgi_implied" in le
            else ""
        )
        out.append(
            f"EU side: the EU's tables at {st} with {BASIS_TEXT[basis]}, critmin's WGI and "
            f"the transcribed t give {d['c_eu_tables']:.2f} ({_pct(d['c_eu_tables'], d['c_eu'])}"
            f" of C_EU): reproduced{imp}"
        )
    else:
        es = d["eu_side"]
        clause = (
            f"EU side: the EU's tables at {st} with {BASIS_TEXT[basis]} give "
            f"{d['c_eu_tables']:.2f}, {_pct(d['c_eu_tables'], d['c_eu'])} off C_EU"
        )
        if es["reproduce"]:
            clause += "; reproduced instead by " + ", ".join(
                f"{k} ({es['alternatives'][k]:.2f})" for k in es["reproduce"]
            )
        else:
            clause += "; no other supply basis, t = 1 or WGI year 2019-2021 reproduces it"
        needed, missing = _needed_text(d)
        if needed:
            clause += "; the one value that would: " + "; ".join(needed)
        if es["sourcing_repeats_global"]:
            clause += (
                "; the transcribed EU-sourcing table repeats the global one (same leader, "
                "same share)"
            )
        out.append(clause)
        if missing:
            out.append(
                f"missing: the 2023 report's {d['proxy']} "
                + " or ".join(dict.fromkeys(missing))
                + " (any one of them would settle it; the first listed is the one the 2017 "
                "study's figure supports)" * bool(es["matches_2017"])
            )
    e17 = d.get("eu_2017")
    if e17:
        out.append(
            f"2017 study: {e17['stage']} with {BASIS_TEXT[e17['basis']]}, HHI_WGI,t GS "
            f"{e17['gs']:g} / EU28 {e17['eu']:g}, IR {e17['ir']:g}, EoL-RIR {e17['eol_rir']:g}, "
            f"SR {e17['sr']:g}"
        )
    return out


def stage_check(rows: list[dict[Any, Any]]) -> list[dict[str, Any]]:
    """Both stages, where the results table publishes an SR for each: the EU's Appendix-7
    tables at that stage and supply basis (critmin's WGI, the transcribed t, the stage's IR)
    against the term that stage's published SR implies. A check of the transcribed tables
    where the EU did not take the stage too; the published SRs are the reference only."""
    res = _results()
    cols = {
        "E": ("eu_used_supply_primary", "supply_risk_primary", "import_reliance_primary"),
        "P": ("eu_used_supply_refined", "supply_risk_refined", "import_reliance_refined"),
    }
    out: list[dict[str, Any]] = []
    for r in rows:
        d, rec = r["decomposition"], r["_rb"]
        name = str(r["eu_material"])
        key = next(
            (
                k
                for k in (name.lower(), name.lower().removesuffix("s"), rec["eu_name"].lower())
                if k in res.index
            ),
            None,
        )
        if key is None:
            continue
        g10 = _g10(rec)
        for st, (bcol, scol, icol) in cols.items():
            basis, sr = res.loc[key][bcol], pd.to_numeric(res.loc[key][scol], errors="coerce")
            tt = _tables_terms(rec["eu_name"], st, g10)
            if basis not in BASES or pd.isna(sr) or sr <= 0 or tt is None:
                continue
            irv = res.loc[key][icol]
            ir = 0.0 if pd.isna(irv) else float(irv) / 100
            implied, tables = float(sr) / d["factor"], _combine(*tt, ir, str(basis))
            out.append(
                {
                    "mineral": r["mineral"],
                    "stage": st,
                    "basis": basis,
                    "c_eu_tables": round(tables, 4),
                    "c_eu": round(implied, 4),
                    "reproduced": not _differs(tables, implied),
                }
            )
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
                "_rb": stages[r["bottleneck_stage"]],
                "_assessed": set(assessed.get(r["eu_name"], set())),
            }
        )
    df = pd.DataFrame(rows)
    df["critmin_rank"] = df["critmin_sr"].rank(ascending=False, method="average")
    df["eu_rank"] = df["eu_sr_2023"].rank(ascending=False, method="average")
    df["rank_gap"] = df["critmin_rank"] - df["eu_rank"]
    parts, reasons, kinds = [], [], []
    for row in df.to_dict("records"):
        mid, stages = str(row["mineral"]), row["_recs"]
        d = decompose(
            mid,
            stages,
            float(row["eu_sr_2023"]),
            str(row["eu_material"]),
            row["_assessed"],
            year=year,
        )
        parts.append(_rounded(d))
        large = abs(float(row["rank_gap"])) >= LARGE_RANK_GAP
        level = _differs(d["c_critmin"], d["c_eu"])
        rb = stages[d["stage"]]
        reasons.append("; ".join(_reasons(mid, d, rb, year)) if large or level else "")
        kinds.append("rank gap" if large else "level" if level else "")
    df["decomposition"] = pd.Series(parts, index=df.index, dtype=object)
    df["reason"] = reasons
    df["reason_for"] = kinds
    rho = float(spearmanr(df["critmin_sr"], df["eu_sr_2023"]).statistic)
    n_rep = sum(bool(p["reproduced"]) for p in parts)
    per_stage = stage_check(df.to_dict("records"))
    df = (
        df.drop(columns=["_recs", "_assessed", "_rb"]).sort_values("eu_rank").reset_index(drop=True)
    )
    return {
        "year": year,
        "wgi": wgi,
        "n": len(df),
        "spearman": rho,
        "eu_side_reproduced": n_rep,
        "stage_check": per_stage,
        "rows": df.to_dict("records"),
    }


def _rounded(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_rounded(x) for x in v]
    return v


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
          f"{'rank':>5} {'EU rk':>5} {'gap':>5} {'C EU':>5} {'C cm':>5} {'EU st':>5} "
          f"{'C tab':>5} driver")  # fmt: skip
    for r in res["rows"]:
        d = r["decomposition"]
        tab = f"{d['c_eu_tables']:5.2f}" if d["c_eu_tables"] is not None else "    -"
        print(
            f"{r['mineral']:17} {r['eu_material']:16} {r['critmin_sr']:7.2f} {r['stage']:>2} "
            f"{r['eu_sr_2023']:7.1f} {r['critmin_rank']:5.1f} {r['eu_rank']:5.1f} "
            f"{r['rank_gap']:+5.1f} {d['c_eu']:5.2f} {d['c_critmin']:5.2f} "
            f"{d['eu_stage'] + ' ' + d['eu_basis']:>5} {tab} {d['driver'] or '-'}"
        )
    print(
        "\nC: the concentration term GS x IR/2 + EU x (1 - IR/2) = SR / ((1 - EoL-RIR) x SI_SR),"
        "\nthe EU's backed out of its published SR, critmin's of its own (same EoL-RIR, SI_SR);"
        "\nC tab: the EU's Appendix-7 shares at its stage and supply basis, critmin's WGI and t."
        f"\nThe EU's tables reproduce C EU within 15 % for {res['eu_side_reproduced']} of "
        f"{res['n']} materials; stage by stage (every stage the results table gives an SR "
        f"for), {sum(x['reproduced'] for x in res['stage_check'])} of {len(res['stage_check'])}"
        "; not: "
        + ", ".join(
            f"{x['mineral']} {x['stage']} ({x['c_eu_tables'] / x['c_eu'] - 1:+.0%})"
            for x in res["stage_check"]
            if not x["reproduced"]
        )
        + "."
        f"\n\nReasons for rank gaps of {LARGE_RANK_GAP} places or more:"
    )
    for r in res["rows"]:
        if r["reason_for"] == "rank gap":
            print(f"{r['mineral']} (rank gap {r['rank_gap']:+.1f}): {r['reason']}")
    print("\nLevel differences (rank gap under 5, concentration terms more than 15 % apart):")
    for r in res["rows"]:
        if r["reason_for"] == "level":
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
