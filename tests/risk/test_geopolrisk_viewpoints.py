"""GeoPolRisk from any viewpoint: hand-computed two-exporter case under both intra-bloc
conventions, one importer, the withheld-production policy, and the CLI options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from critmin.catalog.risk import risk_record

ROOT = Path(__file__).resolve().parents[2]
NAN = float("nan")

# World production (t): CHN 600, AUS 300, AAA 100 -> shares .6/.3/.1, HHI 4,600.
PROD = pd.DataFrame(
    {
        "country_iso3": ["CHN", "AUS", "AAA"],
        "qty": [600.0, 300.0, 100.0],
        "unit": ["t"] * 3,
        "is_estimate": [False] * 3,
        "source": ["hand"] * 3,
    }
)
# WGI political stability -> instability (2.5 - w) / 5: CHN .6, AUS .3, BBB .2, AAA .5
WGI = pd.Series({"CHN": -0.5, "AUS": 1.0, "BBB": 1.5, "AAA": 0.0})
# Natural graphite (HS 250410, content 1.0): two exporters outside {AAA, BBB} and one flow
# inside it; a flow to a third country that no viewpoint here imports.
TRADE = pd.DataFrame(
    {
        "hs6": ["250410"] * 4,
        "exporter_iso3": ["CHN", "AUS", "BBB", "CHN"],
        "importer_iso3": ["AAA", "BBB", "AAA", "JPN"],
        "qty_t": [200.0, 100.0, 50.0, 999.0],
    }
)


def _record(members: set[str], intra: str, prod: pd.DataFrame = PROD) -> object:
    return risk_record(
        "graphite",
        "mine",
        2024,
        prod,
        political_stability=WGI,
        bloc="test",
        bloc_members=members,
        trade=TRADE,
        trade_year=2023,
        intra_bloc=intra,  # type: ignore[arg-type]
    )


def test_two_exporters_as_domestic() -> None:
    """Bloc {AAA, BBB}, intra-bloc trade as domestic (the bloc is one economy).

    Extra-bloc imports: CHN 200 t (g .6), AUS 100 t (g .3); BBB -> AAA 50 t is internal and
    dropped. P = AAA 100 + BBB 0 (not a listed producer) = 100.
    import term = (.6*200 + .3*100) / (100 + 300) = 150 / 400 = .375;
    score = HHI .46 x .375 = .1725.
    """
    r = _record({"AAA", "BBB"}, "as-domestic")
    assert r.import_term == pytest.approx(0.375)  # type: ignore[attr-defined]
    assert r.import_risk == pytest.approx(0.1725)  # type: ignore[attr-defined]
    assert "BBB not listed by USGS" not in r.import_risk_note  # type: ignore[attr-defined]


def test_two_exporters_as_imports() -> None:
    """Same bloc, geopolrisk-py's convention: BBB -> AAA 50 t stays in the denominator at
    zero risk. term = 150 / (100 + 350) = 1/3; score = .46 / 3 = .153333."""
    r = _record({"AAA", "BBB"}, "as-imports")
    assert r.import_term == pytest.approx(1 / 3, abs=1e-5)  # type: ignore[attr-defined]
    assert r.import_risk == pytest.approx(0.46 / 3, abs=1e-5)  # type: ignore[attr-defined]
    assert r.intra_bloc == "as-imports"  # type: ignore[attr-defined]


def test_one_importer_same_under_both_conventions() -> None:
    """AAA alone: imports CHN 200 (g .6) and BBB 50 (g .2, now a foreign exporter), P = 100.
    term = (120 + 10) / (100 + 250) = .371429; score = .46 x .371429 = .170857."""
    for intra in ("as-domestic", "as-imports"):
        r = _record({"AAA"}, intra)
        assert r.import_term == pytest.approx(130 / 350, abs=1e-5)  # type: ignore[attr-defined]
        assert r.import_risk == pytest.approx(0.46 * 130 / 350, abs=1e-5)  # type: ignore[attr-defined]


def test_withheld_domestic_production_gives_null_with_reason() -> None:
    """AAA's production withheld ("W", NaN): the importer's own production is unknown, so the
    import risk is null with the reason; it is not computed with AAA = 0 (that would give
    score .46*... with P = 0). The shares still use the reported rows."""
    prod = PROD.assign(qty=[600.0, 300.0, NAN])
    r = _record({"AAA"}, "as-domestic", prod)
    assert r.import_risk is None  # type: ignore[attr-defined]
    assert r.import_term is None  # type: ignore[attr-defined]
    assert "AAA withheld by USGS" in r.import_risk_note  # type: ignore[attr-defined]
    assert r.hhi is not None  # type: ignore[attr-defined]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", "risk", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_cli_viewpoints() -> None:
    """--importer, --bloc with a country code, --members and --intra-bloc through the CLI."""
    one = json.loads(_cli("cobalt", "--stage", "mine", "--importer", "JPN", "--json").stdout)
    same = json.loads(_cli("cobalt", "--stage", "mine", "--bloc", "JPN", "--json").stdout)
    assert one[0]["importer_members"] == ["JPN"]
    assert one[0]["import_risk"] == same[0]["import_risk"] is not None
    grp = json.loads(_cli("cobalt", "--stage", "mine", "--members", "jpn,KOR", "--json").stdout)
    assert grp[0]["bloc"] == "members:JPN,KOR"
    dom = json.loads(_cli("cobalt", "--stage", "mine", "--bloc", "eu27", "--json").stdout)[0]
    imp = json.loads(
        _cli(
            "cobalt", "--stage", "mine", "--bloc", "eu27", "--intra-bloc", "as-imports", "--json"
        ).stdout
    )[0]
    # kept intra-EU imports at zero risk can only dilute the import term
    assert imp["import_term"] < dom["import_term"]
    # U.S. lithium mine production is withheld by USGS: null with the reason
    us = json.loads(_cli("lithium", "--stage", "mine", "--importer", "USA", "--json").stdout)[0]
    assert us["import_risk"] is None
    assert "withheld" in us["import_risk_note"]


@pytest.mark.parametrize(
    "args",
    [
        ("--importer", "XXQ"),
        ("--bloc", "nowhere"),
        ("--intra-bloc", "sideways"),
        ("--importer", "USA", "--bloc", "eu27"),
        ("--members", ","),
    ],
)
def test_cli_bad_viewpoint_one_line_exit_2(args: tuple[str, ...]) -> None:
    proc = _cli("cobalt", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
