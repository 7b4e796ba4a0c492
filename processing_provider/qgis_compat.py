"""QGIS enums and field types under one spelling for QGIS 3.22 through 4.x (Qt5 and Qt6).

QGIS renamed several enums the plugin uses, and Qt6 removed others:

- 3.30 moved the geometry types to ``Qgis.WkbType`` (``QgsWkbTypes.Type`` is deprecated);
- 3.36 moved the Processing enums into ``Qgis`` (``Qgis.ProcessingNumberParameterType``,
  ``Qgis.ProcessingParameterFlag``, ``Qgis.ProcessingSourceType``); the old class-level spellings
  are deprecated;
- 3.38 lets ``QgsField`` take a ``QMetaType.Type``; QGIS 4 (PyQt6) has no ``QVariant.Type``;
- PyQt6 accepts only scoped enum members (``Qgis.MessageLevel.Critical``, not ``Qgis.Critical``).

Every other module of the plugin takes these names from here, so the newest spelling is used where
it exists and the old one only on the QGIS versions that lack it (``tests/test_qt6_readiness.py``
scans the tree for the old spellings).
"""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

QGIS_VERSION_INT: int = Qgis.QGIS_VERSION_INT

if hasattr(Qgis, "ProcessingNumberParameterType"):  # QGIS >= 3.36
    NUMBER_DOUBLE = Qgis.ProcessingNumberParameterType.Double
    NUMBER_INTEGER = Qgis.ProcessingNumberParameterType.Integer
    FLAG_ADVANCED = Qgis.ProcessingParameterFlag.Advanced
    SOURCE_VECTOR_POLYGON = Qgis.ProcessingSourceType.VectorPolygon
else:
    NUMBER_DOUBLE = QgsProcessingParameterNumber.Type.Double
    NUMBER_INTEGER = QgsProcessingParameterNumber.Type.Integer
    FLAG_ADVANCED = QgsProcessingParameterDefinition.Flag.FlagAdvanced
    SOURCE_VECTOR_POLYGON = QgsProcessing.SourceType.TypeVectorPolygon

if hasattr(Qgis, "WkbType"):  # QGIS >= 3.30
    WKB_POLYGON = Qgis.WkbType.Polygon
else:
    WKB_POLYGON = QgsWkbTypes.Type.Polygon

FAST_INSERT = QgsFeatureSink.Flag.FastInsert
MESSAGE_INFO = Qgis.MessageLevel.Info
MESSAGE_WARNING = Qgis.MessageLevel.Warning
MESSAGE_CRITICAL = Qgis.MessageLevel.Critical

if QGIS_VERSION_INT >= 33800:  # QgsField(name, QMetaType.Type); the only form on Qt6
    from qgis.PyQt.QtCore import QMetaType

    FIELD_STRING = QMetaType.Type.QString
    FIELD_DOUBLE = QMetaType.Type.Double
    FIELD_BOOL = QMetaType.Type.Bool
else:
    from qgis.PyQt.QtCore import QVariant

    FIELD_STRING = QVariant.Type.String
    FIELD_DOUBLE = QVariant.Type.Double
    FIELD_BOOL = QVariant.Type.Bool
