"""RMI supplier templates (CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x) from .xlsx, by revision and cell.

Where RMI puts things (checked against the official blank templates of every revision listed in
``docs/trace.md`` "Supplier templates"; the blank files are RMI's and are not shipped):

* Kind and revision: the ``Declaration`` sheet's title cell ``D2`` ("Conflict Minerals
  Reporting Template (CMRT)", translated in other language editions but always with the
  acronym in parentheses) and its revision cell ``J3`` ("Revision 6.4" followed by the release
  date). critmin scans rows 1-4 of the Declaration sheet for the acronym and "Revision d.d";
  where the Declaration sheet gives no acronym, the ``Revision`` sheet's English document title
  (``B3``) names the kind.
* Declaration, column D: company name row 8, declaration scope 9, description of scope 10; then
  company unique id, id authority, address, contact name, e-mail, phone, authorizer name,
  title, e-mail, phone, effective date on consecutive rows starting at row 12 (CMRT 6.x,
  EMRT 1.x), 16 (EMRT 2.x, after the minerals grid in rows 12-13), 14 (AMRT 1.2) or
  17 (AMRT 1.3, after the "Other" minerals rows 15-16).
* Minerals in scope: CMRT tantalum, tin, gold, tungsten and EMRT 1.x cobalt and mica (fixed);
  EMRT 2.x drop-downs ``D12 E12 G12 D13 E13 G13`` (each "Cobalt" or "(Delete Cobalt)", ...);
  AMRT ``D12 E12 G12 H12 I12 D13 E13 G13 H13 I13`` (free text in 1.2, a list with
  "Other [specify below]" in 1.3, the other mineral typed in row 15/16 below it).
* Smelter List: header row 4, data from row 5. CMRT 6.x, EMRT and AMRT 1.3: A id input,
  B metal, C smelter look-up, D name, E country, F smelter identification (CID), G source of
  id, H street, I city, J state/province, K contact, L e-mail, M next steps, N mine name,
  O mine country, P 100 % recycled, Q comments. AMRT 1.2: no id-input and no look-up column
  (A metal, B name, C country, D CID, ... L mine name, M mine country, N recycled, O comments).
* Mine List (EMRT 2.x, AMRT): data from row 5; A metal, B name of the smelter sourcing from
  the mine, C mine name, D mine identification, E source of id, F country, G street, H city,
  I state/province, J contact, K e-mail, L next steps, M comments.

Revisions whose blank could not be opened (AMRT 1.1; CMRT 6.6, EMRT 2.11, AMRT 1.31) are read
with their neighbours' layout; :data:`THIRD_PARTY_CHECKED` records which of their fields a
third party's cell map of that revision confirms (``third_party_checked``, never reported as
checked against the blank), the others stay ``unverified``.

Suppliers type free text where a country or mine is expected ("Please see RCOI list...",
"Australia, Brazil, China"): a list of countries becomes one declared source per country, any
other text a warning on that row (``SupplierTemplate.warnings``), never an abort. Only a file
that is no template, an unsupported revision, or a hostile workbook (more than
:data:`MAX_SHEET_ROWS` rows, more than :data:`MAX_INFLATED_BYTES` once inflated) is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings as _pywarnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from critmin.errors import CritminError, InputError
from critmin.fileio import atomic_write
from critmin.trace.geo import resolve_country
from critmin.trace.model import Facility, Stage, SupplyNetwork

CID_RE = re.compile(r"^CID\d{6}$")
KIND_RE = re.compile(r"\((CMRT|EMRT|AMRT|CRT)\)|\b(CMRT|EMRT|AMRT|CRT)\b")
REVISION_RE = re.compile(r"\b(?:Revision|Rev\.?|Version)\s*(\d+)\.(\d+)", re.IGNORECASE)
TITLE_RE = re.compile(r"\b(CMRT|EMRT|AMRT)\b\D{0,40}?(\d+)\.(\d+)")
ENGLISH_TITLES = {
    "conflict minerals reporting template": "CMRT",
    "extended minerals reporting template": "EMRT",
    "extended mineral reporting template": "EMRT",  # the EMRT Revision sheet's spelling
    "additional minerals reporting template": "AMRT",
    "cobalt reporting template": "CRT",
}
SMELTER_URI = "https://w3id.org/critmin/id/rmi-smelter/"
# Hostile-workbook limits: the official templates have at most 6,226 rows per sheet and
# inflate to about 11 MB; a limit far above both refuses sparse and zip-bomb files quickly.
MAX_SHEET_ROWS = 100_000
MAX_INFLATED_BYTES = 200 * 2**20
# Text that means "nothing" in a country or mine cell (a formula's 0, n/a, ...)
_EMPTY_TOKENS = frozenset({"0", "-", "--", "n/a", "na", "none", "nil", "tbd", "not applicable"})
# "Recycled" / "Scrap" are the answers the template asks for instead of a mine country
_RECYCLED = frozenset({"recycled", "scrap", "recycled or scrap", "recycled/scrap"})


def smelter_uri(cid: str) -> str:
    """The facility URI of an RMI smelter/refiner identification: ``.../rmi-smelter/CID001234``."""
    return SMELTER_URI + cid


# Smelter List with id-input (A) and look-up (C) columns: CMRT 6.x, EMRT 1.x-2.x, AMRT 1.3+.
_SMELTER_LOOKUP = {
    "id_input": "A",
    "metal": "B",
    "lookup": "C",
    "name": "D",
    "country": "E",
    "cid": "F",
    "id_source": "G",
    "street": "H",
    "city": "I",
    "province": "J",
    "contact_name": "K",
    "contact_email": "L",
    "next_steps": "M",
    "mine_name": "N",
    "mine_country": "O",
    "recycled": "P",
    "comments": "Q",
}
# AMRT 1.1-1.2: no id-input and no look-up column (metal A, name B, country C).
_SMELTER_PLAIN = {
    "metal": "A",
    "name": "B",
    "country": "C",
    "cid": "D",
    "id_source": "E",
    "street": "F",
    "city": "G",
    "province": "H",
    "contact_name": "I",
    "contact_email": "J",
    "next_steps": "K",
    "mine_name": "L",
    "mine_country": "M",
    "recycled": "N",
    "comments": "O",
}
# Mine List (EMRT 2.x, AMRT 1.x): the smelter is named (B), not identified by CID.
_MINE_COLS = {
    "metal": "A",
    "smelter_name": "B",
    "name": "C",
    "mine_id": "D",
    "id_source": "E",
    "country": "F",
    "street": "G",
    "city": "H",
    "province": "I",
    "contact_name": "J",
    "contact_email": "K",
    "next_steps": "L",
    "comments": "M",
}
_COMPANY_FIELDS = (
    "company_id",
    "company_id_authority",
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "authorizer_name",
    "authorizer_title",
    "authorizer_email",
    "authorizer_phone",
    "completion_date",
)
# English labels of column B (the official templates' English edition), written by the
# generator so that its files look like the real ones
_LABELS = {
    "company_name": "Company Name (*):",
    "declaration_scope": "Declaration Scope or Class (*):",
    "scope_description": "Description of Scope:",
    "company_id": "Company Unique ID:",
    "company_id_authority": "Company Unique ID Authority:",
    "address": "Address:",
    "contact_name": "Contact Name (*):",
    "contact_email": "Email – Contact (*):",
    "contact_phone": "Phone – Contact (*):",
    "authorizer_name": "Authorizer (*):",
    "authorizer_title": "Title - Authorizer:",
    "authorizer_email": "Email - Authorizer (*):",
    "authorizer_phone": "Phone - Authorizer:",
    "completion_date": "Effective Date (*):",
}


def _decl(first_company_row: int) -> dict[str, str]:
    """Declaration cells in column D: name/scope/description in rows 8-10, then the company
    block on consecutive rows from ``first_company_row``."""
    cells = {"company_name": "D8", "declaration_scope": "D9", "scope_description": "D10"}
    for i, key in enumerate(_COMPANY_FIELDS):
        cells[key] = f"D{first_company_row + i}"
    return cells


def _grid(cols: str, rows: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{c}{r}" for r in rows for c in cols)


@dataclass(frozen=True)
class TemplateLayout:
    """Where things are in one template kind/revision range, and what was checked.

    ``verified_against`` names the official blank revisions whose cells were compared with
    this layout; ``unverified`` lists the fields whose cell is critmin's inference.
    """

    kind: str
    major: int
    minors: range
    sheet_order: tuple[str, ...]
    mine_list: bool
    declaration_cells: dict[str, str]
    smelter_cols: dict[str, str]
    fixed_minerals: tuple[str, ...] = ()
    minerals_cells: tuple[str, ...] = ()
    other_minerals_cells: tuple[str, ...] = ()
    smelter_first_row: int = 5
    mine_first_row: int = 5
    mine_cols: dict[str, str] | None = None
    verified_against: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        lo, hi = self.minors.start, self.minors.stop - 1
        if hi >= 99:
            return f"{self.kind} {self.major}.x" if lo == 0 else f"{self.kind} {self.major}.{lo}+"
        if lo == hi:
            return f"{self.kind} {self.major}.{lo}"
        return f"{self.kind} {self.major}.{lo}-{self.major}.{hi}"

    @property
    def unverified(self) -> tuple[str, ...]:
        """Fields whose cell was not compared with an official blank template of any revision
        this layout covers."""
        if self.verified_against:
            return ()
        return self._fields()

    def third_party_checked_for(self, version: str) -> tuple[str, ...]:
        """Fields of a revision never compared with RMI's blank whose cell a third party's map
        of that revision puts where critmin reads it (:data:`THIRD_PARTY_CHECKED`): weaker
        evidence than the blank, stronger than none. Empty for a revision checked against
        its blank."""
        v = version.strip()
        if v in self.verified_against:
            return ()
        check = THIRD_PARTY_CHECKED.get((self.kind, v))
        if check is None:
            return ()
        return tuple(f for f in self._fields() if f in check.fields)

    def unverified_for(self, version: str) -> tuple[str, ...]:
        """Fields whose cell nothing confirms for this revision: neither the official blank
        of that revision nor a third-party map of it (:meth:`third_party_checked_for`). A
        revision read with the layout of its neighbours (CMRT 6.6, EMRT 2.11, AMRT 1.31 and
        AMRT 1.1, whose blanks could not be opened) keeps here what no map confirms."""
        if version.strip() in self.verified_against:
            return ()
        checked = set(self.third_party_checked_for(version))
        return tuple(f for f in self._fields() if f not in checked)

    def _fields(self) -> tuple[str, ...]:
        keys = list(self.declaration_cells)
        if self.minerals_cells:
            keys.append("minerals")
        return (*keys, "smelter_list", *(("mine_list",) if self.mine_list else ()))


_CMRT_SHEETS = (
    "Revision",
    "Instructions",
    "Definitions",
    "Declaration",
    "Smelter List",
    "Checker",
    "Product List",
    "Smelter Look-up",
)
_EMRT1_SHEETS = ("Instructions", "Revision", *_CMRT_SHEETS[2:])
# EMRT 2.0: Mine List after Checker
_EMRT2_SHEETS = (*_EMRT1_SHEETS[:6], "Mine List", *_EMRT1_SHEETS[6:])
_AMRT13_SHEETS = (
    "Revision",
    "Instructions",
    "Definitions",
    "Declaration",
    "Minerals Scope",
    "Smelter List",
    "Checker",
    "Mine List",
    "Product List",
    "Smelter Look-up",
)
_AMRT12_SHEETS = ("Instructions", "Revision", *_AMRT13_SHEETS[2:-1])
_EMRT2_MINERALS = _grid("DEG", (12, 13))
_AMRT_MINERALS = _grid("DEGHI", (12, 13))
_AMRT_OTHER = _grid("DEGHI", (15, 16))

LAYOUTS: tuple[TemplateLayout, ...] = (
    TemplateLayout(
        "CMRT",
        6,
        range(100),
        _CMRT_SHEETS,
        False,
        declaration_cells=_decl(12),
        smelter_cols=_SMELTER_LOOKUP,
        fixed_minerals=("tantalum", "tin", "gold", "tungsten"),
        verified_against=("6.01", "6.1", "6.22", "6.31", "6.4", "6.5"),
    ),
    TemplateLayout(
        "EMRT",
        1,
        range(100),
        _EMRT1_SHEETS,
        False,
        declaration_cells=_decl(12),
        smelter_cols=_SMELTER_LOOKUP,
        fixed_minerals=("cobalt", "mica"),
        verified_against=("1.1", "1.11", "1.2", "1.3"),
    ),
    TemplateLayout(
        "EMRT",
        2,
        range(1),
        _EMRT2_SHEETS,
        True,
        declaration_cells=_decl(16),
        smelter_cols=_SMELTER_LOOKUP,
        minerals_cells=_EMRT2_MINERALS,
        mine_cols=_MINE_COLS,
        verified_against=("2.0",),
    ),
    TemplateLayout(  # 2.1 moved the Revision tab first; the cells did not move
        "EMRT",
        2,
        range(1, 100),
        ("Revision", "Instructions", *_EMRT2_SHEETS[2:]),
        True,
        declaration_cells=_decl(16),
        smelter_cols=_SMELTER_LOOKUP,
        minerals_cells=_EMRT2_MINERALS,
        mine_cols=_MINE_COLS,
        verified_against=("2.1",),
    ),
    # AMRT 1.1: no official blank could be opened (the public copy's content is not stored);
    # assumed as 1.2, which its public description matches: the same Declaration fields in the
    # same order with question 1 on row 27 and question 2 on row 39 (anchors generated from
    # the 1.1 blank, github.com/cirscn/cm-reporting, app/src/lib/public/
    # excelMappings.generated.ts), no Smelter Look-up, metal in A and country in C
    # (docs/archive/diffs/amrt.md). Never verified: reported third-party-checked except the
    # minerals (THIRD_PARTY_CHECKED), which stay unverified.
    TemplateLayout(
        "AMRT",
        1,
        range(2),
        _AMRT12_SHEETS,
        True,
        declaration_cells=_decl(14),
        smelter_cols=_SMELTER_PLAIN,
        minerals_cells=_AMRT_MINERALS,
        mine_cols=_MINE_COLS,
    ),
    TemplateLayout(
        "AMRT",
        1,
        range(2, 3),
        _AMRT12_SHEETS,
        True,
        declaration_cells=_decl(14),
        smelter_cols=_SMELTER_PLAIN,
        minerals_cells=_AMRT_MINERALS,
        mine_cols=_MINE_COLS,
        verified_against=("1.2",),
    ),
    TemplateLayout(
        "AMRT",
        1,
        range(3, 100),
        _AMRT13_SHEETS,
        True,
        declaration_cells=_decl(17),
        smelter_cols=_SMELTER_LOOKUP,
        minerals_cells=_AMRT_MINERALS,
        other_minerals_cells=_AMRT_OTHER,
        mine_cols=_MINE_COLS,
        verified_against=("1.3",),
    ),
)


@dataclass(frozen=True)
class ThirdPartyCheck:
    """A third party's cell map of a revision whose official blank critmin could not open.

    ``fields`` are the critmin fields whose cell that map puts exactly where critmin reads
    it for this revision; ``evidence`` says which files at which commit say so. This is not
    a check against RMI's blank: the map is another reader's, right on every revision
    critmin verified for the fields listed here, but wrong elsewhere (see ``docs/trace.md``,
    "Third-party cell map"). Fields it does not confirm stay ``unverified``.
    """

    fields: tuple[str, ...]
    evidence: str


THIRD_PARTY = "github.com/cirscn/cm-reporting"
_DECLARATION_FIELDS = tuple(_decl(12))
# Pinned by tests/trace/test_rmi_third_party.py (the positions read, and their comparison
# with LAYOUTS). Commits of github.com/cirscn/cm-reporting; paths under app/.
_EXPORT = "src/lib/public/excel.ts at e1c8fb3 (its Excel export: per template kind)"
THIRD_PARTY_CHECKED: dict[tuple[str, str], ThirdPartyCheck] = {
    ("CMRT", "6.6"): ThirdPartyCheck(
        (*_DECLARATION_FIELDS, "smelter_list"),
        f"{THIRD_PARTY}: {_EXPORT} writes CMRT declarations to D8-D10, D12-D22 and the "
        "Smelter List from row 5 in columns A-Q, and is used on its copy of the 6.6 blank "
        "(src/lib/public/excel.test.ts); its 6.6 definition "
        "(src/lib/core/registry/templates/cmrt/versions/6.6.ts at 2048be1) differs from 6.5 "
        "only in the Product List (requester columns) and the date range",
    ),
    ("EMRT", "2.11"): ThirdPartyCheck(
        (*_DECLARATION_FIELDS, "minerals", "smelter_list", "mine_list"),
        f"{THIRD_PARTY}: {_EXPORT} writes EMRT 2.x declarations to D8-D10, D16-D26, the "
        "minerals to D12 E12 G12 D13 E13 G13, the Smelter List (A-Q) and Mine List (A-M) "
        "from row 5; its 2.11 definition (src/lib/core/registry/templates/emrt/versions/"
        "2.11.ts at 3bfe3bc) is 2.1's with another id",
    ),
    ("AMRT", "1.31"): ThirdPartyCheck(
        (*_DECLARATION_FIELDS, "smelter_list", "mine_list"),
        f"{THIRD_PARTY}: {_EXPORT} writes AMRT 1.3+ declarations to D8-D10, D17-D27 and the "
        "Smelter List (A-Q) and Mine List (A-M) from row 5; question 1 on row 30, three rows "
        "below the effective date, in anchors generated from the 1.31 blank "
        "(src/lib/public/excelMapping.test.ts); its 1.31 definition "
        "(src/lib/core/registry/templates/amrt/versions/1.31.ts at d9a9886) has 1.3's "
        "columns and adds six minerals to the list. Minerals not confirmed: its grid "
        "D12:I13 includes F12/F13, merged into E12/E13 in the 1.3 blank",
    ),
    ("AMRT", "1.1"): ThirdPartyCheck(
        (*_DECLARATION_FIELDS, "smelter_list", "mine_list"),
        f"{THIRD_PARTY}: anchors generated from its 1.1 blank "
        "(src/lib/public/excelMappings.generated.ts at 81f1737) put question 1 on row 27 "
        "as in 1.2 (so the effective date on 24, the block on 14-24), its description "
        "(docs/archive/diffs/amrt.md, amrt-1.1.md at eaad12c) gives 1.2's declaration fields "
        "in 1.2's order, Smelter List metal A, name B, country C without look-up, and 1.2's "
        "Mine List; its export code (row 17, metal in B) is per kind and wrong on the 1.2 "
        "blank. Minerals (free text) not mapped",
    ),
}
SUPPORTED = "CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x"
_OTHER = "other [specify below]"


def layout_for(kind: str, version: str) -> TemplateLayout:
    """The layout of a template kind and ``major.minor`` revision; a clear error if unsupported."""
    m = re.fullmatch(r"(\d+)\.(\d+)", version.strip())
    if m is None:
        raise InputError(f"template version {version!r} is not of the form major.minor")
    major, minor = int(m.group(1)), int(m.group(2))
    for lay in LAYOUTS:
        if lay.kind == kind.upper() and lay.major == major and minor in lay.minors:
            return lay
    raise InputError(f"unsupported template {kind} {version}; supported: {SUPPORTED}")


class Smelter(BaseModel):
    """A Smelter List row. ``country`` is ISO3, or empty when the row gave no usable one."""

    model_config = ConfigDict(frozen=True)
    row: int
    metal: str
    name: str
    country: str
    cid: str | None
    recycled: str = ""


class Mine(BaseModel):
    model_config = ConfigDict(frozen=True)
    row: int
    mine_id: str
    metal: str
    name: str
    country: str
    smelter_name: str = ""
    smelter_cid: str | None = None


class DeclaredSourcing(BaseModel):
    """A smelter declared to source a metal from a mine (or a mine country)."""

    model_config = ConfigDict(frozen=True)
    smelter: str
    metal: str
    mine: str
    mine_country: str | None


class SupplierTemplate(BaseModel):
    """The content of one RMI reporting template.

    ``warnings`` name the cells whose content was not what the template asks for (free text
    instead of a country, a malformed CID, ...); those values were left out, the rest of the
    row kept. ``unverified`` names fields read from cells that nothing checked for this
    revision; ``third_party_checked`` those not checked against RMI's blank of this revision
    but confirmed by a third party's cell map of it (``third_party_evidence`` says which; see
    ``docs/trace.md``). A field in neither was checked against the official blank.
    """

    model_config = ConfigDict(frozen=True)
    source: str
    kind: str
    version: str
    declaration: dict[str, str]
    minerals: tuple[str, ...]
    smelters: tuple[Smelter, ...]
    mines: tuple[Mine, ...]
    sourcing: tuple[DeclaredSourcing, ...]
    unverified: tuple[str, ...] = ()
    third_party_checked: tuple[str, ...] = ()
    third_party_evidence: str = ""
    warnings: tuple[str, ...] = ()

    def _smelter_id(self, s: Smelter) -> str:
        return smelter_uri(s.cid) if s.cid else f"{self.kind.lower()}-smelter-row{s.row}"

    def facilities(self) -> tuple[Facility, ...]:
        """Smelters (stage refining, id :func:`smelter_uri`) and mines with a known country."""
        out: dict[str, Facility] = {}
        for s in self.smelters:
            if not s.country:
                continue
            fid = self._smelter_id(s)
            out.setdefault(
                fid,
                Facility(
                    id=fid, name=s.name, operator=s.name, country=s.country, stage=Stage.REFINING
                ),
            )
        for m in self.mines:
            if not m.country:
                continue
            out.setdefault(
                m.mine_id,
                Facility(
                    id=m.mine_id, name=m.name, operator="", country=m.country, stage=Stage.MINE
                ),
            )
        return tuple(out.values())

    def to_network(self) -> SupplyNetwork:
        """Facilities only (smelters/refiners at stage refining, mines at stage mine)."""
        return SupplyNetwork(facilities=self.facilities())


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()[:10]
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


class _Grid:
    """The values of a sheet's first rows, by cell address (read once, read-only mode)."""

    def __init__(self, ws: Any, max_row: int, max_col: int = 12) -> None:
        self.cells: dict[str, Any] = {}
        from openpyxl.utils import get_column_letter

        for r, row in enumerate(
            ws.iter_rows(min_row=1, max_row=max_row, max_col=max_col, values_only=True), 1
        ):
            for c, v in enumerate(row, 1):
                if v is not None:
                    self.cells[f"{get_column_letter(c)}{r}"] = v

    def text(self, addr: str) -> str:
        return _text(self.cells.get(addr))


