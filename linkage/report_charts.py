"""The charts of report.html as HTML and CSS: no image, no script, no plotting library.

Each bar is an element whose length is its count's share of the chart's largest,
so the browser draws the charts at any width, prints them sharply and lays out
the labels (Japanese fonts included); every bar also says its count in words
(``title``, read aloud by screen readers).  The data are those of
:func:`linkage.plot.chart_data`, which ``AuditResult.plot()`` draws with
matplotlib for Jupyter.  Rendering takes milliseconds, where drawing the same
charts with matplotlib took about two seconds of every report.
"""
from __future__ import annotations

import math

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from .plot import CHARTS, STATUSES, chart_words, count_text

#: Households shown in the chart (the table below the charts lists up to 20).
TOP_HOUSEHOLDS = 10
#: The log scale of the score chart starts here, so that a count of 1 still shows.
LOG_FLOOR = 0.8

#: Styles of the charts, for the report's ``<style>`` (status colours are ``.s-<status>``).
CSS = """\
.chart{margin:0}.chart figcaption{font-weight:bold;margin:0 0 .4rem}
.legend{display:flex;gap:.8rem;font-size:.8rem;margin:0 0 .3rem}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.25em;vertical-align:-.05em}
.bars{display:grid;grid-template-columns:max-content 1fr max-content;gap:.2rem .5rem;align-items:center;font-size:.8rem}
.bars .track{display:flex;height:1.1rem;min-width:0}.bars .track span{display:block;height:100%;min-width:1px}
.bars .track span.zero{min-width:0}.chart .axis{color:#555;font-size:.75rem}
.hist{display:grid;grid-template-columns:max-content 1fr;grid-template-rows:10rem auto;gap:.2rem .4rem;font-size:.75rem}
.hist .ticks{position:relative;color:#555;min-width:2.5rem}.hist .ticks span{position:absolute;right:0;transform:translateY(50%)}
.hist .bins{display:flex;align-items:flex-end;gap:3px;border-left:1px solid #999;border-bottom:1px solid #999;height:100%}
.hist .bin{flex:1;display:flex;align-items:flex-end;gap:1px;height:100%}.hist .bin span{flex:1;display:block}
.hist .edges{grid-column:2;display:flex;justify-content:space-between;color:#555}
"""

_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_LEGEND = """<div class="legend">{% for s in statuses %}<span><i class="s-{{ s }}"></i>{{ sw[s] }}</span>{% endfor %}</div>"""

_BARS = _ENV.from_string("""\
<figcaption>{{ title }}</figcaption>
{% if legend %}""" + _LEGEND + """{% endif %}
{% if rows %}
<div class="bars">
{% for r in rows %}
<span class="label">{{ r.label }}</span><span class="track" role="img" aria-label="{{ r.words }}" title="{{ r.words }}">
{%- for b in r.bars %}<span class="s-{{ b.status }}{% if not b.n %} zero{% endif %}" style="width:{{ b.width }}%"></span>{% endfor -%}
</span><span class="num">{{ r.total }}</span>
{% endfor %}
</div>
<div class="axis">{{ unit }}</div>
{% else %}
<p class="none">{{ nothing }}</p>
{% endif %}""")

_HIST = _ENV.from_string("""\
<figcaption>{{ title }}</figcaption>
""" + _LEGEND + """
<div class="hist">
<div class="ticks" aria-hidden="true">{% for t in ticks %}<span style="bottom:{{ t.at }}%">{{ t.label }}</span>{% endfor %}</div>
<div class="bins">
{% for b in bins %}
<div class="bin">{% for bar in b %}<span class="s-{{ bar.status }}" style="height:{{ bar.height }}%" role="img" aria-label="{{ bar.words }}" title="{{ bar.words }}"></span>{% endfor %}</div>
{% endfor %}
</div>
<div class="edges" aria-hidden="true">{% for e in edges %}<span>{{ e }}</span>{% endfor %}</div>
</div>
<div class="axis">{{ unit }} · {{ records }}</div>""")


def _pct(n: float, top: float) -> str:
    """``n`` as a share of ``top`` in percent, for a CSS length."""
    return f"{100.0 * n / top:.2f}" if top > 0 else "0"


def _one_bar(label: str, status: str, n: int, top: float, words: str) -> dict:
    """A row of a chart with one bar of ``status``, ``n`` long against ``top``."""
    return {"label": label, "total": count_text(n), "words": words,
            "bars": [{"status": status, "n": int(n), "width": _pct(n, top)}]}


