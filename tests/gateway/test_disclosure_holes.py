"""The disclosure holes of issue 19, each tried over real HTTP against a running ``kinlink serve``
the way a permitted caller would try them: review outside its purpose, review of pairs nobody
queued or the policy refuses, family members listed under another person's decision, refusals
that name the secret, the IG API under another purpose, and record keys probed without trace.

The index is a copy of the shared population with restricted markers set on chosen persons
(a real DuckDB file, edited as an agency's extract would carry them).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from gateway.clients import ClientRegistry
from linkage.review.queue import review_queue
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import (
    JUSTIFICATION,
    Credentials,
    Gateway,
    copy_index,
    read_audit,
    start_gateway,
)


@dataclass(frozen=True)
class Marked:
    """Persons the fixture marked, and the pairs the tests use."""

    queued: tuple[str, str, str, str]      # left key, right key, person left, person right
    hidden_pair: tuple[str, str]           # a queued pair whose left person is gender-recognition
    unqueued: tuple[str, str]              # two real record keys no link run queued
    family_child: str                      # a child with family members
    adopted_member: str                    # a member of family_child's family, marked adoption
    adopted: str                           # a person marked adoption (no tie to the others)


def _mark(con: duckdb.DuckDBPyConnection, person: str, code: str) -> None:
    con.execute(
        """UPDATE source_records SET attributes = json_merge_patch(
               coalesce(attributes, '{}'), json_object('restriction', ?))
           WHERE unique_id IN (SELECT unique_id FROM record_links WHERE person_id = ?)""",
        [code, person])


def _prepare(db: Path) -> Marked:
    with duckdb.connect(str(db)) as con:
        queue = review_queue(con, limit=1000, today=POLICY_DATE)
        assert len(queue) >= 2, "the population should leave uncertain pairs to review"
        rows = list(queue.itertuples())
        first, hidden = rows[0], next(r for r in rows[1:]
                                     if {r.person_l, r.person_r}.isdisjoint(
                                         {rows[0].person_l, rows[0].person_r}))
        used = {first.person_l, first.person_r, hidden.person_l, hidden.person_r}
        queued_pairs = {(r.unique_id_l, r.unique_id_r) for r in rows} | {
            (r.unique_id_r, r.unique_id_l) for r in rows}
        keys = [k for (k,) in con.execute(
            "SELECT unique_id FROM record_links ORDER BY unique_id LIMIT 50").fetchall()]
        unqueued = next((a, b) for a in keys for b in keys
                        if a < b and (a, b) not in queued_pairs)
        families = con.execute(
            """SELECT f.person_id, m.person_id FROM family_members f
               JOIN family_members m ON m.family_id = f.family_id AND m.person_id <> f.person_id
               JOIN record_links l ON l.person_id = f.person_id
               JOIN source_records s USING (unique_id)
               WHERE s.dob > '2010-01-01' AND f.person_id IN (
                   SELECT person_id FROM record_links JOIN source_records USING (unique_id)
                   WHERE source_records.source = 'education')
               GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
        child, member = next((c, m) for c, m in families if not {c, m} & used)
        family_ids = {m for c, m in families if c == child} | {child}
        adopted = con.execute(
            """SELECT person_id FROM record_links WHERE person_id NOT IN (SELECT unnest(?))
               ORDER BY person_id LIMIT 1""", [sorted(used | family_ids)]).fetchone()
        assert adopted
        _mark(con, member, "adoption")
        _mark(con, hidden.person_l, "gender-recognition")
        _mark(con, adopted[0], "adoption")
    return Marked((first.unique_id_l, first.unique_id_r, first.person_l, first.person_r),
                  (hidden.unique_id_l, hidden.unique_id_r), unqueued, child, member, adopted[0])


@dataclass
class Site:
    gateway: Gateway
    marked: Marked


