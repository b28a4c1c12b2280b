"""The review queue, ordered by impact: children first, then how many records the pair would join.

A reviewer's hour is best spent where a wrong answer hurts most: an unresolved child, and a pair
whose two persons together hold many records (a missed link hides more history).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

__all__ = ["COMPARED_FIELDS", "pair_side_by_side", "review_queue"]

COMPARED_FIELDS = (
    "nhs_number",
    "upn",
    "local_id",
    "given_name",
    "middle_names",
    "family_name",
    "dob",
    "sex",
    "postcode",
    "address",
    "former_upn",
    "former_family_name",
    "uprn",
    "expected_dob",
)
#: Index schema 3 added these to ``source_records`` (issue 16); an index from before it is shown
#: without them rather than refused.
_SCHEMA_3_FIELDS = ("former_upn", "former_family_name", "uprn", "expected_dob")


def review_queue(
    con: duckdb.DuckDBPyConnection, limit: int = 50, decided: pd.DataFrame | None = None, *,
    today: dt.date,
) -> pd.DataFrame:
    """``today`` decides who is still a child (under 18 by year of birth): the caller's date —
    the gateway's policy date, the command line's today — never the database's clock, so the
    order is the same whenever a test runs."""
    queue = con.execute(
        """
        WITH sizes AS (SELECT person_id, count(*) AS n FROM record_links GROUP BY person_id)
        SELECT c.unique_id_l, c.unique_id_r, c.match_probability, c.reason,
               a.person_id AS person_l, b.person_id AS person_r,
               sa.n + sb.n AS records_affected,
               ($year - least(coalesce(fl.dob_year, 9999), coalesce(fr.dob_year, 9999)) < 18
                OR $year - greatest(coalesce(fl.dob_year, 0), coalesce(fr.dob_year, 0)) < 18)
                   AS involves_child
        FROM review_candidates c
        JOIN record_links a ON a.unique_id = c.unique_id_l
        JOIN record_links b ON b.unique_id = c.unique_id_r
        JOIN sizes sa ON sa.person_id = a.person_id
        JOIN sizes sb ON sb.person_id = b.person_id
        JOIN record_features fl ON fl.unique_id = c.unique_id_l
        JOIN record_features fr ON fr.unique_id = c.unique_id_r
        ORDER BY involves_child DESC, records_affected DESC, abs(c.match_probability - 0.5)
        """,
        {"year": today.year},
    ).df()
    if decided is not None and not decided.empty:
        done = set(zip(decided["unique_id_l"], decided["unique_id_r"], strict=True))
        pair = [
            tuple(sorted(p)) for p in zip(queue["unique_id_l"], queue["unique_id_r"], strict=True)
        ]
        queue = queue[[p not in done for p in pair]]
    queue = queue.reset_index(drop=True).head(limit)
    queue.insert(0, "item", range(1, len(queue) + 1))
    return queue


def pair_side_by_side(con: duckdb.DuckDBPyConnection, left: str, right: str) -> pd.DataFrame:
    """One row per field: the two records' values and whether they agree (after standardising)."""
    held = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name IN ('source_records', 'record_features') "
        "GROUP BY column_name HAVING count(*) = 2").fetchall()}
    fields = [f for f in COMPARED_FIELDS if f not in _SCHEMA_3_FIELDS or f in held]
    extra = "".join(f", {f}" for f in fields if f in _SCHEMA_3_FIELDS)
    rows = (
        con.execute(
            f"SELECT unique_id, agency, {', '.join(fields)} FROM source_records "
            "WHERE unique_id IN (?, ?)",
            [left, right],
        )
        .df()
        .set_index("unique_id")
    )
    if left not in rows.index or right not in rows.index:
        missing = left if left not in rows.index else right
        raise KeyError(f"no record {missing} in the identity index")
    features = (
        con.execute(
            "SELECT unique_id, nhs_number, upn, local_id_key AS local_id, given_name, middle_names, "
            f"family_name, dob, sex, postcode, address_key AS address{extra} FROM record_features "
            "WHERE unique_id IN (?, ?)",
            [left, right],
        )
        .df()
        .set_index("unique_id")
    )
    out = []
    for field in ("agency", *fields):
        a, b = rows.at[left, field], rows.at[right, field]
        if field == "agency":
            verdict = ""
        elif pd.isna(features.at[left, field]) or pd.isna(features.at[right, field]):
            verdict = "missing"
        else:
            verdict = "agree" if features.at[left, field] == features.at[right, field] else "differ"
        out.append({"field": field, "left": a, "right": b, "comparison": verdict})
    return pd.DataFrame(out)
