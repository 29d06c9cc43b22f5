"""report.html: one self-contained page (no CDN, no network) for managers and clerks.

The page is opened on offline government machines: styles, script and charts
(bars in HTML and CSS, :mod:`linkage.report_charts`) are all inside the file, and a
Content-Security-Policy forbids loading anything else.  It shows headline
counts, charts by source, status and reason, the score distribution, households
with several mislinks and then the findings, most severe first, with their
evidence and filters (status, reason, source, household, words).  The filters
live in the address's ``#fragment`` (``report.html#status=mislink``), so a
filtered view can be bookmarked or sent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from . import plot, report_charts
from .plot import STATUS_COLOURS, STATUS_WORDS
from .report import as_str, count_by, sort_by_severity, text_is

if TYPE_CHECKING:
    from .result import AuditResult

#: Findings listed in the page (the worst first); every record is in findings.csv.
HTML_ROWS_CAP = 5_000
#: Severity order of the headline cards.
CARD_ORDER = ("mislink", "invalid", "review", "ok")

LABELS = {
    "en": {"title": "linkage audit report", "records": "linked records audited",
           "from": "from", "rows": "rows", "masked": "My Numbers are masked to their last four digits.",
           "unmasked": "This report shows full My Numbers: keep it confidential.",
           "charts": "Overview", "reasons": "Reasons", "reason": "reason", "status": "status", "count": "records",
           "meaning": "meaning", "households": "Households with several mislinks", "household": "household",
           "mislinks": "mislinks", "records_col": "records", "findings": "Findings (most severe first)",
           "search": "Search words, record id, number…", "all": "all", "source": "source",
           "showing": "Showing {shown} of {n} findings that need action.",
           "capped": "The {cap:,} most severe of {n:,} findings that need action are listed here; every record "
                     "is in findings.csv and findings.parquet.",
           "none": "No findings need action.", "clear_filters": "clear filters", "run": "About this run",
           "inputs": "Inputs", "versions": "Versions", "parameters": "Parameters", "timings": "Timings (s)",
           "share": "of records", "what": "What to do", "filter_link": "show",
           "note_ok": "Records that fit their card holder are not listed here; they are in findings.csv."},
    "ja": {"title": "linkage 点検レポート", "records": "件の紐付けを点検",
           "from": "入力", "rows": "行", "masked": "個人番号は下4桁以外を伏せています。",
           "unmasked": "このレポートには個人番号が全桁表示されています。取り扱いに注意してください。",
           "charts": "概要", "reasons": "理由", "reason": "理由", "status": "判定", "count": "件数",
           "meaning": "意味", "households": "誤登録が複数ある世帯", "household": "世帯",
           "mislinks": "誤登録", "records_col": "記録", "findings": "指摘事項（重大な順）",
           "search": "語句・レコードID・番号で検索…", "all": "すべて", "source": "ソース",
           "showing": "対応が必要な{n}件のうち{shown}件を表示。",
           "capped": "対応が必要な{n:,}件のうち重大な{cap:,}件を表示しています。全件は findings.csv と "
                     "findings.parquet にあります。",
           "none": "対応が必要な指摘はありません。", "clear_filters": "絞り込みを解除", "run": "この実行について",
           "inputs": "入力", "versions": "バージョン", "parameters": "パラメータ", "timings": "所要時間（秒）",
           "share": "（全体比）", "what": "対応", "filter_link": "表示",
           "note_ok": "カード所有者と一致した記録はここには載せていません（findings.csv にあります）。"},
}
COLUMN_WORDS = {
    "en": {"source": "source", "record_id": "record id", "my_number": "My Number", "status": "status",
           "reason": "reason", "score": "score", "evidence": "evidence",
           "suggested_my_number": "suggested My Number"},
    "ja": {"source": "ソース", "record_id": "レコードID", "my_number": "個人番号", "status": "判定",
           "reason": "理由", "score": "スコア", "evidence": "根拠", "suggested_my_number": "推定される本人の個人番号"},
}
SOURCE_WORDS = {"en": {"bank": "bank", "insurance": "insurance"}, "ja": {"bank": "公金受取口座", "insurance": "健康保険"}}
#: What each reason means, for readers who do not know the codes.
REASON_WORDS = {
    "en": {
        "OK": "the record is the card holder's (spelling variants allowed)",
        "FORMER_NAME": "given name and birth data agree, family name differs (marriage, adoption)",
        "BIRTHDATE_MISMATCH": "same person by name, birth date differs a little, nobody fits better",
        "SEX_MISMATCH": "everything agrees but sex",
        "HOUSEHOLD_MEMBER": "belongs to another member of the card holder's household "
                            "(e.g. a parent's account on a child's card)",
        "OTHER_PERSON": "belongs to someone outside the household (same-name stranger, previous visitor, company)",
        "SHARED_ACCOUNT": "one account registered on the cards of different people, no better explanation",
        "UNKNOWN_MY_NUMBER": "a well-formed number that is not in the register",
        "INVALID_MY_NUMBER": "wrong length, non-digits, all zeros or a failed check digit",
        "BAD_RECORD": "a required field is missing or unreadable (the evidence names it)",
    },
    "ja": {
        "OK": "カード所有者本人の記録（表記ゆれを許容）",
        "FORMER_NAME": "名・生年月日は一致し氏が異なる（婚姻・養子縁組など）",
        "BIRTHDATE_MISMATCH": "氏名は一致、生年月日がわずかに異なり、より一致する住民がいない",
        "SEX_MISMATCH": "性別以外は一致",
        "HOUSEHOLD_MEMBER": "カード所有者と同じ世帯の別の人の記録（子のカードに親の口座など）",
        "OTHER_PERSON": "世帯外の別人の記録（同姓同名、前の来庁者、法人など）",
        "SHARED_ACCOUNT": "同じ口座が別々の人のカードに登録され、ほかに説明がつかない",
        "UNKNOWN_MY_NUMBER": "形式は正しいが住民登録にない個人番号",
        "INVALID_MY_NUMBER": "桁数・文字種・すべて0・チェックデジットの誤り",
        "BAD_RECORD": "必須項目が空欄または読めない（根拠に項目名）",
    },
}
#: What a clerk does about each status.
ACTION_WORDS = {
    "en": {"mislink": "linked to the wrong person: correct the link",
           "invalid": "cannot be judged: fix the record",
           "review": "probably the same person: confirm",
           "ok": "fits the card holder: nothing to do"},
    "ja": {"mislink": "別人に紐付け: 紐付けを修正", "invalid": "判定不能: 記録を修正",
           "review": "同一人物の可能性: 確認", "ok": "カード所有者と一致: 対応不要"},
}

TEMPLATE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              comment_start_string="{##", comment_end_string="##}").from_string("""\
<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="linkage {{ version }}">
<link rel="icon" href="data:,">
<title>{{ w.title }}</title>
<style>
:root{--ok:{{ colours.ok }};--review:{{ colours.review }};--mislink:{{ colours.mislink }};--invalid:{{ colours.invalid }}}
body{font-family:"Hiragino Sans","Hiragino Kaku Gothic ProN","Meiryo","Yu Gothic","Noto Sans CJK JP",system-ui,sans-serif;margin:0 auto;padding:1.5rem 2rem;max-width:1400px;color:#1f2328;line-height:1.45}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.sub{color:#555;margin:0 0 1rem}.warn{background:#fde8e6;border-left:4px solid var(--mislink);padding:.4rem .8rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}
.card{border-radius:8px;padding:.7rem 1.1rem;color:#fff;min-width:11rem;flex:1;text-decoration:none}
.card .label{font-weight:bold}.card .n{display:block;font-size:1.8rem;font-weight:bold}.card .what{font-size:.8rem;opacity:.95}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1rem 2rem;align-items:start}
{{ chart_css }}table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #e1e4e8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0;z-index:1}.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;border-radius:4px;padding:0 .4rem;color:#fff;font-size:.8rem;white-space:nowrap}
{% for s in colours %}.s-{{ s }}{background:var(--{{ s }})}{% endfor %}

tr.row-mislink td:first-child{box-shadow:inset 4px 0 var(--mislink)}tr.row-invalid td:first-child{box-shadow:inset 4px 0 var(--invalid)}
tr.row-review td:first-child{box-shadow:inset 4px 0 var(--review)}
td.ev{min-width:24rem}td.id,td.mn{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace}
#controls{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0;position:sticky;top:0;background:#fff;padding:.4rem 0;z-index:2}
#controls input,#controls select{font-size:.95rem;padding:.3rem}#q{flex:1;min-width:16rem}
.note{color:#555;font-size:.85rem}details{margin:.5rem 0}summary{cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem}dt{font-weight:bold}dd{margin:0}
@media print{#controls{display:none}th{position:static}}
</style></head><body>
<h1>{{ w.title }}</h1>
<p class="sub"><span id="total">{{ fmt(total) }}</span> {{ w.records }}{% if inputs %} · {{ w.from }}: {{ inputs }}{% endif %}.
{% if unmasked %}</p><p class="warn">{{ w.unmasked }}{% else %}<span class="note">{{ w.masked }}</span>{% endif %}</p>
<div class="cards" id="counts">
{% for c in cards %}
<a class="card s-{{ c.status }}"{% if c.status != "ok" %} href="#status={{ c.status }}"{% endif %} data-status="{{ c.status }}" data-count="{{ c.n }}"><span class="label">{{ c.label }}</span><span class="n">{{ fmt(c.n) }}</span><span class="what">{{ c.share }} · {{ c.what }}</span></a>
{% endfor %}
</div>

<h2>{{ w.charts }}</h2>
<div class="charts">
{% for name in chart_names %}<figure class="chart" id="chart-{{ name }}">
{{ charts[name] }}</figure>
{% endfor %}
</div>

<h2>{{ w.reasons }}</h2>
<table id="reasons"><thead><tr><th>{{ w.reason }}</th><th>{{ w.status }}</th><th class="num">{{ w.count }}</th><th>{{ w.meaning }}</th></tr></thead><tbody>
{% for r in reasons %}
<tr><td>{% if r.status != "ok" %}<a href="#reason={{ r.reason }}">{{ r.reason }}</a>{% else %}{{ r.reason }}{% endif %}</td><td><span class="badge s-{{ r.status }}">{{ status_words[r.status] }}</span></td><td class="num">{{ fmt(r.count) }}</td><td>{{ r.meaning }}</td></tr>
{% endfor %}
</tbody></table>

{% if households %}
<h2>{{ w.households }}</h2>
<table id="households"><thead><tr><th>{{ w.household }}</th><th class="num">{{ w.mislinks }}</th><th>{{ w.reason }}</th><th>{{ w.records_col }}</th></tr></thead><tbody>
{% for h in households %}
<tr><td><a href="#household={{ h.household | urlencode }}">{{ h.household }}</a></td><td class="num">{{ h.mislinks }}</td><td>{{ h.reasons }}</td><td>{{ h.records }}</td></tr>
{% endfor %}
</tbody></table>
{% endif %}

<h2 id="findings-title">{{ w.findings }}</h2>
{% if capped %}<p class="note" id="capped">{{ capped }}</p>{% endif %}
<p class="note">{{ w.note_ok }}</p>
{% if rows %}
<div id="controls">
<input id="q" type="search" placeholder="{{ w.search }}" aria-label="{{ w.search }}">
<select id="f-status" aria-label="{{ w.status }}"><option value="">{{ w.status }}: {{ w.all }}</option>{% for s in act_statuses %}<option value="{{ s }}">{{ status_words[s] }}</option>{% endfor %}</select>
<select id="f-reason" aria-label="{{ w.reason }}"><option value="">{{ w.reason }}: {{ w.all }}</option>{% for r in act_reasons %}<option value="{{ r }}">{{ r }}</option>{% endfor %}</select>
<select id="f-source" aria-label="{{ w.source }}"><option value="">{{ w.source }}: {{ w.all }}</option>{% for s in sources %}<option value="{{ s }}">{{ source_words.get(s, s) }}</option>{% endfor %}</select>
<input id="f-household" type="search" placeholder="{{ w.household }}" aria-label="{{ w.household }}" size="10">
<button id="clear" type="button">{{ w.clear_filters }}</button>
<span id="shown-note" class="note">{{ showing }}</span>
</div>
<table id="findings"><thead><tr>{% for c in columns %}<th{% if c == "score" %} class="num"{% endif %}>{{ column_words[c] }}</th>{% endfor %}</tr></thead><tbody>
{{ rows_html }}</tbody></table>
{% else %}
<p id="none">{{ w.none }}</p>
{% endif %}

<h2>{{ w.run }}</h2>
<details><summary>{{ w.inputs }} · {{ w.versions }} · {{ w.parameters }} · {{ w.timings }}</summary>
<dl>
{% for k, v in run_info %}<dt>{{ k }}</dt><dd>{{ v }}</dd>
{% endfor %}
</dl></details>
{% if rows %}
<script>
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings tbody tr"));
  var texts = rows.map(function (tr) { return tr.textContent.toLowerCase(); });
  var q = document.getElementById("q");
  var selects = {status: document.getElementById("f-status"), reason: document.getElementById("f-reason"),
                 source: document.getElementById("f-source"), household: document.getElementById("f-household")};
  var note = document.getElementById("shown-note");
  var template = {{ showing_template | tojson }};
  var total = rows.length;
  function state() {
    var p = new URLSearchParams();
    Object.keys(selects).forEach(function (k) { if (selects[k].value) { p.set(k, selects[k].value); } });
    if (q.value.trim()) { p.set("q", q.value.trim()); }
    return p;
  }
  function apply() {
    var text = q.value.trim().toLowerCase();
    var want = {};
    Object.keys(selects).forEach(function (k) { want[k] = selects[k].value; });
    var shown = 0;
    rows.forEach(function (tr, i) {
      var d = tr.dataset;
      var ok = (!want.status || d.status === want.status) && (!want.reason || d.reason === want.reason) &&
               (!want.source || d.source === want.source) && (!want.household || d.household === want.household) &&
               (!text || texts[i].indexOf(text) >= 0);
      tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    note.textContent = template.replace("{shown}", shown.toLocaleString()).replace("{n}", total.toLocaleString());
    note.dataset.shown = String(shown);
  }
  function update() {
    apply();
    var hash = state().toString();
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); } catch (e) { /* file: URLs in some browsers */ }
  }
  function fromHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    Object.keys(selects).forEach(function (k) { selects[k].value = p.get(k) || ""; });
    q.value = p.get("q") || "";
    apply();
  }
  q.addEventListener("input", update);
  Object.keys(selects).forEach(function (k) { selects[k].addEventListener("input", update); });
  document.getElementById("clear").addEventListener("click", function () {
    q.value = ""; Object.keys(selects).forEach(function (k) { selects[k].value = ""; }); update();
  });
  window.addEventListener("hashchange", function () {
    fromHash();
    document.getElementById("findings-title").scrollIntoView();
  });
  fromHash();
  document.documentElement.setAttribute("data-ready", "1");
}());
</script>
{% endif %}
</body></html>
""")


def _run_info(result: "AuditResult", w: dict[str, str]) -> list[tuple[str, str]]:
    meta = result.meta
    out: list[tuple[str, str]] = []
    for name, info in meta.get("inputs", {}).items():
        desc = f"{info.get('file', '(DataFrame)')}: {info.get('rows', 0):,} {w['rows']}"
        if info.get("sha256"):
            desc += f", sha256 {info['sha256'][:16]}…"
        out.append((f"{w['inputs']}: {name}", desc))
    if "rows_in" in meta:
        out.append(("rows in / out", f"{meta['rows_in']:,} / {len(result.findings):,}"))
    for k, v in meta.get("versions", {}).items():
        out.append((f"{w['versions']}: {k}", str(v)))
    for k, v in meta.get("parameters", {}).items():
        out.append((f"{w['parameters']}: {k}", str(v)))
    timings = meta.get("timings_s") or {k: round(v, 3) for k, v in result.timings.items()}
    if timings:
        out.append((w["timings"], ", ".join(f"{k} {v:g}" for k, v in timings.items())))
    return out


def _rows(result: "AuditResult", act: pd.DataFrame) -> pd.DataFrame:
    """The findings table's values as text, one column each, for the findings that need action
    (already sorted and capped), with the card holder's household."""
    ctx = result.context
    pos = result.findings.index.get_indexer(act.index)
    holder = np.asarray(ctx.holder)[pos]
    hh = ctx.residents["household"].to_numpy(dtype=object, na_value=None)
    household = np.where(holder >= 0, hh[np.maximum(holder, 0)] if len(hh) else None, None)
    d = act.astype(object).where(act.notna(), "")
    d = d.assign(score=["" if np.isnan(x) else f"{x:.3f}" for x in act["score"].to_numpy(dtype=float, na_value=np.nan)],
                 household=[h or "" for h in household])
    for c in ("status", "reason", "source"):
        d[c] = act[c].astype(str).to_numpy()
    return d


