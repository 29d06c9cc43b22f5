"""report.html's charts in HTML and CSS: bar lengths, counts in words, escaping, log scale."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from linkage import plot, report_charts
from linkage.report_charts import log_height


def widths(html: str) -> list[float]:
    return [float(w) for w in re.findall(r'style="width:([0-9.]+)%"', html)]


def test_source_bars_are_stacked_by_status_and_scaled_to_the_largest():
    table = pd.DataFrame({"ok": [60, 10], "review": [20, 0], "mislink": [15, 5], "invalid": [5, 5]},
                         index=pd.Index(["bank", "insurance"], name="source"))
    html = report_charts.by_source(table)
    w = widths(html)
    assert len(w) == 8  # four statuses per source
    assert sum(w[:4]) == pytest.approx(100, abs=0.05) and sum(w[4:]) == pytest.approx(20, abs=0.05)
    assert w[:4] == pytest.approx([60, 20, 15, 5], abs=0.01)
    assert 'aria-label="bank: ok 60, review 20, mislink 15, invalid 5"' in html
    assert 'aria-label="insurance: ok 10, mislink 5, invalid 5"' in html  # no words for a zero count
    assert '<span class="num">100</span>' in html and '<span class="num">20</span>' in html
    ja = report_charts.by_source(table, "ja")
    assert "口座" in ja and "誤登録 15" in ja and "ソース・判定別の件数" in ja


def test_reason_bars_take_their_status_colour():
    table = pd.DataFrame({"reason": ["HOUSEHOLD_MEMBER", "BAD_RECORD", "FORMER_NAME"],
                          "status": ["mislink", "invalid", "review"], "count": [1200, 300, 600]})
    html = report_charts.by_reason(table)
    assert widths(html) == pytest.approx([100, 25, 50], abs=0.01)
    bars = re.findall(r'<span class="(s-\w+)" style="width', html)
    assert bars == ["s-mislink", "s-invalid", "s-review"]
    assert "<span class=\"num\">1,200</span>" in html and "HOUSEHOLD_MEMBER (mislink): 1,200" in html


@pytest.mark.parametrize("draw, columns", [(report_charts.by_reason, ["reason", "status", "count"]),
                                           (report_charts.households, ["household", "mislinks", "records", "reasons"])])
def test_an_empty_chart_says_so(draw, columns):
    html = draw(pd.DataFrame(columns=columns))
    assert '<p class="none">none</p>' in html and "width:" not in html
    assert "なし" in draw(pd.DataFrame(columns=columns), "ja")


def test_household_ids_are_escaped_and_only_the_worst_ten_shown():
    ids = ['<script>alert("x")</script>'] + [f"H{i:03d}" for i in range(14)]
    table = pd.DataFrame({"household": ids, "mislinks": range(20, 5, -1), "records": "", "reasons": ""})
    html = report_charts.households(table)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert len(widths(html)) == report_charts.TOP_HOUSEHOLDS == 10
    assert widths(html)[0] == 100 and widths(html)[-1] == pytest.approx(100 * 11 / 20, abs=0.01)


def test_log_scale_heights():
    assert log_height(0, 1000) == 0 and log_height(5, 0) == 0
    assert log_height(1000, 1000) == pytest.approx(100)
    assert 0 < log_height(1, 1000) < log_height(10, 1000) < log_height(999, 1000) < 100
    assert log_height(1, 1) == pytest.approx(100)  # a single record fills its chart


def test_score_histogram_bars_ticks_and_edges():
    findings = pd.DataFrame({"status": ["ok"] * 1500 + ["mislink"] * 3 + ["review"],
                             "score": [0.97] * 1500 + [0.05, 0.05, 0.42, 0.85]})
    html = report_charts.scores(plot.score_histogram(findings))
    heights = [float(h) for h in re.findall(r'style="height:([0-9.]+)%"', html)]
    assert len(heights) == 10 * 3  # ten bins, three statuses that occur (invalid has none)
    assert max(heights) == pytest.approx(100) and heights.count(0.0) == 30 - 4
    assert re.findall(r'<span style="bottom:[0-9.]+%">([0-9,]+)</span>', html) == ["1", "10", "100", "1,000"]
    assert re.findall(r"<span>(\d\.\d)</span>", html) == [f"{x / 10:.1f}" for x in range(11)]
    assert 'aria-label="mislink 0.0–0.1: 2"' in html and 'aria-label="ok 0.9–1.0: 1,500"' in html


def test_every_chart_of_a_real_audit(tmp_path):
    import linkage
    from linkage.synth import generate_world

    w = generate_world(40, 2, rate_scale=20)
    result = linkage.audit(w.residents, bank=w.bank, insurance=w.insurance)
    charts = report_charts.charts_html(plot.chart_data(result), "en")
    assert list(charts) == list(plot.CHARTS)
    assert all(str(html).startswith("<figcaption>") for html in charts.values())
    counts = [int(n.replace(",", "")) for n in re.findall(r'<span class="num">([0-9,]+)</span>',
                                                          str(charts["by_source"]))]
    assert sum(counts) == len(result.findings)
