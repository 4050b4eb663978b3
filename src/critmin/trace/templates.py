"""RMI supplier templates (CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x) from .xlsx, by version and cell.

The templates exist in several languages, so nothing here reads header text. The template kind
and version are found by the acronym and number pattern (``CMRT``/``EMRT``/``AMRT`` and
``d.d``) in the title cells (rows 1-4, columns A-F) of the first sheets; every value is then
read from the cell positions of :data:`LAYOUTS` for that kind and version. Tab names are
English in every language edition, so sheets are looked up by name, else by position.

Each layout records which cells were checked against public sources (``verified``) and which
are critmin's inference (``TemplateLayout.unverified``, exposed on every
:class:`SupplierTemplate`). Sources, per position, are listed in ``docs/trace.md`` section
"Supplier templates"; in short:

* Smelter List (all kinds): header row 4, data from row 5; CMRT 6.x, EMRT 1.x-2.x and AMRT 1.3+
  columns A-Q = id input, metal, smelter look-up, smelter name, country, smelter
  identification, source of id, street, city, state/province, contact name, contact e-mail,
  proposed next steps, mine name, mine country, 100 % recycled, comments. AMRT 1.1-1.2 have no
  id-input and no look-up column: metal in A, name in B, country in C, the rest shifted left.
* Mine List (EMRT 2.x, AMRT 1.x): data from row 5; A metal, B name of the smelter sourcing
  from the mine, C mine name, D mine identification, E source of the mine id, F country,
  G street, H city, I state/province, J contact, K contact e-mail, L next steps, M comments.
  There is no smelter-CID column: the smelter is linked by name (B) to the Smelter List.
* Declaration: the company name in D8 (CMRT 6.x), the company-information block in rows 8-22
  (CMRT 6.x), 7-26 (EMRT 2.1) and 8-24 (AMRT 1.3) with the field order company name,
  declaration scope, description of scope, [minerals in scope: EMRT 2.x, AMRT], company
  unique id, id authority, address, contact name/e-mail/phone, authorizer name/title/e-mail/
  phone, effective date; AMRT 1.3 "Other" minerals in D15:I16. The row of each field other
  than the CMRT company name is inferred from that order and is reported as unverified.
* Minerals: CMRT tantalum, tin, gold, tungsten (fixed); EMRT 1.x cobalt and mica (fixed);
  EMRT 2.x a selection of cobalt, copper, graphite, lithium, mica, nickel; AMRT a free list
  (1.1-1.2) or a selection with "Other" (1.3) of minerals outside CMRT/EMRT scope.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from critmin.errors import CritminError, InputError
from critmin.fileio import atomic_write
from critmin.trace.geo import resolve_country
from critmin.trace.model import Facility, Stage, SupplyNetwork

CID_RE = re.compile(r"^CID\d{6}$")
TITLE_RE = re.compile(r"\b(CMRT|EMRT|AMRT)\b\D{0,40}?(\d+)\.(\d+)")

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


def _decl(name_row: int, after_scope_row: int) -> dict[str, str]:
    """Declaration cells in column D in the documented field order (rows inferred)."""
    cells = {
        "company_name": f"D{name_row}",
        "declaration_scope": f"D{name_row + 1}",
        "scope_description": f"D{name_row + 2}",
    }
    for i, key in enumerate(_COMPANY_FIELDS):
        cells[key] = f"D{after_scope_row + i}"
    return cells


def _grid(cols: str, rows: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{c}{r}" for r in rows for c in cols)


@dataclass(frozen=True)
class TemplateLayout:
    """Where things are in one template kind/version range, and which positions are verified."""

    kind: str
    major: int
    minors: range
    sheet_order: tuple[str, ...]
    mine_list: bool
    declaration_cells: dict[str, str]
    smelter_cols: dict[str, str]
    fixed_minerals: tuple[str, ...] = ()
    minerals_cells: tuple[str, ...] = ()
    smelter_first_row: int = 5
    mine_first_row: int = 5
    mine_cols: dict[str, str] | None = None
    verified: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        lo, hi = self.minors.start, self.minors.stop - 1
        if hi >= 99:
            return f"{self.kind} {self.major}.x" if lo == 0 else f"{self.kind} {self.major}.{lo}+"
        return f"{self.kind} {self.major}.{lo}-{self.major}.{hi}"

    @property
    def unverified(self) -> tuple[str, ...]:
        """Declaration fields whose cell is critmin's inference, not checked against a source."""
        keys = list(self.declaration_cells)
        if self.minerals_cells:
            keys.append("minerals")
        return tuple(k for k in keys if k not in self.verified)


