"""One link run: extracts in, a new identity index out.

ingest → standardise → score pairs (Splink) → constrained clustering → stable person IDs → families
→ write the index. Every stage reads the previous stage's output only, and the index is replaced
only when the whole run has succeeded (``linkage.index.building_index``).

When the previous index keeps comparison vectors made under the same comparison levels and
blocking rules, only pairs with a new or changed record are scored and the rest are re-weighed
(``linkage.incremental``); the persons are the same as a full run's, and ``--full`` forces one.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from splink.internals.duckdb.database_api import DuckDBAPI
from splink.internals.misc import prob_to_match_weight

from kinlink.database import DuckDBLocation, StoreLocation, parse_location
from linkage.families.households import FAMILY_RELATIONSHIPS, group_families
from linkage.features import prepare_sources
from linkage.identity.carry_over import Assignment, carry_over
from linkage.identity.history import carry_history
from linkage.identity.ids import new_id
from linkage.incremental import (
    PairScoring,
    score_all_pairs,
    score_changed_pairs,
    scoring_structure,
    store_fingerprints,
    store_pair_comparisons,
    why_not_incremental,
)
from linkage.incremental.scoring import PAIR_SCORES, gamma_columns
from linkage.index.postgres import scratch_dir
from linkage.index.store import building_index
from linkage.ingest.rejects import write_reject_report
from linkage.ingest.relationship_direction import orient_relationships
from linkage.model.store import load_model, model_hash
from linkage.model.training import adapt_to_population, new_linker, train_model
from linkage.persons.clustering import ClusteringRules, Relative, cluster_records
from linkage.persons.constraints import RecordFacts
from linkage.persons.profiles import ProfileModel
from linkage.review.decisions import DecisionStore, decisions_path_for

__all__ = ["LinkOptions", "LinkSummary", "StageTimer", "link_sources"]

#: Agreement on something personal to one child, read from Splink's comparison levels (numbered
#: from the top level down to 0 = "different"; -1 = missing), so a pair that agrees only on what a
#: household shares (surname, address) never links: a shared identifier; or, with dates of birth
#: not flatly different, the given name exact/diminutive/typo, a weaker name match with a close
#: date (or, with no date to compare, the same surname — and, for a merely similar name, one
#: keystroke apart: Ava/Avs, not John/Jean), or a nameless "Baby" record within weeks.
#: Level numbers: given name 5 exact, 4 diminutive, 3 typo, 2 middle/contained, 1 sounds alike;
#: family name 4 exact, 3 typo, 2 double-barrelled part; date of birth 6 exact, 5 swapped, 4 one
#: digit, 3 within 45 days, 2 estimated 1 January, 1 same day and month.
PERSONAL_EVIDENCE_SQL = """(
    p.gamma_nhs_number = 1 OR p.gamma_upn = 1 OR p.gamma_local_id_key = 1
    OR (p.gamma_dob <> 0 AND (
        p.gamma_given_name >= 3
        OR (p.gamma_given_name = 2 AND (p.gamma_dob >= 4
            OR (p.gamma_dob = -1 AND p.gamma_family_name >= 3)))
        OR (p.gamma_given_name = 1 AND (p.gamma_dob >= 4
            OR (p.gamma_dob IN (-1, 2) AND p.gamma_family_name >= 3
                AND damerau_levenshtein(l.given_name, r.given_name) <= 1)))
        OR (p.gamma_given_name = -1 AND p.gamma_dob >= 3)
    ))
)"""

#: Pairs scored below this are not kept at all: they are evidence of nothing worth reviewing.
KEEP_EDGES_ABOVE = 0.01


@dataclass(frozen=True)
class LinkOptions:
    clustering: ClusteringRules = field(default_factory=ClusteringRules)
    #: Pairs between this and the link threshold go to the review queue.
    review_threshold: float = 0.5
    model_path: Path | None = None
    retrain: bool = False
    reject_report: Path | None = None
    #: None: reuse the previous index's comparison vectors when it can; True: insist on it
    #: (fail when it cannot); False: score every pair afresh.
    incremental: bool | None = None
    #: Where pairs are scored: "duckdb" or "spark" (``linkage.engines``). Spark scores every pair.
    engine: str = "duckdb"


@dataclass
class LinkSummary:
    run_id: str
    db_path: str
    sources: dict[str, int]
    records: int
    persons: int
    multi_record_persons: int
    families: int
    rejects: int
    reject_report: str | None
    review_candidates: int
    constraint_blocks: dict[str, int]
    grades: dict[str, int]
    new_person_ids: int
    retired_person_ids: int
    model: str
    seconds: dict[str, float]
    #: full or incremental, pairs scored and reused, and (incremental) records new/changed/withdrawn
    scoring: dict[str, Any] = field(default_factory=dict)
    #: Per source, whether its relationships file lists the relative second (read from the
    #: dates of birth in it: see ``linkage.ingest.relationship_direction``).
    relationships_relative_second: dict[str, bool] = field(default_factory=dict)
    #: Per source, how its file(s) were read: format, version, files, records, rejects, and the
    #: date format (declared, the format's own, or detected) — see ``linkage.ingest.formats``.
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


StageTimer = Callable[[str], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _no_progress(_: str) -> Iterator[None]:
    yield


def link_sources(
    sources_dir: Path,
    db_path: Path | str | StoreLocation,
    options: LinkOptions | None = None,
    stage: StageTimer = _no_progress,
) -> LinkSummary:
    """Link every extract in ``sources_dir`` into the index at ``db_path`` (a DuckDB file or a
    ``postgresql://`` URL)."""
    options = options or LinkOptions()
    location = parse_location(db_path)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC)
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        with stage(name):
            yield
        seconds[name] = round(time.perf_counter() - t0, 2)

    with timed("read and standardise"):
        prepared = prepare_sources(sources_dir)
        ingest, canonical, features = prepared.ingest, prepared.canonical, prepared.features
        report_path = options.reject_report or (
            location.path.with_name(location.path.stem + ".rejects.csv")
            if isinstance(location, DuckDBLocation)
            else scratch_dir(location).with_suffix(".rejects.csv"))
        write_reject_report(ingest.rejects, report_path)

    model = load_model(options.model_path)
    with building_index(location) as con:
        has_previous = _has_previous(con)
        with timed("store records"):
            _write_source_records(con, canonical, ingest)
            con.register("features_df", features)
            con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
            con.unregister("features_df")
            store_fingerprints(con)

        with timed("model"):
            db_api = DuckDBAPI(connection=con)
            linker = new_linker(db_api, "record_features", model)
            if model is None or options.retrain:
                train_model(linker)
            else:
                adapt_to_population(linker)
            # The model as fitted to this population: what real-time matching must reproduce.
            fitted = linker.misc.save_model_to_json()
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('model_json', ?)", [json.dumps(fitted)]
            )

        with timed("score pairs"):
            scoring = _score_pairs(con, db_api, linker, fitted, has_previous, options)
            # Sorted, so that clustering breaks ties between equal weights the same way every run.
            edges = con.execute(
                f"""
                SELECT l.idx AS left_idx, r.idx AS right_idx, p.match_probability,
                       p.match_weight, {PERSONAL_EVIDENCE_SQL} AS personal_evidence,
                       {", ".join(f"p.{g}" for g in gamma_columns(linker))}
                FROM {PAIR_SCORES} p
                JOIN record_features l ON l.unique_id = p.unique_id_l
                JOIN record_features r ON r.unique_id = p.unique_id_r
                WHERE p.match_weight >= ?
                ORDER BY p.unique_id_l, p.unique_id_r
                """,
                [prob_to_match_weight(KEEP_EDGES_ABOVE)],
            ).df()

        with timed("cluster persons"):
            decisions = DecisionStore(decisions_path_for(location)).active()
            must, cannot = _decision_pairs(decisions, features)
            relationships, orientations = orient_relationships(
                ingest.relationships, dict(zip(features["unique_id"], features["dob"], strict=True)))
            cannot += _related_pairs(relationships, features)
            facts = _record_facts(features)
            result = cluster_records(
                facts,
                edges["left_idx"].to_numpy(),
                edges["right_idx"].to_numpy(),
                edges["match_probability"].to_numpy(),
                edges["match_weight"].to_numpy(),
                options.clustering,
                must_link=must,
                cannot_link=cannot,
                personal_evidence=edges["personal_evidence"].to_numpy(dtype=bool),
                relatives=_relatives(relationships, features),
                profile=(ProfileModel.from_splink_json(fitted),
                         edges[gamma_columns(linker)].to_numpy(dtype=np.int8)),
            )
            edges = edges.drop(columns=gamma_columns(linker))
            edges["outcome"] = result.edge_outcomes
            edges = _with_implied_links(edges, result.implied_links, "linked:same-relative")
            edges = _with_implied_links(edges, result.birth_links, "linked:expected-birth")
            edges = _with_implied_links(edges, result.household_parent_links,
                                        "linked:household-parent")
            edges = _with_implied_links(edges, result.profile_links, "linked:person-profile")
            edges = _with_implied_links(edges, result.namesake_links,
                                        "linked:only-namesake-at-house")
            labels = result.labels

        with timed("assign IDs"):
            unique_ids = features["unique_id"].tolist()
            clusters: dict[int, list[str]] = {}
            for uid, label in zip(unique_ids, labels.tolist(), strict=True):
                clusters.setdefault(label, []).append(uid)
            previous_links, previous_created = _previous_ids(con, has_previous, "person")
            persons = carry_over(
                clusters, previous_links, previous_created, lambda: new_id("person")
            )
            person_of_record = np.array([persons.ids[label] for label in labels.tolist()])

        with timed("families"):
            family_of_record, family_basis, families = _families(
                con, has_previous, features, relationships, person_of_record
            )

        with timed("write index"):
            grades, probability = _grades(features, edges, labels)
            now = datetime.now(UTC)
            links = pd.DataFrame(
                {
                    "unique_id": features["unique_id"],
                    "source": features["source"],
                    "record_id": features["record_id"],
                    "person_id": person_of_record,
                    "family_id": family_of_record,
                    "match_probability": probability,
                    "match_grade": grades,
                    "linked_at": now,
                }
            )
            con.register("links_df", links)
            con.execute("INSERT INTO record_links SELECT * FROM links_df")
            con.unregister("links_df")
            if has_previous:
                con.execute("INSERT INTO lineage SELECT * FROM previous.lineage")
            _write_entities(con, has_previous, "person", persons, links["person_id"], now, run_id)
            _write_entities(con, has_previous, "family", families, links["family_id"], now, run_id)
            _write_family_members(con, links, features, family_basis, now)
            _write_edges(con, edges, features, options)
            store_pair_comparisons(con, gamma_columns(linker))
            con.execute(f"DROP TABLE {PAIR_SCORES}")
            carry_history(con, has_previous, now, run_id)
            review_count = con.execute("SELECT count(*) FROM review_candidates").fetchall()[0][0]
            linker.table_management.delete_tables_created_by_splink_from_db()

        summary = LinkSummary(
            run_id=run_id,
            db_path=str(location),
            sources={name: len(frame) for name, frame in ingest.sources.items()},
            records=len(features),
            persons=len(clusters),
            multi_record_persons=sum(1 for m in clusters.values() if len(m) > 1),
            families=len(set(family_of_record.tolist())),
            rejects=len(ingest.rejects),
            reject_report=str(report_path),
            review_candidates=int(review_count),
            constraint_blocks={
                k.removeprefix("constraint:"): int(v)
                for k, v in edges["outcome"].value_counts().items()
                if k.startswith("constraint:")
            },
            grades={k: int(v) for k, v in pd.Series(grades).value_counts().items()},
            new_person_ids=len(persons.new_ids),
            retired_person_ids=len(persons.retired),
            model=model_hash(model) + (" (retrained)" if model is None or options.retrain else ""),
            seconds=seconds,
            scoring=scoring.as_dict(),
            relationships_relative_second={o.source: o.relative_second for o in orientations},
            formats={name: r.as_dict() for name, r in ingest.readings.items()},
        )
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
            [
                run_id,
                started,
                datetime.now(UTC),
                str(sources_dir),
                model_hash(model),
                json.dumps(summary.as_dict()),
            ],
        )
        con.execute("INSERT OR REPLACE INTO meta VALUES ('last_run_id', ?)", [run_id])
    return summary


