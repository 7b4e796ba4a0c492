"""QGIS Processing provider and thin algorithm classes over the s2v_plugin engine."""
