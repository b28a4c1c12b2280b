"""A source's optional ``<source>.yaml``: how its columns, dates and codes map onto the contract."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkage.contract import CANONICAL_COLUMNS
from linkage.ingest.errors import ExtractError
from linkage.standardise.dates import DEFAULT_DATE_FORMATS

__all__ = ["SourceConfig", "load_source_config"]


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str | None = None
    #: The reader for a file whose type and content do not say (``linkage.ingest.formats``).
    format: str | None = None
    #: The day this source writes when only the month of a date is known (D2I writes the 15th);
    #: unset, the file's format decides.
    estimated_day: Literal[1, 15] | None = None
    #: contract column → the source's own column name
    columns: dict[str, str] = Field(default_factory=dict)
    #: contract column → strptime format(s)
    date_formats: dict[str, str | list[str]] = Field(default_factory=dict)
    #: contract column → {source value: contract value}
    values: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    #: extra column → data category code
    categories: dict[str, str] = Field(default_factory=dict)

    @field_validator("format", mode="before")
    @classmethod
    def _format_as_text(cls, value: object) -> object:
        """``format: 903`` is how anyone writes it, and YAML reads that as a number."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("columns", "date_formats", "values")
    @classmethod
    def _contract_keys(cls, value: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(value) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(f"not a contract column: {', '.join(unknown)}")
        return value

    def formats_for(self, column: str) -> tuple[str, ...]:
        return self.declared_formats(column) or DEFAULT_DATE_FORMATS

    def declared_formats(self, column: str) -> tuple[str, ...] | None:
        """The date format(s) this file declares for ``column``, or None (detect or default)."""
        fmt = self.date_formats.get(column) or (
            self.date_formats.get("dob") if column == "expected_dob" else None)
        if fmt is None:
            return None
        return (fmt,) if isinstance(fmt, str) else tuple(fmt)


def load_source_config(path: Path) -> SourceConfig:
    if not path.exists():
        return SourceConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ExtractError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ExtractError(f"{path}: expected a mapping of settings at the top level")
    try:
        return SourceConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ExtractError(f"{path}: field {where}: {first['msg']}") from exc
