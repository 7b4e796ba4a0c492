"""Evaluation's GDAL/OGR side: reading whole bands, checking that rasters share a grid and a
CRS, and rasterising the AREAS polygons onto the raster grid."""

from __future__ import annotations

import numpy as np

from ..core import metrics
from ..core.errors import InputError
from ..core.evaluation import Area
from .gdal_context import gdal_exceptions
from .raster_source import RasterSource


def read_band(path: str, band: int, role: str) -> tuple[RasterSource, np.ndarray]:
    """Open band ``band`` of ``path`` and read it whole; errors name the ``role``."""
    try:
        source = RasterSource(path, band)
    except InputError as exc:
        raise InputError(f"{role}: {exc}") from exc
    info = source.info
    return source, source.read(0, 0, info.height, info.width)


def same_crs(a: str, b: str) -> bool:
    """Whether two WKT CRS are the same (two missing CRS are; one missing one matches)."""
    if not a or not b:
        return a == b or not (a and b)
    from osgeo import osr

    first, second = osr.SpatialReference(), osr.SpatialReference()
    first.ImportFromWkt(a)
    second.ImportFromWkt(b)
    return bool(first.IsSame(second))


def check_compatible(sources: dict[str, RasterSource]) -> None:
    """All rasters must have the same size and CRS as the first one."""
    (first_role, first), *others = sources.items()
    size = (first.info.width, first.info.height)
    crs = first.georeferencing().crs_wkt
    for role, source in others:
        other = (source.info.width, source.info.height)
        if other != size:
            raise InputError(
                f"{role} is {other[0]} x {other[1]} px but {first_role} is {size[0]} x "
                f"{size[1]} px: evaluate rasters that cover the same pixels (resample or clip "
                "them to the same grid first)."
            )
        if not same_crs(crs, source.georeferencing().crs_wkt):
            raise InputError(
                f"{role} and {first_role} have different CRS: reproject one onto the other's "
                "grid first (Warp (reproject) in the Raster menu)."
            )


@gdal_exceptions()
def polygon_areas(
    polygons: list[tuple[str, str]], georeferencing, width: int, height: int
) -> list[Area]:
    """Rasterise polygons (name, WKT in the raster's CRS) onto the raster grid.

    Raises
    ------
    InputError
        When the raster has no geotransform or a polygon lies outside the raster.
    """
    from osgeo import gdal, ogr

    transform = georeferencing.geotransform
    if transform is None:
        raise InputError(
            "AREAS needs a raster with a geotransform (map coordinates); this raster has none. "
            "Leave AREAS empty to find homogeneous windows automatically."
        )
    inverse = gdal.InvGeoTransform(transform)
    areas = []
    for name, wkt in polygons:
        geometry = ogr.CreateGeometryFromWkt(wkt)
        if geometry is None or geometry.IsEmpty():
            raise InputError(f"Area '{name}' has no geometry.")
        x0, x1, y0, y1 = geometry.GetEnvelope()
        corners = [gdal.ApplyGeoTransform(inverse, x, y) for x in (x0, x1) for y in (y0, y1)]
        cols = [c for c, _ in corners]
        rows = [r for _, r in corners]
        c0, c1 = max(int(np.floor(min(cols))), 0), min(int(np.ceil(max(cols))), width)
        r0, r1 = max(int(np.floor(min(rows))), 0), min(int(np.ceil(max(rows))), height)
        if c1 <= c0 or r1 <= r0:
            raise InputError(
                f"Area '{name}' lies outside the raster; draw the areas over the image "
                "(and in a CRS QGIS can transform to the raster's)."
            )
        mem = gdal.GetDriverByName("MEM").Create("", c1 - c0, r1 - r0, 1, gdal.GDT_Byte)
        x_origin, y_origin = gdal.ApplyGeoTransform(transform, c0, r0)
        mem.SetGeoTransform((x_origin, transform[1], transform[2], y_origin, *transform[4:]))
        vector = ogr.GetDriverByName("Memory").CreateDataSource("")
        layer = vector.CreateLayer("area")
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
        gdal.RasterizeLayer(mem, [1], layer, burn_values=[1])
        mask = mem.GetRasterBand(1).ReadAsArray().astype(bool)
        if not mask.any():
            raise InputError(
                f"Area '{name}' covers no pixel centre of the raster; draw it larger or over "
                "the image."
            )
        areas.append(Area(name, metrics.Window(r0, c0, r1 - r0, c1 - c0), mask))
    return areas
