"""Export a trained Speckle2Void network to ONNX with the model card embedded.

    python -m training.export --checkpoint runs/fast/checkpoint.pt --out models/my_model.onnx

The ONNX graph has one input ``intensity`` (float32 ``N x 1 x H x W``, dynamic N, H, W; H and W
multiples of the card's ``size_multiple``) and two outputs ``alpha`` and ``beta`` of the same shape.
The card (:class:`s2v_plugin.runtime.model_card.ModelCard`) is stored as JSON under
:data:`~s2v_plugin.runtime.model_card.METADATA_KEY`; its receptive field is measured, not declared.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from s2v_plugin.core.point_targets import DEFAULT_PFA  # noqa: E402
from s2v_plugin.runtime.model_card import (  # noqa: E402
    INPUT_NAME,
    METADATA_KEY,
    OUTPUT_NAMES,
    ModelCard,
)
from training.model import ModelConfig, Speckle2Void, build_model  # noqa: E402
from training.onnx_graph import build_graph  # noqa: E402
from training.receptive import measure_receptive_field  # noqa: E402

LOG = logging.getLogger(__name__)
OPSET = 17
# onnxruntime 1.14 (the oldest a QGIS user is likely to have) reads IR version 8
IR_VERSION = 8
GRAPH = "direct (training/onnx_graph.py: no Pad nodes, rotated kernels)"


def git_commit() -> str:
    """Short commit of the repository (``unknown`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def make_card(
    cfg: ModelConfig,
    name: str,
    model_version: str,
    looks: float = 1.0,
    point_target_factor: float = 50.0,
    training: dict | None = None,
    metrics: dict | None = None,
    extra: dict | None = None,
    receptive_field: int | None = None,
    point_target_pfa: float = DEFAULT_PFA,
) -> ModelCard:
    """The model card of a network with configuration ``cfg``; measures the receptive field
    unless it is given, and refuses a network whose blind spot is broken."""
    if receptive_field is None:
        measured = measure_receptive_field(cfg)
        if measured["centre_seen"]:
            raise ValueError("the network sees its own centre pixel: the blind spot is broken")
        receptive_field = measured["radius"]
    training = dict(training or {})
    training.setdefault("config", cfg.to_dict())
    base_extra = {
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "framework": f"torch {torch.__version__}",
        "opset": OPSET,
        "graph": GRAPH,
    }
    return ModelCard(
        name=name,
        model_version=model_version,
        receptive_field=int(receptive_field),
        looks=float(looks),
        normalisation="mean",
        point_target_factor=float(point_target_factor),
        point_target_pfa=float(point_target_pfa),
        size_multiple=cfg.size_multiple,
        training=training,
        metrics=dict(metrics or {}),
        extra={**base_extra, **(extra or {})},
    )


def export_onnx(model: Speckle2Void, path: str | Path, card: ModelCard) -> Path:
    """Write ``model`` (moved to CPU, eval mode) as ONNX with ``card`` in its metadata.

    The graph is written from the weights by :func:`training.onnx_graph.build_graph` (no
    ``Pad`` nodes, no rotated activations), not traced; :func:`onnx_parity` checks it against
    PyTorch.
    """
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").eval()
    proto = onnx.helper.make_model(
        build_graph(model), opset_imports=[onnx.helper.make_opsetid("", OPSET)]
    )
    proto.ir_version = min(proto.ir_version, IR_VERSION)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = card.to_json()
    proto.producer_name = "speckle2void-training"
    proto.doc_string = card.summary()
    onnx.checker.check_model(proto, full_check=True)
    tmp = path.with_suffix(".tmp.onnx")
    onnx.save(proto, str(tmp))
    tmp.replace(path)
    LOG.info("exported %s (%s)", path, card.summary())
    return path


def load_checkpoint_model(checkpoint: str | Path) -> tuple[Speckle2Void, dict]:
    """Rebuild the network of a training checkpoint (CPU, eval mode) and return it with the
    checkpoint's metadata (config, step, elapsed time...)."""
    state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    model = build_model(state["config"]["model"])
    model.load_state_dict(state["model"])
    return model.eval(), state


def onnx_parity(model: Speckle2Void, path: str | Path, size: int = 64, seed: int = 0) -> dict:
    """PyTorch vs onnxruntime on a random single-look image (2 x 1 x size x size+m).

    Returns ``{"abs": max |diff| of alpha and beta, "rel": max |diff| / max(1, |value|) of alpha
    and beta, "estimate_abs": max |diff| of the posterior mean (L = 1, normalised units)}``.
    alpha and beta reach tens to hundreds where the network is confident, so float32 rounding
    alone gives absolute differences of about 1e-6 times their value.
    """
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    m = model.cfg.size_multiple
    size = -(-size // m) * m
    y = (rng.exponential(1.0, (2, 1, size, size + m)) * rng.uniform(0.3, 2.0)).astype(np.float32)
    with torch.no_grad():
        a, b = (t.numpy().astype(np.float64) for t in model.eval()(torch.from_numpy(y)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    oa, ob = (t.astype(np.float64) for t in session.run(list(OUTPUT_NAMES), {INPUT_NAME: y}))
    diff = max(np.abs(oa - a).max(), np.abs(ob - b).max())
    rel = max(
        (np.abs(oa - a) / np.maximum(1.0, np.abs(a))).max(),
        (np.abs(ob - b) / np.maximum(1.0, np.abs(b))).max(),
    )
    est = np.abs((ob + y) / oa - (b + y) / a).max()
    return {"abs": float(diff), "rel": float(rel), "estimate_abs": float(est)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt written by train.py")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--name", help="model name (default: the config's name)")
    parser.add_argument("--version", default=None, help="model version (default: step count)")
    parser.add_argument("--metrics", help="JSON file of metrics to store in the card")
    parser.add_argument("--training-note", help="JSON file merged into the card's training dict")
    parser.add_argument(
        "--weights-out", help="also write the weights (no optimiser state) for fine-tuning (--init)"
    )
    parser.add_argument(
        "--card-from",
        help="re-export: keep the model card of this ONNX file (same weights, new graph); only "
        "the export details in its 'extra' change",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    model, state = load_checkpoint_model(args.checkpoint)
    if args.card_from:
        card = reexport_card(args.card_from)
        export_onnx(model, args.out, card)
        card = _with_memory(card, args.out)
        export_onnx(model, args.out, card)
        _print_parity(model, args.out, card)
        return 0
    config = state["config"]
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else {}
    training = training_summary(state)
    if args.training_note:
        training.update(json.loads(Path(args.training_note).read_text()))
    card = make_card(
        model.cfg,
        name=args.name or config.get("name", "s2v"),
        model_version=args.version or f"{state['step']}",
        looks=config["train"].get("looks", 1.0),
        point_target_factor=config["data"].get("point_target_factor", 50.0),
        training=training,
        metrics=metrics,
        point_target_pfa=config["data"].get("point_target_pfa", DEFAULT_PFA),
    )
    export_onnx(model, args.out, card)
    card = _with_memory(card, args.out)
    export_onnx(model, args.out, card)
    if args.weights_out:
        keep = ("config", "model", "step", "elapsed", "seed", "device", "hardware", "data_summary")
        torch.save({k: state[k] for k in keep if k in state}, args.weights_out)
    _print_parity(model, args.out, card)
    return 0


def _with_memory(card: ModelCard, path: str | Path) -> ModelCard:
    """The card with the measured memory per pixel, which sizes the plugin's automatic tiles."""
    return dataclasses.replace(card, extra={**card.extra, "memory": measure_memory(path)})


def _print_parity(model: Speckle2Void, path: str, card: ModelCard) -> None:
    parity = onnx_parity(model, path)
    print(
        f"wrote {path}: {card.summary()}; PyTorch vs onnxruntime: alpha/beta max abs diff "
        f"{parity['abs']:.2e} (relative {parity['rel']:.2e}), posterior mean max abs diff "
        f"{parity['estimate_abs']:.2e}"
    )


_MEMORY_PROBE = """
import resource, sys
import numpy as np
import onnxruntime as ort
from s2v_plugin.runtime.memory import return_freed_memory_to_the_system
from s2v_plugin.runtime.session import session_settings
return_freed_memory_to_the_system()
options = ort.SessionOptions()
for name, value in session_settings(0).items():
    setattr(options, name, value)
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
size = int(sys.argv[2])
x = np.ones((1, 1, size, size), np.float32)
def peak():
    # VmHWM belongs to this process image; ru_maxrss keeps the parent's peak across fork/exec
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = peak()
for _ in range(2):
    session.run(None, {"intensity": x})
print((peak() - before) * 1024)
"""


def measure_memory(path: str | Path, sizes: tuple[int, int] = (256, 768)) -> dict:
    """Peak memory of the network per window pixel on the CPU, with the plugin's session
    settings: the slope between two window sizes, each run twice in a fresh process."""
    peaks = []
    for size in sizes:
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(path), str(size)],
            capture_output=True,
            text=True,
            check=True,
            cwd=str(ROOT),
        )
        peaks.append(int(done.stdout.strip().splitlines()[-1]))
    pixels = [size * size for size in sizes]
    slope = (peaks[1] - peaks[0]) / (pixels[1] - pixels[0])
    if peaks[1] <= 0:
        raise RuntimeError(f"memory probe of {path} measured nothing: {peaks}")
    return {
        "bytes_per_pixel": round(max(slope, peaks[1] / pixels[1]) * 1.1, 1),
        "measured": f"onnxruntime CPU, windows {sizes[0]} and {sizes[1]} px, +10 %",
    }


def reexport_card(onnx_path: str | Path) -> ModelCard:
    """The card of an exported model, with this export's commit, date and graph recorded.

    The previous export details stay under ``extra["previous_export"]``.
    """
    import onnx

    proto = onnx.load(str(onnx_path), load_external_data=False)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    card = ModelCard.from_json(metadata[METADATA_KEY])
    extra = dict(card.extra)
    previous = {
        k: extra.pop(k) for k in ("commit", "date", "framework", "opset", "graph") if k in extra
    }
    extra.update(
        commit=git_commit(),
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        framework=f"torch {torch.__version__}",
        opset=OPSET,
        graph=GRAPH,
        previous_export=previous,
    )
    return dataclasses.replace(card, extra=extra)


def training_summary(state: dict) -> dict:
    """The card's ``training`` dict from a checkpoint."""
    config = state["config"]
    return {
        "config_name": config.get("name"),
        "config": config["model"],
        "train": config["train"],
        "data": state.get("data_summary", {}),
        "steps": int(state["step"]),
        "seconds": round(float(state.get("elapsed", 0.0)), 1),
        "device": state.get("device", "unknown"),
        "hardware": state.get("hardware", "unknown"),
        "seed": state.get("seed"),
        "calibration": state.get("calibration"),
    }


if __name__ == "__main__":
    raise SystemExit(main())
