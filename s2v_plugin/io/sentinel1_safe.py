"""Reading Sentinel-1 SLC products: the SAFE folder, its ``.zip``, its ``manifest.safe``, or a
single measurement TIFF with its annotation XML.

This is our own small reader, chosen over the available libraries (xarray-sentinel brings
xarray and dask and does not deramp; OPERA's s1-reader needs isce3, which is conda-only): the
annotation, calibration and noise XML files are parsed with the standard library, and the pixels
are read through GDAL (the measurement TIFF, ``/vsizip/`` inside a zip). GDAL's SAFE driver is used
for what it does well: listing the swath/polarisation subdatasets and the product's GCPs.

Conventions: *swath lines* are the rows of the measurement TIFF, where the bursts are stacked
(line ``i`` of burst ``b`` is swath line ``b * lines_per_burst + i``); *samples* are its columns.
Times are seconds since the Unix epoch (UTC), as float64 (sub-microsecond resolution).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError

#: Speed of light (m/s).
SPEED_OF_LIGHT = 299_792_458.0

_STEM = re.compile(
    r"^(?P<mission>s1[abcd])-(?P<swath>(iw|ew|s)\d|wv\d)-(?P<type>slc|grd|ocn)-(?P<pol>[hv]{2})-",
    re.IGNORECASE,
)


def parse_time(text: str) -> float:
    """Seconds since the Unix epoch of an annotation UTC time such as
    ``2022-09-18T07:49:21.513561``."""
    value = _dt.datetime.fromisoformat(text.strip()).replace(tzinfo=_dt.timezone.utc)
    return value.timestamp()


def _floats(text: str | None) -> np.ndarray:
    return np.array((text or "").split(), dtype=np.float64)


def _ints(text: str | None) -> np.ndarray:
    return np.array((text or "").split(), dtype=np.int64)


def _text(root: ET.Element, path: str, source: str = "annotation") -> str:
    element = root.find(path)
    if element is None or element.text is None:
        raise InputError(f"The {source} XML has no '{path}' element: is it a Sentinel-1 file?")
    return element.text.strip()


def _float(root: ET.Element, path: str, source: str = "annotation") -> float:
    return float(_text(root, path, source))


@dataclass(frozen=True)
class TimePolynomial:
    """A slant-range-time polynomial valid around an azimuth time (FM rate, Doppler centroid).

    ``value(tau) = sum_k c_k (tau - t0)^k``.
    """

    azimuth_time: float
    t0: float
    coefficients: tuple

    def __call__(self, tau):
        """Evaluate at slant range times ``tau`` (s)."""
        dt = np.asarray(tau, dtype=np.float64) - self.t0
        return np.polynomial.polynomial.polyval(dt, np.asarray(self.coefficients))


@dataclass(frozen=True)
class Burst:
    """One TOPS burst of a swath.

    Attributes
    ----------
    index : int
        0-based burst number in the swath.
    azimuth_time : float
        Zero-Doppler time of its first line (s since the epoch).
    first_line : int
        Its first swath line (``index * lines_per_burst``).
    lines : int
        Lines per burst.
    first_valid_sample, last_valid_sample : numpy.ndarray
        Per line of the burst, the first and last valid sample (-1: the line is invalid).
    """

    index: int
    azimuth_time: float
    first_line: int
    lines: int
    first_valid_sample: np.ndarray = field(repr=False, compare=False)
    last_valid_sample: np.ndarray = field(repr=False, compare=False)

    @property
    def valid_lines(self) -> tuple[int, int]:
        """(first, end) burst lines holding valid samples (end exclusive)."""
        valid = np.flatnonzero(self.first_valid_sample >= 0)
        if valid.size == 0:
            return (0, 0)
        return int(valid[0]), int(valid[-1]) + 1

    @property
    def valid_samples(self) -> tuple[int, int]:
        """(first, end) samples valid on every valid line (end exclusive)."""
        lines = self.first_valid_sample >= 0
        if not lines.any():
            return (0, 0)
        return int(self.first_valid_sample[lines].max()), int(
            self.last_valid_sample[lines].min()
        ) + 1

    def valid_window(self) -> tuple[int, int, int, int]:
        """(first swath line, lines, first sample, samples) of the burst's valid rectangle."""
        line0, line1 = self.valid_lines
        sample0, sample1 = self.valid_samples
        return self.first_line + line0, line1 - line0, sample0, sample1 - sample0


