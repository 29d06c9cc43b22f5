"""The synthetic world: invariants of people, records and ground truth."""
from __future__ import annotations

import io
import re

import jaconv
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import in_ as stdnum_in

from linkage.synth import DEFAULT_RATES, EXPECTED, generate_world, resolve_rates, write_world
from linkage.synth.people import check_digits
from linkage.synth.rates import CLEAN_LABELS
from linkage.synth.sources import fold_map, foreign_names, gimei_names
from linkage.synth.world import BANK_HEADERS, INSURANCE_HEADERS, csv_bytes
from linkage.normalize.dates import birth_date
from linkage.normalize.kana import kana_key
from linkage.normalize.names import name_key
from linkage.normalize.number import my_number
from linkage.normalize.sex import sex as sex_code

BANK_KINDS = sorted(k.split(".", 1)[1] for k in DEFAULT_RATES if k.startswith("bank."))
INSURANCE_KINDS = sorted(k.split(".", 1)[1] for k in DEFAULT_RATES if k.startswith("insurance."))
IVS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
YEAR = 365.2425


@pytest.fixture(scope="module")
def world():
    """~3,500 residents with every error kind (rate_scale 10)."""
    return generate_world(1500, seed=7, rate_scale=10)


@pytest.fixture(scope="module")
def big():
    """~47,000 residents at the default rates."""
    return generate_world(20000, seed=3)


@pytest.fixture(scope="module")
def register(world):
    """Residents keyed by normalised number, with parsed fields."""
    r = world.residents.copy()
    r["num"] = my_number(r["my_number"])
    r["bd"] = birth_date(r["birth_date"])
    r["sx"] = sex_code(r["sex"])
    r["nk"] = name_key(r["name"])
    r["kk"] = kana_key(r["name_kana"])
    return r.set_index("num")


def _records(world, source: str, register: pd.DataFrame) -> pd.DataFrame:
    """Records joined with their truth, the card holder (c_*) and the true owner (o_*)."""
    df = getattr(world, source).copy()
    df["num"] = my_number(df["my_number"])
    truth = world.truth[world.truth["source"] == source].set_index("record_id").drop(columns="source")
    df = df.join(truth, on="record_id")
    cols = ["bd", "sx", "nk", "kk", "household_id"]
    return df.join(register[cols].add_prefix("c_"), on="num").join(register[cols].add_prefix("o_"), on="true_owner")


# ---------------------------------------------------------------- numbers


def test_register_numbers_are_valid_unique_and_variously_written(world):
    raw = world.residents["my_number"]
    compact = raw.map(stdnum_in.compact)
    assert compact.map(stdnum_in.is_valid).all()
    assert compact.is_unique
    assert (compact != "000000000000").all()
    styles = {
        "plain": raw.str.fullmatch(r"[0-9]{12}"),
        "hyphen": raw.str.fullmatch(r"[0-9]{4}-[0-9]{4}-[0-9]{4}"),
        "space": raw.str.fullmatch(r"[0-9]{4} [0-9]{4} [0-9]{4}"),
        "fullwidth": raw.str.fullmatch(r"[０-９]{12}"),
    }
    for name, mask in styles.items():
        assert mask.any(), name
    assert sum(m.sum() for m in styles.values()) == len(raw)
    assert styles["plain"].mean() > 0.8


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**11 - 1))
def test_vectorised_check_digit_agrees_with_stdnum(body):
    assert check_digits(np.array([body]))[0] == int(stdnum_in.calc_check_digit(f"{body:011d}"))


# ---------------------------------------------------------------- people


def _split(name: str) -> list[str]:
    return re.split(r"[ \u3000]", name, maxsplit=1)


def test_kanji_and_kana_of_each_resident_come_from_one_gimei_triple(world):
    names = gimei_names()
    fold = str.maketrans(fold_map())  # gimei itself spells some names with old forms (曉)
    families = {(k.translate(fold), t) for k, _, t in names["last_name"]}
    givens = {(k.translate(fold), t) for g in ("male", "female") for k, _, t in names["first_name"][g]}
    r = world.residents
    jp = r["name_kana"].notna() & ~r["name"].str.fullmatch(r"[A-Z ]+")
    checked = 0
    for name, kana in zip(r.loc[jp, "name"], r.loc[jp, "name_kana"]):
        n_parts, k_parts = _split(IVS.sub("", name).translate(fold)), _split(kana)
        if len(n_parts) < 2 or len(k_parts) < 2:
            continue  # written without a separator
        kata = [jaconv.hira2kata(jaconv.h2z(p, kana=True)) for p in k_parts]
        assert (n_parts[0], kata[0]) in families, (name, kana)
        assert (n_parts[1], kata[1]) in givens, (name, kana)
        checked += 1
    assert checked > 0.5 * jp.sum()


