"""The one tiled raster run: every pixel written once, progress, one cancel message, flush
at whole block rows, all-or-nothing commit, and stale partial files of killed runs removed."""

from __future__ import annotations

import os

import numpy as np
import pytest
from rasters import read_raster

from s2v_plugin.core.errors import Cancelled, InputError
from s2v_plugin.core.tiling import plan_tiles
from s2v_plugin.io.raster_source import ArraySource
from s2v_plugin.io.raster_writer import RasterWriter, remove_stale_partials
from s2v_plugin.tiled_run import CANCELLED, ArrayOutput, Callbacks, all_or_nothing, run_tiles


def core_sum(tiles, windows):
    """Per tile: the window's 3 x 3 box sum at the core (needs halo 1)."""
    results = []
    for tile, window in zip(tiles, windows):
        total = sum(
            window[1 + dy : window.shape[0] - 1 + dy, 1 + dx : window.shape[1] - 1 + dx]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        r, c = tile.core_offset
        results.append((total[r - 1 : r - 1 + tile.rows, c - 1 : c - 1 + tile.cols],))
    return results


@pytest.mark.parametrize("tile_size", [7, 16, 50])
@pytest.mark.parametrize("batch_pixels", [0, 2000])
def test_tiled_box_sum_equals_the_untiled_one(tile_size, batch_pixels):
    image = np.random.default_rng(0).random((37, 29)).astype(np.float32)
    output = ArrayOutput(*image.shape)
    plan = plan_tiles(*image.shape, tile_size, 1)
    run_tiles(ArraySource(image), plan, core_sum, [output], batch_pixels=batch_pixels)
    padded = np.pad(image, 1, mode="reflect")
    expected = sum(
        padded[1 + dy : 38 + dy, 1 + dx : 30 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )
    np.testing.assert_allclose(output.array, expected, rtol=1e-6)


def test_progress_rises_monotonically_to_the_end_of_its_range():
    image = np.ones((40, 40), np.float32)
    seen = []
    run_tiles(
        ArraySource(image),
        plan_tiles(40, 40, 8, 0),
        lambda tiles, windows: [(w,) for w in windows],
        [ArrayOutput(40, 40)],
        callbacks=Callbacks.of(progress=seen.append),
        progress_range=(0.25, 0.75),
    )
    assert len(seen) == 25
    assert all(b > a for a, b in zip(seen, seen[1:]))
    assert seen[0] > 0.25
    assert seen[-1] == pytest.approx(0.75)


def test_cancel_stops_within_one_tile_with_the_one_message():
    image = np.ones((40, 40), np.float32)
    polled = []

    def cancel_on_third_poll():
        polled.append(1)
        return len(polled) >= 3

    computed = []

    def compute(tiles, windows):
        computed.extend(tiles)
        return [(w,) for w in windows]

    with pytest.raises(Cancelled) as raised:
        run_tiles(
            ArraySource(image),
            plan_tiles(40, 40, 8, 0),
            compute,
            [ArrayOutput(40, 40)],
            callbacks=Callbacks.of(is_cancelled=cancel_on_third_poll),
        )
    assert str(raised.value) == CANCELLED
    assert len(computed) == 1  # polls: before tile 1, after tile 1, before tile 2 -> stop


def test_outputs_are_flushed_only_after_whole_rows_of_blocks():
    class Recorder(ArrayOutput):
        def __init__(self):
            super().__init__(100, 30)
            self.written_rows = 0
            self.flushed_at = []

        def write(self, array, row, col):
            super().write(array, row, col)
            self.written_rows = max(self.written_rows, row + array.shape[0])

        def flush(self):
            self.flushed_at.append(self.written_rows)

    output = Recorder()
    run_tiles(
        ArraySource(np.ones((100, 30), np.float32)),
        plan_tiles(100, 30, 10, 0),
        lambda tiles, windows: [(w,) for w in windows],
        [output],
        flush_rows=40,
    )
    assert output.flushed_at == [40, 80, 100]


def test_a_plan_or_output_of_another_size_is_refused():
    source = ArraySource(np.ones((20, 20), np.float32))
    with pytest.raises(InputError, match="does not cover"):
        run_tiles(source, plan_tiles(21, 20, 8, 0), core_sum, [ArrayOutput(21, 20)])
    with pytest.raises(InputError, match="does not match"):
        run_tiles(source, plan_tiles(20, 20, 8, 0), core_sum, [ArrayOutput(20, 19)])


def test_all_or_nothing_commits_every_output_or_none(tmp_path):
    def writers():
        return [RasterWriter(str(tmp_path / name), width=4, height=3) for name in "ab"]

    with pytest.raises(RuntimeError, match="boom"):
        with all_or_nothing(writers()) as outputs:
            outputs[0].write(np.ones((3, 4)), 0, 0)
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == []
    with all_or_nothing(writers()) as outputs:
        for output in outputs:
            output.write(np.full((3, 4), 2.0), 0, 0)
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    assert (read_raster(tmp_path / "b") == 2.0).all()


def test_a_failed_commit_removes_the_outputs_already_committed(tmp_path):
    good = RasterWriter(str(tmp_path / "good.tif"), width=2, height=2)
    bad = RasterWriter(str(tmp_path / "bad.tif"), width=2, height=2)

    def failing_commit():
        bad.abort()
        raise OSError("disk full")

    bad.commit = failing_commit
    with pytest.raises(OSError, match="disk full"):
        with all_or_nothing([good, bad]):
            pass
    assert os.listdir(tmp_path) == []


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_stale_partials_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".out.{_dead_pid()}-0123abcd.partial.tif"
    legacy = tmp_path / ".out.89abcdef.partial.tif"  # before process ids were recorded
    legacy_aux = tmp_path / ".out.89abcdef.partial.tif.aux.xml"
    alive = tmp_path / f".out.{os.getpid()}-deadbeef.partial.tif"
    other_output = tmp_path / ".out.vv.1-0123abcd.partial.tif"  # belongs to out.vv.tif
    for path in (dead, legacy, legacy_aux, alive, other_output):
        path.write_bytes(b"partial")
    removed = remove_stale_partials(str(tmp_path / "out.tif"))
    assert sorted(removed) == sorted(map(str, (dead, legacy, legacy_aux)))
    assert alive.exists() and other_output.exists()
    assert not dead.exists() and not legacy.exists()


def test_a_new_writer_removes_stale_partials_of_its_destination(tmp_path):
    stale = tmp_path / f".out.{_dead_pid()}-0123abcd.partial.tif"
    stale.write_bytes(b"partial")
    writer = RasterWriter(str(tmp_path / "out.tif"), width=2, height=2)
    assert not stale.exists()
    writer.abort()
    assert os.listdir(tmp_path) == []
