"""The pages' tests reuse the gateway tests' linked population and server helpers."""

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page

from tests.gateway.conftest import linked_population, people

__all__ = ["ARTEFACTS", "keep_screenshot", "linked_population", "people"]

ARTEFACTS = Path(__file__).parent / "artefacts"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep_screenshot(page: Page, name: str) -> None:
    """A full-page screenshot kept as a test artefact (``tests/web/artefacts``, git-ignored), and
    copied to ``docs/screenshots`` only when asked with ``KINLINK_UPDATE_SCREENSHOTS=1``: a test run
    must leave the checkout as it found it, and the documentation changes only on purpose."""
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("KINLINK_UPDATE_SCREENSHOTS") == "1" and SCREENSHOTS.is_dir():
        shutil.copy(ARTEFACTS / f"{name}.png", SCREENSHOTS / f"{name}.png")
