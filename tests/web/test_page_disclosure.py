"""The pages' share of issue 19, in process (the real app and a real DuckDB index): break-glass
covers only the child and purpose it was invoked for (finding 14); the review pages refuse a
pair nobody queued and show only what the decision releases (finding 2); the child page's
refusal does not name a restricted marker (finding 4)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.users import StaffRegistry
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import copy_index

REASON = "Child reported missing overnight, police need the last known carers now"
JUSTIFICATION = "Section 47 enquiry opened after a referral from the school"


@dataclass
class Signed:
    client: TestClient
    app: Any

    def csrf(self, path: str = "/purpose") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found, "every form carries a CSRF token"
        return found.group(1)

    def choose(self, purpose: str, justification: str = JUSTIFICATION) -> None:
        done = self.client.post("/purpose", data={"csrf": self.csrf(), "purpose": purpose,
                                                  "justification": justification},
                                follow_redirects=False)
        assert done.status_code == 303, done.text

    def events(self) -> list[dict[str, Any]]:
        rows = self.app.state.audit.cursor().execute(
            "SELECT event_json FROM audit_events ORDER BY seq").fetchall()
        return [json.loads(r[0]) for r in rows]


def sign_in(db: Path, username: str, role: str, purposes: list[str]) -> Iterator[Signed]:
    settings = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    app = create_app(settings)
    StaffRegistry(settings.users_path).add(username, username, "social_care", role, purposes,
                                           password="pw-pw-pw-pw")
    with TestClient(app) as client:
        start = client.get("/sign-in", follow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}
        done = client.post("/oauth/authorize", data={**form, "username": username,
                                                     "password": "pw-pw-pw-pw"})
        assert done.status_code == 200 and done.url.path == "/purpose"
        yield Signed(client, app)


def two_children(db: Path) -> tuple[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE s.dob > '2012-01-01' GROUP BY 1 ORDER BY 1 LIMIT 2""").fetchall()
    return rows[0][0], rows[1][0]


@pytest.fixture
def worker(linked_population: Path, tmp_path: Path) -> Iterator[Signed]:
    yield from sign_in(copy_index(linked_population, tmp_path), "s.worker",
                       "mash-social-worker", ["s47-enquiry", "mash-triage"])


def test_break_glass_covers_only_the_child_it_was_invoked_for(worker: Signed) -> None:
    first, second = two_children(worker.app.state.settings.db_path)
    worker.choose("s47-enquiry")
    on = worker.client.post("/break-glass", data={"csrf": worker.csrf(), "person_id": first,
                                                  "reason": REASON}, follow_redirects=False)
    assert on.status_code == 303
    assert worker.client.get(f"/child/{first}").status_code in (200, 403)
    assert worker.client.get(f"/child/{second}").status_code in (200, 403)
    pages = {e["subject_person_id"]: e for e in worker.events() if e["detail"] == "child page"}
    assert pages[first]["break_glass"] is True and pages[first]["justification"] == REASON
    assert pages[second]["break_glass"] is False
    assert pages[second]["justification"] == JUSTIFICATION, "A's reason recorded against B"


def test_break_glass_ends_when_the_purpose_changes(worker: Signed) -> None:
    first, _ = two_children(worker.app.state.settings.db_path)
    worker.choose("s47-enquiry")
    worker.client.post("/break-glass", data={"csrf": worker.csrf(), "person_id": first,
                                             "reason": REASON})
    worker.choose("mash-triage")
    worker.choose("s47-enquiry")
    worker.client.get(f"/child/{first}")
    last = [e for e in worker.events() if e["detail"] == "child page"][-1]
    assert last["subject_person_id"] == first and last["break_glass"] is False


