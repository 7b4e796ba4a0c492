"""Quicklooks for the report: reduce, stretch, encode as PNG (through GDAL) and as data URIs."""

from __future__ import annotations

import base64
import uuid

import numpy as np
from osgeo import gdal

from ..io.gdal_context import gdal_exceptions


def reduce(image: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Block-average ``image`` by the smallest integer factor that fits ``max_side``
    (NaN ignored); returns the reduced image and the factor."""
    image = np.asarray(image, dtype=np.float64)
    factor = max(1, int(np.ceil(max(image.shape) / max_side)))
    if factor == 1:
        return image, 1
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    valid = np.isfinite(blocks)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, blocks, 0).sum(axis=(1, 3)) / valid.sum(axis=(1, 3))
    return mean, factor


def to_db(intensity: np.ndarray) -> np.ndarray:
    """``10 log10(I)``; NaN for non-positive or missing intensities."""
    intensity = np.asarray(intensity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(intensity > 0, 10.0 * np.log10(intensity), np.nan)


def stretch_limits(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """Percentile limits of the finite values (a unit range when there are none)."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [low, high])
    return float(lo), float(hi if hi > lo else lo + 1.0)


@gdal_exceptions()
def grey_png(image: np.ndarray, low: float, high: float) -> bytes:
    """8-bit grey PNG of ``image`` linearly stretched from ``low`` to ``high``; NaN is shown
    in dark red so that nodata is visible."""
    scaled = np.clip((np.asarray(image, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    grey = np.nan_to_num(np.rint(scaled * 255.0), nan=0.0).astype(np.uint8)
    missing = ~np.isfinite(image)
    red = np.where(missing, 120, grey).astype(np.uint8)
    other = np.where(missing, 0, grey).astype(np.uint8)
    rows, cols = grey.shape
    mem = gdal.GetDriverByName("MEM").Create("", cols, rows, 3, gdal.GDT_Byte)
    for index, band in enumerate((red, other, other)):
        mem.GetRasterBand(index + 1).WriteArray(band)
    path = f"/vsimem/s2v_quicklook_{uuid.uuid4().hex}.png"
    try:
        gdal.GetDriverByName("PNG").CreateCopy(path, mem)
        handle = gdal.VSIFOpenL(path, "rb")
        try:
            gdal.VSIFSeekL(handle, 0, 2)
            size = gdal.VSIFTellL(handle)
            gdal.VSIFSeekL(handle, 0, 0)
            data = gdal.VSIFReadL(1, size, handle)
        finally:
            gdal.VSIFCloseL(handle)
    finally:
        for leftover in (path, path + ".aux.xml"):
            if gdal.VSIStatL(leftover) is not None:
                gdal.Unlink(leftover)
    return bytes(data)


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for inline embedding."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
