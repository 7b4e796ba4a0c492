"""The "Speckle2Void" Processing provider."""

from __future__ import annotations

import importlib

from qgis.core import QgsMessageLog, QgsProcessingProvider

from .common import plugin_icon
from .qgis_compat import MESSAGE_CRITICAL

# (module in this package, algorithm class): one algorithm per module.
ALGORITHMS = (
    ("despeckle_algorithm", "DespeckleAlgorithm"),
    ("decorrelate_algorithm", "DecorrelateAlgorithm"),
    ("classic_filter_algorithm", "ClassicFilterAlgorithm"),
    ("evaluate_algorithm", "EvaluateAlgorithm"),
    ("sentinel1_algorithm", "Sentinel1Algorithm"),
)


class Speckle2VoidProvider(QgsProcessingProvider):
    """Provider ``speckle2void``: despeckling, decorrelation, evaluation and classic filters."""

    def id(self) -> str:
        return "speckle2void"

    def name(self) -> str:
        return "Speckle2Void"

    def longName(self) -> str:  # noqa: N802
        return "Speckle2Void: self-supervised SAR despeckling"

    def icon(self):
        return plugin_icon()

    def loadAlgorithms(self) -> None:  # noqa: N802
        # An exception escaping this virtual method aborts QGIS (3.22): log and skip instead.
        for module_name, class_name in ALGORITHMS:
            try:
                module = importlib.import_module(f"{__package__}.{module_name}")
                algorithm = getattr(module, class_name)()
            except Exception as exc:  # noqa: BLE001
                QgsMessageLog.logMessage(
                    f"Cannot load {module_name}.{class_name}: {exc!r}",
                    "Speckle2Void",
                    MESSAGE_CRITICAL,
                )
                continue
            self.addAlgorithm(algorithm)
