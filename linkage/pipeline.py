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
import gc
import json
import os
import re
import resource
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

from linkage.families.households import FAMILY_RELATIONSHIPS, group_families
from linkage.features import PreparedSources, prepare_sources
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
from linkage.index.writer import EntityIds, IndexWriter
from linkage.ingest.rejects import write_reject_report
from linkage.ingest.relationship_direction import orient_relationships
from linkage.model.blocking import LARGEST_BLOCK, add_block_bounds
from linkage.model.comparisons import AddressLevel as ADDRESS
from linkage.model.comparisons import DobLevel as DOB
from linkage.model.comparisons import FamilyNameLevel as FAMILY
from linkage.model.comparisons import GivenNameLevel as GIVEN
from linkage.model.comparisons import IdentifierLevel as ID
from linkage.model.report import write_model_report
from linkage.model.store import load_model, model_hash
from linkage.model.training import ModelFit, adapt_to_population, new_linker, train_model
from linkage.persons.clustering import ClusteringRules, Relative, cluster_records
from linkage.persons.constraints import FACT_COLUMNS, RecordFacts, record_facts_of_columns
from linkage.persons.grades import CERTAIN_AT, grade_for
from linkage.persons.profiles import ProfileModel
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.standardise.records import restriction_of
from stores.database import DuckDBLocation, StoreLocation, parse_location

__all__ = ["INDEX_STAGES", "LinkOptions", "LinkRun", "LinkSummary", "StageTimer", "link_sources"]

#: Agreement on something personal to one child, read from Splink's comparison levels (named in
#: ``linkage.model.comparisons``), so a pair that agrees only on what a household shares
#: (surname, address) never links: a shared identifier; or, with dates of birth not flatly
#: different, the given name exact/diminutive/typo, a weaker name match with a close date (or,
#: with no date to compare, the same surname — and, for a merely similar name, one keystroke
#: apart: Ava/Avs, not John/Jean), or a nameless "Baby" record within weeks. A name with neither
#: a date nor an address to compare beside it is no such evidence, however rare the name: it is
#: what two namesakes share, and in a register of adults written ~10 times each, a fifth of the
#: fields missing, such pairs were 175 of the 279 linking edges between two people (4,765 of
#: 216,000 between one; those copies join through their others). (Pairs that are
#: personal evidence only in sources full of duplicates are added by ``persons.clustering``.)
PERSONAL_EVIDENCE_SQL = f"""(
    p.gamma_nhs_number = {ID.IDENTICAL} OR p.gamma_upn = {ID.IDENTICAL}
    OR p.gamma_local_id_key = {ID.IDENTICAL}
    OR (p.gamma_dob <> {DOB.DIFFERENT}
        AND NOT (p.gamma_dob = {DOB.NULL} AND p.gamma_address = {ADDRESS.NULL}) AND (
        p.gamma_given_name >= {GIVEN.TYPO}
        OR (p.gamma_given_name = {GIVEN.MIDDLE_OR_CONTAINED} AND (p.gamma_dob >= {DOB.ONE_DIGIT}
            OR (p.gamma_dob = {DOB.NULL} AND p.gamma_family_name >= {FAMILY.TYPO})))
        OR (p.gamma_given_name = {GIVEN.SOUNDS_ALIKE} AND (p.gamma_dob >= {DOB.ONE_DIGIT}
            OR (p.gamma_dob IN ({DOB.NULL}, {DOB.SAME_YEAR_ESTIMATED_JAN1})
                AND p.gamma_family_name >= {FAMILY.TYPO}
                AND damerau_levenshtein(l.given_name, r.given_name) <= 1)))
        OR (p.gamma_given_name = {GIVEN.NULL} AND p.gamma_dob >= {DOB.WITHIN_45_DAYS})
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
    #: DuckDB's memory budget for the run (e.g. "4GB"); beyond it DuckDB spills to disk beside the
    #: index instead of growing. None: ``default_memory_limit()``.
    memory_limit: str | None = None
    #: Most records one key of a bounded blocking rule pairs exhaustively
    #: (``linkage.model.blocking``); beyond it a second key must agree too.
    largest_block: int = LARGEST_BLOCK


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
    #: Per stage, the process's peak resident memory (MB) while the stage ran: DuckDB's buffers
    #: and the Python objects alike.
    peak_mb: dict[str, float] = field(default_factory=dict)
    #: Per stage, the CPU seconds of the process, every thread (DuckDB's too) counted: on a
    #: shared machine wall seconds say how busy it was, these say what the stage cost.
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    #: The DuckDB memory budget the run was given.
    memory_limit: str = ""
    #: Per source, how its file(s) were read: format, version, files, records, rejects, and the
    #: date format (declared, the format's own, or detected) — see ``linkage.ingest.formats``.
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: How the shipped model was fitted to this population (``linkage.model.training.ModelFit``):
    #: the prior's basis, each EM session, and the comparisons that kept the shipped m values.
    model_fit: dict[str, Any] = field(default_factory=dict)
    #: The review queue against the population: what a team has to work, per 1,000 records.
    review_per_1000_records: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


StageTimer = Callable[[str], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _no_progress(_: str) -> Iterator[None]:
    yield


@dataclass
class LinkRun:
    """What one run knows so far: each stage reads what earlier stages left here and adds its own,
    so a stage's inputs and outputs are named fields rather than locals of one long function."""

    sources_dir: Path
    location: StoreLocation
    options: LinkOptions
    progress: StageTimer
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                        + "-" + uuid.uuid4().hex[:6])
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    # read and standardise
    prepared: PreparedSources = field(init=False)
    report_path: Path = field(init=False)
    # the index being built
    con: duckdb.DuckDBPyConnection = field(init=False)
    writer: IndexWriter = field(init=False)
    has_previous: bool = field(init=False)
    # model
    db_api: DuckDBAPI = field(init=False)
    linker: Any = field(init=False)
    fitted: dict[str, Any] = field(init=False)
    fit: ModelFit | None = None
    # score pairs / cluster persons
    scoring: PairScoring = field(init=False)
    edges: pd.DataFrame = field(init=False)
    relationships: pd.DataFrame = field(init=False)
    orientations: list[Any] = field(init=False)
    labels: np.ndarray = field(init=False)
    # assign IDs / families
    clusters: dict[int, list[str]] = field(init=False)
    persons: Assignment = field(init=False)
    person_of_record: np.ndarray = field(init=False)
    family_of_record: np.ndarray = field(init=False)
    family_basis: dict[str, str] = field(init=False)
    families: Assignment = field(init=False)
    # write index
    grades: list[str] = field(init=False)
    review_count: int = field(init=False)

    @property
    def features(self) -> pd.DataFrame:
        return self.prepared.features

    def timed(self, name: str, step: Callable[[LinkRun], None]) -> None:
        reset_peak_memory()
        t0, cpu0 = time.perf_counter(), time.process_time()
        with self.progress(name):
            step(self)
        self.seconds[name] = round(time.perf_counter() - t0, 2)
        self.cpu_seconds[name] = round(time.process_time() - cpu0, 2)
        self.peak_mb[name] = round(peak_memory_mb(), 1)

    @property
    def memory_limit(self) -> str:
        return self.options.memory_limit or default_memory_limit()

    def open_index(self, con: duckdb.DuckDBPyConnection) -> None:
        # The index being built is a file, so DuckDB spills to its own ``<file>.tmp`` beside it.
        con.execute(f"SET memory_limit = '{_checked_memory_limit(self.memory_limit)}'")
        self.con = con
        self.has_previous = _has_previous(con)
        self.writer = IndexWriter(con, self.has_previous)


