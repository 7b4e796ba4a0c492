"""Single-look complex input: one complex band, or two real bands holding I and Q."""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from .georeferencing import Georeferencing
from .raster_source import RasterSource


class SlcSource:
    """Windowed complex64 reads of an SLC raster.

    Parameters
    ----------
    path : str
        Any raster GDAL can open.
    band : int
        1-based complex band, or the I (real part) band when ``imag_band`` is set.
    imag_band : int, optional
        1-based Q (imaginary part) band; both bands must then be real.

    Raises
    ------
    InputError
        When the file or a band cannot be opened, when a single band is real, or when the I/Q
        pair is not two different real bands. Messages say which parameter to change.
    """

    def __init__(self, path: str, band: int = 1, imag_band: int | None = None) -> None:
        self._real = RasterSource(path, band)
        self._imag = None
        self.path = str(path)
        info = self._real.info
        if imag_band is None:
            if not info.is_complex:
                raise InputError(
                    f"Band {band} of '{path}' is real ({info.data_type}), not complex: "
                    "decorrelation needs a single-look complex (SLC) image. If the real (I) and "
                    "imaginary (Q) parts are stored in two bands, set BAND to the I band and "
                    "IMAG_BAND to the Q band."
                )
        else:
            if imag_band == band:
                raise InputError(
                    f"BAND and IMAG_BAND are both {band}: choose the I band and a different Q band."
                )
            if info.is_complex:
                raise InputError(
                    f"Band {band} of '{path}' is already complex ({info.data_type}): leave "
                    "IMAG_BAND empty to use it directly."
                )
            self._imag = RasterSource(path, imag_band)
            if self._imag.info.is_complex:
                raise InputError(
                    f"IMAG_BAND {imag_band} of '{path}' is complex ({self._imag.info.data_type});"
                    " it must be the real band holding Q. Leave IMAG_BAND empty to read a "
                    "complex band."
                )
        self.width = info.width
        self.height = info.height
        self.data_type = (
            info.data_type
            if self._imag is None
            else f"{info.data_type} I + {self._imag.info.data_type} Q"
        )
        self.block_size = info.block_size  # (columns, rows) of the GDAL block
        self.has_nodata = info.nodata is not None or (
            self._imag is not None and self._imag.info.nodata is not None
        )

    def read(self, row: int, col: int, rows: int, cols: int) -> np.ndarray:
        """complex64 window; NaN (NaN + NaN j) where either part is nodata or not finite."""
        data = self._real.read(row, col, rows, cols)
        if self._imag is not None:
            imag = self._imag.read(row, col, rows, cols)
            data = (data + 1j * imag).astype(np.complex64)
        data = np.asarray(data, dtype=np.complex64)
        bad = ~np.isfinite(data)
        nodata = self._real.info.nodata
        if self._imag is None and nodata is not None and not np.isnan(nodata):
            bad |= data.real == np.float32(nodata)  # GDAL: complex nodata is on the real part
        if bad.any():
            data = data.copy()
            data[bad] = np.complex64(complex(np.nan, np.nan))
        return data

    def release_cache(self) -> None:
        """Free the GDAL block cache held for this raster (keeps streaming memory bounded)."""
        for source in (self._real, self._imag):
            if source is not None and source.dataset is not None:
                source.dataset.FlushCache()

    def georeferencing(self) -> Georeferencing:
        """CRS, geotransform and GCPs of the raster."""
        return self._real.georeferencing()

    def metadata(self) -> dict:
        """Default-domain metadata of the dataset."""
        return self._real.metadata()

    def close(self) -> None:
        self._real.close()
        if self._imag is not None:
            self._imag.close()

    def __enter__(self) -> SlcSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