@dataclass(frozen=True)
class Orbit:
    """Orbit state vectors (Earth fixed) with cubic Hermite interpolation."""

    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray

    def _spline(self):
        from scipy.interpolate import CubicHermiteSpline

        return CubicHermiteSpline(self.times, self.positions, self.velocities, axis=0)

    def position(self, time):
        """Position (m) at ``time`` (s since the epoch), interpolated."""
        return self._spline()(time)

    def velocity(self, time):
        """Velocity (m/s) at ``time``: the derivative of the position interpolant."""
        if not (self.times[0] <= np.min(time) and np.max(time) <= self.times[-1]):
            raise InputError("The time asked is outside the annotation's orbit state vectors.")
        return self._spline().derivative()(time)


@dataclass(frozen=True)
class GeolocationPoint:
    """One point of the annotation's geolocation grid (swath line/sample)."""

    azimuth_time: float
    slant_range_time: float
    line: int
    pixel: int
    latitude: float
    longitude: float
    height: float


@dataclass(frozen=True)
class SwathAnnotation:
    """What the product annotation XML of one swath and polarisation says.

    Attributes are named as in the XML (snake case); times are seconds since the epoch.
    """

    path: str
    mission: str
    product_type: str
    mode: str
    swath: str
    polarisation: str
    radar_frequency: float
    range_sampling_rate: float
    azimuth_steering_rate: float  # degrees per second
    slant_range_time: float
    azimuth_time_interval: float
    number_of_lines: int
    number_of_samples: int
    lines_per_burst: int
    samples_per_burst: int
    first_line_time: float
    azimuth_processing_bandwidth: float
    range_processing_bandwidth: float
    azimuth_window_coefficient: float
    dc_method: str
    bursts: tuple = field(repr=False)
    fm_rates: tuple = field(repr=False)
    doppler_centroids: tuple = field(repr=False)
    orbit: Orbit = field(repr=False)
    geolocation: tuple = field(repr=False)

    @property
    def wavelength(self) -> float:
        """Radar wavelength (m)."""
        return SPEED_OF_LIGHT / self.radar_frequency

    @property
    def is_tops(self) -> bool:
        """True for IW and EW (bursts to deramp); stripmap has no bursts."""
        return self.mode.upper() in ("IW", "EW") and len(self.bursts) > 0

    def burst_of_line(self, line: int) -> int:
        """Index of the burst holding swath ``line``."""
        if not self.bursts:
            raise InputError(f"The annotation '{self.path}' lists no bursts.")
        index = int(line) // self.lines_per_burst
        if not 0 <= index < len(self.bursts):
            raise InputError(
                f"Swath line {line} is outside the {len(self.bursts)} bursts of "
                f"{self.lines_per_burst} lines of '{Path(self.path).name}': check FIRST_LINE."
            )
        return index

    def nearest_fm_rate(self, time: float) -> TimePolynomial:
        """The azimuth FM-rate polynomial nearest in azimuth time."""
        return min(self.fm_rates, key=lambda p: abs(p.azimuth_time - time))

    def nearest_doppler_centroid(self, time: float) -> TimePolynomial:
        """The Doppler centroid polynomial nearest in azimuth time."""
        return min(self.doppler_centroids, key=lambda p: abs(p.azimuth_time - time))

    def gcps(self) -> list[tuple[float, float, float, float, float]]:
        """(pixel, line, longitude, latitude, height) of the geolocation grid, swath lines."""
        return [
            (float(p.pixel), float(p.line), p.longitude, p.latitude, p.height)
            for p in self.geolocation
        ]


