"""critmin's GeoPolRisk agrees with the reference implementation, geopolrisk-py 2.0.1.

Slow: runs geopolrisk-py's own ``gprs_calc`` (its bundled database takes ~1.5 min to load) in
the separate ``.venv-gpr`` virtualenv (``make gpr``; ``make slow`` installs it) through
``benchmarks/compare_geopolrisk_py.py``, for 8 materials x JPN, DEU, USA and the EU-27 in 2023,
and computes critmin's value on the same inputs (World Mining Data production from the
installed package, BACI V202401b, WGI political stability, gross traded tonnes, the EU as
``--intra-bloc as-imports``).

Every case is within 2 %, or its difference is the one documented cause: BACI's exporter code
490 ("Other Asia, nes", i.e. Taiwan), which critmin scores with Taiwan's WGI and geopolrisk-py
with its 0.5 default; with that one exporter unscored the two agree to 0.1 %.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_geopolrisk_py_agreement(tmp_path: Path) -> None:
    if not (ROOT / ".venv-gpr" / ".installed").exists():
        pytest.fail("geopolrisk-py is not installed: run `make gpr` (or `make slow`)")
    out = tmp_path / "cmp.json"
    cmd = [sys.executable, "-m", "benchmarks.compare_geopolrisk_py", "--year", "2023"]
    proc = subprocess.run(
        [*cmd, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(out.read_text())
    rows = summary["rows"]
    countries = [r for r in rows if r["importer"] in ("JPN", "DEU", "USA")]
    materials = {r["material"] for r in countries}
    assert len(materials) >= 5
    assert len(countries) >= 15
    for r in rows:
        assert r["rel_diff"] is not None, r
        # with exporter 490/Taiwan unscored as in geopolrisk-py, the formulas agree exactly
        assert abs(r["rel_diff_taiwan_unscored"]) < 1e-5, r
        if abs(r["rel_diff"]) > 0.02:
            assert "Taiwan" in r["reason"]
    assert summary["within_2pct"] >= 15
    # the EU as a region agrees under geopolrisk-py's convention, and the other convention
    # (intra-EU imports dropped) gives a different, never lower, value
    for r in (x for x in rows if x["importer"] == "EU27"):
        assert r["critmin_same_data_as_domestic"] >= r["critmin_same_data"] - 1e-12
