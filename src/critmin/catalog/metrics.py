"""Concentration and dependency metrics: pure functions on small pandas tables, no I/O.

Inputs are :class:`pandas.Series` indexed by ISO3 country code (``"ZZ_OTHER"`` stands for
USGS "Other countries"). Shares are fractions 0..1. A metric that cannot be computed
from the data returns ``nan`` (the caller turns it into ``null``), never a made-up default.

Formulas (see ``docs/risk.md`` for the derivations and the sources):

* shares ``s_c = q_c / sum(q)`` over the reported (not withheld) quantities;
* HHI ``= 10_000 * sum_c s_c**2`` over named countries; the "Other countries" remainder is
  treated as fragmented (contributes 0), so the HHI is a lower bound (``other_as="one"``
  gives the upper bound that treats it as a single producer);
* political instability from the WGI "Political Stability and Absence of Violence"
  estimate ``w`` (about -2.5..2.5): ``g = (2.5 - w) / 5 * scale`` clipped to ``[0, scale]``;
  ``scale=10`` is the EU CRM rescaling (10 = least stable), ``scale=1`` the GeoPolRisk one;
* EU-style supply risk (EC 2017 CRM methodology, simplified):
  ``SR = (HHI_WGI,GS * IR/2 + HHI_WGI,sourcing * (1 - IR/2)) * (1 - EoL_RIR) * SI``
  with ``HHI_WGI = sum_c s_c**2 * g_c`` (shares as fractions, ``g`` on 0..10);
* GeoPolRisk (Gemechu et al. 2016; Santillán-Saldivar et al. 2021; geopolrisk-py 2.0.1):
  ``GPR = HHI_frac * sum_i g_i * f_i / (P + sum_i f_i)`` with ``f_i`` the importer's imports
  from exporter ``i``, ``g_i`` on 0..1 and ``P`` its domestic production; intra-bloc imports
  either dropped (``as-domestic``) or kept at zero risk (``as-imports``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from critmin.errors import InputError

OTHER_ISO3 = "ZZ_OTHER"
"""Code of the USGS "Other countries" remainder in the production table."""

WGI_MIN = -2.5
WGI_MAX = 2.5


def _check_quantities(qty: pd.Series, what: str) -> pd.Series:
    values = pd.to_numeric(qty, errors="coerce").astype(float)
    reported = values.dropna()
    if (reported < 0).any():
        bad = reported[reported < 0]
        raise InputError(
            f"negative quantities {dict(bad.round(6))}; expected quantities >= 0", where=what
        )
    return reported


def shares(qty: pd.Series, what: str = "quantities", total: float | None = None) -> pd.Series:
    """Shares (0..1) of each index entry in ``total`` (default: the sum of reported quantities).

    NaN entries (withheld) are dropped; an all-zero or empty input gives an empty Series.
    With ``total`` (a published world total, as USGS table T5 divides by) the shares need not
    add up to 1: see :func:`unallocated`. The result is sorted by share, largest first (ties by
    index label).
    """
    reported = _check_quantities(qty, what)
    if total is not None and not (np.isfinite(total) and total > 0.0):
        raise InputError(f"total={total}; expected a world total > 0", where=what)
    if reported.empty:
        return pd.Series(dtype=float, name="share")
    total = float(reported.sum()) if total is None else float(total)
    if total <= 0.0:
        return pd.Series(dtype=float, name="share")
    out = (reported / total).rename("share")
    order = np.lexsort((out.index.astype(str), -out.to_numpy()))
    return out.iloc[order]


def hhi(share: pd.Series, other_as: Literal["fragmented", "one"] = "fragmented") -> float:
    """Herfindahl-Hirschman index on the 0..10,000 scale.

    ``sum(s**2) * 10_000`` over named countries. The ``"ZZ_OTHER"`` remainder counts as
    many tiny producers (0) by default, or as one producer with ``other_as="one"``.
    Empty input -> nan.
    """
    if share.empty:
        return float("nan")
    s = share.astype(float)
    if other_as == "fragmented":
        s = s.drop(labels=[OTHER_ISO3], errors="ignore")
    return float((s.to_numpy() ** 2).sum() * 10_000.0)


def unallocated(share: pd.Series) -> float:
    """``1 - sum`` of the named countries' shares: "Other countries", withheld and rounding.

    Negative when the named rows add up to more than the (rounded) world total. nan if empty.
    """
    if share.empty:
        return float("nan")
    return float(1.0 - named(share).sum())


def named(share: pd.Series) -> pd.Series:
    """The shares of named countries only (drops ``ZZ_OTHER``), largest first."""
    s = share.drop(labels=[OTHER_ISO3], errors="ignore")
    order = np.lexsort((s.index.astype(str), -s.to_numpy()))
    return s.iloc[order]


def top_n_share(share: pd.Series, n: int) -> float:
    """Combined share of the ``n`` largest named producers; nan when there is none."""
    if n < 1:
        raise InputError(f"n={n}; expected n >= 1", where="top_n_share")
    s = named(share)
    if s.empty:
        return float("nan")
    return float(s.iloc[:n].sum())


def top1(share: pd.Series) -> tuple[str | None, float]:
    """ISO3 and share of the largest named producer, ``(None, nan)`` when there is none."""
    s = named(share)
    if s.empty:
        return None, float("nan")
    return str(s.index[0]), float(s.iloc[0])


def country_share(share: pd.Series, iso3: str) -> float:
    """Share of one country (0.0 when it is absent from a non-empty table, nan if empty)."""
    if share.empty:
        return float("nan")
    return float(share.get(iso3, 0.0))


def bloc_share(share: pd.Series, members: Iterable[str]) -> float:
    """Combined share of the bloc's members (nan for an empty table)."""
    if share.empty:
        return float("nan")
    inside = share.index.isin(list(members))
    return float(share[inside].sum())


