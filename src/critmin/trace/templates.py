"""RMI supplier templates (CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x) from .xlsx, by version and cell.

The templates exist in several languages, so nothing here reads header text. The template kind
and version are found by the acronym and number pattern (``CMRT``/``EMRT``/``AMRT`` and
``d.d``) in the title cells (rows 1-4, columns A-F) of the first sheet; every value is then
read from the cell positions of :data:`LAYOUTS` for that kind and version.

Cell map (``TemplateLayout``): the company name in ``Declaration!D8`` and the Smelter List
header on row 4 (data from row 5, columns A-Q: id input, metal, look-up, smelter name,
country, smelter identification, source of id, street, city, state/province, contact name,
contact e-mail, next steps, mine name, mine country, 100 % recycled, comments) follow public
CMRT 6.x readers. The other Declaration cells and the Mine List columns (EMRT 2.x added a
"Mine List" tab in April 2025; AMRT's is read when present) are critmin's layout, used by the
generator :func:`write_template`; check them against the RMI's official files before use.
Sheets are looked up by their (English) tab name, else by position.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from critmin.errors import CritminError, InputError
from critmin.trace.geo import resolve_country
from critmin.trace.model import Facility, Stage, SupplyNetwork

CID_RE = re.compile(r"^CID\d{6}$")
TITLE_RE = re.compile(r"\b(CMRT|EMRT|AMRT)\b\D{0,40}?(\d+)\.(\d+)")

_SMELTER_COLS = {
    "metal": "B",
    "name": "D",
    "country": "E",
    "cid": "F",
    "id_source": "G",
    "street": "H",
    "city": "I",
    "province": "J",
    "mine_name": "N",
    "mine_country": "O",
    "recycled": "P",
    "comments": "Q",
}
_MINE_COLS = {
    "mine_id": "A",
    "metal": "B",
    "name": "C",
    "country": "D",
    "province": "E",
    "smelter_name": "F",
    "smelter_cid": "G",
    "comments": "H",
}
_DECL_CELLS = {
    "company_name": "D8",
    "declaration_scope": "D9",
    "scope_description": "D10",
    "company_id": "D12",
    "address": "D14",
    "contact_name": "D15",
    "contact_email": "D16",
    "authorizer_name": "D18",
    "completion_date": "D23",
}


@dataclass(frozen=True)
class TemplateLayout:
    """Where things are in one template kind/version range."""

    kind: str
    major: int
    minors: range
    sheet_order: tuple[str, ...]
    mine_list: bool
    declaration_cells: dict[str, str] = field(default_factory=lambda: dict(_DECL_CELLS))
    minerals_cell: str | None = None
    smelter_first_row: int = 5
    smelter_cols: dict[str, str] = field(default_factory=lambda: dict(_SMELTER_COLS))
    mine_first_row: int = 5
    mine_cols: dict[str, str] = field(default_factory=lambda: dict(_MINE_COLS))

    @property
    def label(self) -> str:
        return f"{self.kind} {self.major}.x"


_BASE_SHEETS = ("Revision", "Instructions", "Definitions", "Declaration", "Smelter List")
LAYOUTS: tuple[TemplateLayout, ...] = (
    TemplateLayout("CMRT", 6, range(100), (*_BASE_SHEETS, "Checker", "Product List"), False),
    TemplateLayout(
        "EMRT",
        1,
        range(100),
        (*_BASE_SHEETS, "Checker", "Product List"),
        False,
        minerals_cell="D11",
    ),
    TemplateLayout(
        "EMRT",
        2,
        range(100),
        (*_BASE_SHEETS, "Mine List", "Checker", "Product List"),
        True,
        minerals_cell="D11",
    ),
    TemplateLayout(
        "AMRT",
        1,
        range(100),
        (*_BASE_SHEETS, "Mine List", "Checker", "Product List"),
        True,
        minerals_cell="D11",
    ),
)
SUPPORTED = "CMRT 6.x, EMRT 1.x-2.x, AMRT 1.x"


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
    smelter_cid: str | None = None


class DeclaredSourcing(BaseModel):
    """A smelter declared to source a metal from a mine (or a mine country)."""

    model_config = ConfigDict(frozen=True)
    smelter: str
    metal: str
    mine: str
    mine_country: str | None


class SupplierTemplate(BaseModel):
    """The content of one RMI reporting template."""

    model_config = ConfigDict(frozen=True)
    source: str
    kind: str
    version: str
    declaration: dict[str, str]
    minerals: tuple[str, ...]
    smelters: tuple[Smelter, ...]
    mines: tuple[Mine, ...]
    sourcing: tuple[DeclaredSourcing, ...]

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
            "company name is empty; expected it in "
            f"Declaration!{lay.declaration_cells['company_name']}",
            where=where,
        )
    minerals: tuple[str, ...] = ("tantalum", "tin", "gold", "tungsten") if kind == "CMRT" else ()
    if lay.minerals_cell:
        raw = _text(decl[lay.minerals_cell].value)
        minerals = tuple(x.strip().lower() for x in re.split(r"[,;/]", raw) if x.strip())
    smelters: list[Smelter] = []
    sourcing: list[DeclaredSourcing] = []
    ws = _sheet(wb, "Smelter List", lay, where)
    col = lay.smelter_cols
    for r in range(lay.smelter_first_row, ws.max_row + 1):
        vals = {k: _text(ws[f"{c}{r}"].value) for k, c in col.items()}
        if not (vals["metal"] or vals["name"] or vals["cid"]):
            continue
        cell = f"{where}: Smelter List!"
        if not vals["metal"]:
            raise InputError(
                "metal is empty; expected the metal of this smelter",
                where=f"{cell}{col['metal']}{r}",
            )
        if not vals["country"]:
            raise InputError("smelter country is empty", where=f"{cell}{col['country']}{r}")
        cid = vals["cid"] or None
        if cid is not None and not CID_RE.match(cid):
            raise InputError(
                f"smelter identification {cid!r} is malformed; "
                "expected 'CID' + 6 digits (e.g. CID001234)",
                where=f"{cell}{col['cid']}{r}",
            )
        country = _country(vals["country"], f"{cell}{col['country']}{r}")
        smelters.append(
            Smelter(
                row=r,
                metal=vals["metal"].lower(),
                name=vals["name"],
                country=country,
                cid=cid,
                recycled=vals["recycled"],
            )
        )
        if vals["mine_name"] or vals["mine_country"]:
            mc = vals["mine_country"]
            sourcing.append(
                DeclaredSourcing(
                    smelter=cid or f"{kind.lower()}-smelter-row{r}",
                    metal=vals["metal"].lower(),
                    mine=vals["mine_name"],
                    mine_country=(
                        None
                        if mc.lower() in ("", "recycled", "scrap")
                        else _country(mc, f"{cell}{col['mine_country']}{r}")
                    ),
                )
            )
    mines: list[Mine] = []
    if lay.mine_list and ("Mine List" in wb.sheetnames or kind == "EMRT"):
        ws = _sheet(wb, "Mine List", lay, where)
        col = lay.mine_cols
        for r in range(lay.mine_first_row, ws.max_row + 1):
            vals = {k: _text(ws[f"{c}{r}"].value) for k, c in col.items()}
            if not (vals["name"] or vals["mine_id"]):
                continue
            cell = f"{where}: Mine List!"
            if not vals["country"]:
                raise InputError("mine country is empty", where=f"{cell}{col['country']}{r}")
            scid = vals["smelter_cid"] or None
            if scid is not None and not CID_RE.match(scid):
                raise InputError(
                    f"smelter identification {scid!r} is malformed; expected 'CID' + 6 digits",
                    where=f"{cell}{col['smelter_cid']}{r}",
                )
            mine = Mine(
                row=r,
                mine_id=vals["mine_id"] or f"{kind.lower()}-mine-row{r}",
                metal=vals["metal"].lower(),
                name=vals["name"],
                country=_country(vals["country"], f"{cell}{col['country']}{r}"),
                smelter_cid=scid,
            )
            mines.append(mine)
            if scid:
                sourcing.append(
                    DeclaredSourcing(
                        smelter=scid, metal=mine.metal, mine=mine.mine_id, mine_country=mine.country
                    )
                )
    return SupplierTemplate(
        source=where,
        kind=kind,
        version=version,
        declaration=declaration,
        minerals=minerals,
        smelters=tuple(smelters),
        mines=tuple(mines),
        sourcing=tuple(sourcing),
    )


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

    ``smelters`` / ``mines`` rows use the keys of the layout's column maps (``metal``,
    ``name``, ``country``, ``cid``, ...). ``title`` overrides the title text of cell B2, e.g.
    to produce a translated template.
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
    wb["Revision"]["B2"] = title or f"{kind} Revision {version}"
    for k, v in declaration.items():
        decl[lay.declaration_cells[k]] = v
    if lay.minerals_cell and minerals:
        decl[lay.minerals_cell] = ", ".join(minerals)
    ws = wb["Smelter List"]
    ws["A4"], ws["B4"], ws["D4"], ws["E4"], ws["F4"] = (
        "(id)",
        "(metal)",
        "(name)",
        "(country)",
        "(CID)",
    )
    for i, row in enumerate(smelters):
        for k, v in row.items():
            ws[f"{lay.smelter_cols[k]}{lay.smelter_first_row + i}"] = v
    if mines is not None:
        ws = wb["Mine List"]
        for i, row in enumerate(mines):
            for k, v in row.items():
                ws[f"{lay.mine_cols[k]}{lay.mine_first_row + i}"] = v
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", suffix=".xlsx")
    os.close(fd)
    wb.save(tmp)
    Path(tmp).replace(p)
