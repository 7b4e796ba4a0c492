"""Train a Speckle2Void network (self-supervised: noisy single-look intensities only).

    python -m training.train --config fast --out runs/fast --minutes 60 \
        --rasters ../shared/data/sar/envisat_asar_im_hh_slc_500x500.tif

Runs on CUDA when present (``--device auto``), else on CPU. Writes to ``--out``:
``train.log`` (the log), ``checkpoint.pt`` (latest, atomic; training resumes from it when
the command is run again with the same ``--out``), ``best.pt`` (lowest validation loss) and
``model.onnx`` (exported from the latest checkpoint every ``--export-minutes`` and at the end).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import signal
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from training.data import DataConfig, PatchSampler  # noqa: E402
from training.loss import neg_log_marginal, speckle2void_loss  # noqa: E402
from training.model import ModelConfig, build_model  # noqa: E402

LOG = logging.getLogger("training")
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def load_config(name_or_path: str) -> dict:
    """A configuration by name (``fast``, ``full``: ``training/configs/<name>.json``) or path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.json"
    config = json.loads(path.read_text())
    ModelConfig.from_dict(config["model"])  # validate early
    return config


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s)"


def learning_rate(step: int, total: int, lr: float, lr_final: float, warmup: int = 100) -> float:
    """Linear warm-up, then cosine decay from ``lr`` to ``lr_final`` at step ``total``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr_final + 0.5 * (lr - lr_final) * (1.0 + math.cos(math.pi * t))


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, str(tmp))
    os.replace(tmp, path)


def _data_config(config: dict, args: argparse.Namespace) -> DataConfig:
    data = dict(config.get("data", {}))
    if args.rasters:
        data["rasters"] = tuple(str(Path(p).resolve()) for p in args.rasters)
    if args.decorrelated:
        data["decorrelated"] = True
    if args.amplitude:
        data["amplitude"] = True
    if args.no_simulated:
        data["white"] = data["correlated"] = 0.0
        data["pictures"] = ()
    return DataConfig(**data)


def _resumed_data(state: dict, args: argparse.Namespace) -> DataConfig:
    """The checkpoint's data settings. A run resumed on another machine (or from a committed
    checkpoint) finds its rasters where ``--rasters`` says, or trains without the missing ones."""
    data = dict(state["data_config"])
    if args.rasters:
        data["rasters"] = tuple(str(Path(p).resolve()) for p in args.rasters)
    rasters = tuple(data.get("rasters", ()))
    missing = [p for p in rasters if not Path(p).exists()]
    if missing:
        LOG.warning("rasters not found, training without them: %s", ", ".join(missing))
        data["rasters"] = tuple(p for p in rasters if p not in missing)
    return DataConfig(**data)


def validation_batch(
    data_cfg: DataConfig, batch: int, patch: int, seed: int = 12345, batches: int = 4
):
    """A fixed set of ``batches`` batches, sampled once, on which the eval-mode loss is tracked."""
    sampler = PatchSampler(data_cfg, seed=seed)
    ys, ms = zip(*(sampler.sample(batch, patch) for _ in range(batches)))
    return np.concatenate(ys), np.concatenate(ms)


@torch.no_grad()
def evaluate_nll(model, y: np.ndarray, m: np.ndarray, device, looks: float) -> float:
    """Masked mean negative log-likelihood in eval mode (the test-time blind spot)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0.0
    for i in range(0, len(y), 8):
        yt = torch.from_numpy(y[i : i + 8]).to(device)
        mt = torch.from_numpy(m[i : i + 8]).to(device)
        a, b = model(yt)
        nll = neg_log_marginal(yt, a, b, looks)
        total += float((nll * mt).sum())
        count += float(mt.sum())
    model.train(was_training)
    return total / max(count, 1.0)


