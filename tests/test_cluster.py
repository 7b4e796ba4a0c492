"""Distributed despeckling on a real Dask LocalCluster (2 worker processes), faults included.

Every result is compared with :func:`s2v_plugin.despeckle.despeckle_raster` in this process.
"""

from __future__ import annotations

import glob
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

require("onnxruntime")
require("onnx")
distributed = require("distributed")

from onnx_models import neighbour_mean_model, slow_neighbour_model  # noqa: E402
from osgeo import gdal  # noqa: E402
from rasters import gamma_scene, read_raster, write_raster  # noqa: E402

from s2v_plugin.cluster.runner import run_jobs  # noqa: E402
from s2v_plugin.cluster.tasks import DespeckleJob  # noqa: E402
from s2v_plugin.despeckle import despeckle_raster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {
        "wide": neighbour_mean_model(folder / "wide.onnx", receptive_field=6),
        "slow": slow_neighbour_model(folder / "slow.onnx"),
    }


def leftovers(folder) -> list[str]:
    names = glob.glob(os.path.join(str(folder), ".*"))
    return sorted(name for name in names if "partial" in name or name.endswith(".blocks"))


def assert_same_raster(actual: str, expected: str) -> None:
    a, b = gdal.Open(actual), gdal.Open(expected)
    assert (a.RasterXSize, a.RasterYSize) == (b.RasterXSize, b.RasterYSize)
    assert a.GetGeoTransform() == b.GetGeoTransform()
    assert a.GetProjection() == b.GetProjection()
    created = "S2V_CREATED"  # the time of each run
    assert {k: v for k, v in a.GetMetadata().items() if k != created} == {
        k: v for k, v in b.GetMetadata().items() if k != created
    }
    band_a, band_b = a.GetRasterBand(1), b.GetRasterBand(1)
    assert str(band_a.GetNoDataValue()) == str(band_b.GetNoDataValue())  # nan == nan
    assert band_a.GetDescription() == band_b.GetDescription()
    assert band_a.GetUnitType() == band_b.GetUnitType()
    assert band_a.GetBlockSize() == band_b.GetBlockSize()
    x, y = band_a.ReadAsArray().astype(np.float64), band_b.ReadAsArray().astype(np.float64)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    finite = np.isfinite(y)
    assert np.max(np.abs(x[finite] - y[finite]) / np.maximum(np.abs(y[finite]), 1e-30)) <= (
        TOLERANCE
    )


def test_local_cluster_output_equals_the_single_process_output(tmp_path, client, models):
    image = gamma_scene((230, 301), seed=3) ** 0.5  # amplitude
    image[40:60, 10:30] = -1.0  # nodata
    image[100, 100] = 500.0  # a point target
    source = write_raster(tmp_path / "in.tif", image, nodata=-1.0)
    options = dict(model_path=models["wide"], tile_size=48, domain="amplitude")
    despeckle_raster(
        source, str(tmp_path / "ref.tif"), uncertainty_path=str(tmp_path / "ref_std.tif"), **options
    )
    job = DespeckleJob(
        source,
        str(tmp_path / "out.tif"),
        uncertainty_path=str(tmp_path / "out_std.tif"),
        **options,
    )
    [outcome] = run_jobs(client, [job])
    assert outcome.status == "done", outcome.error
    assert outcome.details["tiles"] == 35 and outcome.details["point_targets"] >= 1
    assert_same_raster(str(tmp_path / "out.tif"), str(tmp_path / "ref.tif"))
    assert_same_raster(str(tmp_path / "out_std.tif"), str(tmp_path / "ref_std.tif"))
    assert leftovers(tmp_path) == []


def test_a_worker_killed_mid_run_costs_a_retry_and_the_output_is_identical(
    tmp_path, client, models
):
    source = write_raster(tmp_path / "in.tif", gamma_scene((640, 640), seed=4))
    options = dict(model_path=models["slow"], tile_size=64, device="cpu")
    despeckle_raster(source, str(tmp_path / "ref.tif"), **options)
    before = client.run(os.getpid)
    outcomes = []
    runner = threading.Thread(
        target=lambda: outcomes.extend(
            run_jobs(client, [DespeckleJob(source, str(tmp_path / "out.tif"), **options)])
        )
    )
    runner.start()
    deadline = time.monotonic() + 120
    while not glob.glob(str(tmp_path / ".*.blocks" / "mean" / "block_*.tif")):
        assert time.monotonic() < deadline and runner.is_alive(), "no block was ever written"
        time.sleep(0.02)
    done_before_kill = len(glob.glob(str(tmp_path / ".*.blocks" / "mean" / "block_*.tif")))
    busy = [address for address, keys in client.processing().items() if keys]
    assert busy, "no worker was busy"
    os.kill(before[busy[0]], signal.SIGKILL)
    runner.join(timeout=300)
    assert not runner.is_alive()
    [outcome] = outcomes
    assert outcome.status == "done", outcome.error
    assert done_before_kill < 100  # the kill happened in the middle of the run
    after = client.run(os.getpid)
    assert before[busy[0]] not in after.values()  # the killed process is gone, replaced
    assert_same_raster(str(tmp_path / "out.tif"), str(tmp_path / "ref.tif"))
    assert leftovers(tmp_path) == []


def cli(*args, timeout=240, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "s2v_plugin", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )


