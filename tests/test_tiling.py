"""Tile plans cover every pixel exactly once and mirror windows independently of tiling."""

from __future__ import annotations

import numpy as np
import pytest

from s2v_plugin.core.errors import InputError
from s2v_plugin.core.tiling import plan_tiles, reflect_indices


@pytest.mark.parametrize(
    "height,width,tile,halo,multiple",
    [(1, 1, 64, 5, 1), (7, 300, 64, 40, 1), (257, 129, 64, 3, 8), (100, 100, 1000, 35, 16)],
)
def test_every_pixel_lies_in_exactly_one_core(height, width, tile, halo, multiple):
    plan = plan_tiles(height, width, tile, halo, multiple)
    count = np.zeros((height, width), dtype=int)
    for t in plan.tiles:
        count[t.row : t.row + t.rows, t.col : t.col + t.cols] += 1
    assert (count == 1).all()


def test_windows_have_the_halo_and_lie_on_the_size_multiple_grid():
    plan = plan_tiles(300, 200, 64, halo=10, size_multiple=8)
    assert plan.halo >= 10 and plan.halo % 8 == 0
    assert plan.window_rows % 8 == 0 and plan.window_cols % 8 == 0
    for t in plan.tiles:
        assert t.win_row % 8 == 0 and t.win_col % 8 == 0
        r, c = t.core_offset
        assert r == plan.halo and c == plan.halo


def test_reflection_mirrors_without_repeating_the_edge_pixel():
    assert reflect_indices(-3, 9, 4).tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1]
    assert reflect_indices(-2, 5, 1).tolist() == [0, 0, 0, 0, 0]


def test_reflection_depends_only_on_absolute_position():
    whole = reflect_indices(-50, 200, 7)
    part = reflect_indices(-10, 30, 7)
    assert (whole[40:70] == part).all()


def test_an_empty_raster_is_refused():
    with pytest.raises(InputError):
        plan_tiles(0, 10, 64, 1)