def check_workbook_archive(p: Path) -> None:
    """Refuse an .xlsx that would inflate past :data:`MAX_INFLATED_BYTES` (a zip bomb)."""
    try:
        with zipfile.ZipFile(p) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(
            f"not a readable .xlsx workbook ({type(exc).__name__})", where=str(p)
        ) from None
    if total > MAX_INFLATED_BYTES:
        raise InputError(
            f"workbook inflates to {total / 2**20:,.0f} MiB; RMI templates inflate to about "
            f"11 MiB (limit {MAX_INFLATED_BYTES / 2**20:,.0f} MiB)",
            where=str(p),
        )


def _rows(ws: Any, name: str, where: str) -> int:
    """The number of rows a sheet declares, refused above :data:`MAX_SHEET_ROWS`."""
    n = int(ws.max_row or 0)
    if n > MAX_SHEET_ROWS:
        raise InputError(
            f"sheet '{name}' declares {n:,} rows; RMI templates have at most ~6,300 "
            f"(limit {MAX_SHEET_ROWS:,})",
            where=where,
        )
    return n


def _sheet(wb: Any, name: str, lay: TemplateLayout, path: str) -> Any:
    if name in wb.sheetnames:
        return wb[name]
    idx = lay.sheet_order.index(name)
    if idx < len(wb.worksheets):
        return wb.worksheets[idx]
    raise InputError(f"{lay.label} template has no '{name}' sheet (position {idx + 1})", where=path)


