"""QGIS 4 (Qt6) readiness: the tree uses no PyQt5-only, removed or deprecated API.

The rules follow the QGIS project's own migration aids: the wiki page "Plugin migration to be
compatible with Qt5 and Qt6" and the ``scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py`` script of the
QGIS repository (imports through ``qgis.PyQt``, no ``QVariant`` types, scoped enums, ``exec()``,
no ``QRegExp``/``qApp``/``QDesktopWidget``/compiled resources, renamed Qt enums), plus the
Processing and geometry enums that QGIS 3.30 and 3.36 moved into ``Qgis``. The old spellings are
allowed only in ``processing_provider/qgis_compat.py``, which picks them on old QGIS versions.

What cannot be checked here: no Debian suite builds QGIS on Qt6, so the plugin has never been
loaded in a Qt6 QGIS; the scoped-enum rule is checked by introspection of the Qt5 build instead.
"""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path

import pytest
from conftest import ROOT, require

COMPAT = ROOT / "processing_provider" / "qgis_compat.py"
SKIP_DIRS = {".venv", ".git", "build", "dist", "__pycache__", "runs", "demo_output"}

# Removed in Qt6 (names that must not appear as identifiers).
REMOVED_NAMES = {
    "QRegExp": "QRegExp is removed in Qt6: use QRegularExpression",
    "qApp": "qApp is removed in Qt6: use QApplication.instance()",
    "QDesktopWidget": "QDesktopWidget is removed in Qt6: use QScreen",
    "resources_rc": "compiled resources are removed in Qt6: load icons by file path",
    "exec_": "exec_() is removed in PyQt6: use exec()",
}
# Qt enum members renamed or removed in Qt6 (pyqt5_to_pyqt6.py, deprecated_renamed_enums).
REMOVED_ENUMS = {
    ("Qt", "MidButton"): "Qt.MouseButton.MiddleButton",
    ("Qt", "TextColorRole"): "Qt.ItemDataRole.ForegroundRole",
    ("Qt", "BackgroundColorRole"): "Qt.ItemDataRole.BackgroundRole",
    ("QPainter", "HighQualityAntialiasing"): "QPainter.RenderHint.Antialiasing",
}
# Enums that QGIS moved into Qgis (3.30: WkbType; 3.36: Processing): class -> replacement.
MOVED_QGIS_ENUMS = {
    "QgsWkbTypes": "Qgis.WkbType (qgis_compat.WKB_*)",
    "QgsProcessing": "Qgis.ProcessingSourceType (qgis_compat.SOURCE_*)",
    "QgsProcessingParameterNumber": "Qgis.ProcessingNumberParameterType (qgis_compat.NUMBER_*)",
    "QgsProcessingParameterDefinition": "Qgis.ProcessingParameterFlag (qgis_compat.FLAG_*)",
    "QgsProcessingAlgorithm": "Qgis.ProcessingAlgorithmFlag",
    "QgsProcessingParameterFile": "Qgis.ProcessingFileParameterBehavior",
    "QgsProcessingParameterField": "Qgis.ProcessingFieldParameterDataType",
    "QgsProcessingParameterDateTime": "Qgis.ProcessingDateTimeParameterDataType",
    "QgsProcessingContext": "Qgis.ProcessingLogLevel",
    "QgsProcessingFeatureSource": "Qgis.ProcessingFeatureSourceFlag",
    "QgsProcessingOutputLayerDefinition": "Qgis.ProcessingOutputLayerDefinition",
}
# Nested classes of those classes that are not enums.
NOT_ENUMS = {("QgsProcessingContext", "LayerDetails")}


def _is_moved_member(owner: str, member: str) -> bool:
    """Enum types and members are CamelCase; methods (``QgsWkbTypes.geometryType``) start lower
    case and constants (``QgsProcessing.TEMPORARY_OUTPUT``) are upper case."""
    return member[0].isupper() and not member.isupper() and (owner, member) not in NOT_ENUMS


def python_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts)
    )