def _window(root: ET.Element, path: str) -> float:
    """Generalized Hamming coefficient of a processing window (1.0 for NONE/unknown)."""
    kind = (root.findtext(path + "windowType") or "").strip().upper()
    coefficient = root.findtext(path + "windowCoefficient")
    if kind == "HAMMING" and coefficient:
        return float(coefficient)
    if kind == "HANNING":
        return 0.5
    return 1.0


def parse_annotation(source) -> SwathAnnotation:
    """Parse a Sentinel-1 product annotation XML.

    Parameters
    ----------
    source : str, path or bytes
        The XML file path, or its content.

    Returns
    -------
    SwathAnnotation

    Raises
    ------
    InputError
        When the file is missing, not XML, or lacks a needed element.
    """
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            root = ET.fromstring(source)
        else:
            root = ET.parse(str(source)).getroot()
    except FileNotFoundError as exc:
        raise InputError(f"The annotation XML '{name}' does not exist.") from exc
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"Cannot read the annotation XML '{name}': {exc}") from exc
    if root.tag != "product" or root.find("adsHeader") is None:
        raise InputError(
            f"'{name}' is not a Sentinel-1 product annotation (expected the XML from the SAFE "
            "product's annotation/ folder, named like the measurement TIFF)."
        )
    header = root.find("adsHeader")
    info = "generalAnnotation/productInformation/"
    image = "imageAnnotation/imageInformation/"
    params = "imageAnnotation/processingInformation/swathProcParamsList/swathProcParams/"
    bursts = []
    lines_per_burst = int(_text(root, "swathTiming/linesPerBurst"))
    for index, element in enumerate(root.findall("swathTiming/burstList/burst")):
        bursts.append(
            Burst(
                index=index,
                azimuth_time=parse_time(_text(element, "azimuthTime")),
                first_line=index * lines_per_burst,
                lines=lines_per_burst,
                first_valid_sample=_ints(element.findtext("firstValidSample")),
                last_valid_sample=_ints(element.findtext("lastValidSample")),
            )
        )
    fm_rates = []
    for element in root.findall("generalAnnotation/azimuthFmRateList/azimuthFmRate"):
        poly = element.find("azimuthFmRatePolynomial")
        coefficients = (
            _floats(poly.text)
            if poly is not None
            else np.array([float(element.findtext(k)) for k in ("c0", "c1", "c2")])
        )
        fm_rates.append(
            TimePolynomial(
                parse_time(_text(element, "azimuthTime")),
                float(_text(element, "t0")),
                tuple(coefficients),
            )
        )
    dc_method = (root.findtext("imageAnnotation/processingInformation/dcMethod") or "").strip()
    which = "dataDcPolynomial" if dc_method.lower() == "data analysis" else "geometryDcPolynomial"
    centroids = [
        TimePolynomial(
            parse_time(_text(element, "azimuthTime")),
            float(_text(element, "t0")),
            tuple(_floats(_text(element, which))),
        )
        for element in root.findall("dopplerCentroid/dcEstimateList/dcEstimate")
    ]
    orbit_elements = root.findall("generalAnnotation/orbitList/orbit")
    orbit = Orbit(
        times=np.array([parse_time(_text(o, "time")) for o in orbit_elements]),
        positions=np.array(
            [[float(_text(o, f"position/{a}")) for a in "xyz"] for o in orbit_elements]
        ).reshape(-1, 3),
        velocities=np.array(
            [[float(_text(o, f"velocity/{a}")) for a in "xyz"] for o in orbit_elements]
        ).reshape(-1, 3),
    )
    geolocation = tuple(
        GeolocationPoint(
            azimuth_time=parse_time(_text(p, "azimuthTime")),
            slant_range_time=float(_text(p, "slantRangeTime")),
            line=int(_text(p, "line")),
            pixel=int(_text(p, "pixel")),
            latitude=float(_text(p, "latitude")),
            longitude=float(_text(p, "longitude")),
            height=float(_text(p, "height")),
        )
        for p in root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    )
    steering = root.findtext(info + "azimuthSteeringRate")
    return SwathAnnotation(
        path=name,
        mission=_text(header, "missionId"),
        product_type=_text(header, "productType"),
        mode=_text(header, "mode"),
        swath=_text(header, "swath"),
        polarisation=_text(header, "polarisation"),
        radar_frequency=_float(root, info + "radarFrequency"),
        range_sampling_rate=_float(root, info + "rangeSamplingRate"),
        azimuth_steering_rate=float(steering) if steering else 0.0,
        slant_range_time=_float(root, image + "slantRangeTime"),
        azimuth_time_interval=_float(root, image + "azimuthTimeInterval"),
        number_of_lines=int(_text(root, image + "numberOfLines")),
        number_of_samples=int(_text(root, image + "numberOfSamples")),
        lines_per_burst=lines_per_burst,
        samples_per_burst=int(root.findtext("swathTiming/samplesPerBurst") or 0),
        first_line_time=parse_time(_text(root, image + "productFirstLineUtcTime")),
        azimuth_processing_bandwidth=_float(root, params + "azimuthProcessing/processingBandwidth"),
        range_processing_bandwidth=_float(root, params + "rangeProcessing/processingBandwidth"),
        azimuth_window_coefficient=_window(root, params + "azimuthProcessing/"),
        dc_method=dc_method,
        bursts=tuple(bursts),
        fm_rates=tuple(fm_rates),
        doppler_centroids=tuple(centroids),
        orbit=orbit,
        geolocation=geolocation,
    )


