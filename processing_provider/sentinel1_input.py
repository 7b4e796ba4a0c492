"""Sentinel-1 inputs of "Decorrelate speckle": SAFE products and TOPS measurements with their
annotation (helpers kept out of the algorithm class)."""

from __future__ import annotations

import os

from ..s2v_plugin.core.errors import InputError
from ..s2v_plugin.core.tops_deramp import SwathRamp
from ..s2v_plugin.io.sentinel1_safe import (
    annotation_beside,
    is_safe_input,
    parse_annotation,
    split_subdataset,
)

__all__ = ["decorrelate_safe", "is_safe_input", "tops_geometry"]


def decorrelate_safe(value, output, output_format, progress, is_cancelled, log) -> str:
    """Deramp, decorrelate and deburst one swath/polarisation of a SAFE product (all bursts).

    Complex output is not offered here (debursted complex data would need reramping burst by
    burst on a common grid): intensity or amplitude only.
    """
    from ..s2v_plugin.sentinel1 import despeckle_sentinel1

    if output_format == "complex":
        raise InputError(
            "A SAFE product is decorrelated burst by burst and debursted into an intensity or "
            "amplitude image: choose OUTPUT_FORMAT intensity or amplitude (or give a "
            "measurement TIFF with ANNOTATION for a complex output)."
        )
    path, swath, pol = split_subdataset(value)
    report = despeckle_sentinel1(
        path,
        output,
        swath=swath,
        polarisations=[pol] if pol else None,
        despeckle=False,
        progress=progress,
        is_cancelled=is_cancelled,
        log=log,
    )
    if output_format == "amplitude":
        _to_amplitude(output)
    return report.summary()


def _to_amplitude(path: str) -> None:
    import numpy as np
    from osgeo import gdal

    dataset = gdal.Open(path, gdal.GA_Update)
    for index in range(dataset.RasterCount):
        band = dataset.GetRasterBand(index + 1)
        band.WriteArray(np.sqrt(band.ReadAsArray()))
        band.SetDescription(band.GetDescription().replace("intensity", "amplitude"))
    dataset = None


def tops_geometry(raster_path: str, annotation: str | None, first_line: int, first_sample: int):
    """The :class:`SwathRamp` of a TOPS raster, or None for other rasters.

    The annotation is ``annotation`` or, for a measurement TIFF inside a SAFE folder, the one
    beside it. Offsets without an annotation are refused.
    """
    annotation = annotation or None
    if annotation is None and os.path.isfile(raster_path):
        annotation = annotation_beside(raster_path)
    if annotation is None:
        if first_line or first_sample:
            raise InputError(
                "FIRST_LINE/FIRST_SAMPLE locate a crop in a Sentinel-1 swath: also give the "
                "swath's annotation XML (ANNOTATION)."
            )
        return None
    if not os.path.isfile(annotation):
        raise InputError(
            f"The annotation XML '{annotation}' does not exist: give the XML from the product's "
            "annotation/ folder named like the measurement TIFF (s1?-iw?-slc-??-...xml)."
        )
    parsed = parse_annotation(annotation)
    if not parsed.is_tops:
        return None
    return SwathRamp(parsed, first_line, first_sample)
