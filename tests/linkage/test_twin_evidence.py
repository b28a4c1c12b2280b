"""The twin rule holds two records apart only when the data show two children: both in a
register (a source without duplicates), or each given name carried by records of its own. One
record under another given name in a source full of duplicates is one person recorded twice."""

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from linkage.persons.clustering import duplicate_free_sources, duplicate_heavy_sources
from linkage.persons.constraints import RecordFacts
from tests.linkage.scored_pairs import child, cluster


def at(source: str, given: str, dob: str = "1966-02-05") -> RecordFacts:
    return replace(child(given, dob), source=source, family_name="dinnison", address_key="9|2360")


def _filler(source: str, people: int) -> tuple[list[RecordFacts], list[tuple[int, int, float]]]:
    """``people`` other persons of one source, each recorded twice (a source full of
    duplicates), their pairs scored as the clear duplicates they are."""
    records, edges = [], []
    for n in range(people):
        dob = f"19{40 + n:02d}-03-1{n % 9}"
        records += [at(source, "mark", dob), at(source, "mark", dob)]
        edges.append((2 * n, 2 * n + 1, 0.999))
    return records, edges


def test_a_source_is_a_register_when_its_records_are_seldom_duplicated() -> None:
    cases, edges = _filler("cases", 20)
    gp = [at("gp", "isla"), at("gp", "isabella"), *(at("gp", "x", f"20{n:02d}-01-02")
                                                    for n in range(10))]
    records = [*cases, *gp]
    # Isla/Isabella is no duplicate (names of two children); every "cases" pair is one.
    pairs = [*edges, (len(cases), len(cases) + 1, 0.999)]
    left, right = np.array([e[0] for e in pairs]), np.array([e[1] for e in pairs])
    linkable = np.ones(len(pairs), dtype=bool)
    assert duplicate_free_sources(records, left, right, linkable) == {"gp"}
    # Every "cases" record has a copy: a file of many copies per person, as FEBRL 1-3 are.
    assert duplicate_heavy_sources(records, left, right, linkable) == {"cases"}
    # A handful of duplicates is too few to judge a source by: 9 people twice is a register.
    few = duplicate_free_sources(records[:18], left[:9], right[:9], linkable[:9])
    assert few == {"cases"}


def test_a_renamed_duplicate_in_a_source_full_of_duplicates_links() -> None:
    # Joshua twice, then Naomi: same date, surname and home, nothing else naming a Naomi.
    filler, edges = _filler("febrl", 20)
    base = len(filler)
    records = [*filler, at("febrl", "joshua"), at("febrl", "joshua"), at("febrl", "naomi")]
    result = cluster(records, [*edges, (base, base + 1, 0.9999), (base, base + 2, 0.999)])
    assert result.labels[base + 2] == result.labels[base]
    assert result.edge_outcomes[-1] == "linked"


