"""Fixtures every test package may use."""

import datetime as dt
import os

pytest_plugins = ["tests.postgres_server"]

#: The date every gateway in the tests judges the sharing agreements and subjects' ages at, so
#: that no outcome changes with the calendar (the shipped agreement is due for review on
#: 2027-03-01 and is refused after it). Servers started as processes inherit it through
#: ``KINLINK_POLICY_DATE``; in-process apps pass it in their settings.
POLICY_DATE = dt.date(2026, 11, 25)
os.environ["KINLINK_POLICY_DATE"] = POLICY_DATE.isoformat()
