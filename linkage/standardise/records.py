"""The canonical frame (from ingest) to the model's feature table, one row per record.

Every value is standardised once per *distinct* value and mapped back, so the cost grows with the
number of different names and postcodes, not with the number of records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler

from linkage.standardise.addresses import address_key, address_line_key, split_postcode
from linkage.standardise.distinct import Distinct, map_distinct
from linkage.standardise.names import (
    canonical_forms,
    canonical_name,
    is_placeholder_given_name,
    normalise_name,
    phonetic_key,
)
from linkage.standardise.nhs_number import clean_nhs_number, clean_nhs_numbers
from linkage.standardise.postcodes import clean_postcode
from linkage.standardise.sex import clean_sex
from linkage.standardise.upn import clean_upn, clean_upns
from linkage.standardise.uprn import clean_uprn

__all__ = ["FEATURE_COLUMNS", "is_adoption_marked", "restriction_of", "standardise_record",
           "standardise_records"]

#: The restricted marker an adopted child's post-adoption record carries (attribute
#: ``restriction``, as agencies' extracts and the gateway name it).
ADOPTION_MARKER: Final = "adoption"

FEATURE_COLUMNS = [
    "unique_id",
    "source",
    "record_id",
    "agency",
    "nhs_number",
    "upn",
    "upn_is_temporary",
    "local_id_key",
    "given_name",
    "given_name_canonical",
    "given_name_canonicals",
    "given_name_metaphone",
    "middle_names",
    "given_names_all",
    "family_name",
    "family_name_tokens",
    "family_name_metaphone",
    "family_name_first_token",
    "name_is_placeholder",
    "dob",
    "dob_year",
    "dob_is_jan1",
    "sex",
    "postcode",
    "postcode_district",
    "postcode_sector",
    "address_key",
    "address_line_key",
    "former_upn",
    "former_family_name",
    "uprn",
    "expected_dob",
]

del JaroWinkler  # imported for its side effect of failing fast if rapidfuzz is missing


def _per_distinct(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    return map_distinct(series, fn)


def _per_distinct_pair(first: Distinct, first_results: Sequence[Any], second: Distinct,
                       second_results: Sequence[Any], fn: Callable[[Any, Any], Any]) -> list[Any]:
    """``fn`` of each row's two per-distinct results (None for a missing value), called once
    per distinct pair of values: one result per row, the rows of one pair sharing it."""
    width = len(second) + 1
    pairs = first.codes.astype(np.int64) * width + (second.codes + 1)
    distinct, inverse = np.unique(pairs, return_inverse=True)
    a_results, b_results = [*first_results, None], [*second_results, None]
    results = np.empty(len(distinct), dtype=object)
    results[:] = [fn(a_results[a], b_results[b - 1]) for a, b in
                  zip((distinct // width).tolist(), (distinct % width).tolist(), strict=True)]
    return results[inverse.reshape(-1)].tolist()


def _given(raw: Any) -> tuple[str | None, bool]:
    text = normalise_name(raw)
    if is_placeholder_given_name(text):
        return None, True
    first = text.split()[0] if text else None
    return first, False


def restriction_of(attributes: object) -> str | None:
    """A record's restricted marker (its ``restriction`` attribute, trimmed and in lower case),
    from its attributes as a dict or as the JSON the reader stores; None without one. Most
    records have none, so JSON that never mentions the word is not parsed."""
    if isinstance(attributes, str):
        if '"restriction"' not in attributes:
            return None
        try:
            attributes = json.loads(attributes)
        except json.JSONDecodeError:
            return None
    if not isinstance(attributes, dict):
        return None
    return str(attributes.get("restriction") or "").strip().lower() or None


def is_adoption_marked(attributes: object) -> bool:
    """True when a record's attributes (a dict, or the JSON the reader stores) carry the
    adoption marker, in any case ("Adoption" is the marker too)."""
    return restriction_of(attributes) == ADOPTION_MARKER


def _former_upn(raw: Any, adopted: bool) -> str | None:
    """An adopted child's record never carries a former UPN into linkage: the UPN issued before
    the adoption belongs to a record that must not be joined to this one, whatever the
    extract says (the adoption marker wins over any identifier)."""
    if adopted or raw is None or (isinstance(raw, float) and raw != raw):
        return None
    return clean_upn(raw).value


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A contract column, or an empty one for frames built before it joined the contract."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def standardise_records(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["unique_id"] = frame["source"] + ":" + frame["record_id"]
    out["source"] = frame["source"]
    out["record_id"] = frame["record_id"]
    out["agency"] = frame["agency"]

    nhs_numbers = Distinct(frame["nhs_number"])
    out["nhs_number"] = nhs_numbers.spread([v for v, _ in clean_nhs_numbers(nhs_numbers.values)])
    upn_values = Distinct(frame["upn"])
    upns = clean_upns(upn_values.values)
    out["upn"] = upn_values.spread([r.value for r in upns])
    out["upn_is_temporary"] = (
        upn_values.spread([r.is_temporary for r in upns]).fillna(False).astype(bool))
    # As text whatever the extract held (a column of only blanks arrives as object dtype).
    local = frame["local_id"].astype("string").str.strip()
    key = frame["source"].astype("string") + ":" + local
    out["local_id_key"] = key.where(local.notna() & (local != "")).astype(object)
    out.loc[out["local_id_key"].isna(), "local_id_key"] = None

    given_raw = Distinct(frame["given_name"])
    given = given_raw.apply(_given)
    out["given_name"] = given_raw.spread([g[0] for g in given])
    out["name_is_placeholder"] = (
        given_raw.spread([g[1] for g in given]).fillna(False).astype(bool))
    given_names = Distinct(out["given_name"])
    out["given_name_canonical"] = given_names.map(canonical_name)
    out["given_name_canonicals"] = given_names.map(lambda g: sorted(canonical_forms(g)))
    out["given_name_metaphone"] = given_names.map(phonetic_key)
    middle_raw = Distinct(frame["middle_names"])
    middles = middle_raw.apply(normalise_name)
    out["middle_names"] = middle_raw.spread(middles)
    # Per distinct (given, middle) pair: the same tokens as row by row, at a fraction of the
    # calls (a missing part is None, as a row's NaN was, and counts for nothing).
    out["given_names_all"] = _per_distinct_pair(
        given_raw, given_raw.apply(normalise_name), middle_raw, middles,
        lambda f, m: sorted({t for part in (f, m) if isinstance(part, str) for t in part.split()}))

    family_raw = Distinct(frame["family_name"])
    families = family_raw.apply(normalise_name)
    family = family_raw.spread(families)
    out["family_name"] = family
    tokens = np.empty(len(families) + 1, dtype=object)
    tokens[:] = [f.split() if isinstance(f, str) else [] for f in [*families, None]]
    out["family_name_tokens"] = tokens[family_raw.codes].tolist()
    out["family_name_metaphone"] = _per_distinct(family, phonetic_key)
    out["family_name_first_token"] = family.str.split(" ").str[0]

    dob = frame["dob"]
    out["dob"] = dob
    out["dob_year"] = pd.to_numeric(dob.str[:4], errors="coerce").astype("Int64")
    out["dob_is_jan1"] = (dob.str[5:] == "01-01").fillna(False).astype(bool)
    out["sex"] = _per_distinct(frame["sex"], clean_sex)

    # A postcode only inside the address line is taken from it (``split_postcode``), and the
    # line's keys are made without it, as if it had come in its own column.
    missing = (frame["postcode"].isna()
               | (frame["postcode"].astype("string").str.strip() == "").fillna(True)).astype(bool)
    split = _per_distinct(frame["address"].where(missing), split_postcode)
    from_text = split.map(lambda s: s[1], na_action="ignore")
    postcode_column = frame["postcode"].where(~missing | from_text.isna(), from_text)
    address = frame["address"].where(~missing | from_text.isna(),
                                     split.map(lambda s: s[0], na_action="ignore"))
    postcode_values = Distinct(postcode_column)
    postcodes = postcode_values.apply(clean_postcode)
    out["postcode"] = postcode_values.spread([p.value if p else None for p in postcodes])
    out["postcode_district"] = postcode_values.spread(
        [p.district if p else None for p in postcodes])
    out["postcode_sector"] = postcode_values.spread([p.sector if p else None for p in postcodes])
    addresses = Distinct(address)
    cleaned = Distinct(out["postcode"])
    out["address_key"] = _per_distinct_pair(
        addresses, addresses.values, cleaned, cleaned.values,
        lambda a, p: address_key(a, p) if isinstance(p, str) else None)
    out["address_line_key"] = addresses.map(address_line_key)
    adopted = _column(frame, "attributes").map(is_adoption_marked).astype(bool)
    out["former_upn"] = [_former_upn(v, a) for v, a in
                         zip(_column(frame, "former_upn").tolist(), adopted.tolist(), strict=True)]
    # The adoption marker wins over a birth name too: an adopted child's former family name is
    # the pre-adoption record's family name, and the model would read it as agreement.
    out["former_family_name"] = _per_distinct(_column(frame, "former_family_name"),
                                              normalise_name).astype(object).where(~adopted, None)
    # Text, or None, never NaN: a column of NaN is a DOUBLE to DuckDB, and the model compares it.
    uprn = _per_distinct(_column(frame, "uprn"), clean_uprn).astype(object)
    out["uprn"] = uprn.where(uprn.notna(), None)
    out["expected_dob"] = _column(frame, "expected_dob")
    result = out[FEATURE_COLUMNS].reset_index(drop=True)
    for column in ("given_names_all", "family_name_tokens"):
        result[column] = result[column].map(lambda v: v if isinstance(v, list) else [])
    result["given_name_canonicals"] = result["given_name_canonicals"].map(
        lambda v: v if isinstance(v, list) else None
    )
    return result


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)


def standardise_record(record: dict[str, Any]) -> dict[str, Any]:
    """One record (canonical layout plus ``source``, ``record_id``, ``agency``) to its features.

    The same scalar standardisers as :func:`standardise_records`, without a data frame: a real-time
    query pays microseconds, not the ~10 ms of building one. ``tests/linkage/test_realtime.py``
    checks the two agree on every record of a synthetic population.
    """
    source, record_id = _text(record.get("source")) or "", _text(record.get("record_id")) or ""
    nhs_raw, upn_raw = _text(record.get("nhs_number")), _text(record.get("upn"))
    upn = clean_upn(upn_raw) if upn_raw is not None else None
    local = (_text(record.get("local_id")) or "").strip()
    given_raw = _text(record.get("given_name"))
    given, placeholder = _given(given_raw) if given_raw is not None else (None, False)
    middle = normalise_name(_text(record.get("middle_names"))) \
        if _text(record.get("middle_names")) is not None else None
    first = normalise_name(given_raw) if given_raw is not None else None
    family_raw = _text(record.get("family_name"))
    family = normalise_name(family_raw) if family_raw is not None else None
    dob = _text(record.get("dob"))
    postcode_raw = _text(record.get("postcode"))
    address = record.get("address")
    if postcode_raw is None or not postcode_raw.strip():
        rest, from_text = split_postcode(address)
        if from_text is not None:
            postcode_raw, address = from_text, rest
    postcode = clean_postcode(postcode_raw) if postcode_raw is not None else None
    sex_raw = _text(record.get("sex"))
    year = dob[:4] if dob else None
    return {
        "unique_id": f"{source}:{record_id}",
        "source": source,
        "record_id": record_id,
        "agency": _text(record.get("agency")),
        "nhs_number": clean_nhs_number(nhs_raw).value if nhs_raw is not None else None,
        "upn": upn.value if upn is not None else None,
        "upn_is_temporary": bool(upn is not None and upn.is_temporary),
        "local_id_key": f"{source}:{local}" if local else None,
        "given_name": given,
        "given_name_canonical": canonical_name(given) if given is not None else None,
        "given_name_canonicals": sorted(canonical_forms(given)) if given is not None else None,
        "given_name_metaphone": phonetic_key(given) if given is not None else None,
        "middle_names": middle,
        "given_names_all": sorted({t for part in (first, middle) if isinstance(part, str)
                                   for t in part.split()}),
        "family_name": family,
        "family_name_tokens": family.split() if isinstance(family, str) else [],
        "family_name_metaphone": phonetic_key(family) if family is not None else None,
        "family_name_first_token": family.split(" ")[0] if isinstance(family, str) else None,
        "name_is_placeholder": placeholder,
        "dob": dob,
        "dob_year": int(year) if year and year.isdigit() else None,
        "dob_is_jan1": bool(dob and dob[5:] == "01-01"),
        "sex": clean_sex(sex_raw) if sex_raw is not None else None,
        "postcode": postcode.value if postcode else None,
        "postcode_district": postcode.district if postcode else None,
        "postcode_sector": postcode.sector if postcode else None,
        "address_key": address_key(address, postcode.value) if postcode else None,
        "address_line_key": address_line_key(address),
        "former_upn": _former_upn(_text(record.get("former_upn")),
                                  is_adoption_marked(record.get("attributes"))),
        "former_family_name": normalise_name(_text(record.get("former_family_name")))
        if _text(record.get("former_family_name")) is not None
        and not is_adoption_marked(record.get("attributes")) else None,
        "uprn": clean_uprn(_text(record.get("uprn"))),
        "expected_dob": _text(record.get("expected_dob")),
    }