# --------------------------------------------------------------------------- calibration XML


@dataclass(frozen=True)
class SparseVectors:
    """Look-up vectors of one swath/polarisation on a sparse (line, pixel) grid.

    ``lines`` are swath lines and ``times`` azimuth times (one per vector); ``pixels`` the
    samples of each vector (the same for all vectors after parsing); each table has shape
    (lines, pixels).
    """

    lines: np.ndarray
    times: np.ndarray
    pixels: np.ndarray


@dataclass(frozen=True)
class CalibrationVectors(SparseVectors):
    """Calibration look-up tables (:func:`parse_calibration`)."""

    sigma0: np.ndarray = field(repr=False)
    beta0: np.ndarray = field(repr=False)
    gamma0: np.ndarray = field(repr=False)
    dn: np.ndarray = field(repr=False)
    absolute_constant: float = 1.0

    def table(self, name: str) -> np.ndarray:
        """The table named ``sigma0``, ``beta0``, ``gamma0`` or ``dn``."""
        tables = {"sigma0": self.sigma0, "beta0": self.beta0, "gamma0": self.gamma0, "dn": self.dn}
        if name not in tables:
            raise InputError(f"Unknown calibration '{name}': use sigma0, beta0 or gamma0.")
        return tables[name]


def _read_vectors(vectors, what: str, tags) -> tuple:
    """``(lines, times, pixels, tables)`` of the vectors of a calibration or noise XML: one
    table per tag in ``tags``, resampled onto the pixels of the first longest vector."""
    lines = np.array([int(_text(v, "line", what)) for v in vectors])
    times = np.array([parse_time(_text(v, "azimuthTime", what)) for v in vectors])
    pixel_lists = [_ints(_text(v, "pixel", what)).astype(np.float64) for v in vectors]
    grid = max(pixel_lists, key=len)
    tables = []
    for tag in tags:
        table = np.empty((len(vectors), grid.size))
        for i, (vector, pixels) in enumerate(zip(vectors, pixel_lists)):
            table[i] = np.interp(grid, pixels, _floats(_text(vector, tag, what)))
        tables.append(table)
    return lines, times, grid, tables


