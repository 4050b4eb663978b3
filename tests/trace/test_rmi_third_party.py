"""A third party's cell map of RMI templates, as read by hand, against critmin's layouts.

The third party is github.com/cirscn/cm-reporting, a TypeScript app that fills RMI's blank
templates (licence PolyForm Noncommercial 1.0.0: none of its code or files is copied here,
only the cell positions it states, which are facts about RMI's templates). What was read:

A. ``app/src/lib/public/excel.ts`` at e1c8fb3e9c143a677b1ca59953c66038e2eaf704 (the same
   constants at 81f17376337ba828e28708ce9119ae06543be23b), its Excel export, per template
   kind, not per revision: declaration D8, D9, D10, then company id ... effective date on
   consecutive rows from 12 (CMRT), 16 (EMRT), 17 (AMRT, every revision); EMRT 2.x minerals
   ``D12 E12 G12 D13 E13 G13``; AMRT 1.3+ minerals ``D12:I13`` (12 slots) and others
   ``D15:I16``; AMRT 1.1-1.2 minerals (free text) not written; Smelter List from row 5: A id
   input, B metal, C look-up, D name, E country, F identification, ..., N mine name, O mine
   country, P recycled, Q comments, for every revision (A and C only written where the
   revision has them, the others never moved); Mine List from row 5: A metal, B smelter, C
   mine, D mine id, E source, F country, ..., M comments.
B. ``app/src/lib/public/excelMappings.generated.ts`` at 81f1737: the row of question 1 (the
   column-B text "1) ..."), generated from each blank by ``scripts/generate-excel-mapping.js``.
C. ``app/src/lib/public/excelMapping.test.ts``, a version after 81f1737 (in the search index
   without its commit): AMRT 1.31 question 1 on row 30 (question 2 on 42), and the anchors
   of the unbranded 6.6.1 / 2.11.1 / 1.31.1 equal to 6.6 / 2.11 / 1.31.
D. The revision definitions ``app/src/lib/core/registry/templates/cmrt/versions/6.6.ts`` at
   2048be198f2d460539ff4cfdafa2aea5dcd9f592 (6.5's but for the Product List's requester
   columns and the date range), ``emrt/versions/2.11.ts`` at
   3bfe3bcbf4bcccadadecfb63d5025b6ab189fad5 (2.1's with another id), ``amrt/versions/
   1.31.ts`` at d9a9886ce7477c8d72a819040f39d1f9260faa3e (1.3's flags: id input, look-up,
   Mine List smelter drop-down; six more minerals in the list). They say the export (A) is
   used on those revisions unchanged.
E. ``docs/archive/diffs/amrt.md`` and ``amrt-1.1.md`` at
   eaad12c5e177438f19623f06f04be22f1e85d29b, its description of the AMRT 1.1 blank: 1.2's
   declaration fields in 1.2's order; Smelter List without look-up, one name column, metal in
   A, country in C; 1.2's Mine List.

The control (revisions critmin verified against RMI's blanks) shows how far A can be
trusted: it agrees with critmin on every field of CMRT 6.01-6.5 and EMRT 2.0-2.1, and
disagrees on EMRT 1.1-1.3 (company block at 16, not 12), AMRT 1.2 (company block at 17, not
14; Smelter List metal in B, not A) and AMRT 1.3 (minerals grid with F12/F13). critmin is
right on each: the EMRT 1.x blanks have their "Company Unique ID" label in B12 (B16 is the
contact e-mail), the AMRT 1.2 blank in B14 and "Metal (*)" over column A of its Smelter List
(A's constants are the newest revision's layout applied to every revision of the kind), and
the AMRT 1.2 and 1.3 blanks merge E12:F12 and E13:F13, so F12/F13 are no input cells (1.3's
validation of the "other" cells is on E15:F15, one per merged pair). The anchors (B),
generated from each blank, agree with critmin everywhere. So A counts as evidence only where
it was right on the verified revision the new one follows (CMRT 6.5 -> 6.6, EMRT 2.1 ->
2.11, AMRT 1.3 -> 1.31, declaration and lists), never for AMRT 1.1 (B and E are used there)
nor for AMRT minerals.

This test fails if critmin's layouts or the evidence recorded in
``critmin.trace.templates.THIRD_PARTY_CHECKED`` change without this table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from critmin.trace.templates import (
    _COMPANY_FIELDS,
    THIRD_PARTY_CHECKED,
    layout_for,
    read_template,
    write_template,
)

# --- the positions read (A-E above) ----------------------------------------------------------

# A: first row of the company block (company id ... effective date), per kind
_A_BLOCK = {"CMRT": 12, "EMRT": 16, "AMRT": 17}
_A_NAME_SCOPE = {"company_name": "D8", "declaration_scope": "D9", "scope_description": "D10"}
_A_EMRT2_MINERALS = ("D12", "E12", "G12", "D13", "E13", "G13")
_A_AMRT13_MINERALS = tuple(f"{c}{r}" for r in (12, 13) for c in "DEFGHI")
# A: Smelter List / Mine List columns of the fields critmin reads, and the first data row
_A_SMELTER = {
    "first_row": 5,
    "id_input": "A",
    "metal": "B",
    "lookup": "C",
    "name": "D",
    "country": "E",
    "cid": "F",
    "mine_name": "N",
    "mine_country": "O",
    "recycled": "P",
}
_A_MINE = {"first_row": 5, "metal": "A", "smelter_name": "B", "name": "C", "mine_id": "D"}
_A_MINE |= {"country": "F"}
# E: AMRT 1.1 Smelter List (no id input, no look-up: metal A, name B, country C; then 1.2's
# order: identification D, ..., mine name L, mine country M, recycled N)
_E_AMRT11_SMELTER = {"first_row": 5, "metal": "A", "name": "B", "country": "C", "cid": "D"}
_E_AMRT11_SMELTER |= {"mine_name": "L", "mine_country": "M", "recycled": "N"}


def _export(kind: str, *, minerals: tuple[str, ...] | None, ids: bool = True) -> dict[str, Any]:
    """What A writes for a revision of ``kind`` (``ids``: it has id input and look-up)."""
    smelter = (
        dict(_A_SMELTER)
        if ids
        else {k: v for k, v in _A_SMELTER.items() if k not in {"id_input", "lookup"}}
    )
    return {
        "block": _A_BLOCK[kind],
        "minerals": minerals,
        "smelter": smelter,
        "mine": _A_MINE,
    }


# (kind, revision) -> positions; "q1" is question 1's row from B or C (None: not read)
THIRD_PARTY: dict[tuple[str, str], dict[str, Any]] = {
    **{
        ("CMRT", v): _export("CMRT", minerals=None) | {"q1": 25}
        for v in ("6.01", "6.1", "6.22", "6.31", "6.4", "6.5")
    },
    **{
        ("EMRT", v): _export("EMRT", minerals=None) | {"q1": 25}
        for v in ("1.1", "1.11", "1.2", "1.3")
    },
    **{
        ("EMRT", v): _export("EMRT", minerals=_A_EMRT2_MINERALS) | {"q1": 29}
        for v in ("2.0", "2.1")
    },
    ("AMRT", "1.2"): _export("AMRT", minerals=None, ids=False) | {"q1": 27},
    ("AMRT", "1.3"): _export("AMRT", minerals=_A_AMRT13_MINERALS) | {"q1": 30},
    # the revisions whose blanks could not be opened here (A applied to them per D; q1 per C)
    ("CMRT", "6.6"): _export("CMRT", minerals=None) | {"q1": None},
    ("EMRT", "2.11"): _export("EMRT", minerals=_A_EMRT2_MINERALS) | {"q1": None},
    ("AMRT", "1.31"): _export("AMRT", minerals=_A_AMRT13_MINERALS) | {"q1": 30},
    # AMRT 1.1: B and E, not A (A is wrong on 1.2, the revision 1.1 is described as equal to).
    # Block: question 1 on 27 (B) minus the 13 rows from the first company-block row to
    # question 1 in every blank read (11 fields, a blank row, the "answer questions" row).
    ("AMRT", "1.1"): {
        "block": 27 - 13,
        "minerals": None,
        "smelter": _E_AMRT11_SMELTER,
        "mine": _A_MINE,
        "q1": 27,
    },
}
VERIFIED = [k for k in THIRD_PARTY if k[1] in layout_for(*k).verified_against]
NEW = [("CMRT", "6.6"), ("EMRT", "2.11"), ("AMRT", "1.31"), ("AMRT", "1.1")]


def compare(kind: str, version: str, tp: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(fields where the third party's cell is critmin's, fields where it is another);
    a field the third party does not map is in neither. Fields as in ``unverified``:
    the declaration keys, ``minerals``, ``smelter_list``, ``mine_list``; plus
    ``question_1_row`` (question 1 three rows below critmin's effective date)."""
    lay = layout_for(kind, version)
    agree: set[str] = set()
    differ: set[str] = set()

    def put(field: str, same: bool) -> None:
        (agree if same else differ).add(field)

    theirs = dict(_A_NAME_SCOPE)
    theirs |= {k: f"D{tp['block'] + i}" for i, k in enumerate(_COMPANY_FIELDS)}
    for field, cell in lay.declaration_cells.items():
        put(field, theirs[field] == cell)
    if lay.minerals_cells and tp["minerals"] is not None:
        put("minerals", tuple(tp["minerals"]) == lay.minerals_cells)
    put(
        "smelter_list",
        tp["smelter"]["first_row"] == lay.smelter_first_row
        and all(lay.smelter_cols.get(k) == c for k, c in tp["smelter"].items() if k != "first_row")
        # and critmin reads no id-input / look-up column the third party says is absent
        and ("id_input" in tp["smelter"]) == ("id_input" in lay.smelter_cols),
    )
    if lay.mine_list:
        assert lay.mine_cols is not None
        put(
            "mine_list",
            tp["mine"]["first_row"] == lay.mine_first_row
            and all(lay.mine_cols[k] == c for k, c in tp["mine"].items() if k != "first_row"),
        )
    if tp["q1"] is not None:
        put("question_1_row", int(lay.declaration_cells["completion_date"][1:]) + 3 == tp["q1"])
    return agree, differ