_SMELTER_VERIFIED = frozenset({"smelter_list"})
_MINE_VERIFIED = frozenset({"mine_list"})
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
_EMRT2_SHEETS = (*_EMRT1_SHEETS[:5], "Mine List", *_EMRT1_SHEETS[5:])
_AMRT_SHEETS = (
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
_AMRT_MINERALS = _grid("DEFGHI", (12, 13))
_AMRT_OTHER = _grid("DEFGHI", (15, 16))

LAYOUTS: tuple[TemplateLayout, ...] = (
    TemplateLayout(
        "CMRT",
        6,
        range(100),
        _CMRT_SHEETS,
        False,
        declaration_cells=_decl(8, 11),
        smelter_cols=_SMELTER_LOOKUP,
        fixed_minerals=("tantalum", "tin", "gold", "tungsten"),
        verified=_SMELTER_VERIFIED | {"company_name"},
    ),
    TemplateLayout(
        "EMRT",
        1,
        range(100),
        _EMRT1_SHEETS,
        False,
        declaration_cells=_decl(8, 11),
        smelter_cols=_SMELTER_LOOKUP,
        fixed_minerals=("cobalt", "mica"),
        verified=_SMELTER_VERIFIED,
    ),
    TemplateLayout(
        "EMRT",
        2,
        range(100),
        _EMRT2_SHEETS,
        True,
        declaration_cells=_decl(7, 16),
        smelter_cols=_SMELTER_LOOKUP,
        minerals_cells=tuple(f"D{r}" for r in range(10, 16)),
        mine_cols=_MINE_COLS,
        verified=_SMELTER_VERIFIED | _MINE_VERIFIED,
    ),
    TemplateLayout(
        "AMRT",
        1,
        range(3),
        tuple(s for s in _AMRT_SHEETS if s != "Smelter Look-up"),
        True,
        declaration_cells=_decl(8, 17),
        smelter_cols=_SMELTER_PLAIN,
        minerals_cells=_AMRT_MINERALS,
        mine_cols=_MINE_COLS,
        verified=_SMELTER_VERIFIED | _MINE_VERIFIED,
    ),
    TemplateLayout(
        "AMRT",
        1,
        range(3, 100),
        _AMRT_SHEETS,
        True,
        declaration_cells=_decl(8, 17),
        smelter_cols=_SMELTER_LOOKUP,
        minerals_cells=_AMRT_MINERALS + _AMRT_OTHER,
        mine_cols=_MINE_COLS,
        verified=_SMELTER_VERIFIED | _MINE_VERIFIED,
    ),
)
SUPPORTED = "CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x"
_OTHER = "other [specify below]"


def layout_for(kind: str, version: str) -> TemplateLayout:
    """The layout of a template kind and ``major.minor`` version; a clear error if unsupported."""
    m = re.fullmatch(r"(\d+)\.(\d+)", version.strip())
    if m is None:
        raise InputError(f"template version {version!r} is not of the form major.minor")
    major, minor = int(m.group(1)), int(m.group(2))
    for lay in LAYOUTS:
        if lay.kind == kind.upper() and lay.major == major and minor in lay.minors:
            return lay
    raise InputError(f"unsupported template {kind} {version}; supported: {SUPPORTED}")


class Smelter(BaseModel):
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

    ``unverified`` names the declaration fields read from cells that critmin inferred rather
    than checked against a public source (see ``docs/trace.md``).
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
    warnings: tuple[str, ...] = ()

    def facilities(self) -> tuple[Facility, ...]:
        out: dict[str, Facility] = {}
        for s in self.smelters:
            fid = s.cid or f"{self.kind.lower()}-smelter-row{s.row}"
            out.setdefault(
                fid,
                Facility(
                    id=fid, name=s.name, operator=s.name, country=s.country, stage=Stage.REFINING
                ),
            )
        for m in self.mines:
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
    return str(v).strip()


def _sheet(wb: Any, name: str, lay: TemplateLayout, path: str) -> Any:
    if name in wb.sheetnames:
        return wb[name]
    idx = lay.sheet_order.index(name)
    if idx < len(wb.worksheets):
        return wb.worksheets[idx]
    raise InputError(f"{lay.label} template has no '{name}' sheet (position {idx + 1})", where=path)


def _country(text: str, where: str) -> str:
    try:
        return resolve_country(text)
    except CritminError as exc:
        raise InputError(f"{exc}; expected a country name or ISO code", where=where) from None


def detect(wb: Any, path: str) -> tuple[str, str]:
    """(kind, 'major.minor') from the title cells of the first sheets."""
    for ws in wb.worksheets[:4]:
        for row in ws.iter_rows(min_row=1, max_row=4, max_col=6, values_only=True):
            for v in row:
                m = TITLE_RE.search(_text(v))
                if m:
                    return m.group(1), f"{m.group(2)}.{m.group(3)}"
    raise InputError(
        f"not an RMI reporting template: no 'CMRT|EMRT|AMRT <version>' title in rows 1-4 of the "
        f"first sheets; supported: {SUPPORTED}",
        where=path,
    )


def _minerals(decl: Any, lay: TemplateLayout) -> tuple[str, ...]:
    if not lay.minerals_cells:
        return lay.fixed_minerals
    out: list[str] = []
    for c in lay.minerals_cells:
        for part in re.split(r"[,;/]", _text(decl[c].value)):
            x = part.strip().lower()
            if x and x != _OTHER and not x.startswith("delete") and x not in out:
                out.append(x)
    return tuple(out)


def read_template(path: str | Path) -> SupplierTemplate:
    """Read a CMRT/EMRT/AMRT .xlsx by its version's cell positions."""
    import openpyxl

    p = Path(path)
    where = str(p)
    try:
        wb = openpyxl.load_workbook(p, read_only=False, data_only=True)
    except FileNotFoundError:
        raise InputError("file not found", where=where) from None
    except Exception as exc:  # openpyxl raises many types for non-xlsx input
        raise InputError(
            f"not a readable .xlsx workbook ({type(exc).__name__})", where=where
        ) from None
    kind, version = detect(wb, where)
    lay = layout_for(kind, version)
    decl = _sheet(wb, "Declaration", lay, where)
    declaration = {k: _text(decl[c].value) for k, c in lay.declaration_cells.items()}
    if not declaration["company_name"]:
        raise InputError(
            f"company name is empty; expected it in {lay.label} "
            f"Declaration!{lay.declaration_cells['company_name']}",
            where=where,
        )
    smelters, sourcing = _read_smelters(wb, lay, kind, where)
    mines: list[Mine] = []
    if lay.mine_list and lay.mine_cols and ("Mine List" in wb.sheetnames or kind == "EMRT"):
        mines, mine_sourcing = _read_mines(wb, lay, kind, where, smelters)
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
        unverified=lay.unverified,
    )


