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


PRECISIONS = ("fp32", "int8", "fp16")
#: cuDNN searches the fastest convolution algorithm once per input shape (every tile has the
#: same shape); the GPU arena grows by what is asked, not by doubling.
CUDA_OPTIONS = {
    "cudnn_conv_algo_search": "EXHAUSTIVE",
    "arena_extend_strategy": "kSameAsRequested",
    "do_copy_in_default_stream": "1",
}


def precision_path(path: str, precision: str) -> str:
    """The model file of a precision variant: ``model.onnx`` for fp32, ``model.int8.onnx``...

    Raises
    ------
    ModelError
        For an unknown precision, or a variant that is not shipped next to the model.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"PRECISION must be one of {PRECISIONS}, not {precision!r}.")
    if precision == "fp32":
        return path
    root, ext = os.path.splitext(path)
    variant = f"{root}.{precision}{ext}"
    if not os.path.isfile(variant):
        raise ModelError(
            f"No {precision} variant of '{os.path.basename(path)}' is shipped (expected "
            f"'{os.path.basename(variant)}' next to it): choose PRECISION fp32. Variants are only "
            "shipped where they are measured faster at a negligible quality cost (model card)."
        )
    return variant


def provider_list(requested: list[str]) -> list:
    """``providers`` argument for onnxruntime: CUDA with :data:`CUDA_OPTIONS`, others plain."""
    return [(name, dict(CUDA_OPTIONS)) if name == CUDA_PROVIDER else name for name in requested]


def session_settings(threads: int) -> dict:
    """SessionOptions attributes of a session with ``threads`` CPU threads (0: all cores).

    Every tile has the same shape, so onnxruntime's memory pattern (one block planned for the
    whole graph and kept between runs, on top of the arena) only adds to the peak: it is off,
    and activations come from the CPU arena as the graph runs. The arena stays on: without it
    every run maps and zero-fills its activations again (measured 1.3 s of system time per
    672 px window, half the network's time), for 25 % less peak memory.
    """
    settings = {
        "log_severity_level": 3,
        "enable_mem_pattern": False,
        "inter_op_num_threads": 1,
    }
    if threads > 0:
        settings["intra_op_num_threads"] = int(threads)
    return settings


#: onnxruntime's intra-op threads busy-wait for work after each run by default; between the
#: network's runs the estimator's own filters need those cores (measured: the local-mean filters
#: took 31 ms per 512 px tile with spinning threads, 17 ms without, on 2 cores).
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}


def fallback_reason(device: str, requested: list[str], used: list[str], error: str = "") -> str:
    """Why a run asked for CUDA is on the CPU ("" when it is not, or CUDA was not asked)."""
    if CUDA_PROVIDER not in requested or (used and used[0] == CUDA_PROVIDER):
        return ""
    if error:
        return f"onnxruntime could not start its CUDA provider ({error})"
    return (
        "onnxruntime could not start its CUDA provider (the CUDA or cuDNN libraries that "
        "onnxruntime-gpu needs were not found or do not match; onnxruntime's log says which)"
    )


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

    def __init__(
        self, path: str, device: str = "auto", threads: int = 0, precision: str = "fp32"
    ) -> None:
        ort = import_onnxruntime()
        if not path or not os.path.isfile(path):
            raise ModelError(
                f"Model file '{path}' not found. Choose a Speckle2Void .onnx model in MODEL "
                "(see models/README.md for the contract, training/README.md to train one)."
            )
        path = precision_path(path, precision)
        self.precision = precision
        self.threads = int(threads)
        requested = providers_for(device, ort.get_available_providers())
        options = ort.SessionOptions()
        for name, value in session_settings(threads).items():
            setattr(options, name, value)
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        error = ""
        try:
            self._session = ort.InferenceSession(
                path, sess_options=options, providers=provider_list(requested)
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            if CUDA_PROVIDER not in requested or device == "cuda":
                raise ModelError(
                    f"'{path}' is not a usable ONNX model ({type(exc).__name__}: "
                    f"{_first_line(exc)}). Choose a valid Speckle2Void model."
                ) from exc
            error = _first_line(exc)
            requested = [CPU_PROVIDER]
            self._session = self._cpu_session(ort, path, options)
        self.path = path
        self._check_contract()
        self.card: ModelCard = card_from_metadata(
            self._session.get_modelmeta().custom_metadata_map, f"'{os.path.basename(path)}'"
        )
        used = self._session.get_providers()
        self.provider = used[0] if used else CPU_PROVIDER
        self.fallback_reason = fallback_reason(
            device, providers_for(device, ort.get_available_providers()), used, error
        )
        if device == "cuda" and self.provider != CUDA_PROVIDER:
            raise RuntimeUnavailable(
                f"DEVICE is CUDA but {self.fallback_reason or 'CUDA is not usable'}; check the "
                "CUDA and cuDNN libraries onnxruntime-gpu needs, or choose DEVICE Auto or CPU."
            )
        self._output_names = list(OUTPUT_NAMES)
        self._binding = self._session.io_binding() if self.provider == CUDA_PROVIDER else None

    @staticmethod
    def _cpu_session(ort, path: str, options):
        try:
            return ort.InferenceSession(path, sess_options=options, providers=[CPU_PROVIDER])
        except Exception as exc:
            raise ModelError(
                f"'{path}' is not a usable ONNX model ({type(exc).__name__}: {_first_line(exc)}). "
                "Choose a valid Speckle2Void model."
            ) from exc

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

    def _run_bound(self, batch: np.ndarray) -> list[np.ndarray]:
        """CUDA: the input is copied to the device once, outputs stay there until fetched."""
        binding = self._binding
        binding.bind_cpu_input(INPUT_NAME, batch)
        for name in self._output_names:
            binding.bind_output(name, "cuda")
        self._session.run_with_iobinding(binding)
        outputs = binding.copy_outputs_to_cpu()
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        return outputs

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on normalised intensities ``[N, 1, H, W]``; returns (alpha, beta)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        try:
            if self._binding is not None:
                alpha, beta = self._run_bound(batch)
            else:
                alpha, beta = self._session.run(self._output_names, {INPUT_NAME: batch})
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
