"""Charts of an audit, shared by ``AuditResult.plot()`` and report.html.

The chart data are plain DataFrames computed from the findings (and, for
households, the audit context); the drawing uses matplotlib's object API
(``matplotlib.figure.Figure``, no pyplot state), so it is safe in batch runs
and displays inline in Jupyter.  report.html draws the same tables as HTML
bars (:mod:`linkage.report_charts`), without matplotlib.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .result import AuditResult

STATUSES = ("ok", "review", "mislink", "invalid")
#: Status colours, shared by charts, the HTML report and the notebook summary.
STATUS_COLOURS = {"ok": "#3a7d44", "review": "#c98a00", "mislink": "#b3261e", "invalid": "#6b5b95"}
STATUS_WORDS = {
    "en": {"ok": "ok", "review": "review", "mislink": "mislink", "invalid": "invalid"},
    "ja": {"ok": "一致", "review": "要確認", "mislink": "誤登録", "invalid": "不備"},
}
CHART_WORDS = {
    "en": {"by_source": "Records by source and status", "by_reason": "Findings that need action, by reason",
           "scores": "Score distribution (log scale)", "households": "Households with several mislinks",
           "records": "records", "score": "score: how strongly the evidence supports the link",
           "mislinks": "mislinks", "none": "none", "bank": "bank", "insurance": "insurance"},
    "ja": {"by_source": "ソース・判定別の件数", "by_reason": "対応が必要な指摘（理由別）",
           "scores": "スコア分布（対数目盛）", "households": "誤登録が複数ある世帯",
           "records": "件数", "score": "スコア（紐付けが正しい確からしさ）", "mislinks": "誤登録",
           "none": "なし", "bank": "口座", "insurance": "保険"},
}
CHARTS = ("by_source", "by_reason", "scores", "households")
#: Fonts that can show Japanese, tried in this order when one is installed.
CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "IPAexGothic", "IPAGothic",
             "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "TakaoGothic", "VL Gothic")


# --- chart data ---------------------------------------------------------------

def by_source_status(findings: pd.DataFrame) -> pd.DataFrame:
    """Records per source (rows) and status (columns, every status present)."""
    from .report import count_by  # counted by codes: no text per row

    n = count_by({"source": findings["source"], "status": findings["status"]})
    t = n.pivot(index="source", columns="status", values="count")
    return t.reindex(columns=pd.Index(list(STATUSES), name="status"), fill_value=0).fillna(0).astype(int)


def by_reason(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings that need action (status not ok): reason, status and count, most first."""
    act = findings[findings["status"].astype(str) != "ok"]
    out = (act.groupby([act["reason"].astype(str), act["status"].astype(str)]).size()
           .rename("count").reset_index())
    order = {s: i for i, s in enumerate(("mislink", "invalid", "review"))}
    out["_o"] = out["status"].map(order)
    out = out.sort_values(["_o", "count", "reason"], ascending=[True, False, True], kind="mergesort")
    return out.drop(columns="_o").reset_index(drop=True)


def score_histogram(findings: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Records per score bin (rows: left edge 0, 0.1, …) and status (columns)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    score = pd.to_numeric(findings["score"], errors="coerce").to_numpy(dtype=float)
    idx = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, bins - 1)
    status = findings["status"].astype(str).to_numpy()
    out = {}
    ok = ~np.isnan(score)
    for s in STATUSES:
        sel = ok & (status == s)
        out[s] = np.bincount(idx[sel], minlength=bins)[:bins]
    return pd.DataFrame(out, index=pd.Index(np.round(edges[:-1], 3), name="score_from"))


def households(result: "AuditResult", min_mislinks: int = 2, top: int | None = 20) -> pd.DataFrame:
    """Households whose members' cards carry at least ``min_mislinks`` mislinks.

    Columns: ``household`` (register key of the card holders' household),
    ``mislinks``, ``records`` (``source:record_id`` joined by spaces) and
    ``reasons`` (distinct reason codes); worst first, at most ``top`` rows.
    """
    cols = ["household", "mislinks", "records", "reasons"]
    f, ctx = result.findings, result.context
    holder = np.asarray(ctx.holder)
    mis = np.flatnonzero((f["status"] == "mislink").to_numpy(dtype=bool, na_value=False) & (holder >= 0))
    if not len(mis):
        return pd.DataFrame(columns=cols)
    hh = ctx.residents["household"].to_numpy(dtype=object, na_value=None)[holder[mis]]
    sub = f.iloc[mis]  # the mislinks only: a million findings need not become strings
    d = pd.DataFrame({"household": hh, "rec": (sub["source"].astype(str) + ":" + sub["record_id"].astype(str))
                      .to_numpy(), "reason": sub["reason"].astype(str).to_numpy()}).dropna()
    n = d["household"].value_counts()
    n = n[n >= min_mislinks].sort_index().sort_values(ascending=False, kind="mergesort")
    if top is not None:
        n = n.head(top)
    if n.empty:
        return pd.DataFrame(columns=cols)
    g = d[d["household"].isin(n.index)].groupby("household")
    out = pd.DataFrame({"household": n.index.astype(str), "mislinks": n.to_numpy().astype(int)})
    out["records"] = out["household"].map(g["rec"].agg(lambda s: " ".join(sorted(s))))
    out["reasons"] = out["household"].map(g["reason"].agg(lambda s: " ".join(sorted(set(s)))))
    return out[cols]


