"""The comparisons the linkage model scores, one per kind of evidence.

Levels are ordered from strongest agreement to disagreement. Each level's SQL reads only the
standardised feature columns (``linkage.standardise.records``), so the same JSON model scores records
from any source once they are standardised. Correlated evidence is folded into one comparison (the
address key and the postcode are one comparison, not two) because Fellegi–Sunter multiplies
comparisons as if independent, and double-counting an address is how siblings get merged.
"""

from __future__ import annotations

from enum import IntEnum

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator

__all__ = [
    "AddressLevel",
    "DobLevel",
    "FamilyNameLevel",
    "GivenNameLevel",
    "IdentifierLevel",
    "model_comparisons",
]


# Splink numbers a comparison's levels (its gamma value) from the last, "different", as 0 up to
# the first, strongest; a null level is -1. Rules that read a pair's levels (personal evidence,
# person profiles) use these names, and ``tests/linkage/test_comparison_levels.py`` pins each to
# its level's label, so adding a level cannot silently shift what a rule means.
class IdentifierLevel(IntEnum):
    NULL = -1
    DIFFERENT = 0
    IDENTICAL = 1


class GivenNameLevel(IntEnum):
    NULL = -1
    DIFFERENT = 0
    SOUNDS_ALIKE = 1
    MIDDLE_OR_CONTAINED = 2
    TYPO = 3
    NICKNAME = 4
    EXACT = 5


class FamilyNameLevel(IntEnum):
    NULL = -1
    DIFFERENT = 0
    SOUNDS_ALIKE = 1
    DOUBLE_BARRELLED_PART = 2
    TYPO = 3
    EXACT = 4


class DobLevel(IntEnum):
    NULL = -1
    DIFFERENT = 0
    SAME_DAY_AND_MONTH = 1
    SAME_YEAR_ESTIMATED_JAN1 = 2
    WITHIN_45_DAYS = 3
    ONE_DIGIT = 4
    DAY_MONTH_SWAPPED = 5
    EXACT = 6


class AddressLevel(IntEnum):
    NULL = -1
    DIFFERENT_AREA = 0
    SAME_DISTRICT = 1
    SAME_SECTOR = 2
    SAME_POSTCODE = 3
    SAME_HOUSE = 4


def _identifier(
    column: str, description: str, m_agree: float, m_differ: float
) -> ComparisonCreator:
    # Only validated identifiers reach the model, so "different" means two real, different numbers:
    # strong evidence of two people. There is no fuzzy level on purpose: a one-digit difference between
    # two *valid* NHS numbers is a sibling's number, not a typo (mod 11 catches single typos).
    # m is fixed from what is known of how often a valid identifier is wrong, not learned: EM blocked
    # on surname and date of birth sees twins (different numbers) as matches and would learn that a
    # different NHS number is weak evidence, which it is not.
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(
                label_for_charts=f"{description} identical",
                m_probability=m_agree,
                fix_m_probability=True,
            ),
            cll.ElseLevel().configure(
                label_for_charts=f"{description} different",
                m_probability=m_differ,
                fix_m_probability=True,
            ),
        ],
        output_column_name=column,
        comparison_description=description,
    )


#: Given and family names recorded the wrong way round.
_SWAPPED = "(given_name_l = family_name_r AND family_name_l = given_name_r)"
#: The names recorded the wrong way round with a typo in one of them (Elizabeth Stephenson /
#: Stephenson Elizbeth): one name crosses exactly, the other within the typo level's
#: Jaro-Winkler. Which of the two is the given name cannot be told, so it is scored as the
#: weaker reading for twins: the given name at its typo level and the family name exact, the
#: levels the same pair written the right way round would reach. A twin's swapped record
#: (Smith Ellie beside Ella Smith) then looks exactly as Ellie Smith does beside Ella Smith,
#: and the twin rules that keep those apart read it alike.
_SWAPPED_TYPO = (
    "((given_name_l = family_name_r "
    "AND jaro_winkler_similarity(family_name_l, given_name_r) >= 0.92) "
    "OR (family_name_l = given_name_r "
    "AND jaro_winkler_similarity(given_name_l, family_name_r) >= 0.92))"
)
#: A family name the child was known by before (a parent's remarriage, a name change): one
#: record's former family name is the other's family name. An adopted child's record never
#: carries one into linkage (``standardise.records``): the birth name must not join it back.
_FORMER_FAMILY = "(former_family_name_l = family_name_r OR family_name_l = former_family_name_r)"


