"""``speckle2void:despeckle`` in the real QGIS: processing.run, qgis_process, feedback, errors."""

from __future__ import annotations

import os
import re
import sys

import numpy as np
import pytest
from conftest import require

require("qgis.core")
require("onnxruntime")
require("onnx")

from onnx_models import expected_neighbour_posterior, neighbour_mean_model  # noqa: E402
from osgeo import gdal  # noqa: E402
from rasters import gamma_scene, read_raster, write_raster  # noqa: E402

from s2v_plugin.tiled_run import CANCELLED  # noqa: E402

ALG = "speckle2void:despeckle"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return neighbour_mean_model(tmp_path_factory.mktemp("model") / "neighbour.onnx")


@pytest.fixture()
def scene(tmp_path):
    return write_raster(tmp_path / "scene.tif", gamma_scene((96, 80)))


def test_processing_run_despeckles_a_raster(processing_run, tmp_path, scene, model):
    result = processing_run(
        ALG,
        {
            "INPUT": scene,
            "MODEL": model,
            "LOOKS": 1,
            "POINT_TARGET_FACTOR": 0,
            "POINT_TARGET_PFA": 0,
            "OUTPUT": str(tmp_path / "out.tif"),
            "OUTPUT_UNCERTAINTY": str(tmp_path / "std.tif"),
        },
    )
    expected = expected_neighbour_posterior(read_raster(scene))
    np.testing.assert_allclose(read_raster(result["OUTPUT"]), expected, rtol=2e-5)
    assert os.path.exists(result["OUTPUT_UNCERTAINTY"])
    assert result["EXECUTION_PROVIDER"] == "CPUExecutionProvider"
    assert result["SCALE"] == pytest.approx(float(read_raster(scene).mean()), rel=1e-5)


def test_point_targets_are_kept_masked_and_counted(processing_run, tmp_path, model):
    image = gamma_scene((96, 80), seed=3)
    image[40, 30] = image[70, 12] = 1e5 * float(image.mean())
    image[:4, :] = -1.0
    path = write_raster(tmp_path / "in.tif", image, nodata=-1.0)
    result = processing_run(
        ALG,
        {
            "INPUT": path,
            "MODEL": model,
            "POINT_TARGET_PFA": 1e-6,
            "OUTPUT": str(tmp_path / "out.tif"),
            "OUTPUT_POINT_TARGETS": str(tmp_path / "targets.tif"),
        },
    )
    mask = read_raster(result["OUTPUT_POINT_TARGETS"])
    out = read_raster(result["OUTPUT"])
    assert mask[40, 30] == mask[70, 12] == 1 and out[40, 30] == image[40, 30]
    assert result["POINT_TARGETS"] == int((mask == 1).sum()) >= 2
    assert (mask[:4] == 255).all() and set(np.unique(mask)) <= {0, 1, 255}


def test_a_point_target_probability_of_one_is_refused(processing_run, tmp_path, scene, model):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException):
        processing_run(
            ALG,
            {
                "INPUT": scene,
                "MODEL": model,
                "POINT_TARGET_PFA": 1.0,
                "OUTPUT": str(tmp_path / "o.tif"),
            },
        )


def test_qgis_process_despeckles_a_raster(qgis_process, tmp_path, scene, model):
    out = tmp_path / "cli.tif"
    run = qgis_process("run", ALG, "--", f"INPUT={scene}", f"MODEL={model}", f"OUTPUT={out}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CPUExecutionProvider" in run.stdout
    # the defaults: no point target in this speckle, and the local-mean factor of
    # core.local_mean over the raster mirrored at its edges, as the tiles are
    from s2v_plugin.core.local_mean import RADIUS, renormalise

    image = read_raster(scene)
    posterior = expected_neighbour_posterior(image)

    def pad(array):
        return np.pad(array, RADIUS, mode="reflect")

    expected = renormalise(pad(posterior), pad(image), np.ones_like(pad(image), bool))
    expected = expected[RADIUS:-RADIUS, RADIUS:-RADIUS]
    assert np.max(np.abs(expected / posterior - 1)) > 1e-3  # the factor is not a no-op here
    np.testing.assert_allclose(read_raster(out), expected, rtol=2e-5)


def test_progress_is_monotone_within_0_and_100(processing_run, tmp_path, model):
    from qgis.core import QgsProcessingFeedback

    scene = write_raster(tmp_path / "big.tif", gamma_scene((200, 200)))
    feedback = QgsProcessingFeedback()
    seen = []
    feedback.progressChanged.connect(seen.append)
    processing_run(
        ALG,
        {"INPUT": scene, "MODEL": model, "TILE_SIZE": 64, "OUTPUT": str(tmp_path / "o.tif")},
        feedback,
    )
    assert len(seen) > 3 and seen == sorted(seen)
    assert 0 <= seen[0] and seen[-1] <= 100 and seen[-1] == pytest.approx(100)


def test_cancel_leaves_no_output(processing_run, tmp_path, model):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    scene = write_raster(tmp_path / "big.tif", gamma_scene((256, 256)))
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda value: value > 10 and feedback.cancel())
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException, match=f"^{re.escape(CANCELLED)}$"):
        processing_run(
            ALG, {"INPUT": scene, "MODEL": model, "TILE_SIZE": 32, "OUTPUT": str(out)}, feedback
        )
    assert feedback.isCanceled()
    assert not out.exists() and [n for n in os.listdir(tmp_path) if "partial" in n] == []


