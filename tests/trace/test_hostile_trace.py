"""Hostile and broken input to ``critmin trace``: one clear line, exit code 2, quickly.

Each file is built here (issue: sparse and zip-bomb spreadsheets, deep JSON nesting, non-UTF-8
and directory inputs, non-finite tolerances, an empty results table).
"""

from __future__ import annotations

import json
import sys
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli import _register, app, main
from critmin.trace.templates import MAX_INFLATED_BYTES, write_template

EX = Path(__file__).parents[2] / "examples" / "trace"
RULES = str(EX / "rules.yaml")
runner = CliRunner()
_register()


def _refused(
    args: list[str],
    match: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    seconds: float = 10.0,
) -> str:
    """Run the real entry point (``critmin.cli.main``): exit 2, one line on stderr, fast."""
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main()
    assert time.perf_counter() - t0 < seconds
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert match in lines[0], lines[0]
    return lines[0]


def test_sparse_spreadsheet_is_refused_by_its_dimension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One cell at row 1,048,576 (the issue's 8 KB file took 89 s and 4.4 GB)."""
    p = tmp_path / "sparse.xlsx"
    write_template(p, "CMRT", "6.4", declaration={"company_name": "X"}, smelters=[])
    import openpyxl

    wb = openpyxl.load_workbook(p)
    wb["Smelter List"]["B1048576"] = "Tin"
    wb.save(p)
    assert p.stat().st_size < 50_000
    _refused(
        ["trace", "import", str(p)],
        "sheet 'Smelter List' declares 1,048,576 rows",
        monkeypatch,
        capsys,
    )


def test_zip_bomb_is_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "bomb.xlsx"
    write_template(p, "CMRT", "6.4", declaration={"company_name": "X"}, smelters=[])
    with (
        zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("xl/media/padding.bin", "w", force_zip64=True) as f,
    ):
        block = b"\0" * 2**20
        for _ in range(MAX_INFLATED_BYTES // 2**20 + 8):
            f.write(block)
    assert p.stat().st_size < 2_000_000
    _refused(["trace", "import", str(p)], "inflates to", monkeypatch, capsys)


def test_deep_json_nesting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "deep.jsonld"
    deep = "[" * 50_000 + "]" * 50_000
    p.write_text('{"type": "EPCISDocument", "epcisBody": {"eventList": [' + deep + "]}}")
    _refused(["trace", "import", str(p)], "nested deeper than 100 levels", monkeypatch, capsys)


def test_non_utf8_epcis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "latin1.jsonld"
    doc = json.loads((EX / "magnet_chain.jsonld").read_text(encoding="utf-8"))
    text = json.dumps(doc, ensure_ascii=False).replace("Mt Weld", "Mt Wéld")
    p.write_bytes(text.encode("latin-1"))
    _refused(["trace", "origin", str(p)], "not UTF-8 text (byte 0xe9", monkeypatch, capsys)


@pytest.mark.parametrize("cmd", ["import", "origin", "impact"])
def test_directory_given_as_a_file(
    tmp_path: Path, cmd: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--country", "AUS"] if cmd == "impact" else []
    _refused(["trace", cmd, str(tmp_path), *extra], "is a directory", monkeypatch, capsys)


@pytest.mark.parametrize("tol", ["nan", "inf", "-inf", "-1", "2"])
def test_non_finite_or_out_of_range_tolerance_is_refused(
    tol: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--tol nan/inf would hide every mass-balance violation (a compliance bypass)."""
    _refused(
        ["trace", "check", str(EX / "magnet_chain.jsonld"), "--rules", RULES, f"--tol={tol}"],
        "--tol",
        monkeypatch,
        capsys,
    )


def test_check_on_a_network_without_lots(tmp_path: Path) -> None:
    """An empty results table (GS1 documents with no lot): no KeyError 'status'."""
    p = tmp_path / "empty.jsonld"
    p.write_text(
        json.dumps(
            {
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2024-01-01T00:00:00Z",
                "epcisBody": {"eventList": []},
            }
        )
    )
    res = runner.invoke(app, ["trace", "check", str(p), "--rules", RULES, "--on", "2027-06-01"])
    assert res.exit_code == 0, res.output
    assert "no lot to check" in res.stdout


def test_price_file_errors_name_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "prices.yaml"
    p.write_text("ndpr_oxide: 110000\nrare_earth_concentrate: .nan\n", encoding="utf-8")
    line = _refused(
        ["trace", "origin", str(EX / "magnet_chain.jsonld"), "--prices", str(p)],
        "prices.yaml:2",
        monkeypatch,
        capsys,
    )
    assert "finite price" in line
    p.write_text("ndpr_oxide: 1\nndpr_oxide: 2\n", encoding="utf-8")
    _refused(
        ["trace", "origin", str(EX / "magnet_chain.jsonld"), "--prices", str(p)],
        "prices.yaml",
        monkeypatch,
        capsys,
    )


def test_strict_refuses_events_that_move_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((EX / "magnet_chain.jsonld").read_text(encoding="utf-8"))
    doc["epcisBody"]["eventList"].append(
        {
            "type": "ObjectEvent",
            "eventTime": "2027-05-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "epcList": ["urn:epc:id:sgtin:0614141.000001.1"],
        }
    )
    p = tmp_path / "with_inspection.jsonld"
    p.write_text(json.dumps(doc), encoding="utf-8")
    res = runner.invoke(app, ["trace", "import", str(p), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["events_not_used_for_origin"] == {
        "ObjectEvent OBSERVE inspecting: no material movement": 1
    }
    _refused(
        ["trace", "import", str(p), "--strict"],
        "eventList[6]: event not used for origin",
        monkeypatch,
        capsys,
    )


def test_rules_file_with_a_duplicate_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text("id: a\nid: b\nrules: []\n", encoding="utf-8")
    _refused(
        ["trace", "check", str(EX / "magnet_chain.jsonld"), "--rules", str(p)],
        "rules.yaml:2",
        monkeypatch,
        capsys,
    )
