"""The plugin never imports the training code (it runs exported ONNX files only)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_PATHS = [ROOT / "s2v_plugin", ROOT / "processing_provider", ROOT / "__init__.py"]


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
            yield "." * node.level + node.module


def _plugin_files():
    for entry in PLUGIN_PATHS:
        yield from ([entry] if entry.is_file() else sorted(entry.rglob("*.py")))


def test_no_plugin_module_imports_training_or_torch():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _plugin_files()
        for name in _imported_modules(path)
        if name.split(".")[0] in ("training", "torch") or name.lstrip(".").startswith("training")
    ]
    assert offenders == []


def test_the_scan_sees_the_plugin_sources():
    assert len(list(_plugin_files())) > 5
