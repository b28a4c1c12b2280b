"""tools/clock-shift/run, by which the suite is checked at another date (issue 13): the wall clock
of the process and of its children reads as the date asked for, and timed waits still return."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "tools" / "clock-shift" / "run"

PROBE = """
import datetime, json, subprocess, sys, threading, time
import duckdb
started = time.monotonic()
threading.Event().wait(0.05)
time.sleep(0.05)
lock = threading.Lock(); lock.acquire()
child = subprocess.run([sys.executable, "-c", "import datetime; print(datetime.date.today())"],
                       capture_output=True, text=True, check=True).stdout.strip()
print(json.dumps({
    "python": datetime.datetime.now(datetime.UTC).isoformat(),
    "duckdb": str(duckdb.sql("SELECT current_date").fetchall()[0][0]),
    "child": child,
    "timed_lock": lock.acquire(timeout=0.05),
    "waited": time.monotonic() - started,
}))
"""


def test_the_wall_clock_moves_and_waits_still_return(tmp_path: Path) -> None:
    out = subprocess.run([str(RUN), "2027-06-15 10:00:00", sys.executable, "-c", PROBE],
                         capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ,
                              "KINLINK_CLOCK_SHIFT_LIB": str(tmp_path / "shift.so")})
    seen = json.loads(out.stdout)
    assert seen["python"].startswith("2027-06-15T10:0")       # time runs on from the date asked
    assert seen["duckdb"] == "2027-06-15" and seen["child"] == "2027-06-15"
    assert seen["timed_lock"] is False and 0.1 <= seen["waited"] < 10


def test_an_unreadable_date_is_refused_by_name(tmp_path: Path) -> None:
    result = subprocess.run([str(RUN), "the thirty-second of never", "true"], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ,
                                 "KINLINK_CLOCK_SHIFT_LIB": str(tmp_path / "shift.so")})
    assert result.returncode == 2 and "the thirty-second of never" in result.stderr