def _escaped(values: pd.Series) -> list[str]:
    """Each value as the template prints it (``markupsafe.escape``): text in one call,
    joined by NUL (which escaping leaves alone) and split again."""
    items = values.tolist()
    if items and all(type(v) is str for v in items):
        joined = "\x00".join(items)
        if joined.count("\x00") == len(items) - 1:  # no value holds a NUL itself
            return str(markupsafe.escape(joined)).split("\x00")
    return [str(markupsafe.escape(v)) for v in items]


def _rows_html(d: pd.DataFrame, source_words: dict[str, str], status_words: dict[str, str]) -> markupsafe.Markup:
    """The findings table's rows, one line each, escaped as the template escapes them (5,000
    rows through a Jinja loop took a quarter of a second, this about a tenth of that)."""
    item = TEMPLATE.environment.getitem
    label = pd.Series([source_words.get(s, s) for s in d["source"]], dtype=object)
    badge = pd.Series([item(status_words, s) for s in d["status"]], dtype=object)
    cols = [_escaped(c) for c in (d["status"], d["reason"], d["source"], d["household"], label, d["record_id"],
                                  d["my_number"], badge, d["score"], d["evidence"], d["suggested_my_number"])]
    return markupsafe.Markup("".join(
        f'<tr class="row-{st}" data-status="{st}" data-reason="{rs}" data-source="{so}" data-household="{hh}">'
        f'<td>{lb}</td><td class="id">{rid}</td><td class="mn">{mn}</td><td><span class="badge s-{st}">{bd}</span>'
        f'</td><td>{rs}</td><td class="num">{sc}</td><td class="ev">{ev}</td><td class="mn">{sg}</td></tr>\n'
        for st, rs, so, hh, lb, rid, mn, bd, sc, ev, sg in zip(*cols)))


