"""Generate a whole synthetic population: four agency extracts, relationships and the truth."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from linkage.contract import RELATIONSHIP_COLUMNS
from linkage.synth.agencies import LAYOUTS, SOURCES, Agencies
from linkage.synth.errors import ErrorRates
from linkage.synth.people import EXTRACT_DATE, FamilyGroup, Person, PopulationBuilder
from linkage.synth.writer import CsvOut, ShuffledCsv, source_yaml

__all__ = ["PERSON_COLUMNS", "SKEWED_SURNAMES", "SynthSummary", "generate_population"]

POLICE_YAML: Final = """\
agency: police            # the agency (party) this source belongs to
columns:                  # contract column: source column
  record_id: person_ref
  given_name: forename
  family_name: surname
  dob: date_of_birth
  sex: gender
  postcode: post_code
  address: address_line
date_formats: {dob: "%d/%m/%Y"}
values: {sex: {Male: M, Female: F, Unknown: U}}
categories:               # extra (non-contract) column: data category code for sharing
  offence_flag: criminal-offence
  incident_count: police-involvement
"""

_AGENCY: Final = {"health": "health", "education": "education", "social_care": "social_care"}
_CATEGORIES: Final = {
    "health": {
        "gp_practice": "professionals",
        "health_visitor": "professionals",
        "safeguarding_flag": "safeguarding-flags",
    },
    "education": {
        "school_urn": "education-attendance",
        "attendance_pct": "education-attendance",
        "send_status": "send",
    },
    "social_care": {
        "case_status": "case-status",
        "allocated_worker": "professionals",
        "cp_plan": "cp-plan",
    },
}
#: Expected records per family, to size the shuffle buckets.
_ROWS_PER_FAMILY: Final = {"health": 2.5, "education": 1.6, "social_care": 1.3, "police": 1.0}

#: ``truth/persons.csv``: the true identity of every person (used by ``draw_queries``).
PERSON_COLUMNS: Final = (
    "person_id",
    "family_id",
    "role",
    "household_kind",
    "given_name",
    "middle_names",
    "family_name",
    "other_family_names",
    "preferred_name",
    "dob",
    "sex",
    "nhs_number",
    "upn",
    "postcode",
    "address",
    "previous_postcode",
    "previous_address",
    "twin_group",
    "mother_id",
    "father_id",
    "restriction",
    "records",
)


@dataclass(frozen=True)
class SynthSummary:
    """What was generated and where; ``records`` is per source."""

    families: int  # households asked for (each with its own family_id)
    households: int  # including parents who live apart, each heading their own household
    persons: int
    records: dict[str, int]
    relationships: dict[str, int]
    seconds: float
    out_dir: Path
    paths: dict[str, Path]

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    def __str__(self) -> str:
        per_source = ", ".join(f"{s} {n:,}" for s, n in self.records.items())
        return (
            f"{self.families:,} families, {self.persons:,} persons, "
            f"{self.total_records:,} records ({per_source}) in {self.seconds:.1f} s"
        )


def _person_row(p: Person, group: FamilyGroup, records: int) -> list[str]:
    prev = p.previous_address
    return [
        p.person_id,
        p.family_id,
        p.role,
        group.home.kind if p.family_id == group.home.family_id else "living-apart",
        p.given,
        " ".join(p.middle),
        p.surname,
        "|".join(p.other_surnames),
        p.preferred,
        p.dob.isoformat(),
        p.sex,
        p.nhs,
        p.upn,
        p.address.postcode,
        p.address.text(),
        prev.postcode if prev else "",
        prev.text() if prev else "",
        p.twin_group,
        p.mother_id,
        p.father_id,
        p.restriction,
        str(records),
    ]


#: The ``surname_skew`` of ``kinlink synth --surname-skew``: the most common surname then names
#: about one family in nine (11 % on seed 7, against 4 % unskewed), as in towns where a few
#: surnames dominate.
SKEWED_SURNAMES = 0.055


def generate_population(
    out_dir: Path, families: int = 1000, seed: int = 1, *, rates: ErrorRates | None = None,
    surname_skew: float = 0.0,
) -> SynthSummary:
    """Write a synthetic multi-agency population with known truth into ``out_dir``.

    The same ``families``, ``seed``, ``rates`` and ``surname_skew`` always give byte-identical
    files. ``surname_skew`` (0 to 1) is the extra share of surnames that are the most common one.
    """
    if not 0.0 <= surname_skew < 1.0:
        raise ValueError(f"surname_skew must be at least 0 and below 1, not {surname_skew}")
    if families < 1:
        raise ValueError("families must be at least 1")
    started = time.perf_counter()
    rates = rates or ErrorRates()
    out_dir = Path(out_dir)
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    shuffle_rng = random.Random(f"shuffle-{seed}")
    builder = PopulationBuilder(families, seed, surname_skew)
    agencies = Agencies(seed, rates, builder.place)

    extracts = {
        s: ShuffledCsv(
            out_dir / f"{s}.csv", LAYOUTS[s], int(families * _ROWS_PER_FAMILY[s]), shuffle_rng
        )
        for s in SOURCES
    }
    relationship_files = {
        s: CsvOut(out_dir / f"{s}_relationships.csv", RELATIONSHIP_COLUMNS)
        for s in ("health", "education", "social_care")
    }
    truth = CsvOut(truth_dir / "truth.csv", ("source", "record_id", "person_id", "family_id"))
    persons = CsvOut(truth_dir / "persons.csv", PERSON_COLUMNS)
    errors = CsvOut(truth_dir / "errors.csv", ("source", "record_id", "errors"))
    tags: dict[str, Counter[str]] = {s: Counter() for s in SOURCES}
    households = twins = 0
    try:
        for _ in range(families):
            group = builder.family()
            households += 1 + len(group.elsewhere)
            per_person: Counter[str] = Counter()
            for source, (records, relationships) in agencies.records(group).items():
                layout = LAYOUTS[source]
                out = extracts[source]
                for rec in records:
                    out.write([rec.fields.get(c, "") for c in layout])
                    truth.write((source, rec.record_id, rec.person.person_id, rec.person.family_id))
                    per_person[rec.person.person_id] += 1
                    if rec.errors:
                        errors.write((source, rec.record_id, ";".join(rec.errors)))
                        tags[source].update(set(rec.errors))
                for rel in relationships:
                    relationship_files[source].write(rel)
            for p in group.everyone:
                persons.write(_person_row(p, group, per_person[p.person_id]))
                twins += bool(p.twin_group)
        for out in extracts.values():
            out.close()
    finally:
        for f in (*relationship_files.values(), truth, persons, errors):
            f.close()

    (out_dir / "police.yaml").write_text(POLICE_YAML, encoding="utf-8")
    for source, agency in _AGENCY.items():
        (out_dir / f"{source}.yaml").write_text(
            source_yaml(agency, _CATEGORIES[source]), encoding="utf-8"
        )
    per_source = {s: extracts[s].rows for s in SOURCES}
    summary = SynthSummary(
        families=families,
        households=households,
        persons=persons.rows,
        records=per_source,
        relationships={s: f.rows for s, f in relationship_files.items()},
        seconds=time.perf_counter() - started,
        out_dir=out_dir,
        paths={
            **{s: extracts[s].path for s in SOURCES},
            **{f"{s}_relationships": f.path for s, f in relationship_files.items()},
            **{f"{s}_config": out_dir / f"{s}.yaml" for s in SOURCES},
            "truth": truth.path,
            "persons": persons.path,
            "errors": errors.path,
            "readme": truth_dir / "README.md",
        },
    )
    (truth_dir / "README.md").write_text(
        _readme(summary, seed, rates, tags, twins), encoding="utf-8"
    )
    return summary


def _readme(
    summary: SynthSummary, seed: int, rates: ErrorRates, tags: dict[str, Counter[str]], twins: int
) -> str:
    lines = [
        "# Synthetic population (generated; no real person)",
        "",
        f"Generated by `linkage.synth.generate_population` with {summary.families:,} families, "
        f"seed {seed}. Extract date {EXTRACT_DATE.isoformat()}.",
        "",
        f"- households: {summary.households:,} (the {summary.families:,} generated plus parents "
        "living apart, each in a household of their own)",
        f"- persons: {summary.persons:,}, of whom {twins:,} are twins or triplets",
        f"- records: {summary.total_records:,} — "
        + ", ".join(f"{s} {n:,}" for s, n in summary.records.items()),
        "- relationships: " + ", ".join(f"{s} {n:,}" for s, n in summary.relationships.items()),
        "",
        "## Files",
        "",
        "- `truth.csv` — `source,record_id,person_id,family_id` for every record of every source.",
        "  `family_id` is the household the person lives in on the extract date. A parent who has",
        "  left (separation), and a birth parent whose children live with grandparents, has a",
        "  family_id of their own (their new household), even though agencies may still hold",
        "  them at the family's address. Pre-birth records belong to the child born (or to be",
        "  born), in the mother's household.",
        "- `persons.csv` — each person's true identity (legal names, DOB, identifiers, address).",
        "- `errors.csv` — the recording errors applied to each record (records without errors",
        "  are not listed).",
        "",
        "Relationship files: `record_id`'s person IS the `relationship` OF `related_record_id`'s",
        "person (`mother` from the mother's record to the child's).",
        "",
        "## Error rates",
        "",
        "Configured (per record or per field; agencies scale some of them):",
        "",
        "| error | rate |",
        "|---|---|",
        *[f"| {f.name} | {getattr(rates, f.name):g} |" for f in fields(rates)],
        "",
        "Observed share of records carrying each error:",
        "",
        "| error | " + " | ".join(SOURCES) + " |",
        "|---|" + "---|" * len(SOURCES),
    ]
    all_tags = sorted(set().union(*(set(c) for c in tags.values())))
    for tag in all_tags:
        cells = []
        for s in SOURCES:
            n = summary.records[s]
            cells.append(f"{100 * tags[s][tag] / n:.2f} %" if n else "–")
        lines.append(f"| {tag} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
