"""The despeckling engine on real GeoTIFFs and real onnxruntime sessions, without QGIS."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import require

require("onnxruntime")
require("onnx")

from onnx_models import (  # noqa: E402
    expected_neighbour_posterior,
    neighbour_mean_model,
    pooled_model,
    slow_neighbour_model,
)
from osgeo import gdal  # noqa: E402
from rasters import gamma_scene, read_raster, wgs84_wkt, write_raster  # noqa: E402

from s2v_plugin.core.errors import (  # noqa: E402
    Cancelled,
    InputError,
    ModelError,
    OutputError,
    RuntimeUnavailable,
)
from s2v_plugin.despeckle import despeckle_array, despeckle_raster  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return neighbour_mean_model(tmp_path_factory.mktemp("m") / "neighbour.onnx")


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory):
    """Same analytic model, declaring a receptive field wider than small rasters."""
    return neighbour_mean_model(tmp_path_factory.mktemp("m") / "wide.onnx", receptive_field=40)


def leftovers(folder):
    """Temporary files beside the outputs (hidden: ``.NAME.*.partial.tif``)."""
    return sorted(name for name in os.listdir(folder) if "partial" in name)


def test_posterior_mean_matches_the_hand_computed_estimate(model):
    image = gamma_scene((40, 33))
    result = despeckle_array(image, model, point_target_factor=0, point_target_pfa=0)
    expected = expected_neighbour_posterior(image)
    np.testing.assert_allclose(result, expected, rtol=2e-5)


@pytest.mark.parametrize("tile_size", [64, 256, 4096])
def test_tiled_result_equals_untiled(tmp_path, wide_model, tile_size):
    path = write_raster(tmp_path / "in.tif", gamma_scene((300, 270), seed=1))
    despeckle_raster(path, str(tmp_path / "whole.tif"), model_path=wide_model, tile_size=100000)
    despeckle_raster(path, str(tmp_path / "tiled.tif"), model_path=wide_model, tile_size=tile_size)
    whole, tiled = read_raster(tmp_path / "whole.tif"), read_raster(tmp_path / "tiled.tif")
    assert np.max(np.abs(tiled - whole) / whole) <= 1e-4


@pytest.mark.parametrize("tile_size", [32, 64, 1000])
def test_tiles_stay_aligned_for_models_with_downsampling(tmp_path, tile_size):
    model = pooled_model(tmp_path / "pooled.onnx")
    image = gamma_scene((131, 97), seed=2)
    whole = despeckle_array(image, model, tile_size=100000)
    tiled = despeckle_array(image, model, tile_size=tile_size)
    assert np.max(np.abs(tiled - whole) / whole) <= 1e-4


@pytest.mark.parametrize("factor", [1e-3, 7.0, 1e4])
def test_result_scales_with_the_input(model, factor):
    image = gamma_scene((64, 64), seed=3)
    base = despeckle_array(image, model)
    scaled = despeckle_array(image * np.float32(factor), model)
    np.testing.assert_allclose(scaled, base * factor, rtol=1e-5)


def test_point_targets_keep_their_value_and_do_not_bleed(model):
    image = gamma_scene((50, 50), seed=4)
    image[25, 25] = 1e6 * image.mean()
    for rule in ({"point_target_factor": 50, "point_target_pfa": 0}, {}):  # deprecated, local
        result = despeckle_array(image, model, **rule)
        assert result[25, 25] == image[25, 25]
        assert result[25, 26] < 100 * np.median(image)
    # the global rule clips the target to 50 x the median before the network: its neighbours
    # see exactly that clipped value, nothing of the target's own brightness
    result = despeckle_array(image, model, point_target_factor=50, point_target_pfa=0)
    expected = expected_neighbour_posterior(np.minimum(image, 50 * np.median(image)))
    others = np.ones(image.shape, bool)
    others[25, 25] = False
    np.testing.assert_allclose(result[others], expected[others], rtol=1e-4)


def test_nodata_and_nan_are_written_as_nodata(tmp_path, model):
    image = gamma_scene((60, 50), seed=5)
    image[:5, :] = -9999.0
    image[30, 30] = np.nan
    path = write_raster(tmp_path / "in.tif", image, nodata=-9999.0)
    despeckle_raster(path, str(tmp_path / "out.tif"), model_path=model)
    dataset = gdal.Open(str(tmp_path / "out.tif"))
    band = dataset.GetRasterBand(1)
    out = band.ReadAsArray()
    assert band.GetNoDataValue() == -9999.0
    assert (out[:5] == -9999.0).all() and out[30, 30] == -9999.0
    assert np.isfinite(out[5:]).all() and (out[5:30] > 0).all()


def test_georeferencing_and_gcps_are_copied(tmp_path, model):
    image = gamma_scene((40, 40))
    gcps = [(0, 0, 10.0, 50.0), (39, 0, 10.1, 50.0), (0, 39, 10.0, 49.9)]
    with_gt = write_raster(tmp_path / "gt.tif", image)
    with_gcps = write_raster(tmp_path / "gcp.tif", image, gcps=gcps, crs_wkt=wgs84_wkt())
    for source in (with_gt, with_gcps):
        out = str(tmp_path / ("out_" + os.path.basename(source)))
        despeckle_raster(source, out, model_path=model)
        a, b = gdal.Open(source), gdal.Open(out)
        assert a.GetGeoTransform() == b.GetGeoTransform()
        assert a.GetProjection() == b.GetProjection()
        assert [(g.GCPPixel, g.GCPLine, g.GCPX, g.GCPY) for g in a.GetGCPs()] == [
            (g.GCPPixel, g.GCPLine, g.GCPX, g.GCPY) for g in b.GetGCPs()
        ]
        assert b.GetRasterBand(1).DataType == gdal.GDT_Float32


def test_output_is_a_tiled_compressed_geotiff(tmp_path, model):
    path = write_raster(tmp_path / "in.tif", gamma_scene((300, 300)))
    despeckle_raster(path, str(tmp_path / "out.tif"), model_path=model)
    structure = gdal.Open(str(tmp_path / "out.tif")).GetMetadata("IMAGE_STRUCTURE")
    assert structure.get("COMPRESSION") == "DEFLATE"
    assert gdal.Open(str(tmp_path / "out.tif")).GetRasterBand(1).GetBlockSize() == [256, 256]


def test_amplitude_in_gives_amplitude_out(model):
    intensity = gamma_scene((48, 48), seed=6)
    from_intensity = despeckle_array(intensity, model)
    from_amplitude = despeckle_array(np.sqrt(intensity), model, domain="amplitude")
    np.testing.assert_allclose(from_amplitude, np.sqrt(from_intensity), rtol=1e-5)


def test_complex_in_gives_intensity_out(tmp_path, model):
    rng = np.random.default_rng(7)
    slc = (rng.normal(size=(40, 40)) + 1j * rng.normal(size=(40, 40))).astype(np.complex64)
    path = write_raster(tmp_path / "slc.tif", slc)
    despeckle_raster(path, str(tmp_path / "out.tif"), model_path=model)
    expected = despeckle_array(np.abs(slc) ** 2, model)
    np.testing.assert_allclose(read_raster(tmp_path / "out.tif"), expected, rtol=1e-5)


def test_uncertainty_is_the_posterior_standard_deviation(tmp_path, model):
    image = gamma_scene((40, 40), seed=8)
    mean, std, report = despeckle_array(
        image, model, return_std=True, point_target_factor=0, point_target_pfa=0
    )
    alpha, looks = 5.0, 1.0
    np.testing.assert_allclose(std, mean / np.sqrt(alpha + looks - 2), rtol=1e-5)
    path = write_raster(tmp_path / "in.tif", image)
    despeckle_raster(
        path,
        str(tmp_path / "m.tif"),
        model_path=model,
        uncertainty_path=str(tmp_path / "s.tif"),
        point_target_factor=0,
        point_target_pfa=0,
    )
    np.testing.assert_allclose(read_raster(tmp_path / "s.tif"), std, rtol=1e-5)


def test_a_raster_smaller_than_the_receptive_field_is_mirrored_and_processed(wide_model):
    image = gamma_scene((5, 7), seed=9)
    result = despeckle_array(image, wide_model, point_target_factor=0, point_target_pfa=0)
    np.testing.assert_allclose(result, expected_neighbour_posterior(image), rtol=2e-5)


NO_TARGETS = {"point_target_factor": 0, "point_target_pfa": 0}


@pytest.mark.parametrize("tile_size", [32, 45, 64])
def test_tiled_equals_untiled_with_a_halo_equal_to_the_true_receptive_field(tmp_path, tile_size):
    """The neighbour model reads exactly 1 pixel around each output and declares 1."""
    exact = neighbour_mean_model(tmp_path / "exact.onnx", receptive_field=1)
    image = gamma_scene((131, 97), seed=11)
    whole = despeckle_array(image, exact, tile_size=4096, **NO_TARGETS)
    tiled = despeckle_array(image, exact, tile_size=tile_size, **NO_TARGETS)
    np.testing.assert_allclose(tiled, whole, rtol=1e-5)
    np.testing.assert_allclose(whole, expected_neighbour_posterior(image), rtol=2e-5)


@pytest.mark.parametrize("tile_size", [32, 64])
def test_tiled_equals_untiled_with_the_local_rule_and_the_local_mean_factor(tmp_path, tile_size):
    """With the default local rule the halo adds the ring, the pair test and the local-mean
    factor's reach (s2v_plugin.despeckle.estimator_halo) to the receptive field."""
    from s2v_plugin.core.local_mean import RADIUS

    exact = neighbour_mean_model(tmp_path / "exact.onnx", receptive_field=1)
    image = gamma_scene((131, 97), seed=13)
    image[40, 30] *= np.float32(1e4)  # a point target near a tile border
    whole, _, report = despeckle_array(image, exact, tile_size=4096, return_std=True)
    tiled, _, tiled_report = despeckle_array(image, exact, tile_size=tile_size, return_std=True)
    np.testing.assert_allclose(tiled, whole, rtol=1e-5)
    assert tiled_report.halo >= 1 + RADIUS and tiled_report.point_targets == report.point_targets


