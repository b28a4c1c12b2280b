"""Linkage commands: ``link``, ``train``, ``blocking``, ``export identities``, ``evaluate``,
``synth``, ``review``, ``history`` and ``match``.

Names, options and output columns follow ``shared/contracts/cli.md``; benchmarks depend on them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkage.index.option import DEFAULT_DB, DbOption

__all__ = ["register"]

console = Console(stderr=True)
out = Console()



@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[object]:
    """A Rich progress display with one line per stage, or nothing (for --json and CI)."""
    if not enabled:
        yield lambda _name: contextlib.nullcontext()
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:

        @contextlib.contextmanager
        def stage(name: str) -> Iterator[None]:
            task = progress.add_task(name, total=1)
            yield
            progress.update(task, completed=1)

        yield stage


def _fail(message: str) -> typer.Exit:
    # Messages carry file names and install lines ("kinlink[spark]"): never read them as markup.
    console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=2)


def _how_read(reading: dict[str, Any] | None) -> str:
    """' — ctf 25.0, dates %Y-%m-%d (format), 3 rejects' for the summary table."""
    if not reading:
        return ""
    dates = reading.get("dates") or {}
    formats = ", ".join(dates.get("formats") or [])
    version = f" {reading['version']}" if reading.get("version") else ""
    return (f" — {reading['format']}{version}, dates {formats} ({dates.get('basis')}"
            f"), {reading['rejects']:,} rejects")


def link(
    sources: Annotated[Path, typer.Option("--sources", help="Directory of agency extracts.")],
    db: DbOption = DEFAULT_DB,
    model: Annotated[
        Path | None, typer.Option(help="Model JSON (default: the shipped model).")
    ] = None,
    retrain: Annotated[bool, typer.Option(help="Re-learn the model on this data first.")] = False,
    threshold: Annotated[
        float, typer.Option(help="Link pairs at or above this probability.")
    ] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    incremental: Annotated[
        bool | None,
        typer.Option(
            "--incremental/--full",
            help="Score only pairs with new or changed records, reusing the previous index's "
            "comparisons (default: whenever the previous index allows), or score every pair.",
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="Where pairs are scored: duckdb (in-process) or spark (Splink's "
                               "Spark backend; KINLINK_SPARK_MASTER names a cluster).")
    ] = "duckdb",
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB's memory budget, e.g. 4GB; beyond it the run "
                                      "spills to disk (default: half the machine's memory).")
    ] = None,
    largest_block: Annotated[
        int | None, typer.Option(min=2, help="Most records a name-only blocking key pairs "
                                             "exhaustively; larger blocks also need the year of "
                                             "birth or postcode district to agree (default 300).")
    ] = None,
) -> None:
    """Link every extract in SOURCES into the identity index, keeping identifiers stable."""
    from linkage.engines import EngineUnavailable, require_engine
    from linkage.index import IndexUnavailable, LinkInProgress
    from linkage.ingest.errors import ExtractError
    from linkage.persons.clustering import ClusteringRules
    from linkage.pipeline import LinkOptions, link_sources

    try:
        require_engine(engine)
    except EngineUnavailable as exc:
        raise _fail(str(exc)) from exc
    options = LinkOptions(
        clustering=ClusteringRules(link_threshold=threshold),
        model_path=model,
        retrain=retrain,
        incremental=incremental,
        engine=engine,
        memory_limit=memory_limit,
    )
    if largest_block is not None:
        options = dataclasses.replace(options, largest_block=largest_block)
    try:
        with _progress(not as_json) as stage:
            summary = link_sources(sources, db, options, stage)  # type: ignore[arg-type]  # the progress yields a stage callable typed as object
    except (ExtractError, FileNotFoundError, ValueError, LinkInProgress, IndexUnavailable) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        out.print_json(json.dumps(summary.as_dict()))
        return
    table = Table(title="kinlink link", show_header=False)
    table.add_row("records", f"{summary.records:,} from {len(summary.sources)} sources")
    for name, count in summary.sources.items():
        table.add_row(f"  {name}", f"{count:,}" + _how_read(summary.formats.get(name)))
    table.add_row(
        "persons", f"{summary.persons:,} ({summary.multi_record_persons:,} with several records)"
    )
    table.add_row("families", f"{summary.families:,}")
    table.add_row("grades", ", ".join(f"{k} {v:,}" for k, v in sorted(summary.grades.items())))
    table.add_row(
        "blocked by constraints",
        ", ".join(f"{k} {v:,}" for k, v in summary.constraint_blocks.items()) or "none",
    )
    table.add_row("for review", f"{summary.review_candidates:,} pairs "
                  f"({summary.review_per_1000_records:g} per 1,000 records)")
    fit = summary.model_fit
    if fit:
        kept = "; ".join(f"{c}: {why}" for c, why in fit["kept_shipped"].items())
        table.add_row("model fitted", f"m learnt for {', '.join(fit['learnt']) or 'none'}; "
                      f"prior {fit['prior']:.3g} from {fit['prior_basis']}"
                      + (f"; shipped m kept for {kept}" if kept else ""))
    table.add_row("rejected fields", f"{summary.rejects:,} (report: {summary.reject_report})")
    table.add_row("identity index", summary.db_path)
    scoring = summary.scoring
    table.add_row(
        "pairs",
        f"{scoring.get('mode', '?')}: {scoring.get('pairs_scored', 0):,} scored, "
        f"{scoring.get('pairs_reused', 0):,} reused"
        + (f" ({scoring['reason']})" if scoring.get("reason") else ""),
    )
    table.add_row("seconds", ", ".join(f"{k} {v}" for k, v in summary.seconds.items()))
    table.add_row("peak MB", ", ".join(f"{k} {v:,.0f}" for k, v in summary.peak_mb.items())
                  + f" (DuckDB limit {summary.memory_limit})")
    out.print(table)


def train(
    sources: Annotated[Path, typer.Option("--sources", help="Directory of agency extracts.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="Model JSON to write.")] = None,
    labels_from_identifiers: Annotated[
        bool, typer.Option(help="Also learn m from pairs that share a valid NHS number.")
    ] = False,
    labels_from_reviews: Annotated[
        bool, typer.Option(help="Also learn m from pairs reviewers judged the same person "
                                "(decisions beside --db).")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Retrain the person model on SOURCES and write it (JSON plus an HTML report)."""
    from linkage.model.store import DEFAULT_MODEL_PATH
    from linkage.model.trainer import train_from_sources
    from linkage.review.decisions import DecisionStore, decisions_path_for

    target = out_path or DEFAULT_MODEL_PATH
    reviewed: list[tuple[str, str]] = []
    if labels_from_reviews:
        decided = DecisionStore(decisions_path_for(db)).active()
        same = decided[decided["decision"] == "same"]
        reviewed = list(zip(same["unique_id_l"], same["unique_id_r"], strict=True))
    with _progress(True) as stage, stage("training"):  # type: ignore[operator]  # the progress yields a stage callable typed as object
        report = train_from_sources(sources, target, labels_from_identifiers, reviewed)
    out.print(f"model written to {target}\nreport: {report}")
    if labels_from_reviews:
        out.print(f"{len(reviewed)} reviewer 'same person' decisions used as labels for m")


