"""``report.html`` of a sweep: one self-contained page (plotly.js inlined once).

Sections: the study (inputs with their distributions and sources), the outcome
distributions per policy with P5/P50/P95 and their bootstrap intervals, the convergence of
the running mean (+-2 standard errors), Sobol'/Morris indices when the design has them, the
disruption events' probability x impact, and scenario discovery (feature scores, PRIM
boxes), then the failed samples.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from critmin.fileio import atomic_write_text
from critmin.scenarios.sweep.driver import SweepRun
from critmin.scenarios.sweep.study import LoadedStudy

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;
background:#f6f7f9}header{background:#1d3557;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:2px 0;opacity:.9;font-size:14px}
main{padding:8px 28px 40px;max-width:1200px}section{overflow-x:auto;background:#fff;
border-radius:8px;
padding:14px 18px;margin:16px 0;box-shadow:0 1px 3px #0002}
h2{font-size:17px;margin:4px 0 10px}table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left}th{background:#eef1f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#5b6673;font-size:13px}
header code{background:#ffffff22;color:#fff}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:8px}
code{background:#eef1f5;padding:1px 4px;border-radius:3px}
"""


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    if isinstance(x, int | float):
        for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= div:
                return f"{x / div:.4g}{suffix}"
        return f"{x:.4g}"
    return html.escape(str(x))


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)

    def cell(c: Any) -> str:
        num = isinstance(c, int | float) or c is None
        return f"<td class='n'>{_fmt(c)}</td>" if num else f"<td>{_fmt(c)}</td>"

    body = "".join("<tr>" + "".join(cell(c) for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _fig(fig: Any) -> str:
    import plotly.io as pio

    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320, template="plotly_white"
    )
    return str(
        pio.to_html(
            fig,
            include_plotlyjs=False,
            full_html=False,
            config={"responsive": True, "displaylogo": False},
        )
    )


#: above this many policies the report draws box plots per policy instead of overlaid histograms
MANY_POLICIES = 3


def _policy_label(levers: dict[str, Any]) -> str:
    if set(levers) == {"policy"}:
        return str(levers["policy"])
    return ", ".join(f"{k}={_fmt(v)}" for k, v in levers.items()) or "all samples"


def _distributions(
    run: SweepRun, summary: dict[str, Any], outcomes: list[str], weighted: bool
) -> str:
    """Histograms (probability-weighted for an ``enumerate`` design); with more than
    :data:`MANY_POLICIES` policies, box plots side by side (P5-P95 whiskers), one per policy."""
    import plotly.graph_objects as go

    ok = run.table[run.table["status"] == "ok"]
    figs = []
    if len(summary["policies"]) > MANY_POLICIES and not weighted:
        for name in outcomes:
            fig = go.Figure()
            for entry in summary["policies"]:
                st = entry["outcomes"][name]
                if not st.get("n"):
                    continue
                rows = ok[ok["policy_id"] == entry["policy_id"]][name]
                q1, q3 = np.percentile(rows.to_numpy(dtype=np.float64), [25, 75])
                fig.add_trace(
                    go.Box(
                        x=[f"P{entry['policy_id']}"],
                        lowerfence=[st["p5"]],
                        q1=[q1],
                        median=[st["p50"]],
                        q3=[q3],
                        upperfence=[st["p95"]],
                        mean=[st["mean"]],
                        name=f"P{entry['policy_id']}",
                        hovertext=_policy_label(entry["levers"]),
                        showlegend=False,
                    )
                )
            fig.update_layout(
                title=f"{name} (whiskers P5-P95, box quartiles)", xaxis_title="policy"
            )
            figs.append(_fig(fig))
        head = ["policy", *summary["policies"][0]["levers"]]
        rows_t = [[f"P{e['policy_id']}", *e["levers"].values()] for e in summary["policies"]]
        note = "<p class='note'>Per policy: whiskers P5-P95, box quartiles, line median.</p>"
        return _table(head, rows_t) + note + "<div class='grid'>" + "".join(figs) + "</div>"
    for name in outcomes:
        fig = go.Figure()
        for entry in summary["policies"]:
            rows = ok[ok["policy_id"] == entry["policy_id"]]
            extra: dict[str, Any] = (
                {"y": rows["weight"].to_numpy(dtype=np.float64), "histfunc": "sum"}
                if weighted
                else {"histnorm": "probability"}
            )
            fig.add_trace(
                go.Histogram(
                    x=rows[name].to_numpy(dtype=np.float64),
                    name=_policy_label(entry["levers"]),
                    opacity=0.6,
                    nbinsx=40,
                    **extra,
                )
            )
            st = entry["outcomes"][name]
            for q, dash in (("p5", "dot"), ("p50", "dash"), ("p95", "dot")):
                if st.get(q) is not None and len(summary["policies"]) == 1:
                    fig.add_vline(x=st[q], line_dash=dash, annotation_text=q.upper())
        ytitle = "probability" if weighted else "share of samples"
        fig.update_layout(title=name, barmode="overlay", xaxis_title=name, yaxis_title=ytitle)
        figs.append(_fig(fig))
    return "<div class='grid'>" + "".join(figs) + "</div>"


#: one colour per policy (Plotly's default colourway assigns one per trace, so a policy's band
#: and its line got different colours, and the next policy's band another)
POLICY_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _band(
    fig: Any,
    x: Any,
    low: Any,
    high: Any,
    line: Any,
    *,
    entry: dict[str, Any],
    names: tuple[str, str],
) -> None:
    """A shaded band (low..high) and a line, both in the policy's colour, one legend group."""
    import plotly.graph_objects as go

    band_name, line_name = names
    label = _policy_label(entry["levers"])
    color = POLICY_COLORS[int(entry.get("policy_id", 0)) % len(POLICY_COLORS)]
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    group = {"legendgroup": label}
    fig.add_trace(go.Scatter(x=x, y=high, mode="lines", line_width=0, showlegend=False, **group))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line_width=0,
            fill="tonexty",
            fillcolor=f"rgba({r},{g},{b},0.18)",
            name=f"{label} {band_name}",
            **group,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=line, mode="lines", line={"color": color}, name=f"{label} {line_name}", **group
        )
    )


