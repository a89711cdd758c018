"""The HTML quality report: one self-contained page (inline CSS and SVG, nothing fetched).

Sections: the scoreboard (agencies side by side per dimension), scores over time, the worst
rules, every score by agency and dimension, and the failing records behind each score. Every
score links to its failing records.
"""

from __future__ import annotations

import re
from html import escape

from nexo.quality import charts
from nexo.quality.report import DIMENSIONS, ReportData
from nexo.quality.scoring import Score

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;
font-size:.85rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#c92a2a;font-weight:600}
.ok{color:#2b8a3e}.muted{color:#666;font-size:.85rem}.charts{display:flex;flex-wrap:wrap;gap:2rem}
ol.records{columns:3;font-family:ui-monospace,monospace;font-size:.8rem}
code{background:#f4f4f4;padding:0 .2rem}
"""


def anchor(*parts: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.\-]+", "-", "-".join(parts))


def _fmt(score: float | None, low: float = 0.98) -> str:
    if score is None:
        return '<span class="muted">n/a</span>'
    cls = "ok" if score >= low else "bad"
    return f'<span class="{cls}">{score:.2%}</span>'


def _scoreboard(data: ReportData) -> str:
    pooled = data.by_agency_dimension()
    overall = data.by_agency()
    series = {
        a: [pooled[(a, d)].score if (a, d) in pooled else None for d in DIMENSIONS]
        for a in data.agencies
    }
    links = {(a, d): f"#{anchor('dim', a, d)}" for a in data.agencies for d in DIMENSIONS}
    chart = charts.grouped_bars(DIMENSIONS, series, links, title="Agencies side by side")
    head = "".join(f"<th>{d}</th>" for d in DIMENSIONS)
    rows = []
    for a in data.agencies:
        cells = []
        for d in DIMENSIONS:
            p = pooled.get((a, d))
            if p is None:
                cells.append('<td class="num muted">—</td>')
                continue
            cells.append(
                f'<td class="num"><a href="#{anchor("dim", a, d)}">{_fmt(p.score)}</a><br>'
                f'<span class="muted">{p.failed:,} / {p.checked:,}</span></td>'
            )
        total = overall[(a,)]
        rows.append(
            f"<tr><th>{escape(a)}</th>{''.join(cells)}<td class='num'>{_fmt(total.score)}</td></tr>"
        )
    table = (
        f"<table><tr><th>agency</th>{head}<th>all</th></tr>{''.join(rows)}</table>"
        '<p class="muted">Score: share of checked records that pass; below it, failing / '
        "checked record-rule checks. Click a score for its rules and failing records.</p>"
    )
    return f"<h2 id='scoreboard'>Data-quality scoreboard</h2>{chart}{table}"


def _history(data: ReportData) -> str:
    runs = sorted({(h.started_at, h.run_id) for h in data.history})
    labels = [f"{t:%m-%d %H:%M}" for t, _ in runs]
    index = {rid: i for i, (_, rid) in enumerate(runs)}
    out = []
    for a in data.agencies:
        series: dict[str, list[float | None]] = {d: [None] * len(runs) for d in DIMENSIONS}
        for h in data.history:
            if h.agency == a and h.dimension in series:
                series[h.dimension][index[h.run_id]] = h.score
        series = {d: v for d, v in series.items() if any(x is not None for x in v)}
        out.append(charts.line_chart(labels, series, title=f"{a}: scores over time"))
    note = f'<p class="muted">{len(runs)} run(s), oldest first (UTC times).</p>'
    return f"<h2 id='history'>Scores over time</h2><div class='charts'>{''.join(out)}</div>{note}"


def _failure_link(s: Score) -> str:
    return f"#{anchor('fail', s.rule_id, s.agency, s.source)}"


def _worst(data: ReportData) -> str:
    items = [
        (f"{s.rule_id} · {s.agency}/{s.source}", s.score or 0.0, _failure_link(s))
        for s in data.worst(12)
    ]
    if not items:
        return "<h2 id='worst'>Worst rules</h2><p>No rule failed any record.</p>"
    return f"<h2 id='worst'>Worst rules</h2>{charts.hbars(items, title='Lowest scores')}"


def _rules(data: ReportData) -> str:
    out = ["<h2 id='rules'>Scores by agency and dimension</h2>"]
    for a in data.agencies:
        for d in DIMENSIONS:
            mine = [s for s in data.scores if s.agency == a and s.dimension == d]
            if not mine:
                continue
            rows = []
            for s in sorted(mine, key=lambda s: (s.score if s.score is not None else 2, s.rule_id)):
                meta = data.rules.get(s.rule_id, {})
                score = _fmt(s.score)
                if s.failed:
                    score = f'<a href="{_failure_link(s)}">{score}</a>'
                rows.append(
                    f"<tr><td><code>{escape(s.rule_id)}</code></td>"
                    f"<td>{escape(str(meta.get('description', '')))}</td>"
                    f"<td>{escape(s.severity)}</td><td>{escape(str(meta.get('owner', '')))}</td>"
                    f"<td>{escape(s.source)}</td><td class='num'>{s.checked:,}</td>"
                    f"<td class='num'>{s.failed:,}</td><td class='num'>{score}</td></tr>"
                )
            out.append(
                f"<h3 id='{anchor('dim', a, d)}'>{escape(a)} · {d}</h3><table><tr><th>rule</th>"
                "<th>what it means</th><th>severity</th><th>owner</th><th>source</th>"
                f"<th>checked</th><th>failed</th><th>score</th></tr>{''.join(rows)}</table>"
            )
    return "".join(out)


def _failures(data: ReportData) -> str:
    out = ["<h2 id='failures'>Failing records</h2>"]
    for s in data.scores:
        shown = data.failures.get((s.rule_id, s.agency, s.source))
        if not shown:
            continue
        items = "".join(
            f"<li>{escape(r)}" + (f' <span class="muted">{escape(d)}</span>' if d else "") + "</li>"
            for r, d in shown
        )
        more = ""
        if len(shown) < s.failed:
            cmd = (
                f"nexo quality failures --run {data.run.id} --rule {s.rule_id} "
                f"--agency {s.agency} --source {s.source}"
            )
            more = (
                f'<p class="muted">First {len(shown):,} of {s.failed:,}; all of them: '
                f"<code>{escape(cmd)}</code></p>"
            )
        out.append(
            f"<h3 id='{anchor('fail', s.rule_id, s.agency, s.source)}'>{escape(s.rule_id)} · "
            f"{escape(s.agency)}/{escape(s.source)} — {s.failed:,} record(s)</h3>"
            f"<ol class='records'>{items}</ol>{more}"
        )
    return "".join(out)


def render_html(data: ReportData) -> str:
    run = data.run
    header = (
        f"<h1>Nexo data-quality report</h1><p>Run <code>{run.id}</code> at "
        f"{run.started_at:%Y-%m-%d %H:%M} UTC · reference date {run.reference_date} · "
        f"{run.record_count:,} records · {len(data.rules)} rules · {run.failure_count:,} "
        "failing record-rule checks</p><p class='muted'>Record ids only: look a record up in "
        "its agency's system, or list what one record fails with "
        "<code>nexo quality failures --record ID --agency A --source S</code>.</p>"
    )
    body = header + _scoreboard(data) + _history(data) + _worst(data) + _rules(data)
    body += _failures(data)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Nexo data quality · {run.started_at:%Y-%m-%d}</title><style>{CSS}</style>"
        f"</head><body>{body}</body></html>\n"
    )
