from linkage.identity.ids import is_valid_id, new_id


def test_new_ids_are_valid_opaque_and_distinct() -> None:
    ids = {new_id("person") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("P") and len(i) == 14 and is_valid_id(i, "person") for i in ids)
    assert is_valid_id(new_id("family"), "family")
    assert not is_valid_id(new_id("family"), "person")


ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_check_character_catches_every_substitution_and_adjacent_transposition() -> None:
    for _ in range(50):
        value = new_id("person")
        assert (value[-1].isalnum() and value.isupper()) or value[-1].isdigit()
        body = value[1:-1]
        for k in range(len(body)):
            for char in ALPHABET:
                if char != body[k]:
                    changed = value[0] + body[:k] + char + body[k + 1 :] + value[-1]
                    assert not is_valid_id(changed), (value, changed)
        for k in range(len(body) - 1):
            if body[k] != body[k + 1]:
                swapped = value[0] + body[:k] + body[k + 1] + body[k] + body[k + 2 :] + value[-1]
                assert not is_valid_id(swapped), (value, swapped)


def test_malformed_ids_are_rejected() -> None:
    for bad in ["", "P123", "X" + new_id("person")[1:], new_id("person").lower(), None]:
        assert not is_valid_id(bad)  # type: ignore[arg-type]