def _score_pairs(
    con: duckdb.DuckDBPyConnection,
    db_api: DuckDBAPI,
    linker: Any,
    fitted: dict[str, Any],
    has_previous: bool,
    options: LinkOptions,
) -> PairScoring:
    """Every pair afresh, or (when the previous index allows) only the pairs a change touched."""
    structure = scoring_structure(fitted)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('scoring_structure', ?)", [structure])
    reason = why_not_incremental(con, has_previous, structure)
    if options.incremental is True and reason is not None:
        raise ValueError(f"cannot link incrementally: {reason}; run without --incremental")
    if options.incremental is False:
        reason = "asked for a full run"
    if options.engine == "spark":
        if options.incremental is True:
            raise ValueError("the Spark engine scores every pair: run without --incremental")
        from linkage.engines.spark import score_all_pairs_on_spark

        return score_all_pairs_on_spark(con, fitted, gamma_columns(linker))
    if reason is None:
        return score_changed_pairs(linker, con, db_api)
    scoring = score_all_pairs(linker, con)
    scoring.reason = reason
    return scoring


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Bulk-insert a frame whose columns are in the table's order (executemany is row by row)."""
    con.register("_insert_df", frame)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _insert_df")
    finally:
        con.unregister("_insert_df")


def _has_previous(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'previous'"
    ).fetchall()[0]
    return bool(rows and rows[0])