def detect(wb: Any, path: str) -> tuple[str, str]:
    """(kind, 'major.minor'): the Declaration sheet's title and revision cells (rows 1-4),
    else the Revision sheet's English title, else the title cells of the first sheets."""
    kind: str | None = None
    version: str | None = None
    sheets = [wb["Declaration"]] if "Declaration" in wb.sheetnames else []
    sheets += [ws for ws in wb.worksheets[:4] if ws not in sheets]
    for ws in sheets:
        grid = _Grid(ws, 4)
        for addr in sorted(grid.cells, key=lambda a: (int(re.sub(r"\D", "", a)), a)):
            t = grid.text(addr)
            if kind is None and (m := KIND_RE.search(t)):
                kind = m.group(1) or m.group(2)
            if version is None and (m := REVISION_RE.search(t)):
                version = f"{m.group(1)}.{m.group(2)}"
            if (kind is None or version is None) and (m := TITLE_RE.search(t)):
                kind = kind or m.group(1)
                version = version or f"{m.group(2)}.{m.group(3)}"
        if kind and version:
            break
    if kind is None and "Revision" in wb.sheetnames:
        title = _Grid(wb["Revision"], 4).text("B3").lower()
        kind = ENGLISH_TITLES.get(title)
    if kind is None or version is None:
        raise InputError(
            "not an RMI reporting template: no 'CMRT|EMRT|AMRT' title and 'Revision d.d' in "
            f"Declaration!D2:J3 (rows 1-4 of the first sheets); supported: {SUPPORTED}",
            where=path,
        )
    return kind, version