# Where the third party's export (A) disagrees with critmin on a revision critmin verified
# against RMI's blank; critmin is right on each (module docstring: "Company Unique ID" in B12
# of the EMRT 1.x blanks and B14 of AMRT 1.2's, "Metal" over A of AMRT 1.2's Smelter List,
# merged E12:F12 / E13:F13 in the AMRT 1.2 and 1.3 blanks).
_A_WRONG = {
    **{("EMRT", v): set(_COMPANY_FIELDS) for v in ("1.1", "1.11", "1.2", "1.3")},
    ("AMRT", "1.2"): {*_COMPANY_FIELDS, "smelter_list"},
    ("AMRT", "1.3"): {"minerals"},
}


@pytest.mark.parametrize(("kind", "version"), VERIFIED)
def test_control_third_party_against_verified_revisions(kind: str, version: str) -> None:
    """On the 14 revisions critmin checked against RMI's blanks, the third party agrees but
    where ``_A_WRONG`` says; its generated question-1 anchor agrees everywhere."""
    agree, differ = compare(kind, version, THIRD_PARTY[(kind, version)])
    assert differ == _A_WRONG.get((kind, version), set())
    assert "question_1_row" in agree
    assert "company_name" in agree
    assert "smelter_list" in agree | differ


def test_control_critmin_is_right_where_they_differ() -> None:
    """The facts read by hand from the official blanks (tests/trace/test_rmi_revisions.py,
    OFFICIAL): AMRT 1.2 has "Company Unique ID" on row 14 and "Effective Date" on 24, and its
    Smelter List has no look-up (metal in A); AMRT 1.3 has the minerals drop-downs in D, E
    (merged E:F), G, H, I. critmin's layouts say the same; the third party's export does not."""
    a12, a13 = layout_for("AMRT", "1.2"), layout_for("AMRT", "1.3")
    assert (a12.declaration_cells["company_id"], a12.declaration_cells["completion_date"]) == (
        "D14",
        "D24",
    )
    assert THIRD_PARTY[("AMRT", "1.2")]["block"] == 17
    assert a12.smelter_cols["metal"] == "A" != THIRD_PARTY[("AMRT", "1.2")]["smelter"]["metal"]
    assert "F12" not in a13.minerals_cells
    assert "F12" in THIRD_PARTY[("AMRT", "1.3")]["minerals"]


