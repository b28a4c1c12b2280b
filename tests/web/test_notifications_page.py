"""The designated officer's page (issue 17 item 1), in process with the real app, index and
trail: an agency's IG officer sees who in another agency was shown its records — only its own
agency's notifications, whatever the form says — filtered by child and dates through a POST with
the CSRF token, each view audited once through the IG gate, and refused to anyone else."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from audit.notifications import notifications_for
from gateway.app import create_app
from gateway.clients import ClientRegistry
from gateway.settings import GatewaySettings
from gateway.users import StaffRegistry
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import JUSTIFICATION, People, copy_index

PASSWORD = "designated-officer-pw"


class Officer:
    """One signed-in browser session of the pages, kept as a TestClient."""

    def __init__(self, client: TestClient, app: Any) -> None:
        self.client, self.app = client, app

    def csrf(self, path: str = "/purpose") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found, "every form carries a CSRF token"
        return found.group(1)

    def sign_in(self, username: str, purpose: str) -> None:
        start = self.client.get("/sign-in", follow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}
        done = self.client.post("/oauth/authorize", data={**form, "username": username,
                                                          "password": PASSWORD})
        assert done.status_code == 200 and done.url.path == "/purpose", done.text[:300]
        chosen = self.client.post("/purpose", data={"csrf": self.csrf(), "purpose": purpose},
                                  follow_redirects=False)
        assert chosen.status_code == 303, chosen.text[:300]

    def events(self) -> list[dict[str, Any]]:
        rows = self.app.state.audit.cursor().execute(
            "SELECT event_json FROM audit_events ORDER BY seq").fetchall()
        return [json.loads(r[0]) for r in rows]


def rows(html: str) -> list[str]:
    """The notification table's body rows, as text."""
    return [" | ".join(r) for r in cells(html)]


def cells(html: str) -> list[list[str]]:
    """The notification table's body rows, cell by cell (When, Child, Who, Purpose, Clause,
    What, How)."""
    body = html.split('id="notifications"', 1)[1].split("</table>", 1)[0]
    body = body.split('<tbody class="govuk-table__body">', 1)[1]
    return [[html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c))).strip()
             for c in re.findall(r"<td class=\"govuk-table__cell\">(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", body, re.S)]


@pytest.fixture
def install(linked_population: Path, people: People, tmp_path: Path
            ) -> Iterator[tuple[TestClient, Any]]:
    """An install where a social worker and a police officer each read the child every agency
    knows, and the social worker reads the person only the police know: every agency has been
    told something, and the police alone of the last read."""
    db = copy_index(linked_population, tmp_path)
    settings = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    registry = ClientRegistry(settings.clients_path)
    readers = [registry.add("sw", "social_care", "mash-social-worker", ["s47-enquiry"]),
               registry.add("pc", "police", "mash-police-officer", ["s47-enquiry"])]
    staff = StaffRegistry(settings.users_path)
    for name, agency, role, purposes in (
            ("h.officer", "health", "ig-officer", ["ig-oversight"]),
            ("p.officer", "police", "ig-officer", ["ig-oversight"]),
            ("s.worker", "social_care", "mash-social-worker", ["s47-enquiry"])):
        staff.add(name, name, agency, role, purposes, password=PASSWORD)
    app = create_app(settings)
    with TestClient(app) as http:
        for n, (client, secret) in enumerate(readers):
            token = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(client.client_id, secret)).json()["access_token"]
            for person in (people.child_everywhere, people.police_only)[: 2 - n]:
                read = http.get(f"/v1/persons/{person}", headers={
                    "Authorization": f"Bearer {token}"},
                    params={"purpose": "s47-enquiry", "justification": JUSTIFICATION})
                assert read.status_code == 200, read.text
        http.cookies.clear()
        yield http, app


def test_an_officer_sees_only_their_own_agencys_notifications(
        install: tuple[TestClient, Any], people: People) -> None:
    http, app = install
    officer = Officer(http, app)
    officer.sign_in("h.officer", "ig-oversight")
    page = http.get("/ig/notifications")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    with app.state.audit.session() as session:
        health = notifications_for(session, "health", limit=1000)
        every = notifications_for(session, None, limit=1000)
    assert health and len(every) > len(health), "other agencies were told things too"
    shown = rows(page.text)
    assert len(shown) == len(health)
    assert not any(people.police_only in r for r in shown), "the police's notification shown"
    who = {row[2].split(",")[0] for row in cells(page.text)}
    assert who == {"Children's social care", "Police"}, who
    # What they saw *of health's records*: the clause also released police and social care
    # categories, which health's records cannot hold and so are not health's to be told of.
    seen = {c.strip() for row in cells(page.text) for c in row[5].split(",")}
    assert "Health safeguarding flags" in seen and "Identity" in seen
    assert not seen & {"Police involvement", "Child protection plan",
                       "Social care case status"}, seen
    assert all(n["person_id"] == people.child_everywhere for n in health)
    assert "MASH-4.2" in page.text and "Child protection enquiry" in page.text
    users = {n["requester"]["user"] for n in health if n["requester"]["user"]}
    assert all(f"user {u}" in page.text for u in users)   # the pseudonym as the audit has it
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert not [v for v in people.personal_values if v in text], "nothing personal but the ID"
    assert JUSTIFICATION not in page.text
    # A form naming another agency is not asked: the agency is the signed-in officer's.
    forged = http.post("/ig/notifications", data={"csrf": officer.csrf("/ig/notifications"),
                                                  "agency": "police", "person":
                                                  people.police_only})
    assert forged.status_code == 200 and rows(forged.text) == []


