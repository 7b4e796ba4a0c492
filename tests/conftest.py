"""Shared fixtures: real SAR samples, a headless QGIS with this checkout's plugin, and
``qgis_process``.

The engine is imported as ``s2v_plugin`` from this checkout: pytest puts the checkout first on
the path (``pythonpath`` in pyproject.toml), before any installed copy. The plugin is loaded
into QGIS from this checkout too, under the name QGIS gives it (``speckle2void``).

Test tiers skip themselves when their dependency is missing: QGIS tests need ``qgis.core``,
ONNX tests need ``onnxruntime`` and ``onnx``, training tests need ``torch``, real-data tests need
``../shared/data/sar``.

One tier may be skipped on purpose, by one explicit rule: ``S2V_SKIP_TRAINING=1`` leaves out the
training tests (``tests/test_training_*.py``). ``.ci/debian13`` sets it for the Debian 13 suite
(Python 3.13), where no CPU wheel of the pinned PyTorch exists; nothing else is skipped there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAR_DATA = ROOT.parent / "shared" / "data" / "sar"
QGIS_PYTHON_PLUGINS = Path("/usr/share/qgis/python/plugins")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHONNOUSERSITE"] = "1"

PLUGIN_NAME = "speckle2void"

SKIP_TRAINING = os.environ.get("S2V_SKIP_TRAINING") == "1"
collect_ignore_glob = ["test_training_*.py"] if SKIP_TRAINING else []


def pytest_report_header(config):
    if SKIP_TRAINING:
        return "S2V_SKIP_TRAINING=1: the training tier (tests/test_training_*.py) is not collected"
    return None


#: Under ``CI=true`` a missing tier dependency fails the run instead of skipping the tier; the
#: one exception is the training tier's explicit ``S2V_SKIP_TRAINING=1`` (see above).
CI = os.environ.get("CI", "").lower() == "true"


def require(module: str):
    """Import ``module`` for a test tier: skip the tier when it is missing, except under
    ``CI=true``, where the import error fails the run (a CI that silently skipped QGIS,
    onnxruntime or torch would pass without testing them)."""
    if CI:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def require_binary_failed(name: str) -> None:
    """A tier's program is missing: skip, or fail under ``CI=true``."""
    message = f"{name} not found on PATH"
    if CI:
        pytest.fail(message + " (CI=true: the test tier must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def sar_data() -> Path:
    """Folder of the shared real SAR samples; skips the test when it is absent."""
    if not SAR_DATA.is_dir():
        pytest.skip(f"real SAR samples not found in {SAR_DATA}")
    return SAR_DATA


@pytest.fixture(scope="session")
def plugins_dir(tmp_path_factory) -> Path:
    """A fresh QGIS plugins folder holding this checkout (linked) as 'speckle2void'."""
    folder = tmp_path_factory.mktemp("plugins")
    (folder / PLUGIN_NAME).symlink_to(ROOT, target_is_directory=True)
    return folder


def import_package(name: str, folder: Path):
    """Import the package in ``folder`` under ``name`` (as QGIS imports a plugin folder),
    without adding anything to ``sys.path``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def qgis_app(plugins_dir):
    """A headless QgsApplication with Processing initialised and the plugin's provider loaded
    exactly as QGIS loads it (``classFactory`` then ``initProcessing``)."""
    require("qgis.core")
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    import_package("processing", QGIS_PYTHON_PLUGINS / "processing")
    from processing.core.Processing import Processing

    Processing.initialize()
    plugin = import_package(PLUGIN_NAME, plugins_dir / PLUGIN_NAME).classFactory(None)
    plugin.initProcessing()
    app._speckle2void_plugin = plugin  # keep the provider alive for the whole session
    yield app


@pytest.fixture()
def processing_run(qgis_app):
    """``processing.run`` with a fresh feedback object, as the Python console calls it."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    def run(algorithm_id: str, parameters: dict, feedback=None):
        context = QgsProcessingContext()
        return processing.run(
            algorithm_id, parameters, context=context, feedback=feedback or QgsProcessingFeedback()
        )

    return run


def qgis_process_env(plugins_dir: Path, profile_dir: Path) -> dict:
    """Environment for ``qgis_process.bin`` that finds this plugin and the venv's packages."""
    env = dict(os.environ)
    site = [p for p in sys.path if p.endswith("site-packages") and str(ROOT) in p]
    env["PYTHONPATH"] = os.pathsep.join([*site, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env["QGIS_PLUGINPATH"] = str(plugins_dir)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["HOME"] = str(profile_dir)
    env["XDG_RUNTIME_DIR"] = str(profile_dir)
    return env


@pytest.fixture(scope="session")
def qgis_process(plugins_dir, tmp_path_factory):
    """Run ``qgis_process.bin`` with the plugin enabled in a fresh profile.

    Returns a function ``run(*args, timeout=300) -> subprocess.CompletedProcess`` (text mode).
    """
    import shutil
    import subprocess

    binary = shutil.which("qgis_process.bin")
    if binary is None:
        require_binary_failed("qgis_process.bin")
    profile = tmp_path_factory.mktemp("qgis_profile")
    runtime = profile / "runtime"
    runtime.mkdir(mode=0o700)
    env = qgis_process_env(plugins_dir, profile)
    env["XDG_RUNTIME_DIR"] = str(runtime)

    def run(*args: str, timeout: int = 300):
        return subprocess.run(
            [binary, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    enabled = run("plugins", "enable", PLUGIN_NAME)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return run