def test_a_halo_narrower_than_the_true_receptive_field_changes_tile_borders(tmp_path):
    """The check above can fail: declaring 0 for a model that reads 1 pixel breaks tiling."""
    short = neighbour_mean_model(tmp_path / "short.onnx", receptive_field=0)
    image = gamma_scene((131, 97), seed=11)
    whole = despeckle_array(image, short, tile_size=4096, **NO_TARGETS)
    tiled = despeckle_array(image, short, tile_size=32, **NO_TARGETS)
    assert np.max(np.abs(tiled - whole) / whole) > 1e-2


@pytest.mark.slow
def test_the_shipped_model_gives_the_same_result_tiled_and_untiled():
    from s2v_plugin.runtime.models import default_model_path

    shipped = default_model_path()
    assert shipped is not None, "the shipped model is missing"
    image = gamma_scene((96, 80), seed=12)
    whole = despeckle_array(image, shipped, tile_size=4096)
    tiled = despeckle_array(image, shipped, tile_size=32)
    assert np.max(np.abs(tiled - whole) / np.abs(whole)) <= 1e-4


KILLED_RUN = """
import sys
from s2v_plugin.despeckle import despeckle_raster
despeckle_raster(sys.argv[1], sys.argv[2], model_path=sys.argv[3], tile_size=32, batch_pixels=1,
                 domain="intensity", looks=1)
"""