def parse_calibration(source) -> CalibrationVectors:
    """Parse a Sentinel-1 ``calibration-*.xml`` (path or bytes)."""
    root = _xml_root(source, "calibration")
    vectors = root.findall("calibrationVectorList/calibrationVector")
    if not vectors:
        raise InputError("The calibration XML holds no calibrationVector.")
    keys = {"sigmaNought": "sigma0", "betaNought": "beta0", "gamma": "gamma0", "dn": "dn"}
    lines, times, grid, tables = _read_vectors(vectors, "calibration", keys)
    constant = root.findtext("calibrationInformation/absoluteCalibrationConstant")
    return CalibrationVectors(
        lines,
        times,
        grid,
        *tables,
        absolute_constant=float(constant) if constant else 1.0,
    )


@dataclass(frozen=True)
class NoiseVectors(SparseVectors):
    """Thermal noise (intensity, DN^2): range vectors (``range_table``) times the azimuth
    profile (``azimuth_lines``/``azimuth_values``, ones when the product has none; IPF >= 2.9).
    """

    range_table: np.ndarray = field(repr=False)
    azimuth_lines: np.ndarray = field(repr=False)
    azimuth_values: np.ndarray = field(repr=False)


def parse_noise(source) -> NoiseVectors:
    """Parse a Sentinel-1 ``noise-*.xml`` (path or bytes); old (IPF < 2.9) files too."""
    root = _xml_root(source, "noise")
    vectors = root.findall("noiseRangeVectorList/noiseRangeVector") or root.findall(
        "noiseVectorList/noiseVector"
    )
    if not vectors:
        raise InputError("The noise XML holds no noise vector.")
    lut = "noiseRangeLut" if vectors[0].find("noiseRangeLut") is not None else "noiseLut"
    lines, times, grid, [table] = _read_vectors(vectors, "noise", [lut])
    azimuth_lines, azimuth_values = np.array([0.0]), np.array([1.0])
    azimuth = root.find("noiseAzimuthVectorList/noiseAzimuthVector")
    if azimuth is not None and azimuth.find("line") is not None:
        azimuth_lines = _ints(azimuth.findtext("line")).astype(np.float64)
        azimuth_values = _floats(azimuth.findtext("noiseAzimuthLut"))
    order = np.argsort(times, kind="stable")
    return NoiseVectors(
        lines[order], times[order], grid, table[order], azimuth_lines, azimuth_values
    )


def _xml_root(source, what: str) -> ET.Element:
    try:
        if isinstance(source, bytes):
            return ET.fromstring(source)
        return ET.parse(str(source)).getroot()
    except FileNotFoundError as exc:
        raise InputError(f"The {what} XML '{source}' does not exist.") from exc
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"Cannot read the {what} XML: {exc}") from exc


# --------------------------------------------------------------------------- the SAFE product


@dataclass(frozen=True)
class Measurement:
    """One swath/polarisation of a product: where its files are."""

    swath: str
    polarisation: str
    tiff: str  # GDAL path (``/vsizip/...`` inside a zip)
    annotation: str  # member name (zip) or path
    calibration: str | None
    noise: str | None