def _read_smelters(
    wb: Any, lay: TemplateLayout, kind: str, where: str
) -> tuple[list[Smelter], list[DeclaredSourcing]]:
    smelters: list[Smelter] = []
    sourcing: list[DeclaredSourcing] = []
    ws = _sheet(wb, "Smelter List", lay, where)
    col = lay.smelter_cols
    for r in range(lay.smelter_first_row, ws.max_row + 1):
        vals = {k: _text(ws[f"{c}{r}"].value) for k, c in col.items()}
        name = vals["name"] or vals.get("lookup", "")
        cid_col = col["cid"]
        cid_raw = vals["cid"]
        if not cid_raw and vals.get("id_input"):
            cid_col, cid_raw = col["id_input"], vals["id_input"]
        if not (vals["metal"] or name or cid_raw):
            continue
        cell = f"{where}: Smelter List!"
        if not vals["metal"]:
            raise InputError(
                "metal is empty; expected the metal of this smelter",
                where=f"{cell}{col['metal']}{r}",
            )
        if not vals["country"]:
            raise InputError("smelter country is empty", where=f"{cell}{col['country']}{r}")
        cid = cid_raw or None
        if cid is not None and not CID_RE.match(cid):
            raise InputError(
                f"smelter identification {cid!r} is malformed; "
                "expected 'CID' + 6 digits (e.g. CID001234)",
                where=f"{cell}{cid_col}{r}",
            )
        country = _country(vals["country"], f"{cell}{col['country']}{r}")
        metal = vals["metal"].lower()
        smelters.append(
            Smelter(
                row=r, metal=metal, name=name, country=country, cid=cid, recycled=vals["recycled"]
            )
        )
        if vals["mine_name"] or vals["mine_country"]:
            mc = vals["mine_country"]
            sourcing.append(
                DeclaredSourcing(
                    smelter=cid or f"{kind.lower()}-smelter-row{r}",
                    metal=metal,
                    mine=vals["mine_name"],
                    mine_country=(
                        None
                        if mc.lower() in ("", "recycled", "scrap")
                        else _country(mc, f"{cell}{col['mine_country']}{r}")
                    ),
                )
            )
    return smelters, sourcing


