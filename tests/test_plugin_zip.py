"""The installable zip: only what users need, and it loads in a fresh QGIS plugins folder."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import qgis_process_env, require_binary_failed

from scripts import build_zip


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    return build_zip.build(tmp_path_factory.mktemp("dist"))


def test_zip_holds_the_plugin_and_nothing_for_developers(plugin_zip):
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert all(name.startswith("speckle2void/") for name in names)
    for required in ("__init__.py", "metadata.txt", "LICENSE", "icons/speckle2void.svg"):
        assert f"speckle2void/{required}" in names
    assert "speckle2void/processing_provider/despeckle_algorithm.py" in names
    assert "speckle2void/models/speckle2void_default.onnx" in names
    for excluded in ("tests/", "training/", "bench/", ".venv/", "__pycache__", ".ci/", ".pt"):
        assert not any(excluded in name for name in names), excluded


def test_unzipped_plugin_loads_in_a_fresh_plugins_folder(plugin_zip, tmp_path):
    binary = shutil.which("qgis_process.bin")
    if binary is None:
        require_binary_failed("qgis_process.bin")
    plugins = tmp_path / "plugins"
    zipfile.ZipFile(plugin_zip).extractall(plugins)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = qgis_process_env(plugins, tmp_path)
    env["XDG_RUNTIME_DIR"] = str(runtime)

    def run(*args):
        return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=300)

    enabled = run("plugins", "enable", "speckle2void")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    listed = run("list")
    assert "speckle2void:despeckle" in listed.stdout
    helped = run("help", "speckle2void:despeckle")
    assert "OUTPUT_UNCERTAINTY" in helped.stdout