def test_the_police_officer_is_told_of_the_person_only_the_police_know(
        install: tuple[TestClient, Any], people: People) -> None:
    http, app = install
    officer = Officer(http, app)
    officer.sign_in("p.officer", "ig-oversight")
    csrf = officer.csrf("/ig/notifications")
    found = http.post("/ig/notifications", data={"csrf": csrf, "person": people.police_only})
    assert found.status_code == 200
    (only,) = rows(found.text)
    assert people.police_only in only and "Children's social care" in only
    everything = rows(http.get("/ig/notifications").text)
    assert len(everything) > 1 and all(not row[2].startswith("Police")
                                       for row in cells(http.get("/ig/notifications").text)), \
        "police records shown to the police are never notified"
    # Dates bound the list: a window long past holds nothing, one from long ago everything.
    past = http.post("/ig/notifications", data={"csrf": csrf, "since": "2000-01-01",
                                                "until": "2000-01-31"})
    assert past.status_code == 200 and rows(past.text) == []
    since = http.post("/ig/notifications", data={"csrf": csrf, "since": "2000-01-01"})
    assert len(rows(since.text)) == len(everything)
    bad = http.post("/ig/notifications", data={"csrf": csrf, "since": "last tuesday"})
    assert bad.status_code == 400 and "like 2026-11-01" in bad.text
    # The person ID was only ever in a form body, never in a URL of the page or its form.
    assert people.police_only not in found.text.split("<main", 1)[0]
    assert 'action="/ig/notifications"' in found.text and 'method="post"' in found.text


def test_each_view_is_audited_once_through_the_ig_gate_and_others_are_refused(
        install: tuple[TestClient, Any], people: People) -> None:
    http, app = install
    officer = Officer(http, app)
    officer.sign_in("h.officer", "ig-oversight")
    before = len(officer.events())
    http.get("/ig/notifications")
    http.post("/ig/notifications", data={"csrf": officer.csrf("/ig"),
                                         "person": people.child_everywhere})
    new = [e for e in officer.events()[before:] if e.get("detail") == "owner notifications page"]
    assert len(new) == 2 and all(e["event_type"] == "AuthorizationDecision" for e in new)
    assert [e["subject_person_id"] for e in new] == [None, people.child_everywhere]
    assert all(e["agency"] == "health" and e["purpose"] == "ig-oversight" for e in new)
    forged = http.post("/ig/notifications", data={"csrf": "guessed",
                                                  "person": people.child_everywhere})
    assert forged.status_code == 403 and "form has expired" in forged.text
    http.post("/sign-out", data={"csrf": officer.csrf("/ig")})
    http.cookies.clear()
    worker = Officer(http, app)
    worker.sign_in("s.worker", "s47-enquiry")
    refused = http.get("/ig/notifications")
    assert refused.status_code == 403 and people.child_everywhere not in refused.text
    last = officer.events()[-1]
    assert last["detail"] == "owner notifications page (refused)" and last["outcome"] == "deny"


def test_overrides_are_marked_and_break_glass_beyond_every_clause_says_so(
        install: tuple[TestClient, Any], people: People) -> None:
    """A consent override under a clause, and break-glass no clause covers, as the trail
    records them: the officer sees each marked, and no clause claimed for the second."""
    from audit import AuditEvent

    http, app = install
    common = {"event_type": "PatientRead", "outcome": "permit", "agency": "social_care",
              "role": "mash-social-worker", "user_id": "u.override",
              "subject_person_id": people.police_only, "source_agencies": ["police"]}
    app.state.audit.append([
        AuditEvent(**common, purpose="mash-triage", matched_rules=["MASH-5.1"],
                   categories_released=["police-involvement"],
                   consent_override_reason="would-prejudice-protection"),
        AuditEvent(**common, purpose="s47-enquiry", break_glass=True,
                   categories_released=["criminal-offence"])])
    officer = Officer(http, app)
    officer.sign_in("p.officer", "ig-oversight")
    found = cells(http.post("/ig/notifications", data={
        "csrf": officer.csrf("/ig/notifications"), "person": people.police_only}).text)
    by_user = [row for row in found if "user u.override" in row[2]]
    assert len(by_user) == 2, found
    glass, override = by_user                     # newest first
    assert glass[6] == "Break-glass" and glass[4] == "none (break-glass)"
    assert glass[5] == "Criminal offence data"
    assert override[6] == "Consent overridden" and override[4] == "MASH-5.1"
    assert override[5] == "Police involvement"
    assert "would-prejudice-protection" not in " ".join(map(" ".join, found))
