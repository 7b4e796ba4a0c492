"""Streaming, all-or-nothing raster output.

Pixels are written window by window into a hidden temporary GeoTIFF beside the destination;
:meth:`RasterWriter.commit` moves it into place (converting to another GDAL format if the
destination's extension asks for one) and :meth:`RasterWriter.abort` deletes it. A failed or
cancelled run therefore never leaves a half-written file under the user's name.
"""

from __future__ import annotations

import glob
import os
import re
import uuid
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..core.errors import OutputError
from .gdal_context import gdal_exceptions
from .georeferencing import Georeferencing

BLOCK_SIZE = 256
GTIFF_OPTIONS = (
    "TILED=YES",
    f"BLOCKXSIZE={BLOCK_SIZE}",
    f"BLOCKYSIZE={BLOCK_SIZE}",
    "COMPRESS=DEFLATE",
    "PREDICTOR=3",
    "ZLEVEL=1",  # float speckle barely compresses better at higher levels, at 3x the time
    "BIGTIFF=IF_SAFER",
    "NUM_THREADS=ALL_CPUS",
)
_GDAL_TYPES = {
    np.dtype(np.float32): gdal.GDT_Float32,
    np.dtype(np.float64): gdal.GDT_Float64,
    np.dtype(np.complex64): gdal.GDT_CFloat32,
    np.dtype(np.uint8): gdal.GDT_Byte,
}


@gdal_exceptions()
def driver_for_path(path: str) -> str:
    """GDAL driver short name for a destination path, from its extension (GTiff by default)."""
    extension = Path(path).suffix.lower().lstrip(".")
    if extension in ("", "tif", "tiff"):
        return "GTiff"
    for index in range(gdal.GetDriverCount()):
        driver = gdal.GetDriver(index)
        metadata = driver.GetMetadata() or {}
        if metadata.get(gdal.DCAP_RASTER) != "YES":
            continue
        if extension in (metadata.get(gdal.DMD_EXTENSIONS) or "").lower().split():
            if (
                metadata.get(gdal.DCAP_CREATECOPY) == "YES"
                or metadata.get(gdal.DCAP_CREATE) == "YES"
            ):
                return driver.ShortName
    raise OutputError(
        f"No GDAL driver can write '.{extension}' files; save the output as GeoTIFF (.tif)."
    )