def by_source(table: pd.DataFrame, lang: str = "en") -> str:
    """Records per source as bars split by status (``plot.by_source_status``)."""
    w, sw = chart_words(lang)
    totals = table.sum(axis=1) if len(table) else pd.Series(dtype=int)
    top = float(totals.max()) if len(totals) else 0.0
    rows = []
    for source, counts in table.iterrows():
        parts = [(s, int(counts.get(s, 0))) for s in STATUSES]
        rows.append({"label": w.get(str(source), str(source)), "total": count_text(totals[source]),
                     "words": f"{w.get(str(source), str(source))}: " + ", ".join(
                         f"{sw[s]} {count_text(n)}" for s, n in parts if n),
                     "bars": [{"status": s, "n": n, "width": _pct(n, top)} for s, n in parts]})
    return _BARS.render(title=w["by_source"], legend=True, statuses=STATUSES, sw=sw, rows=rows, unit=w["records"],
                        nothing=w["none"])


def by_reason(table: pd.DataFrame, lang: str = "en") -> str:
    """Findings that need action per reason, coloured by status (``plot.by_reason``)."""
    w, sw = chart_words(lang)
    top = float(table["count"].max()) if len(table) else 0.0
    rows = [_one_bar(r.reason, r.status, r.count, top, f"{r.reason} ({sw.get(r.status, r.status)}): "
                                                       f"{count_text(r.count)}")
            for r in table.itertuples()]
    shown = [s for s in STATUSES if s in set(table["status"])] if len(table) else []
    return _BARS.render(title=w["by_reason"], legend=bool(shown), statuses=shown, sw=sw, rows=rows,
                        unit=w["records"], nothing=w["none"])


def households(table: pd.DataFrame, lang: str = "en", top: int = TOP_HOUSEHOLDS) -> str:
    """The households with the most mislinks on their cards (``plot.households``)."""
    w, sw = chart_words(lang)
    t = table.head(top)
    most = float(t["mislinks"].max()) if len(t) else 0.0
    rows = [_one_bar(str(h.household), "mislink", h.mislinks, most,
                     f"{h.household}: {sw['mislink']} {count_text(h.mislinks)}")
            for h in t.itertuples()]
    return _BARS.render(title=w["households"], legend=False, rows=rows, unit=w["mislinks"], nothing=w["none"])


def log_height(n: int, top: int) -> float:
    """Height of a bar of ``n`` in percent of a log scale from :data:`LOG_FLOOR` to ``top``."""
    if n <= 0 or top <= 0:
        return 0.0
    return 100.0 * math.log(n / LOG_FLOOR) / math.log(max(top, 1) / LOG_FLOOR)


def scores(table: pd.DataFrame, lang: str = "en") -> str:
    """Records per score bin and status on a log scale (``plot.score_histogram``)."""
    w, sw = chart_words(lang)
    shown = [s for s in STATUSES if s in table and table[s].sum() > 0]
    top = int(table[shown].to_numpy().max()) if shown else 0
    left = table.index.to_numpy(dtype=float)
    step = (left[1] - left[0]) if len(left) > 1 else 1.0
    bins = []
    for i, lo in enumerate(left):
        span = f"{lo:.1f}–{lo + step:.1f}"
        bins.append([{"status": s, "height": f"{log_height(int(table[s].iat[i]), top):.2f}",
                      "words": f"{sw[s]} {span}: {count_text(table[s].iat[i])}"} for s in shown])
    ticks = [{"at": f"{log_height(10 ** k, top):.2f}", "label": count_text(10 ** k)}
             for k in range(int(math.log10(top)) + 1)] if top else []
    edges = [f"{e:.1f}" for e in np.append(left, left[-1] + step)] if len(left) else []
    return _HIST.render(title=w["scores"], statuses=shown, sw=sw, bins=bins, ticks=ticks, edges=edges,
                        unit=w["score"], records=w["records"])


_DRAW = {"by_source": by_source, "by_reason": by_reason, "scores": scores, "households": households}


def charts_html(data: dict[str, pd.DataFrame], lang: str = "en") -> dict[str, markupsafe.Markup]:
    """Each chart's inner HTML (caption and bars), by chart name (see :data:`linkage.plot.CHARTS`)."""
    return {name: markupsafe.Markup(_DRAW[name](data[name], lang)) for name in CHARTS}