def test_foreign_residents_have_alphabet_names_from_the_table(world):
    r = world.residents
    alpha = r["name"].str.fullmatch(r"[A-Z ]+")
    assert 0.01 < alpha.mean() < 0.06
    families = {row["name"] for row in foreign_names() if row["part"] == "family"}
    assert all(any(n.startswith(f + " ") for f in families) for n in r.loc[alpha, "name"])
    assert r.loc[alpha, "name_kana"].isna().mean() > 0.6  # kana usually empty


def test_register_quirks_are_present(world):
    r = world.residents
    assert 0.18 < r["name_kana"].isna().mean() < 0.35
    assert birth_date(r["birth_date"]).notna().all()
    formats = {
        "iso": r"\d{4}-\d{2}-\d{2}", "slash": r"\d{4}/\d{1,2}/\d{1,2}", "compact": r"\d{8}",
        "kanji era": r"(明治|大正|昭和|平成|令和)(元|\d+)年\d+月\d+日", "letter era": r"[MTSHR]\d+\.\d+\.\d+",
    }
    for label, pattern in formats.items():
        assert r["birth_date"].str.fullmatch(pattern).any(), label
    assert r["sex"].isin(["男", "女"]).any() and r["sex"].isin(["1", "2"]).mean() > 0.8
    assert r["name"].str.contains("\u3000").any() and r["name"].str.contains(" ").any()
    assert r["name"].str.contains("[" + "".join(fold_map()) + "]").any()  # old/variant glyphs


@pytest.fixture(scope="module")
def members(world):
    r = world.residents.copy()
    r["bd"] = birth_date(r["birth_date"])
    head = r[r["relationship"] == "世帯主"].set_index("household_id")
    r = r.join(head[["name", "address", "bd"]].add_prefix("head_"), on="household_id")
    wife = r[r["relationship"] == "妻"].drop_duplicates("household_id").set_index("household_id")
    return r.join(wife[["bd"]].add_prefix("wife_"), on="household_id")


def test_every_household_has_one_head(world):
    r = world.residents
    assert (r.groupby("household_id")["relationship"].apply(lambda s: (s == "世帯主").sum()) == 1).all()
    assert r["relationship"].isin(["世帯主", "妻", "夫", "子", "父", "母", "孫", "妻の父", "妻の母"]).all()


def test_household_members_share_address_and_surname_mostly(members):
    others = members[members["relationship"] != "世帯主"]
    assert (others["address"] == others["head_address"]).mean() > 0.95
    head_family = others["head_name"].map(lambda n: _split(n)[0] if len(_split(n)) == 2 else n[:2])
    same = [n.replace(" ", "").replace("\u3000", "").startswith(f) for n, f in zip(others["name"], head_family)]
    blood = ~others["relationship"].isin(["妻の父", "妻の母"])
    assert np.mean(np.array(same)[blood.to_numpy()]) > 0.95


# relationship, whose birth date it is compared with, min and max years younger than that person
AGE_RULES = [
    ("子", "head_bd", 20, 45),
    ("孫", "head_bd", 40, 90),
    ("父", "head_bd", -45, -20),
    ("母", "head_bd", -45, -20),
    ("妻の父", "wife_bd", -45, -20),
    ("妻の母", "wife_bd", -45, -20),
    ("妻", "head_bd", -10, 10),
    ("夫", "head_bd", -10, 10),
]


@pytest.mark.parametrize("relationship, other, lo, hi", AGE_RULES)
def test_ages_make_sense(members, relationship, other, lo, hi):
    rows = members[members["relationship"] == relationship]
    assert len(rows) > 0
    younger_by = (rows["bd"] - rows[other]).dt.days / YEAR
    assert younger_by.between(lo, hi).all(), younger_by.describe()


def test_everyone_is_between_0_and_105(members):
    age = (pd.Timestamp("2024-04-01") - members["bd"]).dt.days / YEAR
    assert age.between(0, 105).all()
    heads = members[members["relationship"] == "世帯主"]
    assert ((pd.Timestamp("2024-04-01") - heads["bd"]).dt.days / YEAR >= 20).all()


# ---------------------------------------------------------------- truth


