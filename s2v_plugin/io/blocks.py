"""Per-block result files and their assembly into one tiled GeoTIFF, for distributed runs.

Workers write each tile core as its own small GeoTIFF, atomically (a temporary name, then a
rename), so a retried task overwrites an identical file and a killed one leaves no file under
the block's name. :func:`assemble_blocks` then mosaics the blocks through a GDAL VRT into the
final output, streaming GDAL blocks with a small cache: no process ever holds the whole raster.
The output is written under a temporary name and renamed at the end (all-or-nothing).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..core.errors import OutputError
from ..core.tiling import Tile
from .gdal_context import gdal_exceptions
from .georeferencing import Georeferencing
from .raster_writer import (
    GTIFF_OPTIONS,
    RasterWriter,
    check_writable,
    driver_for_path,
    partial_path,
)

#: GDAL block cache while assembling: enough for a few rows of output blocks.
ASSEMBLY_CACHE_BYTES = 64 * 1024 * 1024


def block_path(folder: str, tile: Tile) -> str:
    """File of one tile core inside a block folder (named by its position)."""
    return os.path.join(folder, f"block_r{tile.row:07d}_c{tile.col:07d}.tif")


def write_block(folder: str, tile: Tile, array: np.ndarray, nodata: float | None) -> str:
    """Write one tile core atomically; writing the same block twice gives the same file.

    Returns the block's path.
    """
    path = block_path(folder, tile)
    with RasterWriter(path, width=tile.cols, height=tile.rows, nodata=nodata) as writer:
        writer.write(array, 0, 0)
    return path


def temporary_name(path: str) -> str:
    """A hidden temporary file beside ``path`` (the pattern :func:`partial_files` finds)."""
    return partial_path(path)


def partial_files(path: str) -> list[str]:
    """Temporary files left beside ``path`` by writers that were killed before cleaning up."""
    destination = Path(path)
    folder = destination.parent
    if not folder.is_dir():
        return []
    prefix = f".{destination.stem}."
    return sorted(
        str(folder / name)
        for name in os.listdir(folder)
        if name.startswith(prefix) and ".partial.tif" in name
    )


@contextmanager
def _small_cache():
    previous = gdal.GetCacheMax()
    gdal.SetCacheMax(min(previous, ASSEMBLY_CACHE_BYTES))
    try:
        yield
    finally:
        gdal.SetCacheMax(previous)


def _mosaic(
    tiles,
    folder: str,
    width: int,
    height: int,
    georeferencing: Georeferencing | None,
    nodata: float | None,
    metadata: dict,
    description: str,
    unit: str | None = None,
):
    """An in-memory VRT placing every block at its tile's position."""
    vrt = gdal.GetDriverByName("VRT").Create("", width, height, 1, gdal.GDT_Float32)
    if georeferencing is not None:
        georeferencing.apply(vrt)
    vrt.SetMetadata({str(k): str(v) for k, v in metadata.items()})
    band = vrt.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(float(nodata))
    band.SetDescription(description)
    if unit:
        band.SetUnitType(unit)
    for index, tile in enumerate(tiles):
        path = block_path(folder, tile)
        if not os.path.isfile(path):
            raise OutputError(f"Block {os.path.basename(path)} is missing: the run is incomplete.")
        source = (
            f"<SimpleSource><SourceFilename>{path}</SourceFilename><SourceBand>1</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{tile.cols}" ySize="{tile.rows}"/>'
            f'<DstRect xOff="{tile.col}" yOff="{tile.row}" xSize="{tile.cols}" '
            f'ySize="{tile.rows}"/></SimpleSource>'
        )
        band.SetMetadataItem(f"source_{index}", source, "new_vrt_sources")
    return vrt


@gdal_exceptions()
def assemble_blocks(
    outputs: list[tuple[str, str, str]],
    tiles,
    width: int,
    height: int,
    georeferencing: Georeferencing | None = None,
    nodata: float | None = None,
    metadata: dict | None = None,
    unit: str | None = None,
) -> list[str]:
    """Mosaic block folders into final rasters, all of them or none.

    Parameters
    ----------
    outputs : list of (destination, block folder, band description)
        One entry per output raster.
    tiles : sequence of Tile
        The plan's tiles; every one must have a block in every folder.
    width, height : int
        Size of the outputs.
    georeferencing, nodata, metadata, unit
        Copied into every output (``unit`` is the band's unit type).

    Returns
    -------
    list of str
        The destinations, written; on any error none of them is.
    """
    for destination, _, _ in outputs:
        check_writable(destination)
    options = list(GTIFF_OPTIONS)
    done: list[tuple[str, str]] = []
    try:
        with _small_cache():
            for destination, folder, description in outputs:
                vrt = _mosaic(
                    tiles,
                    folder,
                    width,
                    height,
                    georeferencing,
                    nodata,
                    metadata or {},
                    description,
                    unit,
                )
                temp = temporary_name(destination)
                done.append((temp, destination))
                gdal.Translate(temp, vrt, format="GTiff", creationOptions=options)
                vrt = None
        for temp, destination in done:
            driver = driver_for_path(destination)
            if driver == "GTiff":
                os.replace(temp, destination)
            else:
                source = gdal.Open(temp)
                gdal.GetDriverByName(driver).CreateCopy(destination, source)
                source = None
                gdal.GetDriverByName("GTiff").Delete(temp)
    except (RuntimeError, OSError) as exc:
        _remove([temp for temp, _ in done])
        raise OutputError(f"Cannot assemble '{outputs[0][0]}': {exc}") from exc
    except BaseException:
        _remove([temp for temp, _ in done])
        raise
    return [destination for destination, _, _ in outputs]


def _remove(paths) -> None:
    for path in paths:
        for candidate in (path, path + ".aux.xml"):
            if os.path.exists(candidate):
                os.remove(candidate)