def test_the_next_run_removes_the_partial_file_of_a_killed_run(tmp_path, model):
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    slow = slow_neighbour_model(tmp_path / "slow.onnx")
    source = write_raster(tmp_path / "in.tif", gamma_scene((512, 512), seed=13))
    output = tmp_path / "out.tif"
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, source, str(output), slow], cwd=ROOT)
    deadline = time.monotonic() + 120
    while not leftovers(tmp_path) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    stale = leftovers(tmp_path)
    assert run.returncode == -signal.SIGKILL and stale, "the run ended before it could be killed"
    assert not output.exists()

    despeckle_raster(source, str(output), model_path=model, domain="intensity", looks=1)

    assert output.exists() and leftovers(tmp_path) == []


def test_progress_is_monotone_within_0_and_1(tmp_path, model):
    path = write_raster(tmp_path / "in.tif", gamma_scene((200, 200)))
    seen = []
    despeckle_raster(
        path, str(tmp_path / "o.tif"), model_path=model, tile_size=64, progress=seen.append
    )
    assert seen == sorted(seen) and 0 <= seen[0] and seen[-1] == pytest.approx(1.0)


def test_cancel_stops_and_leaves_no_file(tmp_path, model):
    path = write_raster(tmp_path / "in.tif", gamma_scene((200, 200)))
    calls = []

    def cancel_after_first_batch():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        despeckle_raster(
            path,
            str(tmp_path / "o.tif"),
            model_path=model,
            tile_size=32,
            batch_pixels=1,
            is_cancelled=cancel_after_first_batch,
            uncertainty_path=str(tmp_path / "s.tif"),
        )
    assert len(calls) == 2  # stopped at the first check after the request
    assert not os.path.exists(tmp_path / "o.tif") and not os.path.exists(tmp_path / "s.tif")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "values,message",
    [
        (lambda a: np.where(a > 2, -a, a), "negative"),
        (lambda a: np.where(a > 3, np.inf, a), "infinite"),
        (lambda a: np.full_like(a, np.nan), "no valid pixels"),
        (lambda a: np.zeros_like(a), "zero"),
    ],
)
def test_bad_values_are_refused_before_writing(tmp_path, model, values, message):
    path = write_raster(tmp_path / "in.tif", values(gamma_scene((30, 30))).astype(np.float32))
    with pytest.raises(InputError, match=message):
        despeckle_raster(path, str(tmp_path / "o.tif"), model_path=model)
    assert not os.path.exists(tmp_path / "o.tif") and leftovers(tmp_path) == []


