"""The command line's sub-commands: the Processing algorithms' parameters, without QGIS.

Every option is one of the algorithm's parameter keys (``TILE_SIZE`` is ``--tile-size``) with
the same default, taken from the engine constants the algorithm itself uses; a test compares
these tables with the real algorithms' definitions in QGIS. Each command turns one input and its
option values into a job for :func:`s2v_plugin.cluster.runner.run_jobs`: the same engine
function the algorithm calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.classic_filters import FILTERS, FROST_DAMPING
from ..core.domain import AUTO, DOMAIN_OPTIONS
from ..runtime.memory import DEFAULT_BUDGET_MB
from ..runtime.session import DEVICES, PRECISIONS


@dataclass(frozen=True)
class Option:
    """One algorithm parameter as a command-line option.

    Attributes
    ----------
    key : str
        The Processing parameter key (public API); the option is ``--key-in-lower-case``.
    kind : {"int", "float", "bool", "enum", "path", "text"}
        Value type; enums take a choice's name (lower case) or its index.
    default : object
        The algorithm's default (None: empty).
    choices : tuple of str
        Enum names, in the order of the algorithm's enum (so indexes match).
    minimum : float, optional
        Smallest accepted value (the algorithm's ``minValue``).
    help : str
        One line for ``--help``.
    argument : str or None
        Keyword of the engine function that receives the value: ``""`` for :attr:`dest`,
        None for an option the command itself uses (not an engine argument).
    """

    key: str
    kind: str
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    help: str = ""
    argument: str | None = ""

    @property
    def flag(self) -> str:
        return "--" + self.key.lower().replace("_", "-")

    @property
    def dest(self) -> str:
        return self.key.lower()


@dataclass(frozen=True)
class Command:
    """A sub-command: the algorithm it mirrors, its options and how it builds a job.

    ``build(input_path, outputs, arguments)`` returns the job for one input; ``outputs`` maps
    each output key to its path, ``arguments`` the engine keywords to the option values
    (:meth:`arguments`).
    """

    name: str
    algorithm: str
    summary: str
    input_key: str
    options: tuple[Option, ...]
    outputs: dict[str, str]  # output key -> file name suffix ("" when the output is optional)
    build: Callable[[str, dict, dict], Any]
    examples: tuple[str, ...] = ()
    optional_outputs: tuple[str, ...] = field(default=())

    @property
    def main_output(self) -> str:
        return next(iter(self.outputs))

    def arguments(self, values: dict) -> dict:
        """The engine function's keyword arguments: each option's value (``values`` maps option
        dests to parsed values) under its :attr:`Option.argument`."""
        return {
            option.argument or option.dest: values[option.dest]
            for option in self.options
            if option.argument is not None
        }

    def job(self, input_path: str, outputs: dict, values: dict):
        """The job for one input (see :func:`s2v_plugin.cluster.runner.run_jobs`)."""
        return self.build(input_path, outputs, self.arguments(values))


def _despeckle_job(input_path: str, outputs: dict, arguments: dict):
    from ..cluster.tasks import DespeckleJob

    return DespeckleJob(
        input_path=input_path,
        output_path=outputs["OUTPUT"],
        uncertainty_path=outputs.get("OUTPUT_UNCERTAINTY"),
        **arguments,
    )


#: The classic filters' own options (FilterSpec.parameters), as option keywords.
_FILTER_OPTIONS = tuple(dict.fromkeys(option for s in FILTERS for _, option in s.parameters))


def _classic_job(input_path: str, outputs: dict, arguments: dict):
    from ..classic import classic_filter_raster
    from ..cluster.runner import FileJob
    from ..core.classic_filters import filter_spec

    given = {option: arguments.pop(option) for option in _FILTER_OPTIONS}
    # as the algorithm does: each filter gets its own advanced parameters (FilterSpec.parameters)
    own = filter_spec(arguments["filter_key"]).parameters
    kwargs = dict(arguments, options={option: given[option] for _, option in own})
    kwargs.update(input_path=input_path, output_path=outputs["OUTPUT"])
    return FileJob(input_path, (outputs["OUTPUT"],), classic_filter_raster, kwargs)


def _decorrelate_job(input_path: str, outputs: dict, arguments: dict):
    from ..cluster.runner import FileJob
    from ..io.sentinel1_safe import is_safe_input
    from ..sentinel1 import decorrelate_measurement, decorrelate_sentinel1

    kwargs = dict(input_path=input_path, output_path=outputs["OUTPUT"])
    if is_safe_input(input_path):  # a Sentinel-1 SAFE product: deramp, decorrelate, deburst
        kwargs.update(output_format=arguments["output_format"])
        return FileJob(input_path, (outputs["OUTPUT"],), decorrelate_sentinel1, kwargs)
    kwargs.update(arguments, imag_band=arguments["imag_band"] or None)
    return FileJob(input_path, (outputs["OUTPUT"],), decorrelate_measurement, kwargs)


def despeckled_partner(input_path: str) -> str:
    """The despeckled raster ``evaluate`` pairs with an input by default."""
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}_despeckled.tif"))


def _evaluate_job(input_path: str, outputs: dict, arguments: dict):
    from ..cluster.runner import FileJob
    from ..evaluate import evaluate_rasters

    kwargs = dict(
        arguments,
        noisy_path=input_path,
        despeckled_path=arguments["despeckled_path"] or despeckled_partner(input_path),
        ratio_path=outputs["OUTPUT_RATIO"],
        html_path=outputs["OUTPUT_HTML"],
    )
    return FileJob(
        input_path, (outputs["OUTPUT_RATIO"], outputs["OUTPUT_HTML"]), evaluate_rasters, kwargs
    )


def _band(key="BAND", what="band") -> Option:
    return Option(key, "int", 1, minimum=1, help=f"1-based {what}")


_DOMAIN = Option(
    "DOMAIN",
    "enum",
    AUTO,
    DOMAIN_OPTIONS,
    help="domain of a real band: intensity, amplitude or auto (from metadata and statistics)",
)


def _commands() -> dict[str, Command]:
    from ..classic import DEFAULT_TILE_SIZE as CLASSIC_TILE_SIZE
    from ..classic import MIN_TILE_SIZE as CLASSIC_MIN_TILE_SIZE
    from ..decorrelate import (
        DEFAULT_CLEAN,
        DEFAULT_POINT_TARGET_FACTOR,
        DEFAULT_POINT_TARGET_PFA,
        DEFAULT_REMOVE_OVERSAMPLING,
        OUTPUT_FORMATS,
    )

    despeckle = Command(
        name="despeckle",
        algorithm="speckle2void:despeckle",
        summary="Despeckle SAR rasters with the Speckle2Void network.",
        input_key="INPUT",
        options=(
            _band(),
            _DOMAIN,
            Option(
                "LOOKS",
                "float",
                None,
                minimum=1.0,
                help="number of looks (default: 1 for complex data, else estimated)",
            ),
            Option(
                "MODEL",
                "path",
                None,
                help="Speckle2Void .onnx model (default: the shipped one)",
                argument="model_path",
            ),
            Option(
                "TILE_SIZE",
                "int",
                None,
                minimum=0,
                help="tile core size in pixels (empty or 0: the largest that fits the memory "
                "budget on each worker); never changes the result",
            ),
            Option(
                "MEMORY_BUDGET_MB",
                "float",
                None,
                minimum=1.0,
                help=f"memory budget of one worker thread in MB (empty: {DEFAULT_BUDGET_MB}, at "
                "most half the worker's free RAM)",
            ),
            Option(
                "THREADS",
                "int",
                0,
                minimum=0,
                help="onnxruntime threads per worker task (0: one per Dask worker thread)",
            ),
            Option("PRECISION", "enum", PRECISIONS[0], PRECISIONS, help="network precision"),
            Option("DEVICE", "enum", DEVICES[0], DEVICES, help="execution device of every worker"),
            Option(
                "POINT_TARGET_PFA",
                "float",
                None,
                minimum=0.0,
                help="point targets: pixels their neighbourhood's prior makes less probable "
                "than this are kept unchanged (default: the model's, 1e-6; 0: off)",
            ),
            Option(
                "POINT_TARGET_FACTOR",
                "float",
                None,
                minimum=0.0,
                help="deprecated, used only when POINT_TARGET_PFA is 0: point targets are "
                "brighter than this times the median (default: the model's; 0: off)",
            ),
            Option(
                "RETAPER",
                "bool",
                True,
                help="retaper to the product's resolution (inputs decorrelated by this plugin "
                "with their oversampling kept)",
            ),
            Option(
                "SCHEDULER",
                "text",
                None,
                help="address of a Dask scheduler (tcp://host:8786 or a scheduler .json "
                "file); default: a local cluster on this machine",
                argument=None,  # where the jobs run, read by the runner
            ),
        ),
        outputs={"OUTPUT": "despeckled", "OUTPUT_UNCERTAINTY": "despeckled_std"},
        optional_outputs=("OUTPUT_UNCERTAINTY",),
        build=_despeckle_job,
        examples=(
            "speckle2void despeckle scene.tif -o scene_despeckled.tif",
            "speckle2void despeckle archive/*.tif -o out/ --skip-existing --summary run.json",
            "speckle2void despeckle amplitude.tif --domain amplitude --tile-size 512 --looks 4",
            "speckle2void despeckle scenes/ -o out/ --scheduler tcp://head-node:8786 --device cuda",
        ),
    )
    classic = Command(
        name="classicfilter",
        algorithm="speckle2void:classicfilter",
        summary="Filter SAR rasters with a classic speckle filter (Lee, Refined Lee, ...).",
        input_key="INPUT",
        options=(
            _band(),
            _DOMAIN,
            Option(
                "FILTER",
                "enum",
                FILTERS[0].key,
                tuple(spec.key for spec in FILTERS),
                help="the filter",
                argument="filter_key",
            ),
            Option(
                "WINDOW_SIZE",
                "int",
                7,
                minimum=3,
                help="window size in pixels (odd)",
                argument="window",
            ),
            Option(
                "LOOKS",
                "float",
                None,
                minimum=0.01,
                help="number of looks of the input (default: 1 for complex data, else estimated)",
            ),
            Option("DAMPING", "float", FROST_DAMPING, minimum=0.0, help="Frost damping factor"),
            Option("SIGMA", "float", 0.9, minimum=0.05, help="Lee Sigma level"),
            Option(
                "TILE_SIZE",
                "int",
                CLASSIC_TILE_SIZE,
                minimum=CLASSIC_MIN_TILE_SIZE,
                help="tile core size in pixels",
            ),
        ),
        outputs={"OUTPUT": "{filter}"},
        build=_classic_job,
        examples=(
            "speckle2void classicfilter scene.tif --filter refined_lee",
            "speckle2void classicfilter scenes/ --filter 2 --window-size 9 -o filtered/",
        ),
    )
    decorrelate = Command(
        name="decorrelate",
        algorithm="speckle2void:decorrelate",
        summary="Whiten the speckle of complex SLC rasters (before despeckling).",
        input_key="INPUT",
        options=(
            _band(what="band (complex, or I)"),
            Option(
                "IMAG_BAND", "int", None, minimum=1, help="Q band when I and Q are two real bands"
            ),
            Option(
                "OUTPUT_FORMAT",
                "enum",
                OUTPUT_FORMATS[0],
                OUTPUT_FORMATS,
                help="complex SLC, or intensity / amplitude",
            ),
            Option(
                "REMOVE_OVERSAMPLING",
                "bool",
                DEFAULT_REMOVE_OVERSAMPLING,
                help="crop the spectrum to the occupied band",
            ),
            Option(
                "POINT_TARGET_PFA",
                "float",
                DEFAULT_POINT_TARGET_PFA,
                minimum=0.0,
                help="point targets: false-alarm probability of the local rule (0: off)",
            ),
            Option(
                "POINT_TARGET_FACTOR",
                "float",
                DEFAULT_POINT_TARGET_FACTOR,
                minimum=0.0,
                help="deprecated, used only when POINT_TARGET_PFA is 0: brighter than this "
                "times the median (0: off)",
            ),
            Option(
                "CLEAN",
                "bool",
                DEFAULT_CLEAN,
                help="point targets: take out their whole point response before whitening and "
                "put it back unwhitened",
            ),
            Option(
                "ANNOTATION",
                "path",
                None,
                help="Sentinel-1 TOPS: the swath's annotation XML (found beside a SAFE's TIFF)",
            ),
            Option("FIRST_LINE", "int", 0, minimum=0, help="TOPS crop: its first swath line"),
            Option("FIRST_SAMPLE", "int", 0, minimum=0, help="TOPS crop: its first swath sample"),
        ),
        outputs={"OUTPUT": "decorrelated"},
        build=_decorrelate_job,
        examples=(
            "speckle2void decorrelate slc.tif",
            "speckle2void decorrelate slc.tif --output-format intensity -o slc_white.tif",
            "speckle2void decorrelate crop.tif --annotation s1a-iw3-slc-vv.xml --first-line 9800 "
            "--first-sample 11000",
            "speckle2void decorrelate S1A_IW_SLC__1SDV_....SAFE --output-format intensity",
        ),
    )
    evaluate = Command(
        name="evaluate",
        algorithm="speckle2void:evaluate",
        summary="Evaluate despeckled rasters: ratio image, ENL, M-index, HTML report.",
        input_key="NOISY",
        options=(
            _band("NOISY_BAND", "band of the noisy raster"),
            Option(
                "DESPECKLED",
                "path",
                None,
                help="despeckled raster (default: <name>_despeckled.tif beside the input)",
                argument="despeckled_path",
            ),
            _band("DESPECKLED_BAND", "band of the despeckled raster"),
            Option(
                "REFERENCE",
                "path",
                None,
                help="clean reference raster, for PSNR and SSIM",
                argument="reference_path",
            ),
            _band("REFERENCE_BAND", "band of the reference raster"),
            _DOMAIN,
            Option(
                "LOOKS",
                "float",
                None,
                minimum=0.01,
                help="number of looks of the noisy raster (default: 1 for complex, else estimated)",
            ),
            Option("COMPARE_CLASSIC", "bool", True, help="also score the classic filters"),
        ),
        outputs={"OUTPUT_RATIO": "ratio", "OUTPUT_HTML": "evaluation"},
        build=_evaluate_job,
        examples=(
            "speckle2void evaluate scene.tif -o report/   # pairs scene_despeckled.tif",
            "speckle2void evaluate noisy.tif --despeckled estimate.tif --no-compare-classic "
            "-o report/",
        ),
    )
    return {c.name: c for c in (decorrelate, despeckle, classic, evaluate)}


#: QGIS parameters a sub-command does not offer, with the reason (checked by a test).
NOT_OFFERED = {
    "speckle2void:despeckle": {
        "OUTPUT_POINT_TARGETS": "the point-target mask is not written by the cluster runner yet; "
        "use the algorithm in QGIS for it (the count is in the summary)",
    },
    "speckle2void:evaluate": {
        "AREAS": "homogeneous areas come from a vector layer; the command finds them automatically",
        "OUTPUT_AREAS": "a vector output; use the algorithm in QGIS for it",
    },
}

#: Output file extension per output key (GeoTIFF unless named here).
EXTENSIONS = {"OUTPUT_HTML": ".html"}


def commands() -> dict[str, Command]:
    """The sub-commands by name."""
    return _commands()


def output_name(command: Command, key: str, input_path: str, values: dict) -> str:
    """Default file name of an output: ``<name>_<suffix>.tif`` (``.html`` for reports)."""
    suffix = command.outputs[key].format(**values)
    stem = Path(input_path.rstrip("/\\")).name
    for extension in (".zip", ".SAFE", ".tiff", ".tif"):
        if stem.endswith(extension):
            stem = stem[: -len(extension)]
            break
    else:
        stem = os.path.splitext(stem)[0]
    return f"{stem}_{suffix}{EXTENSIONS.get(key, '.tif')}"