def imported_names(tree: ast.AST) -> dict[str, tuple[str, str]]:
    """Local name -> (module, attribute) for ``from qgis... import X`` statements."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qgis"):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def static_problems(source: str, filename: str = "<source>", compat: bool = False) -> list[str]:
    """Problems found without QGIS: PyQt5 imports, removed names, QVariant types, moved enums."""
    tree = ast.parse(source, filename)
    problems = []

    def report(node, message):
        problems.append(f"{filename}:{node.lineno}: {message}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "PyQt5":
                    report(node, f"import {alias.name}: import from qgis.PyQt instead")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] == "PyQt5":
                report(node, f"from {module}: import from qgis.PyQt instead")
            if module == "qgis.PyQt.Qt":
                report(node, "qgis.PyQt.Qt is gone in Qt6: import Qt from qgis.PyQt.QtCore")
            for alias in node.names:
                if alias.name in REMOVED_NAMES:
                    report(node, REMOVED_NAMES[alias.name])
        elif isinstance(node, ast.Name) and node.id in REMOVED_NAMES:
            report(node, REMOVED_NAMES[node.id])
        elif isinstance(node, ast.FunctionDef) and node.name in REMOVED_NAMES:
            report(node, REMOVED_NAMES[node.name])
        elif isinstance(node, ast.Attribute):
            if node.attr in REMOVED_NAMES:
                report(node, REMOVED_NAMES[node.attr])
            if isinstance(node.value, ast.Name):
                owner, member = node.value.id, node.attr
                if (owner, member) in REMOVED_ENUMS:
                    report(node, f"{owner}.{member}: use {REMOVED_ENUMS[(owner, member)]}")
                if compat:  # the one place that names the old spellings, for old QGIS
                    continue
                if owner == "QVariant":
                    report(node, f"QVariant.{member}: PyQt6 has no QVariant types; use qgis_compat")
                elif owner in MOVED_QGIS_ENUMS and _is_moved_member(owner, member):
                    report(node, f"{owner}.{member}: deprecated, use {MOVED_QGIS_ENUMS[owner]}")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            if node.value.attr == "activated" and getattr(node.slice, "id", "") == "str":
                report(node, "activated[str] is removed in Qt6: use textActivated")
    return problems


def _is_enum_member(value) -> bool:
    kind = type(value)
    return isinstance(value, enum.Enum) or type(kind).__name__ == "enumtype"  # sip (PyQt5)


def unscoped_enum_problems(source: str, filename: str = "<source>") -> list[str]:
    """``Class.Member`` where Member is an enum value: PyQt6 needs ``Class.Enum.Member``.

    Found by looking the names up in the running QGIS (Qt5), as pyqt5_to_pyqt6.py does.
    """
    tree = ast.parse(source, filename)
    imports = imported_names(tree)
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if node.value.id not in imports:
            continue
        module, name = imports[node.value.id]
        try:
            owner = getattr(importlib.import_module(module), name)
            value = getattr(owner, node.attr)
        except (ImportError, AttributeError):
            continue
        if isinstance(owner, type) and _is_enum_member(value):
            scope = type(value).__name__
            problems.append(
                f"{filename}:{node.lineno}: {node.value.id}.{node.attr} is an unscoped enum "
                f"member; PyQt6 needs {node.value.id}.{scope}.{node.attr}"
            )
    return problems


# --- the scanners catch what they are meant to catch -------------------------------------------

BAD_STATIC = {
    "from PyQt5.QtCore import QTimer": "qgis.PyQt",
    "import PyQt5.QtGui": "qgis.PyQt",
    "from qgis.PyQt.QtCore import QRegExp": "QRegularExpression",
    "dialog.exec_()": "exec()",
    "from qgis.PyQt.QtCore import QVariant\nf = QgsField('a', QVariant.String)": "QVariant",
    "t = QVariant.Type.Double": "QVariant",
    "x = QgsProcessingParameterNumber.Double": "ProcessingNumberParameterType",
    "f = QgsProcessingParameterDefinition.FlagAdvanced": "ProcessingParameterFlag",
    "s = [QgsProcessing.TypeVectorPolygon]": "ProcessingSourceType",
    "w = QgsWkbTypes.Polygon": "Qgis.WkbType",
    "b = Qt.MidButton": "MiddleButton",
    "from . import resources_rc": "file path",
    "app = qApp": "QApplication.instance()",
    "combo.activated[str].connect(f)": "textActivated",
}


@pytest.mark.parametrize("source", sorted(BAD_STATIC))
def test_static_scan_catches_each_removed_or_deprecated_spelling(source):
    problems = static_problems(source)
    assert len(problems) >= 1 and BAD_STATIC[source] in problems[0], problems


def test_static_scan_accepts_the_portable_spellings():
    source = (
        "from qgis.PyQt.QtCore import QRegularExpression, Qt\n"
        "from qgis.core import Qgis, QgsWkbTypes\n"
        "dialog.exec()\n"
        "t = Qgis.ProcessingNumberParameterType.Double\n"
        "g = QgsWkbTypes.geometryType(w)\n"
        "o = QgsProcessing.TEMPORARY_OUTPUT\n"
        "a = Qt.AlignmentFlag.AlignLeft\n"
    )
    assert static_problems(source) == []


def test_unscoped_enum_scan_catches_unscoped_members_and_accepts_scoped_ones():
    require("qgis.core")
    bad = (
        "from qgis.core import Qgis, QgsFeatureSink\n"
        "from qgis.PyQt.QtCore import Qt\n"
        "level = Qgis.Critical\n"
        "flag = QgsFeatureSink.FastInsert\n"
        "align = Qt.AlignLeft\n"
    )
    problems = unscoped_enum_problems(bad)
    assert len(problems) == 3, problems
    assert "Qgis.MessageLevel.Critical" in problems[0], problems
    good = bad.replace("Qgis.Critical", "Qgis.MessageLevel.Critical")
    good = good.replace("QgsFeatureSink.FastInsert", "QgsFeatureSink.Flag.FastInsert")
    good = good.replace("Qt.AlignLeft", "Qt.AlignmentFlag.AlignLeft")
    assert unscoped_enum_problems(good) == []


# --- the tree --------------------------------------------------------------------------------


def test_tree_has_no_pyqt5_only_removed_or_deprecated_api():
    problems = []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        problems += static_problems(source, str(path.relative_to(ROOT)), compat=path == COMPAT)
    assert problems == [], "\n".join(problems)


def test_tree_uses_only_scoped_enum_members():
    require("qgis.core")
    problems = []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        problems += unscoped_enum_problems(source, str(path.relative_to(ROOT)))
    assert problems == [], "\n".join(problems)


def test_metadata_declares_qt6_support_only_with_a_clean_scan():
    metadata = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    lines = dict(
        line.split("=", 1) for line in metadata.splitlines() if "=" in line and line[0] != " "
    )
    assert lines.get("supportsQt6", "").strip().lower() in {"true", "yes"}
    assert lines.get("qgisMaximumVersion", "").strip() == "4.99"
    assert lines["qgisMinimumVersion"].strip() == "3.22"