def test_twins_in_a_register_stay_apart() -> None:
    # The look-alike: one date, surname and home, two names, in a source without duplicates.
    result = cluster([at("gp", "joshua"), at("gp", "naomi")], [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:twin-or-sibling"]


def test_twins_whose_names_each_have_records_of_their_own_stay_apart() -> None:
    # Both in a case system full of duplicates, but each twin's name is on two records.
    filler, edges = _filler("cases", 20)
    base = len(filler)
    records = [*filler, at("cases", "joshua"), at("cases", "joshua"), at("cases", "naomi"),
               at("cases", "naomi")]
    result = cluster(records, [*edges, (base, base + 1, 0.9999), (base + 2, base + 3, 0.9999),
                               (base, base + 2, 0.999)])
    assert result.labels[base] != result.labels[base + 2]
    assert result.edge_outcomes[-1] == "constraint:twin-or-sibling"


def test_twins_across_agencies_stay_apart_when_a_register_holds_both() -> None:
    # School records of Joshua and Naomi would join on everything but the name; the GP list
    # (a register) holds a record of each, so they are two children.
    records = [at("school", "joshua"), at("school", "naomi"), at("gp", "joshua"),
               at("gp", "naomi")]
    result = cluster(records, [(0, 2, 0.9999), (1, 3, 0.9999), (0, 3, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes[-1] == "constraint:twin-or-sibling"


def _pairs_agreeing_but_on_the_given_name(
    given_levels: Sequence[int], sources: Sequence[tuple[str, str]],
    sexes: Sequence[tuple[str, str]],
) -> tuple[list[RecordFacts], np.ndarray, np.ndarray, tuple]:
    """Pairs that agree on the date of birth, the surname and the house, with the given name
    comparison at ``given_levels`` (one per pair)."""
    from linkage.model.comparisons import (
        AddressLevel,
        DobLevel,
        FamilyNameLevel,
    )
    from linkage.persons.profiles import ProfileModel

    records: list[RecordFacts] = []
    for n, ((a, b), (sa, sb)) in enumerate(zip(sources, sexes, strict=True)):
        dob = f"19{50 + n % 50:02d}-0{1 + n % 9}-1{n % 9}"
        records += [replace(at(a, "x", dob), sex=sa), replace(at(b, "y", dob), sex=sb)]
    left = np.arange(0, len(records), 2)
    right = left + 1
    gammas = np.array([[g, DobLevel.EXACT, FamilyNameLevel.EXACT, AddressLevel.SAME_HOUSE]
                       for g in given_levels], dtype=np.int8)
    model = ProfileModel(("given_name", "dob", "family_name", "address"), ({},) * 4, 0.0)
    return records, left, right, (model, gammas)


def test_replaced_given_names_are_evidence_where_the_data_show_the_habit() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    # A benchmark-like file: 60 copies agreeing on the name, 6 under another given name.
    levels = [GivenNameLevel.EXACT] * 60 + [GivenNameLevel.DIFFERENT] * 6
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("febrl", "febrl")] * 66, [("", "")] * 66)
    found = evidence_in_duplicated_sources(records, left, right, frozenset(), profile)
    assert found.tolist() == [False] * 60 + [True] * 6


def test_a_lone_pair_of_names_is_a_twin_not_a_habit() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    # The look-alike: the same file shape, but only one pair under two given names in a
    # hundred: a twin as likely as a replaced name, so no evidence.
    levels = [GivenNameLevel.EXACT] * 100 + [GivenNameLevel.DIFFERENT]
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("cases", "cases")] * 101, [("", "")] * 101)
    assert not evidence_in_duplicated_sources(records, left, right, frozenset(), profile).any()


def test_replaced_names_are_no_evidence_from_a_register_or_across_sexes() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    levels = [GivenNameLevel.EXACT] * 20 + [GivenNameLevel.DIFFERENT] * 4
    sources = [("cases", "cases")] * 20 + [("cases", "gp"), ("gp", "gp"), ("cases", "cases"),
                                           ("cases", "cases")]
    sexes = [("", "")] * 20 + [("", ""), ("", ""), ("M", "F"), ("F", "F")]
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(levels, sources, sexes)
    found = evidence_in_duplicated_sources(records, left, right, frozenset({"gp"}), profile)
    # One record from the GP register (its twin may be the other record): none; both from
    # it: none; a boy and a girl: none; two girls in the case system: evidence.
    assert found.tolist() == [False] * 20 + [False, False, False, True]


def test_a_replaced_date_of_birth_is_evidence_where_the_data_show_the_habit() -> None:
    from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources
    from linkage.persons.profiles import ProfileModel

    # One name at one house; 30 pairs agree on the date, 3 under another date 6 years off and
    # one 30 years off whose date has a record of its own besides (a father and his Junior:
    # the generation rule's, never evidence here; test_generation_evidence has the lone date).
    records: list[RecordFacts] = []
    for n in range(34):
        other = "1986-01-01" if n < 30 else ("1992-05-05" if n < 33 else "2016-05-05")
        records += [at("cases", "jack", "1986-01-01"), at("cases", "jack", other)]
    left = np.arange(0, len(records), 2)
    records.append(at("cases", "jack", "2016-05-05"))
    dobs = [DobLevel.EXACT] * 30 + [DobLevel.DIFFERENT] * 4
    gammas = np.array([[GivenNameLevel.EXACT, d, FamilyNameLevel.EXACT, AddressLevel.SAME_HOUSE]
                       for d in dobs], dtype=np.int8)
    model = ProfileModel(("given_name", "dob", "family_name", "address"), ({},) * 4, 0.0)
    found = evidence_in_duplicated_sources(records, left, left + 1, frozenset(), (model, gammas))
    assert found.tolist() == [False] * 30 + [True] * 3 + [False]
    # The look-alike: the same pairs from a register (a GP list holds each child once): none.
    registered = [replace(r, source="gp") for r in records]
    assert not evidence_in_duplicated_sources(registered, left, left + 1, frozenset({"gp"}),
                                              (model, gammas)).any()
    # And a lone one beside a hundred agreeing pairs is no habit.
    lone = np.concatenate([np.repeat(gammas[:1], 100, axis=0), gammas[30:31]])
    records_lone = [*records[:2] * 100, *records[60:62]]
    lone_left = np.arange(0, len(records_lone), 2)
    assert not evidence_in_duplicated_sources(records_lone, lone_left, lone_left + 1, frozenset(),
                                              (model, lone)).any()


def test_a_name_typed_into_the_other_box_is_evidence_but_a_twin_is_not() -> None:
    from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
    from linkage.persons.clustering import crossed_names
    from linkage.persons.profiles import ProfileModel

    def person(given: str, family: str) -> RecordFacts:
        return replace(at("gp", given), family_name=family)

    records = [person("maddison", "quilliam"), person("quilliam", "ashleigh"),
               # twins: one family name, two given names, one date and home
               person("joshua", "quilliam"), person("naomi", "quilliam")]
    left, right = np.array([0, 2]), np.array([1, 3])
    diff = GivenNameLevel.DIFFERENT
    gammas = np.array([[diff, DobLevel.EXACT, FamilyNameLevel.DIFFERENT, AddressLevel.SAME_HOUSE],
                       [diff, DobLevel.EXACT, FamilyNameLevel.EXACT, AddressLevel.SAME_HOUSE]],
                      dtype=np.int8)
    model = ProfileModel(("given_name", "dob", "family_name", "address"), ({},) * 4, 0.0)
    assert crossed_names(records, left, right, (model, gammas)).tolist() == [True, False]
    # Another date of birth: no evidence, whatever the names.
    gammas[0, 1] = DobLevel.DIFFERENT
    assert not crossed_names(records, left, right, (model, gammas)).any()


def test_between_two_registers_only_a_habit_well_above_what_twins_make_is_evidence() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    registers = frozenset({"file_a", "file_b", "gp", "school"})
    # FEBRL 4's shape: each person once in each file, ~10 % of the pairs under another name.
    levels = [GivenNameLevel.EXACT] * 90 + [GivenNameLevel.DIFFERENT] * 10
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("file_a", "file_b")] * 100, [("", "")] * 100)
    found = evidence_in_duplicated_sources(records, left, right, registers, profile,
                                           frozenset())
    assert found.tolist() == [False] * 90 + [True] * 10
    # The look-alike: a GP list and a school roll of children, where twins make ~2.5 % of the
    # pairs that agree on all but the given name. Those stay apart.
    levels = [GivenNameLevel.EXACT] * 195 + [GivenNameLevel.DIFFERENT] * 5
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("gp", "school")] * 200, [("", "")] * 200)
    assert not evidence_in_duplicated_sources(records, left, right, registers, profile,
                                              frozenset()).any()