@pytest.mark.parametrize(("kind", "version"), NEW)
def test_new_revisions_third_party_fields_are_exactly_those_it_confirms(
    kind: str, version: str
) -> None:
    """For CMRT 6.6, EMRT 2.11, AMRT 1.31 and AMRT 1.1 critmin reports as third-party-checked
    exactly the fields whose cell the third party's map of that revision (above) gives as
    critmin's, and as unverified every other field. Expected: 6.6 every field; 2.11 every
    field; 1.31 all but the minerals (its grid has F12/F13, as for 1.3 where critmin is
    right); 1.1 all but the minerals (free text, not mapped)."""
    lay = layout_for(kind, version)
    agree, differ = compare(kind, version, THIRD_PARTY[(kind, version)])
    assert differ == ({"minerals"} if (kind, version) == ("AMRT", "1.31") else set())
    agree.discard("question_1_row")
    assert set(lay.third_party_checked_for(version)) == agree
    assert set(THIRD_PARTY_CHECKED[(kind, version)].fields) == agree
    assert set(lay.unverified_for(version)) == set(lay._fields()) - agree
    expected_unverified = {"CMRT": set(), "EMRT": set(), "AMRT": {"minerals"}}[kind]
    assert set(lay.unverified_for(version)) == expected_unverified


