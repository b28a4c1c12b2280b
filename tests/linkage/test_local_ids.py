"""A system's own person ID is compared only with IDs of the same system."""

from linkage.realtime.levels import GAMMA_FUNCTIONS
from tests.linkage.comparison_sql import sql_level


def test_ids_of_two_systems_are_not_compared_and_one_systems_are() -> None:
    level = GAMMA_FUNCTIONS["local_id_key"]
    cases = [
        ("social_care:123", "police:123", -1),  # unrelated numbering: nothing to compare
        ("social_care:123", "social_care:123", 1),
        ("social_care:123", "social_care:456", 0),
        (None, "social_care:456", -1),
    ]
    for left, right, expected in cases:
        assert level({"local_id_key": left}, {"local_id_key": right}) == expected
        assert sql_level("local_id_key", {"local_id_key": left}, {"local_id_key": right}) == expected
