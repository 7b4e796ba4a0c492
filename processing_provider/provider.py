"""The "Speckle2Void" Processing provider."""

from __future__ import annotations

import importlib

from qgis.core import QgsProcessingProvider

from .common import plugin_icon

# (module in this package, algorithm class): one algorithm per module.
ALGORITHMS = (("despeckle_algorithm", "DespeckleAlgorithm"),)


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
        for module_name, class_name in ALGORITHMS:
            module = importlib.import_module(f"{__package__}.{module_name}")
            self.addAlgorithm(getattr(module, class_name)())