def blocking(
    sources: Annotated[Path, typer.Option("--sources", help="Directory of agency extracts.")],
    truth: Annotated[
        Path | None, typer.Option(help="Truth CSV to measure recall of true pairs.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    bounded: Annotated[
        bool, typer.Option("--bounded/--unbounded",
                           help="Rules as a link run blocks, large name blocks split by a second "
                                "key (default), or the model's rules as they are.")
    ] = True,
    largest_block: Annotated[
        int | None, typer.Option(min=2, help="The bound, as `kinlink link --largest-block`.")
    ] = None,
) -> None:
    """Report the comparisons each blocking rule adds and (with --truth) the true pairs it finds."""
    from linkage.model.blocking_report import blocking_report

    rows = blocking_report(sources, truth, bounded,
                           **({"largest_block": largest_block} if largest_block else {}))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="blocking rules")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                f"{v:,}" if isinstance(v, int) else f"{v:.4f}" if isinstance(v, float) else str(v)
                for v in row.values()
            )
        )
    out.print(table)


trace_app = typer.Typer(help="Trace persons to NHS numbers through PDS (batch trace over MESH).",
                        no_args_is_help=True)


@trace_app.command("request")
def trace_request(
    out_path: Annotated[Path, typer.Option("--out", help="PDS batch trace request CSV to write.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write a PDS batch trace request for every person with no verified NHS number. Put the
    response in the sources folder: the next link reads it as a pds source."""
    from linkage.index import IndexNotFound, IndexUnavailable, connect_index
    from linkage.ingest.trace import write_trace_request

    try:
        con = connect_index(db)
    except (IndexNotFound, IndexUnavailable) as exc:
        raise _fail(str(exc)) from exc
    with contextlib.closing(con):
        request = write_trace_request(con, out_path)
    out.print(str(request))


export_app = typer.Typer(help="Export from the identity index.", no_args_is_help=True)


@export_app.command("identities")
def export_identities(
    out_path: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """One row per source record: source,record_id,person_id,family_id,match_grade,match_probability."""
    from linkage.index import IndexNotFound, IndexUnavailable, connect_index

    try:
        con = connect_index(db)
    except (IndexNotFound, IndexUnavailable) as exc:
        raise _fail(str(exc)) from exc
    with contextlib.closing(con):
        target = str(out_path).replace("'", "''")
        con.execute(
            f"""COPY (SELECT source, record_id, person_id, family_id, match_grade, match_probability
                     FROM record_links ORDER BY source, record_id)
                TO '{target}' (HEADER, DELIMITER ',')"""
        )
        rows = con.execute("SELECT count(*) FROM record_links").fetchall()[0][0]
    out.print(f"{rows:,} identities written to {out_path}")


def evaluate(
    truth: Annotated[
        Path | None, typer.Option("--truth", help="CSV: source,record_id,person_id[,family_id]")
    ] = None,
    db: DbOption = DEFAULT_DB,
    reviewed: Annotated[bool, typer.Option(
        "--reviewed", help="Also score the index against reviewers' decisions as labels.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pairwise precision, recall, F1 and mixed/split clusters for persons (and families);
    with --reviewed, agreement with reviewers' same/different decisions."""
    from linkage.evaluation import evaluate_against_decisions, evaluate_export, read_truth
    from linkage.index import IndexNotFound, IndexUnavailable, connect_index
    from linkage.review.decisions import DecisionStore, decisions_path_for

    if truth is None and not reviewed:
        raise _fail("give --truth FILE, --reviewed, or both")
    try:
        con = connect_index(db)
        truth_frame = read_truth(truth) if truth is not None else None
    except (IndexNotFound, IndexUnavailable, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    with contextlib.closing(con):
        identities = con.execute(
            "SELECT source, record_id, person_id, family_id FROM record_links"
        ).df()
    results = evaluate_export(identities, truth_frame) if truth_frame is not None else {}
    review = (evaluate_against_decisions(identities, DecisionStore(decisions_path_for(db)).active())
              if reviewed else None)
    if as_json:
        payload = {k: v.as_dict() for k, v in results.items()}
        if review is not None:
            payload["reviewed"] = review
        out.print_json(json.dumps(payload))
        return
    if results:
        table = Table(title="accuracy against truth")
        table.add_column("level")
        for column in ("precision", "recall", "F1", "mixed clusters", "split clusters",
                       "clusters"):
            table.add_column(column, justify="right")
        for level, acc in results.items():
            table.add_row(
                level,
                f"{acc.precision:.5f}",
                f"{acc.recall:.5f}",
                f"{acc.f1:.5f}",
                f"{acc.mixed_clusters:,}",
                f"{acc.split_clusters:,}",
                f"{acc.predicted_clusters:,}",
            )
        out.print(table)
    if review is not None:
        out.print(
            f"reviewed pairs: {review['same']:,} judged the same person, "
            f"{review['same_linked']:,} linked; {review['different']:,} judged different, "
            f"{review['different_apart']:,} kept apart (agreement {review['agreement']:.4f})"
        )


def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write extracts into.")],
    families: Annotated[int, typer.Option(min=1, help="Number of households.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same population).")] = 1,
    surname_skew: Annotated[
        bool, typer.Option("--surname-skew", help="Put the most common surname on about one "
                                                  "family in nine (a blocking stress test).")
    ] = False,
    fmt: Annotated[str, typer.Option(
        "--format", help="Write the agency this format belongs to in it: csv (all canonical), "
                         "ctf or census (education), cin, 903, ssd or csc-api (social care), "
                         "fhir or pds (health).")] = "csv",
) -> None:
    """Generate a synthetic multi-agency population with a truth file (no real data)."""
    from linkage.synth import generate_population
    from linkage.synth.formats import SYNTH_FORMATS, write_in_format
    from linkage.synth.population import SKEWED_SURNAMES

    if fmt not in SYNTH_FORMATS:
        raise _fail(f"--format must be one of {', '.join(SYNTH_FORMATS)}, not {fmt!r}")
    summary = generate_population(out_dir, families=families, seed=seed,
                                  surname_skew=SKEWED_SURNAMES if surname_skew else 0.0)
    written = write_in_format(out_dir, fmt)
    out.print(f"synthetic population written to {out_dir}: {summary}")
    for name, path in written.items():
        out.print(f"  {name} as {fmt}: {path}")


def register(app: typer.Typer) -> None:
    app.command()(link)
    app.command()(train)
    app.command()(blocking)
    app.command()(evaluate)
    app.command()(synth)
    app.add_typer(export_app, name="export")
    app.add_typer(trace_app, name="trace")
    from linkage.review.cli import review_app

    app.add_typer(review_app, name="review")
    from linkage.identity.cli import history

    app.command()(history)
    from linkage.realtime.cli import match

    app.command()(match)
