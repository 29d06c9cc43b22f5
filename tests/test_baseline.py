"""The recordlinkage baseline compares exactly the audit's links, naively."""
from handmade import BANK, INSURANCE, RESIDENTS

import linkage
from linkage import baseline


def test_baseline_compares_the_audits_links_and_misses_bank_kana():
    result = linkage.audit(RESIDENTS, bank=BANK, insurance=INSURANCE)
    ctx = result.context
    pairs = baseline.links(ctx.records, ctx.holder)
    assert len(pairs) == int((ctx.holder >= 0).sum())
    features = baseline.compare(ctx.records, ctx.residents, pairs)
    assert list(features.columns) == ["kana", "birth_date", "sex"] and len(features) == len(pairs)
    # Half-width bank kana against the register's full-width kana: a plain Jaro-Winkler sees
    # different strings, which is why the audit normalises first (ﾔﾏﾀﾞ ﾀﾛｳ is ヤマダ タロウ).
    width = ctx.records.index[ctx.records["record_id"] == "b-ok-width"][0]
    assert features.xs(width, level="record")["kana"].iloc[0] < 0.6
    assert result.findings.set_index("record_id").loc["b-ok-width", "status"] == "ok"