def _minerals(decl: _Grid, lay: TemplateLayout) -> tuple[str, ...]:
    if not lay.minerals_cells:
        return lay.fixed_minerals
    out: list[str] = []
    others = dict(zip(lay.minerals_cells, lay.other_minerals_cells, strict=False))
    for c in lay.minerals_cells:
        raw = decl.text(c)
        if raw.strip().lower() == _OTHER and c in others:
            raw = decl.text(others[c])
        for part in re.split(r"[,;/]", raw):
            x = part.strip().lower()
            if x and x != _OTHER and not x.startswith("(delete") and x not in out:
                out.append(x)
    return tuple(out)


def read_template(path: str | Path) -> SupplierTemplate:
    """Read a CMRT/EMRT/AMRT .xlsx by its revision's cell positions."""
    import openpyxl

    p = Path(path)
    where = str(p)
    if p.is_dir():
        raise InputError("is a directory; expected an RMI template .xlsx", where=where)
    if not p.exists():
        raise InputError("file not found", where=where)
    check_workbook_archive(p)
    # openpyxl warns (UserWarning) about Excel features it drops on reading, e.g. the official
    # templates' conditional-formatting extensions; they do not touch the values read here
    with _pywarnings.catch_warnings():
        _pywarnings.simplefilter("ignore", UserWarning)
        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for non-xlsx input
            raise InputError(
                f"not a readable .xlsx workbook ({type(exc).__name__})", where=where
            ) from None
        try:
            return _read(wb, where)
        finally:
            wb.close()


