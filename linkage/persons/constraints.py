"""Hard constraints: pairs of records that may never be in one person, whatever the score says.

Scores are evidence; these are facts about how children's records go wrong (domain/linkage.md):
two valid, different NHS numbers are two people, and so are two permanent UPNs unless the records
agree on the day of birth and the first name (a school re-issued the number); dates of birth a generation
apart are a parent and a child; and two records *from one agency* sharing a date of birth but with
genuinely different given names are twins, not one child. (Across agencies a different given name is
as often a preferred name as a twin, so there it is evidence for the model, not a constraint; twins
across agencies are kept apart by their identifiers and by holding ambiguous records for review.) A constraint is checked
between whole clusters, so a weak record cannot chain two children together.

One constraint is policy rather than a fact about errors (issue 16.2): a record with an identity
marker (adoption, gender recognition) joins records without one only through a verified
identifier the marked record itself carries (``identity_kept_apart``). The same definition keeps a
real-time query from such a person (``linkage.realtime.matcher``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Indel, JaroWinkler

__all__ = [
    "IDENTITY_MARKERS",
    "RESTRICTED_RECORD",
    "RecordFacts",
    "given_names_compatible",
    "identity_kept_apart",
    "identity_marker",
    "pair_conflict",
    "record_facts",
    "record_facts_of_columns",
    "reissued_upn",
    "same_first_name",
    "shares_verified_identifier",
    "sibling_identifier_error",
    "twin_names",
    "twins_in_one_source",
]

#: Above this similarity two given names may be one name mistyped (Jon/John), so they do not prove
#: two people; below it (Jack/Jacob) they do when the date of birth is shared.
TYPO_SIMILARITY = 0.88

#: Restricted markers that concern who a person *is*: a pre- and a post-adoption identity must
#: never be linked, nor a gender-recognition record to the earlier one (issue 16.2: the adoption
#: marker wins over any likeness and any former identifier). Other markers (``nhs-restricted``,
#: ``refuge-address``) limit what is shown, not what may be linked.
IDENTITY_MARKERS = frozenset({"adoption", "gender-recognition"})

#: The constraint that keeps an identity-marked record from records it shares no verified
#: identifier with. It names no marker: which one applies is itself the secret.
RESTRICTED_RECORD = "restricted-record"


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the constraints read about one record (all standardised, None when unknown)."""

    nhs_number: str | None
    dob: str | None
    given_name: str | None
    given_name_canonical: str | None
    given_name_metaphone: str | None
    given_names_all: frozenset[str]
    #: A permanent UPN (temporary ones are re-issued, so they prove nothing).
    upn: str | None = None
    source: str | None = None
    #: Read by the household rules (pre-birth records), not by the constraints.
    family_name: str | None = None
    address_key: str | None = None
    #: "Baby", "Unborn" or no given name at all: a record made before the child was named.
    placeholder_name: bool = False
    sex: str | None = None
    #: The house by number, street and town, for records without a postcode.
    address_line_key: str | None = None
    #: A UPN the child had before (never on an adopted child's record: ``standardise.records``).
    former_upn: str | None = None
    #: The record carries an identity marker (``IDENTITY_MARKERS``). Read from the record's
    #: ``restriction`` attribute, which the feature table does not hold (it is not compared).
    identity_marked: bool = False

    def houses(self) -> tuple[str, ...]:
        """Every key naming this record's house (by postcode, by street)."""
        return tuple(k for k in (self.address_key, self.address_line_key) if k)

    def same_house(self, other: RecordFacts) -> bool:
        """The model's "same house": number and postcode, or number, street and town when one
        side has no postcode (two different postcodes are two houses)."""
        if self.address_key and self.address_key == other.address_key:
            return True
        return bool(self.address_line_key and self.address_line_key == other.address_line_key
                    and (not self.address_key or not other.address_key))


#: The standardised feature columns ``record_facts`` reads.
FACT_COLUMNS = (
    "nhs_number", "dob", "given_name", "given_name_canonical", "given_name_metaphone",
    "given_names_all", "upn", "upn_is_temporary", "source", "family_name", "address_key",
    "name_is_placeholder", "sex", "address_line_key", "former_upn",
)


