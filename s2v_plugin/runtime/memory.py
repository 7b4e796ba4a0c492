"""Memory budget of a despeckling run: from a budget in megabytes to a tile size.

Peak memory of a run is dominated by the network's activations, which grow with the number of
pixels of the window fed to it (tile core plus halo on every side). The model card may record
what the exporter measured (``extra["memory"]["bytes_per_pixel"]``); models without the figure
get a conservative default. Everything here is integer and float maths, testable without
onnxruntime.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

from ..core.errors import InputError

MB = 1 << 20
#: Network memory per window pixel assumed for models whose card does not say (the first
#: shipped model, exported by tracing PyTorch, measured about 2 kB at its second run).
DEFAULT_BYTES_PER_PIXEL = 2048
#: The engine's own arrays per window pixel (input, normalised input, masks, alpha, beta,
#: posterior mean and std, temporaries), measured rounded up.
PIPELINE_BYTES_PER_PIXEL = 96
#: Default budget for the network and the tiles: with QGIS itself (about 300 MB) and GDAL's
#: block cache the whole process stays under 1.5 GB.
DEFAULT_BUDGET_MB = 1024
#: The default budget never exceeds this share of the memory available when the run starts.
MAX_SHARE_OF_AVAILABLE = 0.5
#: GDAL block cache during a run (GDAL's own default is 5 % of the RAM).
GDAL_CACHE_MB = 64
#: Tile cores are multiples of this (the output's block size), so that whole output blocks are
#: written at once.
TILE_ALIGNMENT = 256
#: The smallest automatic tile core; a budget that cannot hold it is refused.
MIN_AUTO_TILE = 256


@dataclass(frozen=True)
class TileChoice:
    """The tile size of a run and why: for the log."""

    tile_size: int
    budget_mb: float
    estimated_mb: float
    automatic: bool


def bytes_per_pixel(card) -> float:
    """Network memory per window pixel for the model of ``card`` (card figure or default)."""
    memory = card.extra.get("memory", {}) if isinstance(card.extra, dict) else {}
    value = memory.get("bytes_per_pixel") if isinstance(memory, dict) else None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    return float(DEFAULT_BYTES_PER_PIXEL)


def available_memory_mb() -> float | None:
    """Memory available to new allocations (MemAvailable on Linux), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if sys.platform == "win32":
        return _windows_available_mb()
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / MB
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available_mb() -> float | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return status.ullAvailPhys / MB
    except (AttributeError, OSError):
        pass
    return None


def default_budget_mb(available_mb: float | None) -> float:
    """The budget used when ``MEMORY_BUDGET_MB`` is empty: :data:`DEFAULT_BUDGET_MB`, capped at
    :data:`MAX_SHARE_OF_AVAILABLE` of the available memory (when known)."""
    if available_mb is None or available_mb <= 0:
        return float(DEFAULT_BUDGET_MB)
    return float(min(DEFAULT_BUDGET_MB, MAX_SHARE_OF_AVAILABLE * available_mb))


def window_pixels(tile_size: int, halo: int, size_multiple: int) -> int:
    """Pixels of the window around a square core of ``tile_size`` (as the tile plan builds it)."""
    multiple = max(1, size_multiple)
    core = -(-tile_size // multiple) * multiple
    halo = -(-halo // multiple) * multiple
    return (core + 2 * halo) ** 2


def estimated_mb(tile_size: int, halo: int, size_multiple: int, per_pixel: float) -> float:
    """Estimated peak memory of the network and the engine's arrays for one window."""
    pixels = window_pixels(tile_size, halo, size_multiple)
    return pixels * (per_pixel + PIPELINE_BYTES_PER_PIXEL) / MB


def tile_for_budget(budget_mb: float, halo: int, size_multiple: int, per_pixel: float) -> int:
    """The largest tile core (a multiple of :data:`TILE_ALIGNMENT`) whose window fits the budget.

    Raises
    ------
    InputError
        When not even a :data:`MIN_AUTO_TILE` core fits: the message gives the budget needed.
    """
    if not budget_mb > 0:
        raise InputError(f"MEMORY_BUDGET_MB must be a positive number of megabytes ({budget_mb}).")
    step = TILE_ALIGNMENT
    tile = MIN_AUTO_TILE
    if estimated_mb(tile, halo, size_multiple, per_pixel) > budget_mb:
        needed = estimated_mb(tile, halo, size_multiple, per_pixel)
        raise InputError(
            f"MEMORY_BUDGET_MB {budget_mb:g} is too small for this model: its smallest automatic "
            f"tile ({tile} px plus a {halo} px halo) needs about {needed:.0f} MB. Give at least "
            f"{needed:.0f} MB, or set TILE_SIZE explicitly (smaller tiles are slower)."
        )
    while estimated_mb(tile + step, halo, size_multiple, per_pixel) <= budget_mb:
        tile += step
    return tile


def least_work_tile(
    largest: int, height: int | None, width: int | None, halo: int, size_multiple: int
) -> int:
    """The aligned tile core up to ``largest`` that feeds the fewest pixels to the network for
    a ``height`` x ``width`` raster (cores are cut at the raster edge but every window is
    full-size, so a tile just over a fraction of the raster wastes most of a window)."""
    if not height or not width:
        return largest

    def work(tile: int) -> int:
        tiles = -(-height // tile) * -(-width // tile)
        return tiles * window_pixels(min(tile, max(height, width)), halo, size_multiple)

    candidates = range(MIN_AUTO_TILE, largest + 1, TILE_ALIGNMENT)
    return min(candidates, key=lambda tile: (work(tile), -tile))


def choose_tile(
    tile_size: int | None,
    budget_mb: float | None,
    halo: int,
    size_multiple: int,
    per_pixel: float,
    available_mb: float | None,
    raster_shape: tuple[int, int] | None = None,
) -> TileChoice:
    """The tile size of a run: an explicit ``tile_size`` wins; 0 or None picks it from the
    budget (``budget_mb``, or :func:`default_budget_mb` of the available memory): the tile that
    feeds the fewest pixels to the network for ``raster_shape`` among those that fit."""
    budget = float(budget_mb) if budget_mb else default_budget_mb(available_mb)
    if tile_size:
        size = int(tile_size)
        automatic = False
    else:
        largest = tile_for_budget(budget, halo, size_multiple, per_pixel)
        size = least_work_tile(largest, *(raster_shape or (None, None)), halo, size_multiple)
        automatic = True
    return TileChoice(size, budget, estimated_mb(size, halo, size_multiple, per_pixel), automatic)


def return_freed_memory_to_the_system() -> bool:
    """Ask glibc to serve large allocations with mmap (freed pages go back to the system).

    glibc raises its mmap threshold each time a large block is freed, after which large
    activations come from the heap, where freed memory is kept: the peak resident memory of a
    run then grows by the fragmentation between tiles. Fixing the threshold at 1 MB (about
    glibc's initial behaviour, 128 kB) keeps the resident memory at what is in use. Returns
    whether the setting was applied (only with glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        return bool(libc.mallopt(m_mmap_threshold, MB))
    except (OSError, AttributeError):
        return False