def test_a_source_neither_register_nor_full_of_copies_gives_no_replaced_name_evidence() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    # A case system duplicating 12-14 % of its records lists both twins of a family as often as
    # FEBRL 3 replaces a name (17 % of its same-birthday pairs): only a file of many copies per
    # person (``heavy``) reads those pairs as one person.
    levels = [GivenNameLevel.EXACT] * 83 + [GivenNameLevel.DIFFERENT] * 17
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("cases", "cases")] * 100, [("", "")] * 100)
    assert not evidence_in_duplicated_sources(records, left, right, frozenset(), profile,
                                              frozenset()).any()
    heavy = evidence_in_duplicated_sources(records, left, right, frozenset(), profile,
                                           frozenset({"cases"}))
    assert heavy.tolist() == [False] * 83 + [True] * 17


def test_a_father_and_his_junior_stay_apart_on_two_dates_a_generation_apart() -> None:
    # Seed 7's Mark Romcombe: the father's one police record (1982) beside his son's school and
    # GP records (2008), one name and one house. Asking for more evidence than the two dates
    # (each person dated twice, or both in one register) merged them; the dates are the evidence.
    records = [replace(at("education", "mark", "2008-11-13")),
               replace(at("health", "mark", "2008-11-13")),
               replace(at("police", "mark", "1982-09-28"))]
    result = cluster(records, [(0, 1, 0.9999), (0, 2, 0.96), (1, 2, 0.96)])
    assert result.labels[0] == result.labels[1]
    assert result.labels[2] != result.labels[0]
    assert result.edge_outcomes[1:] == ["constraint:different-generation"] * 2


