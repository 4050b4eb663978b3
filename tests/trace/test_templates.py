"""RMI templates (CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x) from template-shaped files we generate."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from critmin.errors import InputError
from critmin.trace.model import Stage
from critmin.trace.templates import read_template, write_template

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
        "smelter": "CID001234",
        "metal": "tin",
        "mine": "Mine X",
        "mine_country": "IDN",
    }
    facs = t.to_network().facilities
    assert {f.stage for f in facs} == {Stage.REFINING}
    assert facs[2].id == "cmrt-smelter-row7"


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
                "mine_id": "M-1",
                "metal": "Cobalt",
                "name": "Co mine",
                "country": "Congo, The Democratic Republic of the",
                "smelter_cid": "CID003456",
            }
        ],
    )
    t = read_template(p)
    assert t.minerals == ("cobalt", "mica")
    assert [(m.mine_id, m.country) for m in t.mines] == [("M-1", "COD")]
    assert t.sourcing[-1].smelter == "CID003456"
    stages = {f.id: f.stage for f in t.to_network().facilities}
    assert stages == {"CID003456": Stage.REFINING, "M-1": Stage.MINE}
    a = read_template(EXAMPLES / "amrt_1.3_example.xlsx")
    assert (a.kind, a.version, a.mines[0].country) == ("AMRT", "1.3", "AUS")
    assert read_template(EXAMPLES / "emrt_2.0_example.xlsx").mines[0].country == "COD"


def test_emrt_1_has_no_mine_list(tmp_path: Path) -> None:
    p = tmp_path / "emrt1.xlsx"
    write_template(p, "EMRT", "1.3", declaration=DECL, smelters=SMELTERS[:1], minerals=("cobalt",))
    assert read_template(p).mines == ()


def test_malformed_cid_names_the_cell(tmp_path: Path) -> None:
    p = tmp_path / "bad.xlsx"
    rows = [dict(SMELTERS[0]), {"metal": "Tin", "name": "X", "country": "Peru", "cid": "CID12"}]
    write_template(p, "CMRT", "6.4", declaration=DECL, smelters=rows)
    with pytest.raises(
        InputError,
        match=r"Smelter List!F6: smelter identification 'CID12' is malformed; "
        r"expected 'CID' \+ 6 digits",
    ):
        read_template(p)


def test_unknown_country_and_empty_company(tmp_path: Path) -> None:
    p = tmp_path / "c.xlsx"
    write_template(
        p,
        "CMRT",
        "6.4",
        declaration=DECL,
        smelters=[{"metal": "Tin", "name": "X", "country": "Atlantis", "cid": ""}],
    )
    with pytest.raises(InputError, match=r"Smelter List!E5: unknown country 'Atlantis'"):
        read_template(p)
    write_template(p, "CMRT", "6.4", declaration={"declaration_scope": "A"}, smelters=[])
    with pytest.raises(InputError, match=r"expected it in Declaration!D8"):
        read_template(p)


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
