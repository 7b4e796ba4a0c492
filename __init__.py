"""Speckle2Void QGIS plugin entry point: QGIS calls :func:`classFactory`; the rest is lazy."""


def classFactory(iface):  # noqa: N802 (name required by QGIS)
    """Create the plugin object for QGIS (desktop, qgis_process or the Python console)."""
    from .s2v_plugin.plugin import Speckle2VoidPlugin

    return Speckle2VoidPlugin(iface)