def check_writable(path: str) -> None:
    """Raise :class:`OutputError` unless a file can be created at ``path``."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise OutputError(f"Cannot write '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK):
        raise OutputError(
            f"Cannot write '{path}': the folder '{folder}' is not writable; "
            "choose another location."
        )
    if Path(path).is_dir():
        raise OutputError(f"Cannot write '{path}': it is a folder; give a file name.")
    driver_for_path(path)


PARTIAL_SUFFIX = ".partial.tif"


_TOKEN = re.compile(r"(?:(?P<pid>[0-9]+)-)?[0-9a-f]{8}")


def partial_path(path: str) -> str:
    """A fresh hidden temporary name beside ``path``: ``.NAME.PID-RANDOM.partial.tif``."""
    destination = Path(path)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return str(destination.with_name(f".{destination.stem}.{token}{PARTIAL_SUFFIX}"))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_partials(path: str) -> list[str]:
    """Remove the temporary files that killed runs (SIGKILL, out of memory, power loss) left
    beside ``path``; returns the removed paths.

    A partial file is stale when the process named in it no longer runs on this machine, or
    when its name carries no process id (older versions). Partials of runs still alive, in
    this process (QGIS runs algorithms in threads) or another, are kept.
    """
    destination = Path(path)
    removed = []
    for candidate in destination.parent.glob(f".{glob.escape(destination.stem)}.*{PARTIAL_SUFFIX}"):
        token = candidate.name[len(destination.stem) + 2 : -len(PARTIAL_SUFFIX)]
        match = _TOKEN.fullmatch(token)
        if match is None:  # another output's partial ("NAME.other.tif"), not ours
            continue
        if match["pid"] is not None and _process_alive(int(match["pid"])):
            continue
        for stale in (candidate, candidate.with_name(candidate.name + ".aux.xml")):
            try:
                stale.unlink()
                removed.append(str(stale))
            except FileNotFoundError:
                pass
            except OSError:
                break  # not ours to remove (permissions): leave it
    return removed


class RasterWriter:
    """Create an output raster and write it window by window.

    Removes stale partial files of earlier killed runs of the same output first
    (:func:`remove_stale_partials`).

    Parameters
    ----------
    path : str
        Destination file; its extension picks the GDAL format (GeoTIFF when .tif or none).
        All other arguments are keyword-only.
    width, height, bands : int
        Size of the output.
    dtype : numpy dtype
        float32, float64, complex64 or uint8.
    georeferencing : Georeferencing, optional
        Copied into the output.
    nodata : float, optional
        Nodata value of every band.
    metadata : dict, optional
        Default-domain metadata items.
    band_descriptions : sequence of str, optional
        One description per band.

    Use as a context manager: the output is committed on normal exit and removed on error.
    """

    @gdal_exceptions()
    def __init__(
        self,
        path: str,
        *,
        width: int,
        height: int,
        bands: int = 1,
        dtype=np.float32,
        georeferencing: Georeferencing | None = None,
        nodata: float | None = None,
        metadata: dict | None = None,
        band_descriptions=None,
    ) -> None:
        check_writable(path)
        self.path = str(path)
        self._driver = driver_for_path(self.path)
        remove_stale_partials(self.path)
        self._temp_path = partial_path(self.path)
        try:
            gdal_type = _GDAL_TYPES[np.dtype(dtype)]
        except KeyError:
            raise OutputError(f"Unsupported output data type {dtype}.") from None
        try:
            options = list(GTIFF_OPTIONS)
            if np.dtype(dtype).kind != "f":  # GDAL's floating-point predictor is real-only
                options = [o for o in options if not o.startswith("PREDICTOR")]
            driver = gdal.GetDriverByName("GTiff")
            self._dataset = driver.Create(self._temp_path, width, height, bands, gdal_type, options)
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
        self._dtype = np.dtype(dtype)
        self.shape = (height, width)

    @gdal_exceptions()
    def write(self, array: np.ndarray, row: int, col: int, band: int = 1) -> None:
        """Write a 2-D window at (row, col); NaNs become the nodata value when one is set."""
        data = np.asarray(array, dtype=self._dtype)
        if self.nodata is not None and not np.isnan(self.nodata) and data.dtype.kind == "f":
            data = np.where(np.isnan(data), self._dtype.type(self.nodata), data)
        try:
            self._dataset.GetRasterBand(band).WriteArray(data, col, row)
        except RuntimeError as exc:
            raise OutputError(f"Cannot write to '{self.path}': {exc}") from exc

    @gdal_exceptions()
    def flush(self) -> None:
        """Write GDAL's cached blocks to disk and release them, so that memory stays bounded
        while streaming (GDAL otherwise keeps written blocks until the file is closed).
        Call it after whole output blocks are complete, or they are compressed twice."""
        self._dataset.FlushCache()

    @gdal_exceptions()
    def set_metadata_item(self, key: str, value: str) -> None:
        self._dataset.SetMetadataItem(str(key), str(value))

    @gdal_exceptions()
    def set_unit_type(self, unit: str, band: int = 1) -> None:
        """Set a band's unit (for example ``"linear intensity"``)."""
        self._dataset.GetRasterBand(band).SetUnitType(str(unit))

    @gdal_exceptions()
    def commit(self) -> str:
        """Finish the file and move it to its destination; returns the destination path."""
        try:
            self._dataset.FlushCache()
            self._dataset = None
            if self._driver == "GTiff":
                os.replace(self._temp_path, self.path)
            else:
                source = gdal.Open(self._temp_path)
                gdal.GetDriverByName(self._driver).CreateCopy(self.path, source)
                source = None
                gdal.GetDriverByName("GTiff").Delete(self._temp_path)
        except (RuntimeError, OSError) as exc:
            self.abort()
            raise OutputError(f"Cannot finish '{self.path}': {exc}") from exc
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; the destination is left untouched."""
        self._dataset = None
        for candidate in (self._temp_path, self._temp_path + ".aux.xml"):
            if os.path.exists(candidate):
                os.remove(candidate)

    def __enter__(self) -> RasterWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