def link_sources(
    sources_dir: Path,
    db_path: Path | str | StoreLocation,
    options: LinkOptions | None = None,
    stage: StageTimer = _no_progress,
) -> LinkSummary:
    """Link every extract in ``sources_dir`` into the index at ``db_path`` (a DuckDB file or a
    ``postgresql://`` URL)."""
    run = LinkRun(sources_dir, parse_location(db_path), options or LinkOptions(), stage)
    _checked_memory_limit(run.memory_limit)  # before any work, not after standardising
    run.timed("read and standardise", read_and_standardise)
    run.model = load_model(run.options.model_path)
    with building_index(run.location) as con:
        run.open_index(con)
        for name, step in INDEX_STAGES:
            run.timed(name, step)
        summary = _summary(run)
        run.writer.run(run.run_id, run.started, datetime.now(UTC), str(run.sources_dir),
                       model_hash(run.model), summary.as_dict())
    return summary


def read_and_standardise(run: LinkRun) -> None:
    """Read every extract, standardise it, and report the fields rejected on the way."""
    run.prepared = prepare_sources(run.sources_dir, run.started.date())
    location = run.location
    run.report_path = run.options.reject_report or (
        location.path.with_name(location.path.stem + ".rejects.csv")
        if isinstance(location, DuckDBLocation)
        else scratch_dir(location).with_suffix(".rejects.csv"))
    write_reject_report(run.prepared.ingest.rejects, run.report_path)