def _read(wb: Any, where: str) -> SupplierTemplate:
    kind, version = detect(wb, where)
    lay = layout_for(kind, version)
    warnings: list[str] = []
    decl = _Grid(_sheet(wb, "Declaration", lay, where), 30)
    declaration = {k: decl.text(c) for k, c in lay.declaration_cells.items()}
    if not declaration["company_name"]:
        warnings.append(
            f"Declaration!{lay.declaration_cells['company_name']}: company name is empty"
        )
    smelters, sourcing = _read_smelters(wb, lay, kind, where, warnings)
    mines: list[Mine] = []
    if lay.mine_list and lay.mine_cols and "Mine List" in wb.sheetnames:
        mines, mine_sourcing = _read_mines(wb, lay, kind, where, smelters, warnings=warnings)
        sourcing.extend(mine_sourcing)
    return SupplierTemplate(
        source=where,
        kind=kind,
        version=version,
        declaration=declaration,
        minerals=_minerals(decl, lay),
        smelters=tuple(smelters),
        mines=tuple(mines),
        sourcing=tuple(sourcing),
        unverified=lay.unverified_for(version),
        third_party_checked=lay.third_party_checked_for(version),
        third_party_evidence=_third_party_evidence(lay, version),
        warnings=tuple(warnings),
    )