def _local_identifier() -> ComparisonCreator:
    """A system's own person ID (``source:id``) says something only about two records of that
    system: across systems the numbers are unrelated, so the pair is treated as having none to
    compare (not as "different", which would cost every cross-agency pair a bit)."""
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(
                "local_id_key_l IS NULL OR local_id_key_r IS NULL "
                "OR split_part(local_id_key_l, ':', 1) <> split_part(local_id_key_r, ':', 1)"
            ).configure(is_null_level=True, label_for_charts="no local IDs of one system"),
            cll.ExactMatchLevel("local_id_key").configure(
                label_for_charts="Local person ID identical",
                m_probability=0.5,
                fix_m_probability=True,
            ),
            cll.ElseLevel().configure(
                label_for_charts="Local person ID different",
                m_probability=0.5,
                fix_m_probability=True,
            ),
        ],
        output_column_name="local_id_key",
        comparison_description="Local person ID (same system)",
    )


def _former_upn() -> ComparisonCreator:
    """A UPN the child had before (a move, a re-issue) that is the other record's UPN: the
    strongest evidence there is short of the UPN itself. A former UPN that is not the other's
    says little (the child may have had several), so "different" costs a match almost nothing.
    m is fixed, as for the identifiers: EM on data without former UPNs would learn noise.
    An adopted child's record never carries its former UPN here (``standardise.records``)."""
    agree = ("former_upn_l = upn_r OR upn_l = former_upn_r OR former_upn_l = former_upn_r")
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(
                "(former_upn_l IS NULL OR (upn_r IS NULL AND former_upn_r IS NULL)) "
                "AND (former_upn_r IS NULL OR (upn_l IS NULL AND former_upn_l IS NULL))"
            ).configure(is_null_level=True, label_for_charts="no former UPN to compare"),
            cll.CustomLevel(agree).configure(
                label_for_charts="Former UPN identical to the other's UPN",
                m_probability=0.2,
                fix_m_probability=True,
            ),
            cll.ElseLevel().configure(
                label_for_charts="Former UPN different",
                m_probability=0.8,
                fix_m_probability=True,
            ),
        ],
        output_column_name="former_upn",
        comparison_description="Former Unique Pupil Number",
    )


def _given_name() -> ComparisonCreator:
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("given_name"),
            # A clerk who types the family name into the given-name box swaps the two: both
            # names still agree, so both comparisons count it as their exact level. Twins cannot
            # meet it (they share a family name, not a given name equal to it).
            cll.CustomLevel(f"given_name_l = given_name_r OR {_SWAPPED}").configure(
                label_for_charts="given name identical (or swapped with the family name)",
                tf_adjustment_column="given_name",
                tf_adjustment_weight=1.0,
                disable_tf_exact_match_detection=True,
            ),
            cll.CustomLevel(
                "list_has_any(given_name_canonicals_l, given_name_canonicals_r)",
                label_for_charts="same name by nickname/diminutive",
            ),
            cll.CustomLevel(
                "jaro_winkler_similarity(given_name_l, given_name_r) >= 0.92 "
                f"OR {_SWAPPED_TYPO}",
                label_for_charts="given name typo (Jaro-Winkler >= 0.92)",
            ),
            cll.CustomLevel(
                "list_has_any(given_names_all_l, given_names_all_r) "
                "OR (length(given_name_l) >= 3 AND length(given_name_r) >= 3 AND ("
                "starts_with(given_name_l, given_name_r) OR starts_with(given_name_r, given_name_l) "
                "OR ends_with(given_name_l, given_name_r) OR ends_with(given_name_r, given_name_l)))",
                label_for_charts="a middle name, or one name inside the other (Tina/Christina)",
            ),
            cll.CustomLevel(
                "given_name_metaphone_l = given_name_metaphone_r "
                "OR jaro_winkler_similarity(given_name_l, given_name_r) >= 0.8",
                label_for_charts="given name sounds alike or similar",
            ),
            cll.ElseLevel().configure(label_for_charts="given name different"),
        ],
        output_column_name="given_name",
        comparison_description="Given name",
    )


def _family_name() -> ComparisonCreator:
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.CustomLevel(
                f"family_name_l = family_name_r OR {_SWAPPED} OR {_FORMER_FAMILY} "
                f"OR {_SWAPPED_TYPO}"
            ).configure(
                label_for_charts="family name identical (or swapped with the given name, "
                "or the other's former family name)",
                tf_adjustment_column="family_name",
                tf_adjustment_weight=1.0,
                disable_tf_exact_match_detection=True,
            ),
            cll.JaroWinklerLevel("family_name", 0.92).configure(
                label_for_charts="family name typo (Jaro-Winkler >= 0.92)"
            ),
            cll.CustomLevel(
                "list_has_any(family_name_tokens_l, family_name_tokens_r)",
                label_for_charts="one part of a double-barrelled name",
            ),
            cll.CustomLevel(
                "family_name_metaphone_l = family_name_metaphone_r "
                "OR jaro_winkler_similarity(family_name_l, family_name_r) >= 0.8",
                label_for_charts="family name sounds alike or similar",
            ),
            cll.ElseLevel().configure(label_for_charts="family name different"),
        ],
        output_column_name="family_name",
        comparison_description="Family name",
    )


