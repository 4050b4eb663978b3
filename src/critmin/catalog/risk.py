"""Concentration and dependency of each mineral and stage: the ``critmin risk`` table.

:func:`risk_record` is the pure core: it takes the production rows of one mineral and stage,
WGI scores, a bloc's members and the bloc's imports, and returns a :class:`RiskRecord`.
:func:`risk_records` gathers those inputs from the catalog loaders; :func:`write_dependency_report`
writes ``risk.json`` and ``risk.csv`` for the core minerals. The formulas are in
:mod:`critmin.catalog.metrics` and ``docs/risk.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from critmin.catalog import blocs, governance, reliance, trade
from critmin.catalog import metrics as m
from critmin.catalog import minerals as mins
from critmin.catalog import production as prod
from critmin.catalog.countries import resolve_country
from critmin.catalog.stages import parse_stage
from critmin.errors import CritminError, InputError, UnknownNameError
from critmin.fileio import write_json_and_csv

CHINA = "CHN"

CORE_MINERALS: tuple[str, ...] = (
    "rare_earths",
    "ndpr_oxide",
    "dysprosium_oxide",
    "terbium_oxide",
    "lithium",
    "cobalt",
    "nickel",
    "graphite",
    "gallium",
    "germanium",
    "antimony",
    "tungsten",
    "tantalum",
    "copper",
    "scandium",
)
"""Minerals of the dependency report (``make run``)."""

RECORD_FIELDS_REQUIRED = (
    "mineral",
    "stage",
    "year",
    "hhi",
    "top1_iso3",
    "top1_share",
    "top3_share",
    "china_share",
    "bloc_share",
    "us_net_import_reliance",
)

# Mineral content of traded HS6 products, on the basis of the production table's unit
# (contained metal, or REO for rare earths). Stoichiometric where the product is a
# defined compound; typical concentrate grades otherwise (flagged as estimates in docs/risk.md).
HS6_CONTENT_SHARE: dict[str, tuple[float, str]] = {
    "250410": (1.0, "natural graphite, powder or flakes (graphite basis)"),
    "250490": (1.0, "natural graphite, other (graphite basis)"),
    "260400": (0.015, "nickel ores and concentrates: ~1.5 % Ni, laterite direct-shipping ore"),
    "261100": (0.515, "tungsten concentrates: 65 % WO3 x 0.793 W/WO3"),
    "261710": (0.50, "antimony concentrates: ~50 % Sb"),
    "280530": (1.17, "rare-earth metals, as REO equivalent: ~1.17 t oxide per t metal"),
    "284610": (0.70, "cerium compounds, as REO: estimate"),
    "284690": (0.70, "other rare-earth compounds, as REO: estimate"),
    "282200": (0.72, "cobalt oxides and hydroxides: ~72 % Co"),
    "810510": (0.95, "cobalt mattes and unwrought cobalt: mostly metal"),
    "282520": (0.165, "lithium hydroxide monohydrate: Li 6.94 / 41.96"),
    "283691": (0.188, "lithium carbonate: 2 x 6.94 / 73.89"),
    "720293": (0.65, "ferro-niobium: ~65 % Nb"),
    "810110": (1.0, "tungsten powders"),
    "810310": (1.0, "unwrought tantalum and powders"),
    "811230": (1.0, "germanium, unwrought and powders"),
}

_UNIT_TO_T: dict[str, float] = {
    "t": 1.0,
    "metric tons": 1.0,
    "tonnes": 1.0,
    "kg": 1e-3,
    "kilograms": 1e-3,
    "thousand t": 1e3,
    "kt": 1e3,
    "thousand metric tons": 1e3,
    "thousand metric dry tons": 1e3,
    "million t": 1e6,
    "million metric tons": 1e6,
}


def unit_to_tonnes(unit: str) -> float | None:
    """Tonnes per production unit ("t REO" -> 1, "kg" -> 0.001); None if not a mass unit."""
    key = unit.strip().lower()
    if key.startswith("t "):
        return 1.0  # tonnes of a stated basis ("t REO", "t Sc2O3")
    for suffix in (" reo", " content", " contained"):
        key = key.removesuffix(suffix)
    return _UNIT_TO_T.get(key)


class RiskRecord(BaseModel):
    """Concentration and dependency of one mineral (or product) at one stage and year.

    Shares are fractions 0..1; ``None`` where the data has none.
    """

    model_config = ConfigDict(frozen=True)

    mineral: str
    stage: str
    year: int
    unit: str
    total_qty: float | None
    world_total: float | None
    share_basis: str
    n_producers: int
    withheld_iso3: tuple[str, ...]
    other_share: float | None
    unallocated_share: float | None
    hhi: float | None
    hhi_upper: float | None
    top1_iso3: str | None
    top1_share: float | None
    top3_share: float | None
    china_share: float | None
    bloc: str
    bloc_share: float | None
    us_net_import_reliance: float | None
    supply_risk_eu: float | None
    wgi_coverage: float | None
    wgi_year: int | None
    import_risk: float | None
    import_term: float | None = None
    import_risk_year: int | None
    importer: str = ""
    importer_members: tuple[str, ...] = ()
    intra_bloc: str = "as-domestic"
    import_risk_note: str = ""
    is_estimate: bool
    estimates: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    source: str
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists, nan as null)."""
        out = self.model_dump()
        out["withheld_iso3"] = list(self.withheld_iso3)
        out["estimates"] = list(self.estimates)
        out["sources"] = list(self.sources)
        out["importer_members"] = list(self.importer_members)
        return out