def test_a_twin_with_records_of_her_own_is_no_replaced_name() -> None:
    from linkage.model.comparisons import GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    # A file of many copies with the habit (6 in 66): the six renamed copies are evidence...
    levels = [GivenNameLevel.EXACT] * 60 + [GivenNameLevel.DIFFERENT] * 6
    records, left, right, profile = _pairs_agreeing_but_on_the_given_name(
        levels, [("cases", "cases")] * 66, [("", "")] * 66)
    found = evidence_in_duplicated_sources(records, left, right, frozenset(), profile,
                                           frozenset({"cases"}))
    assert found[60:].all()
    # ...but the look-alike, twins each carried by a record of her own (the GP list holds
    # both), is not, though the pair itself looks just like a renamed copy.
    twin_x, twin_y = records[120], records[121]
    own = [replace(twin_x, source="gp"), replace(twin_y, source="gp")]
    found = evidence_in_duplicated_sources([*records, *own], left, right, frozenset(), profile,
                                           frozenset({"cases"}))
    assert not found[60] and found[61:].all()


def test_an_unnamed_record_between_two_names_is_held_only_where_they_are_two_children() -> None:
    # A nameless record of the date and home fits Joshua and Naomi equally well. In a GP list
    # (a register) they are twins: the record is held for a reviewer.
    gp = [at("gp", "joshua"), at("gp", "naomi"), at("gp", None)]  # type: ignore[arg-type]
    held = cluster(gp, [(0, 2, 0.999), (1, 2, 0.998)])
    assert set(held.edge_outcomes) == {"held:ambiguous"}
    assert len(set(held.labels.tolist())) == 3
    # The look-alike: the same three in a file of many copies, where Naomi is a renamed copy of
    # Joshua: nothing holds the record back, and the three are one person.
    filler, edges = _filler("febrl", 20)
    base = len(filler)
    records = [*filler, at("febrl", "joshua"), at("febrl", "naomi"),
               at("febrl", None)]  # type: ignore[arg-type]
    result = cluster(records, [*edges, (base, base + 2, 0.999), (base + 1, base + 2, 0.998)])
    assert "held:ambiguous" not in result.edge_outcomes
    assert result.labels[base] == result.labels[base + 1] == result.labels[base + 2]


