"""Schemathesis against the gateway's own OpenAPI document, authenticated: no input it generates
may produce a server error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import Gateway


def test_no_generated_request_causes_a_5xx(gateway: Gateway) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency; reinstall with `make install`"
    result = subprocess.run(
        [st, "run", f"{gateway.base}/openapi.json",
         "-H", f"Authorization: Bearer {gateway.token('social-worker')}",
         "--checks", "not_a_server_error", "--max-examples", "30",
         "--generation-deterministic", "--no-color"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