def identity_marker(restriction: Any) -> str | None:
    """The identity marker (``IDENTITY_MARKERS``) a record's ``restriction`` attribute names, or
    None: read one way (trimmed, any case) wherever a marker decides a link."""
    text = str(restriction).strip().lower() if isinstance(restriction, str) else ""
    return text if text in IDENTITY_MARKERS else None


def _known(value: Any) -> Any:
    """The value, or None for a missing one (None, NaN, or pandas' NA, which refuses truth)."""
    if value is None:
        return None
    try:
        return None if value != value else value
    except TypeError:
        return None


def record_facts(features: Mapping[str, Any], restriction: Any = None) -> RecordFacts:
    """The facts of one standardised record (a row of a link run's feature table, or one
    real-time query), read one way for both, so batch and real time apply the same rules.
    ``restriction`` is the record's restricted marker (its ``restriction`` attribute), kept
    beside the features rather than among them because no comparison reads it."""
    return _facts(*(features.get(column) for column in FACT_COLUMNS), restriction=restriction)


def record_facts_of_columns(columns: Sequence[Sequence[Any]],
                            restrictions: Sequence[Any] | None = None) -> list[RecordFacts]:
    """``record_facts`` of every row of a feature table given as its ``FACT_COLUMNS``, in that
    order, with each row's restricted marker from ``restrictions`` (None: no record has one):
    the same reading without building a mapping per record (a link run reads every record, a
    million at 1M)."""
    if restrictions is None:
        restrictions = [None] * (len(columns[0]) if columns else 0)
    (nhs_number, dob, given_name, given_name_canonical, given_name_metaphone, given_names_all,
     upn, upn_is_temporary, source, family_name, address_key, name_is_placeholder, sex,
     address_line_key, former_upn) = columns
    # Read column by column, each value as ``_facts`` reads it, then one RecordFacts per row:
    # a call per record and per field cost a 1M-record run seconds. Values many records share
    # (a source, a sex, a date, a name) are kept once: a million copies of "health" or "F" were
    # tens of MB each.
    return list(map(
        RecordFacts,
        _known_column(nhs_number), _known_column(dob, shared=True),
        _known_column(given_name, shared=True), _known_column(given_name_canonical, shared=True),
        _known_column(given_name_metaphone, shared=True), _name_sets(given_names_all),
        [None if _known(temporary) else _known(number)
         for number, temporary in zip(upn, upn_is_temporary, strict=True)],
        _known_column(source, shared=True), _known_column(family_name, shared=True),
        _known_column(address_key), [bool(_known(v)) for v in name_is_placeholder],
        _known_column(sex, shared=True), _known_column(address_line_key),
        _known_column(former_upn),
        [identity_marker(restriction) is not None for restriction in restrictions],
    ))


def _known_column(values: Sequence[Any], shared: bool = False) -> list[Any]:
    """``_known`` of each value (a string is known as it is); with ``shared``, equal strings
    come back as one object."""
    if not shared:
        return [v if v.__class__ is str else _known(v) for v in values]
    seen: dict[str, str] = {}
    return [seen.setdefault(v, v) if v.__class__ is str else _known(v) for v in values]


def _name_sets(values: Sequence[Any]) -> list[frozenset[str]]:
    """Each record's set of given names as ``_facts`` reads it, equal sets kept once."""
    seen: dict[frozenset[str], frozenset[str]] = {}
    return [seen.setdefault(names, names) for names in (
        frozenset(v) if v is not None and not isinstance(v, float) else frozenset()
        for v in values)]


