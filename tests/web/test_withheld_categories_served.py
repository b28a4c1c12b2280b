"""For every data category the shipped agreement names, a purpose that withholds exactly that
category, and the child page's summary card and household picture seen through it in Debian's
chromium against a real ``kinlink serve``: nothing of the category is shown or summarised, and the
category is listed as withheld with its clause (issue 18).

The agreement is the shipped one with one purpose added per category (``without-<category>``),
each permitting every other category from every agency: a value of the withheld category that
reached the summary or the household could only have leaked."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from playwright.sync_api import Browser

from gateway.users import StaffRegistry
from linkage.index.reader import IdentityIndex, PersonRecord
from policies import DEFAULT_POLICY_DIR
from tests.gateway.conftest import Gateway, copy_index, start_gateway
from tests.web.test_pages import browser, child_details, sign_in

__all__ = ["browser"]

SHIPPED = yaml.safe_load((DEFAULT_POLICY_DIR / "mash.yaml").read_text())
CATEGORIES = [c["code"] for c in SHIPPED["categories"]]
PARTIES = [p["code"] for p in SHIPPED["parties"]]
#: The summary card's flag for each category that raises one (gateway/web/data_dictionary.yaml).
FLAGS = {"cp-plan": "Child protection plan", "case-status": "Child in need (open case)",
         "safeguarding-flags": "Health safeguarding concern",
         "police-involvement": "Police involvement", "send": "Special educational needs"}
PASSWORD = "one purpose per category"


def _agreement_withholding_each_category(directory: Path) -> None:
    agreement = dict(SHIPPED)
    agreement["purposes"] = [*SHIPPED["purposes"], *(
        {"code": f"without-{c}", "name": f"Everything but {c}", "statutory_basis": "test",
         "consent": "not_required", "urgent": False, "purpose_of_use": "THREAT"}
        for c in CATEGORIES)]
    agreement["rules"] = [*SHIPPED["rules"], *(
        {"id": f"TEST-{n}", "title": f"Everything but {c}", "effect": "permit", "notify": "never",
         "purposes": [f"without-{c}"], "roles": ["mash-social-worker"], "source_parties": PARTIES,
         "categories": [other for other in CATEGORIES if other != c],
         "lawful_basis": ["uk-gdpr-6-1-e"]}
        for n, c in enumerate(CATEGORIES, start=1))]
    directory.mkdir()
    (directory / "mash.yaml").write_text(yaml.safe_dump(agreement, sort_keys=False))


@pytest.fixture(scope="module")
def site(linked_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("withheld-categories")
    db = copy_index(linked_population, directory)
    agreements = directory / "agreements"
    _agreement_withholding_each_category(agreements)
    StaffRegistry(db.with_name("kinlink.users.duckdb")).add(
        "c.checker", "Cat Checker", "social_care", "mash-social-worker",
        [f"without-{c}" for c in CATEGORIES], password=PASSWORD)
    gateway = start_gateway(db, directory / "server.log",
                            env={"KINLINK_AGREEMENTS": str(agreements)})
    yield gateway
    gateway.stop()


def _values(record: PersonRecord, category: str) -> set[str]:
    """What a record holds under ``category``, as the page could print it."""
    if category == "identity":
        raw = [v for k, v in record.identity.items() if k != "sex"]
        nhs = str(record.identity.get("nhs_number") or "")
        if len(nhs) == 10:
            raw.append(f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}")
    elif category == "address":
        raw = list(record.address.values())
    else:
        raw = [record.attributes[c] for c, cat in record.attribute_categories.items()
               if cat == category and c in record.attributes]
    return {str(v).strip() for v in raw if v is not None and len(str(v).strip()) >= 4}


def _holds(record: PersonRecord, category: str) -> bool:
    return any(cat == category and record.attributes.get(column) not in (None, "")
               for column, cat in record.attribute_categories.items())


def _subject_for(site: Gateway, category: str) -> str:
    """A child in a household whose own records hold something of ``category``, so the check
    has something to find; the child every agency knows for the categories all records carry."""
    if category in ("identity", "address", "family", "involvements"):
        return child_details(site)["person"]
    with duckdb.connect(str(site.db), read_only=True) as con:
        children = [r[0] for r in con.execute(
            """SELECT DISTINCT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE s.dob > '2010-01-01' AND l.person_id IN (SELECT person_id FROM family_members)
               ORDER BY 1""").fetchall()]
    index = IdentityIndex(site.db)
    return next(c for c in children if any(_holds(r, category) for r in index.records(c)))


def _held(site: Gateway, person_id: str) -> list[PersonRecord]:
    """The child's records and every household member's."""
    index = IdentityIndex(site.db)
    members = {m["person_id"] for m in index.family_of(person_id)} | {person_id}
    return [r for m in sorted(members) for r in index.records(m)]


def _shown(site: Gateway, browser: Browser, person_id: str, category: str) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "c.checker", PASSWORD, f"without-{category}")
    page.wait_for_url("**/find")
    page.goto(f"{site.base}/child/{person_id}")

    def markup(selector: str) -> str:
        found = page.locator(selector)
        return html.unescape(found.inner_html()) if found.count() else ""

    rows = page.locator("#summary .govuk-summary-list__row")
    shown = {
        "heading": markup("h1"), "summary": markup("#summary"), "household": markup("#household"),
        # The summary's values, not its labels ("Child in need (open case)" names no value).
        "values": "\n".join(html.unescape(rows.nth(i).locator("dd").inner_html())
                            for i in range(rows.count())),
        "flags": {rows.nth(i).locator("dt").inner_text().strip():
                  rows.nth(i).locator("dd").inner_text().strip() for i in range(rows.count())},
        "withheld": page.inner_text("#withheld") if page.locator("#withheld").count() else "",
    }
    context.close()
    return shown


@pytest.mark.parametrize("category", CATEGORIES)
def test_the_summary_and_household_never_show_a_withheld_category(
        site: Gateway, browser: Browser, category: str) -> None:
    child = _subject_for(site, category)
    held = _held(site, child)
    forbidden = set().union(*(_values(r, category) for r in held))
    # A value also held under a category the purpose permits (a date of birth that is also a
    # plan's start date) may rightly be shown under that one.
    permitted = set().union(*(_values(r, other) for r in held for other in CATEGORIES
                              if other != category))
    forbidden -= permitted
    shown = _shown(site, browser, child, category)
    visible = "\n".join((shown["heading"], shown["values"], shown["household"]))
    leaked = sorted(v for v in forbidden if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", visible))
    assert not leaked, f"{category} withheld but shown: {leaked}"
    assert re.search(rf"^\S.*\t{re.escape(category)}\t.*\(default-deny\)$",
                     shown["withheld"], re.MULTILINE), shown["withheld"]
    if category in FLAGS:
        flag = shown["flags"][FLAGS[category]]
        assert flag.startswith("Withheld") and "default-deny" in flag, flag
    if category == "family":
        assert not shown["household"], "no household without the family category"
    if category == "identity":
        assert not shown["household"] or "Person" in shown["household"]
        assert "Not shared for your purpose" in shown["summary"]
    if category == "address":
        assert "Withheld for your purpose (default-deny)" in shown["summary"]


def test_the_checks_can_fail_each_category_shows_through_the_shipped_purpose(
        site: Gateway, browser: Browser) -> None:
    """The checks are not vacuous: the child's household holds a value in every category that
    has values (family is the household itself, involvements who holds the records), and a
    purpose permitting them shows the child's identity and the household."""
    for category in CATEGORIES:
        if category not in ("family", "involvements"):
            subject = IdentityIndex(site.db).records(_subject_for(site, category))
            assert any(_holds(r, category) or _values(r, category) for r in subject), category
    child = child_details(site)["person"]
    shown = _shown(site, browser, child, "criminal-offence")      # identity and family permitted
    visible = "\n".join((shown["heading"], shown["values"], shown["household"]))
    identity = set().union(*(_values(r, "identity") for r in IdentityIndex(site.db).records(child)))
    assert any(v in visible for v in identity)
    assert "<svg" in shown["household"]
    assert not any(shown["flags"][FLAGS[c]].startswith("Withheld") for c in FLAGS)