def _write_source_records(
    con: duckdb.DuckDBPyConnection, canonical: pd.DataFrame, ingest: Any
) -> None:
    columns = [
        "source",
        "record_id",
        "agency",
        "row_number",
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
        "attributes",
    ]
    frame = canonical[columns].copy()
    frame.insert(0, "unique_id", frame["source"] + ":" + frame["record_id"])
    con.register("records_df", frame)
    con.execute("INSERT INTO source_records SELECT * FROM records_df")
    con.unregister("records_df")
    rows = [
        (source, column, category)
        for source, mapping in ingest.attribute_categories.items()
        for column, category in mapping.items()
    ]
    if rows:
        con.executemany("INSERT INTO attribute_categories VALUES (?, ?, ?)", rows)
    if len(ingest.relationships):
        rel = ingest.relationships[["source", "record_id", "related_record_id", "relationship"]]
        con.register("rel_df", rel)
        con.execute("INSERT INTO relationships SELECT * FROM rel_df")
        con.unregister("rel_df")
    if ingest.rejects:
        rejects = pd.DataFrame(
            {
                "file": [str(r.file) for r in ingest.rejects],
                "row_number": [r.row for r in ingest.rejects],
                "field": [r.field for r in ingest.rejects],
                "problem": [r.problem for r in ingest.rejects],
            }
        )
        _insert_frame(con, "rejects", rejects)


