"""One sentence per finding that a clerk can act on, in English or Japanese.

Numbers are masked unless the caller unmasks them; names are shown (reports
go to the audit team) unless ``redact`` is set.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .compare import AGREE, CLOSE, DISAGREE
from .keycols import arrow_strings, factorize_first
from .normalize import number as _number
from .normalize.number import REASONS as number_reasons

ROLE_WORDS = {
    "en": {"father": "father", "mother": "mother", "son": "son", "daughter": "daughter",
           "husband": "husband", "wife": "wife", "spouse": "spouse", "parent": "parent", "child": "child",
           "brother": "brother", "sister": "sister", "sibling": "sibling", "grandchild": "grandchild",
           "grandparent": "grandparent", "member": "household member"},
    "ja": {"father": "父", "mother": "母", "son": "息子", "daughter": "娘", "husband": "夫", "wife": "妻",
           "spouse": "配偶者", "parent": "親", "child": "子", "brother": "兄弟", "sister": "姉妹",
           "sibling": "きょうだい", "grandchild": "孫", "grandparent": "祖父母", "member": "世帯員"},
}

_HEAD = {"世帯主", "本人"}
_SPOUSE = {"妻", "夫", "配偶者", "妻(未届)", "夫(未届)"}
_PARENT = {"父", "母", "父母", "実父", "実母", "義父", "義母", "夫の父", "夫の母", "妻の父", "妻の母"}


def _role(rel: object) -> str:
    """Household role of a 続柄 value relative to the head."""
    if rel is None or (isinstance(rel, float) and np.isnan(rel)) or rel is pd.NA:
        return "unknown"
    r = str(rel).strip()
    if r in _HEAD:
        return "head"
    if r in _SPOUSE:
        return "spouse"
    if r in _PARENT or r.endswith("の父") or r.endswith("の母"):
        return "parent"
    if r.startswith("孫"):
        return "grandchild"
    if r in {"子", "養子"} or r.endswith("男") or r.endswith("女") or r.endswith("子"):
        return "child"
    return "other"


def relation(holder_rel: object, member_rel: object, member_sex: object) -> str:
    """What the member is to the card holder: father, daughter, wife, …"""
    h, m = _role(holder_rel), _role(member_rel)
    male = member_sex == 1
    female = member_sex == 2
    gendered = lambda a, b, neutral: a if male else b if female else neutral  # noqa: E731
    if (h == "child" and m in ("head", "spouse")) or (h in ("head", "spouse") and m == "parent"):
        return gendered("father", "mother", "parent")
    if (h in ("head", "spouse") and m == "child") or (h == "parent" and m in ("head",)):
        return gendered("son", "daughter", "child")
    if (h == "head" and m == "spouse") or (h == "spouse" and m == "head"):
        return gendered("husband", "wife", "spouse")
    if h == "child" and m == "child":
        return gendered("brother", "sister", "sibling")
    if h == "parent" and m in ("child", "grandchild"):
        return "grandchild"
    if (h == "child" and m == "parent") or (h == "grandchild" and m in ("head", "spouse")):
        return "grandparent"
    return "member"


def _year(ts: object) -> str:
    return "" if ts is None or pd.isna(ts) else str(pd.Timestamp(ts).year)


def _clean(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else str(value).strip()


def redact_name(name: str) -> str:
    """Keep the first character of each name part: ﾔﾏﾀﾞ ﾀﾛｳ → ﾔ** ﾀ**."""
    return " ".join(p[:1] + "**" for p in name.split()) if name else name


FIELD_WORDS = {
    "en": {"fam": "family name", "giv": "given name", "birth": "birth date", "sex": "sex", "addr": "address"},
    "ja": {"fam": "氏", "giv": "名", "birth": "生年月日", "sex": "性別", "addr": "住所"},
}
SEX_WORDS = {"en": {1: "male", 2: "female"}, "ja": {1: "男", 2: "女"}}
NUMBER_WORDS = {
    "en": {"missing": "is empty", **number_reasons},
    "ja": {"missing": "空欄", "non_digit": "数字以外の文字を含む", "length": "12桁ではない", "all_zeros": "すべて0",
           "check_digit": "チェックデジットが合わない"},
}


PROBLEM_WORDS = {
    "en": {"empty": "{field} is empty", "unreadable": "{field} is unreadable (damaged characters or far too long)",
           "unreadable_date": "{field} is unreadable or not a real date",
           "unreadable_code": "{field} is not a valid code",
           "future": "{field} is in the future", "ancient": "{field} is before 1868",
           "duplicate": "{field} repeats the one on row {detail}"},
    "ja": {"empty": "{field}が空欄", "unreadable": "{field}が読めない（文字化けまたは長すぎる）",
           "unreadable_date": "{field}が読めないか実在しない日付",
           "unreadable_code": "{field}がコード表にない値",
           "future": "{field}が未来の日付", "ancient": "{field}が1868年より前",
           "duplicate": "{field}が{detail}行目と重複"},
}


def problem_words(code: str, lang: str = "en") -> str:
    """Words for a validation code ``problem|field|row|detail``."""
    problem, field, row, detail = (code.split("|") + ["", "", ""])[:4]
    if problem == "unreadable" and field == "birth_date":
        problem = "unreadable_date"
    elif problem == "unreadable" and field == "sex":
        problem = "unreadable_code"
    text = PROBLEM_WORDS[lang].get(problem, problem).format(field=field, detail=detail)
    return f"{text} (row {row})" if lang == "en" else f"{text}（{row}行目）"


@cache
def _masked_table() -> np.ndarray:
    """``********0000`` … ``********9999``: a masked number by its last four digits."""
    return np.array([f"********{i:04d}" for i in range(10_000)], dtype=object)


def masked_numbers(raw: pd.Series, number: pd.Series | None) -> np.ndarray:
    """``normalize.number.mask`` of ``raw`` (object array, None where missing),
    read off the normalised ``number`` (12 digits or NA, aligned with ``raw``)
    where there is one: its last four digits are the raw value's.  Only values
    that are not valid numbers take the per-value path."""
    if number is None:
        return _number.mask(raw).to_numpy(dtype=object, na_value=None)
    twelve, last4, empty = _last_digits(number)
    out = np.full(len(number), None, dtype=object)
    out[twelve] = _masked_table()[last4[twelve]]
    odd = np.flatnonzero(~twelve & ~empty)  # not from the normaliser: mask as text
    if len(odd):
        out[odd] = np.array(["********" + v[-4:] for v in number.iloc[odd].astype(str)], dtype=object)
    other = np.flatnonzero(empty & raw.notna().to_numpy())
    if len(other):
        out[other] = _number.mask(raw.iloc[other]).to_numpy(dtype=object, na_value=None)
    return out


def _last_digits(number: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``number`` is 12 ASCII digits, its last four as an integer, and
    where it is missing or empty."""
    data = arrow_strings(number)
    if data is not None:
        size = pc.binary_length(data)
        twelve = pc.and_(pc.equal(size, 12), pc.ascii_is_decimal(data)).fill_null(False)
        last4 = pc.cast(pc.utf8_slice_codeunits(pc.if_else(twelve, data, "0000"), -4), pa.int64())
        empty = pc.equal(size, 0).fill_null(True)
        return tuple(a.to_numpy(zero_copy_only=False) for a in (twelve, last4, empty))  # type: ignore[return-value]
    text = number.to_numpy(dtype=object, na_value="").astype("U13")
    code = text.view(np.uint32).reshape(len(text), 13)  # code points, 0 past the end
    digits = code[:, 8:12].astype(np.int64) - ord("0")
    twelve = (code[:, 11] != 0) & (code[:, 12] == 0) & ((digits >= 0) & (digits <= 9)).all(axis=1)
    return twelve, np.where(twelve, digits @ np.array([1000, 100, 10, 1]), 0), code[:, 0] == 0