def _facts(nhs_number: Any, dob: Any, given_name: Any, given_name_canonical: Any,
           given_name_metaphone: Any, given_names_all: Any, upn: Any, upn_is_temporary: Any,
           source: Any, family_name: Any, address_key: Any, name_is_placeholder: Any, sex: Any,
           address_line_key: Any, former_upn: Any, *, restriction: Any = None) -> RecordFacts:
    names = given_names_all
    return RecordFacts(
        nhs_number=_known(nhs_number),
        dob=_known(dob),
        given_name=_known(given_name),
        given_name_canonical=_known(given_name_canonical),
        given_name_metaphone=_known(given_name_metaphone),
        given_names_all=frozenset(names) if names is not None and not isinstance(names, float)
        else frozenset(),
        upn=None if _known(upn_is_temporary) else _known(upn),
        source=_known(source),
        family_name=_known(family_name),
        address_key=_known(address_key),
        placeholder_name=bool(_known(name_is_placeholder)),
        sex=_known(sex),
        address_line_key=_known(address_line_key),
        former_upn=_known(former_upn),
        identity_marked=identity_marker(restriction) is not None,
    )


#: Two dates of birth this many years apart are a parent and a child (Junior named after his
#: father), not one person with a mistyped year.
GENERATION_GAP_YEARS = 12


def given_names_compatible(a: RecordFacts, b: RecordFacts) -> bool:
    """Could these two given names belong to one child? Unknown names are always compatible."""
    if not a.given_name or not b.given_name:
        return True
    x, y = a.given_name, b.given_name
    if x == y:
        return True
    if x == b.family_name and y == a.family_name:
        return True  # the two names recorded the wrong way round
    if a.given_name_canonical and a.given_name_canonical == b.given_name_canonical:
        return True
    if a.given_name_metaphone and a.given_name_metaphone == b.given_name_metaphone:
        return True
    if x in b.given_names_all or y in a.given_names_all:
        return True  # known by a middle name
    shorter, longer = sorted((x, y), key=len)
    if len(shorter) >= 3 and (longer.startswith(shorter) or longer.endswith(shorter)):
        return True  # Alex / Alexander, Tina / Christina
    if len(shorter) == 1 and longer.startswith(shorter):
        return True  # an initial
    if _equivalent_by_nickname(x, y):
        return True
    return JaroWinkler.similarity(x, y) >= TYPO_SIMILARITY


def same_first_name(a: RecordFacts, b: RecordFacts, typos: bool = True) -> bool:
    """Are the first given names one name: identical, one canonical form, a known nickname, or
    (with ``typos``) a typo? Stricter than ``given_names_compatible``: no initials, middle names
    or name parts."""
    x, y = a.given_name, b.given_name
    if not x or not y:
        return False
    if x == y or (a.given_name_canonical and a.given_name_canonical == b.given_name_canonical):
        return True
    if _equivalent_by_nickname(x, y):
        return True
    return typos and JaroWinkler.similarity(x, y) >= TYPO_SIMILARITY


def reissued_upn(a: RecordFacts, b: RecordFacts) -> bool:
    """Two different UPNs on one child: a school (or a move) re-issued the number, and the
    records agree on the day of birth and on the first name, not by a typo (twins' names can be
    a letter apart) but exactly, in one spelling or by a known nickname (Livvy/Olivia). Or one
    record says so itself: its former UPN is the other's UPN."""
    if (a.former_upn and a.former_upn == b.upn) or (b.former_upn and b.former_upn == a.upn):
        return True
    if not (a.dob and a.dob == b.dob and _known_day(a.dob)):
        return False
    return same_first_name(a, b, typos=False)


def shares_verified_identifier(a: RecordFacts, b: RecordFacts) -> bool:
    """Do the two records carry the same NHS number or the same permanent UPN? A former UPN is
    not one: it is what the child was, and an adopted or re-registered child's former
    identifiers are exactly what must not join the new record to the old."""
    return bool((a.nhs_number and a.nhs_number == b.nhs_number)
                or (a.upn and a.upn == b.upn))


