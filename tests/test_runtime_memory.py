"""Tile size from a memory budget, and the session settings: pure functions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from s2v_plugin.core.errors import InputError, ModelError
from s2v_plugin.runtime import memory
from s2v_plugin.runtime.session import (
    CPU_PROVIDER,
    CUDA_OPTIONS,
    CUDA_PROVIDER,
    fallback_reason,
    precision_path,
    provider_list,
    providers_for,
    session_settings,
)

HALO, MULTIPLE, PER_PIXEL = 75, 8, 1000.0


def test_the_automatic_tile_is_the_largest_aligned_one_within_the_budget():
    for budget in (300, 700, 1024, 4000):
        tile = memory.tile_for_budget(budget, HALO, MULTIPLE, PER_PIXEL)
        assert tile % memory.TILE_ALIGNMENT == 0
        assert memory.estimated_mb(tile, HALO, MULTIPLE, PER_PIXEL) <= budget
        bigger = tile + memory.TILE_ALIGNMENT
        assert memory.estimated_mb(bigger, HALO, MULTIPLE, PER_PIXEL) > budget


def test_a_larger_budget_never_gives_a_smaller_tile():
    tiles = [memory.tile_for_budget(b, HALO, MULTIPLE, PER_PIXEL) for b in range(200, 5000, 150)]
    assert tiles == sorted(tiles) and tiles[-1] > tiles[0]


def test_the_window_counts_the_halo_rounded_to_the_size_multiple():
    assert memory.window_pixels(1024, 75, 8) == (1024 + 2 * 80) ** 2
    assert memory.window_pixels(100, 3, 1) == 106**2


def test_a_budget_too_small_for_the_model_is_refused_with_the_figure_needed():
    needed = memory.estimated_mb(memory.MIN_AUTO_TILE, HALO, MULTIPLE, PER_PIXEL)
    with pytest.raises(InputError, match=f"at least {needed:.0f} MB"):
        memory.tile_for_budget(needed * 0.9, HALO, MULTIPLE, PER_PIXEL)
    with pytest.raises(InputError, match="positive"):
        memory.tile_for_budget(0, HALO, MULTIPLE, PER_PIXEL)


def test_an_explicit_tile_size_wins_over_the_budget():
    choice = memory.choose_tile(4096, 100, HALO, MULTIPLE, PER_PIXEL, 20000)
    assert choice.tile_size == 4096 and not choice.automatic
    assert choice.estimated_mb > choice.budget_mb  # the caller warns about it


def test_the_default_budget_is_capped_at_a_share_of_the_available_memory():
    assert memory.default_budget_mb(None) == memory.DEFAULT_BUDGET_MB
    assert memory.default_budget_mb(100000) == memory.DEFAULT_BUDGET_MB
    assert memory.default_budget_mb(1000) == 1000 * memory.MAX_SHARE_OF_AVAILABLE
    automatic = memory.choose_tile(0, None, HALO, MULTIPLE, PER_PIXEL, 1200)
    assert automatic.automatic and automatic.budget_mb == 600


def test_the_card_figure_is_used_and_unknown_models_get_the_conservative_default():
    card = SimpleNamespace(extra={"memory": {"bytes_per_pixel": 812.5}})
    assert memory.bytes_per_pixel(card) == 812.5
    for extra in ({}, {"memory": "?"}, {"memory": {"bytes_per_pixel": -1}}):
        assert (
            memory.bytes_per_pixel(SimpleNamespace(extra=extra)) == memory.DEFAULT_BYTES_PER_PIXEL
        )


def test_cpu_sessions_plan_no_memory_pattern_but_keep_the_arena():
    settings = session_settings(0)
    assert settings["enable_mem_pattern"] is False
    assert settings.get("enable_cpu_mem_arena", True) is True
    assert "intra_op_num_threads" not in settings
    assert session_settings(3)["intra_op_num_threads"] == 3


def test_cuda_gets_its_provider_options_and_the_cpu_stays_plain():
    providers = provider_list([CUDA_PROVIDER, CPU_PROVIDER])
    assert providers[0] == (CUDA_PROVIDER, CUDA_OPTIONS)
    assert providers[1] == CPU_PROVIDER
    assert CUDA_OPTIONS["cudnn_conv_algo_search"] == "EXHAUSTIVE"
    assert providers_for("auto", [CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER, CPU_PROVIDER]
    assert providers_for("auto", [CPU_PROVIDER]) == [CPU_PROVIDER]
    assert providers_for("cpu", [CUDA_PROVIDER, CPU_PROVIDER]) == [CPU_PROVIDER]


def test_a_fallback_from_cuda_to_the_cpu_is_detected_with_its_reason():
    asked = [CUDA_PROVIDER, CPU_PROVIDER]
    assert fallback_reason("auto", asked, [CUDA_PROVIDER, CPU_PROVIDER]) == ""
    assert fallback_reason("auto", [CPU_PROVIDER], [CPU_PROVIDER]) == ""
    silent = fallback_reason("auto", asked, [CPU_PROVIDER])
    assert "CUDA" in silent and "cuDNN" in silent
    loud = fallback_reason("auto", asked, [CPU_PROVIDER], "libcudnn.so.9: not found")
    assert "libcudnn.so.9: not found" in loud


def test_precision_variants_are_files_next_to_the_model(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    assert precision_path(str(model), "fp32") == str(model)
    with pytest.raises(ModelError, match="m.int8.onnx"):
        precision_path(str(model), "int8")
    (tmp_path / "m.int8.onnx").write_bytes(b"")
    assert precision_path(str(model), "int8") == str(tmp_path / "m.int8.onnx")
    with pytest.raises(ModelError, match="PRECISION"):
        precision_path(str(model), "bf16")


def test_the_automatic_tile_feeds_the_fewest_pixels_to_the_network():
    # 2048 px: two 1024 px tiles per side would not fit; 768 would need 3 mostly empty windows
    assert memory.least_work_tile(768, 2048, 2048, HALO, MULTIPLE) == 512
    assert memory.least_work_tile(768, 8192, 8192, HALO, MULTIPLE) == 768
    # a raster smaller than the largest tile: one window, the largest tile
    assert memory.least_work_tile(1024, 300, 200, HALO, MULTIPLE) == 1024
    assert memory.least_work_tile(1024, None, None, HALO, MULTIPLE) == 1024
    for n in (700, 1500, 3000, 5000):
        best = memory.least_work_tile(1024, n, n, HALO, MULTIPLE)

        def work(tile, n=n):
            tiles = (-(-n // tile)) ** 2
            return tiles * memory.window_pixels(min(tile, n), HALO, MULTIPLE)

        assert all(work(best) <= work(t) for t in range(256, 1025, 256))