def _monthly(summary: dict[str, Any], months: list[str]) -> str:
    """Fan charts of monthly outcomes: P5-P95 band, median, mean, per policy."""
    import plotly.graph_objects as go

    names = sorted({n for e in summary["policies"] for n in e.get("monthly", {})})
    figs = []
    for name in names:
        fig = go.Figure()
        for entry in summary["policies"]:
            band = entry.get("monthly", {}).get(name)
            if not band:
                continue
            x = months[: len(band["p50"])]
            _band(
                fig, x, band["p5"], band["p95"], band["p50"], entry=entry, names=("P5-P95", "P50")
            )
        fig.update_layout(title=f"{name} by month")
        figs.append(_fig(fig))
    return "<div class='grid'>" + "".join(figs) + "</div>"


def _percentile_table(summary: dict[str, Any], weighted: bool) -> str:
    rows = []
    many = len(summary["policies"]) > MANY_POLICIES
    for original in summary["policies"]:
        # with many policies the policy table above names the levers of each id
        entry = (
            {**original, "levers": {"policy": f"P{original['policy_id']}"}} if many else original
        )
        for name, st in entry["outcomes"].items():
            if weighted:
                row = [st.get(k) for k in ("n", "p5", "p50", "p95", "mean", "sd")]
                rows.append([_policy_label(entry["levers"]), name, *row])
                continue
            ci = [st.get(f"{q}_ci95") or [None, None] for q in ("p5", "p50", "p95")]
            rows.append(
                [
                    _policy_label(entry["levers"]),
                    name,
                    st.get("n"),
                    st.get("p5"),
                    f"{_fmt(ci[0][0])} - {_fmt(ci[0][1])}",
                    st.get("p50"),
                    f"{_fmt(ci[1][0])} - {_fmt(ci[1][1])}",
                    st.get("p95"),
                    f"{_fmt(ci[2][0])} - {_fmt(ci[2][1])}",
                    st.get("mean"),
                    None if st.get("rse") is None else f"{st['rse']:.2%}",
                ]
            )
    head = [
        "policy",
        "outcome",
        "n",
        "P5",
        "95% CI",
        "P50",
        "95% CI",
        "P95",
        "95% CI",
        "mean",
        "rse",
    ]
    if weighted:
        head = ["policy", "outcome", "cases", "P5", "P50", "P95", "expected", "sd"]
    return _table(head, rows)


def _convergence(summary: dict[str, Any], outcomes: list[str]) -> str:
    import plotly.graph_objects as go

    figs = []
    for name in outcomes:
        fig = go.Figure()
        for entry in summary["policies"][:MANY_POLICIES]:
            conv = entry["outcomes"][name].get("convergence")
            if not conv or not conv["n"]:
                continue
            n, m, se = (np.asarray(conv[k], dtype=np.float64) for k in ("n", "mean", "se"))
            _band(fig, n, m - 2 * se, m + 2 * se, m, entry=entry, names=("+-2 se", "mean"))
        fig.update_layout(title=f"running mean: {name}", xaxis_title="samples (design order)")
        figs.append(_fig(fig))
    return "<div class='grid'>" + "".join(figs) + "</div>"


