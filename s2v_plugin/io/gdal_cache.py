"""GDAL's block cache, limited for the duration of a run."""

from __future__ import annotations

from contextlib import contextmanager

from osgeo import gdal


@contextmanager
def gdal_cache_limit(megabytes: int):
    """Limit GDAL's block cache to ``megabytes`` inside the block, then restore it.

    GDAL's default cache is 5 % of the RAM (1.2 GB on a 24 GB machine): the blocks a tiled
    run reads and writes would fill it and count in the process's peak memory. The tiles are
    read once and the outputs are written block by block, so a small cache costs no speed.
    Only lowers the cache: a smaller limit set by the user stays.
    """
    previous = gdal.GetCacheMax()
    limit = min(previous, int(megabytes) << 20)
    gdal.SetCacheMax(limit)
    try:
        yield limit
    finally:
        gdal.SetCacheMax(previous)
