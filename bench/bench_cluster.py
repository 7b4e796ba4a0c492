"""Benchmark of distributed despeckling on a Dask LocalCluster: scaling, overhead, memory.

For a generated single-look intensity GeoTIFF it prints:

* megapixels per second with 1 and 2 local workers (one thread and one onnxruntime thread
  each), measured from submission to the committed output (scan and assembly included);
* the overhead against :func:`despeckle_raster` in one process with one onnxruntime thread
  (``--baseline``), and whether the outputs are identical;
* the peak resident memory of every process (client with the in-process scheduler, each
  worker), for the despeckling run and for a second raster (``--rss-size``);
* the time model ``T(N) = t_scan + ceil(tiles / N) * (t_tile + o) + t_assembly`` fitted from
  the Dask task stream (per-tile compute, scheduler overhead per task, scan and assembly), and
  its estimate for an archive on a cluster (``--archive-scenes``, ``--nodes``, ...).

Run it on a quiet machine (see README: flock and pause other work). Usage:
    python -m bench.bench_cluster [--size 4096] [--tile-size 512] [--model default|analytic]
        [--workers 1 2] [--baseline] [--rss-size 8192] [--rss-model analytic]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MB = 1024 * 1024


def write_scene_in_subprocess(path: Path, size: int) -> None:
    """Write the benchmark raster in strips, in another process (this one's RSS stays clean)."""
    code = (
        "import sys; from bench.bench_despeckle import write_scene; "
        "from pathlib import Path; write_scene(Path(sys.argv[1]), int(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(size)], cwd=ROOT, check=True)


def resolve_model(choice: str, folder: Path) -> str:
    if choice == "analytic":
        from tests.onnx_models import neighbour_mean_model

        return neighbour_mean_model(folder / "analytic.onnx", receptive_field=8)
    if choice == "default":
        from s2v_plugin.runtime.models import default_model_path

        return default_model_path()
    return choice


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_cluster(source: str, output: str, model: str, tile_size: int, workers: int) -> dict:
    """One distributed run on a fresh LocalCluster; timings from the task stream, RSS."""
    import distributed

    from s2v_plugin.cluster.runner import run_jobs
    from s2v_plugin.cluster.tasks import DespeckleJob

    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        job = DespeckleJob(source, output, model_path=model, tile_size=tile_size, device="cpu")
        with distributed.get_task_stream(client) as stream:
            started = time.perf_counter()
            [outcome] = run_jobs(client, [job])
            wall = time.perf_counter() - started
        if outcome.status != "done":
            raise SystemExit(f"run failed: {outcome.error}")
        worker_rss = client.run(_maxrss_mb)
    finally:
        client.close()
        cluster.close()
    compute = {"scan": [], "tile": [], "assemble": []}
    for record in stream.data:
        role = record["key"].split("-")[1]
        seconds = sum(
            s["stop"] - s["start"] for s in record["startstops"] if s["action"] == "compute"
        )
        compute.setdefault(role, []).append(seconds)
    tiles = len(compute["tile"])
    busy = sum(sum(values) for values in compute.values())
    tasks = sum(len(values) for values in compute.values())
    return {
        "workers": workers,
        "wall_s": wall,
        "tiles": tiles,
        "t_scan_s": sum(compute["scan"]),
        "t_assembly_s": sum(compute["assemble"]),
        "t_tile_s": sum(compute["tile"]) / max(tiles, 1),
        "overhead_per_task_s": max(0.0, (workers * wall - busy) / max(tasks, 1)),
        "client_rss_mb": _maxrss_mb(),
        "worker_rss_mb": sorted(worker_rss.values()),
        "network_s": outcome.details.get("network_seconds"),
    }


BASELINE = """
import functools, json, resource, sys, time
import s2v_plugin.despeckle as engine
# one onnxruntime thread, as on a worker (the benchmark pins it; the engine's default is all)
engine.ModelSession = functools.partial(engine.ModelSession, threads=1)
started = time.perf_counter()
engine.despeckle_raster(sys.argv[2], sys.argv[3], model_path=sys.argv[4],
                        tile_size=int(sys.argv[5]), device="cpu")
print(json.dumps({"wall_s": time.perf_counter() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_baseline(source: str, output: str, model: str, tile_size: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", BASELINE, str(ROOT), source, output, model, str(tile_size)],
        cwd=ROOT,  # "-c" imports s2v_plugin from the working directory: this checkout
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


HARDWARE = """
import json, sys, time
import numpy as np
from s2v_plugin.runtime.session import ModelSession
session = ModelSession(sys.argv[2], "cpu", threads=1)
window = np.random.default_rng(0).gamma(1.0, 1.0, (1, 1, int(sys.argv[3]), int(sys.argv[3])))
session.run(window.astype(np.float32))
started = time.perf_counter()
for _ in range(int(sys.argv[4])):
    session.run(window.astype(np.float32))
print(json.dumps({"seconds": (time.perf_counter() - started) / int(sys.argv[4])}))
"""


def hardware_scaling(model: str, window: int, repeats: int = 3) -> dict:
    """Seconds per window for 1 process alone and for 2 processes at once (no Dask): how far
    this machine's cores scale by themselves."""
    command = [sys.executable, "-c", HARDWARE, str(ROOT), model, str(window), str(repeats)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    alone = json.loads(run.stdout)
    pair = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    together = [json.loads(process.communicate()[0]) for process in pair]
    mean = sum(r["seconds"] for r in together) / 2
    return {
        "alone_s": alone["seconds"],
        "two_at_once_s": mean,
        "scaling": 2 * alone["seconds"] / mean,
    }


def max_relative_difference(a: str, b: str) -> float:
    """Largest relative difference of two rasters, read in strips."""
    import numpy as np
    from osgeo import gdal

    datasets = gdal.Open(a), gdal.Open(b)  # keep them open while their bands are read
    first, second = (dataset.GetRasterBand(1) for dataset in datasets)
    worst = 0.0
    for row in range(0, first.YSize, 256):
        rows = min(256, first.YSize - row)
        x = first.ReadAsArray(0, row, first.XSize, rows).astype(np.float64)
        y = second.ReadAsArray(0, row, first.XSize, rows).astype(np.float64)
        finite = np.isfinite(y)
        if finite.any():
            diff = np.abs(x[finite] - y[finite]) / np.maximum(np.abs(y[finite]), 1e-30)
            worst = max(worst, float(diff.max()))
    return worst


def model_time(run: dict, workers: int, tiles: int | None = None) -> float:
    tiles = run["tiles"] if tiles is None else tiles
    per_tile = run["t_tile_s"] + run["overhead_per_task_s"]
    return run["t_scan_s"] + math.ceil(tiles / workers) * per_tile + run["t_assembly_s"]


def archive_estimate(run: dict, args, size: int) -> dict:
    """Hours for ``scenes`` rasters of ``scene_mpix`` on ``nodes`` x ``cores`` single-thread
    workers, from the measured per-tile cost (per window pixel), scan and assembly rates."""
    window_pixels = (args.tile_size + 2 * run["halo"]) ** 2
    core_pixels = args.tile_size**2
    per_tile = run["t_tile_s"] + run["overhead_per_task_s"]
    tiles_per_scene = math.ceil(args.scene_mpix * 1e6 / core_pixels)
    scan_per_scene = run["t_scan_s"] * args.scene_mpix * 1e6 / size**2
    assembly_per_scene = run["t_assembly_s"] * args.scene_mpix * 1e6 / size**2
    slots = args.nodes * args.cores_per_node
    work = args.scenes * (tiles_per_scene * per_tile + scan_per_scene + assembly_per_scene)
    hours = work / slots / 3600
    return {
        "scenes": args.scenes,
        "scene_mpix": args.scene_mpix,
        "nodes": args.nodes,
        "cores_per_node": args.cores_per_node,
        "tiles_per_scene": tiles_per_scene,
        "window_mpix_per_tile": window_pixels / 1e6,
        "core_hours": work / 3600,
        "hours": hours,
        "hours_one_8_core_machine": work / 8 / 3600,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--model", default="default")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--rss-size", type=int, default=0)
    parser.add_argument("--rss-model", default="analytic")
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument("--scene-mpix", type=float, default=1200.0)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--hardware-check", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (best kept)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)

    from s2v_plugin.runtime.session import ModelSession

    figures = {"machine": f"{platform.node()} {os.cpu_count()} CPU", "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="s2v_bench_cluster_") as folder:
        folder = Path(folder)
        model = resolve_model(args.model, folder)
        card = ModelSession(model, "cpu", threads=1).card
        source = folder / f"scene_{args.size}.tif"
        write_scene_in_subprocess(source, args.size)
        mpix = args.size**2 / 1e6
        print(
            f"model {card.summary()}; raster {args.size}^2 ({mpix:.1f} MP), tile {args.tile_size}"
        )
        runs = {}
        if args.hardware_check:
            halo = -(-card.receptive_field // card.size_multiple) * card.size_multiple
            window = args.tile_size + 2 * halo
            check = hardware_scaling(model, window)
            figures["hardware"] = check
            print(
                f"hardware: one {window}^2 window {check['alone_s']:.2f} s alone, "
                f"{check['two_at_once_s']:.2f} s with two processes at once: the cores scale "
                f"{check['scaling']:.2f}x without Dask",
                flush=True,
            )
        for repeat in range(args.repeat):
            for workers in args.workers:
                output = folder / f"out_{workers}.tif"
                run = run_cluster(str(source), str(output), model, args.tile_size, workers)
                run["halo"] = -(-card.receptive_field // card.size_multiple) * card.size_multiple
                run["mp_per_s"] = mpix / run["wall_s"]
                run["repeat"] = repeat
                if workers not in runs or run["wall_s"] < runs[workers]["wall_s"]:
                    runs[workers] = run  # the best of the repeats: least disturbed by others
                print(
                    f"{workers} worker(s) x 1 thread: {run['wall_s']:.1f} s, "
                    f"{run['mp_per_s']:.4f} MP/s; tiles {run['tiles']}, per tile "
                    f"{run['t_tile_s']:.2f} s, scan {run['t_scan_s']:.2f} s, assembly "
                    f"{run['t_assembly_s']:.2f} s, overhead per task "
                    f"{run['overhead_per_task_s']:.3f} s; peak RSS client+scheduler "
                    f"{run['client_rss_mb']:.0f} MB, workers "
                    f"{', '.join(f'{r:.0f}' for r in run['worker_rss_mb'])} MB",
                    flush=True,
                )
        if 1 in runs and 2 in runs:
            speedup = runs[1]["wall_s"] / runs[2]["wall_s"]
            print(f"speed-up 2 workers / 1 worker: {speedup:.2f}x")
            figures["speedup_2_over_1"] = speedup
        first = runs[min(runs)]
        for workers in sorted(set([*runs, 4, 8, 16])):
            predicted = model_time(first, workers)
            measured = runs.get(workers, {}).get("wall_s")
            shown = f", measured {measured:.1f} s" if measured else ""
            print(f"time model, {workers} worker(s): {predicted:.1f} s{shown}")
        if args.baseline:
            base = run_baseline(str(source), str(folder / "baseline.tif"), model, args.tile_size)
            one = runs.get(1)
            if one:
                overhead = one["wall_s"] / base["wall_s"] - 1
                figures["overhead_vs_despeckle_raster"] = overhead
                print(
                    f"despeckle_raster, 1 process, 1 onnxruntime thread: {base['wall_s']:.1f} s "
                    f"({mpix / base['wall_s']:.4f} MP/s), peak RSS {base['rss_mb']:.0f} MB; "
                    f"1 worker overhead {100 * overhead:+.1f}%"
                )
                difference = max_relative_difference(
                    str(folder / "out_1.tif"), str(folder / "baseline.tif")
                )
                figures["max_relative_difference"] = difference
                print(f"largest relative difference cluster vs despeckle_raster: {difference:.2e}")
            figures["baseline"] = base
        estimate = archive_estimate(first, args, args.size)
        figures["archive"] = estimate
        print(
            f"archive estimate: {estimate['scenes']} scenes x {estimate['scene_mpix']:.0f} MP on "
            f"{estimate['nodes']} nodes x {estimate['cores_per_node']} cores: "
            f"{estimate['core_hours']:.0f} core-hours, {estimate['hours']:.1f} h "
            f"(one 8-core machine: {estimate['hours_one_8_core_machine']:.0f} h)"
        )
        figures["runs"] = runs
        if args.rss_size:
            rss_model = resolve_model(args.rss_model, folder)
            rss_source = folder / f"scene_{args.rss_size}.tif"
            write_scene_in_subprocess(rss_source, args.rss_size)
            run = run_cluster(
                str(rss_source), str(folder / "rss.tif"), rss_model, args.tile_size, 2
            )
            figures["rss_run"] = run
            print(
                f"{args.rss_size}^2 with the {args.rss_model} model, 2 workers: "
                f"{run['wall_s']:.1f} s; "
                f"peak RSS client+scheduler {run['client_rss_mb']:.0f} MB, workers "
                f"{', '.join(f'{r:.0f}' for r in run['worker_rss_mb'])} MB "
                f"(raster {args.rss_size**2 * 4 / MB:.0f} MB as float32)"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