def _third_party_evidence(lay: TemplateLayout, version: str) -> str:
    if not lay.third_party_checked_for(version):
        return ""
    return THIRD_PARTY_CHECKED[(lay.kind, version.strip())].evidence


def _country_or_warn(text: str, cell: str, what: str, warnings: list[str]) -> str:
    """ISO3 of a country cell; empty (with a warning naming the cell) for free text."""
    if not text or text.lower() in _EMPTY_TOKENS:
        return ""
    try:
        return resolve_country(text)
    except CritminError as exc:
        warnings.append(f"{cell}: {what} {text[:60]!r} is not a country ({exc}); left out")
        return ""


def _countries(text: str) -> tuple[list[str], list[str]]:
    """(countries, other parts) of a list like 'Australia, Brazil, China, see website'."""
    text = re.sub(r"\bR\s*/\s*S\b", "recycled", text, flags=re.IGNORECASE)  # "R/S" shorthand
    parts = [x.strip(" .") for x in re.split(r"[,;/\n]|\band\b", text) if x.strip(" .")]
    out: list[str] = []
    rest: list[str] = []
    for x in parts:
        if x.lower() in _RECYCLED:
            continue
        try:
            iso3 = resolve_country(x)
        except CritminError:
            rest.append(x)
            continue
        if iso3 not in out:
            out.append(iso3)
    return out, rest


