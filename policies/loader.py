"""Reading sharing agreements: YAML, checked against the JSON Schema and for cross-references.

An IG officer edits these files by hand, so every error names the file and the field path
(``rules[3].purposes[1]``) and says what is wrong in words, before anything is decided on them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from policies.model import (
    Agreement,
    BreakGlassPolicy,
    Category,
    Marker,
    PolicyBundle,
    Purpose,
    Rule,
)

__all__ = ["DEFAULT_POLICY_DIR", "PolicyError", "load_agreement", "load_policies"]

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent / "agreements"


class PolicyError(ValueError):
    """A sharing agreement cannot be used; the message names the file and the field."""


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("policies").joinpath("schema/sharing-agreement.schema.json").read_text()
    return jsonschema.Draft202012Validator(
        json.loads(text), format_checker=jsonschema.FormatChecker()
    )


def _plain(value: Any) -> Any:
    """YAML turns 2026-03-01 into a date; the schema (and the hash) work on the text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_agreement(path: Path) -> Agreement:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc})") from exc
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror})") from exc
    data = _plain(raw)
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: an agreement is a mapping of fields")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise PolicyError(f"{path}: {_path(first.absolute_path)}: {first.message}")
    agreement = _build(data, path)
    _check_references(agreement, path)
    return agreement


def _build(data: dict[str, Any], path: Path) -> Agreement:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return Agreement(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        source=str(path),
        parties=tuple(p["code"] for p in data["parties"]),
        effective_from=dt.date.fromisoformat(data["effective_from"]),
        review_by=dt.date.fromisoformat(data["review_by"]),
        purposes={p["code"]: Purpose.from_dict(p) for p in data["purposes"]},
        categories={c["code"]: Category.from_dict(c) for c in data["categories"]},
        markers={m["code"]: Marker.from_dict(m) for m in data.get("restricted_markers", [])},
        rules=tuple(Rule.from_dict(r) for r in data["rules"]),
        break_glass=BreakGlassPolicy.from_dict(data["break_glass"])
        if "break_glass" in data
        else None,
        content_hash=hashlib.sha256(canonical).hexdigest(),
        raw=data,
    )


def _check_references(agreement: Agreement, path: Path) -> None:
    """Names a rule uses must exist in the agreement: a typo must not silently deny (or permit)."""
    parties = set(agreement.parties)
    for i, rule in enumerate(agreement.rules):
        for field, values, known in (
            ("purposes", rule.purposes, set(agreement.purposes)),
            ("categories", rule.categories, set(agreement.categories)),
            ("source_parties", rule.source_parties, parties),
            ("requester_parties", rule.requester_parties or (), parties),
        ):
            for j, value in enumerate(values):
                if value not in known:
                    raise PolicyError(
                        f"{path}: rules[{i}].{field}[{j}]: {value!r} is not defined in this agreement"
                    )
    ids = [r.id for r in agreement.rules]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise PolicyError(f"{path}: rules: clause id {duplicated[0]} is used twice")
    if agreement.break_glass:
        for j, purpose in enumerate(agreement.break_glass.purposes):
            if purpose not in agreement.purposes:
                raise PolicyError(f"{path}: break_glass.purposes[{j}]: {purpose!r} is not defined")


def load_policies(directory: Path | None = None, as_of: dt.date | None = None) -> PolicyBundle:
    """Every ``*.yaml`` agreement in ``directory`` (default: the packaged agreements), judged at
    ``as_of`` (default: each day as it comes)."""
    directory = directory or DEFAULT_POLICY_DIR
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory does not exist")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise PolicyError(f"{directory}: no sharing agreements (*.yaml) found")
    return PolicyBundle(tuple(load_agreement(f) for f in files), as_of=as_of)
