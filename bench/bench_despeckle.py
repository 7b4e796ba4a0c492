"""Benchmark of ``qgis_process run speckle2void:despeckle``: this tree against an older commit.

For each size it writes a single-look intensity GeoTIFF (gamma speckle on a smooth scene, in
strips), then runs the whole ``qgis_process.bin run speckle2void:despeckle`` at default settings
with each version of the plugin (each with its own shipped model), ``--runs`` times, and prints
for the best run of each: megapixels per second net of qgis_process start-up (measured on a
64 x 64 raster), the peak resident memory of the whole qgis_process, the tile size, the execution
provider and the share of time outside the network (from the algorithm's log).

The older version is extracted with ``git archive`` into a temporary folder.

Usage:
    python -m bench.bench_despeckle [--sizes 2048 8192] [--old b63bb0c] [--runs 2]
                                    [--pause-pgid-file /work/train.pgid] [--no-old]
                                    [--new-args PRECISION=1 ...]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "speckle2void"
ALG = "speckle2void:despeckle"
# Runs a command and prints its peak resident memory (kB) on the last line of stderr.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print('PEAK_KB', usage.ru_maxrss, file=sys.stderr)\n"
    "print('CPU_S', usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


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


def extract_commit(commit: str, folder: Path) -> Path:
    """The plugin tree of ``commit`` (``git archive``), without touching the worktrees."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    target = folder / f"tree-{commit}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target)  # our own repository's archive
    return target


class Version:
    """One plugin tree installed in its own QGIS profile."""

    def __init__(self, label: str, tree: Path, folder: Path, extra: tuple = ()) -> None:
        self.label = label
        self.extra = list(extra)
        plugins = folder / f"plugins-{label}"
        plugins.mkdir()
        (plugins / PLUGIN).symlink_to(tree, target_is_directory=True)
        profile = folder / f"profile-{label}"
        (profile / "runtime").mkdir(parents=True, mode=0o700)
        self.env = dict(os.environ)
        site = [p for p in sys.path if p.endswith("site-packages")]
        self.env["PYTHONPATH"] = os.pathsep.join(site)
        self.env.update(
            QGIS_PLUGINPATH=str(plugins),
            QT_QPA_PLATFORM="offscreen",
            HOME=str(profile),
            XDG_RUNTIME_DIR=str(profile / "runtime"),
            PYTHONNOUSERSITE="1",
        )
        self.binary = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
        subprocess.run(
            [self.binary, "plugins", "enable", PLUGIN], env=self.env, capture_output=True
        )

    def run(self, source: Path, output: Path) -> dict:
        """One despeckling run at default settings: wall seconds, peak MB and the log's figures."""
        command = [self.binary, "run", ALG, "--", f"INPUT={source}", f"OUTPUT={output}"]
        command += self.extra
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PEAK_WRAPPER, *command],
            env=self.env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{self.label} failed:\n{done.stdout}\n{done.stderr}")
        peak_kb = int(re.findall(r"PEAK_KB (\d+)", done.stderr)[-1])
        cpu = float(re.findall(r"CPU_S ([\d.]+)", done.stderr)[-1])
        log = done.stdout
        network = re.search(r"network ([\d.]+) s of ([\d.]+) s", log)
        tile = re.search(r"tile\(s\) of (\d+) px", log)
        provider = re.search(r"Execution provider: (\w+)", log)
        output.unlink(missing_ok=True)
        return {
            "wall": wall,
            "cpu": cpu,
            "peak_mb": peak_kb / 1024,
            "network": float(network.group(1)) if network else float("nan"),
            "engine": float(network.group(2)) if network else float("nan"),
            "tile": int(tile.group(1)) if tile else 0,
            "provider": provider.group(1) if provider else "?",
        }


@contextmanager
def training_paused(pgid_file: str | None):
    """SIGSTOP the process group in ``pgid_file`` (a background training run) and always
    SIGCONT it afterwards."""
    pgid = None
    if pgid_file and Path(pgid_file).is_file():
        pgid = int(Path(pgid_file).read_text().strip())
        try:
            os.killpg(pgid, signal.SIGSTOP)
            print(f"paused process group {pgid} ({pgid_file})")
        except ProcessLookupError:
            pgid = None
    try:
        yield
    finally:
        if pgid is not None:
            os.killpg(pgid, signal.SIGCONT)
            print(f"resumed process group {pgid}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--old", default="b63bb0c", help="commit to compare with")
    parser.add_argument("--no-old", action="store_true", help="only this tree")
    parser.add_argument("--runs", type=int, default=2, help="runs per version, best kept")
    parser.add_argument("--pause-pgid-file", help="process group to pause during the runs")
    parser.add_argument(
        "--new-args", nargs="*", default=[], help="KEY=VALUE parameters of the new runs only"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s2v-bench-") as tmp:
        folder = Path(tmp)
        versions = [Version("new", ROOT, folder, tuple(args.new_args))]
        if not args.no_old:
            versions.insert(0, Version(args.old, extract_commit(args.old, folder), folder))
        print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU(s)")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        tiny = folder / "tiny.tif"
        write_scene(tiny, 64)
        with training_paused(args.pause_pgid_file):
            tiny_runs = {
                v.label: [v.run(tiny, folder / "t.tif") for _ in range(2)] for v in versions
            }
            startup = {label: min(r["wall"] for r in runs) for label, runs in tiny_runs.items()}
            startup_cpu = {label: min(r["cpu"] for r in runs) for label, runs in tiny_runs.items()}
            for label, seconds in startup.items():
                print(
                    f"qgis_process start-up ({label}, 64 x 64 run): {seconds:.1f} s, "
                    f"{startup_cpu[label]:.1f} CPU s"
                )
            header = ("size", "version", "MP/s", "wall s", "net s", "CPU s", "outside %", "peak MB")
            print(
                "{:>11} {:>8} {:>7} {:>8} {:>8} {:>8} {:>9} {:>8}  tile, provider".format(*header)
            )
            results = {}
            for size in args.sizes:
                source = folder / f"in_{size}.tif"
                write_scene(source, size)
                for version in versions:
                    runs = [
                        version.run(source, folder / f"out_{size}.tif") for _ in range(args.runs)
                    ]
                    best = min(runs, key=lambda r: r["wall"])
                    net = best["wall"] - startup[version.label]
                    outside = 100 * (1 - best["network"] / best["engine"])
                    mps = size * size / 1e6 / net
                    cpu = min(r["cpu"] for r in runs) - startup_cpu[version.label]
                    results[(size, version.label)] = (mps, cpu)
                    print(
                        f"{size:>5}x{size:<5} {version.label:>8} {mps:>7.3f} {best['wall']:>8.1f} "
                        f"{net:>8.1f} {cpu:>8.1f} {outside:>9.1f} "
                        f"{max(r['peak_mb'] for r in runs):>8.0f}  {best['tile']} px, "
                        f"{best['provider']}"
                    )
                if not args.no_old:
                    (new, new_cpu), (old, old_cpu) = (
                        results[(size, "new")],
                        results[(size, args.old)],
                    )
                    print(
                        f"{'':>11} speed-up new / {args.old}: {new / old:.2f}x (wall, net of "
                        f"start-up), {old_cpu / new_cpu:.2f}x (CPU time, net of start-up)"
                    )
                source.unlink()
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
