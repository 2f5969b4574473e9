"""`structurer show DOC --html OUT`: one self-contained page to see why a field is what it is.

The report text with every field's evidence highlighted and coloured by confidence; beside it
the fields in schema order, each linking to its evidence; where two readers disagreed, both
readings; where grounding rejected the model's proposal, the proposal and the reason.
No script, no external resource: anchors and CSS only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup


@dataclass
class FieldView:
    path: str
    value: Any
    label: str = ""
    reader: str | None = None
    confidence: float | None = None
    status: str | None = None
    start: int | None = None
    end: int | None = None
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return "ev-" + self.path.replace(".", "-")

    @property
    def has_evidence(self) -> bool:
        return self.start is not None and self.end is not None and self.end > self.start

    @property
    def other_reading(self) -> Any:
        """The losing reading of a disagreement between readers (None when they agreed)."""
        return self.signals.get("other_value") if self.signals.get("readers_agree") == 0.0 else None

    @property
    def rejected(self) -> tuple[Any, str] | None:
        if "rejected_reason" not in self.signals:
            return None
        return self.signals.get("rejected_value"), str(self.signals["rejected_reason"])


def colour(confidence: float | None) -> str:
    """Red (0) through amber to green (1); grey when unknown."""
    if confidence is None:
        return "hsl(0,0%,85%)"
    return f"hsl({round(120 * max(0.0, min(1.0, confidence)))},70%,80%)"


def highlighted_text(text: str, fields: Sequence[FieldView]) -> Markup:
    """The text as HTML, each evidence span marked; overlapping spans split into segments
    that carry every field covering them (coloured by the least confident)."""
    spans = [f for f in fields if f.has_evidence and (f.end or 0) <= len(text)]
    cuts = sorted({0, len(text), *(f.start or 0 for f in spans), *(f.end or 0 for f in spans)})
    starts: dict[int, list[FieldView]] = {}
    for f in spans:
        starts.setdefault(f.start or 0, []).append(f)
    out: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        out.extend(f'<a id="{f.anchor}"></a>' for f in starts.get(a, []))
        piece = html.escape(text[a:b])
        if not piece:
            continue
        covering = [f for f in spans if (f.start or 0) <= a and b <= (f.end or 0)]
        if not covering:
            out.append(piece)
            continue
        low = min(
            covering, key=lambda f: f.confidence if f.confidence is not None else 2.0
        ).confidence
        names = " ".join(f.path for f in covering)
        out.append(
            f'<mark style="background:{colour(low)}" title="{html.escape(names)}">{piece}</mark>'
        )
    return Markup("".join(out))


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, list):
        return " ｜ ".join(str(v) for v in value)
    return str(value)


PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>{{ title }}</title><style>
body{margin:0;font:14px/1.6 "Noto Sans CJK SC","PingFang SC",sans-serif;color:#1f2d3d;background:#f3f5f8}
header{padding:14px 22px;background:#fff;border-bottom:1px solid #e1e5ea}h1{font-size:18px;margin:0}
.sub{color:#6b7785;font-size:12px}main{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:14px;
padding:14px 22px}pre{white-space:pre-wrap;word-break:break-all;background:#fff;padding:16px;border-radius:8px;
margin:0;font:14px/1.7 "Noto Sans CJK SC",monospace}mark{border-radius:2px;padding:0 1px}
aside{background:#fff;border-radius:8px;padding:8px 12px;max-height:calc(100vh - 110px);overflow:auto;
position:sticky;top:8px}table{border-collapse:collapse;width:100%;font-size:12px}td,th{padding:4px 6px;
border-bottom:1px solid #f0f2f5;vertical-align:top;text-align:left;word-break:break-all}tr.sec td{font-weight:600;background:#f7f9fb}
.conf{display:inline-block;min-width:34px;text-align:center;border-radius:8px;padding:0 4px}
.mono{font-family:ui-monospace,Menlo,monospace}.dim{color:#8a95a3}.warn{color:#b3261e}
.pair{font-size:11px;color:#5b6877}a{color:#1a5fb4;text-decoration:none}:target+mark{outline:2px solid #1a5fb4}
</style></head><body>
<header><h1>{{ title }}</h1><div class="sub">{{ subtitle }}</div></header>
<main><pre>{{ text }}</pre>
<aside><table><tr><th>field</th><th>value</th><th>conf</th></tr>
{% for section, rows in sections %}<tr class="sec"><td colspan="3">{{ section }}</td></tr>
{% for f in rows %}<tr><td class="mono">{% if f.has_evidence %}<a href="#{{ f.anchor }}">{{ f.path.split('.', 1)[1] }}</a>
{% else %}{{ f.path.split('.', 1)[1] }}{% endif %}{% if f.label %}<div class="dim">{{ f.label[:40] }}</div>{% endif %}</td>
<td>{{ shown(f.value) }}{% if f.reader %} <span class="dim">({{ f.reader }})</span>{% endif %}
{% if f.other_reading is not none %}<div class="pair">{{ "readers differ: %s %s · other %s"|format(f.reader,
shown(f.value), shown(f.other_reading)) }}</div>{% endif %}
{% if f.rejected %}<div class="warn">rejected: {{ shown(f.rejected[0]) }} — {{ f.rejected[1] }}</div>{% endif %}</td>
<td>{% if f.confidence is not none %}<span class="conf" style="background:{{ colour(f.confidence) }}">
{{ '%.2f' % f.confidence }}</span>{% endif %}<div class="dim">{{ f.status or '' }}</div></td></tr>
{% endfor %}{% endfor %}</table></aside></main></body></html>"""


def render_document(
    *,
    title: str,
    subtitle: str,
    text: str,
    fields: Sequence[FieldView],
    order: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> str:
    """The page. `order`: every leaf path in schema order (fields not listed are left out)."""
    by_path = {f.path: f for f in fields}
    sections: dict[str, list[FieldView]] = {}
    for path in order:
        f = by_path.get(path)
        if f is None:
            continue
        f.label = f.label or (labels or {}).get(path, "")
        sections.setdefault(path.split(".", 1)[0], []).append(f)
    env = Environment(autoescape=True)
    return env.from_string(PAGE).render(
        title=title,
        subtitle=subtitle,
        text=highlighted_text(text, fields),
        sections=list(sections.items()),
        shown=_shown,
        colour=colour,
    )