def _sensitivity(summary: dict[str, Any]) -> str:
    import plotly.graph_objects as go

    sens = summary.get("sensitivity") or {}
    if not sens:
        return (
            "<p class='note'>The design is not a Sobol' or Morris design: no sensitivity "
            "indices (use <code>sampler: {kind: sobol}</code> or <code>morris</code>).</p>"
        )
    names = sens["inputs"]
    keys = ("S1", "ST") if sens["method"] == "sobol" else ("mu_star", "sigma")
    figs = []
    for entry in sens["policies"]:
        for outcome, idx in entry["outcomes"].items():
            if "skipped" in idx:
                continue
            fig = go.Figure(
                [
                    go.Bar(
                        x=names,
                        y=idx[k],
                        name=k,
                        error_y={"type": "data", "array": idx.get(f"{k}_conf")},
                    )
                    for k in keys
                ]
            )
            fig.update_layout(
                title=f"{sens['method']}: {outcome} (policy {entry['policy_id']})", barmode="group"
            )
            figs.append(_fig(fig))
    return "<div class='grid'>" + "".join(figs) + "</div>"


def _disruptions(summary: dict[str, Any]) -> str:
    parts = []
    for entry in summary["policies"]:
        imp = entry.get("disruptions")
        if not imp or "events" not in imp:
            continue
        names = list(imp["expected_impact"])
        rows: list[list[Any]] = [
            [
                ev["event"],
                ev["probability"],
                *[f"{_fmt(ev[n]['impact'])} (p x {_fmt(ev[n]['p_x_impact'])})" for n in names],
            ]
            for ev in imp["events"]
        ]
        total = sum(ev["probability"] for ev in imp["events"])
        rows.append(["expected impact", total, *[imp["expected_impact"][n] for n in names]])
        head = ["event", "p / yr", *[n.replace("_", " ") for n in names]]
        parts.append(
            "<p class='note'>Each cell: impact = outcome - outcome without disruption "
            "(probability x impact); the last row sums probability x impact over the events.</p>"
            + _table(head, rows)
        )
    return "".join(parts)


def _rules(cmp: dict[str, Any]) -> str:
    def diff(d: dict[str, Any] | None) -> str:
        if not d or not d.get("n"):
            return "-"
        lo, hi = _fmt(d["ci95_low_usd"]), _fmt(d["ci95_high_usd"])
        return f"{_fmt(d['mean_usd'])} [{lo}, {hi}]"

    rows = [
        [
            e["rule"],
            e["pairs"],
            e["mean_cost_usd"],
            diff(e.get("vs_optimal")),
            diff(e.get("vs_no_stockpile")),
            "-"
            if e.get("share_cheaper_than_optimal") is None
            else f"{e['share_cheaper_than_optimal']:.0%}",
            e.get("dp_expected_cost_usd"),
        ]
        for e in cmp["rules"]
    ]
    st = cmp["stock"]
    note = (
        f"<p class='note'>Each rule of the policy file <code>{html.escape(cmp['policy_file'])}"
        f"</code> ({html.escape(st['region'])} {html.escape(st['product'])}, levels "
        f"{', '.join(_fmt(x) for x in cmp['levels_t'])} t) played on the same sampled paths of "
        f"market states ({', '.join(html.escape(s) for s in cmp['states'])}) from "
        f"{html.escape(cmp['year_start'])} through the whole monthly market. Cost: discounted "
        "usd over the path (the region's buyers' surplus lost, the stock's purchases less its "
        "releases at the node's price, storage; the stock left at the end credited at its book "
        "value). The differences are paired by sample (negative: cheaper) with 95 % bootstrap "
        "intervals; the DP column is the policy file's own expected cost (one market year per "
        "state, relative to the no-change year), for the ranking, not the level.</p>"
    )
    head = [
        "rule",
        "pairs",
        "mean cost",
        "vs optimal",
        "vs no stock",
        "cheaper than optimal",
        "DP expected cost",
    ]
    return note + _table(head, rows)


