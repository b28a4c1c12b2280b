import pandas as pd

from linkage.families.households import group_families


def test_co_resident_people_form_one_household_and_relationships_join_the_addressless() -> None:
    residence = pd.DataFrame(
        {
            "person": [0, 1, 2, 3, 4],
            "address_key": ["1|TA1 1AA", "1|TA1 1AA", "1|TA1 1AA", None, "9|TA2 2BB"],
        }
    )
    result = group_families(5, residence, related_pairs=[(3, 0)])
    fam = result.family_of
    assert fam[0] == fam[1] == fam[2] == fam[3]
    assert fam[4] != fam[0]
    assert result.basis[0] == "co-residence" and result.basis[3] == "relationship"
    assert result.basis[4] == "alone"


def test_a_relationship_never_fuses_two_established_households() -> None:
    # A father (2) who lives with a new partner (3) is related to his child (0), who lives with mum (1).
    residence = pd.DataFrame({"person": [0, 1, 2, 3], "address_key": ["1|A", "1|A", "5|B", "5|B"]})
    result = group_families(4, residence, related_pairs=[(2, 0)])
    assert result.family_of[0] == result.family_of[1]
    assert result.family_of[2] == result.family_of[3]
    assert result.family_of[0] != result.family_of[2]


def test_large_address_groups_are_not_households() -> None:
    people = list(range(30))
    residence = pd.DataFrame({"person": people, "address_key": ["hostel"] * 30})
    result = group_families(30, residence, related_pairs=[])
    assert len(set(result.family_of.values())) == 30