def chart_data(result: "AuditResult", act: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`linkage.plot.chart_data`, each table computed from what it reads: the counts
    per source and status by codes, the score bins from status as text (converted by
    codes), ``act`` the findings that need action."""
    f = result.findings
    lite = pd.DataFrame({"status": as_str(f["status"]), "score": f["score"]})
    return {"by_source": plot.by_source_status(f), "by_reason": plot.by_reason(act),
            "scores": plot.score_histogram(lite), "households": plot.households(result)}


def render_html(result: "AuditResult", lang: str = "en", cap: int = HTML_ROWS_CAP) -> str:
    """The whole report page as one string (UTF-8 when written)."""
    lang = lang if lang in LABELS else "en"
    w = LABELS[lang]
    f = result.findings
    total = len(f)
    counts = result.counts()
    status_words = STATUS_WORDS[lang]
    cards = [{"status": s, "n": counts.get(s, 0), "label": status_words[s],
              "share": f"{100 * counts.get(s, 0) / total:.2f}%" if total else "0%", "what": ACTION_WORDS[lang][s]}
             for s in CARD_ORDER]
    summary = count_by({"reason": f["reason"], "status": f["status"]})
    order = {s: i for i, s in enumerate(CARD_ORDER)}
    summary = summary.assign(_o=summary["status"].map(order)).sort_values(
        ["_o", "count", "reason"], ascending=[True, False, True], kind="mergesort")
    reasons = [{"reason": r.reason, "status": r.status, "count": int(r.count),
                "meaning": REASON_WORDS[lang].get(r.reason, "")} for r in summary.itertuples()]
    act_all = sort_by_severity(f.take(np.flatnonzero(~text_is(f["status"], "ok"))))
    act = act_all.head(cap)
    capped = w["capped"].format(cap=cap, n=len(act_all)) if len(act_all) > cap else ""
    inputs = ", ".join(f"{info.get('file', name)} ({info.get('rows', 0):,} {w['rows']})"
                       for name, info in result.meta.get("inputs", {}).items())
    params = result.meta.get("parameters", {})
    showing_template = w["showing"]
    data = chart_data(result, act_all)
    return TEMPLATE.render(
        lang=lang, w=w, fmt=plot.count_text, total=total, cards=cards, colours=STATUS_COLOURS, status_words=status_words,
        chart_names=plot.CHARTS, charts=report_charts.charts_html(data, lang), chart_css=markupsafe.Markup(report_charts.CSS),
        reasons=reasons,
        households=data["households"].to_dict("records"),
        rows=bool(len(act)), rows_html=_rows_html(_rows(result, act), SOURCE_WORDS[lang], status_words),
        columns=list(COLUMN_WORDS["en"]), column_words=COLUMN_WORDS[lang], source_words=SOURCE_WORDS[lang],
        capped=capped, inputs=inputs, unmasked=bool(params.get("unmask")),
        act_statuses=[s for s in ("mislink", "invalid", "review") if counts.get(s)],
        act_reasons=list(dict.fromkeys(act["reason"].astype(str))), sources=sorted(as_str(f["source"]).unique()),
        showing=showing_template.format(shown=plot.count_text(len(act)), n=plot.count_text(len(act))),
        showing_template=showing_template, run_info=_run_info(result, w),
        version=result.meta.get("versions", {}).get("linkage", ""),
    )