class SafeProduct:
    """A Sentinel-1 SAFE product: folder, ``.zip`` or ``manifest.safe``.

    Parameters
    ----------
    path : str
        The ``.SAFE`` folder, its ``manifest.safe``, or the downloaded ``.zip``.

    Raises
    ------
    InputError
        Not a SAFE product, a GRD (detected, no SLC) or an OCN product, or no measurement with
        its annotation.
    """

    def __init__(self, path: str) -> None:
        path = str(path)
        self.path = path
        self._zip = None
        self._prefix = ""
        if path.lower().endswith(".zip"):
            try:
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InputError(f"Cannot open '{path}' as a zip archive: {exc}") from exc
            manifests = [n for n in self._zip.namelist() if n.endswith("manifest.safe")]
            if not manifests:
                raise InputError(
                    f"'{path}' holds no manifest.safe: it is not a zipped Sentinel-1 SAFE product."
                )
            self._prefix = manifests[0][: -len("manifest.safe")]
            self.name = Path(self._prefix.rstrip("/")).name or Path(path).stem
        else:
            folder = Path(path)
            if folder.name.lower() == "manifest.safe":
                folder = folder.parent
            if not (folder / "manifest.safe").is_file():
                raise InputError(
                    f"'{path}' is not a Sentinel-1 SAFE product: no manifest.safe found. Give the "
                    ".SAFE folder, its manifest.safe or the downloaded .zip."
                )
            self.folder = folder
            self.name = folder.name
        self.manifest_text = self._read("manifest.safe").decode("utf-8", "replace")
        self.product_type = self._product_type()
        if self.product_type != "SLC":
            raise InputError(
                f"'{self.name}' is a Sentinel-1 {self.product_type} product, not an SLC: it holds "
                "no complex data to decorrelate or deramp. GRD images are already detected: use "
                "the detected path instead (Despeckle (Speckle2Void) on the measurement TIFF, "
                "DOMAIN amplitude)."
            )
        self.measurements = self._measurements()

    # -- files

    def _names(self) -> list[str]:
        if self._zip is not None:
            return [
                n[len(self._prefix) :] for n in self._zip.namelist() if n.startswith(self._prefix)
            ]
        return [
            str(p.relative_to(self.folder)).replace(os.sep, "/") for p in self.folder.rglob("*")
        ]

    def _read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(self._prefix + name)
            return (self.folder / name).read_bytes()
        except (KeyError, OSError) as exc:
            raise InputError(f"The product '{self.name}' lacks '{name}'.") from exc

    def gdal_path(self, name: str) -> str:
        """GDAL path of a file of the product."""
        if self._zip is not None:
            return f"/vsizip/{os.path.abspath(self.path)}/{self._prefix}{name}"
        return str(self.folder / name)

    @property
    def manifest_path(self) -> str:
        """GDAL path of manifest.safe (opens with GDAL's SAFE driver)."""
        return self.gdal_path("manifest.safe")

    def _product_type(self) -> str:
        match = re.search(r"S1[ABCD]_\w\w_(SLC|GRD|OCN|RAW)", self.name.upper())
        if match:
            return match.group(1)
        text = self.manifest_text
        for kind in ("SLC", "GRD", "OCN", "RAW"):
            if f"Level-1 {kind}" in text or f"<s1sarl1:productType>{kind}" in text:
                return kind
        if "Level-2 OCN" in text:
            return "OCN"
        return "SLC"

    def _measurements(self) -> list[Measurement]:
        names = self._names()
        annotations = {
            Path(n).stem: n
            for n in names
            if n.startswith("annotation/") and n.count("/") == 1 and n.endswith(".xml")
        }
        out = []
        missing = []
        for name in sorted(n for n in names if n.startswith("measurement/")):
            stem = Path(name).stem
            match = _STEM.match(stem)
            if not match or not name.lower().endswith((".tiff", ".tif")):
                continue
            annotation = annotations.get(stem)
            if annotation is None:
                missing.append(f"annotation/{stem}.xml")
                continue
            calibration = f"annotation/calibration/calibration-{stem}.xml"
            noise = f"annotation/calibration/noise-{stem}.xml"
            out.append(
                Measurement(
                    swath=match.group("swath").upper(),
                    polarisation=match.group("pol").upper(),
                    tiff=self.gdal_path(name),
                    annotation=annotation,
                    calibration=calibration if calibration in names else None,
                    noise=noise if noise in names else None,
                )
            )
        if not out:
            expected = f" (expected {', '.join(missing)})" if missing else ""
            raise InputError(
                f"The product '{self.name}' has no measurement TIFF with its annotation XML"
                f"{expected}: download the complete product."
            )
        self.missing_annotations = missing
        return out

    # -- queries

    @property
    def swaths(self) -> list[str]:
        """Swaths that have at least one measurement, sorted (IW1, IW2, ...)."""
        return sorted({m.swath for m in self.measurements})

    def polarisations(self, swath: str) -> list[str]:
        """Polarisations measured in ``swath``, co-polarisation first (VV, VH)."""
        pols = {m.polarisation for m in self.measurements if m.swath == swath.upper()}
        return sorted(pols, key=lambda pol: (pol[0] != pol[1], pol))

    def measurement(self, swath: str, polarisation: str) -> Measurement:
        """The measurement of one swath and polarisation."""
        for m in self.measurements:
            if m.swath == swath.upper() and m.polarisation == polarisation.upper():
                return m
        for name in self.missing_annotations:
            match = _STEM.match(Path(name).stem)
            if match and (match.group("swath").upper(), match.group("pol").upper()) == (
                swath.upper(),
                polarisation.upper(),
            ):
                raise InputError(
                    f"The {swath} {polarisation} measurement of '{self.name}' has no annotation: "
                    f"expected {name}. Download the complete product."
                )
        available = ", ".join(f"{m.swath} {m.polarisation}" for m in self.measurements)
        raise InputError(
            f"The product '{self.name}' has no {swath} {polarisation} measurement (with its "
            f"annotation); available: {available}."
        )

    def annotation(self, swath: str, polarisation: str) -> SwathAnnotation:
        """Parsed annotation of one swath and polarisation."""
        m = self.measurement(swath, polarisation)
        annotation = parse_annotation(self._read(m.annotation))
        return _with_path(annotation, m.annotation)

    def calibration(self, swath: str, polarisation: str) -> CalibrationVectors:
        """Calibration vectors of one swath and polarisation."""
        m = self.measurement(swath, polarisation)
        return parse_calibration(
            self._auxiliary(
                m.calibration,
                "calibration",
                swath,
                polarisation,
                "choose no calibration or download the complete product",
            )
        )

    def noise(self, swath: str, polarisation: str) -> NoiseVectors:
        """Noise vectors of one swath and polarisation."""
        m = self.measurement(swath, polarisation)
        return parse_noise(
            self._auxiliary(m.noise, "noise", swath, polarisation, "turn noise removal off")
        )

    def _auxiliary(
        self, member: str | None, kind: str, swath: str, polarisation: str, remedy: str
    ) -> bytes:
        """Bytes of a calibration or noise XML; an actionable error when the product lacks it."""
        if member is None:
            raise InputError(
                f"The product '{self.name}' lacks the {kind} XML of {swath} {polarisation} "
                f"(annotation/calibration/{kind}-*.xml): {remedy}."
            )
        return self._read(member)

    def subdatasets(self) -> list[tuple[str, str]]:
        """(name, description) of the subdatasets GDAL's SAFE driver lists (empty when GDAL
        cannot open the manifest)."""
        from osgeo import gdal

        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            dataset = gdal.Open(self.manifest_path)
        finally:
            gdal.PopErrorHandler()
        if dataset is None:
            return []
        items = dataset.GetMetadata("SUBDATASETS") or {}
        keys = sorted((k for k in items if k.endswith("_NAME")), key=lambda k: int(k.split("_")[1]))
        return [(items[k], items.get(k[: -len("_NAME")] + "_DESC", "")) for k in keys]

    def gdal_gcps(self, swath: str, polarisation: str) -> list[tuple]:
        """(pixel, line, x, y, z) GCPs of a swath as GDAL's SAFE driver gives them."""
        from osgeo import gdal

        name = f"SENTINEL1_CALIB:UNCALIB:{self.manifest_path}:{swath}_{polarisation}:COMPLEX"
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            dataset = gdal.Open(name)
        finally:
            gdal.PopErrorHandler()
        if dataset is None:
            return []
        return [(g.GCPPixel, g.GCPLine, g.GCPX, g.GCPY, g.GCPZ) for g in dataset.GetGCPs()]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> SafeProduct:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _with_path(annotation: SwathAnnotation, path: str) -> SwathAnnotation:
    from dataclasses import replace

    return replace(annotation, path=path)