@pytest.fixture(scope="module")
def site(linked_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("holes")
    db = copy_index(linked_population, directory)
    marked = _prepare(db)
    gateway = start_gateway(db, directory / "server.log")
    registry = ClientRegistry(gateway.settings.clients_path)
    for name, agency, role, purposes in (
        ("reviewer", "social_care", "linkage-reviewer", ["identity-review"]),
        ("manager", "social_care", "mash-manager", ["identity-review", "s47-enquiry"]),
        ("ig-also-s47", "social_care", "ig-officer", ["ig-oversight", "s47-enquiry"]),
    ):
        client, secret = registry.add(name, agency, role, purposes)
        gateway.clients[name] = Credentials(client.client_id, secret)
    yield Site(gateway, marked)
    gateway.stop()


#: request id → what the test expects the audit trail to hold for it.
SENT: dict[str, dict[str, Any]] = {}


def send(site: Site, client: str, method: str, path: str, expect: dict[str, Any] | None = None,
         json_body: dict[str, str] | None = None, **params: str) -> httpx.Response:
    request_id = uuid.uuid4().hex
    response = httpx.request(method, f"{site.gateway.base}{path}", params=params, json=json_body,
                             timeout=30, headers={
                                 "Authorization": f"Bearer {site.gateway.token(client)}",
                                 "X-Request-ID": request_id})
    if expect is not None:
        SENT[request_id] = expect
    return response


# --- 1. review under any purpose ----------------------------------------------------------------


def test_review_queue_is_refused_under_another_purpose(site: Site) -> None:
    """A MASH manager holds both purposes; under s47-enquiry the review queue stays shut."""
    r = send(site, "manager", "GET", "/v1/review/queue", {"outcome": "deny", "status": 403},
             purpose="s47-enquiry", justification=JUSTIFICATION)
    assert r.status_code == 403, r.text
    assert "items" not in r.json()
    ok = send(site, "manager", "GET", "/v1/review/queue", purpose="identity-review")
    assert ok.status_code == 200, ok.text


def test_review_pair_and_decision_are_refused_under_another_purpose(site: Site) -> None:
    left, right, _, _ = site.marked.queued
    pair = send(site, "manager", "GET", "/v1/review/pair", purpose="s47-enquiry",
                justification=JUSTIFICATION, left=left, right=right)
    assert pair.status_code == 403 and "fields" not in pair.json()
    made = send(site, "manager", "POST", "/v1/review/decisions", purpose="s47-enquiry",
                justification=JUSTIFICATION, json_body={
                    "left": left, "right": right, "decision": "same",
                    "reason": "looks like the same child"})
    assert made.status_code == 403, made.text


# --- 2. review ignores markers and accepts any two records --------------------------------------


def test_review_queue_leaves_out_a_pair_the_policy_refuses(site: Site) -> None:
    r = send(site, "reviewer", "GET", "/v1/review/queue", purpose="identity-review", limit="200")
    assert r.status_code == 200, r.text
    body = r.json()
    listed = {(i["left"], i["right"]) for i in body["items"]}
    assert site.marked.hidden_pair not in listed
    assert site.marked.queued[:2] in listed
    assert body["items_withheld"] >= 1
    assert "gender" not in r.text


def test_review_pair_of_a_marked_person_is_refused_generically(site: Site) -> None:
    left, right = site.marked.hidden_pair
    r = send(site, "reviewer", "GET", "/v1/review/pair", {"outcome": "deny", "status": 403},
             purpose="identity-review", left=left, right=right)
    assert r.status_code == 403, r.text
    assert "fields" not in r.text and "gender" not in r.text
    made = send(site, "reviewer", "POST", "/v1/review/decisions", purpose="identity-review",
                json_body={"left": left, "right": right, "decision": "same",
                           "reason": "force the merge"})
    assert made.status_code == 403, made.text


def test_review_pair_of_records_nobody_queued_is_refused(site: Site) -> None:
    left, right = site.marked.unqueued
    r = send(site, "reviewer", "GET", "/v1/review/pair", purpose="identity-review",
             left=left, right=right)
    assert r.status_code == 404, r.text
    made = send(site, "reviewer", "POST", "/v1/review/decisions", purpose="identity-review",
                json_body={"left": left, "right": right, "decision": "same",
                           "reason": "merge two unrelated children"})
    assert made.status_code == 404, made.text


def test_a_queued_pair_is_still_reviewable(site: Site) -> None:
    left, right, _, _ = site.marked.queued
    r = send(site, "reviewer", "GET", "/v1/review/pair", purpose="identity-review",
             left=left, right=right)
    assert r.status_code == 200, r.text
    assert {"given_name", "dob"} <= {f["field"] for f in r.json()["fields"]}


# --- 11. unknown record keys probed without trace -----------------------------------------------


def test_an_unknown_record_key_is_audited_and_answered_like_an_unqueued_pair(site: Site) -> None:
    left, _ = site.marked.unqueued
    unknown = send(site, "reviewer", "GET", "/v1/review/pair",
                   {"outcome": "deny", "status": 404, "detail": "review: not a queued pair"},
                   purpose="identity-review", left=left, right="health:NO-SUCH-RECORD")
    unqueued = send(site, "reviewer", "GET", "/v1/review/pair", purpose="identity-review",
                    left=site.marked.unqueued[0], right=site.marked.unqueued[1])
    assert unknown.status_code == unqueued.status_code == 404
    assert unknown.json() == unqueued.json()


# --- 3. family members without their own decision -----------------------------------------------


def test_family_view_leaves_out_a_member_the_policy_refuses(site: Site) -> None:
    r = send(site, "social-worker", "GET", f"/v1/persons/{site.marked.family_child}/family",
             {"members_denied": [site.marked.adopted_member]},
             purpose="s47-enquiry", justification=JUSTIFICATION)
    assert r.status_code == 200, r.text
    members = {m["person_id"] for f in r.json()["families"] for m in f["members"]}
    assert site.marked.family_child in members
    assert site.marked.adopted_member not in members
    assert site.marked.adopted_member not in r.text
    assert r.json()["members_withheld"] >= 1


# --- 4. a refusal names the secret --------------------------------------------------------------


@pytest.mark.parametrize("view", ["", "/family", "/involvements"])
def test_refusal_of_an_adopted_child_does_not_say_why(site: Site, view: str) -> None:
    r = send(site, "social-worker", "GET", f"/v1/persons/{site.marked.adopted}{view}",
             purpose="s47-enquiry", justification=JUSTIFICATION)
    assert r.status_code == 403, r.text
    text = r.text.lower()
    assert "adoption" not in text and "marker" not in text and "restricted" not in text
    assert r.json()["detail"] == "not available for this purpose"


def test_refusal_for_a_marker_reads_like_any_other_refusal(site: Site) -> None:
    """A refusal because of a marker and one because the purpose opens nothing look the same,
    so the body cannot be used to tell which children are adopted."""
    marker = send(site, "social-worker", "GET", f"/v1/persons/{site.marked.adopted}",
                  purpose="s47-enquiry", justification=JUSTIFICATION)
    other = send(site, "school", "GET", f"/v1/persons/{site.marked.family_child}",
                 purpose="early-help")
    assert marker.status_code == other.status_code == 403
    strip = {"requested_id"}
    assert {k: v for k, v in marker.json().items() if k not in strip} == \
        {k: v for k, v in other.json().items() if k not in strip}


# --- 17. the IG API under another purpose -------------------------------------------------------


def test_ig_api_is_refused_under_another_purpose(site: Site) -> None:
    r = send(site, "ig-also-s47", "GET", "/v1/audit/events",
             {"outcome": "deny", "status": 403}, purpose="s47-enquiry",
             justification=JUSTIFICATION)
    assert r.status_code == 403, r.text
    assert "events" not in r.json()
    ok = send(site, "ig-also-s47", "GET", "/v1/audit/events", purpose="ig-oversight")
    assert ok.status_code == 200


# --- 9. legitimate relationship by sector -------------------------------------------------------


def test_another_schools_lead_has_no_relationship_with_the_child(site: Site) -> None:
    """Early help needs a legitimate relationship. A school whose own extract holds none of the
    child's records has none, though it is in the same sector as the school that does."""
    registry = ClientRegistry(site.gateway.settings.clients_path)
    for name, organisation in (("our-school", "education"), ("other-school", "st-elsewhere")):
        client, secret = registry.add(name, "education", "school-dsl", ["early-help"],
                                      organisation=organisation)
        site.gateway.clients[name] = Credentials(client.client_id, secret)
    child = site.marked.family_child
    ours = send(site, "our-school", "GET", f"/v1/persons/{child}", purpose="early-help",
                consent="given")
    other = send(site, "other-school", "GET", f"/v1/persons/{child}", purpose="early-help",
                 consent="given")
    assert other.status_code == 403, other.text
    assert "records" in other.json() and other.json()["records"] == []
    assert ours.status_code == 200, ours.text    # the child is on our school's extract
    assert ours.json()["records"]



# --- 16. free text in query strings -------------------------------------------------------------


def test_justification_and_reference_travel_in_headers(site: Site) -> None:
    """Proxies log URLs: the justification and case reference can come in headers instead, and
    are then what the decision and the audit event use."""
    request_id = uuid.uuid4().hex
    r = httpx.get(f"{site.gateway.base}/v1/persons/{site.marked.family_child}",
                  params={"purpose": "s47-enquiry"}, timeout=30, headers={
                      "Authorization": f"Bearer {site.gateway.token('social-worker')}",
                      "X-Request-ID": request_id, "Kinlink-Justification": JUSTIFICATION,
                      "Kinlink-Reference": "REF-2026-0042"})
    assert r.status_code == 200, r.text
    assert JUSTIFICATION not in str(r.url) and "MASH-4.2" in r.json()["decision"]["matched_rules"]
    SENT[request_id] = {"outcome": "permit", "status": 200,
                        "justification": JUSTIFICATION, "reference": "REF-2026-0042"}

# --- the trail holds each refusal, with its real reason --------------------------------------


def test_zz_refusals_are_audited_with_their_reason(site: Site) -> None:
    site.gateway.stop()
    events = read_audit(site.gateway.db)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_request.setdefault(str(event.get("request_id")), []).append(event)
    assert SENT
    for request_id, expect in SENT.items():
        mine = by_request.get(request_id, [])
        assert mine, f"no audit event for {expect}"
        if "members_denied" in expect:
            denied = {e["subject_person_id"] for e in mine if e["outcome"] == "deny"}
            assert set(expect["members_denied"]) <= denied
            member = next(e for e in mine
                          if e["subject_person_id"] == expect["members_denied"][0])
            assert any("adoption" in reason for reason in member["reasons"])
            continue
        assert all(e["outcome"] == expect["outcome"] for e in mine), mine
        assert all(e["http_status"] == expect["status"] for e in mine), mine
        if "detail" in expect:
            assert any(e["detail"] == expect["detail"] for e in mine)
        for field in ("justification", "reference"):
            if field in expect:
                assert all(e[field] == expect[field] for e in mine), mine
    adopted = [e for e in events if e.get("subject_person_id") == site.marked.adopted]
    assert adopted and all(e["outcome"] == "deny" for e in adopted)
    assert any("restricted-marker:adoption" in r for e in adopted for r in e["reasons"]), \
        "the specific reason is kept for IG in the audit event"
    assert json.dumps(adopted)  # events are plain JSON