def test_one_truth_row_per_record_and_none_extra(world):
    t = world.truth
    assert not t.duplicated(["source", "record_id"]).any()
    assert set(t.loc[t["source"] == "bank", "record_id"]) == set(world.bank["record_id"])
    assert set(t.loc[t["source"] == "insurance", "record_id"]) == set(world.insurance["record_id"])
    assert len(t) == len(world.bank) + len(world.insurance)
    assert world.bank["record_id"].is_unique and world.insurance["record_id"].is_unique


def test_truth_status_and_reasons_follow_the_kind(world):
    t = world.truth
    assert set(t["injected"]) <= set(EXPECTED) | set(CLEAN_LABELS)
    for label, rows in t.groupby("injected"):
        status, reasons = EXPECTED.get(label, ("ok", "OK"))
        assert (rows["expected_status"] == status).all(), label
        assert (rows["expected_reasons"] == reasons).all(), label
    owners = t["true_owner"].dropna()
    assert owners.str.fullmatch(r"\d{12}").all()


@pytest.mark.parametrize("source, kinds", [("bank", BANK_KINDS), ("insurance", INSURANCE_KINDS)])
def test_every_error_kind_present_at_high_scale(world, source, kinds):
    present = set(world.truth.loc[world.truth["source"] == source, "injected"])
    assert set(kinds) <= present


def test_small_world_at_scale_10_still_has_every_kind():
    w = generate_world(120, seed=42, rate_scale=10)
    assert set(BANK_KINDS) <= set(w.truth.loc[w.truth["source"] == "bank", "injected"])
    assert set(INSURANCE_KINDS) <= set(w.truth.loc[w.truth["source"] == "insurance", "injected"])


@pytest.fixture(scope="module")
def bank(world, register):
    return _records(world, "bank", register)


@pytest.fixture(scope="module")
def insurance(world, register):
    return _records(world, "insurance", register)


# kind → (true owner is the card holder?, owner in the card holder's household?) for rows with an owner
OWNER_RULES = [
    ("bank", "parent_account_on_child", False, True),
    ("bank", "child_account_on_elderly_parent", False, True),
    ("bank", "previous_visitor", False, False),
    ("bank", "former_surname", True, True),
    ("bank", "missing_field", True, True),
    ("insurance", "same_name_stranger", False, False),
    ("insurance", "dependant_on_parent", False, True),
    ("insurance", "parent_on_dependant", False, True),
    ("insurance", "birthdate_typo", True, True),
    ("insurance", "sex_mixup", True, True),
    ("insurance", "former_surname", True, True),
    ("insurance", "missing_field", True, True),
    ("insurance", "broken_row", True, True),
]


@pytest.mark.parametrize("source, kind, is_holder, same_household", OWNER_RULES)
def test_true_owner_relation_to_card_holder(bank, insurance, source, kind, is_holder, same_household):
    rows = (bank if source == "bank" else insurance).query("injected == @kind")
    assert len(rows) > 0
    assert rows["true_owner"].notna().all()
    assert ((rows["true_owner"] == rows["num"]) == is_holder).all()
    assert ((rows["o_household_id"] == rows["c_household_id"]) == same_household).all()


@pytest.mark.parametrize("source", ["bank", "insurance"])
def test_clean_records_belong_to_the_card_holder(bank, insurance, source):
    rows = (bank if source == "bank" else insurance).query("expected_status == 'ok'")
    assert (rows["true_owner"] == rows["num"]).all()


@pytest.mark.parametrize("source", ["bank", "insurance"])
def test_number_errors(bank, insurance, register, source):
    rows = bank if source == "bank" else insurance
    typo = rows[rows["injected"] == "check_digit_typo"]
    assert not typo["my_number"].map(stdnum_in.is_valid).any()
    unknown = rows[rows["injected"] == "unknown_number"]
    assert unknown["num"].notna().all() and not unknown["num"].isin(register.index).any()
    assert typo["true_owner"].isin(register.index).all() and unknown["true_owner"].isin(register.index).all()


def test_insurance_clean_records_agree_with_the_card_holder(insurance):
    ok = insurance[insurance["expected_status"] == "ok"]
    assert (birth_date(ok["birth_date"]).to_numpy() == ok["c_bd"].to_numpy()).all()
    assert (sex_code(ok["sex"]).to_numpy() == ok["c_sx"].to_numpy()).all()
    names = ok[ok["injected"] != "foreign_kana"]
    assert (name_key(names["name"]).to_numpy() == names["c_nk"].to_numpy()).all()
    kana = kana_key(ok["name_kana"])
    both = kana.notna() & ok["c_kk"].notna()
    assert (kana[both] == ok.loc[both, "c_kk"]).all()
    assert set(ok["injected"]) >= {"era_date", "address_notation", "kana_width", "kanji_variant", "old_address"}


