"""Study files: validated like every other format (one line: file, line, field; exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.errors import InputError
from critmin.scenarios.sweep import load_study_file

from .conftest import SMALL, critmin


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SMALL.read_text("utf-8")
    assert old in text
    return _write(tmp_path, text.replace(old, new))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_small_study_loads() -> None:
    loaded = load_study_file(SMALL)
    assert [u.name for u in loaded.study.uncertainties] == [
        "chn_mines_scale",
        "ban_length_months",
        "demand_growth",
        "extra",
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "supply[region=CHN]",
            "supply[region=CHX]",
            "supply[region=CHX]",
            "matches nothing; region values there: ['AUS', 'CHN'",
        ),
        (
            "{kind: triangular, low: 0.7",
            "{kind: triangle, low: 0.7",
            "kind: triangle",
            "triangle",
        ),
        ("choices: [none, mmr_outage]", "choices: [none, mmr_outages]", "choices:", "mmr_outage"),
        ("region: USA, reduce: max", "region: USX, reduce: max", "region: USX", "unknown region"),
        (
            'growth_per_year"\n',
            'name"\n',
            '.name"',
            "is 'CHN critical', not a number",
        ),
    ],
)
def test_bad_study_names_file_line_field(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(InputError) as info:
        load_study_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}:{_line_of(path, needle)} field ")
    assert message in text


def test_cli_bad_study_is_one_line_exit_2(tmp_path: Path) -> None:
    path = _broken(tmp_path, "high: 1.1}", "high: 0.5}")
    res = critmin("sweep", str(path), "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"{path}:{_line_of(path, 'high: 0.5')} field 'uncertainties[0].distribution" in lines[0]
    assert "low <= mode <= high" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_month_field_needs_add(tmp_path: Path) -> None:
    path = _broken(tmp_path, "shocks[kind=export_ban].length_months", "shocks[0].start")
    with pytest.raises(InputError, match=r"is a month \(2026-07\); use op 'add'"):
        load_study_file(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_study.yaml"], "no such study file 'no_such_study.yaml'"),
        (
            [str(SMALL), "--samples", "0"],
            "--samples 0: expected a whole number from 1 to 1,000,000",
        ),
        (
            [str(SMALL), "--workers", "-1"],
            "--workers -1: expected a whole number from 0 (in this process) to 64",
        ),
        (
            [str(SMALL), "--workers", "0", "--scheduler", "tcp://127.0.0.1:8786"],
            "--workers 0 runs the samples in this process: give it without --scheduler",
        ),
        ([str(SMALL), "--export-sample", "99"], "sample id 99 is outside 0..11"),
    ],
)
def test_cli_bad_arguments_are_one_line(args: list[str], message: str) -> None:
    res = critmin("sweep", *args)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"critmin: error: {res.stderr.split('error: ', 1)[1].strip()}"
    ]
    assert message in res.stderr


def test_study_that_is_a_list_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "- just\n- a list\n")
    with pytest.raises(InputError, match=r"study.yaml:1: expected a study: a mapping"):
        load_study_file(path)
