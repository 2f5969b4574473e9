"""Self-contained HTML reports (no network: CSS inline, plots as inline SVG).

``render_report(results, scores)`` renders one run; ``render_comparison(comparison)`` two.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from structurer.eval.compare import CompareRow, Comparison
from structurer.eval.metrics import ECE_BINS
from structurer.eval.results import EvalResults, GroupStats, metric_direction
from structurer.eval.scoring import FieldScore

# ---------------------------------------------------------------- formatting


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def _val(value: Any, limit: int = 80) -> str:
    text = (
        "null"
        if value is None
        else json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str)
        else value
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hue(value: float | None) -> str:
    """Red (0) .. amber .. green (1) for accuracy-like values."""
    if value is None:
        return "#c8ccd2"
    hue = int(120 * max(0.0, min(1.0, (value - 0.5) / 0.5)))
    return f"hsl({hue}, 62%, 45%)"


# ---------------------------------------------------------------- SVG plots

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 440, 320, 48, 40, 16, 16


def _axes(x_label: str, y_label: str) -> list[str]:
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    out = [
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="#fafbfc" stroke="#d0d5dc"/>'
    ]
    for i in range(6):
        t = i / 5
        x, y = PAD_L + t * pw, PAD_T + ph - t * ph
        out.append(
            f'<line x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + ph}" stroke="#eceff3"/>'
        )
        out.append(
            f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{PAD_L + pw}" y2="{y:.1f}" stroke="#eceff3"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{PAD_T + ph + 16}" class="tick" text-anchor="middle">{t:.1f}</text>'
        )
        out.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{t:.1f}</text>'
        )
    out.append(
        f'<text x="{PAD_L + pw / 2}" y="{H - 6}" class="axis" text-anchor="middle">{x_label}</text>'
    )
    out.append(
        f'<text x="14" y="{PAD_T + ph / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 14 {PAD_T + ph / 2})">{y_label}</text>'
    )
    return out


def _xy(x: float, y: float) -> tuple[float, float]:
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    return PAD_L + x * pw, PAD_T + ph - y * ph


def _svg(body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{title}">'
        + "".join(body)
        + "</svg>"
    )


def _empty_plot(message: str) -> Markup:
    return Markup(f'<div class="empty-plot">{message}</div>')


def reliability_svg(bins: Sequence[dict[str, float]] | None) -> Markup:
    """Bars: accuracy per confidence bin (width = bin); dots: mean confidence; diagonal."""
    if not bins:
        return _empty_plot("no confidences in this run")
    body = _axes("confidence", "accuracy")
    x0, y0 = _xy(0, 0)
    x1, y1 = _xy(1, 1)
    body.append(
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#9aa3ad" stroke-dasharray="4 4"/>'
    )
    max_n = max(b["n"] for b in bins)
    for b in bins:
        bx0, by = _xy(b["lo"], b["accuracy"])
        bx1, base = _xy(b["hi"], 0)
        gap = 1.5
        body.append(
            f'<rect x="{bx0 + gap:.1f}" y="{by:.1f}" width="{bx1 - bx0 - 2 * gap:.1f}" height="{base - by:.1f}" '
            f'fill="{_hue(b["accuracy"])}" fill-opacity="{0.35 + 0.6 * b["n"] / max_n:.2f}">'
            f"<title>{b['lo']:.1f}–{b['hi']:.1f}: n={int(b['n'])}, accuracy {b['accuracy']:.2f}, "
            f"confidence {b['confidence']:.2f}</title></rect>"
        )
        cx, cy = _xy(b["confidence"], b["accuracy"])
        body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="#1f2d3d"/>')
        tx, _ = _xy((b["lo"] + b["hi"]) / 2, 0)
        body.append(
            f'<text x="{tx:.1f}" y="{by - 4:.1f}" class="count" text-anchor="middle">{int(b["n"])}</text>'
        )
    return _svg(body, "reliability diagram")


def risk_coverage_svg(
    points: Sequence[dict[str, float]] | None, max_risk: float | None = None
) -> Markup:
    """Error rate among the kept fields as the confidence threshold is lowered."""
    if not points:
        return _empty_plot("no confidences in this run")
    top = max_risk or max(0.05, min(1.0, max(p["risk"] for p in points) * 1.15))
    body = _axes(
        "coverage (share of fields kept, most confident first)",
        f"risk (error rate, axis ×{top:.2f})",
    )
    coords = [_xy(0, points[0]["risk"] / top)] + [
        _xy(p["coverage"], p["risk"] / top) for p in points
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    bx, by = _xy(1, 0)
    sx, _ = _xy(0, 0)
    body.append(
        f'<path d="{path} L{bx:.1f},{by:.1f} L{sx:.1f},{by:.1f} Z" fill="#3b82f6" fill-opacity="0.12"/>'
    )
    body.append(f'<path d="{path}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    last = points[-1]
    lx, ly = _xy(1, last["risk"] / top)
    body.append(f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3.5" fill="#2563eb"/>')
    body.append(
        f'<text x="{lx - 6:.1f}" y="{ly - 8:.1f}" class="count" text-anchor="end">all fields: '
        f"{100 * last['risk']:.1f}% wrong</text>"
    )
    return _svg(body, "risk-coverage curve")


# ---------------------------------------------------------------- tables


def _path_rows(scores: Sequence[FieldScore], limit: int = 25) -> list[dict[str, Any]]:
    """The worst leaf paths across documents (most wrong first)."""
    by_path: dict[str, list[FieldScore]] = defaultdict(list)
    for s in scores:
        if not s.both_null:
            by_path[s.path].append(s)
    rows: list[dict[str, Any]] = []
    for path, items in by_path.items():
        wrong = [s for s in items if not s.correct]
        if not wrong:
            continue
        rows.append(
            {
                "path": path,
                "group": items[0].group,
                "n": len(items),
                "wrong": len(wrong),
                "accuracy": 1 - len(wrong) / len(items),
                "example": wrong[0],
            }
        )
    rows.sort(key=lambda r: (-r["wrong"], r["accuracy"], r["path"]))
    return rows[:limit]


def _invented(scores: Sequence[FieldScore], limit: int = 50) -> list[FieldScore]:
    """Predicted values the document's text does not contain, auto-accepted ones first."""
    found = [s for s in scores if s.invented]
    return sorted(found, key=lambda s: (s.status != "auto", s.doc, s.path))[:limit]