def test_bank_clean_holders_are_the_card_holder(bank):
    ok = bank[(bank["expected_status"] == "ok") & bank["c_kk"].notna()]
    ok = ok[~ok["injected"].isin(["foreign_alphabet", "truncated_name"])]
    assert len(ok) > 100
    assert (kana_key(ok["holder_kana"]).to_numpy() == ok["c_kk"].to_numpy()).all()


def test_bank_mislinked_holders_are_the_owner_not_the_card_holder(bank):
    rows = bank[bank["injected"].isin(["parent_account_on_child", "child_account_on_elderly_parent",
                                       "previous_visitor"])]
    key = kana_key(rows["holder_kana"])
    known = rows["o_kk"].notna() & ~rows["holder_kana"].str.fullmatch("[A-Z ]+")
    assert (key[known] == rows.loc[known, "o_kk"]).all()
    assert (key != rows["c_kk"]).fillna(True).all()


def test_shared_and_corporate_accounts(bank):
    shared = bank[bank["injected"] == "nonresident_shared"]
    assert shared["true_owner"].isna().all()
    acct = ["bank_code", "branch_code", "account_number"]
    for _, group in shared.groupby(acct):
        assert len(group) >= 2 and group["c_household_id"].is_unique
        assert group["holder_kana"].nunique() == 1
    corp = bank[bank["injected"] == "corporate_account"]
    assert corp["true_owner"].isna().all()
    assert corp["holder_kana"].str.contains(r"^[ｶﾕｲ]\)|\(ｶ$").all()


def test_same_name_strangers(insurance):
    rows = insurance[insurance["injected"] == "same_name_stranger"]
    kana = kana_key(rows["name_kana"])
    both = kana.notna() & rows["c_kk"].notna()
    assert (kana[both] == rows.loc[both, "c_kk"]).all()
    assert (sex_code(rows["sex"]).to_numpy() == rows["c_sx"].to_numpy()).all()
    assert (birth_date(rows["birth_date"]).to_numpy() != rows["c_bd"].to_numpy()).all()


def test_review_kinds_differ_from_the_holder_in_one_respect(insurance):
    def pick(kind):
        return insurance[insurance["injected"] == kind]
    typo = pick("birthdate_typo")
    assert (birth_date(typo["birth_date"]).to_numpy() != typo["c_bd"].to_numpy()).all()
    assert birth_date(typo["birth_date"]).notna().all()
    mix = pick("sex_mixup")
    assert (sex_code(mix["sex"]).to_numpy() != mix["c_sx"].to_numpy()).all()
    assert (birth_date(mix["birth_date"]).to_numpy() == mix["c_bd"].to_numpy()).all()
    former = pick("former_surname")
    assert (name_key(former["name"]).to_numpy() != former["c_nk"].to_numpy()).all()
    assert (birth_date(former["birth_date"]).to_numpy() == former["c_bd"].to_numpy()).all()


def test_bad_records(bank, insurance):
    assert bank.loc[bank["injected"] == "missing_field", "holder_kana"].isna().all()
    missing = insurance[insurance["injected"] == "missing_field"]
    assert (missing["birth_date"].isna() | (missing["name"].isna() & missing["name_kana"].isna())).all()
    broken = insurance[insurance["injected"] == "broken_row"]
    assert broken["birth_date"].notna().all() and birth_date(broken["birth_date"]).isna().all()


# ---------------------------------------------------------------- rates


def test_observed_rates_near_configured(big):
    for source, table in (("bank", big.bank), ("insurance", big.insurance)):
        labels = big.truth.loc[big.truth["source"] == source, "injected"]
        n = len(table)
        for key, rate in DEFAULT_RATES.items():
            if not key.startswith(source + "."):
                continue
            observed = (labels == key.split(".", 1)[1]).mean()
            tolerance = 4 * np.sqrt(rate / n) + 0.15 * rate
            assert abs(observed - rate) <= tolerance, (key, observed, rate)
        errors = (~labels.isin(CLEAN_LABELS)).mean()
        assert 0.025 < errors < 0.05, (source, errors)