def is_safe_path(path: str) -> bool:
    """True for a SAFE folder, its manifest.safe, or a zip whose name looks like a product."""
    text = str(path)
    lower = text.rstrip("/\\").lower()
    if lower.endswith("manifest.safe"):
        return True
    if lower.endswith(".safe") and os.path.isdir(text):
        return True
    if lower.endswith(".zip") and re.search(r"s1[abcd]_", Path(lower).name):
        return True
    return os.path.isdir(text) and os.path.isfile(os.path.join(text, "manifest.safe"))


_SUBDATASET = re.compile(r"^SENTINEL1_CALIB:\w+:(?P<path>.+):(?P<swath>\w+?)_(?P<pol>[HV]{2}):")


def split_subdataset(value: str) -> tuple[str, str | None, str | None]:
    """(path, swath, polarisation) of a ``SENTINEL1_CALIB:...:IW1_VV:...`` GDAL subdataset name;
    (value, None, None) for anything else."""
    match = _SUBDATASET.match(value)
    if match:
        return match.group("path"), match.group("swath"), match.group("pol")
    return value, None, None


def is_safe_input(value) -> bool:
    """True for a SAFE folder, manifest.safe, product .zip or SENTINEL1_CALIB subdataset."""
    if not isinstance(value, str) or not value:
        return False
    return is_safe_path(split_subdataset(value)[0])


