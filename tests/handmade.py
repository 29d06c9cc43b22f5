"""Hand-made register and records: one case per reason code and per harmless variant."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from stdnum.jp import in_


def num(body: str) -> str:
    return body + in_.calc_check_digit(body)


# The register: two households and two single people.
TARO, HANAKO, ICHIRO = num("10000000001"), num("10000000002"), num("10000000003")
KYOKO, KEN, SUZUKI, KONO, SMITH = (num(f"2000000000{i}") for i in range(1, 6))
MISSING = num("99999999999")  # well-formed, not in the register
ADDR = "東京都千代田区霞が関1丁目2番3号"
RESIDENTS = pd.DataFrame([
    dict(my_number=TARO, name="山田 太郎", name_kana="ヤマダ タロウ", birth_date="1978-05-01", sex="1",
         address=ADDR, household_id="H1", relationship="世帯主"),
    dict(my_number=HANAKO, name="山田 花子", name_kana="ヤマダ ハナコ", birth_date="1980-02-03", sex="2",
         address=ADDR, household_id="H1", relationship="妻"),
    dict(my_number=ICHIRO, name="山田 一郎", name_kana="", birth_date="2012-07-07", sex="1",
         address=ADDR, household_id="H1", relationship="子"),
    dict(my_number=KYOKO, name="髙橋 恭子", name_kana="タカハシ キョウコ", birth_date="昭和60年4月12日", sex="女",
         address="大阪府大阪市北区梅田一丁目2-3", household_id="H2", relationship="世帯主"),
    dict(my_number=KEN, name="佐藤 健", name_kana="サトウ ケン", birth_date="1990-01-01", sex="1",
         address="北海道札幌市中央区北1条西2丁目", household_id="H3", relationship="世帯主"),
    dict(my_number=SUZUKI, name="鈴木 花子", name_kana="スズキ ハナコ", birth_date="1985-03-03", sex="2",
         address="福岡県福岡市中央区天神1-1-1", household_id="H4", relationship="妻"),
    dict(my_number=KONO, name="河野 洋平", name_kana="", birth_date="1960-06-06", sex="1",
         address="神奈川県横浜市中区1-1", household_id="H5", relationship="世帯主"),
    dict(my_number=SMITH, name="SMITH JOHN", name_kana="", birth_date="1975-09-09", sex="M",
         address="東京都港区六本木1-1-1", household_id="H6", relationship="世帯主"),
])


def bank_row(rid: str, number: str, holder: str, account: str) -> dict:
    return dict(record_id=rid, my_number=number, bank_code="0001", branch_code="001", account_type="1",
                account_number=account, holder_kana=holder)


def ins_row(rid: str, number: str, name: str, kana: str, birth: str, sex: str, address: str = "") -> dict:
    return dict(record_id=rid, my_number=number, insurer_number="06130012", symbol="1", number=rid,
                name=name, name_kana=kana, birth_date=birth, sex=sex, address=address)


BANK = pd.DataFrame([
    # Not findings: half-width kana, small kana written large, old glyph on the register.
    bank_row("b-ok-width", TARO, "ﾔﾏﾀﾞ ﾀﾛｳ", "1000001"),
    bank_row("b-ok-small", KYOKO, "ﾀｶﾊｼ ｷﾖｳｺ", "1000002"),
    bank_row("b-ok-hyphen-number", "-".join([HANAKO[:4], HANAKO[4:8], HANAKO[8:]]), "ﾔﾏﾀﾞ ﾊﾅｺ", "1000003"),
    bank_row("b-ok-alphabet", SMITH, "SMITH JOHN", "1000004"),
    bank_row("b-ok-long-vowel", TARO, "ﾔﾏﾀﾞ ﾀﾛｰ", "1000010"),  # ｰ for the う of タロウ
    # Reason codes.
    bank_row("b-household", ICHIRO, "ﾔﾏﾀﾞ ﾀﾛｳ", "1000001"),  # father's account on the child's card
    bank_row("b-other", KEN, "ﾀｶﾊｼ ｷﾖｳｺ", "1000002"),  # a previous visitor's account
    bank_row("b-former", SUZUKI, "ﾀﾅｶ ﾊﾅｺ", "1000005"),  # account under her maiden name
    bank_row("b-shared-1", KEN, "ｲﾉｳｴ ｻﾌﾞﾛｳ", "1000006"),  # someone outside the register, on two cards
    bank_row("b-shared-2", SUZUKI, "ｲﾉｳｴ ｻﾌﾞﾛｳ", "1000006"),
    bank_row("b-corporate", KEN, "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "1000007"),
    bank_row("b-unknown", MISSING, "ｻﾄｳ ｹﾝ", "1000008"),
    bank_row("b-invalid", TARO[:-1] + str((int(TARO[-1]) + 1) % 10), "ﾔﾏﾀﾞ ﾀﾛｳ", "1000001"),
    bank_row("b-bad", HANAKO, "", "1000009"),
])

INSURANCE = pd.DataFrame([
    # Not findings: old vs new glyph, era date, address notation, spacing, hiragana kana.
    ins_row("i-ok-variant", KYOKO, "高橋 恭子", "ﾀｶﾊｼ ｷｮｳｺ", "S60.4.12", "2", "大阪府大阪市北区梅田1丁目2番3号"),
    ins_row("i-ok-spacing", TARO, "山田太郎", "やまだ たろう", "昭和53年5月1日", "男", ADDR),
    ins_row("i-ok-kono", KONO, "河野 洋平", "コウノ ヨウヘイ", "1960/6/6", "1"),
    ins_row("i-ok-fullwidth-number", KEN.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "佐藤　健",
            "ｻﾄｳ ｹﾝ", "H2.1.1", "1"),
    # Reason codes.
    ins_row("i-household", TARO, "山田 一郎", "ヤマダ イチロウ", "平成24年7月7日", "1"),  # son's record on father's number
    ins_row("i-sex", KEN, "佐藤 健", "サトウ ケン", "1990-01-01", "2"),
    ins_row("i-birth", KEN, "佐藤 健", "サトウ ケン", "1990-01-10", "1"),  # one digit off
    ins_row("i-former", SUZUKI, "田中 花子", "タナカ ハナコ", "1985-03-03", "2"),
    ins_row("i-other", TARO, "髙橋 恭子", "タカハシ キョウコ", "1985-04-12", "2"),
    ins_row("i-unknown", MISSING, "佐藤 健", "サトウ ケン", "1990-01-01", "1"),
    ins_row("i-invalid-zeros", "000000000000", "佐藤 健", "サトウ ケン", "1990-01-01", "1"),
    ins_row("i-bad-date", KEN, "佐藤 健", "サトウ ケン", "2月30日", "1"),
    ins_row("i-bad-name", KEN, "", "", "1990-01-01", "1"),
])




def run_cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the real ``linkage`` command line in a subprocess, output captured as text."""
    return subprocess.run([sys.executable, "-m", "linkage.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def write_csvs(d: Path) -> Path:
    """The hand-made tables as residents.csv, bank.csv and insurance.csv in ``d``."""
    RESIDENTS.to_csv(d / "residents.csv", index=False)
    BANK.to_csv(d / "bank.csv", index=False)
    INSURANCE.to_csv(d / "insurance.csv", index=False)
    return d


def in_storage(frame: pd.DataFrame, storage: str) -> pd.DataFrame:
    """``frame`` with every string column in the given storage ("python" or "pyarrow")."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].astype(f"string[{storage}]")
    return out
