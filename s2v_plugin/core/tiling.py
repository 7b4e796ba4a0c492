"""Tile plans: integer maths that split a raster into overlapping windows.

A plan covers the raster with non-overlapping *cores*; each core is processed inside a larger
*window* that adds a halo at least as wide as the model's receptive field. Windows that cross
the raster edge are completed by mirror reflection of the raster (never of the tile), and window
origins lie on a global grid of ``size_multiple`` pixels. Together these make the output at every
pixel independent of the tile size: a tiled run equals an untiled one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class Tile:
    """One core (written to the output) and the window (fed to the model) around it.

    ``row``/``col`` and ``rows``/``cols`` give the core in raster pixels, clipped to the raster.
    ``win_row``/``win_col`` is the window origin in raster pixels (negative when it starts
    above or left of the raster); the window size is the plan's ``window_rows``/``window_cols``.
    """

    row: int
    col: int
    rows: int
    cols: int
    win_row: int
    win_col: int

    @property
    def core_offset(self) -> tuple[int, int]:
        """Position of the core inside the window, as (row, col)."""
        return self.row - self.win_row, self.col - self.win_col


@dataclass(frozen=True)
class TilePlan:
    """A complete tiling of a ``height`` x ``width`` raster; see :func:`plan_tiles`."""

    height: int
    width: int
    core_rows: int
    core_cols: int
    halo: int
    tiles: tuple[Tile, ...]

    @property
    def window_rows(self) -> int:
        return self.core_rows + 2 * self.halo

    @property
    def window_cols(self) -> int:
        return self.core_cols + 2 * self.halo


def plan_tiles(
    height: int, width: int, tile_size: int, halo: int, size_multiple: int = 1
) -> TilePlan:
    """Split a raster into tiles whose windows carry a halo of at least ``halo`` pixels.

    Parameters
    ----------
    height, width : int
        Raster size in pixels (rows, columns).
    tile_size : int
        Requested core size; rounded up to ``size_multiple`` and shrunk to the raster when the
        raster is smaller.
    halo : int
        Minimum context on every side of a core (the model's receptive-field radius).
    size_multiple : int
        Window sizes and origins are multiples of this (U-Net style models need it).

    Returns
    -------
    TilePlan
        Tiles in row-major order; every raster pixel lies in exactly one core.
    """
    if height < 1 or width < 1:
        raise InputError(f"The raster is empty ({width} x {height} pixels).")
    if tile_size < 1:
        raise InputError(f"The tile size must be a positive number of pixels, not {tile_size}.")
    if halo < 0 or size_multiple < 1:
        raise InputError("The halo must be >= 0 and the size multiple >= 1.")
    step = _round_up(tile_size, size_multiple)
    halo = _round_up(halo, size_multiple)
    core_rows = min(step, _round_up(height, size_multiple))
    core_cols = min(step, _round_up(width, size_multiple))
    tiles = tuple(
        Tile(
            row=r,
            col=c,
            rows=min(core_rows, height - r),
            cols=min(core_cols, width - c),
            win_row=r - halo,
            win_col=c - halo,
        )
        for r in range(0, height, core_rows)
        for c in range(0, width, core_cols)
    )
    return TilePlan(height, width, core_rows, core_cols, halo, tiles)


def reflect_indices(start: int, count: int, size: int) -> np.ndarray:
    """Raster indices for ``count`` positions from ``start``, mirrored at the raster edges.

    Mirroring excludes the edge pixel itself (``[c b | a b c | b a]``), repeats for any
    distance and depends only on the absolute position, never on the window.
    """
    positions = np.arange(start, start + count, dtype=np.int64)
    if size == 1:
        return np.zeros(count, dtype=np.int64)
    period = 2 * (size - 1)
    folded = np.mod(positions, period)
    return np.where(folded < size, folded, period - folded)