def _message(processing_run, parameters):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as error:
        processing_run(ALG, parameters)
    return str(error.value)


def test_bad_inputs_get_clear_messages_and_no_file(processing_run, tmp_path, scene, model):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"garbage")
    negative = write_raster(tmp_path / "neg.tif", -gamma_scene((20, 20)))
    empty = write_raster(tmp_path / "nan.tif", np.full((20, 20), np.nan, np.float32))
    out = str(tmp_path / "o.tif")
    cases = [
        ({"INPUT": scene, "MODEL": str(corrupt), "OUTPUT": out}, "not a usable ONNX model"),
        ({"INPUT": scene, "MODEL": model, "BAND": 4, "OUTPUT": out}, "band"),
        ({"INPUT": negative, "MODEL": model, "OUTPUT": out}, "negative"),
        ({"INPUT": empty, "MODEL": model, "OUTPUT": out}, "no valid pixels"),
        ({"INPUT": scene, "MODEL": model, "OUTPUT": "/proc/nope/o.tif"}, "Cannot write"),
    ]
    for parameters, text in cases:
        assert text.lower() in _message(processing_run, parameters).lower()
        assert not os.path.exists(out)


def test_cuda_without_cuda_is_refused(processing_run, tmp_path, scene, model):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    message = _message(
        processing_run,
        {"INPUT": scene, "MODEL": model, "DEVICE": 2, "OUTPUT": str(tmp_path / "o.tif")},
    )
    assert "onnxruntime-gpu" in message


def test_can_execute_explains_how_to_install_onnxruntime(qgis_app, monkeypatch):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById(ALG)
    assert algorithm.canExecute()[0]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes "import onnxruntime" fail
    available, message = algorithm.canExecute()
    assert not available and "pip install" in message and "onnxruntime" in message


def test_output_keeps_the_georeferencing(processing_run, tmp_path, scene, model):
    result = processing_run(
        ALG, {"INPUT": scene, "MODEL": model, "OUTPUT": str(tmp_path / "o.tif")}
    )
    a, b = gdal.Open(scene), gdal.Open(result["OUTPUT"])
    assert a.GetGeoTransform() == b.GetGeoTransform() and a.GetProjection() == b.GetProjection()


def test_qgis_process_logs_the_automatic_tile_and_the_memory_budget(qgis_process, tmp_path, model):
    scene = write_raster(tmp_path / "s.tif", gamma_scene((300, 280)))
    auto, fixed = tmp_path / "auto.tif", tmp_path / "fixed.tif"
    run = qgis_process("run", ALG, "--", f"INPUT={scene}", f"MODEL={model}", f"OUTPUT={auto}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "chosen from the memory budget" in run.stdout
    assert re.search(r"memory budget \d+ MB", run.stdout)
    run = qgis_process(
        "run",
        ALG,
        "--",
        f"INPUT={scene}",
        f"MODEL={model}",
        "TILE_SIZE=64",
        "THREADS=1",
        f"OUTPUT={fixed}",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Tile: 64 px (TILE_SIZE)" in run.stdout
    np.testing.assert_allclose(read_raster(fixed), read_raster(auto), rtol=1e-6)


def test_a_memory_budget_too_small_for_the_model_is_a_clear_error(processing_run, tmp_path, model):
    from qgis.core import QgsProcessingException

    scene = write_raster(tmp_path / "s.tif", gamma_scene((64, 64)))
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException, match="MEMORY_BUDGET_MB 5 is too small"):
        processing_run(
            ALG, {"INPUT": scene, "MODEL": model, "MEMORY_BUDGET_MB": 5, "OUTPUT": str(out)}
        )
    assert not out.exists()


def test_a_precision_variant_that_is_not_shipped_is_a_clear_error(processing_run, tmp_path, model):
    from qgis.core import QgsProcessingException

    scene = write_raster(tmp_path / "s.tif", gamma_scene((64, 64)))
    with pytest.raises(QgsProcessingException, match="No int8 variant"):
        processing_run(
            ALG, {"INPUT": scene, "MODEL": model, "PRECISION": 1, "OUTPUT": str(tmp_path / "o.tif")}
        )
