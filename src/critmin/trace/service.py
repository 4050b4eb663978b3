"""The trace commands as public functions: what ``critmin trace ...`` and an HTTP service call.

Each function takes paths or plain values, validates them, and returns JSON-ready dicts (no
printing, no exit codes); bad input raises :class:`critmin.errors.InputError` with one line
naming the file, line and field. The CLI (``critmin.cli.trace``) only renders these results.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from critmin.errors import InputError
from critmin.trace.epcis import EpcisImport, read_epcis_import, write_epcis
from critmin.trace.model import SupplyNetwork

TEMPLATE_SUFFIXES = (".xlsx", ".xlsm")


def load_network(path: str | Path, strict: bool = False) -> EpcisImport:
    """An EPCIS 2.0 file as a network plus its import summary."""
    return read_epcis_import(path, strict=strict)


def json_ready(v: Any) -> Any:
    """``v`` with NaN as None and tuples as lists, nested (what JSON can hold)."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: json_ready(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_ready(x) for x in v]
    return v


def import_file(
    path: str | Path, out: str | Path | None = None, strict: bool = False
) -> tuple[dict[str, Any], SupplyNetwork]:
    """Import an EPCIS document or an RMI template: (summary, network); ``out`` re-exports.

    The format is chosen by the file: ``.xlsx``/``.xlsm`` are RMI templates (CMRT, EMRT,
    AMRT), anything else EPCIS 2.0 JSON / JSON-LD.
    """
    p = Path(path)
    summary: dict[str, Any] = {"file": str(p)}
    if p.suffix.lower() in TEMPLATE_SUFFIXES:
        from critmin.trace.templates import read_template

        tpl = read_template(p)
        net = tpl.to_network()
        summary |= {
            "template": tpl.kind,
            "version": tpl.version,
            "declaration": tpl.declaration,
            "minerals": list(tpl.minerals),
            "smelters": [s.model_dump() for s in tpl.smelters],
            "mines": [m.model_dump() for m in tpl.mines],
            "sourcing": [s.model_dump() for s in tpl.sourcing],
            "warnings": list(tpl.warnings),
            "unverified": list(tpl.unverified),
            "third_party_checked": list(tpl.third_party_checked),
            "third_party_evidence": tpl.third_party_evidence,
            # true only when every cell read was compared with RMI's blank of this revision
            "checked_against_blank": not (tpl.unverified or tpl.third_party_checked),
        }
    else:
        imp = load_network(p, strict=strict)
        net = imp.network
        summary |= {
            "facilities": len(net.facilities),
            "lots": len(net.lots),
            "events": dict(sorted(imp.summary.used.items())),
            "countries": sorted({f.country for f in net.facilities}),
            **imp.summary.to_dict(),
        }
    if out is not None:
        write_epcis(net, out)
        summary["written"] = str(out)
    return json_ready(summary), net


def read_prices(path: str | Path | None) -> dict[str, float] | None:
    """Product -> USD/t from YAML (a mapping, or a rules file's ``reference_prices_usd_per_t``).

    Errors name the file, line and product; prices must be finite and >= 0.
    """
    if path is None:
        return None
    from critmin.yamlio import load_yaml

    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory; expected a YAML file of prices", where=str(p))
    doc = load_yaml(p, what="prices", unique_keys=True)
    data = doc.data
    loc: tuple[Any, ...] = ()
    if isinstance(data, dict) and "reference_prices_usd_per_t" in data:
        data = data["reference_prices_usd_per_t"]
        loc = ("reference_prices_usd_per_t",)
    if not isinstance(data, dict):
        raise doc.error(loc, "expected a mapping product -> USD per tonne")
    out: dict[str, float] = {}
    for k, v in data.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise doc.error((*loc, k), f"expected a price in USD per tonne, got {v!r}") from None
        if not math.isfinite(x) or x < 0:
            raise doc.error((*loc, k), f"expected a finite price >= 0 USD per tonne, got {v!r}")
        out[str(k)] = x
    return out


def check_tolerance(tol: float) -> float:
    """A relative mass-balance tolerance: finite and within [0, 1] (NaN or inf would hide
    every violation)."""
    if not math.isfinite(tol) or not 0 <= tol <= 1:
        raise InputError(f"--tol {tol!r} must be a finite number between 0 and 1")
    return tol


def check(
    network: str | Path,
    rules: str | Path,
    on: dt.date | None = None,
    tol: float = 1e-6,
    strict: bool = False,
) -> dict[str, Any]:
    """Mass balance + origin rules per lot; ``ok`` is False on a violation or a failed rule."""
    from critmin.trace.rules import evaluate, load_rules

    tol = check_tolerance(tol)
    day = on or dt.date.today()
    rs = load_rules(rules)
    report = evaluate(load_network(network, strict=strict).network, rs, on=day, tol=tol)
    df = report.table()
    # a network with no lot the rules apply to gives an empty table without columns
    shown = df[df["status"].isin(["pass", "fail"])] if "status" in df.columns else df
    return json_ready(
        {
            "on": day.isoformat(),
            "ok": report.ok,
            "violations": [v.model_dump() for v in report.violations],
            "results": [r.model_dump() for r in report.results],
            "treatment": report.treatment,
            "table": shown.to_dict(orient="records"),
        }
    )


def origin(
    network: str | Path,
    lots: list[str] | None = None,
    prices: str | Path | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Composition of lots by (stage, country), by mass and value; upstream mines/refineries."""
    net = load_network(network, strict=strict).network
    res = net.origin(prices_usd_per_t=read_prices(prices))
    df = res.table(lots or None)
    facs = {x: res.upstream_facilities(x).to_dict(orient="records") for x in lots or []}
    return json_ready(
        {
            "value_basis_missing_for": res.value_missing,
            "shares": df.to_dict(orient="records"),
            "upstream_facilities": facs,
        }
    )


def impact(
    network: str | Path,
    facility: str | None = None,
    country: str | None = None,
    stage: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Who is hit if a facility or a country stops: lots, products, buyers, with shares."""
    net = load_network(network, strict=strict).network
    return json_ready(net.impact(facility=facility, country=country, stage=stage).to_dict())