# --- drawing ------------------------------------------------------------------

@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font that can show Japanese, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


@contextmanager
def _style(lang: str) -> Iterator[None]:
    import matplotlib as mpl

    rc: dict[str, Any] = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                          "axes.titlesize": 10, "axes.titleweight": "bold"}
    font = cjk_font()
    if font:
        rc["font.family"] = ["sans-serif"]
        rc["font.sans-serif"] = ["DejaVu Sans", font]
    with mpl.rc_context(rc), warnings.catch_warnings():
        # Without a Japanese font, glyphs are measured as boxes; the browser draws the real ones.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        yield


def chart_words(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The charts' words and the status words in ``lang`` (English for an unknown one)."""
    return CHART_WORDS.get(lang, CHART_WORDS["en"]), STATUS_WORDS.get(lang, STATUS_WORDS["en"])


def count_text(n: int) -> str:
    """A count as the reports write it: 1,234."""
    return f"{int(n):,}"


def draw_by_source(ax: "Axes", table: pd.DataFrame, lang: str = "en") -> None:
    """Horizontal stacked bars: records per source, split by status."""
    w, sw = chart_words(lang)
    labels = [w.get(s, s) for s in table.index]
    left = np.zeros(len(table))
    for s in STATUSES:
        n = table[s].to_numpy() if s in table else np.zeros(len(table))
        ax.barh(labels, n, left=left, color=STATUS_COLOURS[s], label=sw[s])
        left += n
    for y, total in enumerate(left):
        ax.text(total, y, f" {int(total):,}", va="center", fontsize=8)
    ax.set_xlabel(w["records"])
    ax.set_title(w["by_source"])
    ax.invert_yaxis()
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.margins(x=0.15)


def _say_none(ax: "Axes", w: dict[str, str]) -> None:
    """An empty chart: the words for "nothing to show" instead of axes."""
    ax.text(0.5, 0.5, w["none"], ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def draw_by_reason(ax: "Axes", table: pd.DataFrame, lang: str = "en") -> None:
    """Horizontal bars: findings that need action per reason, coloured by status."""
    w, _ = chart_words(lang)
    ax.set_title(w["by_reason"])
    if table.empty:
        _say_none(ax, w)
        return
    y = np.arange(len(table))
    ax.barh(y, table["count"], color=[STATUS_COLOURS[s] for s in table["status"]])
    ax.set_yticks(y, table["reason"], fontsize=8)
    for i, n in enumerate(table["count"]):
        ax.text(n, i, f" {int(n):,}", va="center", fontsize=8)
    ax.set_xlabel(w["records"])
    ax.invert_yaxis()
    ax.margins(x=0.15)


def draw_scores(ax: "Axes", table: pd.DataFrame, lang: str = "en") -> None:
    """Score histogram: side-by-side bars per status on a log scale (ok outnumbers the rest)."""
    w, sw = chart_words(lang)
    left = table.index.to_numpy(dtype=float)
    step = (left[1] - left[0]) if len(left) > 1 else 1.0
    shown = [s for s in STATUSES if table[s].sum() > 0]
    width = step * 0.8 / max(len(shown), 1)
    for k, s in enumerate(shown):
        n = table[s].to_numpy()
        keep = n > 0
        ax.bar(left[keep] + step * 0.1 + k * width, n[keep], width=width, align="edge", color=STATUS_COLOURS[s],
               label=sw[s])
    if shown:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_xlim(0, 1)
    ax.set_xticks(np.round(np.append(left, 1.0), 2))
    ax.set_xlabel(w["score"])
    ax.set_ylabel(w["records"])
    ax.set_title(w["scores"])


def draw_households(ax: "Axes", table: pd.DataFrame, lang: str = "en", top: int = 10) -> None:
    """Horizontal bars: the households with the most mislinks on their cards."""
    w, _ = chart_words(lang)
    ax.set_title(w["households"])
    if table.empty:
        _say_none(ax, w)
        return
    t = table.head(top)
    y = np.arange(len(t))
    ax.barh(y, t["mislinks"], color=STATUS_COLOURS["mislink"])
    ax.set_yticks(y, t["household"].astype(str), fontsize=8)
    ax.set_xlabel(w["mislinks"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.invert_yaxis()


def chart_data(result: "AuditResult") -> dict[str, pd.DataFrame]:
    """The tables behind every chart, by chart name (see :data:`CHARTS`)."""
    f = result.findings
    return {"by_source": by_source_status(f), "by_reason": by_reason(f), "scores": score_histogram(f),
            "households": households(result)}


_DRAW = {"by_source": draw_by_source, "by_reason": draw_by_reason, "scores": draw_scores,
         "households": draw_households}


def figure(result: "AuditResult", lang: str = "en", data: dict[str, pd.DataFrame] | None = None) -> "Figure":
    """All report charts in one matplotlib figure (2 × 2)."""
    from matplotlib.figure import Figure

    data = data or chart_data(result)
    with _style(lang):
        fig = Figure(figsize=(11, 7.5), layout="constrained")
        axes = fig.subplots(2, 2)
        for name, ax in zip(CHARTS, axes.ravel()):
            _DRAW[name](ax, data[name], lang)
    return fig
