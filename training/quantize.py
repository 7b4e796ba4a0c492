"""INT8 variant of an exported Speckle2Void model: static QDQ quantisation with onnxruntime.

    python -m training.quantize --model models/speckle2void_default.onnx \
        --out runs/int8/speckle2void_default.int8.onnx [--exclude-first-conv] [--exclude-head] \
        [--calibration percentile|minmax|entropy] [--batches N]

Weights are int8, per output channel (symmetric); activations uint8, per tensor, with ranges
calibrated on patches of our own training data (:class:`training.data.PatchSampler` with the data
settings of a training configuration and the training pictures of the model's card, never the
held-out pictures of :mod:`training.heldout`; ``--rasters`` adds SAR rasters through the same
sampler). The patches are normalised exactly as the runtime normalises a raster.

Only the network's body is quantised: its convolutions and the activations, sums and upsamplings
between them. The input's ``Log`` and the output head (softplus, exponential, the ``alpha`` and
``beta`` arithmetic) always stay float32. Two further parts can be kept float32:

* ``--exclude-first-conv``: the first convolution of every branch, the one that reads the
  log-intensity (whose 8-bit quantisation steps would be several per cent of intensity);
* ``--exclude-head``: the fusion head, every convolution, sum and activation that combines the
  four branches (their outputs are the log prior mean and the raw ``alpha``).

The output keeps the model card (``speckle2void_card``) with ``extra.precision = "int8"`` and the
quantisation settings in ``extra.quantization``. The plugin runs it with ``PRECISION`` int8 when it
is saved next to the fp32 model as ``<name>.int8.onnx`` (:func:`s2v_plugin.runtime.session.
precision_path`). Whether a variant is worth shipping is measured, not assumed: see the rule in
``training/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from s2v_plugin.runtime.model_card import INPUT_NAME, METADATA_KEY, ModelCard
from training.data import TRAIN_PICTURES, DataConfig, PatchSampler
from training.heldout import EVAL_PICTURES

LOG = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
CALIBRATIONS = ("percentile", "minmax", "entropy")
#: Operators of the network body that are quantised (the others stay float32).
BODY_OPS = ("Conv", "LeakyRelu", "Add", "Resize")


def _named(model) -> None:
    """Give every node a name (onnxruntime's quantiser selects nodes by name)."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type.lower()}_{index}_{node.output[0]}"


def graph_parts(model) -> dict[str, list[str]]:
    """Names of the nodes in the parts of a Speckle2Void graph.

    ``body``: the nodes that may be quantised, every convolution and the :data:`BODY_OPS` nodes
    that lie between two convolutions. ``first_conv``: the convolutions that read no other
    convolution's output (the first of every branch). ``head``: the nodes of the body that depend
    on every branch, and the convolutions whose outputs only reach them through sums (the fusion's
    first convolution, split into one slice per branch).
    """
    nodes = list(model.graph.node)
    producer = {out: node for node in nodes for out in node.output}
    consumers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def parents(node):
        return [producer[name] for name in node.input if name in producer]

    # nodes are in topological order (ONNX requires it)
    first, branches, after_conv = [], {}, {}
    for node in nodes:
        ups = parents(node)
        seen = set().union(*(branches[p.name] for p in ups)) if ups else set()
        if node.op_type == "Conv" and not any(after_conv[p.name] for p in ups):
            first.append(node.name)
            seen = seen | {node.name}
        branches[node.name] = seen
        after_conv[node.name] = node.op_type == "Conv" or any(after_conv[p.name] for p in ups)
    before_conv = {}
    for node in reversed(nodes):
        downs = [c for out in node.output for c in consumers.get(out, [])]
        before_conv[node.name] = any(c.op_type == "Conv" or before_conv[c.name] for c in downs)
    body = [
        n.name
        for n in nodes
        if n.op_type == "Conv"
        or (n.op_type in BODY_OPS and after_conv[n.name] and before_conv[n.name])
    ]
    everything = set(first)
    head = {n for n in body if branches[n] == everything and len(first) > 1}

    def through_sums(node) -> None:
        for p in parents(node):
            if p.op_type == "Add":
                head.add(p.name)
                through_sums(p)
            elif p.op_type == "Conv":
                head.add(p.name)

    by_name = {n.name: n for n in nodes}
    for name in list(head):
        if by_name[name].op_type == "Add":
            through_sums(by_name[name])
    return {"body": body, "first_conv": first, "head": [n for n in body if n in head]}


def _load_json(name_or_path: str) -> dict:
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.json"
    return json.loads(path.read_text())


def calibration_config(card: ModelCard, config: str = "fast-v3", rasters=()) -> DataConfig:
    """The sampler settings of the calibration patches: the data section of training
    configuration ``config``, the training pictures of ``card`` (the configuration's when the
    card names none), simulated sources only unless ``rasters`` are given.

    Raises
    ------
    ValueError
        When a held-out evaluation picture would be used.
    """
    data = dict(_load_json(config).get("data", {}))
    pictures = card.training.get("data", {}).get("pictures") or data.get("pictures")
    data["pictures"] = tuple(pictures or TRAIN_PICTURES)
    held_out = sorted(set(data["pictures"]) & set(EVAL_PICTURES))
    if held_out:
        raise ValueError(f"calibration must not see the held-out pictures {held_out}")
    data["rasters"] = tuple(str(p) for p in rasters)
    if not rasters:
        data["raster"] = 0.0
    return DataConfig(**data)


def calibration_batches(
    data: DataConfig, batches: int, batch: int = 8, patch: int = 128, seed: int = 4242
) -> list[np.ndarray]:
    """``batches`` arrays ``batch x 1 x patch x patch`` of normalised network inputs."""
    sampler = PatchSampler(data, seed=seed)
    return [sampler.sample(batch, patch)[0] for _ in range(batches)]


class _Reader:
    """onnxruntime ``CalibrationDataReader`` over a list of input batches."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self._batches = iter(batches)

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, np.float32)}


def quantize_model(
    model_path: str | Path,
    out: str | Path,
    batches: list[np.ndarray],
    *,
    exclude_first_conv: bool = False,
    exclude_head: bool = False,
    calibration: str = "percentile",
    percentile: float = 99.999,
    settings: dict | None = None,
) -> dict:
    """Write the static QDQ int8 variant of ``model_path`` to ``out``; returns what was done.

    ``settings`` are recorded in the card (what the calibration patches were).
    """
    import onnx
    import onnxruntime as ort
    from onnxruntime import quantization as q

    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, not {calibration!r}")
    model_path, out = Path(model_path), Path(out)
    model = onnx.load(str(model_path))
    metadata = {e.key: e.value for e in model.metadata_props}
    if METADATA_KEY not in metadata:
        raise ValueError(f"{model_path} has no model card ({METADATA_KEY})")
    card = ModelCard.from_json(metadata[METADATA_KEY])
    _named(model)
    parts = graph_parts(model)
    excluded = set()
    if exclude_first_conv:
        excluded |= set(parts["first_conv"])
    if exclude_head:
        excluded |= set(parts["head"])
    quantised = [n for n in parts["body"] if n not in excluded]
    quantised_set = set(quantised)
    method = {
        "percentile": q.CalibrationMethod.Percentile,
        "minmax": q.CalibrationMethod.MinMax,
        "entropy": q.CalibrationMethod.Entropy,
    }[calibration]
    extra_options = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if calibration == "percentile":
        extra_options["CalibPercentile"] = float(percentile)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        named = Path(tmp) / "named.onnx"
        onnx.save(model, str(named))
        q.quantize_static(
            str(named),
            str(Path(tmp) / "int8.onnx"),
            _Reader(batches),
            quant_format=q.QuantFormat.QDQ,
            op_types_to_quantize=list(BODY_OPS),
            per_channel=True,
            activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8,
            nodes_to_quantize=quantised,
            calibrate_method=method,
            extra_options=extra_options,
        )
        result = onnx.load(str(Path(tmp) / "int8.onnx"))
    report = {
        "format": "QDQ, weights int8 per channel, activations uint8 per tensor",
        "calibration": calibration + (f" {percentile:g}" if calibration == "percentile" else ""),
        "calibration_patches": int(sum(b.shape[0] for b in batches)),
        "patch": int(batches[0].shape[-1]) if batches else 0,
        "convolutions": sum(n.op_type == "Conv" for n in model.graph.node),
        "quantised_convolutions": sum(
            n.op_type == "Conv" and n.name in quantised_set for n in model.graph.node
        ),
        "float32": [
            k for k, on in (("first_conv", exclude_first_conv), ("head", exclude_head)) if on
        ],
        "fp32_model": model_path.name,
        "fp32_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest()[:16],
        "onnxruntime": ort.__version__,
        **(settings or {}),
    }
    extra = {**card.extra, "precision": "int8", "quantization": report}
    card = dataclasses.replace(card, extra=extra)
    del result.metadata_props[:]
    for key, value in {**metadata, METADATA_KEY: card.to_json()}.items():
        entry = result.metadata_props.add()
        entry.key, entry.value = key, value
    result.doc_string = card.summary() + " (int8)"
    onnx.checker.check_model(result)
    onnx.save(result, str(out))
    LOG.info("wrote %s: %s", out, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the fp32 .onnx model")
    parser.add_argument("--out", required=True, help="the int8 model to write (*.int8.onnx)")
    parser.add_argument("--exclude-first-conv", action="store_true", help="keep it float32")
    parser.add_argument("--exclude-head", action="store_true", help="keep the fusion float32")
    parser.add_argument("--calibration", choices=CALIBRATIONS, default="percentile")
    parser.add_argument("--percentile", type=float, default=99.999)
    parser.add_argument("--batches", type=int, default=16, help="calibration batches of 8")
    parser.add_argument("--patch", type=int, default=128, help="calibration patch size")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--config", default="fast-v3", help="training config of the data")
    parser.add_argument("--rasters", nargs="*", default=[], help="SAR rasters to sample too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("s2v_plugin").setLevel(logging.WARNING)

    import onnx

    proto = onnx.load(args.model, load_external_data=False)
    card = ModelCard.from_json({e.key: e.value for e in proto.metadata_props}[METADATA_KEY])
    data = calibration_config(card, args.config, args.rasters)
    batches = calibration_batches(data, args.batches, patch=args.patch, seed=args.seed)
    settings = {
        "data": f"training.data.PatchSampler, config {args.config}, seed {args.seed}",
        "rasters": [Path(p).name for p in args.rasters],
    }
    report = quantize_model(
        args.model,
        args.out,
        batches,
        exclude_first_conv=args.exclude_first_conv,
        exclude_head=args.exclude_head,
        calibration=args.calibration,
        percentile=args.percentile,
        settings=settings,
    )
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
