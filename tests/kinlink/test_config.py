"""Configuration from a file and the environment, and its reference document."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from stores.config import ConfigError, load_config, reference_markdown
from stores.database import PostgresLocation

ROOT = Path(__file__).resolve().parents[2]


def test_environment_wins_over_the_file_and_options_over_both(tmp_path: Path) -> None:
    file = tmp_path / "kinlink.toml"
    file.write_text('db = "/srv/a.duckdb"\nworkers = 1\nport = 9000\n')
    config = load_config(file, env={"KINLINK_PORT": "9100"}, workers=None)
    assert (config.db, config.port, config.workers) == ("/srv/a.duckdb", 9100, 1)
    assert load_config(file, env={"KINLINK_PORT": "9100"}, port=9200).port == 9200
    assert load_config(env={"KINLINK_CONFIG": str(file)}).port == 9000


def test_a_secret_is_read_from_a_mounted_file(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql://kinlink:pa55word@db:5432/kinlink\n")
    config = load_config(env={"KINLINK_DB_FILE": str(secret), "KINLINK_KEYS_DIR": "/k"})
    assert config.db == "postgresql://kinlink:pa55word@db:5432/kinlink"
    settings = GatewaySettings.from_config(config)
    assert isinstance(settings.store, PostgresLocation)
    assert settings.audit_path == settings.store == settings.clients_path
    with pytest.raises(ConfigError, match="KINLINK_SESSION_SECRET_FILE: cannot read"):
        load_config(env={"KINLINK_SESSION_SECRET_FILE": str(tmp_path / "missing")})


def test_unknown_keys_and_bad_values_name_where_they_came_from(tmp_path: Path) -> None:
    file = tmp_path / "kinlink.toml"
    file.write_text('db = "x.duckdb"\nwrokers = 4\n')
    with pytest.raises(ConfigError, match=r"kinlink.toml: key 'wrokers': unknown setting"):
        load_config(file, env={})
    with pytest.raises(ConfigError, match="environment variable KINLINK_PORT"):
        load_config(env={"KINLINK_PORT": "eighty"})
    file.write_text("db = [unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(file, env={})


def test_a_secret_value_is_never_echoed_in_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"KINLINK_SESSION_SECRET": "short-but-secret"})
    assert "short-but-secret" not in str(caught.value)
    assert "KINLINK_SESSION_SECRET" in str(caught.value)


def test_postgresql_needs_a_named_keys_directory() -> None:
    with pytest.raises(ConfigError, match="keys_dir must be set"):
        GatewaySettings.from_config(load_config(env={"KINLINK_DB": "postgresql://db/kinlink"}))


def test_workers_share_one_generated_session_secret(tmp_path: Path) -> None:
    first = GatewaySettings(db_path=tmp_path / "kinlink.duckdb")
    second = GatewaySettings(db_path=tmp_path / "kinlink.duckdb")
    key = first.session_key()
    assert len(key) >= 32 and second.session_key() == key
    assert (first.keys_dir / "session.secret").stat().st_mode & 0o077 == 0


def test_the_reference_document_is_the_model() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == reference_markdown()


def test_config_show_hides_the_database_password() -> None:
    from typer.testing import CliRunner

    from kinlink.cli import app

    shown = CliRunner().invoke(app, ["config", "show"], env={
        "KINLINK_DB": "postgresql://kinlink:pa55word@db/kinlink",
        "KINLINK_SESSION_SECRET": "s" * 40})
    assert shown.exit_code == 0, shown.output
    assert "pa55word" not in shown.output and "s" * 40 not in shown.output
    assert "postgresql://kinlink:***@db/kinlink" in shown.output