#: Two dates of birth one keystroke apart (a digit typed as another, two digits transposed).
#: Dates are ISO ``YYYY-MM-DD`` strings (``standardise``), so such a slip lies inside the year
#: or inside the month and day (one that touched a ``-`` would not be a date): one of the two
#: halves agrees. The edit distance is asked only of those pairs, inside ``CASE`` because
#: DuckDB evaluates both sides of an ``AND``: for a random pair the distance was the costliest
#: part of scoring it (0.36 of 1.6 s per 500,000 pairs, 65k records), paid by u, by EM and by
#: every blocked pair. The level is the same for every pair of valid dates.
ONE_DIGIT_DOB_SQL = (
    "CASE WHEN substr(dob_l, 1, 4) = substr(dob_r, 1, 4) OR substr(dob_l, 6) = substr(dob_r, 6) "
    "THEN damerau_levenshtein(dob_l, dob_r) <= 1 ELSE false END"
)


def _date_of_birth() -> ComparisonCreator:
    l_date = "try_cast(dob_l AS DATE)"
    r_date = "try_cast(dob_r AS DATE)"
    # An unborn child's record has an expected date of delivery instead (CIN census, D2I SSD):
    # the birth is weeks from it, so it is compared only at the "within 45 days" level.
    l_when = "try_cast(coalesce(dob_l, expected_dob_l) AS DATE)"
    r_when = "try_cast(coalesce(dob_r, expected_dob_r) AS DATE)"
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(
                "(dob_l IS NULL AND expected_dob_l IS NULL) "
                "OR (dob_r IS NULL AND expected_dob_r IS NULL)"
            ).configure(is_null_level=True, label_for_charts="dob is NULL"),
            # Term frequencies make an exact 1 January (often an estimate) count for less.
            cll.ExactMatchLevel("dob", term_frequency_adjustments=True).configure(
                label_for_charts="date of birth identical"
            ),
            cll.CustomLevel(
                f"month({l_date}) = day({r_date}) AND day({l_date}) = month({r_date}) "
                f"AND year({l_date}) = year({r_date})",
                label_for_charts="day and month swapped",
            ),
            cll.CustomLevel(ONE_DIGIT_DOB_SQL, label_for_charts="one digit different"),
            cll.CustomLevel(
                f"abs(datediff('day', {l_when}, {r_when})) <= 45",
                label_for_charts="within 45 days (estimated or expected date)",
            ),
            cll.CustomLevel(
                f"year({l_date}) = year({r_date}) AND (dob_is_jan1_l OR dob_is_jan1_r)",
                label_for_charts="same year, one an estimated 1 January",
            ),
            cll.CustomLevel(
                f"month({l_date}) = month({r_date}) AND day({l_date}) = day({r_date})",
                label_for_charts="same day and month, different year",
            ),
            cll.ElseLevel().configure(label_for_charts="date of birth different"),
        ],
        output_column_name="dob",
        comparison_description="Date of birth",
    )


#: Edits allowed between two records' street and town (``address_line_key`` after the house):
#: two typos ("beattie cescent", "burkitts treet") but not another street of the same number
#: ("mill lane" / "mill road" is four).
STREET_EDITS_MAX = 2
#: At least this many different words in the street and town that must be found in the other.
STREET_WORDS_MIN = 2
#: A word of at least this many letters may be one keystroke from the word it is found as.
STREET_WORD_TYPO_MIN = 4


def _line_part(side: str, part: int) -> str:
    """The house (1) or the street and town (2) of ``address_line_key``. CAST: a source with no
    address at all gives an all-NULL column DuckDB does not type as text, and ``split_part`` of
    a number does not bind (it failed every run of such an extract)."""
    return f"split_part(CAST(address_line_key_{side} AS VARCHAR), '|', {part})"


def _street_words_within(a: str, b: str) -> str:
    def words(side: str) -> str:
        return f"string_split({_line_part(side, 2)}, ' ')"

    near = (f"x = y OR (length(x) >= {STREET_WORD_TYPO_MIN} AND length(y) >= "
            f"{STREET_WORD_TYPO_MIN} AND damerau_levenshtein(x, y) <= 1)")
    return (f"(array_length(list_distinct({words(a)})) >= {STREET_WORDS_MIN} AND array_length(list_filter("
            f"{words(a)}, lambda x: array_length(list_filter({words(b)}, lambda y: {near})) = 0"
            ")) = 0)")


