"""GDAL exceptions for the engine's own calls, without changing GDAL's state for anyone else.

QGIS and its other plugins share one GDAL in one process. :func:`gdal_exceptions` turns GDAL
errors into ``RuntimeError`` for the duration of a block (or a decorated function) and puts the
previous setting back afterwards, instead of ``gdal.UseExceptions()`` at import time.
"""

from __future__ import annotations

from contextlib import contextmanager

from osgeo import gdal


@contextmanager
def gdal_exceptions():
    """Enable GDAL exceptions inside the block; restore the previous setting on exit.

    Usable as a context manager or as a decorator. Nesting is safe: the outermost block
    restores what it found.
    """
    previous = bool(gdal.GetUseExceptions())
    if not previous:
        gdal.UseExceptions()
    try:
        yield
    finally:
        if not previous:
            gdal.DontUseExceptions()