def _confident_errors(scores: Sequence[FieldScore], limit: int = 20) -> list[FieldScore]:
    wrong = [s for s in scores if not s.correct and s.confidence is not None]
    return sorted(wrong, key=lambda s: -(s.confidence or 0.0))[:limit]


HEADLINE = [
    ("accuracy", "Accuracy", "fields where gold or prediction is set", "pct"),
    ("accuracy_nonzero", "Non-zero accuracy", "gold is a non-zero value", "pct"),
    ("abstention_accuracy", "Abstention", "gold null, prediction null", "pct"),
    ("list_f1_micro", "List F1", "problems / improvements items", "pct"),
    ("auroc", "AUROC", "confidence separates right from wrong", "num"),
    ("ece", f"ECE ({ECE_BINS} bins)", "lower is better", "num"),
    ("errors_caught_at_10pct", "Errors caught @10%", "least-confident 10% reviewed", "pct"),
    ("seconds_per_doc", "Seconds / doc", "wall time", "num1"),
]


def _cards(metrics: dict[str, Any]) -> list[dict[str, str]]:
    cards = []
    for key, label, hint, fmt in HEADLINE:
        value = metrics.get(key)
        text = _pct(value) if fmt == "pct" else _num(value, 1 if fmt == "num1" else 3)
        colour = _hue(value) if fmt == "pct" or key == "auroc" else "#1f2d3d"
        cards.append(
            {
                "label": label,
                "value": text,
                "hint": hint,
                "colour": colour if value is not None else "#9aa3ad",
            }
        )
    return cards