def _col_index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return int(column_index_from_string(letter)) - 1


def _iter_rows(ws: Any, name: str, first: int, cols: dict[str, str], where: str) -> Any:
    n = _rows(ws, name, where)
    width = max(_col_index(c) for c in cols.values()) + 1
    idx = {k: _col_index(c) for k, c in cols.items()}
    for r, row in enumerate(
        ws.iter_rows(min_row=first, max_row=max(n, first), max_col=width, values_only=True), first
    ):
        vals = {k: _text(row[i]) if i < len(row) else "" for k, i in idx.items()}
        yield r, vals


def _read_smelters(
    wb: Any, lay: TemplateLayout, kind: str, where: str, warnings: list[str]
) -> tuple[list[Smelter], list[DeclaredSourcing]]:
    smelters: list[Smelter] = []
    sourcing: list[DeclaredSourcing] = []
    ws = _sheet(wb, "Smelter List", lay, where)
    col = lay.smelter_cols
    for r, vals in _iter_rows(ws, "Smelter List", lay.smelter_first_row, col, where):
        name = vals["name"] or vals.get("lookup", "")
        cid_col = col["cid"]
        cid_raw = vals["cid"]
        if not cid_raw and vals.get("id_input"):
            cid_col, cid_raw = col["id_input"], vals["id_input"]
        if not (vals["metal"] or name or cid_raw):
            continue
        cell = "Smelter List!"
        if not vals["metal"]:
            warnings.append(f"{cell}{col['metal']}{r}: metal is empty; row left out")
            continue
        cid: str | None = cid_raw or None
        if cid is not None and not CID_RE.match(cid):
            warnings.append(
                f"{cell}{cid_col}{r}: smelter identification {cid!r} is malformed; expected "
                "'CID' + 6 digits (e.g. CID001234); row kept without it"
            )
            cid = None
        country = _country_or_warn(
            vals["country"], f"{cell}{col['country']}{r}", "smelter country", warnings
        )
        if not vals["country"]:
            warnings.append(f"{cell}{col['country']}{r}: smelter country is empty")
        metal = vals["metal"].lower()
        smelters.append(
            Smelter(
                row=r, metal=metal, name=name, country=country, cid=cid, recycled=vals["recycled"]
            )
        )
        mine, mc = vals["mine_name"], vals["mine_country"]
        mine = "" if mine.lower() in _EMPTY_TOKENS else mine
        mc = "" if mc.lower() in _EMPTY_TOKENS else mc
        if not (mine or mc):
            continue
        smelter_id = smelter_uri(cid) if cid else f"{kind.lower()}-smelter-row{r}"
        if mc.lower() in _RECYCLED:
            countries: list[str | None] = [None]
        elif not mc:
            countries = [None]
        else:
            found, rest = _countries(mc)
            countries = list(found) or [None]
            if rest:
                left = ", ".join(repr(x[:40]) for x in rest[:3]) + (" ..." if len(rest) > 3 else "")
                warnings.append(
                    f"{cell}{col['mine_country']}{r}: mine country text {left} names no "
                    f"country; left out" + (f" (kept: {', '.join(found)})" if found else "")
                )
        for c in countries:
            sourcing.append(
                DeclaredSourcing(smelter=smelter_id, metal=metal, mine=mine, mine_country=c)
            )
    return smelters, sourcing


