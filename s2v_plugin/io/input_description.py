"""One description of an input band, resolved once and shared by every algorithm.

:func:`describe_raster` says what a band holds (complex SLC, I/Q component, intensity, amplitude,
dB or multi-look), in which domain its real values are, how many looks it has, and whether its
speckle is white, from these sources in order:

1. the data type (a complex band is an SLC);
2. our own ``S2V_*`` metadata (a decorrelated SLC is white and single-look; a despeckled or
   filtered product says its domain), so decorrelate -> despeckle -> evaluate needs no DOMAIN;
3. the band's unit and description (``dB``, ``amplitude``, ``intensity``, ...) and the product
   type in the metadata (GRD, GEC);
4. the speckle statistics of a few full-resolution patches
   (:func:`s2v_plugin.core.input_kind.speckle_statistics`).

An explicit DOMAIN or LOOKS always wins; a contradiction with the evidence gives a warning.
Inputs that cannot be filtered at all (dB values, an I or Q component) are refused with the
conversion to make. The description reads at most :data:`MAX_PATCHES` patches of
:data:`PATCH` x :data:`PATCH` pixels, so it is cheap enough for ``checkParameterValues``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core import input_kind
from ..core.domain import AMPLITUDE, AUTO, DOMAINS, INTENSITY, check_domain
from ..core.errors import InputError
from ..core.input_kind import (
    COMPLEX,
    DB,
    IQ_PAIR,
    MULTILOOK,
    SpeckleStatistics,
    enl,
    kind_from_statistics,
    looks_from_enl,
    speckle_statistics,
)
from .raster_source import RasterSource

#: Side of the patches read for the statistics, and their largest number.
PATCH = 64
MAX_PATCHES = 64
#: Our decorrelation metadata (see :data:`s2v_plugin.decorrelate.METADATA_PREFIX`).
DECORRELATION_PREFIX = "S2V_DECORRELATION_"
#: An estimated ENL this far (ratio) from the model's looks gives a warning.
LOOKS_TOLERANCE = 1.25
#: Product types that are multi-looked or resampled (speckle correlated by the resampling).
_RESAMPLED = re.compile(r"(^|[^A-Z])(GRD[HMF]?|GEC|GTC|SGF|SSG|SCN|SCW|MGD|GEO|EEC)([^A-Z]|$)")
_UNIT_WORDS = (
    (DB, re.compile(r"\bd\s*b\b|decibel", re.I)),
    (AMPLITUDE, re.compile(r"amplitude|magnitude", re.I)),
    (INTENSITY, re.compile(r"intensity|power|sigma.?0|beta.?0|gamma.?0", re.I)),
)
_IQ_WORDS = re.compile(r"^\s*(i|q|real|imag(inary)?|in.?phase|quadrature)(\s+part)?\s*$", re.I)


@dataclass(frozen=True)
class InputDescription:
    """What one band of a raster holds, and what to do with it.

    Attributes
    ----------
    kind : str
        One of :data:`s2v_plugin.core.input_kind.KINDS`.
    domain : str
        How the band's values become intensity: ``"intensity"`` or ``"amplitude"`` (a complex
        band always gives ``|z|^2``, recorded as intensity).
    looks : float
        Number of looks to use.
    is_complex : bool
        The band is complex.
    decorrelated : bool
        Decorrelated by Speckle2Void (``S2V_DECORRELATION_DECORRELATED=YES``).
    despeckled : bool
        Already a despeckled or filtered product of this plugin.
    enl : float
        ENL estimated over homogeneous blocks (NaN when not measured).
    statistics : SpeckleStatistics or None
        The measured speckle statistics.
    provenance : dict
        ``S2V_DECORRELATION_*`` items of the input, to carry into outputs.
    notes, warnings : tuple of str
        Lines for the log, and warnings that say what to do.
    """

    kind: str
    domain: str
    looks: float
    is_complex: bool = False
    decorrelated: bool = False
    despeckled: bool = False
    enl: float = float("nan")
    statistics: SpeckleStatistics | None = None
    provenance: dict = field(default_factory=dict)
    notes: tuple = ()
    warnings: tuple = ()

    def report(self, log, warn) -> None:
        """Send the notes to ``log`` and the warnings to ``warn``, each once."""
        for line in self.notes:
            log(line)
        for line in self.warnings:
            warn(line)


def read_patches(source, patch: int = PATCH, max_patches: int = MAX_PATCHES) -> list:
    """Full-resolution patches on a regular grid over the band (at most ``max_patches``)."""
    height, width = source.info.height, source.info.width
    rows, cols = min(patch, height), min(patch, width)
    per_axis = max(1, int(np.sqrt(max_patches)))
    row_starts = np.unique(np.linspace(0, height - rows, min(per_axis, height // rows)).astype(int))
    col_starts = np.unique(np.linspace(0, width - cols, min(per_axis, width // cols)).astype(int))
    return [source.read(int(r), int(c), rows, cols) for r in row_starts for c in col_starts]


def _metadata(source) -> tuple[dict, str, str]:
    """Dataset metadata (with the band's), the band's unit and description."""
    band = source.dataset.GetRasterBand(source.band_number)
    metadata = dict(source.metadata())
    metadata.update(band.GetMetadata() or {})
    return metadata, (band.GetUnitType() or "").strip(), (band.GetDescription() or "").strip()


def _from_words(text: str) -> str | None:
    for kind, pattern in _UNIT_WORDS:
        if pattern.search(text):
            return kind
    return None


def _resampled_product(metadata: dict, path: str) -> str | None:
    for key in ("PRODUCT_TYPE", "PRODUCTTYPE", "PRODUCT", "PROCESSING_LEVEL"):
        value = str(metadata.get(key, "")).upper()
        match = _RESAMPLED.search(value)
        if match:
            return match.group(2)
    match = _RESAMPLED.search(re.sub(r".*/", "", str(path)).upper().replace("-", "_"))
    return match.group(2) if match else None


def _db_refusal(role: str, evidence: str) -> InputError:
    return InputError(
        f"{role} looks like dB values ({evidence}): speckle filtering needs linear values. "
        "Convert it first: intensity = 10^(dB/10), for example with the Raster calculator "
        '(10 ^ ("layer@1" / 10)) or gdal_calc.py --calc "10**(A/10)"; for amplitude in dB '
        "(20 log10), amplitude = 10^(dB/20)."
    )


def _iq_refusal(role: str, band: int) -> InputError:
    return InputError(
        f"{role} band {band} holds negative and positive values spread evenly around zero, like "
        "the real (I) or imaginary "
        "(Q) part of an SLC, not a power or amplitude: run Decorrelate speckle with BAND = the "
        "I band and IMAG_BAND = the Q band, and use its complex output."
    )


def _statistics_line(stats: SpeckleStatistics) -> str:
    return (
        f"skewness/CV {stats.shape:.2f} over {stats.blocks} homogeneous {input_kind.BLOCK} px "
        "blocks (2 for intensity, 1.0 to 1.25 for amplitude, negative for dB)"
    )


def _correlation_line(stats: SpeckleStatistics) -> str:
    if stats.coherence_rows or stats.coherence_cols:
        return (
            f"lag-1 coherence {stats.coherence_rows:.2f} along rows (azimuth, in "
            f"{input_kind.WINDOW_LINES}-line windows) and {stats.coherence_cols:.2f} along "
            f"columns (range); white speckle gives about 0.03"
        )
    return (
        f"lag-1 correlation of the intensity {stats.lag1_rows:.2f} along rows and "
        f"{stats.lag1_cols:.2f} along columns over homogeneous areas; white speckle gives "
        "about 0"
    )


def describe_raster(path: str, band: int = 1, *args, **kwargs) -> InputDescription:
    """:func:`describe_source` of band ``band`` (1-based) of the raster at ``path`` (any raster
    GDAL can open); the other parameters are those of :func:`describe_source`."""
    with RasterSource(path, band) as source:
        return describe_source(source, *args, **kwargs)


def describe_source(
    source: RasterSource,
    domain: str = AUTO,
    looks: float | None = None,
    role: str = "INPUT",
    needs_white_speckle: bool = False,
    model_looks: float | None = None,
    fallback_domain: str | None = None,
) -> InputDescription:
    """Describe one band of a raster (see the module docstring for the sources).

    Parameters
    ----------
    source : RasterSource
        The open band.
    domain : {"auto", "intensity", "amplitude"}
        The DOMAIN parameter: ``"auto"`` decides from the evidence; anything else wins.
    looks : float, optional
        The LOOKS parameter: None estimates it; a number wins.
    role : str
        Parameter name used in messages (``INPUT``, ``NOISY``, ...).
    needs_white_speckle : bool
        The caller is the blind-spot network: warn about correlated speckle.
    model_looks : float, optional
        Looks the model was trained for; an estimate that differs gives a warning.
    fallback_domain : str, optional
        For rasters without speckle (a despeckled result): the domain to assume when neither
        the metadata nor the band says one; the statistics are then not used for the domain.

    Raises
    ------
    InputError
        For dB values and I/Q components (with the conversion to make), and for unreadable
        files or bands.
    """
    check_domain(domain)
    path, band = source.path, source.band_number
    metadata, unit, band_text = _metadata(source)
    is_complex = source.info.is_complex
    stats = speckle_statistics(read_patches(source))
    provenance = {k: v for k, v in metadata.items() if k.startswith(DECORRELATION_PREFIX)}
    decorrelated = str(metadata.get(DECORRELATION_PREFIX + "DECORRELATED", "")).upper() == "YES"
    despeckled = any(key in metadata for key in ("S2V_MODEL", "S2V_FILTER"))
    notes, warnings = [], []
    explicit = domain != AUTO

    if is_complex:
        kind, resolved, source_text = COMPLEX, INTENSITY, "complex data type (intensity |z|^2)"
    else:
        kind, resolved, source_text = _real_kind(
            role, band, metadata, unit, band_text, stats, explicit, domain, warnings,
            fallback_domain,
        )  # fmt: skip
    notes.append(f"{role}: {_kind_label(kind, decorrelated)}; domain {resolved} ({source_text}).")

    estimate = enl(stats, resolved) if not despeckled else float("nan")
    resolved_looks, looks_text = _resolve_looks(looks, is_complex, decorrelated, estimate)
    if kind in (input_kind.INTENSITY, input_kind.AMPLITUDE) and resolved_looks >= 1.5:
        kind = MULTILOOK
    notes.append(f"{role}: LOOKS {resolved_looks:g} ({looks_text}).")
    if model_looks is not None and looks is None and not (is_complex or decorrelated):
        ratio = resolved_looks / float(model_looks)
        if not 1 / LOOKS_TOLERANCE <= ratio <= LOOKS_TOLERANCE:
            warnings.append(
                f"{role} has about {resolved_looks:g} looks (ENL over homogeneous areas) but the "
                f"model was trained for {model_looks:g}: the posterior uses {resolved_looks:g}. "
                "Set LOOKS to override, or use a model trained for these data."
            )
        else:
            notes.append(f"The model was trained for {model_looks:g} look(s).")

    if despeckled and needs_white_speckle:
        warnings.append(
            f"{role} is already a despeckled or filtered product of this plugin "
            f"({metadata.get('S2V_MODEL') or metadata.get('S2V_FILTER')}): despeckle the "
            "original raster instead."
        )
    elif needs_white_speckle and stats.blocks and stats.correlated:
        warnings.append(_correlated_warning(role, stats, is_complex, decorrelated, metadata, path))
    return InputDescription(
        kind=kind,
        domain=resolved,
        looks=resolved_looks,
        is_complex=is_complex,
        decorrelated=decorrelated,
        despeckled=despeckled,
        enl=estimate,
        statistics=stats,
        provenance=provenance,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def _kind_label(kind: str, decorrelated: bool) -> str:
    if kind == COMPLEX:
        return "complex SLC" + (", decorrelated by Speckle2Void" if decorrelated else "")
    return {DB: "dB", IQ_PAIR: "I/Q component"}.get(kind, kind)


def _real_kind(role, band, metadata, unit, band_text, stats, explicit, domain, warnings, fallback):
    """Kind, domain and the source of the domain of a real band; refuses dB and I/Q."""
    if stats.negative_fraction > 0:
        if stats.symmetric:
            raise _iq_refusal(role, band)
        raise _db_refusal(
            role,
            f"{100 * stats.negative_fraction:.0f}% of the sampled pixels hold a negative value",
        )
    if _IQ_WORDS.match(band_text):
        raise _iq_refusal(role, band)
    evidence, source_text = None, None
    s2v_domain = str(metadata.get("S2V_DOMAIN", "")).lower()
    if s2v_domain in DOMAINS:
        evidence, source_text = s2v_domain, "S2V_DOMAIN metadata"
    else:
        for label, text in (("unit", unit), ("description", band_text)):
            found = _from_words(text) if text else None
            if found == DB:
                raise _db_refusal(role, f"band {label} '{text}'")
            if found:
                evidence, source_text = found, f"band {label} '{text}'"
                break
    if evidence is None and fallback is not None:
        evidence, source_text = fallback, "the same domain as NOISY"
    statistical = kind_from_statistics(stats) if fallback is None else None
    if evidence is None and statistical is not None:
        evidence, source_text = statistical, _statistics_line(stats)
    if evidence == DB:
        message = f"negative skewness {stats.skewness:.2f} over homogeneous areas"
        if not explicit:
            raise _db_refusal(role, message)
        warnings.append(
            f"{role} looks like dB values ({message}), but DOMAIN is set to {domain}: "
            "if it is in dB, convert it first (intensity = 10^(dB/10))."
        )
        evidence = None
    if explicit:
        if evidence is not None and evidence != domain:
            warnings.append(
                f"DOMAIN is {domain} but {role} looks like {evidence} ({source_text}); the "
                f"explicit DOMAIN is used. If the ratio mean of an evaluation is far from 1, "
                "set DOMAIN to Auto."
            )
        return domain, domain, "DOMAIN parameter"
    if evidence is None:
        warnings.append(
            f"Could not tell whether {role} holds intensity or amplitude "
            f"({_statistics_line(stats) if stats.blocks else 'too few homogeneous areas'}): "
            "treated as intensity; set DOMAIN if it is amplitude."
        )
        return input_kind.INTENSITY, INTENSITY, "default"
    return evidence, evidence, source_text


def _resolve_looks(looks, is_complex, decorrelated, estimate) -> tuple[float, str]:
    if looks is not None:
        text = "LOOKS parameter"
        if np.isfinite(estimate):
            text += f"; ENL estimated {estimate:.2f}"
        return float(looks), text
    if is_complex or decorrelated:
        return 1.0, "single-look complex"
    if np.isfinite(estimate):
        return looks_from_enl(estimate), f"ENL {estimate:.2f} over homogeneous areas"
    return 1.0, "no homogeneous area to estimate it: 1 assumed"


def _correlated_warning(role, stats, is_complex, decorrelated, metadata, path) -> str:
    measured = _correlation_line(stats)
    if is_complex and not decorrelated:
        return (
            f"The speckle of {role} is correlated ({measured}) and it was not decorrelated: "
            "run Decorrelate speckle first and despeckle its output. The blind-spot network "
            "expects white speckle."
        )
    product = _resampled_product(metadata, path)
    what = f"a {product} product" if product else "a multi-looked or resampled product"
    return (
        f"The speckle of {role} is spatially correlated ({measured}), as in {what} (GRD, GEC). "
        "The blind-spot network expects white speckle and leaves correlated speckle partly in "
        "place: despeckle the SLC after Decorrelate speckle when you have it."
    )
