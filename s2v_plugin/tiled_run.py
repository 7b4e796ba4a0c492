"""The one run over raster tiles that every raster algorithm shares.

An algorithm supplies a source, a :class:`~s2v_plugin.core.tiling.TilePlan`, a per-window
function and its outputs; :func:`run_tiles` owns the rest:

* validation: the plan covers the source, every output has the plan's size;
* reading each tile's window (mirrored at the raster edges), in batches when asked;
* progress (monotone, mapped into a sub-range) and cancel, polled before every batch and
  every tile, with one message (:data:`CANCELLED`);
* flushing the outputs whenever whole rows of output blocks are complete, so that memory stays
  bounded and no compressed block is written twice;
* all-or-nothing commit: every output is committed after the last tile, or every output is
  removed when anything fails or the user cancels (:func:`all_or_nothing`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np

from .core.callbacks import CANCELLED, Callbacks  # noqa: F401  (CANCELLED: public here too)
from .core.errors import InputError
from .core.tiling import Tile, TilePlan
from .io.raster_writer import BLOCK_SIZE
from .io.windows import read_window

LOG = logging.getLogger(__name__)

#: ``compute(tiles, windows)``: ``windows`` is ``[N, window_rows, window_cols]`` (one per tile,
#: as read from the source); returns, per tile, one core-sized array per output.
Compute = Callable[[Sequence[Tile], np.ndarray], Sequence[Sequence[np.ndarray]]]


class ArrayOutput:
    """An in-memory output with the writer interface (write, flush, commit, abort)."""

    def __init__(self, height: int, width: int, dtype=np.float32, fill=np.nan) -> None:
        self.array = np.full((height, width), fill, dtype=dtype)

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    def write(self, array: np.ndarray, row: int, col: int) -> None:
        self.array[row : row + array.shape[0], col : col + array.shape[1]] = array

    def flush(self) -> None:
        return None

    def commit(self) -> np.ndarray:
        return self.array

    def abort(self) -> None:
        return None


@contextmanager
def all_or_nothing(outputs: Sequence):
    """Commit every output on normal exit; abort (remove) every one on any exception.

    When a commit fails, the outputs already committed are removed too, so that a run never
    leaves some of its outputs behind.
    """
    try:
        yield outputs
    except BaseException:
        for output in outputs:
            output.abort()
        raise
    committed = []
    try:
        for output in outputs:
            committed.append(output.commit())
    except BaseException:
        for output in outputs[len(committed) :]:
            output.abort()
        for path in committed:
            _remove_committed(path)
        raise


def _remove_committed(path) -> None:
    import os

    if isinstance(path, str) and os.path.exists(path):
        os.remove(path)


def _output_shape(output) -> tuple[int, int]:
    return tuple(output.shape)


def _batches(plan: TilePlan, batch_pixels: int):
    size = max(1, batch_pixels // (plan.window_rows * plan.window_cols))
    tiles = plan.tiles
    for start in range(0, len(tiles), size):
        yield tiles[start : start + size]


def run_tiles(
    source,
    plan: TilePlan,
    compute: Compute,
    outputs: Sequence,
    *,
    callbacks: Callbacks | None = None,
    progress_range: tuple[float, float] = (0.0, 1.0),
    batch_pixels: int = 0,
    flush_rows: int = BLOCK_SIZE,
) -> None:
    """Run ``compute`` over every tile of ``plan`` and write the cores into ``outputs``.

    Parameters
    ----------
    source : RasterSource or ArraySource
        Has ``info`` (height, width) and ``read``/``read_indices``.
    plan : TilePlan
        The tiling; its size must be the source's.
    compute : callable
        ``compute(tiles, windows) -> per tile, one core array per output`` (see :data:`Compute`).
    outputs : sequence
        Writers (:class:`~s2v_plugin.io.raster_writer.RasterWriter`, :class:`ArrayOutput`):
        ``write(array, row, col)``, ``flush()`` and ``shape`` (rows, columns).
    callbacks : Callbacks, optional
        Progress, cancel and log; progress goes from ``progress_range[0]`` to ``[1]``.
    batch_pixels : int
        Tiles are read and computed together while their windows hold at most this many
        pixels (0: one tile at a time).
    flush_rows : int
        Outputs are flushed when the tiles completed so far end on a multiple of this many
        rows (the output block height) or at the bottom of the raster.

    Raises
    ------
    Cancelled
        When ``callbacks.is_cancelled()`` turns true; outputs are left to the caller's
        :func:`all_or_nothing` (or ``abort``).
    InputError
        When the plan or an output does not match the source.
    """
    callbacks = callbacks or Callbacks()
    if (plan.height, plan.width) != (source.info.height, source.info.width):
        raise InputError(
            f"The tile plan ({plan.width} x {plan.height} px) does not cover the raster "
            f"({source.info.width} x {source.info.height} px)."
        )
    for output in outputs:
        if _output_shape(output) != (plan.height, plan.width):
            raise InputError(
                f"An output of {_output_shape(output)} px does not match the raster "
                f"({plan.height} x {plan.width} px)."
            )
    progress = callbacks.part(*progress_range)
    done, total = 0, len(plan.tiles)
    for batch in _batches(plan, batch_pixels):
        callbacks.check_cancelled()
        windows = np.stack([read_window(source, plan, tile) for tile in batch])
        results = compute(batch, windows)
        for tile, cores in zip(batch, results):
            callbacks.check_cancelled()
            for output, core in zip(outputs, cores):
                output.write(core, tile.row, tile.col)
            done += 1
            progress(done / total)
            bottom = tile.row + tile.rows
            row_done = tile.col + tile.cols == plan.width
            if row_done and (bottom % flush_rows == 0 or bottom == plan.height):
                for output in outputs:
                    output.flush()  # whole output blocks only, so none is compressed twice