def annotation_beside(tiff_path: str) -> str | None:
    """The annotation XML of a measurement TIFF inside a SAFE folder, or None."""
    tiff = Path(tiff_path)
    candidate = tiff.parent.parent / "annotation" / (tiff.stem + ".xml")
    return str(candidate) if candidate.is_file() else None


def expected_annotation(raster_path: str) -> str:
    """Which annotation XML a TOPS raster needs, in words (for refusals)."""
    stem = Path(str(raster_path)).stem
    if _STEM.match(stem):
        return (
            f"The annotation expected for '{Path(raster_path).name}' is annotation/{stem}.xml "
            "of the same SAFE product."
        )
    return (
        "The annotation expected is the XML in the product's annotation/ folder named like the "
        "measurement TIFF the raster comes from (s1?-<swath>-slc-<pol>-...xml)."
    )


def tops_for_raster(
    raster_path: str, annotation: str | None = None, first_line: int = 0, first_sample: int = 0
):
    """The :class:`~..core.tops_deramp.SwathRamp` of a Sentinel-1 TOPS raster, or None.

    The annotation is ``annotation`` or, for a measurement TIFF inside a SAFE folder, the one
    beside it (no manual step). Offsets without an annotation are refused; a stripmap
    annotation gives None (nothing to deramp).
    """
    from ..core.tops_deramp import SwathRamp

    annotation = annotation or None
    if annotation is None and os.path.isfile(str(raster_path)):
        annotation = annotation_beside(raster_path)
    if annotation is None:
        if first_line or first_sample:
            raise InputError(
                "FIRST_LINE/FIRST_SAMPLE locate a crop in a Sentinel-1 swath: also give the "
                "swath's annotation XML (ANNOTATION)."
            )
        return None
    if not os.path.isfile(annotation):
        raise InputError(
            f"The annotation XML '{annotation}' does not exist: give the XML from the product's "
            "annotation/ folder named like the measurement TIFF (s1?-iw?-slc-??-...xml)."
        )
    parsed = parse_annotation(annotation)
    if not parsed.is_tops:
        return None
    return SwathRamp(parsed, first_line, first_sample)