class Writer:
    """Builds evidence sentences from the audit context, one record at a time."""

    def __init__(self, records: pd.DataFrame, residents: pd.DataFrame, mask: Callable[[str], str],
                 lang: str = "en", redact: bool = False, record_rows: np.ndarray | None = None,
                 resident_rows: np.ndarray | None = None):
        """``record_rows``/``resident_rows``: the only rows that sentences will
        name (all when None); names are looked up for those rows only."""
        if lang not in ("en", "ja"):
            raise ValueError(f"unknown language {lang!r}: use 'en' or 'ja'")
        self.rec, self.res, self.mask, self.lang, self.redact = records, residents, mask, lang, redact
        self.rec_source = records["source"].to_numpy(dtype=object)
        self.rec_identity = self._identity(records, record_rows, record=True)
        self.res_identity = self._identity(residents, resident_rows, record=False)
        self.res_birth = residents["birth"].to_numpy()
        self.res_year = self._years(self.res_birth, resident_rows)
        self.res_rel = self._values(residents["relationship"], resident_rows)
        self.res_sex = self._values(residents["sex"], resident_rows)
        self.res_number = self._values(residents["number"], resident_rows)
        self.res_household = self._values(residents["household"], resident_rows)

    @staticmethod
    def _values(column: pd.Series, rows: np.ndarray | None) -> np.ndarray:
        """``column`` as an object array (None where missing), filled at ``rows`` only (all when None)."""
        if rows is None:
            return column.to_numpy(dtype=object, na_value=None)
        out = np.full(len(column), None, dtype=object)
        rows = np.asarray(rows, dtype=np.int64)
        out[rows] = column.take(rows).to_numpy(dtype=object, na_value=None)
        return out

    @staticmethod
    def _years(birth: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """Birth year of each row as text ("" where unknown, or where not in ``rows``)."""
        out = np.full(len(birth), "", dtype=object)
        rows = np.arange(len(birth)) if rows is None else np.asarray(rows, dtype=np.int64)
        b = birth.take(rows).astype("datetime64[ns]")
        known = ~np.isnat(b)
        out[rows[known]] = (b[known].astype("datetime64[Y]").astype(np.int64) + 1970).astype(str).astype(object)
        return out

    def _identity(self, df: pd.DataFrame, rows: np.ndarray | None, record: bool) -> np.ndarray:
        """The name shown for each row ("" where none, or where not in ``rows``)."""
        cols = ["holder_kana", "name", "name_kana"] if record else ["name", "name_kana"]
        out = np.full(len(df), "", dtype=object)
        rows = np.arange(len(df)) if rows is None else np.asarray(rows, dtype=np.int64)
        shown = np.full(len(rows), "", dtype=object)
        for col in reversed(cols):
            if col in df.columns:
                v = df[col].take(rows).astype("string").str.strip()
                shown = np.where(v.notna() & (v != ""), v.fillna("").to_numpy(dtype=object), shown)
        if self.redact:
            shown = np.array([redact_name(x) for x in shown], dtype=object)
        out[rows] = shown
        return out

    # -- pieces ---------------------------------------------------------------
    def person(self, r: int, with_number: bool = True, more: str = "") -> str:
        """``name (masked number, born YYYY, more)``."""
        name = self.res_identity[r] or ("(no name)" if self.lang == "en" else "（氏名なし）")
        year = self.res_year[r]
        bits = []
        if with_number and self.res_number[r]:
            bits.append(self.mask(self.res_number[r]))
        if year:
            bits.append(f"born {year}" if self.lang == "en" else f"{year}年生")
        if more:
            bits.append(more)
        return f"{name} ({', '.join(bits)})" if bits else name

    def what(self, x: int) -> str:
        src = self.rec_source[x]
        ident = self.rec_identity[x] or "?"
        if self.lang == "en":
            return f"account holder {ident}" if src == "bank" else f"insured person {ident}"
        return f"口座名義 {ident}" if src == "bank" else f"被保険者 {ident}"

    def differing(self, feats: dict[str, int], x: int, h: int) -> str:
        words = FIELD_WORDS[self.lang]
        off = [words[f] for f in ("fam", "giv", "birth", "sex") if feats.get(f) == DISAGREE]
        near = [words[f] for f in ("fam", "giv", "birth") if feats.get(f) == CLOSE]
        sep = ", " if self.lang == "en" else "、"
        if self.lang == "en":
            parts = ([f"{sep.join(off)} differ" + ("s" if len(off) == 1 else "")] if off else []) + (
                [f"{sep.join(near)} nearly agree"] if near else [])
            return "; ".join(parts) or "the name could not be compared"
        parts = ([f"{sep.join(off)}が不一致"] if off else []) + ([f"{sep.join(near)}が近似"] if near else [])
        return "。".join(parts) or "氏名を比較できない"

    # -- sentences ------------------------------------------------------------
    def sentence(self, x: int, reason: str, detail: str, h: int, o: int, feats: dict[str, int],
                 extra: dict[str, object]) -> str:
        en = self.lang == "en"
        what = self.what(x)
        if reason == "INVALID_MY_NUMBER":
            why = NUMBER_WORDS[self.lang].get(str(extra.get("number_reason")), "")
            base = (f"the linked number {why}" if en else f"個人番号: {why}")
            return base + self._suggest(o, x, en)
        if reason == "BAD_RECORD":
            words = problem_words(str(extra.get("bad_field")), self.lang)
            return (f"cannot be judged: {words}" if en else f"判定できない: {words}")
        if reason == "UNKNOWN_MY_NUMBER":
            base = ("the linked number is well-formed but not in the register" if en
                    else "個人番号は正しい形式だが住民登録にない")
            return base + self._suggest(o, x, en)
        holder = self.person(h, with_number=False) if h >= 0 else "?"
        if detail == "corporate":
            return (f"{what} is a company, not a person, so the account cannot be the card holder {holder}'s"
                    if en else f"{what}は法人名義: 個人 {holder} の口座ではない")
        if reason == "OK":
            return self.ok_sentence(x, detail, feats, extra)
        if reason == "HOUSEHOLD_MEMBER":
            rel = ROLE_WORDS[self.lang][relation(self.res_rel[h], self.res_rel[o], self.res_sex[o])]
            own = extra.get("own")
            if en:
                s = f"{what} is the card holder's {rel} {self.person(o)}, same household, not the card holder {holder}"
                return s + ("; the same account is on that person's own card" if own else "")
            s = f"{what}は同一世帯の{rel} {self.person(o)}であり、カード所有者 {holder} ではない"
            return s + ("（同じ口座がその人のカードにも登録済み）" if own else "")
        if reason == "OTHER_PERSON":
            if detail == "candidate":
                hh = "another household" if en else "別世帯"
                if self.res_household[o] is not None and self.res_household[o] == self.res_household[h]:
                    hh = "same household" if en else "同一世帯"
                own = extra.get("own")
                if en:
                    s = f"{what} matches {self.person(o, more=hh)}, not the card holder {holder}"
                    return s + ("; the same account is on that person's own card" if own else "")
                s = f"{what}は{self.person(o, more=hh)}と一致し、カード所有者 {holder} ではない"
                return s + ("（同じ口座がその人のカードにも登録済み）" if own else "")
            if detail == "ambiguous":
                n = int(extra.get("ties") or 2)
                return (f"{what} does not fit the card holder {holder} ({self.differing(feats, x, h)}); "
                        f"{n} residents fit equally, so nobody is suggested: check by hand" if en else
                        f"{what}はカード所有者 {holder} と一致しない（{self.differing(feats, x, h)}）。"
                        f"同程度に一致する住民が{n}人いるため候補なし: 目視確認が必要")
            return (f"{what} does not fit the card holder {holder} ({self.differing(feats, x, h)}) "
                    f"and nobody in the register fits" if en else
                    f"{what}はカード所有者 {holder} と一致しない（{self.differing(feats, x, h)}）。住民登録に該当者なし")
        if reason == "SHARED_ACCOUNT":
            n = int(extra.get("shared") or 2)
            return (f"the same account is registered on the cards of {n} different people and "
                    f"{what} fits none of them (card holder {holder})" if en else
                    f"同じ口座が{n}人のカードに登録されており、{what}はいずれとも一致しない（カード所有者 {holder}）")
        if reason == "FORMER_NAME":
            return (f"{what}: {'given name and birth date agree' if feats.get('birth') == AGREE else 'given name agrees'} with "
                    f"the card holder {holder} but the family name differs: a former name (marriage, adoption)?"
                    if en else
                    f"{what}: 名{'と生年月日' if feats.get('birth') == AGREE else ''}はカード所有者 {holder} と一致、"
                    f"氏が異なる: 旧姓（婚姻・養子縁組）の可能性")
        if reason == "BIRTHDATE_MISMATCH":
            rb, hb = extra.get("rec_birth"), self.res_birth[h]
            rb_s = "" if rb is None or pd.isna(rb) else pd.Timestamp(rb).date().isoformat()
            hb_s = "" if hb is None or pd.isna(hb) else pd.Timestamp(hb).date().isoformat()
            return (f"{what}: name agrees with the card holder {holder} but the birth date differs slightly "
                    f"(record {rb_s}, register {hb_s}); nobody in the register fits better" if en else
                    f"{what}: 氏名はカード所有者 {holder} と一致、生年月日がわずかに異なる"
                    f"（記録 {rb_s}、登録 {hb_s}）。より一致する住民なし")
        if reason == "SEX_MISMATCH":
            rs = SEX_WORDS[self.lang].get(extra.get("rec_sex"), "?")
            hs = SEX_WORDS[self.lang].get(self.res_sex[h], "?")
            return (f"{what}: name and birth date agree with the card holder {holder} but sex differs "
                    f"(record {rs}, register {hs})" if en else
                    f"{what}: 氏名・生年月日はカード所有者 {holder} と一致、性別が異なる（記録 {rs}、登録 {hs}）")
        return reason  # pragma: no cover

    def _suggest(self, o: int, x: int, en: bool) -> str:
        if o < 0:
            return ("; nobody in the register fits the record" if en else "。該当する住民なし")
        return (f"; the record fits {self.person(o)}" if en else f"。記録は {self.person(o)} と一致")

    def ok_sentences(self, rows: np.ndarray, feats: dict[str, np.ndarray], reading: np.ndarray) -> np.ndarray:
        """:meth:`ok_sentence` of records ``rows`` that fit their card holder,
        worded once per pattern (source, name and address grades, reading)."""
        if not len(rows):
            return np.zeros(0, dtype=object)
        pattern = pd.factorize(self.rec_source[rows])[0].astype(np.int64)
        for c in ("fam", "giv", "addr"):
            pattern = pattern * 4 + feats[c][rows]
        read_code = pd.factorize(reading[rows])[0]  # None → -1
        pattern = pattern * (read_code.max(initial=0) + 2) + read_code + 1
        codes, first = factorize_first(pattern)
        words = np.array([self.ok_sentence(int(rows[i]), "fits", {c: int(v[rows[i]]) for c, v in feats.items()},
                                           {"reading": reading[rows[i]]}) for i in first], dtype=object)
        return words[codes]

    def ok_sentence(self, x: int, detail: str, feats: dict[str, int], extra: dict[str, object]) -> str:
        en = self.lang == "en"
        if detail == "unverified":
            return ("not verified: the register has no kana for the card holder and no reading of the "
                    "name is known from the data" if en else
                    "未確認: カード所有者のカナがなく、氏名の読みもデータから得られない")
        src = self.rec_source[x]
        close = any(feats.get(f) == CLOSE for f in ("fam", "giv"))
        if en:
            s = ("account holder name matches the card holder" if src == "bank"
                 else "name, birth date and sex match the card holder")
            if close:
                s += " (spelling variant)"
            if extra.get("reading") == "insurance":
                s += "; reading taken from the person's insurance record"
            elif extra.get("reading") == "lexicon":
                s += "; the kana is a known reading of the registered kanji name"
            if src == "insurance" and feats.get("addr") == DISAGREE:
                s += "; address differs (moved?)"
            return s
        s = "口座名義はカード所有者と一致" if src == "bank" else "氏名・生年月日・性別はカード所有者と一致"
        if close:
            s += "（表記ゆれ）"
        if extra.get("reading") == "insurance":
            s += "。読みは本人の保険記録から"
        elif extra.get("reading") == "lexicon":
            s += "。カナは登録漢字氏名の既知の読み"
        if src == "insurance" and feats.get("addr") == DISAGREE:
            s += "。住所が異なる（転居？）"
        return s
