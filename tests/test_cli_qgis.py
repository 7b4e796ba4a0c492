"""The command line against the real Processing algorithms in QGIS: same parameters and
defaults; and despeckle's SCHEDULER key on a cluster started with ``dask scheduler`` and
``dask worker``, as the README tells users to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

require("qgis.core")
require("onnxruntime")
require("onnx")

from onnx_models import neighbour_mean_model  # noqa: E402
from rasters import gamma_scene, read_raster, write_raster  # noqa: E402

from s2v_plugin.cli.commands import NOT_OFFERED, commands  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _default(parameter):
    from qgis.core import QgsProcessingParameterEnum

    value = parameter.defaultValue()
    if isinstance(parameter, QgsProcessingParameterEnum):
        return None if value is None else int(value)
    return value


@pytest.mark.parametrize("name", ["decorrelate", "despeckle", "classicfilter", "evaluate"])
def test_every_algorithm_parameter_is_an_option_with_the_same_default(qgis_app, name):
    from qgis.core import QgsApplication, QgsProcessingParameterEnum

    command = commands()[name]
    algorithm = QgsApplication.processingRegistry().algorithmById(command.algorithm)
    options = {option.key: option for option in command.options}
    handled = {command.input_key, *command.outputs, *NOT_OFFERED.get(command.algorithm, {})}
    for parameter in algorithm.parameterDefinitions():
        key = parameter.name()
        if key in handled:
            continue
        assert key in options, f"{command.algorithm} has {key}: add it to s2v_plugin/cli/commands"
        option = options[key]
        if isinstance(parameter, QgsProcessingParameterEnum):
            assert len(parameter.options()) == len(option.choices), key
            assert option.choices.index(option.default) == _default(parameter), key
        elif key == "MODEL":  # the algorithm shows the shipped model's path; the engine's None
            assert option.default is None
        else:
            assert option.default == _default(parameter) or (
                option.default is None and _default(parameter) in (None, "")
            ), key
    assert set(options) <= {p.name() for p in algorithm.parameterDefinitions()}
    assert handled <= {p.name() for p in algorithm.parameterDefinitions()}


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and one worker started with the ``dask`` command, as a user would."""
    require("distributed")
    dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
         str(scheduler_file), *common],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1",
         "--nthreads", "1", *common],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.2)
    import distributed

    with distributed.Client(scheduler_file=str(scheduler_file), timeout=60) as client:
        client.wait_for_workers(1, timeout=60)
    yield str(scheduler_file)
    for process in (worker, scheduler):
        process.terminate()
        process.wait(timeout=30)


def test_despeckle_with_a_scheduler_runs_on_the_cluster_with_the_same_result(
    processing_run, tmp_path, dask_cluster
):
    model = neighbour_mean_model(tmp_path / "model.onnx", receptive_field=4)
    scene = write_raster(tmp_path / "scene.tif", gamma_scene((90, 70)))
    common = {"INPUT": scene, "MODEL": model, "TILE_SIZE": 32}
    here = processing_run("speckle2void:despeckle", {**common, "OUTPUT": str(tmp_path / "a.tif")})
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        lines: list = []

        def pushInfo(self, info):  # noqa: N802 (QGIS API)
            self.lines.append(info)

    feedback = Recorder()
    there = processing_run(
        "speckle2void:despeckle",
        {**common, "SCHEDULER": dask_cluster, "OUTPUT": str(tmp_path / "b.tif")},
        feedback=feedback,
    )
    assert any("Dask scheduler" in line and "1 worker" in line for line in feedback.lines)
    assert np.array_equal(read_raster(there["OUTPUT"]), read_raster(here["OUTPUT"]))
    assert there["SCALE"] == pytest.approx(here["SCALE"])
    assert there["EXECUTION_PROVIDER"] == here["EXECUTION_PROVIDER"]


def test_an_unreachable_scheduler_is_a_processing_error(processing_run, tmp_path):
    from qgis.core import QgsProcessingException

    require("distributed")
    scene = write_raster(tmp_path / "scene.tif", gamma_scene((20, 20)))
    model = neighbour_mean_model(tmp_path / "model.onnx")
    with pytest.raises(QgsProcessingException, match="Cannot reach the Dask scheduler"):
        processing_run(
            "speckle2void:despeckle",
            {"INPUT": scene, "MODEL": model, "SCHEDULER": "tcp://127.0.0.1:9",
             "OUTPUT": str(tmp_path / "out.tif")},
        )  # fmt: skip
    assert not os.path.exists(tmp_path / "out.tif")


def test_without_dask_the_scheduler_key_says_how_to_install_it(monkeypatch):
    from s2v_plugin.cluster.client import import_distributed
    from s2v_plugin.core.errors import RuntimeUnavailable

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(RuntimeUnavailable, match=r"pip install \"dask\[distributed\]\""):
        import_distributed()