def identity_kept_apart(left: Sequence[RecordFacts], right: Sequence[RecordFacts]) -> bool:
    """Must these two groups of records (two persons, or a query and a person) stay apart
    because exactly one of them holds an identity-marked record (``IDENTITY_MARKERS``) and no
    record of the other shares a verified identifier (``shares_verified_identifier``) with one
    of its marked records?

    An adopted child is given a new NHS number and a new UPN; every other likeness between the
    new record and the old (name, date of birth, an address, a former UPN or surname) is what the
    marker exists to ignore, so only the marked record's own identifier can join it to a record
    without the marker: a child whose marker was added to the records it already had keeps them
    (they share its number). Two groups that both hold marked records are two views of the new
    identity and may link as any records do.
    """
    left_marked = [f for f in left if f.identity_marked]
    right_marked = [f for f in right if f.identity_marked]
    if bool(left_marked) == bool(right_marked):
        return False
    marked, other = (left_marked, right) if left_marked else (right_marked, left)
    return not any(shares_verified_identifier(m, o) for m in marked for o in other)


def pair_conflict(a: RecordFacts, b: RecordFacts) -> str | None:
    """The hard constraint two records break by being one person, or None."""
    if a.nhs_number and b.nhs_number and a.nhs_number != b.nhs_number:
        return "different-nhs-number"
    if a.upn and b.upn and a.upn != b.upn and not reissued_upn(a, b):
        return "different-upn"
    if sibling_identifier_error(a, b):
        return "identifier-on-another-child"
    if a.dob and b.dob:
        if twins_in_one_source(a, b):
            return "twin-or-sibling"
        if abs(int(a.dob[:4]) - int(b.dob[:4])) >= GENERATION_GAP_YEARS:
            return "different-generation"
    return None


def twins_in_one_source(a: RecordFacts, b: RecordFacts) -> bool:
    """Two records of one agency, one date of birth, given names that cannot be one child's.

    Twins have their own NHS numbers. When both records carry the *same* one and the names are
    close enough that ``sibling_identifier_error`` reads it as a typo (Olrvia/Olivia, Mla/Mia), the
    agency keyed one child twice, not twins; without that shared number the names alone decide.
    """
    if not (a.dob and a.dob == b.dob and a.source == b.source):
        return False
    return twin_names(a, b)


def twin_names(a: RecordFacts, b: RecordFacts) -> bool:
    """``twins_in_one_source`` for two records already known to share a date of birth, whatever
    their sources: what the names and a shared NHS number say. Apart so that clustering can ask
    it of two agencies' records as if they were one's without copying a record into the other's
    source (which the answer does not read) for every pair it checks."""
    if given_names_compatible(a, b):
        return False
    return not (a.nhs_number and a.nhs_number == b.nhs_number
                and not sibling_identifier_error(a, b))


def sibling_identifier_error(a: RecordFacts, b: RecordFacts) -> bool:
    """One NHS number on two children: their given names cannot be one child's.

    The commonest way a valid identifier is wrong is a sibling's (or twin's) number keyed onto the
    record; when the given names disagree outright, the shared number is that error.
    """
    if not (a.nhs_number and a.nhs_number == b.nhs_number):
        return False
    if given_names_compatible(a, b):
        return False
    if a.dob and b.dob and _known_day(a.dob) and _known_day(b.dob) and not (
        a.dob[:4] == b.dob[:4] and (a.dob[5:7] == b.dob[8:10] or a.dob[5:7] == b.dob[5:7])
    ):
        return True  # neither the name nor the date is this child's: a sibling's number
    # Same (or unknown, or estimated) date: a twin's number, but only when the names are outright different
    # (Charlotte/Amelia); a short name with a typo (Ava/Aba, Esme/Edme) is still this child. A
    # child whose name really changes (adoption, gender recognition) gets a new NHS number.
    x, y = a.given_name or "", b.given_name or ""
    return x[:1] != y[:1] and Indel.normalized_similarity(x, y) < 0.5


def _known_day(dob: str) -> bool:
    """Does this date of birth name a day? 1 January is how agencies record an unknown one."""
    return dob[5:] != "01-01"


def _equivalent_by_nickname(x: str, y: str) -> bool:
    try:
        from linkage.standardise.names import names_equivalent
    except ImportError:  # pragma: no cover - the standardiser ships with the package
        return False
    return bool(names_equivalent(x, y))
