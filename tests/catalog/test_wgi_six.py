"""The six WGI dimensions (World Bank WGI 2024 update) against figures nobody on the project
wrote: a second, independent copy of the published estimates, and the other WGI release the
project ships (political stability, 2025 update)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.catalog.governance import (
    DIMENSIONS,
    political_stability,
    wgi_mean,
    wgi_six_table,
)
from critmin.errors import InputError

# Published WGI 2024-update estimates for 2023, as read (opened, not transcribed by critmin's
# build) in a second copy: OHI-Science/ohiprep_v2025,
# globalprep/prs_res_wgi/v2025/raw/worldbank_wgi_from_web_2025.csv (the Ocean Health Index
# team's download from the World Bank's DataBank, July 2025; columns CC.EST, GE.EST, PV.EST,
# RQ.EST, RL.EST, VA.EST). critmin's raw file was extracted from the World Bank's
# wgidataset.xlsx, a different copy: agreement to 1e-6 checks the extraction and the name
# -> ISO3 mapping (including the World Bank spellings, e.g. none needed here).
PUBLISHED_2023 = {
    "AFG": {
        "cc": -1.15493178367615,
        "ge": -1.98701369762421,
        "pv": -2.48408055305481,
        "rq": -1.26642525196075,
        "rl": -1.64964091777802,
        "va": -1.85290133953094,
    },
    "ALB": {
        "cc": -0.332218527793884,
        "ge": 0.250855356454849,
        "pv": 0.183348968625069,
        "rq": 0.171953663229942,
        "rl": -0.164097368717194,
        "va": 0.168997228145599,
    },
    "DZA": {
        "cc": -0.589308321475983,
        "ge": -0.670135140419006,
        "pv": -0.577885270118713,
        "rq": -0.948087155818939,
        "rl": -0.678364396095276,
        "va": -0.979883790016174,
    },
    "AND": {
        "cc": 1.25135612487793,
        "ge": 1.4754387140274,
        "pv": 1.58346593379974,
        "rq": 1.35054576396942,
        "rl": 1.47689890861511,
        "va": 0.996939778327942,
    },
}


def test_six_dimensions_match_the_published_estimates() -> None:
    """Each dimension of four countries in 2023 equals the published estimate (to the 6
    decimals critmin keeps), and the mean the EU method uses is their plain mean: Algeria
    (-0.589308 - 0.670135 - 0.577885 - 0.948087 - 0.678364 - 0.979884) / 6 = -0.7406105."""
    tab = wgi_six_table()
    tab = tab[tab["year"] == 2023].set_index("iso3")
    for iso3, dims in PUBLISHED_2023.items():
        for dim, value in dims.items():
            assert tab.loc[iso3, dim] == pytest.approx(value, abs=1e-6), (iso3, dim)
        assert tab.loc[iso3, "n_dimensions"] == 6
    assert wgi_mean(2023)["DZA"] == pytest.approx(-0.7406105, abs=2e-6)
    assert set(DIMENSIONS) <= set(tab.columns)


def test_world_bank_spellings_are_mapped() -> None:
    """The World Bank writes "Congo, Dem. Rep.", "Korea, Rep.", "Iran, Islamic Rep.": the
    producers they name must be present under their ISO3 code, with all six dimensions."""
    tab = wgi_six_table()
    recent = tab[tab["year"] == 2023].set_index("iso3")
    for iso3 in ("COD", "KOR", "IRN", "LAO", "VEN", "CHN", "RUS", "ZAF", "USA"):
        assert recent.loc[iso3, "n_dimensions"] == 6, iso3
    assert tab["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert not tab.duplicated(["iso3", "year"]).any()


def test_political_stability_agrees_with_the_other_release() -> None:
    """The political-stability column of the 2024 update against the separate political
    stability file (a later WGI release, which revises history a little): for 2015-2020 the
    two agree to a median 0.005 over ~210 countries — the six-dimension file is WGI data,
    read the right way round (rows, years, sign)."""
    six = wgi_six_table()
    for year in range(2015, 2021):
        pv_six = six[six["year"] == year].set_index("iso3")["pv"]
        pv = political_stability(year)
        both = pd.concat([pv_six, pv], axis=1, join="inner").dropna()
        assert len(both) > 190
        diff = (both.iloc[:, 0] - both.iloc[:, 1]).abs()
        assert diff.median() < 0.005, year


def test_missing_year_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="available 1996-2023"):
        wgi_mean(2024)
