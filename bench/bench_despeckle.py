"""Benchmark of the despeckling engine: speed, peak memory and time outside the network.

For each size it generates a single-look intensity GeoTIFF (gamma speckle on a smooth scene,
written in strips), despeckles it in a fresh subprocess, and prints megapixels per second,
the peak resident memory of that subprocess and the share of time spent outside the network
(reading, normalisation, stitching, writing).

Usage:
    python -m bench.bench_despeckle [--sizes 2048 8192] [--model default|analytic|PATH]
                                    [--tile-size 1024] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_scene(path: Path, size: int, seed: int = 0) -> None:
    from osgeo import gdal

    gdal.UseExceptions()
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), size, size, 1, gdal.GDT_Float32, ["TILED=YES", "BIGTIFF=IF_SAFER"]
    )
    rng = np.random.default_rng(seed)
    strip = 512
    cols = np.arange(size)
    for row in range(0, size, strip):
        rows = np.arange(row, min(row + strip, size))[:, None]
        clean = 1.0 + 0.5 * np.sin(rows / 40.0) * np.cos(cols / 55.0) + (cols > size // 2)
        speckle = rng.gamma(1.0, 1.0, size=(len(rows), size))
        dataset.GetRasterBand(1).WriteArray((clean * speckle).astype(np.float32), 0, row)
    dataset = None


def resolve_model(choice: str, folder: Path) -> str:
    if choice == "analytic":
        from tests.onnx_models import neighbour_mean_model

        return neighbour_mean_model(folder / "analytic.onnx")
    if choice == "default":
        from s2v_plugin.runtime.models import default_model_path

        path = default_model_path()
        if path is None:
            print("No shipped model yet: using the analytic 8-neighbour model.")
            return resolve_model("analytic", folder)
        return path
    return choice


def child(args) -> None:
    """Runs in a subprocess so that its peak memory is its own."""
    from s2v_plugin.despeckle import despeckle_raster

    started = time.perf_counter()
    report = despeckle_raster(
        args.input, args.output, model_path=args.model, tile_size=args.tile_size, device=args.device
    )
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "network": report.network_seconds,
                "peak_mb": peak_mb,
                "provider": report.execution_provider,
                "tiles": report.tiles,
                "halo": report.halo,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--model", default="default")
    parser.add_argument("--tile-size", type=int, default=1024)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="s2v-bench-") as tmp:
        folder = Path(tmp)
        model = resolve_model(args.model, folder)
        print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU(s)")
        print(f"model: {model}, tile size {args.tile_size}, device {args.device}")
        header = ("size", "MP/s", "wall s", "network s", "outside %", "peak MB")
        print("{:>11} {:>8} {:>8} {:>10} {:>10} {:>8}".format(*header))
        for size in args.sizes:
            source = folder / f"in_{size}.tif"
            write_scene(source, size)
            command = [
                sys.executable,
                "-m",
                "bench.bench_despeckle",
                "--child",
                "--input",
                str(source),
                "--output",
                str(folder / f"out_{size}.tif"),
                "--model",
                model,
                "--tile-size",
                str(args.tile_size),
                "--device",
                args.device,
            ]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            megapixels = size * size / 1e6
            outside = 100 * (1 - figures["network"] / figures["wall"])
            print(
                f"{size:>5}x{size:<5} {megapixels / figures['wall']:>8.2f} {figures['wall']:>8.1f} "
                f"{figures['network']:>10.1f} {outside:>10.1f} {figures['peak_mb']:>8.0f}"
                f"   ({figures['provider']}, {figures['tiles']} tiles, halo {figures['halo']})"
            )
            source.unlink()
            (folder / f"out_{size}.tif").unlink()


if __name__ == "__main__":
    main()