def _record_facts(features: pd.DataFrame) -> list[RecordFacts]:
    def clean(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else value

    names_all = features["given_names_all"].tolist()
    return [
        RecordFacts(
            nhs_number=clean(nhs),
            dob=clean(dob),
            given_name=clean(given),
            given_name_canonical=clean(canonical),
            given_name_metaphone=clean(metaphone),
            given_names_all=frozenset(all_names)
            if isinstance(all_names, list | np.ndarray)
            else frozenset(),
            upn=clean(upn) if not temporary else None,
            source=source,
            family_name=clean(family),
            address_key=clean(address),
            placeholder_name=bool(placeholder),
            sex=clean(sex),
            address_line_key=clean(line),
        )
        for (nhs, dob, given, canonical, metaphone, all_names, upn, temporary, source, family,
             address, placeholder, sex, line) in zip(
            features["nhs_number"].tolist(),
            features["dob"].tolist(),
            features["given_name"].tolist(),
            features["given_name_canonical"].tolist(),
            features["given_name_metaphone"].tolist(),
            names_all,
            features["upn"].tolist(),
            features["upn_is_temporary"].fillna(False).astype(bool).tolist(),
            features["source"].tolist(),
            features["family_name"].tolist(),
            features["address_key"].tolist(),
            features["name_is_placeholder"].fillna(False).astype(bool).tolist(),
            features["sex"].tolist(),
            features["address_line_key"].tolist(),
            strict=True,
        )
    ]


def _decision_pairs(
    decisions: pd.DataFrame, features: pd.DataFrame
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Standing decisions as must/cannot links; pairs whose decisions disagree constrain nothing."""
    if decisions.empty:
        return [], []
    index = dict(zip(features["unique_id"], features["idx"], strict=True))
    firm = decisions[decisions["decision"].isin(["same", "different"])]
    verdicts = firm.groupby(["unique_id_l", "unique_id_r"])["decision"].nunique()
    agreed = firm.set_index(["unique_id_l", "unique_id_r"]).loc[verdicts[verdicts == 1].index]
    agreed = agreed.reset_index().drop_duplicates(["unique_id_l", "unique_id_r"])
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    for left, right, decision in agreed[["unique_id_l", "unique_id_r", "decision"]].itertuples(
        index=False
    ):
        if left not in index or right not in index:
            continue  # a withdrawn record: the decision has nothing left to constrain
        pair = (int(index[left]), int(index[right]))
        if decision == "same":
            must.append(pair)
        elif decision == "different":
            cannot.append(pair)
    return must, cannot


def _related_pairs(relationships: pd.DataFrame, features: pd.DataFrame) -> list[tuple[int, int]]:
    """Two records an agency says are related (mother of, sibling of) are two people."""
    if relationships.empty:
        return []
    index = dict(zip(features["unique_id"], features["idx"], strict=True))
    left = (relationships["source"] + ":" + relationships["record_id"]).map(index)
    right = (relationships["source"] + ":" + relationships["related_record_id"]).map(index)
    both = left.notna() & right.notna() & (left != right)
    return list(zip(left[both].astype(int).tolist(), right[both].astype(int).tolist(), strict=True))


def _relatives(relationships: pd.DataFrame, features: pd.DataFrame) -> list[Relative]:
    """Each relationship row as (relative's record, the record it is a relative of, role)."""
    if relationships.empty:
        return []
    index = dict(zip(features["unique_id"], features["idx"], strict=True))
    left = (relationships["source"] + ":" + relationships["record_id"]).map(index)
    right = (relationships["source"] + ":" + relationships["related_record_id"]).map(index)
    role = relationships["relationship"].astype(str).str.strip().str.lower()
    both = left.notna() & right.notna() & (left != right)
    return [Relative(int(a), int(b), r) for a, b, r in zip(
        left[both].tolist(), right[both].tolist(), role[both].tolist(), strict=True)]


def _with_implied_links(
    edges: pd.DataFrame, implied: list[tuple[int, int]], outcome: str
) -> pd.DataFrame:
    """Record each link a rule implied (same relative, expected birth) as an edge with that
    rule as its outcome, so every link has a row that explains it.

    A pair that was never scored gets weight and probability 0: the outcome, not a score, is its
    evidence.
    """
    if not implied:
        return edges
    scored = {(min(a, b), max(a, b)): k for k, (a, b) in enumerate(
        zip(edges["left_idx"].tolist(), edges["right_idx"].tolist(), strict=True))}
    rows = []
    for i, j in implied:
        k = scored.get((min(i, j), max(i, j)))
        if k is not None:
            edges.iat[k, edges.columns.get_loc("outcome")] = outcome
        else:
            rows.append({"left_idx": i, "right_idx": j, "match_probability": 0.0,
                         "match_weight": 0.0, "personal_evidence": False,
                         "outcome": outcome})
    return pd.concat([edges, pd.DataFrame(rows)], ignore_index=True) if rows else edges


def _previous_ids(
    con: duckdb.DuckDBPyConnection, has_previous: bool, kind: str
) -> tuple[dict[str, str], dict[str, object]]:
    if not has_previous:
        return {}, {}
    column = "person_id" if kind == "person" else "family_id"
    table = "persons" if kind == "person" else "families"
    links = con.execute(
        f"SELECT unique_id, {column} FROM previous.record_links WHERE {column} IS NOT NULL"
    ).fetchall()
    created = con.execute(f"SELECT {column}, created_at FROM previous.{table}").fetchall()
    return dict(links), dict(created)


def _families(
    con: duckdb.DuckDBPyConnection,
    has_previous: bool,
    features: pd.DataFrame,
    relationships: pd.DataFrame,
    person_of_record: np.ndarray,
) -> tuple[np.ndarray, dict[str, str], Assignment]:
    person_codes, person_index = pd.factorize(person_of_record)
    residence = pd.DataFrame({"person": person_codes, "address_key": features["address_key"]})
    pairs: list[tuple[int, int]] = []
    if len(relationships):
        record_person = dict(
            zip(features["source"] + ":" + features["record_id"], person_codes, strict=True)
        )
        rel = relationships[relationships["relationship"].str.lower().isin(FAMILY_RELATIONSHIPS)]
        for source, left, right in rel[["source", "record_id", "related_record_id"]].itertuples(
            index=False
        ):
            a = record_person.get(f"{source}:{left}")
            b = record_person.get(f"{source}:{right}")
            if a is not None and b is not None:
                pairs.append((int(a), int(b)))
    grouping = group_families(len(person_index), residence, pairs)

    clusters: dict[int, list[str]] = {}
    uids = features["unique_id"].tolist()
    for uid, code in zip(uids, person_codes.tolist(), strict=True):
        clusters.setdefault(grouping.family_of[code], []).append(uid)
    previous_links, previous_created = _previous_ids(con, has_previous, "family")
    families = carry_over(clusters, previous_links, previous_created, lambda: new_id("family"))
    family_of_record = np.array(
        [families.ids[grouping.family_of[code]] for code in person_codes.tolist()]
    )
    basis = {str(person_index[code]): grouping.basis[code] for code in range(len(person_index))}
    return family_of_record, basis, families


def _grades(
    features: pd.DataFrame, edges: pd.DataFrame, labels: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Each record's link strength: its best scored pair inside its own person."""
    n = len(features)
    best = np.zeros(n)
    left = edges["left_idx"].to_numpy()
    right = edges["right_idx"].to_numpy()
    p = edges["match_probability"].to_numpy()
    same = labels[left] == labels[right]
    np.maximum.at(best, left[same], p[same])
    np.maximum.at(best, right[same], p[same])

    # A shared valid NHS number or UPN inside the person is certain whatever the score.
    certain = np.zeros(n, dtype=bool)
    for column in ("nhs_number", "upn"):
        values = features[column]
        present = values.notna().to_numpy()
        keyed = pd.Series(labels.astype(str), index=features.index) + "|" + values.astype("string")
        counts = keyed[present].map(keyed[present].value_counts())
        certain[np.flatnonzero(present)[counts.to_numpy() > 1]] = True

    sizes = pd.Series(labels).map(pd.Series(labels).value_counts()).to_numpy()
    grades: list[str] = []
    for i in range(n):
        if sizes[i] == 1:
            grades.append("sole")
        elif certain[i] or best[i] >= 0.9999:
            grades.append("certain")
        elif best[i] >= 0.99:
            grades.append("probable")
        else:
            grades.append("possible")
    probability = np.where(sizes == 1, 1.0, best)
    probability = np.where(certain & (sizes > 1), np.maximum(probability, 0.9999), probability)
    return grades, probability


def _write_entities(
    con: duckdb.DuckDBPyConnection,
    has_previous: bool,
    kind: str,
    assignment: Assignment,
    ids_of_records: pd.Series,
    now: datetime,
    run_id: str,
) -> None:
    table = "persons" if kind == "person" else "families"
    id_col = "person_id" if kind == "person" else "family_id"
    count_col = "record_count" if kind == "person" else "member_count"
    counts = ids_of_records.value_counts()
    created: dict[str, object] = {}
    carried: pd.DataFrame | None = None
    if has_previous:
        carried = con.execute(f"SELECT * FROM previous.{table}").df()
        created = dict(zip(carried[id_col], carried["created_at"], strict=True))
    active = pd.DataFrame(
        {
            id_col: counts.index.astype(str),
            "status": "active",
            "created_at": [created.get(i, now) for i in counts.index],
            "retired_at": pd.NaT,
            "survivor_id": None,
            count_col: counts.to_numpy().astype(np.int32),
        }
    )
    con.register("active_df", active)
    con.execute(f"INSERT INTO {table} SELECT * FROM active_df")
    con.unregister("active_df")
    if carried is not None:
        # Previously retired IDs stay, still pointing at their survivor.
        still_retired = carried[
            (carried["status"] == "retired") & ~carried[id_col].isin(active[id_col])
        ]
        newly = carried[carried[id_col].isin(list(assignment.retired))].copy()
        newly["status"] = "retired"
        newly["retired_at"] = now
        newly["survivor_id"] = newly[id_col].map(assignment.retired)
        keep = pd.concat([still_retired, newly], ignore_index=True)
        keep = keep[~keep[id_col].isin(active[id_col])]
        if len(keep):
            con.register("retired_df", keep)
            con.execute(f"INSERT INTO {table} SELECT * FROM retired_df")
            con.unregister("retired_df")
    start = con.execute("SELECT coalesce(max(event_id), 0) FROM lineage").fetchall()[0][0]
    events = assignment.events
    if events:
        lineage = pd.DataFrame(
            {
                "event_id": np.arange(start + 1, start + 1 + len(events), dtype=np.int64),
                "occurred_at": now,
                "run_id": run_id,
                "entity_type": kind,
                "entity_id": [e.entity_id for e in events],
                "event": [e.event for e in events],
                "other_id": [e.other_id for e in events],
                "reason": [e.reason for e in events],
                "actor": "kinlink link",
                "detail": [json.dumps(e.detail) if e.detail else None for e in events],
            }
        )
        _insert_frame(con, "lineage", lineage)


def _write_family_members(
    con: duckdb.DuckDBPyConnection,
    links: pd.DataFrame,
    features: pd.DataFrame,
    basis: dict[str, str],
    now: datetime,
) -> None:
    years = features["dob_year"].astype("Float64")
    frame = pd.DataFrame(
        {"family_id": links["family_id"], "person_id": links["person_id"], "year": years}
    )
    per_person = frame.groupby(["family_id", "person_id"], as_index=False)["year"].max()
    age = (now.year - per_person["year"]).astype("float64")  # NaN where no date of birth
    per_person["role"] = np.where(np.isnan(age), "unknown", np.where(age < 18, "child", "adult"))
    per_person["basis"] = per_person["person_id"].map(basis).fillna("alone")
    per_person["valid_from"] = now
    per_person["valid_to"] = pd.NaT
    out = per_person[["family_id", "person_id", "role", "basis", "valid_from", "valid_to"]]
    con.register("members_df", out)
    con.execute("INSERT INTO family_members SELECT * FROM members_df")
    con.unregister("members_df")


def _write_edges(
    con: duckdb.DuckDBPyConnection,
    edges: pd.DataFrame,
    features: pd.DataFrame,
    options: LinkOptions,
) -> None:
    uids = features["unique_id"].to_numpy()
    frame = pd.DataFrame(
        {
            "unique_id_l": uids[edges["left_idx"].to_numpy()],
            "unique_id_r": uids[edges["right_idx"].to_numpy()],
            "match_weight": edges["match_weight"].to_numpy(),
            "match_probability": edges["match_probability"].to_numpy(),
            "personal_evidence": edges["personal_evidence"].to_numpy(dtype=bool),
            "outcome": edges["outcome"].to_numpy(),
        }
    )
    con.register("edges_df", frame)
    con.execute("INSERT INTO person_edges SELECT * FROM edges_df")
    con.unregister("edges_df")
    # Review: uncertain pairs that ended in different persons, ambiguous records held back, and
    # strong pairs a constraint blocked, where a reviewer can confirm the constraint was right.
    # Pairs agreeing only on what a household shares (siblings) are not worth a reviewer's time.
    con.execute(
        """
        INSERT INTO review_candidates
        SELECT e.unique_id_l, e.unique_id_r, e.match_probability, e.match_weight,
               CASE WHEN e.outcome = 'below_threshold' THEN 'uncertain' ELSE e.outcome END
        FROM person_edges e
        JOIN record_links a ON a.unique_id = e.unique_id_l
        JOIN record_links b ON b.unique_id = e.unique_id_r
        WHERE a.person_id <> b.person_id
          AND e.personal_evidence
          AND e.match_probability >= ?
          AND e.outcome <> 'constraint:cannot-link'
        """,
        [options.review_threshold],
    )
