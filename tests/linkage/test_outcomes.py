"""One vocabulary of pair outcomes: the strings the index stores, and the rule table clustering
returns its rule-made links in."""

from linkage.persons.clustering import Relative
from linkage.persons.outcomes import Outcome, constraint
from tests.linkage.scored_pairs import child, cluster


def test_outcomes_are_the_strings_the_index_and_review_queue_read() -> None:
    # Stored in edges.outcome; the review queue maps below_threshold to "uncertain".
    assert Outcome.BELOW_THRESHOLD == "below_threshold"
    assert Outcome.HELD_AMBIGUOUS == "held:ambiguous"
    assert Outcome.LINKED_SAME_RELATIVE == "linked:same-relative"
    assert constraint("twin-or-sibling") == "constraint:twin-or-sibling"
    assert all(str(o) == o.value for o in Outcome)


def test_rule_made_links_come_back_under_the_rule_that_made_them() -> None:
    # Two records of one mother, one undated and scored only weakly against the other, each
    # named as the mother of the same child: the relatives rule joins them, and says so.
    kid = child("ava", "2015-03-02")
    mum_a = child("helen", "1985-06-01")
    mum_b = child("helen", None)
    result = cluster([kid, mum_a, mum_b], [(1, 2, 0.6)],
                     relatives=[Relative(1, 0, "mother"), Relative(2, 0, "parent")])
    assert result.labels[1] == result.labels[2] != result.labels[0]
    made = {o: pairs for o, pairs in result.rule_links.items() if pairs}
    assert list(made) == [Outcome.LINKED_SAME_RELATIVE]
    assert made[Outcome.LINKED_SAME_RELATIVE] in ([(1, 2)], [(2, 1)])
    assert result.edge_outcomes == [Outcome.BELOW_THRESHOLD]
    # Every rule of the table answers, in the order they run; no profile model, no profile rule.
    assert list(result.rule_links) == [
        Outcome.LINKED_SAME_RELATIVE, Outcome.LINKED_EXPECTED_BIRTH,
        Outcome.LINKED_HOUSEHOLD_PARENT, Outcome.LINKED_ONLY_NAMESAKE_AT_HOUSE]