#: Two ways of writing one street and town: every word of one found in the other, exactly or,
#: for words of four letters or more, one keystroke apart, with at least two words to find. A
#: clerk who left out a part or put the lines in another order writes "rene street crows nest" for
#: "rene street dalamar crows nest" and "allunga woollum street" for "woollum street allunga"
#: (FEBRL does both, with a typo on top, as often as it mis-keys a postcode); their edit distance
#: is the length of the missing part. Another street of one name ("mill lane" / "mill road",
#: "high street avonleigh" / "high street tonebridge") has a word the other lacks, so it is not
#: found. (``array_length``/``list_filter`` rather than ``list_bool_and``: sqlglot writes them for
#: Spark too.)
STREET_WORDS_WITHIN_SQL = f"({_street_words_within('l', 'r')} OR {_street_words_within('r', 'l')})"

#: One house whose postcode was mis-keyed in one record: the same house number, the same street
#: and town up to ``STREET_EDITS_MAX`` typos or written another way (``STREET_WORDS_WITHIN_SQL``),
#: and postcodes one insertion, deletion, substitution or transposition apart (4750/4570,
#: LS6 2AB/LS6 2AD). Without it a single slip in the postcode took the pair from "same house" to
#: "different area", the strongest evidence against a match the address has (FEBRL mis-keys
#: postcodes as often as names). The street must agree as well as the number: neighbouring UK
#: postcodes are one letter apart, and each has a number 12 on its own street.
#: (Guarded by ``CASE`` for speed, as ``ONE_DIGIT_DOB_SQL`` is: only pairs of one house number pay
#: for the postcode's edit distance, only those whose postcodes are a keystroke apart for the
#: street's, and only those whose streets are further apart for the words: DuckDB evaluates both
#: sides of an OR, and with the words beside the edit distance in one OR every pair of one
#: household paid for them (0.86 -> 3.19 s per 420,000 blocked pairs of seed 7). As a CASE:
#: 0.83 s, the same pairs.)
HOUSE_POSTCODE_TYPO_SQL = (
    f"CASE WHEN {_line_part('l', 1)} = {_line_part('r', 1)} "
    "THEN CASE WHEN damerau_levenshtein(CAST(postcode_l AS VARCHAR), CAST(postcode_r AS VARCHAR))"
    f" <= 1 THEN CASE WHEN damerau_levenshtein({_line_part('l', 2)}, {_line_part('r', 2)}) "
    f"<= {STREET_EDITS_MAX} THEN true ELSE {STREET_WORDS_WITHIN_SQL} END "
    "ELSE false END ELSE false END"
)


def _address() -> ComparisonCreator:
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(
                "(address_key_l IS NULL OR address_key_r IS NULL) "
                "AND (address_line_key_l IS NULL OR address_line_key_r IS NULL) "
                "AND (postcode_l IS NULL OR postcode_r IS NULL) "
                "AND (uprn_l IS NULL OR uprn_r IS NULL)"
            ).configure(is_null_level=True, label_for_charts="no address to compare"),
            # One house, by its UPRN (the property's own number), by number and postcode or,
            # where one side has no postcode, by number, street and town; or the same number,
            # street and town with postcodes one keystroke apart (``HOUSE_POSTCODE_TYPO_SQL``).
            # Otherwise two different postcodes are two houses, whatever the lines say.
            cll.CustomLevel(
                "uprn_l = uprn_r OR address_key_l = address_key_r "
                "OR (address_line_key_l = address_line_key_r "
                f"AND (postcode_l IS NULL OR postcode_r IS NULL)) OR ({HOUSE_POSTCODE_TYPO_SQL})",
                label_for_charts="same house",
            ),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(
                label_for_charts="same postcode"
            ),
            cll.CustomLevel(
                "postcode_sector_l = postcode_sector_r", label_for_charts="same postcode sector"
            ),
            cll.CustomLevel(
                "postcode_district_l = postcode_district_r",
                label_for_charts="same postcode district",
            ),
            cll.ElseLevel().configure(label_for_charts="different area"),
        ],
        output_column_name="address",
        comparison_description="Address",
    )


def _sex() -> ComparisonCreator:
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("sex"),
            cll.ExactMatchLevel("sex").configure(label_for_charts="sex identical"),
            cll.ElseLevel().configure(label_for_charts="sex different"),
        ],
        output_column_name="sex",
        comparison_description="Sex",
    )


def model_comparisons() -> list[ComparisonCreator]:
    """Every comparison, in the order the waterfall explanation shows them."""
    return [
        # A sibling's valid number is recorded in error about 1 time in 500.
        _identifier("nhs_number", "NHS number", m_agree=0.998, m_differ=0.002),
        # UPNs are re-issued and mis-keyed more often than NHS numbers (identifiers.md).
        _identifier("upn", "Unique Pupil Number", m_agree=0.99, m_differ=0.01),
        _former_upn(),
        # Duplicates inside one case system usually carry a second local ID, so a different
        # local ID is weak evidence against.
        _local_identifier(),
        _given_name(),
        _family_name(),
        _date_of_birth(),
        _sex(),
        _address(),
    ]
