"""The layers stay apart: read from the source, so a new import in the wrong place fails here.

* ``s2v_plugin/core`` imports neither GDAL (osgeo), nor onnxruntime, nor QGIS: only itself,
  numpy, scipy and the standard library, so its numeric code (filters, metrics, the
  evaluation's measures) runs without GDAL; evaluation's GDAL/OGR side is in ``io/``;
* QGIS is imported only by ``s2v_plugin/plugin.py`` and ``processing_provider/``;
* onnxruntime (and Dask) only inside functions, never when a module is imported;
* torch only in ``training/``;
* the plugin's own code imports its packages relatively, so the unzipped plugin works in QGIS
  without the editable install;
* importing the engine and running it leaves GDAL's process-wide exception setting alone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, require

PLUGIN_CODE = ("s2v_plugin", "processing_provider")


def python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imports(path: Path, module_level_only: bool = False) -> list[tuple[str, int]]:
    """(absolute or relative module name, line) of every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only:  # also imports under module-level if/try blocks
        nodes = [node for top in tree.body for node in ast.walk(top)]
        nodes = [n for n in nodes if not _inside_function(tree, n)]
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), node.lineno))
    return found


def _inside_function(tree: ast.AST, target: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if any(child is target for child in ast.walk(node)):
                return True
    return False


def offenders(files, banned, module_level_only=False):
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for name, line in imports(path, module_level_only)
        if name.split(".")[0] in banned
    ]


def test_core_imports_neither_gdal_nor_onnxruntime_nor_qgis():
    assert offenders(python_files("s2v_plugin/core"), {"osgeo", "onnxruntime", "qgis"}) == []


def test_core_imports_only_itself_numpy_scipy_and_the_standard_library():
    """A relative import out of ``core`` (``..io``, ``..tiled_run``) would bring GDAL in
    through the back door."""
    allowed = {"numpy", "scipy", *sys.stdlib_module_names}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files("s2v_plugin/core")
        for name, line in imports(path)
        if (name.startswith("..") or name.split(".")[0] not in allowed)
        and not (name.startswith(".") and not name.startswith(".."))
    ]
    assert found == []


def test_the_evaluation_is_split_into_numeric_code_and_gdal_io():
    """The measures live in core (covered by core's rules); the orchestration in
    ``evaluate.py`` touches GDAL/OGR only through ``io``."""
    assert (ROOT / "s2v_plugin" / "core" / "evaluation.py").is_file()
    assert offenders([ROOT / "s2v_plugin" / "evaluate.py"], {"osgeo"}) == []
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, s2v_plugin.core.evaluation; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'osgeo', 'qgis'}))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_qgis_is_imported_only_by_the_plugin_object_and_the_provider():
    """(Tests and benchmark harnesses start a QGIS of their own; they are not the plugin.)"""
    files = [
        path
        for path in python_files("s2v_plugin", "training")
        if path != ROOT / "s2v_plugin" / "plugin.py"
    ]
    assert offenders(files, {"qgis"}) == []


def test_onnxruntime_and_dask_are_imported_lazily():
    files = list(python_files(*PLUGIN_CODE))
    banned = {"onnxruntime", "distributed", "dask"}
    assert offenders(files, banned, module_level_only=True) == []


def test_torch_is_imported_only_in_training():
    files = list(python_files("s2v_plugin", "processing_provider", "bench", "scripts"))
    assert offenders(files, {"torch"}) == []


def test_plugin_code_imports_its_own_packages_relatively():
    """Absolute ``s2v_plugin`` imports would pick up an installed copy, or none at all in a
    plugin unzipped into QGIS."""
    files = list(python_files(*PLUGIN_CODE)) + [ROOT / "__init__.py"]
    assert offenders(files, {"s2v_plugin", "processing_provider", "speckle2void"}) == []


def test_the_engine_is_imported_from_this_checkout():
    import s2v_plugin

    assert Path(s2v_plugin.__file__).resolve().parent == ROOT / "s2v_plugin"


def test_package_version_matches_the_plugin_metadata():
    import configparser

    import s2v_plugin

    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    assert s2v_plugin.__version__ == metadata["general"]["version"]


def test_no_source_edits_sys_path():
    files = python_files(
        "s2v_plugin", "processing_provider", "training", "bench", "scripts", "tests"
    )
    edits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ("sys.path.insert" in line or "sys.path[:0]" in line or "sys.path.append" in line)
        and path != Path(__file__)
    ]
    assert edits == []


GDAL_STATE = """
from osgeo import gdal
gdal.DontUseExceptions()
import numpy as np
import s2v_plugin.classic, s2v_plugin.decorrelate, s2v_plugin.despeckle, s2v_plugin.evaluate
import s2v_plugin.io.blocks, s2v_plugin.report.images
assert not gdal.GetUseExceptions(), "importing the engine turned GDAL exceptions on"
from s2v_plugin.classic import classic_filter_raster
from s2v_plugin.core.errors import InputError
folder = __import__("sys").argv[1]
dataset = gdal.GetDriverByName("GTiff").Create(folder + "/in.tif", 40, 30, 1, gdal.GDT_Float32)
dataset.GetRasterBand(1).WriteArray(np.random.default_rng(0).gamma(1.0, 1.0, (30, 40)))
dataset = None
classic_filter_raster(folder + "/in.tif", folder + "/out.tif", "lee", domain="intensity")
assert not gdal.GetUseExceptions(), "a run left GDAL exceptions on"
try:
    classic_filter_raster(folder + "/missing.tif", folder + "/o.tif", "lee", domain="intensity")
except InputError as exc:
    assert "Cannot open raster" in str(exc), exc
else:
    raise AssertionError("a missing raster was accepted")
assert not gdal.GetUseExceptions(), "a failed run left GDAL exceptions on"
print("ok")
"""


def test_gdal_exceptions_are_enabled_only_inside_engine_calls(tmp_path):
    require("osgeo.gdal")
    done = subprocess.run(
        [sys.executable, "-c", GDAL_STATE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr
