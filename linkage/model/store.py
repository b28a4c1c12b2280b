"""Where the trained model lives, and reading/writing it as the JSON artefact reviewers diff."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MODEL_PATH", "load_model", "model_hash"]

#: The shipped, reviewed model. ``kinlink train`` rewrites it (and its HTML report beside it).
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "person-model.json"


def load_model(path: Path | None = None) -> dict[str, Any] | None:
    """The saved model at ``path`` (default: the shipped one), or None when there is none yet."""
    target = path or DEFAULT_MODEL_PATH
    if not target.exists():
        if path is not None:
            raise FileNotFoundError(f"model file not found: {path}")
        return None
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{target}: not a valid model JSON file ({exc.msg}, line {exc.lineno})"
        ) from exc


def model_hash(model: dict[str, Any] | None) -> str:
    if model is None:
        return "untrained"
    canonical = json.dumps(model, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]
