"""Every supported RMI template revision, against facts read from RMI's official blank files.

RMI's blank templates are copyrighted ("© Responsible Minerals Initiative. All rights
reserved") and are not shipped. The table below was read by hand from the official blanks of
each revision (the files RMI publishes at responsiblemineralsinitiative.org, as mirrored in the
public repository github.com/cirscn/cm-reporting, folder ``app/templates``): the Declaration
sheet's revision cell ``J3``, the first two tabs, and the rows of the column-B labels
"Company Name (*)" (always row 8), "Company Unique ID" and "Effective Date (*)", plus the
minerals drop-down cells (from the sheets' data-validation ranges). The generated files
reproduce that layout; a supplier's filled copy must read back every value it was given.

``CRITMIN_RMI_TEMPLATES=/path/to/folder`` (files named ``RMI_<KIND>_<revision>.xlsx``) also
runs the reader on the official blanks themselves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from critmin.cli import _register, app
from critmin.trace.templates import layout_for, read_template, write_template

_register()

# kind, revision, J3 text, first two tabs, row of "Company Unique ID", row of "Effective Date",
# minerals cells (empty: fixed minerals)
OFFICIAL = [
    ("CMRT", "6.01", "Revision 6.01\nMay 19, 2020", ("Revision", "Instructions"), 12, 22, ()),
    ("CMRT", "6.1", "Revision 6.1\nApril 28, 2021", ("Revision", "Instructions"), 12, 22, ()),
    ("CMRT", "6.22", "Revision 6.22\nMay 11, 2022", ("Revision", "Instructions"), 12, 22, ()),
    ("CMRT", "6.31", "Revision 6.31\nMay 26, 2023", ("Revision", "Instructions"), 12, 22, ()),
    ("CMRT", "6.4", "Revision 6.4\nApril 26, 2024", ("Revision", "Instructions"), 12, 22, ()),
    ("CMRT", "6.5", "Revision 6.5\nApril 25, 2025", ("Revision", "Instructions"), 12, 22, ()),
    ("EMRT", "1.1", "Revision 1.1\nOctober 14, 2022", ("Instructions", "Revision"), 12, 22, ()),
    ("EMRT", "1.11", "Revision 1.11\nNovember 4, 2022", ("Instructions", "Revision"), 12, 22, ()),
    ("EMRT", "1.2", "Revision 1.2\nMay 12, 2023", ("Instructions", "Revision"), 12, 22, ()),
    ("EMRT", "1.3", "Revision 1.3\nApril 26, 2024", ("Instructions", "Revision"), 12, 22, ()),
    (
        "EMRT",
        "2.0",
        "Revision 2.0\nApril 25, 2025",
        ("Instructions", "Revision"),
        16,
        26,
        ("D12", "E12", "G12", "D13", "E13", "G13"),
    ),
    (
        "EMRT",
        "2.1",
        "Revision 2.1\nOctober 17, 2025",
        ("Revision", "Instructions"),
        16,
        26,
        ("D12", "E12", "G12", "D13", "E13", "G13"),
    ),
    (
        "AMRT",
        "1.2",
        "Revision 1.2\nOctober 4, 2024",
        ("Instructions", "Revision"),
        14,
        24,
        ("D12", "E12", "G12", "H12", "I12", "D13", "E13", "G13", "H13", "I13"),
    ),
    (
        "AMRT",
        "1.3",
        "Revision 1.3\nOctober 17, 2025",
        ("Revision", "Instructions"),
        17,
        27,
        ("D12", "E12", "G12", "H12", "I12", "D13", "E13", "G13", "H13", "I13"),
    ),
]
DECLARATION = {
    "company_name": "Example Components Co.",
    "declaration_scope": "C. User defined",
    "scope_description": "Magnet assemblies",
    "company_id": "GLN 0614141000012",
    "company_id_authority": "GS1",
    "address": "1 Example Street, Example City",
    "contact_name": "Compliance desk",
    "contact_email": "compliance@example.com",
    "contact_phone": "+1 555 0100",
    "authorizer_name": "Head of sourcing",
    "authorizer_title": "Director",
    "authorizer_email": "sourcing@example.com",
    "authorizer_phone": "+1 555 0101",
    "completion_date": "2026-03-31",
}


def _smelters(kind: str, version: str) -> list[dict[str, str]]:
    metal = {"CMRT": "Tin", "EMRT": "Cobalt", "AMRT": "Silver"}[kind]
    rows = [
        {"metal": metal, "name": "Example Smelter A", "country": "Malaysia", "cid": "CID001234"},
        {"metal": metal, "name": "Example Smelter B", "country": "Peru", "cid": "CID000042"},
    ]
    if layout_for(kind, version).smelter_cols.get("mine_name"):
        rows[0] |= {"mine_name": "Example Mine", "mine_country": "Indonesia"}
    return rows


@pytest.mark.parametrize(("kind", "version", "j3", "tabs", "id_row", "date_row", "cells"), OFFICIAL)
def test_official_layout_is_recognised_and_read_back(  # noqa: PLR0917 - one table row
    tmp_path: Path,
    kind: str,
    version: str,
    j3: str,
    tabs: tuple[str, str],
    id_row: int,
    date_row: int,
    cells: tuple[str, ...],
) -> None:
    lay = layout_for(kind, version)
    p = tmp_path / f"RMI_{kind}_{version}.xlsx"
    minerals = ("cobalt", "lithium") if kind == "EMRT" and cells else ()
    minerals = ("silver", "zinc") if kind == "AMRT" else minerals
    mines = None
    if lay.mine_list:
        mines = [
            {
                "metal": _smelters(kind, version)[1]["metal"],
                "smelter_name": "Example Smelter B",
                "name": "Example Mine B",
                "mine_id": "MINE-PE-1",
                "country": "Peru",
            }
        ]
    write_template(
        p,
        kind,
        version,
        declaration=DECLARATION,
        smelters=_smelters(kind, version),
        mines=mines,
        minerals=minerals,
        release_date=j3.split("\n")[1],
    )
    # the generated file has the official cells (positions from the table, not from LAYOUTS)
    wb = openpyxl.load_workbook(p)
    d = wb["Declaration"]
    assert d["J3"].value == j3
    assert "(" + kind + ")" in d["D2"].value
    assert tuple(wb.sheetnames[:2]) == tabs
    assert d["D8"].value == DECLARATION["company_name"]
    assert d[f"D{id_row}"].value == DECLARATION["company_id"]
    assert d[f"D{date_row}"].value == DECLARATION["completion_date"]
    assert tuple(c for c in cells if d[c].value) == cells[: len(minerals)]
    wb.close()
    # ... and the reader finds kind, revision and every value
    t = read_template(p)
    assert (t.kind, t.version) == (kind, version)
    assert t.declaration == DECLARATION
    assert t.unverified == ()
    assert t.warnings == ()
    assert [(s.name, s.country, s.cid) for s in t.smelters] == [
        ("Example Smelter A", "MYS", "CID001234"),
        ("Example Smelter B", "PER", "CID000042"),
    ]
    if minerals:
        assert t.minerals == minerals
    if mines:
        assert [(m.mine_id, m.country, m.smelter_cid) for m in t.mines] == [
            ("MINE-PE-1", "PER", "CID000042")
        ]


def test_amrt_11_is_read_and_reported_third_party_checked(tmp_path: Path) -> None:
    """No official AMRT 1.1 blank could be opened (the public copy's content is not stored):
    its layout is assumed to be 1.2's. The third-party map (anchors generated from the 1.1
    blank, its description) confirms every cell but the free-text minerals, which stay
    unverified; nothing is reported as checked against RMI's blank."""
    p = tmp_path / "amrt11.xlsx"
    write_template(p, "AMRT", "1.1", declaration=DECLARATION, smelters=[], mines=[])
    t = read_template(p)
    assert t.version == "1.1"
    assert t.unverified == ("minerals",)
    assert {"company_name", "completion_date", "smelter_list", "mine_list"} <= set(
        t.third_party_checked
    )
    assert "cirscn/cm-reporting" in t.third_party_evidence