def _discovery(disc: dict[str, Any]) -> str:
    import plotly.graph_objects as go

    if "skipped" in disc:
        return f"<p class='note'>{html.escape(disc['skipped'])}</p>"
    out = []
    if not disc["ema_workbench"]:
        out.append(
            "<p class='note'>PRIM boxes and extra-trees scores need the optional "
            "<code>discovery</code> extra (EMA Workbench 2.5.3): <code>make discovery</code>. "
            "Shown: regional-sensitivity (KS) and Spearman scores.</p>"
        )
    skipped = [(o, r["skipped"]) for o, r in disc["outcomes"].items() if "skipped" in r]
    for o, why in skipped:
        out.append(f"<p class='note'>{html.escape(o)}: {html.escape(why)}</p>")
    outcomes = [o for o in disc["outcomes"] if "skipped" not in disc["outcomes"][o]]
    if not outcomes:
        return "".join(out)
    inputs = list(disc["outcomes"][outcomes[0]]["features"]["inputs"])
    z = [[disc["outcomes"][o]["features"]["inputs"][i]["ks"] for i in inputs] for o in outcomes]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=inputs, y=outcomes, colorscale="Blues", zmin=0, zmax=1, texttemplate="%{z:.2f}"
        )
    )
    fig.update_layout(title="feature scores: KS distance, worst 10 % vs the rest")
    out.append(_fig(fig))
    rows = []
    for o in outcomes:
        box = disc["outcomes"][o]["prim"]
        if "skipped" in box:
            rows.append([o, box["skipped"], None, None, None])
            continue
        lim = (
            "; ".join(
                f"{k} in {{{', '.join(v['in'])}}}"
                if "in" in v
                else f"{_fmt(v['min'])} <= {k} <= {_fmt(v['max'])}"
                for k, v in box["limits"].items()
            )
            or "(no restriction)"
        )
        rows.append([o, lim, box["coverage"], box["density"], box["cases"]])
    out.append("<h3>PRIM boxes (cases of interest: outcome at or above its P90)</h3>")
    out.append(_table(["outcome", "box", "coverage", "density", "cases"], rows))
    return "".join(out)


def write_report(out: Path, loaded: LoadedStudy, run: SweepRun, summary: dict[str, Any]) -> Path:
    """Write ``out/report.html`` (a temporary file renamed into place)."""
    import plotly.offline

    study = loaded.study
    weighted = study.sampler.kind == "enumerate"
    outcomes = [o.name for o in study.outcomes if not o.monthly]
    inputs_rows = [
        [
            name,
            ", ".join(info["paths"]),
            info["op"],
            json.dumps({k: v for k, v in info["distribution"].items() if v is not None}),
            (info.get("source") or "") + (" (estimate)" if info.get("estimate") else ""),
        ]
        for name, info in summary["inputs"].items()
    ]
    lever_rows = [
        [n, lv.get("path"), lv.get("values") or lv.get("distribution")]
        for n, lv in summary["levers"].items()
    ]
    fails = [[f["sample_id"], f["error"]] for f in summary["failed"]]
    t = summary["timing"]
    sections = [
        (
            "Inputs",
            _table(["input", "path", "op", "distribution", "source"], inputs_rows)
            + (_table(["lever", "path", "values"], lever_rows) if lever_rows else ""),
        ),
        ("Outcome distributions", _distributions(run, summary, outcomes, weighted)),
        (
            "Percentiles (95 % bootstrap intervals)"
            if study.sampler.kind != "enumerate"
            else "Probability-weighted percentiles",
            _percentile_table(summary, weighted),
        ),
    ]
    if any(o.monthly for o in study.outcomes):
        from critmin.scenarios.spec import Months
        from critmin.scenarios.sweep.evaluate import base_data

        months = Months(**base_data(loaded).get("months", {})).labels()
        sections.append(("Monthly outcomes", _monthly(summary, months)))
    if study.sampler.kind != "enumerate":
        sections.append(("Convergence of the running mean", _convergence(summary, outcomes)))
    sections.append(("Sensitivity indices", _sensitivity(summary)))
    if summary.get("stockpile_rules"):
        sections.append(("Stockpile rules on the same samples", _rules(summary["stockpile_rules"])))
    disr = _disruptions(summary)
    if disr:
        sections.append(("Disruptions: probability x impact", disr))
    sections.append(
        ("Scenario discovery", _discovery(summary.get("discovery") or {"skipped": "not computed"}))
    )
    if fails:
        sections.append(("Failed samples", _table(["sample", "error"], fails)))
    body = "".join(f"<section><h2>{html.escape(h)}</h2>{c}</section>" for h, c in sections)
    header = (
        f"<header><h1>Sweep: {html.escape(study.name)}</h1>"
        f"<p>{html.escape(study.description)}</p>"
        f"<p>base <code>{html.escape(study.base)}</code> - {study.sampler.kind} design, "
        f"seed {study.seed} - {summary['samples']} samples ({summary['samples_failed']} failed)"
        f" - {summary['batches']['computed']} batches computed, "
        f"{summary['batches']['reused']} reused - "
        f"wall {t['wall_s']:.1f} s "
        + ("in the calling process" if run.in_process else f"on {t['workers']} worker(s)")
        + f", engine {t['engine_s']:.1f} s, "
        f"HiGHS {t['highs_run_s']:.1f} s - "
        f"critmin {html.escape(summary['critmin_version'])}</p></header>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>critmin sweep - {html.escape(study.name)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head>"
        f"<body>{header}<main>{body}</main></body></html>\n"
    )
    return atomic_write_text(out / "report.html", page)
