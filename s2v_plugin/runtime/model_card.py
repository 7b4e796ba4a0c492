"""The model card: one versioned JSON document stored inside the ONNX file.

This module is the single source of truth for the domain constants a model carries
(receptive field, looks, normalisation, size multiple). The runtime reads it with
:func:`card_from_metadata`; the exporter in ``training/`` writes it with :meth:`ModelCard.to_json`
under :data:`METADATA_KEY`. It imports neither onnx nor onnxruntime.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ModelError

METADATA_KEY = "speckle2void_card"
CARD_SCHEMA_VERSION = 1
INPUT_NAME = "intensity"
OUTPUT_NAMES = ("alpha", "beta")
NORMALISATIONS = ("mean",)


@dataclass(frozen=True)
class ModelCard:
    """What the runtime must know about a Speckle2Void ONNX model.

    Attributes
    ----------
    name : str
        Short model name, for example ``"s2v-fast"``.
    model_version : str
        Version of the trained weights.
    receptive_field : int
        Radius in pixels: the output at a pixel depends on inputs at most this far away
        (Chebyshev distance). The runtime uses it as the minimum tile halo.
    looks : float
        Number of looks the model was trained for; the default ``LOOKS`` of the algorithm.
    normalisation : str
        How the runtime scales intensities before the network. ``"mean"``: divide by the mean
        intensity of the raster's valid pixels that are not point targets (one scale per raster).
    point_target_factor : float
        Deprecated global rule, used only when ``point_target_pfa`` is 0: pixels brighter than
        this factor times the raster's median intensity are point targets. 0 disables.
    point_target_pfa : float
        False-alarm probability of the local point-target rule
        (:mod:`s2v_plugin.core.point_targets`): a pixel is kept unchanged when the
        prior-predictive tail of its neighbourhood's prior falls below it. 0 disables.
    size_multiple : int
        Height and width of the network input must be multiples of this (1 for plain CNNs,
        2**levels for U-Nets); tiles are aligned on this grid so that tiling never changes results.
    training : dict
        Summary of the training data and run (free-form, shown to users).
    metrics : dict
        Measured quality figures (free-form).
    extra : dict
        Anything else the exporter wants to record (commit, date, ...).
    schema_version : int
        Version of this card's layout.
    """

    name: str
    model_version: str
    receptive_field: int
    looks: float = 1.0
    normalisation: str = "mean"
    point_target_factor: float = 50.0
    point_target_pfa: float = 1e-6
    size_multiple: int = 1
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    schema_version: int = CARD_SCHEMA_VERSION

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.receptive_field, int) or self.receptive_field < 0:
            problems.append("receptive_field must be a non-negative integer")
        if not isinstance(self.size_multiple, int) or self.size_multiple < 1:
            problems.append("size_multiple must be a positive integer")
        if not isinstance(self.looks, (int, float)) or not self.looks >= 1:
            problems.append("looks must be a number >= 1")
        if self.normalisation not in NORMALISATIONS:
            problems.append(f"normalisation must be one of {NORMALISATIONS}")
        if not isinstance(self.point_target_factor, (int, float)) or self.point_target_factor < 0:
            problems.append("point_target_factor must be >= 0")
        if not isinstance(self.point_target_pfa, (int, float)) or not (
            0 <= self.point_target_pfa < 1
        ):
            problems.append("point_target_pfa must be in [0, 1)")
        if self.schema_version != CARD_SCHEMA_VERSION:
            problems.append(
                f"card schema version {self.schema_version} is not supported "
                f"(this plugin reads version {CARD_SCHEMA_VERSION}); update the plugin"
            )
        if problems:
            raise ModelError("Invalid model card: " + "; ".join(problems) + ".")

    def to_json(self) -> str:
        """Serialise the card as the JSON text stored in the ONNX metadata."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse a card, raising :class:`ModelError` with a readable message when it is invalid."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"The model card is not valid JSON ({exc}).") from exc
        if not isinstance(data, dict):
            raise ModelError("The model card must be a JSON object.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            data = {k: v for k, v in data.items() if k in known}
            data.setdefault("extra", {})
            data["extra"] = {**data["extra"], "unknown_fields": unknown}
        try:
            return cls(**data)
        except TypeError as exc:
            raise ModelError(f"The model card is missing required fields ({exc}).") from exc

    def summary(self) -> str:
        """One line for logs: name, version, receptive field and looks."""
        return (
            f"{self.name} v{self.model_version} (receptive field ±{self.receptive_field} px, "
            f"trained for {self.looks:g} look(s), size multiple {self.size_multiple})"
        )


def card_from_metadata(metadata: Mapping[str, Any], source: str = "the model") -> ModelCard:
    """Read the card from an ONNX custom metadata map.

    Parameters
    ----------
    metadata : mapping
        ``custom_metadata_map`` of an onnxruntime session (or ``metadata_props`` as a dict).
    source : str
        Name of the file, used in error messages.

    Raises
    ------
    ModelError
        When the card is missing or invalid.
    """
    if METADATA_KEY not in metadata:
        raise ModelError(
            f"{source} has no '{METADATA_KEY}' metadata: it is not a Speckle2Void model. "
            "Export models with training/export.py, which embeds the model card."
        )
    return ModelCard.from_json(metadata[METADATA_KEY])
