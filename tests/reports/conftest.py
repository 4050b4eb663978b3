"""Fixtures: one synthetic run and its report, built once per module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from critmin.reports import build_report
from critmin.reports.testing import synthetic_run


@pytest.fixture(scope="module")
def run() -> tuple[pd.DataFrame, dict[str, object]]:
    return synthetic_run(3)


@pytest.fixture(scope="module")
def report_html(
    run: tuple[pd.DataFrame, dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> str:
    series, summary = run
    out = build_report(series, summary, tmp_path_factory.mktemp("report") / "report.html")
    return Path(out).read_text(encoding="utf-8")