def _read_mines(
    wb: Any, lay: TemplateLayout, kind: str, where: str, smelters: list[Smelter]
) -> tuple[list[Mine], list[DeclaredSourcing]]:
    """Mine List rows; the sourcing smelter is matched by name (and metal) to the Smelter List."""
    assert lay.mine_cols is not None
    by_name = {(s.metal, s.name.casefold()): s for s in smelters if s.name}
    mines: list[Mine] = []
    sourcing: list[DeclaredSourcing] = []
    ws = _sheet(wb, "Mine List", lay, where)
    col = lay.mine_cols
    for r in range(lay.mine_first_row, ws.max_row + 1):
        vals = {k: _text(ws[f"{c}{r}"].value) for k, c in col.items()}
        if not (vals["metal"] or vals["name"] or vals["mine_id"] or vals["smelter_name"]):
            continue
        cell = f"{where}: Mine List!"
        if not vals["country"]:
            raise InputError(
                "mine country is empty; expected the mine's country",
                where=f"{cell}{col['country']}{r}",
            )
        metal = vals["metal"].lower()
        smelter = by_name.get((metal, vals["smelter_name"].casefold()))
        if vals["smelter_name"] and smelter is None:
            raise InputError(
                f"smelter {vals['smelter_name']!r} ({metal or 'no metal'}) is not on the "
                "Smelter List; expected the name of a listed smelter of the same metal",
                where=f"{cell}{col['smelter_name']}{r}",
            )
        mine = Mine(
            row=r,
            mine_id=vals["mine_id"] or f"{kind.lower()}-mine-row{r}",
            metal=metal,
            name=vals["name"],
            country=_country(vals["country"], f"{cell}{col['country']}{r}"),
            smelter_name=vals["smelter_name"],
            smelter_cid=smelter.cid if smelter else None,
        )
        mines.append(mine)
        if smelter is not None:
            sourcing.append(
                DeclaredSourcing(
                    smelter=smelter.cid or f"{kind.lower()}-smelter-row{smelter.row}",
                    metal=metal,
                    mine=mine.mine_id,
                    mine_country=mine.country,
                )
            )
    return mines, sourcing


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
) -> None:
    """Write a template-shaped workbook (critmin's own generator, for tests and examples).

    It follows the same :data:`LAYOUTS` as the reader, tab names and order included.
    ``smelters`` / ``mines`` rows use the keys of the layout's column maps (``metal``,
    ``name``, ``country``, ``cid``, ``smelter_name``, ...). ``minerals`` fill the layout's
    minerals cells one per cell. ``title`` overrides the title text of cell B2, e.g. to
    produce a translated template.
    """
    import openpyxl

    lay = layout_for(kind, version)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in lay.sheet_order:
        if name == "Mine List" and mines is None:
            continue
        wb.create_sheet(name)
    decl = wb["Declaration"]
    decl["B2"] = title or f"Reporting Template ({kind}) Version {version}"
    wb[lay.sheet_order[0]]["B2"] = title or f"{kind} Revision {version}"
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
    for k in ("metal", "name", "country", "cid"):
        ws[f"{lay.smelter_cols[k]}4"] = f"({k})"
    for i, row in enumerate(smelters):
        for k, v in row.items():
            ws[f"{lay.smelter_cols[k]}{lay.smelter_first_row + i}"] = v
    if mines is not None:
        assert lay.mine_cols is not None
        ws = wb["Mine List"]
        for i, row in enumerate(mines):
            for k, v in row.items():
                ws[f"{lay.mine_cols[k]}{lay.mine_first_row + i}"] = v
    p = Path(path)
    atomic_write(p, wb.save)
