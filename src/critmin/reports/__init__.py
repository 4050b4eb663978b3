"""critmin.reports: the self-contained HTML report of a run.

``build_report(series, summary, out_path)`` turns the run-results contract
(``series.parquet`` + ``summary.json`` of ``critmin run``) into ``report.html``: prices by
stage and region, unserved demand, Sankey flows, a side-by-side of the scenarios, any extra
instrument variables, the assumptions with their sources and the run metadata.
:mod:`critmin.reports.testing` makes contract-shaped synthetic runs.
"""

from critmin.reports.build import build_report

__all__ = ["build_report"]
