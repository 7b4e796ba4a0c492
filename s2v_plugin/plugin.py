"""The QGIS plugin object: registers the Processing provider, nothing else."""

from __future__ import annotations

from qgis.core import QgsApplication


class Speckle2VoidPlugin:
    """Registers the Speckle2Void Processing provider in desktop QGIS and in qgis_process."""

    def __init__(self, iface) -> None:
        self.iface = iface
        # A reference must be kept: QGIS does not own Python providers, and a collected
        # provider makes its algorithms vanish from the toolbox.
        self.provider = None

    def initProcessing(self) -> None:  # noqa: N802 (QGIS API)
        """Called by QGIS (desktop and qgis_process) to register Processing providers."""
        from ..processing_provider.provider import Speckle2VoidProvider

        if self.provider is None:
            self.provider = Speckle2VoidProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802 (QGIS API)
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