def store_records(run: LinkRun) -> None:
    run.writer.source_records(run.prepared.canonical, run.prepared.ingest)
    run.writer.record_features(run.features, lambda con, frame: add_block_bounds(
        con, largest_block=run.options.largest_block, source=frame))
    store_fingerprints(run.con)


def fit_model(run: LinkRun) -> None:
    """Train afresh, or adapt the saved model to this population; keep the fitted model, which
    real-time matching must reproduce."""
    run.db_api = DuckDBAPI(connection=run.con)
    run.linker = new_linker(run.db_api, "record_features", run.model)
    if run.model is None or run.options.retrain:
        train_model(run.linker)
    else:
        run.fit = adapt_to_population(run.linker)
    run.fitted = run.linker.misc.save_model_to_json()
    if run.fit is not None:
        write_model_report(run.fitted, run.report_path.with_name(
            run.report_path.name.removesuffix(".rejects.csv") + ".model.html"),
            title="kinlink person model, fitted to this run", fit=run.fit.as_dict())
    run.writer.meta("model_json", json.dumps(run.fitted))


def score_pairs(run: LinkRun) -> None:
    """Score the blocked pairs and keep those worth any evidence as edges, sorted, so that
    clustering breaks ties between equal weights the same way every run."""
    run.scoring = _score_pairs(run.con, run.db_api, run.linker, run.fitted, run.has_previous,
                               run.options)
    run.edges = run.con.execute(
        f"""
        SELECT l.idx AS left_idx, r.idx AS right_idx, p.match_probability,
               p.match_weight, {PERSONAL_EVIDENCE_SQL} AS personal_evidence,
               {", ".join(f"p.{g}" for g in gamma_columns(run.linker))}
        FROM {PAIR_SCORES} p
        JOIN record_features l ON l.unique_id = p.unique_id_l
        JOIN record_features r ON r.unique_id = p.unique_id_r
        WHERE p.match_weight >= ?
        ORDER BY p.unique_id_l, p.unique_id_r
        """,
        [prob_to_match_weight(KEEP_EDGES_ABOVE)],
    ).df()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector held off for a stage that builds hundreds of thousands of
    small containers (a fact per record, a member list and a date map per person): each full
    collection walks every tracked object of the run, features and edges too, and at 65k
    records they were a fifth of clustering's CPU. Reference counting still frees those
    containers (they form no cycles); anything cyclic made meanwhile waits for the collector,
    which runs again once the stage ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cluster_persons(run: LinkRun) -> None:
    """Constrained clustering of the edges, under reviewers' standing decisions and what the
    agencies' relationship files say; every link a rule implied becomes an edge explaining it."""
    with _collector_paused():
        _cluster_persons(run)


def _cluster_persons(run: LinkRun) -> None:
    features, edges, gammas = run.features, run.edges, gamma_columns(run.linker)
    decisions = DecisionStore(decisions_path_for(run.location)).active()
    must, cannot = _decision_pairs(decisions, features)
    run.relationships, run.orientations = orient_relationships(
        run.prepared.ingest.relationships,
        dict(zip(features["unique_id"].tolist(), features["dob"].tolist(), strict=True)))
    relatives = _relatives(run.relationships, features)
    # Two records an agency says are related (mother of, sibling of) are two people.
    cannot += [(r.record, r.of_record) for r in relatives]
    result = cluster_records(
        _record_facts(features, run.prepared.canonical["attributes"]),
        edges["left_idx"].to_numpy(),
        edges["right_idx"].to_numpy(),
        edges["match_probability"].to_numpy(),
        edges["match_weight"].to_numpy(),
        run.options.clustering,
        must_link=must,
        cannot_link=cannot,
        personal_evidence=edges["personal_evidence"].to_numpy(dtype=bool),
        relatives=relatives,
        profile=(ProfileModel.from_splink_json(run.fitted), edges[gammas].to_numpy(dtype=np.int8)),
    )
    edges = edges.drop(columns=gammas)
    edges["outcome"] = [str(o) for o in result.edge_outcomes]
    run.edges = _with_implied_links(
        edges, [(str(outcome), pairs) for outcome, pairs in result.rule_links.items()])
    run.labels = result.labels


def assign_ids(run: LinkRun) -> None:
    """Carry the previous run's person IDs over to this run's clusters; mint the rest."""
    labels = run.labels.tolist()
    run.clusters = {}
    for uid, label in zip(run.features["unique_id"].tolist(), labels, strict=True):
        run.clusters.setdefault(label, []).append(uid)
    previous_links, previous_created = _previous_ids(run.con, run.has_previous, "person")
    run.persons = carry_over(
        run.clusters, previous_links, previous_created, lambda: new_id("person"))
    run.person_of_record = np.array([run.persons.ids[label] for label in labels])


