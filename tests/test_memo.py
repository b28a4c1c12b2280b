"""The one bounded memory the gateway, the identity index and the real-time matcher share: it
never holds more than its limit, and a full one is emptied rather than grown."""

import pytest

from stores.memo import BoundedMemo


def test_keeps_values_until_the_limit_then_starts_again() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    assert memo.keep("a", 1) == 1
    memo.keep("b", 2)
    assert (memo.get("a"), memo.get("b"), len(memo)) == (1, 2, 2)
    memo.keep("c", 3)  # full: emptied first
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (None, None, 3, 1)


def test_replacing_a_kept_key_does_not_empty_a_full_memory() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.keep("a", 1)
    memo.keep("b", 2)
    memo.keep("a", 10)
    assert (memo.get("a"), memo.get("b")) == (10, 2)


def test_forget_drops_one_key_and_a_missing_key_is_no_error() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    memo.keep("a", 1)
    memo.forget("a")
    memo.forget("never-kept")
    assert memo.get("a") is None and len(memo) == 0


def test_a_memory_that_holds_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedMemo(0)
