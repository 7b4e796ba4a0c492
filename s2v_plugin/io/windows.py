"""Reading a tile's mirrored window and cutting its core back out.

The glue between a :class:`~s2v_plugin.core.tiling.TilePlan` and a
:class:`~s2v_plugin.io.raster_source.RasterSource`.
"""

from __future__ import annotations

import numpy as np

from ..core.tiling import Tile, TilePlan, reflect_indices
from .raster_source import RasterSource


def read_window(source: RasterSource, plan: TilePlan, tile: Tile) -> np.ndarray:
    """The tile's full window (``plan.window_rows`` x ``plan.window_cols``), mirrored at the
    raster edges exactly as an untiled run would see it."""
    inside_rows = 0 <= tile.win_row and tile.win_row + plan.window_rows <= plan.height
    inside_cols = 0 <= tile.win_col and tile.win_col + plan.window_cols <= plan.width
    if inside_rows and inside_cols:
        return source.read(tile.win_row, tile.win_col, plan.window_rows, plan.window_cols)
    rows = reflect_indices(tile.win_row, plan.window_rows, plan.height)
    cols = reflect_indices(tile.win_col, plan.window_cols, plan.width)
    return source.read_indices(rows, cols)


def core_of(window_result: np.ndarray, tile: Tile) -> np.ndarray:
    """Cut the tile's core (clipped to the raster) out of a result computed on its window.

    Works on 2-D arrays and on arrays with leading axes (for example ``[C, H, W]``).
    """
    r, c = tile.core_offset
    return window_result[..., r : r + tile.rows, c : c + tile.cols]
