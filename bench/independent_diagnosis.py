"""Why kinlink split or merged people in an independent population, grouped by cause.

    python bench/independent_diagnosis.py --sources DIR --db X.duckdb [--examples 5]

Reads the population's ``truth/`` (written by ``bench/independent_population.py``: who each record
really is and which deliberate mess it carries), the extracts as kinlink ingests them, and the
identity index. A person split over several clusters is reported per *fragment* (the records kept
apart from the person's largest cluster), with the generator's notes on those records and which
fields differ from the nearest record in the main cluster. A cluster holding several people is
reported by how those people are related (twins, siblings, parent and child, strangers).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkage.evaluation import cluster_accuracy  # noqa: E402
from linkage.ingest.reader import read_sources  # noqa: E402

__all__ = ["diagnose"]

#: Generator notes that explain a split, strongest first: the first one present names the cause.
_CAUSE_ORDER = (
    "pre_birth", "baby_name", "sibling_nhs_number", "reissued_upn", "old_surname",
    "half_double_barrel", "double_barrel_space", "goes_by_middle_name", "spelling_variant",
    "junior_suffix", "preferred_name", "dob_day_month_swap", "dob_wrong_year", "dob_off_by_one",
    "dob_estimated_jan1", "dob_missing", "given_typo", "surname_typo", "apostrophe",
    "stale_address", "nhs_mistyped", "nhs_placeholder", "postcode_missing", "sex_missing",
    "duplicate_in_source", "upper_case", "stray_spaces",
)
_FIELDS = ("nhs_number", "upn", "given_name", "middle_names", "family_name", "dob", "sex",
           "postcode")


def _norm(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else \
        str(value).strip().upper()


def _cause(notes: str) -> str:
    tags = [t for t in notes.split(";") if t]
    for cause in _CAUSE_ORDER:
        if any(t == cause or t.startswith(cause + "_") for t in tags):
            return cause
    return "no deliberate mess"


def _diff(a: pd.Series, b: pd.Series) -> tuple[list[str], int]:
    """Fields that differ where both have a value, and how many fields agree."""
    differ, agree = [], 0
    for f in _FIELDS:
        x, y = _norm(a[f]), _norm(b[f])
        if x and y:
            if x == y:
                agree += 1
            else:
                differ.append(f)
    return differ, agree


def _address_key(line: object, postcode: object) -> str:
    """Postcode, house number and the street's first word: enough to tell "the same home" from
    "the same postcode" without a gazetteer."""
    text = _norm(line).replace(",", " ")
    numbers = re.findall(r"\d+", text)
    words = re.findall(r"[A-Z]+", text.split(numbers[-1], 1)[1]) if numbers else []
    return f"{_norm(postcode)}|{numbers[-1] if numbers else ''}|{words[0] if words else ''}"


def _show(r: pd.Series) -> str:
    parts = [f"{r['uid']}"]
    for f in ("nhs_number", "upn", "given_name", "middle_names", "family_name", "dob", "sex",
              "postcode"):
        v = _norm(r[f])
        if v:
            parts.append(f"{f}={v}")
    if r["notes"]:
        parts.append(f"[{r['notes']}]")
    return " ".join(parts)


Edges = dict[frozenset[str], tuple[float, str]]


def _load(sources: Path, db: Path
          ) -> tuple[pd.DataFrame, pd.DataFrame, Edges, set[frozenset[str]]]:
    import duckdb

    ingest = read_sources(sources)
    frames = [frame.assign(source=name) for name, frame in ingest.sources.items()]
    records = pd.concat(frames, ignore_index=True)
    records["uid"] = records["source"] + ":" + records["record_id"]
    notes = pd.read_csv(sources / "truth" / "record_notes.csv", dtype=str, keep_default_na=False)
    notes["uid"] = notes["source"] + ":" + notes["record_id"]
    truth = pd.read_csv(sources / "truth" / "truth.csv", dtype=str)
    truth["uid"] = truth["source"] + ":" + truth["record_id"]
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        links = con.execute(
            "SELECT source, record_id, person_id AS cluster, family_id AS fam_cluster, "
            "match_grade FROM record_links").df()
        edges = con.execute(
            "SELECT unique_id_l, unique_id_r, match_probability, outcome FROM person_edges").df()
        queued = con.execute("SELECT unique_id_l, unique_id_r FROM review_candidates").df()
    links["uid"] = links["source"] + ":" + links["record_id"]
    frame = (records.merge(truth[["uid", "person_id", "family_id"]], on="uid")
             .merge(notes[["uid", "notes"]], on="uid")
             .merge(links[["uid", "cluster", "fam_cluster", "match_grade"]], on="uid"))
    persons = pd.read_csv(sources / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    scored: Edges = {
        frozenset((e.unique_id_l, e.unique_id_r)): (float(e.match_probability), str(e.outcome))
        for e in edges.itertuples(index=False)
    }
    review = {frozenset((a, b)) for a, b in zip(queued["unique_id_l"], queued["unique_id_r"],
                                                strict=True)}
    return frame, persons.set_index("person_id"), scored, review


def _best_edge(left: pd.DataFrame, right: pd.DataFrame,
               edges: Edges) -> tuple[float, str]:
    """The strongest scored pair between two groups of records, or 'not compared' (blocking)."""
    best: tuple[float, str] = (-1.0, "not compared")
    for a in left["uid"]:
        for b in right["uid"]:
            edge = edges.get(frozenset((a, b)))
            if edge and edge[0] > best[0]:
                best = edge
    return best


def _relation(a: str, b: str, persons: pd.DataFrame) -> str:
    pa, pb = persons.loc[a], persons.loc[b]
    if pa["twin_of"] == b:
        return "twins"
    if pa["family_id"] == pb["family_id"]:
        roles = {pa["role"], pb["role"]}
        if roles == {"child"}:
            return "siblings"
        if "child" in roles:
            namesake = pa["namesake_of"] == b or pb["namesake_of"] == a
            return "parent and namesake son" if namesake else "parent and child"
        return "two adults of one family"
    same_name = (pa["given_name"] == pb["given_name"]) and (pa["family_name"] == pb["family_name"])
    return "strangers, same name" if same_name else "strangers"


def diagnose(sources: Path, db: Path, examples: int = 5) -> str:
    frame, persons, edges, review = _load(sources, db)
    lines: list[str] = []

    # ---- splits: fragments of a true person outside its largest cluster
    fragments: dict[str, list[tuple[int, str]]] = defaultdict(list)
    source_pairs: dict[str, Counter[str]] = defaultdict(Counter)
    field_diffs: dict[str, Counter[str]] = defaultdict(Counter)
    missed_by_cause: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    rejoin: dict[str, dict[str, str]] = defaultdict(dict)  # base cause → fragment uid → main
    in_review: Counter[str] = Counter()  # fragments a reviewer would be shown
    for person_id, group in frame.groupby("person_id"):
        if group["cluster"].nunique() < 2:
            continue
        has_twin = bool(persons.loc[person_id, "twin_of"])
        sizes = group["cluster"].value_counts()
        main = group[group["cluster"] == sizes.index[0]]
        for cluster in sizes.index[1:]:
            frag = group[group["cluster"] == cluster]
            cause = _cause(";".join(frag["notes"]))
            if cause == "no deliberate mess":
                # Nothing wrong with the fragment: the mess is on the main cluster's side.
                cause = "other side: " + _cause(";".join(main["notes"]))
            if has_twin:
                cause = f"twin; {cause}"
            best = None
            for _, r in frag.iterrows():
                for _, m in main.iterrows():
                    d, agree = _diff(r, m)
                    if best is None or (len(d), -agree) < (len(best[2]), -best[3]):
                        best = (r, m, d, agree)
            assert best is not None
            r, m, d, _ = best
            probability, outcome = _best_edge(frag, main, edges)
            if _norm(r["nhs_number"]) and _norm(r["nhs_number"]) in set(
                    main["nhs_number"].map(_norm)):
                outcome += " (same NHS number)"
            outcomes[cause][outcome] += 1
            if any(frozenset((a, b)) in review for a in frag["uid"] for b in main["uid"]):
                in_review[cause] += 1
            missed = len(frag) * len(main)
            missed_by_cause[cause] += missed
            key = cause.replace("twin; ", "").replace("other side: ", "")
            for uid in frag["uid"]:
                rejoin[key][uid] = sizes.index[0]
            field_diffs[cause]["differs: " + (",".join(d) or "nothing")] += 1
            source_pairs[cause][f"{r['source']}~{m['source']}"] += 1
            fragments[cause].append(
                (missed, f"{_show(r)}\n        main: {_show(m)}\n        best pair: "
                         f"{outcome} p={probability:.3f}"))

    total_frag = sum(len(v) for v in fragments.values())
    base: Counter[str] = Counter()
    base_pairs: Counter[str] = Counter()
    for cause, items in fragments.items():
        key = cause.replace("twin; ", "").replace("other side: ", "")
        base[key] += len(items)
        base_pairs[key] += missed_by_cause[cause]
    summary = ", ".join(f"{k} {v} ({base_pairs[k]} pairs)" for k, v in base.most_common())
    # What each cause costs: person recall if its fragments had joined their main cluster.
    truth_ids = frame["person_id"]
    now = cluster_accuracy(frame["cluster"], truth_ids).recall
    costs = []
    for key, moves in rejoin.items():
        fixed = frame["uid"].map(moves).fillna(frame["cluster"])
        costs.append((cluster_accuracy(fixed, truth_ids).recall - now, key))
    costs.sort(reverse=True)
    lines.append(f"## Splits: {total_frag} fragments, "
                 f"{frame.groupby('person_id')['cluster'].nunique().gt(1).sum()} persons split")
    lines.append(f"by cause on either side (twins and other side folded in): {summary}")
    lines.append(f"fragments with a pair in the review queue: {sum(in_review.values())}")
    lines.append(f"person recall {now:.5f}; recall gained if one cause's fragments had joined: "
                 + ", ".join(f"{k} +{gain:.5f}" for gain, k in costs))
    for cause, items in sorted(fragments.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"\n### {cause}: {len(items)} fragments, {missed_by_cause[cause]} missed pairs"
                     f" (to main cluster)")
        lines.append("  outcome: " + ", ".join(f"{k} {v}"
                                               for k, v in outcomes[cause].most_common())
                     + f"; in the review queue: {in_review[cause]}")
        lines.append("  fields: " + ", ".join(f"{k} {v}"
                                              for k, v in field_diffs[cause].most_common(6)))
        lines.append("  sources: " + ", ".join(f"{k} {v}"
                                               for k, v in source_pairs[cause].most_common(6)))
        for _, text in items[:examples]:
            lines.append(f"  - {text}")

    # ---- merges: clusters holding several true persons
    merges: dict[str, list[str]] = defaultdict(list)
    wrong_pairs: Counter[str] = Counter()
    for cluster, group in frame.groupby("cluster"):
        people = group["person_id"].unique()
        if len(people) < 2:
            continue
        counts = group["person_id"].value_counts()
        a, b = counts.index[0], counts.index[1]
        relation = _relation(a, b, persons)
        wrong_pairs[relation] += int(counts.iloc[0] * counts.iloc[1:].sum())
        rows = [_show(r) + f" (true {r['person_id']})" for _, r in group.iterrows()]
        p, o = _best_edge(group[group["person_id"] == a], group[group["person_id"] != a], edges)
        rows.append(f"strongest pair across the two: {o} p={p:.3f}")
        merges[relation].append(f"cluster {cluster}:\n      " + "\n      ".join(rows))
    lines.append(f"\n## Merges: {sum(len(v) for v in merges.values())} mixed person clusters")
    for relation, items in sorted(merges.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"\n### {relation}: {len(items)} clusters, {wrong_pairs[relation]} false pairs")
        for text in items[:examples]:
            lines.append(f"  - {text}")

    # ---- families: predicted families holding several true families, and true families split
    lines.append("\n## Families")
    fam_mixed: Counter[str] = Counter()
    fam_examples: dict[str, list[str]] = defaultdict(list)
    person_of = persons
    for fam_cluster, group in frame.groupby("fam_cluster"):
        fams = group["family_id"].unique()
        if len(fams) < 2:
            continue
        # Why together: same person cluster across families (a merge), or a shared address.
        if group.groupby("cluster")["family_id"].nunique().gt(1).any():
            why = "a person merged across families"
        else:
            by_fam = {f: set(group[group["family_id"] == f]["postcode"].dropna()) for f in fams}
            shared = set.intersection(*by_fam.values()) if by_fam else set()
            homes = [
                {_address_key(r["address"], r["postcode"])
                 for _, r in group[group["family_id"] == f].iterrows() if r["postcode"]}
                for f in fams
            ]
            same_home = bool(set.intersection(*homes)) if homes else False
            stale = group["notes"].str.contains("stale_address").any()
            where = "same home" if same_home else "same postcode, different home"
            why = (f"{where}, stale address" if shared and stale
                   else where if shared else "no shared postcode")
        fam_mixed[why] += 1
        if len(fam_examples[why]) < examples:
            desc = []
            for f in fams:
                members = group[group["family_id"] == f]
                roles = Counter(person_of.loc[p, "role"] for p in members["person_id"].unique())
                addr = sorted({_norm(a) for a in members["address"].dropna()})[:2]
                pcs = sorted({_norm(p) for p in members["postcode"].dropna()})
                stale = int(members["notes"].str.contains("stale_address").sum())
                desc.append(f"{f} {dict(roles)} postcodes={pcs} addresses={addr} stale={stale}")
            fam_examples[why].append(f"family {fam_cluster}: " + " | ".join(desc))
    fam_split = frame.groupby("family_id")["fam_cluster"].nunique().gt(1).sum()
    lines.append(f"mixed family clusters by cause: {dict(fam_mixed)}; true families split: "
                 f"{fam_split}")
    for why, items in fam_examples.items():
        lines.append(f"\n### {why}")
        lines.extend(f"  - {t}" for t in items)
    split_why: Counter[str] = Counter()
    split_examples: dict[str, list[str]] = defaultdict(list)
    for fam, group in frame.groupby("family_id"):
        if group["fam_cluster"].nunique() < 2:
            continue
        sizes = group["fam_cluster"].value_counts()
        for fc in sizes.index[1:]:
            part = group[group["fam_cluster"] == fc]
            roles = sorted({person_of.loc[p, "role"] for p in part["person_id"]})
            persons_split = part["person_id"].isin(
                group[group["fam_cluster"] == sizes.index[0]]["person_id"]).any()
            if persons_split:
                why = "a fragment of a split person"
            elif part["notes"].str.contains("stale_address").all():
                why = f"{'+'.join(roles)} only on a stale address"
            elif part["postcode"].isna().all():
                why = f"{'+'.join(roles)} without postcode"
            else:
                why = f"{'+'.join(roles)} at the same address, not joined"
            split_why[why] += 1
            if len(split_examples[why]) < examples:
                split_examples[why].append(
                    f"{fam}: apart {[_show(r) for _, r in part.iterrows()][:3]}")
    lines.append(f"\nfamily fragments by cause: {dict(split_why.most_common())}")
    for why, items in split_examples.items():
        lines.append(f"\n### split: {why}")
        lines.extend(f"  - {t}" for t in items)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()
    print(diagnose(args.sources, args.db, args.examples))


if __name__ == "__main__":
    main()