def test_a_missing_band_is_refused(tmp_path, model):
    path = write_raster(tmp_path / "in.tif", gamma_scene((20, 20)))
    with pytest.raises(InputError, match="Band 3 does not exist"):
        despeckle_raster(path, str(tmp_path / "o.tif"), band=3, model_path=model)


def test_model_problems_are_explained(tmp_path):
    path = write_raster(tmp_path / "in.tif", gamma_scene((20, 20)))
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"this is not a protobuf")
    no_card = neighbour_mean_model(tmp_path / "nocard.onnx", card=False)
    renamed = neighbour_mean_model(
        tmp_path / "renamed.onnx", output_names=("prior_shape", "prior_scale")
    )
    for model_path, message in [
        (str(tmp_path / "absent.onnx"), "not found"),
        (str(corrupt), "not a usable ONNX model"),
        (no_card, "not a Speckle2Void model"),
        (renamed, "model contract"),
    ]:
        with pytest.raises(ModelError, match=message):
            despeckle_raster(path, str(tmp_path / "o.tif"), model_path=model_path)
        assert not os.path.exists(tmp_path / "o.tif") and leftovers(tmp_path) == []


def test_an_unwritable_output_is_refused(tmp_path, model):
    path = write_raster(tmp_path / "in.tif", gamma_scene((20, 20)))
    with pytest.raises(OutputError, match="does not exist"):
        despeckle_raster(path, str(tmp_path / "missing" / "o.tif"), model_path=model)


def test_cuda_without_cuda_is_refused(tmp_path, model):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    path = write_raster(tmp_path / "in.tif", gamma_scene((20, 20)))
    with pytest.raises(RuntimeUnavailable, match="CUDA"):
        despeckle_raster(path, str(tmp_path / "o.tif"), model_path=model, device="cuda")
    assert not os.path.exists(tmp_path / "o.tif")
