"""Small synthetic Sentinel-1 IW SLC products (SAFE folders) for end-to-end tests.

Each burst holds fully developed speckle over a smooth reflectivity, weighted like the IPF's
processor (Hamming 0.75 in both axes, 0.645 of the azimuth band and 0.66 of the range band
occupied), then modulated by the TOPS azimuth chirp of its annotation (reramped), and stored as
CInt16 like a real measurement. Timing, rates and orbit are those of a real IW3 annotation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from osgeo import gdal

LINES_PER_BURST = 160
SAMPLES = 320
BURSTS = 3
OVERLAP = 24  # lines seen by two consecutive bursts
INVALID_LINES = 6  # at each end of a burst
FIRST_VALID, LAST_VALID = 5, SAMPLES - 8
DT = 2.055556299999998e-03
START = dt.datetime(2022, 9, 18, 7, 49, 21, 513562)
SLANT_RANGE_TIME = 6.018535512387027e-03 + 11000 / 6.434523812571428e07


def _time(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _list(values, fmt="{}") -> str:
    return f'count="{len(values)}">' + " ".join(fmt.format(v) for v in values)


def annotation_xml(polarisation: str, product_type: str = "SLC") -> str:
    """The product annotation of the synthetic swath."""
    bursts = []
    for b in range(BURSTS):
        first = [-1] * INVALID_LINES + [FIRST_VALID] * (LINES_PER_BURST - 2 * INVALID_LINES)
        first += [-1] * INVALID_LINES
        last = [-1 if v < 0 else LAST_VALID for v in first]
        bursts.append(
            f"<burst><azimuthTime>{_time(b * (LINES_PER_BURST - OVERLAP) * DT)}</azimuthTime>"
            f"<firstValidSample {_list(first)}</firstValidSample>"
            f"<lastValidSample {_list(last)}</lastValidSample></burst>"
        )
    orbit = []
    for k in range(-4, 5):
        t = 10.0 * k
        orbit.append(
            f"<orbit><time>{_time(t)}</time><position><x>{4.9e6 + 4110 * t}</x>"
            f"<y>{-1.7e6 - 3363 * t}</y><z>{4.78e6 - 5425 * t}</z></position><velocity>"
            "<x>4110.43</x><y>-3363.35</y><z>-5425.35</z></velocity></orbit>"
        )
    fm = "".join(
        f"<azimuthFmRate><azimuthTime>{_time(t)}</azimuthTime><t0>6.0185e-03</t0>"
        '<azimuthFmRatePolynomial count="3">-2.054027e+03 3.530980e+05 -5.416248e+07'
        "</azimuthFmRatePolynomial></azimuthFmRate>"
        for t in (0.0, 0.6)
    )
    dc = "".join(
        f"<dcEstimate><azimuthTime>{_time(t)}</azimuthTime><t0>5.3442e-03</t0>"
        '<geometryDcPolynomial count="3">-7.27e-01 -2.22e+02 6.80e+04</geometryDcPolynomial>'
        '<dataDcPolynomial count="3">1.13e+01 2.32e+03 -3.46e+06</dataDcPolynomial></dcEstimate>'
        for t in (0.0, 0.6)
    )
    grid = []
    for line in (0, LINES_PER_BURST * BURSTS - 1):
        for pixel in (0, SAMPLES // 2, SAMPLES - 1):
            grid.append(
                f"<geolocationGridPoint><azimuthTime>{_time(line * DT)}</azimuthTime>"
                f"<slantRangeTime>{SLANT_RANGE_TIME + pixel / 6.4345e7}</slantRangeTime>"
                f"<line>{line}</line><pixel>{pixel}</pixel>"
                f"<latitude>{39.7 + 0.001 * line}</latitude>"
                f"<longitude>{-26.5 - 0.0002 * pixel}</longitude><height>0</height>"
                "</geolocationGridPoint>"
            )
    processing = "".join(
        f"<{axis}Processing><windowType>Hamming</windowType><windowCoefficient>0.75"
        f"</windowCoefficient><processingBandwidth>{band}</processingBandwidth></{axis}Processing>"
        for axis, band in (("range", 4.27899e07), ("azimuth", 314.0))
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<product><adsHeader><missionId>S1A</missionId><productType>{product_type}</productType>
<polarisation>{polarisation}</polarisation><mode>IW</mode><swath>IW1</swath></adsHeader>
<generalAnnotation><productInformation><rangeSamplingRate>6.434523812571428e+07
</rangeSamplingRate><radarFrequency>5.405000454334350e+09</radarFrequency>
<azimuthSteeringRate>1.397440818000000e+00</azimuthSteeringRate></productInformation>
<orbitList count="9">{"".join(orbit)}</orbitList>
<azimuthFmRateList count="2">{fm}</azimuthFmRateList></generalAnnotation>
<imageAnnotation><imageInformation><productFirstLineUtcTime>{_time(0)}</productFirstLineUtcTime>
<slantRangeTime>{SLANT_RANGE_TIME}</slantRangeTime><azimuthTimeInterval>{DT}
</azimuthTimeInterval><numberOfSamples>{SAMPLES}</numberOfSamples>
<numberOfLines>{LINES_PER_BURST * BURSTS}</numberOfLines></imageInformation>
<processingInformation><dcMethod>Data Analysis</dcMethod><swathProcParamsList count="1">
<swathProcParams>{processing}</swathProcParams></swathProcParamsList></processingInformation>
</imageAnnotation><dopplerCentroid><dcEstimateList count="2">{dc}</dcEstimateList>
</dopplerCentroid><swathTiming><linesPerBurst>{LINES_PER_BURST}</linesPerBurst>
<samplesPerBurst>{SAMPLES}</samplesPerBurst><burstList count="{BURSTS}">{"".join(bursts)}
</burstList></swathTiming><geolocationGrid><geolocationGridPointList count="{len(grid)}">
{"".join(grid)}</geolocationGridPointList></geolocationGrid></product>
"""