# the fields no third-party map confirms, per revision never compared with its blank
_STILL_UNVERIFIED = {("CMRT", "6.6"): (), ("EMRT", "2.11"): (), ("AMRT", "1.31"): ("minerals",)}


@pytest.mark.parametrize(("kind", "version"), list(_STILL_UNVERIFIED))
def test_revision_never_checked_reports_third_party_and_unverified_fields(
    tmp_path: Path, kind: str, version: str
) -> None:
    """Revisions RMI published after the blanks were checked (their files could not be
    opened) are read with the layout of the nearest checked revision. The import says which
    fields a third-party cell map of that revision confirms (declaration, Smelter List, Mine
    List) and which nothing confirms (AMRT 1.31's minerals grid); neither is reported as
    checked against the blank."""
    p = tmp_path / "x.xlsx"
    write_template(p, kind, version, declaration=DECLARATION, smelters=_smelters(kind, version))
    t = read_template(p)
    assert t.version == version
    assert t.declaration == DECLARATION
    assert t.unverified == _STILL_UNVERIFIED[(kind, version)]
    assert {"company_name", "completion_date", "smelter_list"} <= set(t.third_party_checked)
    assert not set(t.unverified) & set(t.third_party_checked)
    res = CliRunner().invoke(app, ["trace", "import", str(p)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert "were not checked against RMI's blank of that revision" in out
    assert "a third-party cell map of it (github.com/cirscn/cm-reporting" in out
    assert ("no third-party map confirms them" in out) == bool(t.unverified)
    res = CliRunner().invoke(app, ["trace", "import", str(p), "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["checked_against_blank"] is False
    assert got["third_party_checked"] == list(t.third_party_checked)
    assert got["unverified"] == list(t.unverified)
    assert "cirscn/cm-reporting" in got["third_party_evidence"]


def test_revision_with_no_evidence_at_all_is_all_unverified(tmp_path: Path) -> None:
    """A revision neither checked against its blank nor mapped by the third party (CMRT 6.7,
    not published when this was written): every field unverified, none third-party."""
    p = tmp_path / "x.xlsx"
    write_template(p, "CMRT", "6.7", declaration=DECLARATION, smelters=_smelters("CMRT", "6.5"))
    t = read_template(p)
    assert t.third_party_checked == ()
    assert {"company_name", "completion_date", "smelter_list"} <= set(t.unverified)


def test_checked_revision_reports_neither(tmp_path: Path) -> None:
    p = tmp_path / "x.xlsx"
    write_template(p, "EMRT", "2.1", declaration=DECLARATION, smelters=_smelters("EMRT", "2.1"))
    res = CliRunner().invoke(app, ["trace", "import", str(p), "--json"])
    got = json.loads(res.stdout)
    assert (got["unverified"], got["third_party_checked"]) == ([], [])
    assert got["checked_against_blank"] is True


def test_revision_sheet_names_the_kind(tmp_path: Path) -> None:
    """A Declaration title without the acronym (edited by a supplier): the Revision sheet's
    English title (B3) still names the kind."""
    p = tmp_path / "x.xlsx"
    write_template(p, "EMRT", "1.3", declaration=DECLARATION, smelters=[], title="Declaración")
    wb = openpyxl.load_workbook(p)
    wb["Revision"]["B3"] = "Extended Mineral Reporting Template"
    wb.save(p)
    assert read_template(p).kind == "EMRT"


OFFICIAL_DIR = os.environ.get("CRITMIN_RMI_TEMPLATES")


@pytest.mark.skipif(not OFFICIAL_DIR, reason="set CRITMIN_RMI_TEMPLATES to RMI's blank files")
@pytest.mark.parametrize(("kind", "version"), [(k, v) for k, v, *_ in OFFICIAL])
def test_official_blank_files(kind: str, version: str) -> None:  # pragma: no cover - opt-in
    p = Path(str(OFFICIAL_DIR)) / f"RMI_{kind}_{version}.xlsx"
    if not p.exists():
        pytest.skip(f"{p} not present")
    t = read_template(p)
    assert (t.kind, t.version) == (kind, version)
    assert t.unverified == ()
    assert _cells_disagreeing_with_blank(p, kind, version) == []


# Words of the column-B labels and list headers (English, and RMI's Chinese edition), so a
# blank in either language confirms the cell critmin reads for each field.
_LABEL_WORDS = {
    "company_name": ("company name", "公司名称"),
    "declaration_scope": ("scope", "范围"),
    "scope_description": ("description", "范围描述"),
    "company_id": ("unique id", "唯一识别"),
    "company_id_authority": ("authority", "授权识别"),
    "address": ("address", "地址"),
    "contact_name": ("contact", "联系人"),
    "contact_email": ("email", "e-mail", "电子邮件", "电邮"),
    "contact_phone": ("phone", "电话"),
    "authorizer_name": ("authorizer", "授权人"),
    "authorizer_title": ("title", "职务"),
    "authorizer_email": ("email", "e-mail", "电子邮件", "电邮"),
    "authorizer_phone": ("phone", "电话"),
    "completion_date": ("date", "日期"),
}
_HEADER_WORDS = {
    "metal": ("metal", "金属"),
    "name": ("name", "名称"),
    "country": ("country", "国家"),
    "cid": ("identification", "识别"),
    "mine_name": ("mine", "矿"),
    "mine_country": ("country", "国家"),
    "recycled": ("recycl", "回收"),
    "smelter_name": ("smelter", "冶炼厂"),
    "mine_id": ("identification", "识别"),
}


def _cells_disagreeing_with_blank(p: Path, kind: str, version: str) -> list[str]:
    """Every cell critmin reads, against the official blank's cached labels: the Declaration
    label (column B) beside each declaration field, question 1 ("1) ...") three rows below
    the effective date, and the Smelter List / Mine List header (row 4) above each column
    read. Returns what disagrees."""
    lay = layout_for(kind, version)
    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    bad = []
    try:
        d = wb["Declaration"]
        for field, cell in lay.declaration_cells.items():
            label = str(d[f"B{cell[1:]}"].value or "").lower()
            if not any(w in label for w in _LABEL_WORDS[field]):
                bad.append(f"Declaration!B{cell[1:]} {label!r} is not the label of {field}")
        q1 = int(lay.declaration_cells["completion_date"][1:]) + 3
        if not str(d[f"B{q1}"].value or "").startswith("1)"):
            bad.append(f"Declaration!B{q1} is not question 1")
        lists = [("Smelter List", lay.smelter_cols)]
        if lay.mine_cols:
            lists.append(("Mine List", lay.mine_cols))
        for sheet, cols in lists:
            ws = wb[sheet]
            for field, col in cols.items():
                words = _HEADER_WORDS.get(field)
                header = str(ws[f"{col}{lay.smelter_first_row - 1}"].value or "").lower()
                if words and not any(w in header for w in words):
                    bad.append(f"{sheet}!{col}4 {header[:40]!r} is not the header of {field}")
    finally:
        wb.close()
    return bad


@pytest.mark.skipif(not OFFICIAL_DIR, reason="set CRITMIN_RMI_TEMPLATES to RMI's blank files")
def test_official_amrt_11_blank() -> None:  # pragma: no cover - opt-in
    """AMRT 1.1, if its blank is given: the layout assumed (1.2's) against its cells."""
    p = Path(str(OFFICIAL_DIR)) / "RMI_AMRT_1.1.xlsx"
    if not p.exists() or p.stat().st_size == 0:
        pytest.skip(f"{p} not present (no public copy could be opened)")
    t = read_template(p)
    assert (t.kind, t.version) == ("AMRT", "1.1")
    assert _cells_disagreeing_with_blank(p, "AMRT", "1.1") == []
