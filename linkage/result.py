"""The audit result: findings, summary, drill-down (``explain``), charts and export."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .audit import STATUSES, Context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .readings import Lexicon

#: Rows of :meth:`AuditResult.explain`, in order.
EXPLAIN_FIELDS = ("my_number", "name", "fam", "giv", "birth", "sex", "addr", "household", "total")
EXPLAIN_WORDS = {
    "en": {
        "fields": {"my_number": "My Number", "name": "name (as written)", "fam": "family name",
                   "giv": "given name", "birth": "birth date", "sex": "sex", "addr": "address",
                   "household": "household", "total": "total"},
        "part": {0: "agree", 1: "nearly agree", 2: "differ", 3: "not compared"},
        "birth": {0: "same", 1: "near miss (swapped, one digit or era letter)", 2: "different", 3: "not compared"},
        "plain": {0: "same", 1: "nearly the same", 2: "different", 3: "not compared"},
        "views": {"kanji": "kanji", "kana": "kana", "reading": "known reading", "translit": "transliteration"},
        "number": {"linked": "the number on the record", "invalid_number": "invalid number",
                   "unknown_number": "not in the register", "other": "another resident's number"},
        "same_household": "same household", "other_household": "another household",
        "score": "score {score:.3f}: {status} {reason}", "best": "fits best among other residents",
        "own": "; +{bonus:g} bits: the same account is on this person's own card",
        "sex": {1: "male", 2: "female"}, "none": "(no card holder)",
    },
    "ja": {
        "fields": {"my_number": "個人番号", "name": "氏名（記載どおり）", "fam": "氏", "giv": "名",
                   "birth": "生年月日", "sex": "性別", "addr": "住所", "household": "世帯", "total": "合計"},
        "part": {0: "一致", 1: "近似", 2: "不一致", 3: "比較不能"},
        "birth": {0: "一致", 1: "近似（日月の入替・1桁違い・元号違い）", 2: "不一致", 3: "比較不能"},
        "plain": {0: "一致", 1: "近似", 2: "不一致", 3: "比較不能"},
        "views": {"kanji": "漢字", "kana": "カナ", "reading": "既知の読み", "translit": "翻字"},
        "number": {"linked": "記録の個人番号", "invalid_number": "不正な番号", "unknown_number": "住民登録にない",
                   "other": "別の住民の番号"},
        "same_household": "同一世帯", "other_household": "別世帯",
        "score": "スコア {score:.3f}: {status} {reason}", "best": "他の住民の中で最も一致",
        "own": "。+{bonus:g}ビット: 同じ口座がこの人のカードにも登録済み",
        "sex": {1: "男", 2: "女"}, "none": "（カード所有者なし）",
    },
}


@dataclass
class AuditResult:
    """What :func:`linkage.audit` returns.

    ``findings`` is the contract's findings table (one row per bank and
    insurance record), ``summary`` the counts by source, status and reason.
    In Jupyter the result shows itself as a compact summary; ``explain``,
    ``households`` and ``plot`` drill down; ``write`` exports every file.
    """

    findings: pd.DataFrame
    context: Context = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """Counts by source, status and reason (only combinations that occur)."""
        f = self.findings
        out = (f.groupby(["source", "status", "reason"], observed=True).size().rename("count").reset_index())
        order = {s: i for i, s in enumerate(STATUSES)}
        out = out.sort_values(["source", "status", "count"], key=lambda s: s.map(order) if s.name == "status"
                              else (-s if s.name == "count" else s), kind="mergesort")
        return out.reset_index(drop=True)

    @property
    def timings(self) -> dict[str, float]:
        """Wall time per stage, seconds."""
        return dict(self.context.timings)

    def counts(self) -> dict[str, int]:
        """Records per status."""
        vc = self.findings["status"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATUSES}

    def write(self, directory: str | Path, **kwargs: Any) -> dict[str, Path]:
        """Write findings.parquet/.csv, report.html, report.xlsx and summary.json
        into ``directory`` atomically (a failed write leaves the old files)."""
        from .report import write_outputs

        return write_outputs(self, Path(directory), **kwargs)

    # -- drill-down -------------------------------------------------------------
    def households(self, min_mislinks: int = 2, top: int | None = 20) -> pd.DataFrame:
        """Households whose members' cards carry several mislinks, worst first:
        ``household``, ``mislinks``, ``records`` (``source:record_id``) and ``reasons``."""
        from .plot import households

        return households(self, min_mislinks=min_mislinks, top=top)

    def plot(self, lang: str | None = None) -> "Figure":
        """The report's charts as one matplotlib figure (shown inline in Jupyter)."""
        from .plot import figure

        return figure(self, lang or self._lang)

    def explain(self, record_id: str, source: str | None = None, lang: str | None = None) -> pd.DataFrame:
        """Field by field, why one record got its verdict (a waterfall in words).

        One row per field (index: ``my_number``, ``name``, ``fam``, ``giv``,
        ``birth``, ``sex``, ``addr``, ``household``, ``total``) with the record's
        value, the card holder's, both normalised keys, the comparison level in
        words and its Fellegi–Sunter weight in bits (positive: speaks for the
        link).  When the audit suggests someone else, ``suggested*`` columns
        compare the record with that person.  ``df.attrs`` holds the verdict
        (status, reason, score, evidence).  Numbers are masked and names
        redacted as in the audit's findings.
        """
        x = self._position(record_id, source)
        words = EXPLAIN_WORDS.get(lang or self._lang, EXPLAIN_WORDS["en"])
        ctx = self.context
        f = self.findings.iloc[x]
        rec, res = ctx.records, ctx.residents
        h = int(ctx.holder[x])
        dec = ctx.decisions.iloc[x]
        o = int(dec["owner"])
        src = str(rec["source"].iat[x])
        model = ctx.models.get(src)
        rows = {k: {"field": words["fields"][k]} for k in EXPLAIN_FIELDS}
        self._side(rows, "record", rec, x, words, record=True)
        self._side(rows, "card_holder", res, h, words)
        feats = ctx.holder_features.iloc[[x]]
        self._compare(rows, "", feats, model, words, has=h >= 0)
        number_level = {"invalid_number": words["number"]["invalid_number"],
                        "unknown_number": words["number"]["unknown_number"]}.get(str(dec["detail"]),
                                                                                 words["number"]["linked"])
        rows["my_number"]["level"] = number_level
        rows["total"]["level"] = words["score"].format(score=float(f["score"]), status=f["status"],
                                                       reason=f["reason"])
        columns = ["field", "record", "record_key", "card_holder", "card_holder_key", "level", "weight"]
        if o >= 0 and o != h:
            self._side(rows, "suggested", res, o, words)
            from .compare import pair_features

            of = pair_features(rec, res, np.array([x]), np.array([o]), self._lexicon)
            own = bool(dec["member_own"] if dec["detail"] == "member" else dec["cand_own"])
            self._compare(rows, "suggested_", of, model, words, has=True, own=own)
            rows["my_number"]["suggested_level"] = words["number"]["other"]
            if h >= 0:
                same = res["household"].iat[o] == res["household"].iat[h]
                rows["household"]["suggested_level"] = words["same_household" if same else "other_household"]
            columns += ["suggested", "suggested_key", "suggested_level", "suggested_weight"]
        out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
        out.index.name = "field_code"
        for c in out.columns:
            if c.endswith("weight"):
                out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
            else:
                out[c] = out[c].fillna("").astype(str)
        out.attrs = {"source": src, "record_id": str(f["record_id"]), "status": str(f["status"]),
                     "reason": str(f["reason"]), "score": float(f["score"]), "evidence": str(f["evidence"])}
        return out

    # -- helpers for explain -------------------------------------------------
    @property
    def _lang(self) -> str:
        return str(self.meta.get("parameters", {}).get("lang", "en"))

    @property
    def _lexicon(self) -> "Lexicon":
        """The readings lexicon the audit built."""
        return self.context.lexicon

    def _position(self, record_id: str, source: str | None) -> int:
        f = self.findings
        hit = (f["record_id"].astype(str) == str(record_id)).to_numpy()
        if source is not None:
            hit &= (f["source"].astype(str) == source).to_numpy()
        pos = np.flatnonzero(hit)
        if len(pos) == 0:
            raise KeyError(f"no {source + ' ' if source else ''}record with id {record_id!r}")
        if len(pos) > 1:
            raise ValueError(f"record id {record_id!r} occurs in several sources: give source='bank' or "
                             "source='insurance'")
        return int(pos[0])

    def _mask(self, value: object) -> str:
        text = _text(value)
        if not text or self.meta.get("parameters", {}).get("unmask"):
            return text
        return "*" * max(len(text) - 4, 8) + text[-4:]

    def _name(self, value: object) -> str:
        text = _text(value)
        if text and self.meta.get("parameters", {}).get("redact_names"):
            from .evidence import redact_name

            return redact_name(text)
        return text

    def _side(self, rows: dict[str, dict[str, Any]], col: str, df: pd.DataFrame, i: int,
              words: dict[str, Any], record: bool = False) -> None:
        """Raw values and keys of one side (a record or a resident at position ``i``)."""
        key = f"{col}_key"
        if i < 0:
            rows["name"][col] = words["none"]
            return

        def get(c: str) -> object:
            return df[c].iat[i] if c in df.columns else None

        if record and str(get("source")) == "bank":
            name, kana = (get("holder_kana"), None) if bool(get("latin")) else (None, get("holder_kana"))
        else:
            name, kana = get("name"), get("name_kana")
        name, kana = self._name(name), self._name(kana)
        rows["my_number"][col] = self._mask(get("my_number"))
        rows["my_number"][key] = self._mask(get("number"))
        rows["name"][col] = f"{name}（{kana}）" if name and kana else (name or kana)
        rows["name"][key] = " / ".join(self._name(v) for v in (get("name_key"), get("kana_key")) if _text(v))
        for part in ("fam", "giv"):
            rows[part][key] = " / ".join(self._name(v) for v in (get(f"{part}_key"), get(f"{part}_kana"))
                                         if _text(v))
        rows["birth"][col] = _text(get("birth_date"))
        birth = get("birth")
        rows["birth"][key] = "" if birth is None or pd.isna(birth) else pd.Timestamp(birth).date().isoformat()
        sex = get("sex")  # the prepared tables keep the JIS code only
        sex = None if sex is None or pd.isna(sex) else int(sex)
        rows["sex"][col] = words["sex"].get(sex, "") if sex is not None else ""
        rows["sex"][key] = str(sex) if sex is not None else ""
        rows["addr"][col] = _text(get("address"))
        rows["addr"][key] = _text(get("addr_key"))
        if not record:
            rel = _text(get("relationship"))
            rows["household"][col] = _text(get("household")) + (f" ({rel})" if rel else "")

    def _compare(self, rows: dict[str, dict[str, Any]], prefix: str, feats: pd.DataFrame, model: Any,
                 words: dict[str, Any], has: bool, own: bool = False) -> None:
        """Levels in words and weights of one comparison (one row of pair features)."""
        from .compare import FEATURES, UNKNOWN
        from .explain import OWN_ACCOUNT_BONUS

        level, weight = f"{prefix}level", f"{prefix}weight"
        if not has:
            return
        fw = model.field_weights(feats).iloc[0] if model is not None else pd.Series(0.0, index=list(FEATURES))
        r = feats.iloc[0]
        for part in ("fam", "giv"):
            code = int(r[part])
            views = [f"{words['views'][v]}: {words['part'][int(r[f'{part}_{v}'])]}"
                     for v in ("kanji", "kana", "reading", "translit")
                     if f"{part}_{v}" in r.index and int(r[f"{part}_{v}"]) != UNKNOWN]
            rows[part][level] = words["part"][code] + (f" ({', '.join(views)})" if views else "")
        if "name_full" in r.index:
            rows["name"][level] = words["part"][int(r["name_full"])]
        rows["birth"][level] = words["birth"][int(r["birth"])]
        rows["sex"][level] = words["plain"][int(r["sex"])]
        rows["addr"][level] = words["plain"][int(r["addr"])]
        for k in FEATURES:
            rows[k][weight] = float(fw[k])
        total = float(fw.sum()) + (OWN_ACCOUNT_BONUS if own else 0.0)
        rows["total"][weight] = total
        if prefix:
            rows["total"][level] = words["best"] + (words["own"].format(bonus=OWN_ACCOUNT_BONUS) if own else "")

    # -- display ---------------------------------------------------------------
    def _repr_html_(self) -> str:
        from .plot import STATUS_COLOURS

        c = self.counts()
        f = self.findings
        total = len(f)
        by_source = f["source"].astype(str).value_counts()
        sources = ", ".join(f"{html.escape(str(s))} {n:,}" for s, n in by_source.items())
        chips = " ".join(
            f'<span style="background:{STATUS_COLOURS[s]};color:#fff;border-radius:4px;padding:1px 6px;'
            f'margin-right:4px">{html.escape(s)} <b>{c[s]:,}</b></span>'
            for s in ("mislink", "invalid", "review", "ok"))
        act = f[f["status"].astype(str) != "ok"]
        reasons = act.groupby([act["reason"].astype(str), act["status"].astype(str)]).size().sort_values(
            ascending=False, kind="mergesort").head(8)
        body = "".join(f"<tr><td>{html.escape(r)}</td><td>{html.escape(s)}</td>"
                       f"<td style='text-align:right'>{n:,}</td></tr>" for (r, s), n in reasons.items())
        table = (f"<table><thead><tr><th>reason</th><th>status</th><th>records</th></tr></thead>"
                 f"<tbody>{body}</tbody></table>" if body else "<p>No findings need action.</p>")
        hh = self.households(top=None)
        example = html.escape(str(act["record_id"].iat[0])) if len(act) else "…"
        hint = (f"<p style='color:#555;font-size:90%'>{len(hh):,} households with several mislinks · "
                f"<code>result.explain(\"{example}\")</code> · <code>result.households()</code> · "
                f"<code>result.plot()</code> · <code>result.write(\"out/\")</code></p>")
        return (f"<div><p><b>linkage audit</b>: {total:,} linked records ({sources})</p>"
                f"<p>{chips}</p>{table}{hint}</div>")

    def __repr__(self) -> str:
        c = self.counts()
        return (f"AuditResult({len(self.findings):,} records: "
                + ", ".join(f"{k} {v:,}" for k, v in c.items()) + ")")


def _text(value: object) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value).strip()
