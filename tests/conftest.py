"""Fixtures every test package may use."""

pytest_plugins = ["tests.postgres_server"]
