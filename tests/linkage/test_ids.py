from linkage.identity.ids import is_valid_id, new_id


def test_new_ids_are_valid_opaque_and_distinct() -> None:
    ids = {new_id("person") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("P") and len(i) == 14 and is_valid_id(i, "person") for i in ids)
    assert is_valid_id(new_id("family"), "family")
    assert not is_valid_id(new_id("family"), "person")


def test_check_symbol_catches_a_substitution_and_a_transposition() -> None:
    value = new_id("person")
    body = value[1:-1]
    swapped_char = "1" if body[3] != "1" else "2"
    substituted = value[0] + body[:3] + swapped_char + body[4:] + value[-1]
    assert not is_valid_id(substituted)
    for k in range(len(body) - 1):
        if body[k] != body[k + 1]:
            transposed = value[0] + body[:k] + body[k + 1] + body[k] + body[k + 2 :] + value[-1]
            assert not is_valid_id(transposed)
            break


def test_malformed_ids_are_rejected() -> None:
    for bad in ["", "P123", "X" + new_id("person")[1:], new_id("person").lower(), None]:
        assert not is_valid_id(bad)  # type: ignore[arg-type]
