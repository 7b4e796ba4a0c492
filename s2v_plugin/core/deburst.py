"""Joining TOPS bursts into one continuous swath image, in radar geometry ("debursting").

Consecutive bursts of a swath overlap in azimuth by a few tens of lines (they image the same
ground at different times within the steering cycle). Each burst is cut at the middle of its
overlaps with its neighbours, so that every output line comes from the burst that sees it
nearest to the burst's centre, and the pieces are stacked on one azimuth time axis.

Bursts are described by their own (possibly resampled) line grid: the time of their first line,
the line spacing and the line count; likewise in range by the first sample and sample spacing
(in swath samples). The output grid has a fixed spacing (the first burst's by default): output
line ``n`` is at ``t0 + n * spacing`` and takes the nearest line of its burst (exact when the
spacings agree, which they do for unresampled bursts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class BurstGrid:
    """One burst's line and sample grid.

    Attributes
    ----------
    start_time : float
        Azimuth time of its first line (s).
    line_spacing : float
        Time between its lines (s).
    lines : int
        Number of lines.
    first_sample : float
        Swath sample of its first column.
    sample_spacing : float
        Swath samples between its columns.
    samples : int
        Number of columns.
    """

    start_time: float
    line_spacing: float
    lines: int
    first_sample: float
    sample_spacing: float
    samples: int

    @property
    def end_time(self) -> float:
        """Time of its last line."""
        return self.start_time + (self.lines - 1) * self.line_spacing

    @property
    def end_sample(self) -> float:
        """Swath sample of its last column."""
        return self.first_sample + (self.samples - 1) * self.sample_spacing


@dataclass(frozen=True)
class DeburstPlan:
    """Where every output line and column comes from.

    Attributes
    ----------
    start_time, line_spacing : float
        Output line ``n`` is at ``start_time + n * line_spacing``.
    first_sample, sample_spacing : float
        Output column ``k`` is at swath sample ``first_sample + k * sample_spacing``.
    owner : numpy.ndarray
        Per output line, the position (in the list given to :func:`plan_deburst`) of the burst
        it comes from.
    source_line : numpy.ndarray
        Per output line, the line of that burst.
    cuts : numpy.ndarray
        The cut times between consecutive bursts (middle of their overlaps).
    """

    start_time: float
    line_spacing: float
    first_sample: float
    sample_spacing: float
    samples: int
    owner: np.ndarray
    source_line: np.ndarray
    cuts: np.ndarray

    @property
    def lines(self) -> int:
        """Number of output lines."""
        return int(self.owner.size)

    def line_times(self) -> np.ndarray:
        """Azimuth time of every output line."""
        return self.start_time + self.line_spacing * np.arange(self.lines)

    def source_columns(self, grid: BurstGrid) -> np.ndarray:
        """Per output column, the nearest column of ``grid`` (-1 outside it)."""
        samples = self.first_sample + self.sample_spacing * np.arange(self.samples)
        cols = np.rint((samples - grid.first_sample) / grid.sample_spacing).astype(np.int64)
        return np.where((cols >= 0) & (cols < grid.samples), cols, -1)

    def segments(self) -> list[tuple[int, int, int]]:
        """(burst position, first output line, line count) of the contiguous pieces."""
        out = []
        edges = np.flatnonzero(np.diff(self.owner)) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [self.lines]])
        for start, end in zip(starts, ends):
            out.append((int(self.owner[start]), int(start), int(end - start)))
        return out

    def assemble(self, grids, images) -> np.ndarray:
        """Stack burst images (one per grid, rows x columns of the grid) into the output; NaN
        where no burst column covers an output column."""
        out = np.full((self.lines, self.samples), np.nan, dtype=np.float32)
        for position, start, count in self.segments():
            cols = self.source_columns(grids[position])
            inside = cols >= 0
            rows = self.source_line[start : start + count]
            out[start : start + count][:, inside] = images[position][rows][:, cols[inside]]
        return out


def plan_deburst(
    grids, line_spacing: float | None = None, sample_spacing: float | None = None
) -> DeburstPlan:
    """Plan the join of consecutive bursts.

    Parameters
    ----------
    grids : sequence of BurstGrid
        The bursts, in azimuth order.
    line_spacing, sample_spacing : float, optional
        Output grid spacing; defaults: the first burst's.

    Returns
    -------
    DeburstPlan

    Raises
    ------
    InputError
        No burst, or bursts not in increasing time.
    """
    grids = list(grids)
    if not grids:
        raise InputError("No burst to deburst: choose at least one burst.")
    starts = np.array([g.start_time for g in grids])
    if np.any(np.diff(starts) <= 0):
        raise InputError("The bursts to deburst must be in increasing azimuth time.")
    spacing = float(line_spacing or grids[0].line_spacing)
    cuts = np.array(
        [0.5 * (grids[i + 1].start_time + grids[i].end_time) for i in range(len(grids) - 1)]
    )
    start_time = grids[0].start_time
    count = int(np.floor((grids[-1].end_time - start_time) / spacing + 1e-6)) + 1
    times = start_time + spacing * np.arange(count)
    owner = np.searchsorted(cuts, times, side="right")
    source = np.empty(count, dtype=np.int64)
    for position, grid in enumerate(grids):
        pick = owner == position
        lines = np.rint((times[pick] - grid.start_time) / grid.line_spacing).astype(np.int64)
        source[pick] = np.clip(lines, 0, grid.lines - 1)
    first_sample = min(g.first_sample for g in grids)
    step = float(sample_spacing or grids[0].sample_spacing)
    last = max(g.end_sample for g in grids)
    samples = int(np.floor((last - first_sample) / step + 1e-6)) + 1
    return DeburstPlan(start_time, spacing, first_sample, step, samples, owner, source, cuts)