def test_an_unreachable_scheduler_is_a_clear_error_within_the_timeout(tmp_path, models):
    source = write_raster(tmp_path / "in.tif", gamma_scene((40, 40)))
    started = time.monotonic()
    result = cli(
        "despeckle", source, "--model", models["wide"], "--scheduler", "tcp://127.0.0.1:9",
        "--timeout", "3",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 3 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 3 + 15  # the timeout plus the interpreter's start-up
    assert not os.path.exists(tmp_path / "in_despeckled.tif")


def test_a_bad_file_in_a_batch_fails_alone_with_its_reason(tmp_path, client, models):
    good = [write_raster(tmp_path / f"good{i}.tif", gamma_scene((50, 60), seed=i)) for i in (1, 2)]
    bad = tmp_path / "broken.tif"
    bad.write_text("not a raster")
    write_raster(tmp_path / "negative.tif", -gamma_scene((30, 30)))
    summary = tmp_path / "run.json"
    result = cli(
        "despeckle", str(tmp_path / "*.tif"), "-o", str(tmp_path / "out"), "--model",
        models["wide"], "--tile-size", "32", "--scheduler", client.scheduler.address,
        "--summary", str(summary), "--quiet",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    import json

    outcomes = {Path(o["input"]).name: o for o in json.loads(summary.read_text())["inputs"]}
    assert {name: o["status"] for name, o in outcomes.items()} == {
        "broken.tif": "failed",
        "good1.tif": "done",
        "good2.tif": "done",
        "negative.tif": "failed",
    }
    assert "Cannot open raster" in outcomes["broken.tif"]["error"]
    assert "negative value" in outcomes["negative.tif"]["error"]
    assert f"FAILED {bad}: Cannot open raster" in result.stderr
    for path in good:
        reference = tmp_path / f"ref_{Path(path).name}"
        despeckle_raster(path, str(reference), model_path=models["wide"], tile_size=32)
        assert_same_raster(
            str(tmp_path / "out" / f"{Path(path).stem}_despeckled.tif"), str(reference)
        )
    assert sorted(os.listdir(tmp_path / "out")) == ["good1_despeckled.tif", "good2_despeckled.tif"]


def test_ctrl_c_leaves_no_partial_output(tmp_path, models):
    source = write_raster(tmp_path / "in.tif", gamma_scene((640, 640), seed=5))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "s2v_plugin", "despeckle", source, "--model", models["slow"],
         "--tile-size", "64", "--workers", "2", "--threads-per-worker", "1", "--quiet",
         "--timeout", "120"],  # a loaded machine may take long to start the workers
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # A test run started in the background inherits an ignored SIGINT, which Python then
        # leaves ignored: give the command line the disposition a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not glob.glob(str(tmp_path / ".*.blocks" / "mean" / "block_*.tif")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output, errors = process.communicate()
            pytest.fail(f"no block written: exit {process.returncode}, {errors[-2000:]}")
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=240)
    tail = stderr[-2000:]  # the end of a traceback says why
    assert process.returncode == 130, tail
    assert "interrupted; partial outputs were removed" in stderr, tail
    assert not os.path.exists(tmp_path / "in_despeckled.tif")
    assert leftovers(tmp_path) == [], tail
    time.sleep(1.0)  # a worker task still running after the cleanup would write now
    assert leftovers(tmp_path) == []


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that honours byte ranges, as GDAL's /vsicurl/ needs."""

    def log_message(self, *args):
        pass

    def send_head(self):
        header = self.headers.get("Range")
        path = self.translate_path(self.path)
        if not header or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        first, last = header.replace("bytes=", "").split("-")
        first, last = int(first), min(int(last) if last else size - 1, size - 1)
        stream = open(path, "rb")  # noqa: SIM115 (closed by the base class)
        stream.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = last - first + 1
        return stream

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(remaining))


@pytest.fixture()
def http_folder(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = lambda *a, **k: RangeHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_workers_read_vsicurl_paths_from_a_local_http_server(tmp_path, client, models, http_folder):
    served, url = http_folder
    image = gamma_scene((120, 90), seed=6)
    write_raster(served / "remote.tif", image)
    local = write_raster(tmp_path / "local.tif", image)
    despeckle_raster(local, str(tmp_path / "ref.tif"), model_path=models["wide"], tile_size=32)
    result = cli(
        "despeckle", f"/vsicurl/{url}/remote.tif", "-o", f"{tmp_path / 'out'}/", "--model",
        models["wide"], "--tile-size", "32", "--scheduler", client.scheduler.address, "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "remote_despeckled.tif"
    assert np.array_equal(read_raster(out), read_raster(tmp_path / "ref.tif"))


@pytest.mark.slow
def test_the_shipped_model_gives_the_same_output_on_the_cluster(tmp_path, client):
    from s2v_plugin.runtime.models import default_model_path

    if default_model_path() is None:
        pytest.skip("no shipped model")
    source = write_raster(tmp_path / "in.tif", gamma_scene((128, 100), seed=7))
    despeckle_raster(source, str(tmp_path / "ref.tif"), tile_size=64, device="cpu")
    job = DespeckleJob(source, str(tmp_path / "out.tif"), tile_size=64, device="cpu")
    [outcome] = run_jobs(client, [job])
    assert outcome.status == "done", outcome.error
    assert_same_raster(str(tmp_path / "out.tif"), str(tmp_path / "ref.tif"))


def test_workers_choose_the_tile_from_the_memory_budget_like_despeckle_raster(
    tmp_path, client, models
):
    source = write_raster(tmp_path / "in.tif", gamma_scene((700, 600), seed=8))
    options = dict(model_path=models["wide"], memory_budget_mb=300.0, precision="fp32")
    report = despeckle_raster(source, str(tmp_path / "ref.tif"), **options)
    [outcome] = run_jobs(client, [DespeckleJob(source, str(tmp_path / "out.tif"), **options)])
    assert outcome.status == "done", outcome.error
    assert 1 < outcome.details["tiles"] == report.tiles  # the budget forced several tiles
    assert outcome.details["tile_size"] == report.tile_size
    assert_same_raster(str(tmp_path / "out.tif"), str(tmp_path / "ref.tif"))