def test_rate_overrides():
    w = generate_world(400, seed=1, rates={"former_surname": 0, "insurance.sex_mixup": 0.2})
    assert not (w.truth["injected"] == "former_surname").any()
    share = (w.truth.loc[w.truth["source"] == "insurance", "injected"] == "sex_mixup").mean()
    assert 0.12 < share < 0.25
    none = generate_world(200, seed=1, rate_scale=0)
    assert none.truth["expected_status"].eq("ok").all()


@pytest.mark.parametrize("rates, scale", [({"no_such_kind": 0.1}, 1.0), ({"sex_mixup": 1.5}, 1.0),
                                          ({"bank.sex_mixup": 0.1}, 1.0), (None, -1.0)])
def test_bad_rates_are_rejected(rates, scale):
    with pytest.raises(ValueError):
        resolve_rates(rates, scale)


def test_resolve_rates_scales_and_caps():
    eff = resolve_rates({"bank.previous_visitor": 0.5}, rate_scale=3)
    assert eff["bank.previous_visitor"] == 1.0
    assert eff["insurance.sex_mixup"] == pytest.approx(DEFAULT_RATES["insurance.sex_mixup"] * 3)


# ---------------------------------------------------------------- files


def _files(path):
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fmt):
    a, b, c = (tmp_path / x for x in "abc")
    write_world(generate_world(150, seed=5, rate_scale=10), a, fmt)
    write_world(generate_world(150, seed=5, rate_scale=10), b, fmt)
    write_world(generate_world(150, seed=6, rate_scale=10), c, fmt)
    assert _files(a) == _files(b)
    other = _files(c)
    assert all(other[name] != data for name, data in _files(a).items())


def test_csv_files_encodings_and_headers(tmp_path, world):
    paths = write_world(world, tmp_path)
    assert set(paths) == {"residents", "bank", "insurance", "truth"}
    ins = paths["insurance"].read_bytes()
    text = ins.decode("cp932")  # strict
    assert text.splitlines()[0].split(",") == [INSURANCE_HEADERS[c] for c in world.insurance.columns]
    bank = paths["bank"].read_bytes()
    assert bank.startswith(b"\xef\xbb\xbf")
    assert bank.decode("utf-8-sig").splitlines()[0].split(",") == [BANK_HEADERS[c] for c in world.bank.columns]
    assert {"個人番号", "口座名義カナ", "金融機関コード"} <= set(BANK_HEADERS.values())
    res = paths["residents"].read_bytes()
    assert not res.startswith(b"\xef\xbb\xbf")
    assert res.decode("utf-8").splitlines()[0].split(",") == list(world.residents.columns)
    assert paths["truth"].read_bytes().decode("utf-8").splitlines()[0] == (
        "source,record_id,expected_status,expected_reasons,true_owner,injected")


@pytest.mark.parametrize("name, encoding", [("residents", "utf-8"), ("bank", "utf-8-sig"),
                                            ("insurance", "cp932"), ("truth", "utf-8")])
def test_csv_round_trip(tmp_path, world, name, encoding):
    path = write_world(world, tmp_path)[name]
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    expected = getattr(world, name).fillna("")
    assert back.shape == expected.shape
    assert (back.to_numpy() == expected.to_numpy()).all()


def test_parquet_has_english_headers(tmp_path, world):
    paths = write_world(world, tmp_path, "parquet")
    for name in ("residents", "bank", "insurance"):
        back = pd.read_parquet(paths[name])
        assert list(back.columns) == list(getattr(world, name).columns)
        assert len(back) == len(getattr(world, name))
    assert paths["truth"].suffix == ".csv"
    with pytest.raises(ValueError):
        write_world(world, tmp_path, "xlsx")


def _cells(chars: str):
    return st.one_of(st.none(), st.text(alphabet=st.sampled_from(list(chars)), max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_cells('ab,"\n 日ｱ1'), _cells('ab,"\n 日ｱ1')), max_size=6))
def test_csv_bytes_matches_pandas(rows):
    df = pd.DataFrame(rows, columns=["x", "y"], dtype=object)
    assert csv_bytes(df) == df.to_csv(index=False, lineterminator="\n").encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_cells('ab,"\n\r 日ｱ1'), _cells('a,"\r\n')), max_size=6))
def test_csv_bytes_round_trips(rows):
    df = pd.DataFrame(rows, columns=["x", "y"], dtype=object)
    back = pd.read_csv(io.BytesIO(csv_bytes(df)), dtype=str, keep_default_na=False)
    assert back.shape == df.shape
    assert (back.to_numpy() == df.fillna("").to_numpy()).all()
