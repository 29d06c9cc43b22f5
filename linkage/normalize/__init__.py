"""Japanese-aware normalisation: comparison keys for names, kana, dates, sex,
addresses and My Numbers.

Every function takes a pandas Series (or anything list-like) and returns a
Series aligned to it, computed on the distinct values only, so it stays fast
on millions of rows.  Missing or unusable values come out as NA/NaT.

>>> import pandas as pd
>>> from linkage import normalize
>>> normalize.kana_key(pd.Series(["ヤマダ　キョウコ", "やまだきょうこ", "ﾔﾏﾀﾞ ｷﾖｳｺ"])).tolist()
['ヤマダキヨウコ', 'ヤマダキヨウコ', 'ヤマダキヨウコ']
>>> normalize.name_key(pd.Series(["髙橋 恭子", "高橋　恭子"])).tolist()
['高橋恭子', '高橋恭子']
>>> normalize.birth_date(pd.Series(["昭和60年4月12日", "S60.4.12", "19850412"])).dt.date.astype(str).tolist()
['1985-04-12', '1985-04-12', '1985-04-12']
>>> normalize.my_number(pd.Series(["6214-9832-0257", "621498320258"])).tolist()
['621498320257', <NA>]
"""
from .address import address_key
from .dates import birth_date, birth_date_reason, to_era
from .kana import kana_key, kana_key_loose, to_zengin
from .names import is_alphabet, name_key, name_near_key, split_name
from .number import mask, my_number, my_number_reason
from .sex import sex, sex_reason

__all__ = [
    "address_key",
    "birth_date",
    "birth_date_reason",
    "is_alphabet",
    "kana_key",
    "kana_key_loose",
    "mask",
    "my_number",
    "my_number_reason",
    "name_key",
    "name_near_key",
    "sex",
    "sex_reason",
    "split_name",
    "to_era",
    "to_zengin",
]
