"""report.html: one self-contained page (no CDN, no network) for managers and clerks."""
from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
import pandas as pd

from .report import sort_by_severity

if TYPE_CHECKING:
    from .result import AuditResult

#: Findings listed in the page (the worst first); the rest are in findings.csv.
HTML_ROWS_CAP = 5_000

LABELS = {
    "en": {"title": "linkage audit report", "records": "linked records", "by_reason": "Findings by reason",
           "by_source": "By source and status", "findings": "Findings (most severe first)",
           "filter": "Filter (reason, status, record id, words)…", "score_hist": "Score distribution",
           "capped": "Showing the {cap:,} most severe of {n:,} findings that need action; every record is in "
                     "findings.csv.", "none": "No findings need action.", "households":
           "Households with several mislinks", "household": "household", "count": "mislinks",
           "masked": "My Numbers are masked to their last four digits."},
    "ja": {"title": "linkage 点検レポート", "records": "件の紐付け", "by_reason": "理由別の件数",
           "by_source": "ソース・判定別", "findings": "指摘事項（重大な順）", "filter": "絞り込み（理由・判定・ID・語句）…",
           "score_hist": "スコア分布", "capped": "対応が必要な{n:,}件のうち重大な{cap:,}件を表示。全件は findings.csv にあります。",
           "none": "対応が必要な指摘はありません。", "households": "誤登録が複数ある世帯", "household": "世帯",
           "count": "誤登録", "masked": "個人番号は下4桁以外を伏せています。"},
}
STATUS_COLOURS = {"ok": "#3a7d44", "review": "#c98a00", "mislink": "#b3261e", "invalid": "#6b5b95"}

TEMPLATE = jinja2.Template("""<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ w.title }}</title>
<style>
body{font-family:"Hiragino Sans","Meiryo","Noto Sans CJK JP",system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border-radius:8px;padding:.8rem 1.2rem;color:#fff;min-width:9rem}
.card b{display:block;font-size:1.6rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0}.num{text-align:right}
.bar{height:14px;display:inline-block;vertical-align:middle}
input{font-size:1rem;padding:.4rem;width:28rem;max-width:100%;margin:.5rem 0}
.note{color:#555;font-size:.85rem}
</style></head><body>
<h1>{{ w.title }}</h1>
<p>{{ "{:,}".format(total) }} {{ w.records }}. <span class="note">{{ w.masked }}</span></p>
<div class="cards" id="counts">
{% for s, n in counts.items() %}<div class="card" style="background:{{ colours[s] }}" data-status="{{ s }}">{{ s }}<b>{{ "{:,}".format(n) }}</b></div>{% endfor %}
</div>
<h2>{{ w.by_reason }}</h2>
<table><tr><th>reason</th><th>status</th><th class="num">count</th><th></th></tr>
{% for r in reasons %}<tr><td>{{ r.reason }}</td><td>{{ r.status }}</td><td class="num">{{ "{:,}".format(r.count) }}</td>
<td><span class="bar" style="width:{{ r.width }}px;background:{{ colours[r.status] }}"></span></td></tr>{% endfor %}
</table>
<h2>{{ w.by_source }}</h2>
<table><tr><th>source</th>{% for s in statuses %}<th class="num">{{ s }}</th>{% endfor %}</tr>
{% for src, row in by_source.items() %}<tr><td>{{ src }}</td>{% for s in statuses %}<td class="num">{{ "{:,}".format(row.get(s, 0)) }}</td>{% endfor %}</tr>{% endfor %}
</table>
<h2>{{ w.score_hist }}</h2>
<svg width="420" height="120" role="img" aria-label="{{ w.score_hist }}">
{% for b in hist %}<rect x="{{ 10 + loop.index0 * 40 }}" y="{{ 100 - b.h }}" width="34" height="{{ b.h }}" fill="#4a6fa5"><title>{{ b.label }}: {{ b.n }}</title></rect>
<text x="{{ 12 + loop.index0 * 40 }}" y="114" font-size="9">{{ b.label }}</text>{% endfor %}
</svg>
{% if households %}<h2>{{ w.households }}</h2>
<table><tr><th>{{ w.household }}</th><th class="num">{{ w.count }}</th></tr>
{% for h in households %}<tr><td>{{ h.household }}</td><td class="num">{{ h.n }}</td></tr>{% endfor %}</table>{% endif %}
<h2>{{ w.findings }}</h2>
{% if capped %}<p class="note">{{ capped }}</p>{% endif %}
{% if rows %}<input id="filter" type="search" placeholder="{{ w.filter }}">
<table id="findings"><thead><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr>{% for c in columns %}<td>{{ r[c] }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
<script>
document.getElementById("filter").addEventListener("input", function () {
  var q = this.value.toLowerCase();
  document.querySelectorAll("#findings tbody tr").forEach(function (tr) {
    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
  });
});
</script>{% else %}<p>{{ w.none }}</p>{% endif %}
</body></html>
""", autoescape=True)


def render_html(result: "AuditResult", lang: str = "en", cap: int = HTML_ROWS_CAP) -> str:
    w = LABELS.get(lang, LABELS["en"])
    f = result.findings
    counts = result.counts()
    summary = result.summary
    top = max(int(summary["count"].max()) if len(summary) else 1, 1)
    reasons = [{"reason": r.reason, "status": r.status, "count": int(r.count), "width": int(300 * r.count / top)}
               for r in summary.itertuples()]
    by_source = {src: g["status"].value_counts().to_dict() for src, g in f.groupby("source", observed=True)}
    bins = pd.cut(f["score"], [0, .1, .2, .3, .4, .5, .6, .7, .8, .9, 1.0], include_lowest=True)
    hist_counts = bins.value_counts(sort=False)
    hmax = max(int(hist_counts.max()) if len(hist_counts) else 1, 1)
    hist = [{"label": f"{iv.left:.1f}", "n": int(n), "h": int(90 * n / hmax)} for iv, n in hist_counts.items()]
    act = sort_by_severity(f[f["status"] != "ok"])
    capped = w["capped"].format(cap=cap, n=len(act)) if len(act) > cap else ""
    rows = act.head(cap).astype(object).where(act.head(cap).notna(), "").to_dict("records")
    households = result.meta.get("households_with_mislinks", [])
    return TEMPLATE.render(lang=lang, w=w, total=len(f), counts=counts, colours=STATUS_COLOURS,
                           reasons=reasons, statuses=list(counts), by_source=by_source, hist=hist,
                           rows=rows, columns=list(f.columns), capped=capped, households=households)
