"""Application logs carry no personal data, whichever logger writes them."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from gateway.logging import configure_logging

NHS = "943 476 5919"
NAME = "Amelia-Rose"


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers, _ = saved[0], root.setLevel(saved[1])
    structlog.reset_defaults()


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_structlog_fields_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    structlog.get_logger("t").info("lookup", given_name=NAME, note=f"nhs {NHS}", dob="2015-03-01")
    out = capsys.readouterr().out + capsys.readouterr().err
    assert NAME not in out and "943 476 5919" not in out and "2015-03-01" not in out
    assert lines(out)[0]["event"] == "lookup"


def test_library_exceptions_are_logged_without_their_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging()
    try:
        {}[f"health:{NAME}"]
    except KeyError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application %s", NAME)
    err = capsys.readouterr().err
    assert NAME not in err
    entry = lines(err)[-1]
    assert entry["error"] == "KeyError"
    assert entry["event"] == "Exception in ASGI application %s"
    assert any("test_logging.py" in w for w in entry["where"])  # type: ignore[union-attr]