def train(args: argparse.Namespace) -> Path:
    """Run (or resume) a training run as described by the command-line arguments."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("s2v_plugin").setLevel(logging.WARNING)
    try:
        return _train(args, out)
    finally:
        root.removeHandler(handler)
        handler.close()


def _train(args: argparse.Namespace, out: Path) -> Path:
    if args.threads:
        torch.set_num_threads(args.threads)

    checkpoint = out / "checkpoint.pt"
    resume = checkpoint.exists() and not args.fresh
    state = torch.load(str(checkpoint), map_location="cpu", weights_only=True) if resume else None
    config = state["config"] if resume else load_config(args.config)
    init = None
    if args.init and not resume:
        init = torch.load(args.init, map_location="cpu", weights_only=True)
        config["model"] = init["config"]["model"]  # the architecture of the weights
    if args.steps:
        config["train"]["steps"] = args.steps
    tcfg = config["train"]
    seed = state["seed"] if resume else args.seed
    device = pick_device(args.device)
    torch.manual_seed(seed + (state["step"] if resume else 0))

    model = build_model(config["model"]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=tcfg["lr"])
    step, elapsed, best = 0, 0.0, float("inf")
    if resume:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed, best = state["step"], state["elapsed"], state.get("best", best)
        LOG.info("resumed from %s at step %d (%.0f s trained)", checkpoint, step, elapsed)
    elif init is not None:
        model.load_state_dict(init["model"])
        LOG.info("fine-tuning from %s (step %d)", args.init, init["step"])

    data_cfg = _data_config(config, args) if not resume else _resumed_data(state, args)
    sampler = PatchSampler(data_cfg, seed=seed + step)
    val_y, val_m = validation_batch(data_cfg, tcfg["batch"], tcfg["patch"])
    data_summary = {
        "pictures": list(data_cfg.pictures),
        "rasters": [Path(p).name for p in data_cfg.rasters],
        "weights": {
            "white": data_cfg.white,
            "correlated": data_cfg.correlated,
            "raster": data_cfg.raster,
        },
        "patch": tcfg["patch"],
        "batch": tcfg["batch"],
    }
    LOG.info(
        "device %s (%s); config %s; data %s",
        device,
        hardware(device),
        config["name"],
        json.dumps(data_summary),
    )
    LOG.info("model parameters: %d", sum(p.numel() for p in model.parameters()))

    def snapshot() -> dict:
        return {
            "config": config,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "step": step,
            "elapsed": elapsed,
            "best": best,
            "seed": seed,
            "device": str(device),
            "hardware": hardware(device),
            "data_config": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(data_cfg).items()
            },
            "data_summary": data_summary,
        }

    def export(tag: str) -> None:
        from training.export import export_onnx, make_card, training_summary

        snap = snapshot()
        cpu_model = build_model(config["model"])
        cpu_model.load_state_dict(snap["model"])
        card = make_card(
            cpu_model.cfg,
            config["name"],
            f"{step}",
            tcfg.get("looks", 1.0),
            data_cfg.point_target_factor,
            training=training_summary(snap),
            point_target_pfa=data_cfg.point_target_pfa,
        )
        export_onnx(cpu_model, out / "model.onnx", card)
        LOG.info("exported model.onnx at step %d (%s)", step, tag)

    total_steps = tcfg["steps"]
    budget = args.minutes * 60.0 if args.minutes else float("inf")
    started = time.time()
    last_ckpt = last_export = started
    window = []
    model.train()
    stop = []
    if hasattr(signal, "SIGTERM"):
        # ``kill`` (SIGTERM) ends a background run after the current step, with a checkpoint.
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    while step < total_steps and time.time() - started < budget and not stop:
        t0, cpu0 = time.time(), time.process_time()
        lr = learning_rate(step, total_steps, tcfg["lr"], tcfg["lr_final"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        y, m = sampler.sample(tcfg["batch"], tcfg["patch"])
        y, m = torch.from_numpy(y).to(device), torch.from_numpy(m).to(device)
        alpha, beta = model(y)
        loss, parts = speckle2void_loss(y, alpha, beta, tcfg["looks"], m, tcfg["tv_weight"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tcfg.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        optimizer.step()
        step += 1
        # A run paused with SIGSTOP (benchmarks on a shared machine do that) spends no CPU time
        # while stopped: the smaller of the wall and CPU times keeps the pause out of the logged
        # step time and of the elapsed training time.
        dt = min(time.time() - t0, time.process_time() - cpu0)
        elapsed += dt
        window.append((float(loss.detach()), parts["nll"], dt))
        if step % args.log_every == 0:
            w = np.array(window)
            LOG.info(
                "step %d loss %.5f nll %.5f lr %.2e %.2f s/step",
                step,
                w[:, 0].mean(),
                w[:, 1].mean(),
                lr,
                w[:, 2].mean(),
            )
            window = []
        if step % args.refresh_every == 0:
            sampler.refresh()
        if step % args.val_every == 0:
            val = evaluate_nll(model, val_y, val_m, device, tcfg["looks"])
            LOG.info("step %d validation nll %.5f (best %.5f)", step, val, best)
            if val < best:
                best = val
                _save(out / "best.pt", snapshot())
        now = time.time()
        if now - last_ckpt > args.checkpoint_minutes * 60:
            _save(checkpoint, snapshot())
            last_ckpt = now
        if args.export_minutes and now - last_export > args.export_minutes * 60:
            export("periodic")
            last_export = time.time()
    val = evaluate_nll(model, val_y, val_m, device, tcfg["looks"])
    LOG.info("stopped at step %d after %.0f s of training; validation nll %.5f", step, elapsed, val)
    if val < best:
        best = val
        _save(out / "best.pt", snapshot())
    _save(checkpoint, snapshot())
    export("final")
    return checkpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train Speckle2Void (self-supervised).")
    p.add_argument("--config", default="fast", help="config name (fast, full) or JSON path")
    p.add_argument("--out", required=True, help="run folder (log, checkpoints, model.onnx)")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this much time")
    p.add_argument("--steps", type=int, default=0, help="total steps (sets the LR schedule)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--rasters", nargs="*", default=[], help="SLC or intensity rasters")
    p.add_argument(
        "--decorrelated",
        action="store_true",
        help="the complex rasters are already decorrelated (skip whitening)",
    )
    p.add_argument("--amplitude", action="store_true", help="real rasters hold amplitude")
    p.add_argument("--no-simulated", action="store_true", help="train on the rasters only")
    p.add_argument("--init", help="checkpoint to fine-tune from (new run folder)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--refresh-every", type=int, default=200)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--export-minutes", type=float, default=20.0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