def instability(wgi: pd.Series, scale: float = 10.0) -> pd.Series:
    """Political-instability score from WGI estimates: ``(2.5 - w) / 5 * scale``, clipped.

    ``scale=10``: EU CRM scale (0 = most stable, 10 = least stable); ``scale=1``: GeoPolRisk.
    WGI estimates slightly outside -2.5..2.5 are clipped to the end of the scale.
    """
    w = pd.to_numeric(wgi, errors="coerce").astype(float)
    if not w.index.is_unique:  # a country listed twice: average its entries
        w = w.groupby(level=0).mean()
    g = (WGI_MAX - w) / (WGI_MAX - WGI_MIN) * scale
    return g.clip(lower=0.0, upper=scale)


def hhi_wgi(share: pd.Series, instability_0_10: pd.Series) -> tuple[float, float]:
    """``sum_c s_c**2 * g_c`` (0..10) and the coverage: share of supply with a WGI score.

    Countries without a score (and ``ZZ_OTHER``) contribute nothing; the value is then a
    lower bound and ``coverage < 1`` says so. Empty input -> ``(nan, nan)``.
    """
    if share.empty:
        return float("nan"), float("nan")
    s = named(share)
    g = instability_0_10.groupby(level=0).mean().reindex(s.index)
    known = g.notna().to_numpy()
    value = float((s.to_numpy()[known] ** 2 * g.to_numpy()[known]).sum())
    coverage = float(s.to_numpy()[known].sum())
    return value, coverage


def hhi_wgi_t(
    share: pd.Series, instability_0_10: pd.Series, trade_factor: pd.Series | None = None
) -> float:
    """``sum_c s_c**2 * g_c * t_c`` over named countries with a score (``t`` defaults to 1).

    ``t`` is the EU method's trade-related variable (export restrictions > 1, EU trade
    agreements < 1). Countries without a score add nothing. Empty input -> nan.
    """
    if share.empty:
        return float("nan")
    s = named(share)
    g = instability_0_10.groupby(level=0).mean().reindex(s.index)
    t = (
        pd.Series(1.0, index=s.index)
        if trade_factor is None
        else trade_factor.groupby(level=0).max().reindex(s.index).fillna(1.0)
    )
    known = g.notna().to_numpy()
    return float((s.to_numpy()[known] ** 2 * g.to_numpy()[known] * t.to_numpy()[known]).sum())


def eu_supply_risk_parts(
    global_share: pd.Series,
    instability_0_10: pd.Series,
    *,
    sourcing_share: pd.Series | None = None,
    import_reliance: float = 0.0,
    eol_rir: float = 0.0,
    substitution_index: float = 1.0,
    trade_factor: pd.Series | None = None,
    sourcing_trade_factor: pd.Series | None = None,
) -> tuple[float, float, float]:
    """``(HHI_WGI,t global, HHI_WGI,t EU sourcing, SR)`` of the EU method at one stage.

    ``SR = [GS x IR/2 + EU x (1 - IR/2)] x (1 - EoL_RIR) x SI_SR`` (European Commission 2017,
    *Methodology for establishing the EU list of critical raw materials*). Without
    ``sourcing_share`` the global mix stands for both terms.
    """
    for name, value in (("import_reliance", import_reliance), ("eol_rir", eol_rir)):
        if not 0.0 <= value <= 1.0:
            raise InputError(f"{name}={value}; expected a fraction 0..1", where="eu_supply_risk")
    if substitution_index < 0.0:
        raise InputError(
            f"substitution_index={substitution_index}; expected >= 0", where="eu_supply_risk"
        )
    gs = hhi_wgi_t(global_share, instability_0_10, trade_factor)
    src = (
        gs
        if sourcing_share is None
        else hhi_wgi_t(sourcing_share, instability_0_10, sourcing_trade_factor)
    )
    mix = gs * import_reliance / 2.0 + src * (1.0 - import_reliance / 2.0)
    return gs, src, float(mix * (1.0 - eol_rir) * substitution_index)