def _opt(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


HS6_STOICHIOMETRIC: frozenset[str] = frozenset({"250410", "250490", "282520", "283691"})
"""HS codes whose content share is exact (graphite basis, lithium compounds); the others in
:data:`HS6_CONTENT_SHARE` are typical grades, so a GeoPolRisk resting on them is an estimate."""


def bloc_imports_t(
    trade: pd.DataFrame,
    members: Iterable[str],
    content: dict[str, tuple[float, str]] | None = None,
    *,
    include_intra: bool = False,
) -> pd.Series:
    """Imports into the bloc (or one country) by exporter, in tonnes of mineral content.

    ``trade`` has columns ``hs6, exporter_iso3, importer_iso3, qty_t``; HS codes without a
    content share are dropped (see :data:`HS6_CONTENT_SHARE`). Imports from members are left
    out unless ``include_intra`` (the ``as-imports`` convention needs them).
    """
    content = HS6_CONTENT_SHARE if content is None else content
    inside = set(members)
    if trade.empty:
        return pd.Series(dtype=float)
    factor = trade["hs6"].astype(str).map({k: v[0] for k, v in content.items()})
    rows = trade.assign(content_t=pd.to_numeric(trade["qty_t"], errors="coerce") * factor)
    keep = rows["importer_iso3"].isin(inside) & rows["content_t"].notna()
    if not include_intra:
        keep &= ~rows["exporter_iso3"].isin(inside)
    rows = rows[keep]
    return rows.groupby("exporter_iso3")["content_t"].sum().astype(float)


def _domestic_production(
    qty: pd.Series, members: frozenset[str], to_t: float
) -> tuple[float | None, str]:
    """The importer's domestic production (t) for GeoPolRisk, by the documented policy.

    A member whose figure USGS withheld ("W") makes the value unknown: None with the reason
    (never a silent zero). Members the table does not list count as 0, said in the note with
    the bound USGS gives (their output is at most the "Other countries" row).
    """
    listed = qty[qty.index.isin(list(members))]
    withheld = sorted(listed.index[listed.isna()])
    if withheld:
        return None, (
            f"import risk not computed: domestic production of {', '.join(withheld)} withheld "
            "by USGS ('W'); policy: null rather than a zero (docs/risk.md)"
        )
    value = float(listed.sum()) * to_t
    note = ""
    other = float(qty.get(m.OTHER_ISO3, float("nan")))
    absent = sorted(members - set(qty.index))
    if absent and math.isfinite(other) and other > 0:
        who = ", ".join(absent) if len(absent) <= 3 else f"{len(absent)} members"
        note = (
            f"domestic production of {who} not listed by USGS: counted as 0 in import risk "
            f"(at most 'Other countries', {other * to_t:,.6g} t)"
        )
    return value, note


def _import_risk(
    qty: pd.Series,
    hhi: float,
    unit: str,
    *,
    trade: pd.DataFrame | None,
    political_stability: pd.Series | None,
    members: frozenset[str],
    intra_bloc: m.IntraBloc,
) -> tuple[float, float, list[str], bool]:
    """GeoPolRisk of the bloc's imports: (score, import term, notes, whether HS content shares
    that are estimates were used); NaN without trade, stability scores or a tonnage unit."""
    gpr = term = float("nan")
    notes: list[str] = []
    estimate = False
    to_t = unit_to_tonnes(unit) if unit else None
    if trade is None or political_stability is None or to_t is None:
        return gpr, term, notes, estimate
    imports = bloc_imports_t(trade, members, include_intra=intra_bloc == "as-imports")
    if imports.empty:
        return gpr, term, notes, estimate
    domestic, why = _domestic_production(qty, members, to_t)
    if why:
        notes.append(why)
    if domestic is not None:
        g1 = m.instability(political_stability, scale=1.0)
        gpr, term = m.geopolrisk_parts(hhi, imports, g1, domestic, members, intra_bloc=intra_bloc)
        used = set(trade["hs6"].astype(str)) & set(HS6_CONTENT_SHARE)
        estimate = bool(used - HS6_STOICHIOMETRIC)
    return gpr, term, notes, estimate


# long: the 16-argument signature and the 36-field RiskRecord it fills are two thirds of it
def risk_record(
    mineral: str,
    stage: str,
    year: int,
    production: pd.DataFrame,
    *,
    political_stability: pd.Series | None,
    bloc: str,
    bloc_members: Iterable[str],
    us_net_import_reliance: float | None = None,
    trade: pd.DataFrame | None = None,
    trade_year: int | None = None,
    wgi_year: int | None = None,
    world_total: float | None = None,
    world_total_is_estimate: bool = False,
    intra_bloc: m.IntraBloc = "as-domestic",
    importer: str | None = None,
) -> RiskRecord:
    """The :class:`RiskRecord` of one mineral and stage from its production rows.

    ``production``: rows of the catalog production table for that mineral, stage and year
    (``country_iso3, qty, unit, withheld, is_estimate, source``). ``trade``: BACI flows of the
    mineral's HS codes in ``trade_year`` (any importer; the bloc's imports are selected here).
    ``world_total``: the published world total (USGS "World total (rounded)"): every share is
    of it, as USGS table T5 prints them; without it, of the sum of the rows.
    """
    members = frozenset(bloc_members)
    rows = production
    qty = pd.Series(
        pd.to_numeric(rows["qty"], errors="coerce").to_numpy(dtype=float),
        index=rows["country_iso3"].astype(str),
    )
    qty = qty.groupby(level=0).sum(min_count=1)
    withheld = tuple(sorted(qty.index[qty.isna()]))
    basis = world_total if world_total is not None and world_total > 0 else None
    share = m.shares(qty, what=f"production of {mineral} ({stage}, {year})", total=basis)
    unalloc = m.unallocated(share)
    units = sorted(set(rows["unit"].astype(str))) if "unit" in rows else []
    if len(units) > 1:
        raise InputError(
            f"production of {mineral} ({stage}, {year}) mixes units {units}; expected one unit"
        )
    unit = units[0] if units else ""
    top1_iso3, top1_share = m.top1(share)
    hhi = m.hhi(share)

    sr = cov = float("nan")
    if political_stability is not None and not share.empty:
        g10 = m.instability(political_stability, scale=10.0)
        sr = m.eu_supply_risk(share, g10)
        cov = m.hhi_wgi(share, g10)[1]

    gpr, term, gpr_notes, gpr_estimate = _import_risk(
        qty,
        hhi,
        unit,
        trade=trade,
        political_stability=political_stability,
        members=members,
        intra_bloc=intra_bloc,
    )

    sources = sorted(set(rows["source"].astype(str))) if "source" in rows else []
    rows_estimate = bool(rows["is_estimate"].astype(bool).any()) if "is_estimate" in rows else False
    estimates: list[str] = []
    if rows_estimate:
        estimates.append("production rows")
    if world_total_is_estimate and basis is not None:
        estimates.append("world total")
    notes = rows["note"].astype(str) if "note" in rows else pd.Series(dtype=str)
    if bool(notes.str.contains("is a USGS estimate", regex=False).any()):
        # MCS 2025 gives the latest year as USGS's own preliminary estimate: said, not starred
        estimates.append("USGS preliminary estimate (latest year)")
    if math.isfinite(gpr) and gpr_estimate:
        estimates.append("import_risk: HS content shares")
    total = float(qty.sum()) if qty.notna().any() else float("nan")
    hhi_up = hhi + 10_000.0 * max(unalloc, 0.0) ** 2 if math.isfinite(hhi) else float("nan")
    return RiskRecord(
        mineral=mineral,
        stage=str(stage),
        year=int(year),
        unit=unit,
        total_qty=_opt(total),
        world_total=basis,
        share_basis="world total" if basis is not None else "sum of rows",
        n_producers=int((share.drop(labels=[m.OTHER_ISO3], errors="ignore") > 0).sum()),
        withheld_iso3=withheld,
        other_share=_round(_opt(m.country_share(share, m.OTHER_ISO3)), 4),
        unallocated_share=_round(_opt(unalloc), 4),
        hhi=_round(_opt(hhi), 1),
        hhi_upper=_round(_opt(hhi_up), 1),
        top1_iso3=top1_iso3,
        top1_share=_round(_opt(top1_share), 4),
        top3_share=_round(_opt(m.top_n_share(share, 3)), 4),
        china_share=_round(_opt(m.country_share(share, CHINA)), 4),
        bloc=bloc,
        bloc_share=_round(_opt(m.bloc_share(share, members)), 4),
        us_net_import_reliance=us_net_import_reliance,
        supply_risk_eu=_round(_opt(sr), 3),
        wgi_coverage=_round(_opt(cov), 4),
        wgi_year=wgi_year if math.isfinite(sr) else None,
        import_risk=_round(_opt(gpr), 5),
        import_term=_round(_opt(term), 5),
        import_risk_year=trade_year if math.isfinite(gpr) else None,
        importer=importer or bloc,
        importer_members=tuple(sorted(members)),
        intra_bloc=intra_bloc,
        import_risk_note="; ".join(gpr_notes),
        is_estimate=bool(estimates),
        estimates=tuple(estimates),
        sources=tuple(sources),
        source="; ".join(sources),
    )


def records_table(records: Sequence[RiskRecord]) -> pd.DataFrame:
    """The records as a table (one row per mineral and stage)."""
    rows = [r.as_json() for r in records]
    df = pd.DataFrame(rows, columns=list(RiskRecord.model_fields))
    df["withheld_iso3"] = df["withheld_iso3"].map(" ".join)
    df["estimates"] = df["estimates"].map("; ".join)
    df["sources"] = df["sources"].map(" | ".join)
    df["importer_members"] = df["importer_members"].map(" ".join)
    for col in ("wgi_year", "import_risk_year"):  # years stay integers next to nulls
        df[col] = df[col].astype("Int64")
    return df


def write_records(records: Sequence[RiskRecord], out_dir: Path | str) -> list[Path]:
    """Write ``risk.json`` and ``risk.csv``: both appear together or neither
    (:func:`critmin.fileio.write_json_and_csv`)."""
    rows = [r.as_json() for r in records]
    return write_json_and_csv(out_dir, "risk", rows, records_table(records).to_csv(index=False))


def _catalog_ids() -> tuple[dict[str, str], list[str]]:
    """Known mineral and product ids (lower-case -> id) for name resolution."""

    ids = {x.id.lower(): x.id for x in mins.list_minerals()}
    ids.update({x.id.lower(): x.id for x in mins.list_products()})
    return ids, sorted(ids.values())


def resolve_mineral(name: str) -> str:
    """A mineral or product id from user text ("REE", "Lithium ", "ndpr_oxide")."""

    ids, choices = _catalog_ids()
    key = name.strip().lower()
    if key in ids:
        return ids[key]
    try:
        return mins.get_mineral(name).id
    except CritminError:
        pass
    try:
        return mins.get_product(name).id
    except CritminError:
        raise UnknownNameError("mineral", name.strip(), choices) from None


def _political_stability(year: int) -> tuple[pd.Series | None, int | None]:

    for y in (year, year - 1, year - 2):
        try:
            series = governance.political_stability(y)
        except CritminError:
            continue
        if series.notna().any():
            return series, y
    return None, None


def _trade(mineral_id: str, year: int) -> tuple[pd.DataFrame | None, int | None]:

    try:
        ty = min(year, trade.latest_trade_year())
        flows = trade.trade_flows(mineral=mineral_id, year=ty)
    except CritminError:
        return None, None
    return (flows, ty) if not flows.empty else (None, None)


def _nir(mineral_id: str, year: int) -> float | None:

    try:
        value: Any = reliance.us_net_import_reliance(mineral_id, year)
    except CritminError:
        return None
    if isinstance(value, tuple):
        value = value[0]
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _parent_mineral(mineral_id: str) -> str:

    try:
        return mins.get_product(mineral_id).mineral_id
    except CritminError:
        return mineral_id


def resolve_viewpoint(
    bloc: str | None = None,
    importer: str | None = None,
    members: Sequence[str] | str | None = None,
) -> tuple[str, frozenset[str]]:
    """``(label, member ISO3 codes)`` of the importing economy the risk is seen from.

    Exactly one of: ``bloc`` (a built-in bloc id or name; a country name or code is taken as
    one importer), ``importer`` (one country, ISO3/ISO2/name) or ``members`` (an ad-hoc group,
    a list or ``"A,B,C"``; labelled ``members:A,B,C``). None of them: the ``forge`` bloc.
    """
    given = [x for x in (bloc, importer, members) if x]
    if len(given) > 1:
        raise InputError(
            "give one of --bloc, --importer, --members; got "
            + ", ".join(
                n for n, x in (("bloc", bloc), ("importer", importer), ("members", members)) if x
            ),
            where="risk viewpoint",
        )
    if importer:
        iso = resolve_country(importer)
        return iso, frozenset({iso})
    if members:
        parts = members.split(",") if isinstance(members, str) else list(members)
        codes = sorted({resolve_country(x) for x in parts if x.strip()})
        if not codes:
            raise InputError("--members is empty; expected A,B,C", where="risk viewpoint")
        return "members:" + ",".join(codes), frozenset(codes)
    name = bloc or "forge"
    try:
        bloc_id = blocs.get_bloc(name).id
    except UnknownNameError:
        try:
            iso = resolve_country(name)
        except CritminError:
            raise UnknownNameError(
                "bloc (or country)", name.strip(), [b.id for b in blocs.list_blocs()]
            ) from None
        return iso, frozenset({iso})
    return bloc_id, frozenset(blocs.members(bloc_id))


def risk_records(
    minerals: Sequence[str] | None = None,
    *,
    stage: str | None = None,
    bloc: str | None = None,
    year: int = 2024,
    all_minerals: bool = False,
    importer: str | None = None,
    members: Sequence[str] | str | None = None,
    intra_bloc: m.IntraBloc = "as-domestic",
    source: str = "usgs",
    wmd_file: str | Path | None = None,
) -> list[RiskRecord]:
    """Risk records from the catalog for the given minerals (default: the core minerals;
    ``all_minerals``: every mineral and product, see :func:`all_material_ids`).

    One record per mineral and stage with production data in ``year``; a mineral without
    any data that year gives one record of nulls with a note (never made-up values). Bloc
    share and import risk are seen from :func:`resolve_viewpoint` (``bloc``, ``importer`` or
    ``members``), intra-bloc imports treated by ``intra_bloc`` (see
    :func:`critmin.catalog.metrics.geopolrisk_parts`). ``source="wmd"``: production from a
    user-supplied World Mining Data file (:mod:`critmin.catalog.wmd`) instead of USGS.
    """
    if source not in ("usgs", "wmd"):
        raise InputError(f"--source {source!r}; expected usgs or wmd", where="critmin risk")

    table = prod.production_table()
    if all_minerals:
        ids = all_material_ids(table)
    else:
        ids = list(dict.fromkeys(resolve_mineral(x) for x in (minerals or CORE_MINERALS)))
    wanted = parse_stage(stage).value if stage else None
    if intra_bloc not in m.INTRA_BLOC_CONVENTIONS:
        raise InputError(
            f"intra-bloc convention {intra_bloc!r}; expected one of "
            f"{list(m.INTRA_BLOC_CONVENTIONS)}",
            where="critmin risk",
        )
    bloc_id, viewers = resolve_viewpoint(bloc, importer, members)
    wgi, wgi_year = _political_stability(year)
    table = table[table["year"] == year]
    totals = _world_totals(year)
    records: list[RiskRecord] = []
    if source == "wmd":
        return _wmd_records(
            ids, wanted, year, bloc_id, viewers, wgi, wgi_year, intra_bloc, wmd_file
        )
    for mid in ids:
        rows = table[table["mineral"] == mid]
        if wanted is not None:
            rows = rows[rows["stage"].astype(str) == wanted]
            if rows.empty and minerals:
                prod.production(mid, stage=wanted, year=year)  # raises naming what exists
        parent = _parent_mineral(mid)
        nir = _nir(parent, year)
        flows, trade_year = _trade(parent, year)
        if rows.empty:
            records.append(_empty_record(mid, wanted or "mine", year, bloc_id, nir))
            continue
        for st, group in rows.groupby(rows["stage"].astype(str), sort=False):
            wt, wt_est = totals.get((mid, str(st)), (None, False))
            records.append(
                risk_record(
                    mid,
                    str(st),
                    year,
                    group,
                    political_stability=wgi,
                    bloc=bloc_id,
                    bloc_members=viewers,
                    us_net_import_reliance=nir,
                    trade=flows,
                    trade_year=trade_year,
                    wgi_year=wgi_year,
                    world_total=wt,
                    world_total_is_estimate=wt_est,
                    intra_bloc=intra_bloc,
                )
            )
    return records


def _wmd_records(  # noqa: PLR0917  (the World Mining Data branch of risk_records)
    ids: Sequence[str],
    wanted: str | None,
    year: int,
    bloc_id: str,
    viewers: frozenset[str],
    wgi: pd.Series | None,
    wgi_year: int | None,
    intra_bloc: m.IntraBloc,
    wmd_file: str | Path | None,
) -> list[RiskRecord]:
    from critmin.catalog import wmd

    wmd.wmd_file(wmd_file)  # one clear error before any work when no file is given
    records: list[RiskRecord] = []
    for mid in ids:
        parent = _parent_mineral(mid)
        nir = _nir(parent, year)
        if mid not in wmd.WMD_TABLES:
            rec = _empty_record(mid, wanted or "mine", year, bloc_id, nir)
            records.append(rec.model_copy(update={"note": f"no World Mining Data table for {mid}"}))
            continue
        rows, total, st = wmd.wmd_production(mid, year, wmd_file)
        if (wanted is not None and wanted != st) or rows.empty:
            rec = _empty_record(mid, wanted or st, year, bloc_id, nir)
            why = (
                f"World Mining Data has {mid} at stage {st} only"
                if not rows.empty
                else (f"no World Mining Data figures for {mid} in {year}")
            )
            records.append(rec.model_copy(update={"note": why}))
            continue
        flows, trade_year = _trade(parent, year)
        records.append(
            risk_record(
                mid,
                st,
                year,
                rows,
                political_stability=wgi,
                bloc=bloc_id,
                bloc_members=viewers,
                us_net_import_reliance=nir,
                trade=flows,
                trade_year=trade_year,
                wgi_year=wgi_year,
                world_total=total,
                intra_bloc=intra_bloc,
            )
        )
    return records


def all_material_ids(table: pd.DataFrame | None = None) -> list[str]:
    """Every mineral of the catalog (the 2025 list and aggregates) and every stage product with
    production data: what ``critmin risk --all`` covers."""
    table = prod.production_table() if table is None else table
    have = set(table["mineral"].astype(str))
    ids = [x.id for x in mins.list_minerals(listed_only=False)]
    ids += [p.id for p in mins.list_products() if p.id in have and p.id not in ids]
    return ids


def _world_totals(year: int) -> dict[tuple[str, str], tuple[float, bool]]:
    """(mineral, stage) -> (published world total, is_estimate) for ``year``; only rows with
    a finite, positive, unbounded value (a ">" bound is not a total to divide by)."""
    df = prod.world_totals_table()
    df = df[df["year"] == year]
    out: dict[tuple[str, str], tuple[float, bool]] = {}
    qty = pd.to_numeric(df["qty"], errors="coerce").to_numpy(dtype=float)
    keys = zip(df["mineral"].astype(str), df["stage"].astype(str), strict=True)
    flags = zip(df["bound"].astype(str), df["is_estimate"].astype(bool), strict=True)
    for key, value, (bound, est) in zip(keys, qty, flags, strict=True):
        if math.isfinite(value) and value > 0 and not bound.strip():
            out[key] = (float(value), bool(est))
    return out


def _empty_record(mineral: str, stage: str, year: int, bloc: str, nir: float | None) -> RiskRecord:
    empty = pd.DataFrame(
        {"country_iso3": [], "qty": [], "unit": [], "is_estimate": [], "source": []}
    )
    rec = risk_record(
        mineral,
        stage,
        year,
        empty,
        political_stability=None,
        bloc=bloc,
        bloc_members=(),
        us_net_import_reliance=nir,
    )
    return rec.model_copy(update={"note": f"no production data for {mineral} in {year}"})


def write_dependency_report(
    out_dir: Path | str, *, bloc: str = "forge", year: int = 2024
) -> list[Path]:
    """``risk.json`` + ``risk.csv`` for :data:`CORE_MINERALS` in ``out_dir``."""
    return write_records(risk_records(CORE_MINERALS, bloc=bloc, year=year), out_dir)


__all__ = [
    "CORE_MINERALS",
    "HS6_CONTENT_SHARE",
    "RiskRecord",
    "all_material_ids",
    "bloc_imports_t",
    "records_table",
    "resolve_mineral",
    "resolve_viewpoint",
    "risk_record",
    "risk_records",
    "unit_to_tonnes",
    "write_dependency_report",
    "write_records",
]
