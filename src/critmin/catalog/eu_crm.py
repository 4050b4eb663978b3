"""Supply risk by the EU criticality method (European Commission 2017 guidelines, 2023 study).

The formula of the Commission's *Methodology for establishing the EU list of critical raw
materials* (2017, doi:10.2873/769526), applied in the *Study on the Critical Raw Materials for
the EU 2023* (doi:10.2873/725585), at each stage (extraction E, processing P)::

    SR = [HHI_WGI,t(GS) x IR/2 + HHI_WGI,t(EU sourcing) x (1 - IR/2)] x (1 - EoL_RIR) x SI_SR
    HHI_WGI,t = sum_c s_c**2 x WGI_c x t_c

with ``s_c`` supply shares (fractions), ``WGI_c`` the country's governance on 0..10 (10 = worst),
``t_c`` the trade-related variable (export restrictions raise it above 1, EU agreements lower
it), ``IR`` the EU's import reliance, ``EoL_RIR`` the end-of-life recycling input rate and
``SI_SR`` the substitution index. The material's SR is that of the bottleneck stage (the
higher one). :func:`critmin.catalog.metrics.eu_supply_risk` is the formula;
this module gathers its parameters, each with where it comes from:

* GS shares: critmin's production table (USGS world-total shares), mine stage for E,
  refining (else metal) for P;
* WGI: as the EU method does, the mean of the six World Bank WGI dimensions (2024 update,
  estimates 1996-2023) rescaled ``(2.5 - w) x 2`` onto 0..10; ``wgi="political-stability"``
  (or ``wgi: political-stability`` in a parameter file) gives critmin's earlier political
  stability-only term; override single countries with ``wgi_scaled``;
* t and EU sourcing shares: the 2023 study's Appendix 7 tables (``data/raw/eu_crm_2023``);
* IR: the 2023 study's import reliance of the stage (primary material for E, refined for P)
  from its results table (``data/raw/eu_crm_2023_critmat``); where it gives none, the share of
  the EU sourcing mix from outside the EU-27 (EU sourcing = EU production + imports; exports
  are not in the table, so this is an approximation, flagged);
* EoL-RIR: the 2023 study's figures (``data/curated/eu_crm_parameters.csv``; magnesium,
  scandium and silicon metal from the results table above);
* SI_SR: the 2023 study's substitution index for supply risk, per material, from the study's
  results table as transcribed in meyerdata/CritMAT (``data/raw/eu_crm_2023_critmat``); the
  LREE/HREE/PGM groups, which the study gives none for, take neodymium/dysprosium/platinum.

The published 2023 SR scores are never inputs: ``scripts/compare_eu_sr.py`` compares with them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from critmin.catalog import blocs
from critmin.catalog import metrics as m
from critmin.catalog._data import read_table
from critmin.errors import InputError, UnknownNameError
from critmin.fileio import write_json_and_csv

STAGES: tuple[str, ...] = ("E", "P")
CRITMIN_STAGES: dict[str, tuple[str, ...]] = {"E": ("mine",), "P": ("refining", "metal")}
# EU sourcing is tabulated for a group where the global table names a member of it.
SOURCING_ALIASES: dict[tuple[str, str], str] = {
    ("Dysprosium", "E"): "Heavy Rare earths Elements",
    ("Titanium", "E"): "Titanium ores",
}
MIN_SOURCING_COVERAGE = 0.5
"""An EU sourcing table whose shares add to less than this is taken as incomplete (the 2023
transcription lists 9 % of chromium's extraction-stage sourcing) and not used."""
PARAM_KEYS = ("import_reliance", "eol_rir", "si_sr", "t", "eu_sourcing")
WGI_BASES = ("six-dimensions", "political-stability")
"""``six-dimensions``: the mean of the six WGI dimensions (the EU method); ``political-stability``:
that dimension alone (critmin's term before the six were shipped, kept for comparison)."""


class EuCrmRecord(BaseModel):
    """EU-method supply risk of one mineral at one stage, with every term of the formula."""

    model_config = ConfigDict(frozen=True)

    mineral: str
    eu_name: str
    stage: str
    critmin_stage: str
    year: int
    hhi_wgi_t_gs: float | None
    hhi_wgi_t_eu: float | None
    eu_sourcing_basis: str
    import_reliance: float | None
    eol_rir: float
    si_sr: float
    sr: float | None
    sr_bottleneck: float | None = None
    bottleneck_stage: str | None = None
    wgi_basis: str
    wgi_year: int
    estimates: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = self.model_dump()
        out["estimates"] = list(self.estimates)
        out["sources"] = list(self.sources)
        return out


def parameters_table() -> pd.DataFrame:
    """critmin's per-mineral EU-method parameters (EoL-RIR, SI_SR, EU names) with sources."""
    return read_table("eu_crm_parameters.csv").copy()


def published_sr(assessment_year: int = 2023) -> pd.Series:
    """The Commission's published SR by EU material name (reference only, never an input)."""
    df = read_table("eu_crm_sr.csv")
    df = df[(df["assessment_year"].astype(int) == assessment_year) & df["sr"].notna()]
    return pd.Series(df["sr"].to_numpy(dtype=float), index=df["sr_name"].astype(str))


def _table(eu_name: str, stage: str, which: str) -> pd.DataFrame:
    df = read_table("eu_crm_shares.csv")
    name = eu_name
    if which == "eu_sourcing":
        name = SOURCING_ALIASES.get((eu_name, stage), eu_name)
    return df[(df["eu_name"] == name) & (df["stage"] == stage) & (df["table"] == which)]


def _frac(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{value!r}; expected a number", where=where)
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{value!r}; expected a fraction 0..1", where=where)
    return float(value)


def _country_map(value: Any, where: str, *, fraction: bool) -> dict[str, float]:
    from critmin.catalog.countries import resolve_country

    if not isinstance(value, Mapping):
        raise InputError(f"{type(value).__name__}; expected a mapping ISO3 -> number", where=where)
    out: dict[str, float] = {}
    for k, v in value.items():
        w = f"{where}.{k}"
        iso = resolve_country(str(k))
        if fraction:
            out[iso] = _frac(v, w)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 10:
            raise InputError(f"{v!r}; expected a number 0..10", where=w)
        else:
            out[iso] = float(v)
    return out


def load_overrides(path: Path | str) -> dict[str, Any]:
    """Parameter overrides from a YAML file (see ``docs/risk.md``), validated.

    ``materials: {MINERAL: {import_reliance, eol_rir, si_sr, t: {ISO3: t},
    eu_sourcing: {E|P: {ISO3: share}}}}``, ``wgi_scaled: {ISO3: 0..10}`` and
    ``wgi: six-dimensions|political-stability``.
    """
    from critmin.yamlio import load_yaml

    # critmin's reader, as for every other YAML input: a key given twice, an alias bomb or
    # deep nesting is one file:line error, and `!!str 1e6` stays a string
    p = Path(path)
    data = load_yaml(p, what="parameter file").data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            "expected a mapping with 'materials', 'wgi_scaled' and/or 'wgi'", where=str(p)
        )
    unknown = set(data) - {"materials", "wgi_scaled", "wgi"}
    if unknown:
        raise InputError(
            f"unknown keys {sorted(unknown)}; expected 'materials', 'wgi_scaled', 'wgi'",
            where=str(p),
        )
    out: dict[str, Any] = {"materials": {}, "wgi_scaled": {}}
    if "wgi" in data:
        if data["wgi"] not in WGI_BASES:
            raise InputError(
                f"{data['wgi']!r}; expected one of {list(WGI_BASES)}", where=f"{p}: wgi"
            )
        out["wgi"] = data["wgi"]
    if "wgi_scaled" in data:
        out["wgi_scaled"] = _country_map(data["wgi_scaled"], f"{p}: wgi_scaled", fraction=False)
    mats = data.get("materials") or {}
    if not isinstance(mats, dict):
        raise InputError("expected a mapping of minerals", where=f"{p}: materials")
    for name, spec in mats.items():
        where = f"{p}: materials.{name}"
        out["materials"][_resolve(str(name), where)] = _material_entry(spec, where)
    return out


def _material_entry(spec: Any, where: str) -> dict[str, Any]:
    """One material's parameters of a parameter file, validated (``where`` names it)."""
    if not isinstance(spec, dict):
        raise InputError("expected a mapping of parameters", where=where)
    bad = set(spec) - set(PARAM_KEYS)
    if bad:
        raise InputError(f"unknown keys {sorted(bad)}; expected {list(PARAM_KEYS)}", where=where)
    entry: dict[str, Any] = {}
    for key in ("import_reliance", "eol_rir"):
        if key in spec:
            entry[key] = _frac(spec[key], f"{where}.{key}")
    if "si_sr" in spec:
        v = spec["si_sr"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 2:
            raise InputError(f"{v!r}; expected a number 0..2", where=f"{where}.si_sr")
        entry["si_sr"] = float(v)
    if "t" in spec:
        t = spec["t"]
        if not isinstance(t, Mapping):
            raise InputError("expected a mapping ISO3 -> t", where=f"{where}.t")
        entry["t"] = {}
        for k, v in t.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 3:
                raise InputError(f"{v!r}; expected a number in (0, 3]", where=f"{where}.t.{k}")
            from critmin.catalog.countries import resolve_country

            entry["t"][resolve_country(str(k))] = float(v)
    if "eu_sourcing" in spec:
        src = spec["eu_sourcing"]
        if not isinstance(src, Mapping) or not set(src) <= set(STAGES):
            raise InputError("expected {E: {ISO3: share}, P: {...}}", where=f"{where}.eu_sourcing")
        entry["eu_sourcing"] = {
            st: _country_map(v, f"{where}.eu_sourcing.{st}", fraction=True) for st, v in src.items()
        }
    return entry


def _resolve(name: str, where: str) -> str:
    from critmin.catalog.risk import resolve_mineral

    try:
        return resolve_mineral(name)
    except UnknownNameError as exc:
        raise InputError(str(exc), where=where) from None


def eu_crm_records(
    minerals: Sequence[str] | None = None,
    *,
    year: int = 2024,
    overrides: Mapping[str, Any] | None = None,
    wgi: str | None = None,
) -> list[EuCrmRecord]:
    """EU-method supply risk, stage by stage, of the given minerals (default: every mineral
    with EU-method parameters); each record carries the bottleneck SR of its mineral.

    ``wgi``: one of :data:`WGI_BASES` (default: a parameter file's ``wgi``, else
    ``six-dimensions``, the EU's choice)."""
    from critmin.catalog import production as prod
    from critmin.catalog.risk import _political_stability, _world_totals, resolve_mineral

    params = parameters_table().set_index("mineral")
    ov = dict(overrides or {})
    ov_mats: Mapping[str, Any] = ov.get("materials", {})
    ids = [resolve_mineral(x) for x in minerals] if minerals else [str(x) for x in params.index]
    missing = [x for x in ids if x not in params.index]
    if missing:
        raise InputError(
            f"no EU-method parameters for {missing}; have {sorted(params.index)}",
            where="critmin risk --method eu-crm",
        )
    basis_name = wgi or ov.get("wgi") or WGI_BASES[0]
    if basis_name not in WGI_BASES:
        raise InputError(f"wgi={basis_name!r}; expected one of {list(WGI_BASES)}", where="eu-crm")
    if basis_name == "political-stability":
        w, wgi_year = _political_stability(year)
        label = "WGI political stability only"
    else:
        w, wgi_year = _wgi_mean(year)
        label = "WGI 2024 update, mean of the 6 dimensions"
    if w is None:
        raise InputError(f"no WGI data for {year} or the two years before", where="eu-crm")
    g10 = m.instability(w, scale=10.0)
    wgi_basis = f"{label}, (2.5 - w) x 2"
    if ov.get("wgi_scaled"):
        given = pd.Series(ov["wgi_scaled"], dtype=float)
        g10 = pd.concat([g10.drop(labels=list(given.index), errors="ignore"), given])
        wgi_basis += "; overridden for " + ",".join(sorted(ov["wgi_scaled"]))
    eu27 = blocs.members("eu27")
    table = prod.production_table()
    table = table[table["year"] == year]
    totals = _world_totals(year)
    out: list[EuCrmRecord] = []
    for mid in ids:
        row = params.loc[mid]
        assert isinstance(row, pd.Series)  # mineral ids are unique in the parameter table
        mo: Mapping[str, Any] = ov_mats.get(mid, {})
        recs: list[EuCrmRecord] = []
        for st in STAGES:
            rec = _stage_record(
                mid,
                str(row["eu_name"]),
                st,
                row,
                mo,
                table,
                totals,
                g10,
                (wgi_basis, int(wgi_year or year), str(w.name)),
                eu27,
                year,
            )
            if rec is not None:
                recs.append(rec)
        srs = [r.sr for r in recs if r.sr is not None]
        if srs:
            best = max(recs, key=lambda r: -1.0 if r.sr is None else r.sr)
            recs = [
                r.model_copy(update={"sr_bottleneck": best.sr, "bottleneck_stage": best.stage})
                for r in recs
            ]
        out.extend(recs)
    return out


def records_table(records: Sequence[EuCrmRecord]) -> pd.DataFrame:
    """One row per record, the fields of :meth:`EuCrmRecord.as_json` (``estimates`` and
    ``sources`` joined with ``"; "``): what ``eu_crm.csv`` and ``--csv`` hold."""
    table = pd.DataFrame([r.as_json() for r in records])
    if not table.empty:
        for col in ("estimates", "sources"):
            table[col] = table[col].map("; ".join)
    return table


def write_records(records: Sequence[EuCrmRecord], out_dir: Path | str) -> list[Path]:
    """Write ``eu_crm.json`` and ``eu_crm.csv``: both appear together or neither, as
    ``risk.json`` and ``risk.csv`` (:func:`critmin.fileio.write_json_and_csv`)."""
    rows = [r.as_json() for r in records]
    return write_json_and_csv(out_dir, "eu_crm", rows, records_table(records).to_csv(index=False))


def _wgi_mean(year: int) -> tuple[pd.Series | None, int | None]:
    """Six-dimension WGI mean of the production year, else of the latest of the two before
    (the rule critmin's political-stability term follows)."""
    from critmin.catalog import governance
    from critmin.errors import CritminError

    for y in (year, year - 1, year - 2):
        try:
            series = governance.wgi_mean(y)
        except CritminError:
            continue
        if series.notna().any():
            return series, y
    return None, None


def _blank(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def _material_terms(  # noqa: PLR0917  (the record's lists are appended to in place)
    row: pd.Series,
    mo: Mapping[str, Any],
    stage: str,
    ir_approx: float | None,
    estimates: list[str],
    sources: list[str],
) -> tuple[float | None, float, float]:
    """IR, EoL-RIR and SI_SR of one stage: the parameter file, else the shipped table (with
    its source), else critmin's IR approximation / the neutral value, flagged."""
    ir = ir_approx
    ir_study = row.get(f"ir_{stage.lower()}")
    if "import_reliance" in mo:
        ir = float(mo["import_reliance"])
    elif ir is not None and not _blank(ir_study):
        # the study's own IR of this stage; critmin's approximation only where it has none
        ir = float(str(ir_study))
        sources.append(str(row["ir_source"]))
    elif ir is not None:
        estimates.append("import_reliance: non-EU share of EU sourcing")
    eol = row["eol_rir"]
    eol_rir = float(mo.get("eol_rir", 0.0 if _blank(eol) else float(eol)))
    if "eol_rir" not in mo and _blank(eol):
        estimates.append("eol_rir: no figure, 0 used")
    si = row["si_sr"]
    si_sr = float(mo.get("si_sr", 1.0 if _blank(si) else float(si)))
    if "si_sr" not in mo and _blank(si):
        estimates.append("si_sr: not shipped, 1 (neutral) used")
    elif "si_sr" not in mo:
        sources.append(str(row["si_sr_source"]))
    return ir, eol_rir, si_sr


# long: one stage of the EU CRM method, its terms in the order of the 2023 methodology guide
def _stage_record(  # noqa: PLR0917  (one stage of one mineral: all terms are needed)
    mid: str,
    eu_name: str,
    stage: str,
    row: pd.Series,
    mo: Mapping[str, Any],
    table: pd.DataFrame,
    totals: Mapping[tuple[str, str], tuple[float, bool]],
    g10: pd.Series,
    wgi: tuple[str, int, str],
    eu27: frozenset[str],
    year: int,
) -> EuCrmRecord | None:
    rows = None
    cst = ""
    for cst in CRITMIN_STAGES[stage]:
        cand = table[(table["mineral"] == mid) & (table["stage"].astype(str) == cst)]
        if not cand.empty:
            rows = cand
            break
    if rows is None:
        return None
    qty = (
        pd.Series(
            pd.to_numeric(rows["qty"], errors="coerce").to_numpy(dtype=float),
            index=rows["country_iso3"].astype(str),
        )
        .groupby(level=0)
        .sum(min_count=1)
    )
    wt = totals.get((mid, cst), (None, False))[0]
    share = m.shares(qty, what=f"production of {mid} ({cst}, {year})", total=wt)
    estimates: list[str] = []
    if bool(rows["is_estimate"].astype(bool).any()):
        estimates.append("global supply shares: production rows")
    sources = sorted(set(rows["source"].astype(str)))

    gs_tab = _table(eu_name, stage, "global")
    t_gs = pd.Series(gs_tab["t"].to_numpy(dtype=float), index=gs_tab["country_iso3"].astype(str))
    eu_tab = _table(eu_name, stage, "eu_sourcing")
    t_eu = pd.Series(eu_tab["t"].to_numpy(dtype=float), index=eu_tab["country_iso3"].astype(str))
    if "t" in mo:
        t_over = pd.Series(mo["t"], dtype=float)
        t_gs = pd.concat([t_gs.drop(labels=list(t_over.index), errors="ignore"), t_over])
        t_eu = pd.concat([t_eu.drop(labels=list(t_over.index), errors="ignore"), t_over])
    if not (gs_tab.empty and eu_tab.empty):
        sources.append(str((gs_tab if not gs_tab.empty else eu_tab)["source"].iloc[0]))
    sources.append(wgi[2])
    if mo:
        sources.append("parameter file")

    src_over = mo.get("eu_sourcing", {}).get(stage)
    if src_over:
        eu_share = pd.Series(src_over, dtype=float)
        basis = "parameter file"
    elif not eu_tab.empty and float(eu_tab["share"].sum()) >= MIN_SOURCING_COVERAGE:
        eu_share = pd.Series(
            eu_tab["share"].to_numpy(dtype=float), index=eu_tab["country_iso3"].astype(str)
        )
        basis = "EU 2023 study, EU sourcing table (shares >= 1 %)"
    elif not eu_tab.empty:
        eu_share = None
        basis = (
            f"EU sourcing table incomplete (shares add to {eu_tab['share'].sum():.0%}): "
            "global supply used for both terms"
        )
    else:
        eu_share = None
        basis = "none tabulated: global supply used for both terms"
    ir: float | None = None
    if eu_share is not None:
        ir = float(eu_share[~eu_share.index.isin(list(eu27))].sum() / eu_share.sum())
        ir = min(max(ir, 0.0), 1.0)
    ir, eol_rir, si_sr = _material_terms(row, mo, stage, ir, estimates, sources)
    gs, eu, sr = m.eu_supply_risk_parts(
        share,
        g10,
        sourcing_share=eu_share,
        import_reliance=ir or 0.0,
        eol_rir=eol_rir,
        substitution_index=si_sr,
        trade_factor=t_gs,
        sourcing_trade_factor=t_eu,
    )
    return EuCrmRecord(
        mineral=mid,
        eu_name=eu_name,
        stage=stage,
        critmin_stage=cst,
        year=year,
        hhi_wgi_t_gs=None if not math.isfinite(gs) else round(gs, 4),
        hhi_wgi_t_eu=None if not math.isfinite(eu) else round(eu, 4),
        eu_sourcing_basis=basis,
        import_reliance=None if ir is None else round(ir, 4),
        eol_rir=eol_rir,
        si_sr=si_sr,
        sr=None if not math.isfinite(sr) else round(sr, 4),
        wgi_basis=wgi[0],
        wgi_year=wgi[1],
        estimates=tuple(estimates),
        sources=tuple(dict.fromkeys(sources)),
    )


__all__ = [
    "WGI_BASES",
    "EuCrmRecord",
    "eu_crm_records",
    "load_overrides",
    "parameters_table",
    "published_sr",
]
