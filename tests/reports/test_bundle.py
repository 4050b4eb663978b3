"""The report embeds a partial plotly.js bundle (scatter, bar, sankey): every figure the
report writes must use one of those trace types, and the default study's report stays
under 2 MB."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from critmin.cli import main
from critmin.reports.build import BUNDLED_TRACES, PLOTLY_BUNDLE, _template


def test_bundle_registers_the_trace_types_the_report_draws() -> None:
    """The bundle's plot schema names its traces; scatter, bar and sankey must be in it and
    the big ones of the full bundle (scattergl, mesh3d, choropleth) must not."""
    bundle = _template(PLOTLY_BUNDLE)
    assert bundle.startswith("/**\n* plotly.js v4.1.1")
    for trace in BUNDLED_TRACES:
        assert f'"{trace}"' in bundle or f"'{trace}'" in bundle or f"{trace}:" in bundle, trace
    assert len(bundle) < 1_500_000


def test_default_study_report_is_under_2_mb_and_uses_bundled_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from critmin.reports import figures

    drawn: list[dict] = []  # type: ignore[type-arg]
    real = figures.figure_div

    def spy(fig: dict, div_id: str, **kw: object) -> str:  # type: ignore[type-arg]
        drawn.append(fig)
        return real(fig, div_id, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(figures, "figure_div", spy)
    monkeypatch.setattr(sys, "argv", ["critmin", "run", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as info:
        main()
    capsys.readouterr()
    assert info.value.code in (0, None)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < 2_000_000
    types = {str(t.get("type", "scatter")) for fig in drawn for t in fig.get("data", [])}
    assert types, "no figure found"
    assert types <= BUNDLED_TRACES, types
    page = html.replace(_template(PLOTLY_BUNDLE), "")  # the page without plotly.js itself
    assert "{'" not in page  # no Python dict reprs in tables or text
    assert "the issue" not in page
    # the ban's magnet prices at the curves' ceiling are listed as such, not as results
    assert "Prices set by a demand ceiling" in page
    assert "curve ceiling" in page