def eu_supply_risk(
    global_share: pd.Series,
    instability_0_10: pd.Series,
    *,
    sourcing_share: pd.Series | None = None,
    import_reliance: float = 0.0,
    eol_rir: float = 0.0,
    substitution_index: float = 1.0,
) -> float:
    """EU CRM supply risk (EC 2017 methodology), 0..10 when ``SI <= 1``.

    ``SR = (HHI_WGI(global) * IR/2 + HHI_WGI(sourcing) * (1 - IR/2)) * (1 - EoL_RIR) * SI``.
    Without ``sourcing_share`` the global supply mix is used for both terms, and the
    defaults (``IR=0, EoL_RIR=0, SI=1``) reduce it to ``HHI_WGI`` of global supply.
    The SR of :func:`eu_supply_risk_parts` with no trade factors (t = 1).
    """
    return eu_supply_risk_parts(
        global_share,
        instability_0_10,
        sourcing_share=sourcing_share,
        import_reliance=import_reliance,
        eol_rir=eol_rir,
        substitution_index=substitution_index,
    )[2]


IntraBloc = Literal["as-domestic", "as-imports"]
INTRA_BLOC_CONVENTIONS: tuple[str, ...] = ("as-domestic", "as-imports")
MISSING_EXPORTER_INSTABILITY = 0.5
"""Instability (0..1) of an exporter without a WGI score: the middle of the scale, as
geopolrisk-py 2.0.1 assigns (``wgi_func`` in its ``core``/``utils`` modules)."""


def geopolrisk_parts(
    hhi_0_10000: float,
    imports_by_exporter: pd.Series,
    instability_0_1: pd.Series,
    domestic_production: float,
    bloc_members: Iterable[str] = (),
    *,
    intra_bloc: IntraBloc = "as-domestic",
    missing_instability: float = MISSING_EXPORTER_INSTABILITY,
) -> tuple[float, float]:
    """GeoPolRisk ``(score, import_term)`` of an importer (one country or a bloc of countries).

    ``import_term = sum_i g_i * f_i / (P + sum_i f_i)`` and ``score = HHI/10_000 * import_term``
    (Gemechu et al. 2016; Santillán-Saldivar et al. 2021; geopolrisk-py 2.0.1 ``GeoPolRisk``).
    ``f_i``: the importer's imports from exporter ``i`` (for a bloc, summed over its members);
    ``g_i``: political instability 0..1 (``missing_instability`` where ``i`` has no score);
    ``P``: the importer's domestic production (the members' sum). Imports from a member of the
    bloc (``i`` in ``bloc_members``) follow ``intra_bloc``:

    * ``"as-domestic"``: the bloc is one economy; intra-bloc imports are internal and dropped
      from numerator and denominator (the members' production already counts in ``P``);
    * ``"as-imports"``: geopolrisk-py's convention for regions: intra-bloc imports stay in the
      denominator at zero risk (``g = 0``) and so dilute the import term.

    For a single country both conventions give the same value. nan when the HHI is unknown
    or the denominator is 0.
    """
    if intra_bloc not in INTRA_BLOC_CONVENTIONS:
        raise InputError(
            f"intra_bloc={intra_bloc!r}; expected one of {list(INTRA_BLOC_CONVENTIONS)}",
            where="geopolrisk",
        )
    if not 0.0 <= missing_instability <= 1.0:
        raise InputError(
            f"missing_instability={missing_instability}; expected 0..1", where="geopolrisk"
        )
    if domestic_production < 0 or not np.isfinite(domestic_production):
        raise InputError(
            f"domestic_production={domestic_production}; expected a number >= 0",
            where="geopolrisk",
        )
    nan = float("nan")
    if not np.isfinite(hhi_0_10000):
        return nan, nan
    f_s = _check_quantities(imports_by_exporter, "imports_by_exporter").groupby(level=0).sum()
    inside = f_s.index.isin(list(set(bloc_members)))
    g_s = instability_0_1.groupby(level=0).mean().reindex(f_s.index)
    f = f_s.to_numpy(dtype=float)
    g = g_s.fillna(missing_instability).to_numpy(dtype=float)
    if intra_bloc == "as-domestic":
        f, g = f[~inside], g[~inside]
    else:
        g = np.where(inside, 0.0, g)
    denominator = domestic_production + float(f.sum())
    if denominator <= 0.0:
        return nan, nan
    term = float((g * f).sum()) / denominator
    return float(hhi_0_10000 / 10_000.0 * term), term


def geopolrisk(
    hhi_0_10000: float,
    imports_by_exporter: pd.Series,
    instability_0_1: pd.Series,
    bloc_production: float,
    bloc_members: Iterable[str] = (),
    *,
    intra_bloc: IntraBloc = "as-domestic",
    missing_instability: float = MISSING_EXPORTER_INSTABILITY,
) -> float:
    """The GeoPolRisk score (``HHI/10_000 * import_term``) of :func:`geopolrisk_parts`."""
    return geopolrisk_parts(
        hhi_0_10000,
        imports_by_exporter,
        instability_0_1,
        bloc_production,
        bloc_members,
        intra_bloc=intra_bloc,
        missing_instability=missing_instability,
    )[0]
