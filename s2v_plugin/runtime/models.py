"""Where the shipped models live."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL_NAME = "speckle2void_default.onnx"


def default_model_path() -> str | None:
    """Path of the shipped default model, or None when no model is shipped."""
    path = MODELS_DIR / DEFAULT_MODEL_NAME
    return str(path) if path.is_file() else None
