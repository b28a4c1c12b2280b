from linkage.identity.ids import is_valid_id, new_id


def test_new_ids_are_valid_opaque_and_distinct() -> None:
    ids = {new_id("person") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("P") and len(i) == 14 and is_valid_id(i, "person") for i in ids)
    assert is_valid_id(new_id("family"), "family")
    assert not is_valid_id(new_id("family"), "person")


ALPHABET = "0123456789ABCDEFGHJKMNPQRSTWXYZ"


def test_check_character_catches_every_substitution_and_adjacent_transposition() -> None:
    """Exhaustive over the check character too: 200 IDs, every position, every symbol."""
    for _ in range(200):
        value = new_id("person")
        assert all(c in ALPHABET for c in value[1:])
        symbols = value[1:]
        for k in range(len(symbols)):
            for char in ALPHABET:
                if char != symbols[k]:
                    changed = value[0] + symbols[:k] + char + symbols[k + 1 :]
                    assert not is_valid_id(changed), (value, changed)
        for k in range(len(symbols) - 1):
            if symbols[k] != symbols[k + 1]:
                swapped = (value[0] + symbols[:k] + symbols[k + 1] + symbols[k]
                           + symbols[k + 2 :])
                assert not is_valid_id(swapped), (value, swapped)


def test_malformed_ids_are_rejected() -> None:
    for bad in ["", "P123", "X" + new_id("person")[1:], new_id("person").lower(), None]:
        assert not is_valid_id(bad)  # type: ignore[arg-type]