def group_into_families(run: LinkRun) -> None:
    run.family_of_record, run.family_basis, run.families = _families(
        run.con, run.has_previous, run.features, run.relationships, run.person_of_record)


def write_index(run: LinkRun) -> None:
    """Record links with grades, persons and families with lineage, members, edges and the
    review queue, the comparison vectors the next run reuses, and each ID's history."""
    features, writer = run.features, run.writer
    run.grades, probability = _grades(features, run.edges, run.labels)
    now = datetime.now(UTC)
    links = pd.DataFrame(
        {
            "unique_id": features["unique_id"],
            "source": features["source"],
            "record_id": features["record_id"],
            "person_id": run.person_of_record,
            "family_id": run.family_of_record,
            "match_probability": probability,
            "match_grade": run.grades,
            "linked_at": now,
        }
    )
    writer.record_links(links)
    writer.carry_lineage()
    for kind, assignment, column in (("person", run.persons, "person_id"),
                                     ("family", run.families, "family_id")):
        writer.entities(EntityIds(kind, assignment.retired, assignment.events),
                        links[column], now, run.run_id)
    writer.family_members(links, features["dob_year"], run.family_basis, now)
    writer.edges(run.edges, features["unique_id"].to_numpy(), run.options.review_threshold)
    store_pair_comparisons(run.con, gamma_columns(run.linker))
    run.con.execute(f"DROP TABLE {PAIR_SCORES}")
    carry_history(run.con, run.has_previous, now, run.run_id)
    run.review_count = writer.review_count()
    run.linker.table_management.delete_tables_created_by_splink_from_db()


#: The stages that run inside the index being built, in order; each reads what earlier ones left
#: on the ``LinkRun``. (Reading and standardising runs before the index is opened.)
INDEX_STAGES: tuple[tuple[str, Callable[[LinkRun], None]], ...] = (
    ("store records", store_records),
    ("model", fit_model),
    ("score pairs", score_pairs),
    ("cluster persons", cluster_persons),
    ("assign IDs", assign_ids),
    ("families", group_into_families),
    ("write index", write_index),
)


def _summary(run: LinkRun) -> LinkSummary:
    ingest, edges = run.prepared.ingest, run.edges
    retrained = run.model is None or run.options.retrain
    return LinkSummary(
        run_id=run.run_id,
        db_path=str(run.location),
        sources={name: len(frame) for name, frame in ingest.sources.items()},
        records=len(run.features),
        persons=len(run.clusters),
        multi_record_persons=sum(1 for m in run.clusters.values() if len(m) > 1),
        families=len(set(run.family_of_record.tolist())),
        rejects=len(ingest.rejects),
        reject_report=str(run.report_path),
        review_candidates=run.review_count,
        constraint_blocks={
            k.removeprefix("constraint:"): int(v)
            for k, v in edges["outcome"].value_counts().items()
            if k.startswith("constraint:")
        },
        grades={k: int(v) for k, v in pd.Series(run.grades).value_counts().items()},
        new_person_ids=len(run.persons.new_ids),
        retired_person_ids=len(run.persons.retired),
        model=model_hash(run.model) + (" (retrained)" if retrained else ""),
        seconds=run.seconds,
        cpu_seconds=run.cpu_seconds,
        peak_mb=run.peak_mb,
        memory_limit=run.memory_limit,
        scoring=run.scoring.as_dict(),
        relationships_relative_second={o.source: o.relative_second for o in run.orientations},
        formats={name: r.as_dict() for name, r in run.prepared.ingest.readings.items()},
        model_fit=run.fit.as_dict() if run.fit is not None else {},
        review_per_1000_records=round(1000 * run.review_count / max(len(run.features), 1), 2),
    )


