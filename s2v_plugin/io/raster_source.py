"""Windowed reading of one band (real or complex) of a GDAL raster, or of an in-memory array
behind the same interface."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from ..core.errors import InputError
from .gdal_context import gdal_exceptions
from .georeferencing import Georeferencing

COMPLEX_TYPES = (gdal.GDT_CInt16, gdal.GDT_CInt32, gdal.GDT_CFloat32, gdal.GDT_CFloat64)


@dataclass(frozen=True)
class BandInfo:
    """Static facts about the band being read."""

    width: int
    height: int
    data_type: str
    is_complex: bool
    nodata: float | None
    block_size: tuple[int, int]


class RasterSource:
    """A GDAL raster opened read-only, reading windows of one band.

    Parameters
    ----------
    path : str
        Any raster GDAL can open.
    band : int
        1-based band number.

    Raises
    ------
    InputError
        When the file cannot be opened or the band does not exist.
    """

    @gdal_exceptions()
    def __init__(self, path: str, band: int = 1) -> None:
        try:
            self._dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
        except RuntimeError as exc:
            raise InputError(f"Cannot open raster '{path}': {exc}") from exc
        if self._dataset is None:
            raise InputError(f"Cannot open raster '{path}'.")
        count = self._dataset.RasterCount
        if not 1 <= band <= count:
            raise InputError(
                f"Band {band} does not exist: '{path}' has {count} band(s); choose 1 to {count}."
            )
        self.path = str(path)
        self.band_number = band  # read by the input description (io/input_description.py)
        self._band = self._dataset.GetRasterBand(band)
        data_type = self._band.DataType
        self.info = BandInfo(
            width=self._dataset.RasterXSize,
            height=self._dataset.RasterYSize,
            data_type=gdal.GetDataTypeName(data_type),
            is_complex=data_type in COMPLEX_TYPES,
            nodata=self._band.GetNoDataValue(),
            block_size=tuple(self._band.GetBlockSize()),
        )

    @property
    def dataset(self) -> gdal.Dataset:
        return self._dataset

    @gdal_exceptions()
    def georeferencing(self) -> Georeferencing:
        """CRS, geotransform and GCPs of the raster."""
        return Georeferencing.from_dataset(self._dataset)

    @gdal_exceptions()
    def metadata(self) -> dict:
        """The dataset's default-domain metadata."""
        return dict(self._dataset.GetMetadata() or {})

    @gdal_exceptions()
    def read(self, row: int, col: int, rows: int, cols: int) -> np.ndarray:
        """Read a window as complex64 (complex bands) or float32 (real bands).

        Nodata pixels are returned as NaN (NaN + NaN j for complex bands).
        """
        try:
            data = self._band.ReadAsArray(col, row, cols, rows)
        except RuntimeError as exc:
            raise InputError(
                f"Cannot read pixels {col},{row} +{cols}x{rows} of '{self.path}': {exc}"
            ) from exc
        if data is None:
            raise InputError(f"Cannot read pixels {col},{row} +{cols}x{rows} of '{self.path}'.")
        out = data.astype(np.complex64 if self.info.is_complex else np.float32, copy=False)
        nodata = self.info.nodata
        if nodata is not None and not np.isnan(nodata):
            # GDAL applies a complex band's nodata value to the real part
            mask = (data.real if self.info.is_complex else data) == nodata
            if mask.any():
                out = out.copy() if out is data else out
                out[mask] = np.nan
        return out

    def read_indices(self, row_indices: np.ndarray, col_indices: np.ndarray) -> np.ndarray:
        """Read the pixels at the outer product of index vectors (used for mirrored windows)."""
        r0, r1 = int(row_indices.min()), int(row_indices.max()) + 1
        c0, c1 = int(col_indices.min()), int(col_indices.max()) + 1
        block = self.read(r0, c0, r1 - r0, c1 - c0)
        return block[np.ix_(row_indices - r0, col_indices - c0)]

    def close(self) -> None:
        self._band = None
        self._dataset = None

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ArraySource:
    """An in-memory 2-D array behind the reading interface of :class:`RasterSource`."""

    def __init__(self, array: np.ndarray) -> None:
        if array.ndim != 2:
            raise InputError(f"Expected a 2-D image, got an array of shape {array.shape}.")
        self._array = array
        self.info = BandInfo(
            width=array.shape[1],
            height=array.shape[0],
            data_type=str(array.dtype),
            is_complex=np.iscomplexobj(array),
            nodata=None,
            block_size=(array.shape[1], array.shape[0]),
        )

    def read(self, row: int, col: int, rows: int, cols: int) -> np.ndarray:
        return self._array[row : row + rows, col : col + cols]

    def read_indices(self, row_indices: np.ndarray, col_indices: np.ndarray) -> np.ndarray:
        return self._array[np.ix_(row_indices, col_indices)]