def calibration_xml(polarisation: str) -> str:
    """Calibration vectors: sigma0 A = 300 at near range to 330 at far range."""
    vectors = []
    pixels = list(range(0, SAMPLES, 40)) + [SAMPLES - 1]
    for k, line in enumerate((0, LINES_PER_BURST * BURSTS // 2, LINES_PER_BURST * BURSTS)):
        sigma = [300.0 + 30.0 * p / SAMPLES for p in pixels]
        vectors.append(
            f"<calibrationVector><azimuthTime>{_time(k * 0.5)}</azimuthTime><line>{line}</line>"
            f"<pixel {_list(pixels)}</pixel><sigmaNought {_list(sigma)}</sigmaNought>"
            f"<betaNought {_list([240.0] * len(pixels))}</betaNought>"
            f"<gamma {_list([s * 0.9 for s in sigma])}</gamma>"
            f"<dn {_list([200.0] * len(pixels))}</dn></calibrationVector>"
        )
    return (
        f"<calibration><adsHeader><polarisation>{polarisation}</polarisation></adsHeader>"
        "<calibrationInformation><absoluteCalibrationConstant>1</absoluteCalibrationConstant>"
        f'</calibrationInformation><calibrationVectorList count="3">{"".join(vectors)}'
        "</calibrationVectorList></calibration>"
    )


def noise_xml() -> str:
    """A flat thermal noise of 50 DN^2."""
    pixels = [0, SAMPLES - 1]
    vectors = "".join(
        f"<noiseRangeVector><azimuthTime>{_time(t)}</azimuthTime><line>0</line>"
        f"<pixel {_list(pixels)}</pixel><noiseRangeLut {_list([50.0, 50.0])}</noiseRangeLut>"
        "</noiseRangeVector>"
        for t in (0.0, 1.0)
    )
    return f'<noise><noiseRangeVectorList count="2">{vectors}</noiseRangeVectorList></noise>'


def _hamming_filter(n: int, band: float, coefficient: float = 0.75) -> np.ndarray:
    u = np.fft.fftfreq(n)
    inside = np.abs(u) < band / 2
    return np.where(inside, coefficient + (1 - coefficient) * np.cos(2 * np.pi * u / band), 0.0)


def burst_pixels(
    annotation, burst: int, rng: np.random.Generator, texture: bool = True
) -> np.ndarray:
    """Synthetic TOPS burst: weighted speckle over a smooth scene, reramped."""
    from s2v_plugin.core.tops_deramp import burst_ramp

    lines, samples = LINES_PER_BURST, SAMPLES
    noise = rng.standard_normal((lines, samples)) + 1j * rng.standard_normal((lines, samples))
    spectrum = np.fft.fft2(noise)
    spectrum *= _hamming_filter(lines, 0.645)[:, None] * _hamming_filter(samples, 0.66)[None, :]
    speckle = np.fft.ifft2(spectrum)
    speckle /= np.sqrt(np.mean(np.abs(speckle) ** 2))
    cols = np.arange(samples)[None, :]
    rows = np.arange(lines)[:, None] + burst * (lines - OVERLAP)
    reflectivity = 1.0 + 0.6 * texture * np.sin(cols / 25.0) * np.cos(rows / 40.0)
    data = 60.0 * np.sqrt(reflectivity) * speckle
    phase = burst_ramp(annotation, burst).phase(np.arange(lines), np.arange(samples))
    data = data * np.exp(1j * phase)
    valid = np.zeros((lines, samples), dtype=bool)
    valid[INVALID_LINES : lines - INVALID_LINES, FIRST_VALID : LAST_VALID + 1] = True
    return np.where(valid, data, 0)


def make_safe(
    folder, polarisations=("VV", "VH"), product_type: str = "SLC", seed: int = 7, texture=True
):
    """Write a synthetic SAFE product under ``folder`` (``texture``: a smooth scene, otherwise
    a flat one); returns its path."""
    from s2v_plugin.io.sentinel1_safe import parse_annotation

    kind = "GRDH" if product_type == "GRD" else "SLC_"
    root = (
        Path(folder) / f"S1A_IW_{kind}_1SDV_20220918T074921_20220918T074946_045056_056232_0000.SAFE"
    )
    (root / "annotation" / "calibration").mkdir(parents=True)
    (root / "measurement").mkdir()
    (root / "manifest.safe").write_text(
        '<?xml version="1.0"?><xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1">'
        f"<!-- Sentinel-1 IW Level-1 {product_type} Product --></xfdu:XFDU>"
    )
    rng = np.random.default_rng(seed)
    for number, pol in enumerate(polarisations, start=1):
        stem = (
            f"s1a-iw1-{product_type.lower()}-{pol.lower()}-20220918t074921-20220918t074946-"
            f"045056-056232-{number:03d}"
        )
        xml = annotation_xml(pol, product_type)
        (root / "annotation" / f"{stem}.xml").write_text(xml)
        (root / "annotation" / "calibration" / f"calibration-{stem}.xml").write_text(
            calibration_xml(pol)
        )
        (root / "annotation" / "calibration" / f"noise-{stem}.xml").write_text(noise_xml())
        annotation = parse_annotation(xml.encode())
        data = np.concatenate([burst_pixels(annotation, b, rng, texture) for b in range(BURSTS)])
        driver = gdal.GetDriverByName("GTiff")
        dataset = driver.Create(
            str(root / "measurement" / f"{stem}.tiff"), SAMPLES, data.shape[0], 1, gdal.GDT_CInt16
        )
        pixels = np.round(data.real) + 1j * np.round(data.imag)
        dataset.GetRasterBand(1).WriteArray(pixels.astype(np.complex64))
        dataset = None
    return root
