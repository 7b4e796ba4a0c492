"""Speckle2Void against the classic speckle filters: one command, one table.

1. Simulated scenes with known truth: the twelve held-out scenes of :mod:`training.heldout`
   (six CC0 scikit-image pictures never trained on, each at amplitude grey + 0.03 on 0..1 and
   grey + 1 on 0..255), turned into single-look complex SLCs with correlated speckle (Hamming
   0.5-0.7, 80-90 % of the band, an azimuth Doppler centroid of 0.1-0.25;
   :mod:`s2v_plugin.core.simulation`). Every method gets
   the decorrelated SLC's intensity (when the decorrelator is present) and is scored by PSNR and
   SSIM of the amplitude against the clean picture (peak = its maximum).
2. Real samples from ``../shared/data/sar/`` (skipped when absent): no truth, so the ratio image
   mean and variance, the ENL over automatically found homogeneous windows and the M-index.
3. Speed: megapixels per second of each method on the simulated scenes (this machine, CPU).

Speckle2Void runs once per ``models/*.onnx``; rows are left out, with a note, when no model or
no decorrelator is there yet.

Usage::

    .venv/bin/python -m bench.bench_compare [--real-size 1024] [--no-real]
                                            [--output bench/RESULTS.md] [--models A.onnx ...]
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from s2v_plugin.core import metrics  # noqa: E402
from s2v_plugin.core.classic_filters import FILTERS  # noqa: E402
from s2v_plugin.core.errors import S2VError  # noqa: E402
from s2v_plugin.core.evaluation import automatic_areas, score_method  # noqa: E402

SAR_DATA = ROOT.parent / "shared" / "data" / "sar"
# The held-out scenes of training/heldout.py (six pictures never trained on, each at 30 dB and
# 48 dB contrast), shared with training/evaluate.py.
from training.heldout import CONTRASTS, EVAL_PICTURES, heldout_scenes  # noqa: E402

SCENES = tuple(f"{p}/{c}" for p in EVAL_PICTURES for c in CONTRASTS)
LOG = logging.getLogger("bench_compare")

# Real samples: file, domain of the stored values, number of looks, SLC to decorrelate.
REAL_SAMPLES = (
    ("envisat_asar_im_hh_slc_500x500.tif", "complex", 1.0, True),
    ("uavsar_sanand138_hh_slc_150x400.tif", "complex", 1.0, True),
    ("s1a_iw3_vv_tops_slc_601x1401.tif", "complex", 1.0, False),  # TOPS: needs deramping
    ("s1_grd_homogeneous_amplitude_301x301.tif", "amplitude", 4.7, False),
    ("umbra_yasur_gec_2000x2000_u8.tif", "amplitude", 1.0, False),
)


# --- optional parts ------------------------------------------------------------------------


def decorrelator():
    """``decorrelate_array`` or None when the module is not there (yet)."""
    try:
        from s2v_plugin.decorrelate import decorrelate_array
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        LOG.warning("decorrelation unavailable: %s", exc)
        return None
    return decorrelate_array


def speckle2void_models(paths: list[str] | None = None) -> list[Path]:
    """The given ONNX models, else every shipped one (``models/*.onnx``), when onnxruntime and
    the despeckler are importable."""
    models = [Path(p) for p in paths] if paths else sorted((ROOT / "models").glob("*.onnx"))
    if not models:
        return []
    try:
        import onnxruntime  # noqa: F401

        from s2v_plugin.despeckle import despeckle_array  # noqa: F401
    except ImportError as exc:  # pragma: no cover
        LOG.warning("Speckle2Void unavailable: %s", exc)
        return []
    return models


# --- methods -------------------------------------------------------------------------------


def methods(models: list[Path]):
    """(label, function(intensity, looks) -> intensity) for every method."""
    out = []
    for path in models:
        from s2v_plugin.despeckle import despeckle_array

        def run(intensity, looks, path=path):
            return despeckle_array(intensity.astype(np.float32), str(path), looks=looks,
                                   tile_size=512)  # fmt: skip

        out.append((f"Speckle2Void ({path.stem})", run))
    for spec in FILTERS:
        window = spec.default_window

        def run(intensity, looks, spec=spec, window=window):
            return spec.function(intensity, window, looks)

        out.append((f"{spec.label} {window}x{window}", run))
    return out


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


# --- simulated scenes ----------------------------------------------------------------------


def run_simulated(size: int, models: list[Path], decorrelate) -> tuple[dict, dict, list[str]]:
    """PSNR/SSIM per (method, scene) and (pixels, seconds) per method."""
    scores, speed, notes = {}, {}, []
    for scene in heldout_scenes():
        name, slc = scene.name, scene.slc
        truth = np.sqrt(scene.truth)  # amplitude
        if decorrelate is not None:
            whitened, seconds = timed(lambda s: decorrelate(s, remove_oversampling=False)[0], slc)
            speed.setdefault("Decorrelation (SLC whitening)", [0, 0.0])
            speed["Decorrelation (SLC whitening)"][0] += slc.size
            speed["Decorrelation (SLC whitening)"][1] += seconds
        else:
            whitened = slc
        intensity = (np.abs(whitened) ** 2).astype(np.float32)
        noisy_amp = np.sqrt(intensity)
        scores[("Noisy (single look)", name)] = (
            metrics.psnr(noisy_amp, truth, truth.max()),
            metrics.ssim(noisy_amp, truth, truth.max() - truth.min()),
        )
        runs = [(label, function, intensity) for label, function in methods(models)]
        if decorrelate is not None:  # what skipping the decorrelation costs
            raw = (np.abs(slc) ** 2).astype(np.float32)
            runs += [
                (f"{label}, no decorrelation", function, raw)
                for label, function in methods(models)
                if label.startswith(("Speckle2Void", "Lee 7x7"))
            ]
        for label, function, image in runs:
            estimate, seconds = timed(function, image, 1.0)
            amplitude = np.sqrt(np.maximum(estimate, 0.0))
            scores[(label, name)] = (
                metrics.psnr(amplitude, truth, truth.max()),
                metrics.ssim(amplitude, truth, truth.max() - truth.min()),
            )
            if "no decorrelation" not in label:
                entry = speed.setdefault(label, [0, 0.0])
                entry[0] += image.size
                entry[1] += seconds
        LOG.info("scene %s done", name)
    if decorrelate is None:
        notes.append("Decorrelator not available: methods ran on the correlated SLC intensity.")
    return scores, speed, notes


# --- real samples --------------------------------------------------------------------------


def read_sample(path: Path, domain: str, max_side: int) -> np.ndarray:
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    rows, cols = dataset.RasterYSize, dataset.RasterXSize
    r, c = min(rows, max_side), min(cols, max_side)
    r0, c0 = (rows - r) // 2, (cols - c) // 2
    data = dataset.GetRasterBand(1).ReadAsArray(c0, r0, c, r)
    if domain == "complex":
        return data.astype(np.complex64)
    return data.astype(np.float64)


def run_real(max_side: int, models: list[Path], decorrelate) -> tuple[dict, list[str], list]:
    """(ENL, ratio mean, ratio variance, M-index) per (method, sample)."""
    results, notes, samples = {}, [], []
    if not SAR_DATA.is_dir():
        return results, [f"Real samples skipped: {SAR_DATA} not found."], samples
    for filename, domain, looks, is_slc in REAL_SAMPLES:
        path = SAR_DATA / filename
        if not path.exists():
            notes.append(f"{filename} missing; skipped.")
            continue
        data = read_sample(path, domain, max_side)
        label = filename.split("_")[0]
        if domain == "complex":
            if is_slc and decorrelate is not None:
                try:
                    data = decorrelate(data, remove_oversampling=True)[0]
                    label += " (decorrelated)"
                except S2VError as exc:
                    notes.append(f"{filename}: not decorrelated ({exc}).")
            elif is_slc:
                notes.append(f"{filename}: decorrelator unavailable, raw SLC intensity used.")
            else:
                notes.append(f"{filename}: TOPS burst, not decorrelated (needs deramping).")
            intensity = np.abs(data) ** 2
        else:
            intensity = data**2
        intensity = intensity.astype(np.float32)
        samples.append((label, intensity.shape, looks))
        try:
            areas = automatic_areas(intensity)
        except S2VError as exc:
            notes.append(f"{filename}: {exc}")
            continue
        results[("Noisy (input)", label)] = (
            float(np.mean([metrics.enl(area.values(intensity)) for area in areas])),
            None,
            None,
            None,
        )
        for method, function in methods(models):
            try:
                estimate = function(intensity, looks)
                scores, _ = score_method(method, intensity, estimate, areas)
            except S2VError as exc:
                notes.append(f"{filename}, {method}: {exc}")
                continue
            results[(method, label)] = (
                scores.enl,
                scores.ratio_mean,
                scores.ratio_variance,
                scores.m_index.value,
            )
        LOG.info("sample %s done", filename)
    return results, notes, samples


# --- output --------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(size, real_size, sim, speed, real, samples, notes, models) -> str:
    labels = list(dict.fromkeys(label for label, _ in sim))
    sim_rows = []
    for label in labels:
        cells = [f"{sim[(label, s)][0]:.2f} / {sim[(label, s)][1]:.3f}" for s in SCENES]
        mean_psnr = np.mean([sim[(label, s)][0] for s in SCENES])
        mean_ssim = np.mean([sim[(label, s)][1] for s in SCENES])
        sim_rows.append([label, *cells, f"**{mean_psnr:.2f} / {mean_ssim:.3f}**"])
    speed_rows = [
        [label, f"{pixels / seconds / 1e6:.2f}"] for label, (pixels, seconds) in speed.items()
    ]
    sample_labels = [label for label, _, _ in samples]
    real_rows = []
    for label in dict.fromkeys(method for method, _ in real):
        cells = []
        for sample in sample_labels:
            value = real.get((label, sample))
            if value is None:
                cells.append("&ndash;")
            elif value[1] is None:
                cells.append(f"{value[0]:.2f}")
            else:
                cells.append(f"{value[0]:.1f} / {value[1]:.3f} / {value[2]:.3f} / {value[3]:.1f}")
        real_rows.append([label, *cells])
    model_text = (
        ", ".join(f"{p.name} (sha256 {file_digest(p)})" for p in models)
        if models
        else "none found in models/"
    )
    parts = [
        "# Benchmark: Speckle2Void and the classic speckle filters",
        "",
        f"Generated by `python -m bench.bench_compare` on {datetime.date.today().isoformat()}, "
        f"commit `{commit()}`, on {machine()} (CPU only). Models: {model_text}.",
        "",
        "## Simulated single-look SLC scenes (truth known)",
        "",
        "PSNR (dB) / SSIM of the amplitude against the clean picture (peak = its maximum). "
        "Scenes: the held-out scenes of training/heldout.py (camera, astronaut, coins, moon, "
        "rocket, clock, never trained on, each at amplitude grey + 0.03 on 0..1 and grey + 1 "
        "on 0..255), single-look complex speckle correlated by Hamming 0.5-0.7, 80-90 % of the "
        "band and an azimuth Doppler centroid of 0.1-0.25, then decorrelated (oversampling "
        "kept); every method sees the same decorrelated intensity with L = 1. Classic filters: "
        "window 7 (Lee Sigma 9), defaults otherwise.",
        "",
        table(["Method", *SCENES, "mean"], sim_rows),
        "",
        "## Speed (megapixels per second, this machine, CPU)",
        "",
        table(["Method", "Mpx/s"], speed_rows),
        "",
    ]
    if samples:
        sample_head = [f"{label} ({shape[1]}x{shape[0]}, L={looks:g})"
                       for label, shape, looks in samples]  # fmt: skip
        parts += [
            f"## Real samples (../shared/data/sar/, centre crops of at most {real_size} px)",
            "",
            "ENL of the estimate over automatically found homogeneous windows / ratio image "
            "mean (ideal 1) / ratio variance (ideal 1/L) / M-index (ideal 0). No truth: a high "
            "ENL alone is not a virtue if the ratio image departs from pure speckle.",
            "",
            table(["Method", *sample_head], real_rows),
            "",
        ]
    if notes:
        parts += ["## Notes", "", *[f"- {note}" for note in dict.fromkeys(notes)], ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size", type=int, default=512, help="ignored: the held-out scenes keep their sizes"
    )
    parser.add_argument("--real-size", type=int, default=1024, help="max side of real crops")
    parser.add_argument("--no-real", action="store_true", help="skip the real samples")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--models", nargs="*", help="ONNX models (default: models/*.onnx)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("s2v_plugin").setLevel(logging.WARNING)  # engine run logs
    decorrelate = decorrelator()
    models = speckle2void_models(args.models)
    notes = [] if models else ["No Speckle2Void model in models/: its rows are missing."]
    sim, speed, sim_notes = run_simulated(args.size, models, decorrelate)
    real, real_notes, samples = (
        ({}, [], []) if args.no_real else run_real(args.real_size, models, decorrelate)
    )
    text = render(args.size, args.real_size, sim, speed, real, samples,
                  notes + sim_notes + real_notes, models)  # fmt: skip
    print(text)
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