def default_memory_limit() -> str:
    """Half the machine's memory: DuckDB's own default (80 %) leaves too little for the Python
    side of the run (features, edges, clustering) and for anything else on the machine."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 2 // 2**20)}MB"


def _checked_memory_limit(limit: str) -> str:
    """A size DuckDB understands ("4GB", "512MB"), refused with a clear message otherwise."""
    text = limit.strip().upper().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", text):
        raise ValueError(f"--memory-limit must be a size such as 4GB or 512MB, not {limit!r}")
    return text


def reset_peak_memory() -> None:
    """Start a new peak: Linux resets a process's high-water mark (VmHWM) on writing 5 to
    ``/proc/self/clear_refs``, so each stage's peak is its own, not the run's so far."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb() -> float:
    """The process's peak resident memory since the last reset (the run's peak where /proc is
    not available)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _score_pairs(
    con: duckdb.DuckDBPyConnection,
    db_api: DuckDBAPI,
    linker: Any,
    fitted: dict[str, Any],
    has_previous: bool,
    options: LinkOptions,
) -> PairScoring:
    """Every pair afresh, or (when the previous index allows) only the pairs a change touched."""
    structure = scoring_structure(fitted, options.largest_block)
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


def _has_previous(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'previous'"
    ).fetchall()[0]
    return bool(rows and rows[0])


def _record_facts(features: pd.DataFrame, attributes: pd.Series) -> list[RecordFacts]:
    """The constraints' facts of every record, with its restricted marker read from the
    record's attributes (``attributes``, in the features' order), where the real-time index
    reads it too (``source_records.attributes``): the feature table holds what is compared,
    and the marker is not, so it adds no column there (nor a change to every fingerprint)."""
    return record_facts_of_columns([features[c].tolist() for c in FACT_COLUMNS],
                                   [restriction_of(a) for a in attributes.tolist()])


def _decision_pairs(
    decisions: pd.DataFrame, features: pd.DataFrame
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Standing decisions as must/cannot links; pairs whose decisions disagree constrain nothing."""
    if decisions.empty:
        return [], []
    index = dict(zip(features["unique_id"].tolist(), features["idx"].tolist(), strict=True))
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


def _relatives(relationships: pd.DataFrame, features: pd.DataFrame) -> list[Relative]:
    """Each relationship row between two different records of this run as (relative's record,
    the record it is a relative of, role); a row naming a withdrawn record is left out."""
    if relationships.empty:
        return []
    index = dict(zip(features["unique_id"].tolist(), features["idx"].tolist(), strict=True))
    # Looked up key by key: ``Series.map`` with a dictionary first builds an index of all its
    # keys (every record of the run) on each call. A missing ID makes a NaN key, found nowhere.
    left = [index.get(k) for k in (relationships["source"] + ":"
                                   + relationships["record_id"]).tolist()]
    right = [index.get(k) for k in (relationships["source"] + ":"
                                    + relationships["related_record_id"]).tolist()]
    role = relationships["relationship"].astype(str).str.strip().str.lower().tolist()
    return [Relative(a, b, r) for a, b, r in zip(left, right, role, strict=True)
            if a is not None and b is not None and a != b]


def _with_implied_links(
    edges: pd.DataFrame, implied: list[tuple[str, list[tuple[int, int]]]]
) -> pd.DataFrame:
    """Record each link a rule implied (same relative, expected birth) as an edge with that
    rule as its outcome, so every link has a row that explains it.

    The rules are taken in their order: a scored pair (or one an earlier rule added) gets the
    rule as its outcome; an unscored pair gets a row of weight and probability 0, since the
    outcome, not a score, is its evidence. One map of pairs serves every rule, so the edges are
    read once rather than once per rule.
    """
    if not any(pairs for _, pairs in implied):
        return edges
    scored = {(min(a, b), max(a, b)): k for k, (a, b) in enumerate(
        zip(edges["left_idx"].tolist(), edges["right_idx"].tolist(), strict=True))}
    outcomes = edges["outcome"].tolist()
    added: list[tuple[int, int]] = []
    for outcome, pairs in implied:
        fresh = []
        for i, j in pairs:
            k = scored.get((min(i, j), max(i, j)))
            if k is not None:
                outcomes[k] = outcome
            else:
                fresh.append((i, j))
        # A rule's own unscored pairs are added after it has run, as each is its own row.
        for i, j in fresh:
            scored[(min(i, j), max(i, j))] = len(outcomes)
            outcomes.append(outcome)
            added.append((i, j))
    edges["outcome"] = outcomes[:len(edges)]
    if not added:
        return edges
    rows = pd.DataFrame({"left_idx": [i for i, _ in added], "right_idx": [j for _, j in added],
                         "match_probability": 0.0, "match_weight": 0.0,
                         "personal_evidence": False, "outcome": outcomes[len(edges):]})
    return pd.concat([edges, rows], ignore_index=True)


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
            zip((features["source"] + ":" + features["record_id"]).tolist(), person_codes.tolist(),
                strict=True)
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
    basis = {str(person): grouping.basis[code]
             for code, person in enumerate(person_index.tolist())}
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
        else:
            grades.append(grade_for(float(best[i]), bool(certain[i])))
    probability = np.where(sizes == 1, 1.0, best)
    probability = np.where(certain & (sizes > 1), np.maximum(probability, CERTAIN_AT), probability)
    return grades, probability