def test_child_page_refusal_does_not_name_the_marker(linked_population: Path,
                                                     tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    first, _ = two_children(db)
    with duckdb.connect(str(db)) as con:
        con.execute("""UPDATE source_records SET attributes = json_merge_patch(
                           coalesce(attributes, '{}'), '{"restriction": "gender-recognition"}')
                       WHERE unique_id IN (SELECT unique_id FROM record_links
                                           WHERE person_id = ?)""", [first])
    for signed in sign_in(db, "s.worker", "mash-social-worker", ["s47-enquiry"]):
        signed.choose("s47-enquiry")
        page = signed.client.get(f"/child/{first}")
        assert page.status_code == 403
        text = page.text.lower()
        assert "gender" not in text and "marker" not in text
        assert "not available for this purpose" in text


def test_review_page_refuses_a_pair_nobody_queued(linked_population: Path,
                                                  tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        keys = [k for (k,) in con.execute(
            "SELECT unique_id FROM record_links ORDER BY unique_id LIMIT 2").fetchall()]
    for signed in sign_in(db, "r.viewer", "linkage-reviewer", ["identity-review"]):
        signed.choose("identity-review", "")
        csrf = signed.csrf("/review")
        shown = signed.client.post("/review/pair", data={"csrf": csrf, "left": keys[0],
                                                         "right": keys[1]})
        assert shown.status_code == 404
        made = signed.client.post("/review/decide", data={
            "csrf": csrf, "left": keys[0], "right": keys[1], "decision": "same",
            "reason": "merge two unrelated children"}, follow_redirects=False)
        assert made.status_code == 404
        refused = [e for e in signed.events() if e["outcome"] == "deny"]
        assert len(refused) == 2, "each refused review request is in the trail"


def test_the_session_cookie_is_sealed_and_dies_at_sign_out(worker: Signed) -> None:
    """Finding 15: the cookie carried the justification readable by anyone who saw it, and a
    copy kept working after sign-out."""
    worker.choose("s47-enquiry")
    cookie = worker.client.cookies["kinlink_session"]
    raw = cookie.encode()
    for text in (raw, base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))):
        assert b"Section 47" not in text and b"mash-social-worker" not in text
    for part in cookie.split("."):                     # nor in any base64 piece of it
        try:
            decoded = base64.b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        assert b"Section 47" not in decoded
    copied = TestClient(worker.app, cookies={"kinlink_session": cookie})
    assert copied.get("/purpose", follow_redirects=False).status_code == 200
    out = worker.client.post("/sign-out", data={"csrf": worker.csrf()}, follow_redirects=False)
    assert out.status_code == 303
    gone = copied.get("/purpose", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/sign-in"


def test_a_tampered_cookie_is_no_session(worker: Signed) -> None:
    worker.choose("s47-enquiry")
    cookie = worker.client.cookies["kinlink_session"]
    flipped = cookie[:-5] + ("A" if cookie[-5] != "A" else "B") + cookie[-4:]
    forged = TestClient(worker.app, cookies={"kinlink_session": flipped})
    assert forged.get("/purpose", follow_redirects=False).status_code == 303


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every endpoint with its full path, through included routers (FastAPI keeps an included
    router as one entry holding the original router and its prefix)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes,
                               prefix + route.include_context.prefix)


def _acceptable(param: Any) -> str:
    """A value the form field's own pattern accepts, so only the CSRF token is wrong."""
    pattern = next((m.pattern for m in param.field_info.metadata
                    if getattr(m, "pattern", None)), None)
    return next(value for value in ("AAAAAAAAAA", "education:AAAA1", "unsure")
                if pattern is None or re.match(pattern, value))


def test_every_post_of_the_pages_needs_the_csrf_token(worker: Signed) -> None:
    """Issue 17 item 5: enumerated from the app itself, so a new form cannot skip the check. Each
    POST of the pages (not the token-authenticated API, not the sign-in form that starts a
    session) is sent with every field it declares but a guessed token, and must be refused with
    nothing done: the same request with the real token is not refused for the token."""
    worker.choose("s47-enquiry")
    api = ("/v1/", "/fhir/", "/oauth/", "/ig/api", "/.well-known/")
    posts = [(path, route) for path, route in _routes(worker.app.routes) if "POST" in route.methods
             and not path.startswith(api) and "{" not in path]
    assert {"/sign-out", "/purpose", "/find", "/break-glass", "/review/decide",
            "/ig/audit"} <= {path for path, _ in posts}
    before = len(worker.events())
    for path, route in posts:
        params = [p for p in route.dependant.body_params if p.alias != "csrf"]
        uploads = {p.alias: ("f.yaml", b"x: 1\n") for p in params
                   if "UploadFile" in str(p.field_info.annotation)}
        fields = {p.alias: _acceptable(p) for p in params if p.alias not in uploads}
        refused = worker.client.post(path, data={**fields, "csrf": "guessed"},
                                     files=uploads or None,
                                     follow_redirects=False)
        assert refused.status_code == 403, (path, refused.status_code, refused.text[:200])
        assert "form has expired" in refused.text, path
    assert len(worker.events()) == before, "a refused form wrote nothing to the trail"
    signed_in = worker.client.get("/purpose", follow_redirects=False)
    assert signed_in.status_code == 200, "the guessed forms did not sign the worker out"
