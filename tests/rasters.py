"""Writing small real GeoTIFFs for tests."""

from __future__ import annotations

import numpy as np
from osgeo import gdal, osr

from s2v_plugin.io.gdal_context import gdal_exceptions

GEOTRANSFORM = (500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0)
GDAL_TYPES = {
    np.dtype(np.float32): gdal.GDT_Float32,
    np.dtype(np.float64): gdal.GDT_Float64,
    np.dtype(np.complex64): gdal.GDT_CFloat32,
    np.dtype(np.uint8): gdal.GDT_Byte,
}


def utm_wkt(zone: int = 32) -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32600 + zone)
    return srs.ExportToWkt()


def wgs84_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    return srs.ExportToWkt()


@gdal_exceptions()
def write_raster(
    path,
    bands,
    nodata=None,
    geotransform=GEOTRANSFORM,
    crs_wkt=None,
    gcps=None,
    gdal_type=None,
    metadata=None,
):
    """Write one array or a list of arrays (one per band) as a GeoTIFF; returns the path.

    ``gcps`` is a list of (pixel, line, x, y); ``gdal_type`` overrides the type taken from the
    arrays' dtype (for example CInt16 for integer SLCs).
    """
    bands = [bands] if isinstance(bands, np.ndarray) else list(bands)
    height, width = bands[0].shape
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), width, height, len(bands), gdal_type or GDAL_TYPES[np.dtype(bands[0].dtype)]
    )
    if metadata:
        dataset.SetMetadata(metadata)
    if gcps:
        dataset.SetGCPs([gdal.GCP(x, y, 0, px, ln) for px, ln, x, y in gcps], crs_wkt or utm_wkt())
    elif geotransform is not None:
        dataset.SetGeoTransform(geotransform)
        dataset.SetProjection(crs_wkt or utm_wkt())
    for index, array in enumerate(bands):
        band = dataset.GetRasterBand(index + 1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(array)
    dataset = None
    return str(path)


@gdal_exceptions()
def read_raster(path, band: int = 1) -> np.ndarray:
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(band).ReadAsArray()


def gamma_scene(shape=(120, 90), looks: float = 1.0, seed: int = 0) -> np.ndarray:
    """A piecewise-smooth clean intensity times Gamma(L) speckle, float32."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    clean = 1.0 + 0.5 * np.sin(rows / 9.0) + (cols > shape[1] // 2) * 2.0
    speckle = rng.gamma(looks, 1.0 / looks, size=shape)
    return (clean * speckle).astype(np.float32)