def test_evidence_names_source_commit_and_file() -> None:
    for (kind, version), check in THIRD_PARTY_CHECKED.items():
        assert check.evidence.startswith("github.com/cirscn/cm-reporting: "), (kind, version)
        assert ".ts at " in check.evidence or ".md" in check.evidence


@pytest.mark.parametrize(
    ("kind", "j3", "version"),
    [("CMRT", "6.6.1", "6.6"), ("EMRT", "2.11.1", "2.11"), ("AMRT", "1.31.1", "1.31")],
)
def test_unbranded_revision_reads_as_its_branded_one(
    tmp_path: Path, kind: str, j3: str, version: str
) -> None:
    """RMI's unbranded files (6.6.1, 2.11.1, 1.31.1) have the anchors of the branded ones
    (source C): critmin reads "Revision 6.6.1" as 6.6 with 6.6's evidence."""
    p = tmp_path / "x.xlsx"
    decl = {"company_name": "Example Components Co.", "completion_date": "2026-03-31"}
    mines: list[dict[str, str]] | None = None if kind == "CMRT" else []
    write_template(p, kind, version, declaration=decl, smelters=[], mines=mines)
    wb = openpyxl.load_workbook(p)
    wb["Declaration"]["J3"] = f"Revision {j3}\nMarch 2, 2026"
    wb.save(p)
    t = read_template(p)
    assert t.version == version
    assert t.third_party_checked == layout_for(kind, version).third_party_checked_for(version)


def test_amrt_131_new_minerals_are_read(tmp_path: Path) -> None:
    """AMRT 1.31 adds cadmium, lead, molybdenum, rhenium, selenium and tellurium to the
    drop-down list (source D): values, not cells; read from 1.3's grid like the others."""
    p = tmp_path / "x.xlsx"
    minerals = ("Cadmium", "Lead", "Molybdenum", "Rhenium", "Selenium", "Tellurium")
    write_template(
        p,
        "AMRT",
        "1.31",
        declaration={"company_name": "X"},
        smelters=[],
        mines=[],
        minerals=minerals,
    )
    t = read_template(p)
    assert t.minerals == tuple(m.lower() for m in minerals)
    assert t.unverified == ("minerals",)
