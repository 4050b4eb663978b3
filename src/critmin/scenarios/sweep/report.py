"""``report.html`` of a sweep (filled in below)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from critmin.fileio import atomic_write_text
from critmin.scenarios.sweep.driver import SweepRun
from critmin.scenarios.sweep.study import LoadedStudy


def write_report(out: Path, loaded: LoadedStudy, run: SweepRun, summary: dict[str, Any]) -> Path:  # noqa: ARG001
    html = f"<!doctype html><title>{loaded.study.name}</title><pre>{len(run.table)}</pre>"
    return atomic_write_text(out / "report.html", html)
