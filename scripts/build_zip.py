"""Build the installable plugin zip: only what QGIS users need, under a 'speckle2void/' folder.

Usage: python -m scripts.build_zip [output_dir]   (default: dist/)
"""

from __future__ import annotations

import configparser
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "speckle2void"
INCLUDED = [
    "__init__.py",
    "metadata.txt",
    "LICENSE",
    "README.md",
    "resources.qrc",
    "icons",
    "s2v_plugin",
    "processing_provider",
    "models",
]
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".pt"}  # .pt: PyTorch weights, for fine-tuning only


def plugin_version() -> str:
    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    return metadata["general"]["version"]


def files_to_ship():
    for entry in INCLUDED:
        path = ROOT / entry
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    if file.suffix not in SKIPPED_SUFFIXES and not file.name.startswith("."):
                        yield file


def build(output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{PLUGIN_NAME}-{plugin_version()}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files_to_ship():
            archive.write(file, f"{PLUGIN_NAME}/{file.relative_to(ROOT).as_posix()}")
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))
