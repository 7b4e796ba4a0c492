"""Output writer for streamed results: complex64 (CFloat32) pixels and a bounded block cache.

:class:`~.raster_writer.RasterWriter` creates its temporary GeoTIFF with ``PREDICTOR=3``, which
GDAL refuses for complex types ("PREDICTOR=3 is only supported with Float32 or Float64"). Until
the shared writer drops the predictor for complex data, :func:`open_writer` returns a subclass
that creates the temporary file without it and otherwise behaves exactly the same (commit,
abort, all-or-nothing output).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..core.errors import OutputError
from . import raster_writer
from .georeferencing import Georeferencing

gdal.UseExceptions()


class StreamingRasterWriter(raster_writer.RasterWriter):
    """A :class:`RasterWriter` whose written blocks can be released from GDAL's block cache.

    GDAL keeps written blocks in its cache (by default 5% of the RAM) until the dataset is
    closed; calling :meth:`flush` after each strip keeps a streaming writer's memory bounded.
    """

    def flush(self) -> None:
        """Write the cached blocks to the temporary file and free them."""
        if self._dataset is not None:
            self._dataset.FlushCache()


class _ComplexRasterWriter(StreamingRasterWriter):
    """A :class:`StreamingRasterWriter` for complex64 output (no floating-point predictor)."""

    def __init__(
        self,
        path: str,
        width: int,
        height: int,
        bands: int = 1,
        georeferencing: Georeferencing | None = None,
        nodata: float | None = None,
        metadata: dict | None = None,
        band_descriptions=None,
    ) -> None:
        raster_writer.check_writable(path)
        self.path = str(path)
        self._driver = raster_writer.driver_for_path(self.path)
        destination = Path(self.path)
        self._temp_path = str(
            destination.with_name(f".{destination.stem}.{uuid.uuid4().hex[:8]}.partial.tif")
        )
        options = [o for o in raster_writer.GTIFF_OPTIONS if not o.startswith("PREDICTOR")]
        try:
            self._dataset = gdal.GetDriverByName("GTiff").Create(
                self._temp_path, width, height, bands, gdal.GDT_CFloat32, options
            )
        except RuntimeError as exc:
            raise OutputError(f"Cannot create '{self.path}': {exc}") from exc
        if georeferencing is not None:
            georeferencing.apply(self._dataset)
        if metadata:
            self._dataset.SetMetadata({str(k): str(v) for k, v in metadata.items()})
        for index in range(bands):
            band = self._dataset.GetRasterBand(index + 1)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if band_descriptions is not None:
                band.SetDescription(band_descriptions[index])
        self.nodata = nodata
        self._dtype = np.dtype(np.complex64)


def open_writer(
    path: str, width: int, height: int, dtype=np.float32, **kwargs
) -> StreamingRasterWriter:
    """A :class:`StreamingRasterWriter` for ``dtype``, complex64 included.

    Parameters
    ----------
    path, width, height, kwargs
        As for :class:`~.raster_writer.RasterWriter`.
    dtype : numpy dtype
        complex64 gives a CFloat32 raster; anything else is passed to ``RasterWriter``.
    """
    if np.dtype(dtype) == np.complex64:
        return _ComplexRasterWriter(path, width, height, **kwargs)
    return StreamingRasterWriter(path, width, height, dtype=dtype, **kwargs)