def _read_mines(
    wb: Any,
    lay: TemplateLayout,
    kind: str,
    where: str,
    smelters: list[Smelter],
    *,
    warnings: list[str],
) -> tuple[list[Mine], list[DeclaredSourcing]]:
    """Mine List rows; the sourcing smelter is matched by name (and metal) to the Smelter List."""
    assert lay.mine_cols is not None
    by_name = {(s.metal, s.name.casefold()): s for s in smelters if s.name}
    mines: list[Mine] = []
    sourcing: list[DeclaredSourcing] = []
    ws = _sheet(wb, "Mine List", lay, where)
    col = lay.mine_cols
    for r, vals in _iter_rows(ws, "Mine List", lay.mine_first_row, col, where):
        if not (vals["metal"] or vals["name"] or vals["mine_id"] or vals["smelter_name"]):
            continue
        cell = "Mine List!"
        metal = vals["metal"].lower()
        smelter = by_name.get((metal, vals["smelter_name"].casefold()))
        if vals["smelter_name"] and smelter is None:
            warnings.append(
                f"{cell}{col['smelter_name']}{r}: smelter {vals['smelter_name']!r} "
                f"({metal or 'no metal'}) is not on the Smelter List; mine kept unlinked"
            )
        country = _country_or_warn(
            vals["country"], f"{cell}{col['country']}{r}", "mine country", warnings
        )
        if not vals["country"]:
            warnings.append(f"{cell}{col['country']}{r}: mine country is empty")
        mine = Mine(
            row=r,
            mine_id=vals["mine_id"] or f"{kind.lower()}-mine-row{r}",
            metal=metal,
            name=vals["name"],
            country=country,
            smelter_name=vals["smelter_name"],
            smelter_cid=smelter.cid if smelter else None,
        )
        mines.append(mine)
        if smelter is not None:
            sourcing.append(
                DeclaredSourcing(
                    smelter=smelter_uri(smelter.cid)
                    if smelter.cid
                    else f"{kind.lower()}-smelter-row{smelter.row}",
                    metal=metal,
                    mine=mine.mine_id,
                    mine_country=mine.country or None,
                )
            )
    return mines, sourcing


_TITLES = {
    "CMRT": "Conflict Minerals Reporting Template",
    "EMRT": "Extended Minerals Reporting Template",
    "AMRT": "Additional Minerals Reporting Template",
}


def write_template(
    path: str | Path,
    kind: str,
    version: str,
    *,
    declaration: dict[str, str],
    smelters: list[dict[str, str]],
    mines: list[dict[str, str]] | None = None,
    minerals: tuple[str, ...] = (),
    title: str | None = None,
    release_date: str = "",
) -> None:
    """Write a workbook in the official layout of ``kind`` ``version`` (tests and examples).

    Reproduces what the reader relies on, as RMI's English edition has it: the tab names and
    order, the Declaration title ``D2`` ("... (CMRT)"), revision ``J3`` ("Revision 6.4"), the
    Revision sheet's title ``B3``, the labels of column B, the Smelter/Mine List header row 4
    and data from row 5. ``smelters`` / ``mines`` rows use the keys of the layout's column maps
    (``metal``, ``name``, ``country``, ``cid``, ``smelter_name``, ...); ``minerals`` fill the
    minerals cells one per cell; ``title`` replaces the ``D2`` text (a translated edition).
    """
    import openpyxl

    lay = layout_for(kind, version)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in lay.sheet_order:
        if name == "Mine List" and mines is None:
            continue
        wb.create_sheet(name)
    rev = wb["Revision"]
    rev["B2"] = "DOCUMENT TITLE"
    rev["B3"] = _TITLES[kind.upper()]
    decl = wb["Declaration"]
    decl["D2"] = title or f"{_TITLES[kind.upper()]} ({kind.upper()})"
    decl["D3"] = "English"
    decl["J3"] = f"Revision {version}" + (f"\n{release_date}" if release_date else "")
    decl["B7"] = "Company Information"
    for k, c in lay.declaration_cells.items():
        decl[f"B{c[1:]}"] = _LABELS[k]
    for k, v in declaration.items():
        decl[lay.declaration_cells[k]] = v
    if minerals:
        if len(minerals) > len(lay.minerals_cells):
            raise InputError(
                f"{lay.label} takes {len(lay.minerals_cells)} minerals here, got {len(minerals)}"
            )
        for c, m in zip(lay.minerals_cells, minerals, strict=False):
            decl[c] = m
    ws = wb["Smelter List"]
    for k, c in lay.smelter_cols.items():
        ws[f"{c}4"] = k.replace("_", " ").capitalize()
    for i, row in enumerate(smelters):
        for k, v in row.items():
            ws[f"{lay.smelter_cols[k]}{lay.smelter_first_row + i}"] = v
    if mines is not None:
        assert lay.mine_cols is not None
        ws = wb["Mine List"]
        for k, c in lay.mine_cols.items():
            ws[f"{c}4"] = k.replace("_", " ").capitalize()
        for i, row in enumerate(mines):
            for k, v in row.items():
                ws[f"{lay.mine_cols[k]}{lay.mine_first_row + i}"] = v
    p = Path(path)
    atomic_write(p, wb.save)
