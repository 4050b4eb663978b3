"""RMI templates (CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x) from template-shaped files we generate.

Positions asserted with raw ``openpyxl`` cell addresses are copied by hand from the public
sources listed in docs/trace.md ("Supplier templates"), not from ``templates.LAYOUTS``: they
check the generator and the reader against the published layout, not against each other.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from critmin.errors import InputError
from critmin.trace.model import Stage
from critmin.trace.templates import layout_for, read_template, smelter_uri, write_template

DECL = {
    "company_name": "Supplier KK",
    "declaration_scope": "A. Company",
    "completion_date": "2026-03-31",
}
SMELTERS = [
    {
        "metal": "Tin",
        "name": "Smelter A",
        "country": "Malaysia",
        "cid": "CID001234",
        "mine_name": "Mine X",
        "mine_country": "Indonesia",
    },
    {"metal": "Gold", "name": "Refiner B", "country": "Japan", "cid": "CID000042"},
    {"metal": "Tungsten", "name": "Unlisted", "country": "CN", "cid": ""},
]
EXAMPLES = Path(__file__).parents[2] / "examples" / "trace"


def test_cmrt_64(tmp_path: Path) -> None:
    p = tmp_path / "cmrt.xlsx"
    write_template(p, "CMRT", "6.4", declaration=DECL, smelters=SMELTERS)
    t = read_template(p)
    assert (t.kind, t.version) == ("CMRT", "6.4")
    assert t.declaration["company_name"] == "Supplier KK"
    assert t.minerals == ("tantalum", "tin", "gold", "tungsten")
    assert [(s.cid, s.metal, s.country) for s in t.smelters] == [
        ("CID001234", "tin", "MYS"),
        ("CID000042", "gold", "JPN"),
        (None, "tungsten", "CHN"),
    ]
    assert t.sourcing[0].model_dump() == {
        "smelter": smelter_uri("CID001234"),
        "metal": "tin",
        "mine": "Mine X",
        "mine_country": "IDN",
    }
    facs = t.to_network().facilities
    assert {f.stage for f in facs} == {Stage.REFINING}
    assert facs[0].id == "https://w3id.org/critmin/id/rmi-smelter/CID001234"
    assert facs[2].id == "cmrt-smelter-row7"
    assert t.unverified == ()  # every CMRT 6.x cell was checked against the official blanks
    assert t.warnings == ()


def test_cmrt_published_positions(tmp_path: Path) -> None:
    """CMRT 6.x: company name Declaration!D8; Smelter List data from row 5 with metal B,
    smelter name D, country E, smelter identification F, mine name N, mine country O."""
    p = tmp_path / "cmrt.xlsx"
    write_template(p, "CMRT", "6.5", declaration=DECL, smelters=SMELTERS)
    wb = openpyxl.load_workbook(p)
    assert wb["Declaration"]["D8"].value == "Supplier KK"
    sl = wb["Smelter List"]
    assert [sl[f"{c}5"].value for c in "BDEFNO"] == [
        "Tin",
        "Smelter A",
        "Malaysia",
        "CID001234",
        "Mine X",
        "Indonesia",
    ]
    assert wb.sheetnames[:5] == [
        "Revision",
        "Instructions",
        "Definitions",
        "Declaration",
        "Smelter List",
    ]


def test_cid_from_id_input_column(tmp_path: Path) -> None:
    """Only the 'Smelter Identification Number Input Column' (A) is filled: its CID is used."""
    p = tmp_path / "cmrt.xlsx"
    write_template(
        p,
        "CMRT",
        "6.4",
        declaration=DECL,
        smelters=[
            {"id_input": "CID000042", "metal": "Gold", "lookup": "Refiner B", "country": "JP"}
        ],
    )
    s = read_template(p).smelters[0]
    assert (s.cid, s.name, s.country) == ("CID000042", "Refiner B", "JPN")


def test_translated_title_and_decoy_headers_are_ignored(tmp_path: Path) -> None:
    """A Japanese title and nonsense header text: only the acronym/version and cells matter."""
    p = tmp_path / "cmrt_ja.xlsx"
    write_template(
        p,
        "CMRT",
        "6.31",
        declaration=DECL,
        smelters=SMELTERS[:1],
        title="紛争鉱物報告テンプレート (CMRT) バージョン 6.31",
    )
    wb = openpyxl.load_workbook(p)
    wb["Smelter List"]["B4"] = "金属 (*)"
    wb.save(p)
    t = read_template(p)
    assert t.version == "6.31"
    assert t.smelters[0].cid == "CID001234"


def test_emrt_2_mine_list_and_amrt(tmp_path: Path) -> None:
    p = tmp_path / "emrt.xlsx"
    write_template(
        p,
        "EMRT",
        "2.0",
        declaration=DECL,
        minerals=("cobalt", "mica"),
        smelters=[
            {"metal": "Cobalt", "name": "Co refinery", "country": "Finland", "cid": "CID003456"}
        ],
        mines=[
            {
                "metal": "Cobalt",
                "smelter_name": "co REFINERY",
                "name": "Co mine",
                "mine_id": "M-1",
                "country": "Congo, The Democratic Republic of the",
            }
        ],
    )
    wb = openpyxl.load_workbook(p)
    ml = wb["Mine List"]
    # published Mine List: A metal, B smelter name, C mine name, D mine id, F country; row 5
    assert [ml[f"{c}5"].value for c in "ABCDF"] == [
        "Cobalt",
        "co REFINERY",
        "Co mine",
        "M-1",
        "Congo, The Democratic Republic of the",
    ]
    t = read_template(p)
    assert t.minerals == ("cobalt", "mica")
    assert [(m.mine_id, m.country, m.smelter_cid) for m in t.mines] == [("M-1", "COD", "CID003456")]
    assert t.sourcing[-1].model_dump() == {
        "smelter": smelter_uri("CID003456"),
        "metal": "cobalt",
        "mine": "M-1",
        "mine_country": "COD",
    }
    stages = {f.id: f.stage for f in t.to_network().facilities}
    assert stages == {smelter_uri("CID003456"): Stage.REFINING, "M-1": Stage.MINE}
    a = read_template(EXAMPLES / "amrt_1.3_example.xlsx")
    assert (a.kind, a.version, a.mines[0].country) == ("AMRT", "1.3", "AUS")
    assert read_template(EXAMPLES / "emrt_2.0_example.xlsx").mines[0].country == "COD"


def test_emrt_1_has_no_mine_list_and_fixed_minerals(tmp_path: Path) -> None:
    """EMRT 1.x covers cobalt and mica, with no minerals-scope field and no Mine List."""
    p = tmp_path / "emrt1.xlsx"
    write_template(p, "EMRT", "1.3", declaration=DECL, smelters=SMELTERS[:1])
    t = read_template(p)
    assert (t.mines, t.minerals) == ((), ("cobalt", "mica"))
    with pytest.raises(InputError, match=r"EMRT 1\.x takes 0 minerals"):
        write_template(p, "EMRT", "1.3", declaration=DECL, smelters=[], minerals=("cobalt",))


def test_amrt_12_plain_smelter_columns(tmp_path: Path) -> None:
    """AMRT 1.1-1.2 have no id-input or look-up column: metal A, name B, country C."""
    p = tmp_path / "amrt12.xlsx"
    write_template(
        p,
        "AMRT",
        "1.2",
        declaration=DECL,
        smelters=[{"metal": "Silver", "name": "Ag refinery", "country": "Peru", "cid": ""}],
        mines=[],
        minerals=("silver", "zinc"),
    )
    wb = openpyxl.load_workbook(p)
    assert [wb["Smelter List"][f"{c}5"].value for c in "ABC"] == ["Silver", "Ag refinery", "Peru"]
    assert "Smelter Look-up" not in wb.sheetnames
    t = read_template(p)
    assert [(s.metal, s.name, s.country) for s in t.smelters] == [("silver", "Ag refinery", "PER")]
    assert t.minerals == ("silver", "zinc")


def test_amrt_13_other_minerals(tmp_path: Path) -> None:
    """AMRT 1.3: 'Other [specify below]' in a minerals cell (row 12/13) is replaced by the text
    typed three rows below it (rows 15/16), as the official template's validation rules say
    ("If Other was selected in cell E12, enter the mineral/metal here": E15)."""
    p = tmp_path / "amrt13.xlsx"
    write_template(p, "AMRT", "1.3", declaration=DECL, smelters=[], mines=[])
    wb = openpyxl.load_workbook(p)
    lay = layout_for("AMRT", "1.3")
    wb["Declaration"][lay.minerals_cells[0]] = "Zinc"
    wb["Declaration"][lay.minerals_cells[1]] = "Other [specify below]"
    wb["Declaration"]["E15"] = "Tellurium"
    wb.save(p)
    assert read_template(p).minerals == ("zinc", "tellurium")


def test_mine_with_unlisted_smelter_is_a_row_warning(tmp_path: Path) -> None:
    p = tmp_path / "emrt.xlsx"
    write_template(
        p,
        "EMRT",
        "2.1",
        declaration=DECL,
        smelters=[],
        mines=[{"metal": "Nickel", "smelter_name": "Ghost", "name": "N", "country": "Canada"}],
    )
    t = read_template(p)
    assert t.warnings == (
        "Mine List!B5: smelter 'Ghost' (nickel) is not on the Smelter List; mine kept unlinked",
    )
    assert t.mines[0].smelter_cid is None


def test_malformed_cid_is_a_row_warning(tmp_path: Path) -> None:
    p = tmp_path / "bad.xlsx"
    rows = [dict(SMELTERS[0]), {"metal": "Tin", "name": "X", "country": "Peru", "cid": "CID12"}]
    write_template(p, "CMRT", "6.4", declaration=DECL, smelters=rows)
    t = read_template(p)
    assert t.warnings == (
        "Smelter List!F6: smelter identification 'CID12' is malformed; expected 'CID' + 6 "
        "digits (e.g. CID001234); row kept without it",
    )
    assert [s.cid for s in t.smelters] == ["CID001234", None]


def test_unknown_country_and_empty_company_are_warnings(tmp_path: Path) -> None:
    p = tmp_path / "c.xlsx"
    write_template(
        p,
        "CMRT",
        "6.4",
        declaration=DECL,
        smelters=[{"metal": "Tin", "name": "X", "country": "Atlantis", "cid": ""}],
    )
    t = read_template(p)
    assert len(t.warnings) == 1
    assert t.warnings[0].startswith("Smelter List!E5: smelter country 'Atlantis' is not a country")
    assert t.smelters[0].country == ""
    assert t.to_network().facilities == ()  # no country, no facility
    write_template(p, "CMRT", "6.4", declaration={"declaration_scope": "A"}, smelters=[])
    assert read_template(p).warnings == ("Declaration!D8: company name is empty",)


def test_unsupported_versions_and_non_templates(tmp_path: Path) -> None:
    p = tmp_path / "old.xlsx"
    wb = openpyxl.Workbook()
    wb.active["B2"] = "Conflict Minerals Reporting Template (CMRT) Version 5.12"
    wb.save(p)
    with pytest.raises(
        InputError,
        match=r"unsupported template CMRT 5\.12; supported: CMRT 6\.x, EMRT 1\.x-2\.x, AMRT 1\.x",
    ):
        read_template(p)
    wb.active["B2"] = "Quarterly sales"
    wb.save(p)
    with pytest.raises(InputError, match="not an RMI reporting template"):
        read_template(p)
    q = tmp_path / "not.xlsx"
    q.write_text("hello")
    with pytest.raises(InputError, match=r"not a readable \.xlsx"):
        read_template(q)


def test_free_text_in_country_columns_is_a_row_warning(tmp_path: Path) -> None:
    """What real CMRT 6.4 files hold in the mine-country column (O): a remark, a list of
    countries, the "R/S" shorthand for recycled/scrap, a formula's 0. None aborts."""
    rows = [
        {
            "metal": "Tantalum",
            "name": "A",
            "country": "Thailand",
            "cid": "CID002544",
            "mine_country": "Please see RCOI-List, available at the RMI Homepage",
        },
        {
            "metal": "Tin",
            "name": "B",
            "country": "China",
            "cid": "CID000228",
            "mine_country": "Australia, Brazil, R/S",
        },
        {
            "metal": "Tin",
            "name": "C",
            "country": "Japan",
            "cid": "CID000402",
            "mine_name": "0",
            "mine_country": "0",
        },
        {"metal": "Gold", "name": "D", "country": "UNITED STATES OF AMERICA", "cid": "CID000292"},
    ]
    p = tmp_path / "cmrt.xlsx"
    write_template(p, "CMRT", "6.4", declaration=DECL, smelters=rows)
    t = read_template(p)
    assert [s.country for s in t.smelters] == ["THA", "CHN", "JPN", "USA"]
    assert t.warnings == (
        "Smelter List!O5: mine country text 'Please see RCOI-List', 'available at the RMI "
        "Homepage' names no country; left out",
    )
    got = [(x.smelter.rsplit("/", 1)[1], x.mine_country) for x in t.sourcing]
    assert got == [("CID002544", None), ("CID000228", "AUS"), ("CID000228", "BRA")]