def test_a_name_typed_into_the_other_box_with_a_typo_links_but_a_sister_or_parent_does_not() -> None:
    from linkage.persons.clustering import ClusteringRules, cluster_records
    from linkage.persons.profiles import ProfileModel

    # FEBRL's bits for these levels (Splink numbering): a pair agreeing on date and house alone
    # weighs 3.9 bits, short of the link threshold's 4.25.
    model = ProfileModel(
        names=("given_name", "family_name", "dob", "address"),
        level_bits=({5: 7.5, 3: 7.4, 0: -2.7, -1: 0.0}, {4: 7.6, 3: 7.6, 0: -3.1, -1: 0.0},
                    {6: 10.8, 0: -4.1, -1: 0.0}, {4: 10.9, 3: 7.7, 0: -2.8, -1: 0.0}),
        prior_bits=-12.0,
    )

    def person(given: str, family: str, dob: str = "1913-11-03") -> RecordFacts:
        return replace(at("febrl", given, dob), family_name=family)

    records = [person("oshaughnessy", "bailez"), person("bailey", "white"),
               # a sister at the same house, born another day (same family name: nothing crosses)
               person("naomi", "white", "1915-06-10"), person("bailey", "white"),
               # a mother whose given name is her child's family name: another date
               person("ellis", "morgan", "1980-05-01"), person("tyler", "ellison", "2010-07-09")]
    # In a file of many copies per person, as FEBRL 1-3 are.
    filler, copies = _filler("febrl", 20)
    base = len(filler)
    records = [*filler, *records]
    edges = [(base, base + 1, [0, 0, 6, 4]), (base + 2, base + 3, [0, 4, 0, 4]),
             (base + 4, base + 5, [0, 0, 0, 4]), *((i, j, [5, 4, 6, 4]) for i, j, _ in copies)]
    left = np.array([e[0] for e in edges])
    right = np.array([e[1] for e in edges])
    gammas = np.array([e[2] for e in edges], dtype=np.int8)
    w = np.array([model.weight(g) for g in gammas.tolist()])
    p = 2.0 ** w / (1 + 2.0 ** w)
    assert p[0] < ClusteringRules().link_threshold
    result = cluster_records(records, left, right, p, w, ClusteringRules(),
                             profile=(model, gammas))
    assert result.edge_outcomes[0] == "linked:name-in-the-other-box", result.edge_outcomes
    assert result.labels[base] == result.labels[base + 1]
    assert result.labels[base + 2] != result.labels[base + 3]
    assert result.labels[base + 4] != result.labels[base + 5]
    # A name near the other's but short of the model's typo level crosses nothing.
    records[base + 1] = person("harris", "white")
    records[base] = person("oshaughnessy", "harriet")
    result = cluster_records(records, left, right, p, w, ClusteringRules(),
                             profile=(model, gammas))
    assert result.labels[base] != result.labels[base + 1]


def test_in_a_file_of_copies_a_replaced_field_may_come_with_a_typo_in_another() -> None:
    from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
    from linkage.persons.clustering import evidence_in_duplicated_sources

    # FEBRL's shape: 60 copies agreeing on the name, 6 under another given name whose surname
    # only sounds alike (the clerk's typo beside the replacement).
    levels = [GivenNameLevel.EXACT] * 60 + [GivenNameLevel.DIFFERENT] * 6
    records, left, right, (model, gammas) = _pairs_agreeing_but_on_the_given_name(
        levels, [("cases", "cases")] * 66, [("", "")] * 66)
    gammas[60:, 2] = FamilyNameLevel.SOUNDS_ALIKE
    found = evidence_in_duplicated_sources(records, left, right, frozenset(), (model, gammas),
                                           frozenset({"cases"}))
    assert found.tolist() == [False] * 60 + [True] * 6
    # Not in a source that is no file of copies (a case system duplicating 12-14 %).
    assert not evidence_in_duplicated_sources(records, left, right, frozenset(), (model, gammas),
                                              frozenset()).any()
    # Nor for a twin carried by records of her own, though the pair looks the same.
    own = [replace(records[120], source="gp"), replace(records[121], source="gp")]
    found = evidence_in_duplicated_sources([*records, *own], left, right, frozenset(),
                                           (model, gammas), frozenset({"cases"}))
    assert not found[60] and found[61:].all()
    # A replaced date with the same name beside the same postcode, not house: evidence in the
    # file of copies, none elsewhere.
    gammas[60:, 0], gammas[60:, 1] = GivenNameLevel.EXACT, DobLevel.DIFFERENT
    gammas[60:, 2], gammas[60:, 3] = FamilyNameLevel.EXACT, AddressLevel.SAME_POSTCODE
    for n in range(60, 66):
        records[2 * n + 1] = replace(records[2 * n + 1], given_name="x",
                                     dob=f"19{50 + n % 50:02d}-0{1 + n % 9}-2{n % 9}")
    found = evidence_in_duplicated_sources(records, left, right, frozenset(), (model, gammas),
                                           frozenset({"cases"}))
    assert found.tolist() == [False] * 60 + [True] * 6
    assert not evidence_in_duplicated_sources(records, left, right, frozenset(), (model, gammas),
                                              frozenset()).any()
    # Two men of one name in one street, each with copies of his own under his own date: two
    # people, however the file replaces dates (the date of each is on a third record).
    namesakes = [replace(records[k]) for n in range(60, 66) for k in (2 * n, 2 * n + 1)]
    found = evidence_in_duplicated_sources([*records, *namesakes], left, right, frozenset(),
                                           (model, gammas), frozenset({"cases"}))
    assert not found[60:].any()