# ---------------------------------------------------------------- templates

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 -apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
color:#1f2d3d;background:#f3f5f8;margin:0}main{max-width:1120px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:34px 0 10px;padding-bottom:6px;border-bottom:2px solid #e1e5ea}
.sub{color:#5b6877;font-size:13px}.chips span{display:inline-block;background:#e6ebf2;border-radius:12px;padding:2px 10px;
margin:6px 6px 0 0;font-size:12px}.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-top:20px}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card .v{font-size:28px;font-weight:650;letter-spacing:-.5px}.card .l{font-weight:600;font-size:13px}
.card .h{color:#7a8694;font-size:12px}.panel{background:#fff;border-radius:10px;padding:14px 16px;
box-shadow:0 1px 2px rgba(0,0,0,.06)}.two{display:grid;grid-template-columns:1fr 1fr;gap:14px}
table{border-collapse:collapse;width:100%;font-size:13px}th{text-align:left;color:#5b6877;font-weight:600;
border-bottom:1px solid #dfe3e8;padding:6px 8px;white-space:nowrap}td{border-bottom:1px solid #f0f2f5;padding:5px 8px;
vertical-align:top}td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}.bar{position:relative;height:14px;
background:#eef1f5;border-radius:7px;min-width:120px;overflow:hidden}.bar i{position:absolute;left:0;top:0;bottom:0;
border-radius:7px}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.dim{color:#8a95a3}
.bad{color:#c0392b}.good{color:#1e8e3e}.pill{display:inline-block;border-radius:9px;padding:0 7px;font-size:11px;
background:#eef1f5;color:#5b6877}svg .tick{font-size:10px;fill:#7a8694}svg .axis{font-size:11px;fill:#5b6877}
svg .count{font-size:10px;fill:#1f2d3d}.empty-plot{height:200px;display:flex;align-items:center;justify-content:center;
color:#8a95a3;background:#fafbfc;border-radius:8px}.cap{color:#7a8694;font-size:12px;margin-top:4px}
.div{position:relative;height:14px;background:#eef1f5;border-radius:3px;min-width:140px}.div i{position:absolute;top:0;
bottom:0}.nw{white-space:nowrap}tr.sec td{font-weight:600}tr.grp td{color:#3d4a59}
tr.grp td:first-child{padding-left:22px}.div b{position:absolute;left:50%;top:-2px;bottom:-2px;width:1px;background:#5b6877}
"""

_BAR = (
    '{% macro bar(v) %}<div class="bar"><i style="width:{{ 0 if v is none else (100*v)|round(1) }}%;'
    'background:{{ hue(v) }}"></i></div>{% endmacro %}'
)

_GROUP_TABLE = """
{% macro group_table(rows) %}
<table><tr><th>section / group</th><th class="r">fields</th><th class="r">accuracy</th><th></th>
<th class="r">non-zero accuracy</th><th class="r">abstention</th></tr>
{% for row in rows %}{% set g = row.stats %}<tr class="{{ 'sec' if row.level == 0 else 'grp' }}">
<td class="mono">{% if row.level %}<span class="dim">└</span> {% endif %}{{ row.name }}</td><td class="r">{{ g.n }}</td>
<td class="r">{{ pct(g.accuracy) }}</td><td style="width:30%">{{ bar(g.accuracy) }}</td>
<td class="r nw">{{ pct(g.accuracy_nonzero) }} <span class="dim">of {{ g.n_nonzero }}</span></td>
<td class="r nw">{{ pct(g.abstention_accuracy) }} <span class="dim">of {{ g.n_gold_null }}</span></td></tr>{% endfor %}
</table>{% endmacro %}
"""

RUN_TEMPLATE = (
    _BAR
    + _GROUP_TABLE
    + """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>eval · {{ r.run_name }}</title><style>{{ css }}</style></head><body><main>
<h1>{{ r.run_name }}</h1>
<div class="sub">{{ r.created.strftime('%Y-%m-%d %H:%M UTC') }} · {{ r.n_docs }} documents · {{ r.n_fields }} fields
 · commit <span class="mono">{{ (r.git_commit or 'unknown')[:12] }}</span>
 {% if r.failures %}· <span class="bad">{{ r.failures|length }} failed</span>{% endif %}</div>
<div class="chips">{% for k, v in r.settings.items() %}<span><b>{{ k }}</b> {{ v }}</span>{% endfor %}</div>
<div class="cards">{% for c in cards %}<div class="card"><div class="l">{{ c.label }}</div>
<div class="v" style="color:{{ c.colour }}">{{ c.value }}</div><div class="h">{{ c.hint }}</div></div>{% endfor %}</div>

<h2>By section and group</h2>
<div class="panel">{{ group_table(section_rows) }}</div>

<h2>Confidence</h2>
<div class="two"><div class="panel">{{ reliability }}<div class="cap">Reliability: bar height = share correct in each
confidence bin (count above), dot = mean confidence; on the dashed line = calibrated.
AUROC {{ num(m.auroc) }} · ECE {{ num(m.ece) }} · Brier {{ num(m.brier) }}</div></div>
<div class="panel">{{ risk }}<div class="cap">Risk-coverage: keep the most confident fields; the curve is the error rate
among those kept. AURC {{ num(m.aurc) }}. Least-confident 5/10/20% sent to review catch
{{ pct(m.errors_caught_at_5pct) }} / {{ pct(m.errors_caught_at_10pct) }} / {{ pct(m.errors_caught_at_20pct) }} of errors.</div></div></div>

<h2>Worst fields</h2>
<div class="panel">{% if worst %}<table><tr><th>path</th><th>group</th><th class="r">wrong</th><th class="r">of</th>
<th>accuracy</th><th>example (doc: gold → prediction)</th></tr>
{% for w in worst %}<tr><td class="mono">{{ w.path }}</td><td><span class="pill">{{ w.group }}</span></td>
<td class="r bad">{{ w.wrong }}</td><td class="r">{{ w.n }}</td><td style="width:18%">{{ bar(w.accuracy) }}</td>
<td><span class="dim">{{ w.example.doc }}:</span> {{ val(w.example.gold) }} → <b>{{ val(w.example.pred) }}</b></td></tr>
{% endfor %}</table>{% else %}<div class="dim">No wrong fields.</div>{% endif %}</div>

{% if confident %}<h2>Confident mistakes</h2><div class="panel"><table><tr><th class="r">confidence</th><th>doc</th>
<th>path</th><th>gold</th><th>prediction</th><th>status</th></tr>
{% for s in confident %}<tr><td class="r">{{ num(s.confidence, 2) }}</td><td class="dim">{{ s.doc }}</td>
<td class="mono">{{ s.path }}</td><td>{{ val(s.gold) }}</td><td class="bad">{{ val(s.pred) }}</td>
<td>{{ s.status or '' }}</td></tr>{% endfor %}</table></div>{% endif %}

<h2>Invented values</h2>
<div class="panel"><div class="cap">Predicted non-zero numbers, dates and strings that the document's text does not
contain (as digits, Chinese numerals or a printed date): {{ pct(m.invented_values) }} of those checked
({{ num(m.invented_values_n) }}), {{ pct(m.invented_values_auto) }} among auto-accepted fields.</div>
{% if invented %}<table><tr><th>doc</th><th>path</th><th>prediction</th><th>gold</th><th>status</th>
<th class="r">confidence</th></tr>{% for s in invented %}<tr><td class="dim">{{ s.doc }}</td>
<td class="mono">{{ s.path }}</td><td class="bad">{{ val(s.pred) }}</td><td>{{ val(s.gold) }}</td>
<td>{{ s.status or '' }}</td><td class="r">{{ num(s.confidence, 2) }}</td></tr>{% endfor %}</table>
{% elif m.invented_values_n is not number %}<div class="dim">Not measured (the eval had no document texts).</div>
{% else %}<div class="dim">None.</div>{% endif %}</div>

<h2>Documents</h2>
<div class="panel"><table><tr><th>doc</th><th class="r">fields</th><th class="r">accuracy</th><th></th>
<th class="r">tokens in/out</th><th class="r">seconds</th><th class="r">retries</th><th>problems</th></tr>
{% for d in r.docs %}<tr><td>{{ d.doc }}</td><td class="r">{{ d.n }}</td><td class="r">{{ pct(d.accuracy) }}</td>
<td style="width:20%">{{ bar(d.accuracy) }}</td><td class="r">{{ num(d.tokens_in) }} / {{ num(d.tokens_out) }}</td>
<td class="r">{{ num(d.seconds, 1) }}</td><td class="r">{{ d.retries }}</td>
<td>{% if d.error %}<span class="bad">{{ d.error }}</span>{% elif d.validation_failed %}<span class="bad">validation failed
</span>{% elif d.wrong_paths %}<span class="dim mono">{{ d.wrong_paths[:4]|join(', ') }}{% if d.wrong_paths|length > 4 %}
 +{{ d.wrong_paths|length - 4 }}{% endif %}</span>{% endif %}</td></tr>{% endfor %}</table></div>

<h2>All metrics</h2>
<div class="panel"><table>{% for k, v in r.metrics.items() %}<tr><td class="mono">{{ k }}</td>
<td class="r">{{ num(v) }}</td></tr>{% endfor %}</table></div>
</main></body></html>"""
)

COMPARE_TEMPLATE = """{% macro dbar(d) %}<div class="div"><b></b>{% if d is not none %}{% set w = [50, (100*d|abs*5)]|min %}
<i style="{% if d >= 0 %}left:50%{% else %}right:50%{% endif %};width:{{ w|round(1) }}%;
background:{{ '#1e8e3e' if d >= 0 else '#c0392b' }}"></i>{% endif %}</div>{% endmacro %}
{% macro ctable(rows, title) %}<table><tr><th>{{ title }}</th><th class="r">n</th><th class="r">{{ c.name_a }}</th>
<th class="r">{{ c.name_b }}</th><th class="r">Δ pts</th><th></th><th class="r">95% CI</th><th class="r">↑</th>
<th class="r">↓</th><th class="r">McNemar p</th></tr>{% for r in rows %}<tr><td class="mono">{{ r.key }}</td>
<td class="r">{{ r.n }}</td><td class="r">{{ pct(r.accuracy_a) }}</td><td class="r">{{ pct(r.accuracy_b) }}</td>
<td class="r {{ 'good' if (r.delta or 0) > 0 else 'bad' if (r.delta or 0) < 0 else '' }}">{{ pts(r.delta) }}</td>
<td style="width:16%">{{ dbar(r.delta) }}</td><td class="r dim">{{ ci(r) }}</td><td class="r good">{{ r.improved or '' }}</td>
<td class="r bad">{{ r.regressed or '' }}</td><td class="r {{ '' if r.mcnemar_p is not none and r.mcnemar_p < 0.05 else 'dim' }}">
{{ p(r.mcnemar_p) }}</td></tr>{% endfor %}</table>{% endmacro %}
<!doctype html><html lang="en"><head><meta charset="utf-8"><title>compare · {{ c.name_b }} vs {{ c.name_a }}</title>
<style>{{ css }}</style></head><body><main>
<h1>{{ c.name_b }} <span class="dim">vs</span> {{ c.name_a }}</h1>
<div class="sub">{{ c.n_pairs }} paired fields{% if c.only_in_a or c.only_in_b %} · unpaired: {{ c.only_in_a }} only in
{{ c.name_a }}, {{ c.only_in_b }} only in {{ c.name_b }}{% endif %}</div>
<div class="cards">
<div class="card"><div class="l">Accuracy {{ c.name_a }}</div><div class="v">{{ pct(o.accuracy_a) }}</div></div>
<div class="card"><div class="l">Accuracy {{ c.name_b }}</div><div class="v">{{ pct(o.accuracy_b) }}</div></div>
<div class="card"><div class="l">Change</div><div class="v {{ 'good' if (o.delta or 0) > 0 else 'bad' if (o.delta or 0) < 0 else '' }}">
{{ pts(o.delta) }} pts</div><div class="h">95% CI {{ ci(o) }} (bootstrap over docs)</div></div>
<div class="card"><div class="l">Flipped</div><div class="v"><span class="good">↑{{ o.improved }}</span>
<span class="bad">↓{{ o.regressed }}</span></div><div class="h">McNemar exact p = {{ p(o.mcnemar_p) }}</div></div></div>
<h2>By section</h2><div class="panel">{{ ctable(c.by_section, 'section') }}</div>
<h2>By group</h2><div class="panel">{{ ctable(c.by_group, 'group') }}</div>
{% if metric_rows %}<h2>Metrics</h2><div class="panel"><table><tr><th>metric</th><th class="r">{{ c.name_a }}</th>
<th class="r">{{ c.name_b }}</th><th class="r">Δ</th></tr>{% for k, a, b, d, cls in metric_rows %}<tr><td class="mono">{{ k }}</td>
<td class="r">{{ num(a) }}</td><td class="r">{{ num(b) }}</td><td class="r {{ cls }}">{{ num(d) }}</td></tr>{% endfor %}
</table></div>{% endif %}
<h2>Flipped fields ({{ c.flipped|length }})</h2><div class="panel">{% if c.flipped %}<table><tr><th></th><th>doc</th>
<th>path</th><th>gold</th><th>{{ c.name_a }}</th><th>{{ c.name_b }}</th></tr>{% for f in c.flipped[:max_flipped] %}<tr>
<td class="{{ 'good' if f.improved else 'bad' }}">{{ '↑' if f.improved else '↓' }}</td><td class="dim nw">{{ f.doc }}</td>
<td class="mono">{{ f.path }}</td><td>{{ val(f.gold) }}</td><td>{{ val(f.pred_a) }}</td><td>{{ val(f.pred_b) }}</td></tr>
{% endfor %}</table>{% if c.flipped|length > max_flipped %}<div class="cap">… {{ c.flipped|length - max_flipped }} more
</div>{% endif %}{% else %}<div class="dim">No field changed.</div>{% endif %}</div>
</main></body></html>"""


def _env() -> Environment:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(pct=_pct, num=_num, val=_val, hue=_hue)
    return env


def _sorted_groups(table: dict[str, GroupStats]) -> list[tuple[str, GroupStats]]:
    return sorted(
        table.items(), key=lambda kv: (kv[1].accuracy is None, kv[1].accuracy or 0.0, kv[0])
    )


def _section_rows(results: EvalResults) -> list[dict[str, Any]]:
    """Sections worst first; under each, its groups when it has more than one."""
    rows: list[dict[str, Any]] = []
    for name, stats in _sorted_groups(results.sections):
        rows.append({"name": name, "stats": stats, "level": 0})
        children = [
            (g, st)
            for g, st in _sorted_groups(results.groups)
            if g == name or g.startswith(name + ".")
        ]
        if len(children) > 1:
            rows.extend({"name": g, "stats": st, "level": 1} for g, st in children)
    return rows


def render_report(results: EvalResults, scores: Sequence[FieldScore]) -> str:
    """One run's report as a single self-contained HTML page."""
    template = _env().from_string(RUN_TEMPLATE)
    return template.render(
        r=results,
        m=results.metrics,
        css=Markup(CSS),
        cards=_cards(results.metrics),
        section_rows=_section_rows(results),
        reliability=reliability_svg(results.curves.get("reliability")),
        risk=risk_coverage_svg(results.curves.get("risk_coverage")),
        worst=_path_rows(scores),
        confident=_confident_errors(scores),
        invented=_invented(scores),
    )


def _ci(row: CompareRow) -> str:
    if row.ci_low is None or row.ci_high is None:
        return "–"
    return f"{100 * row.ci_low:+.1f} … {100 * row.ci_high:+.1f}"


def _pts(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f}"


def _metric_rows(comparison: Comparison) -> list[tuple[str, Any, Any, Any, str]]:

    rows = []
    for key in comparison.metrics_a.keys() | comparison.metrics_b.keys():
        a, b = comparison.metrics_a.get(key), comparison.metrics_b.get(key)
        delta = b - a if isinstance(a, int | float) and isinstance(b, int | float) else None
        direction = metric_direction(key)
        cls = ""
        if delta and direction is not None:
            cls = "good" if (delta > 0) == direction else "bad"
        rows.append((key, a, b, delta, cls))
    return sorted(rows)


def render_comparison(comparison: Comparison, max_flipped: int = 200) -> str:
    """Two runs compared, as a single self-contained HTML page."""
    env = _env()
    env.globals.update(ci=_ci, pts=_pts, p=_p)
    return env.from_string(COMPARE_TEMPLATE).render(
        c=comparison,
        o=comparison.overall,
        css=Markup(CSS),
        metric_rows=_metric_rows(comparison),
        max_flipped=max_flipped,
    )


__all__ = ["reliability_svg", "render_comparison", "render_report", "risk_coverage_svg"]
