"""onnxruntime sessions for Speckle2Void models, imported lazily.

onnxruntime is optional at plugin load time: QGIS must still list the algorithms (and explain how
to install onnxruntime) when it is missing, so nothing here imports it at module level.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..core.errors import ModelError, RuntimeUnavailable
from .model_card import INPUT_NAME, OUTPUT_NAMES, ModelCard, card_from_metadata

LOG = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
INSTALL_HINT = (
    "onnxruntime is not installed in the Python that QGIS uses. Install it with pip into that "
    "Python: on Linux 'python3 -m pip install --user onnxruntime' (or onnxruntime-gpu for NVIDIA "
    "CUDA), on Windows from the OSGeo4W Shell 'python -m pip install onnxruntime', on macOS "
    "'/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install onnxruntime'; then "
    "restart QGIS."
)


def import_onnxruntime():
    """Import and return onnxruntime, or raise :class:`RuntimeUnavailable` with install steps."""
    try:
        import onnxruntime
    except Exception as exc:  # ImportError, or a broken binary raising OSError
        raise RuntimeUnavailable(f"{INSTALL_HINT} (import failed: {exc})") from exc
    return onnxruntime


def onnxruntime_status() -> tuple[bool, str]:
    """Whether onnxruntime can be imported, and a message for users (install hint when not)."""
    try:
        ort = import_onnxruntime()
    except RuntimeUnavailable as exc:
        return False, str(exc)
    return (
        True,
        f"onnxruntime {ort.__version__}, providers: {', '.join(ort.get_available_providers())}",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def providers_for(device: str, available: list[str]) -> list[str]:
    """Execution providers to ask onnxruntime for, in order of preference.

    Raises
    ------
    RuntimeUnavailable
        When ``device`` is ``"cuda"`` and this onnxruntime build has no CUDA provider.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if device == "cpu":
        return [CPU_PROVIDER]
    if CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    if device == "cuda":
        raise RuntimeUnavailable(
            "DEVICE is CUDA but this onnxruntime has no CUDA execution provider (available: "
            f"{', '.join(available)}). Install onnxruntime-gpu (and the CUDA/cuDNN libraries it "
            "needs) in place of onnxruntime, or choose DEVICE Auto or CPU."
        )
    return [CPU_PROVIDER]


class ModelSession:
    """A validated Speckle2Void ONNX model ready to run.

    Parameters
    ----------
    path : str
        The .onnx file.
    device : {"auto", "cpu", "cuda"}
        Where to run: auto takes CUDA when its execution provider is usable, else CPU.
    threads : int
        CPU threads of one run (onnxruntime's intra-op threads); 0 lets onnxruntime choose.

    Attributes
    ----------
    card : ModelCard
        The model card embedded in the file.
    provider : str
        The execution provider actually used (onnxruntime may fall back from CUDA to CPU).
    """

    def __init__(self, path: str, device: str = "auto", threads: int = 0) -> None:
        ort = import_onnxruntime()
        if not path or not os.path.isfile(path):
            raise ModelError(
                f"Model file '{path}' not found. Choose a Speckle2Void .onnx model in MODEL "
                "(see models/README.md for the contract, training/README.md to train one)."
            )
        requested = providers_for(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads > 0:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(path, sess_options=options, providers=requested)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelError(
                f"'{path}' is not a usable ONNX model ({type(exc).__name__}: {_first_line(exc)}). "
                "Choose a valid Speckle2Void model."
            ) from exc
        self.path = path
        self._check_contract()
        self.card: ModelCard = card_from_metadata(
            self._session.get_modelmeta().custom_metadata_map, f"'{os.path.basename(path)}'"
        )
        used = self._session.get_providers()
        self.provider = used[0] if used else CPU_PROVIDER
        if device == "cuda" and self.provider != CUDA_PROVIDER:
            raise RuntimeUnavailable(
                "DEVICE is CUDA but onnxruntime could not start its CUDA provider (check the "
                "CUDA and cuDNN libraries onnxruntime-gpu needs), or choose DEVICE Auto or CPU."
            )
        self._output_names = list(OUTPUT_NAMES)

    def _check_contract(self) -> None:
        inputs = self._session.get_inputs()
        outputs = {o.name: o for o in self._session.get_outputs()}
        problems = []
        if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
            problems.append(
                f"one input named '{INPUT_NAME}' expected, found {[i.name for i in inputs]}"
            )
        elif len(inputs[0].shape) != 4:
            problems.append(f"input '{INPUT_NAME}' must be [N, 1, H, W]")
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if missing:
            problems.append(f"outputs {missing} missing (found {sorted(outputs)})")
        if problems:
            raise ModelError(
                f"'{os.path.basename(self.path)}' does not follow the Speckle2Void model contract: "
                + "; ".join(problems)
                + ". See models/README.md."
            )

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on normalised intensities ``[N, 1, H, W]``; returns (alpha, beta)."""
        try:
            alpha, beta = self._session.run(
                self._output_names, {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}
            )
        except Exception as exc:
            raise ModelError(
                f"The model failed on a {batch.shape[2]}x{batch.shape[3]} tile "
                f"({type(exc).__name__}: {_first_line(exc)})."
            ) from exc
        if alpha.shape != batch.shape or beta.shape != batch.shape:
            raise ModelError(
                f"The model returned alpha {alpha.shape} and beta {beta.shape} for an input of "
                f"shape {batch.shape}; both must match the input (model contract)."
            )
        return alpha, beta
